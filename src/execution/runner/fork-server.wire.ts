import type { RunOutcome } from './python-runner';

/** The fork server's answer to one run, as it arrives on the wire (snake_case, fields optional). */
export interface WireOutcome {
  op: 'done';
  id: string;
  status: RunOutcome['status'];
  exit_code?: number;
  signal?: number | null;
  stdout?: string;
  stderr?: string;
  stdout_truncated?: boolean;
  stderr_truncated?: boolean;
  result?: unknown;
  error?: string | null;
  limit?: string | null;
  run_ms?: number;
}

/** The runner's outcome from a wire answer; what the server left out takes the safe default. */
export function fromWire(wire: WireOutcome): RunOutcome {
  return {
    status: wire.status,
    exitCode: wire.exit_code ?? 1,
    signal: wire.signal ?? null,
    stdout: wire.stdout ?? '',
    stderr: wire.stderr ?? '',
    stdoutTruncated: wire.stdout_truncated ?? false,
    stderrTruncated: wire.stderr_truncated ?? false,
    result: wire.result ?? null,
    error: wire.error ?? null,
    limit: wire.limit ?? null,
    runMs: wire.run_ms ?? 0,
  };
}
