import type { MemoryBound } from './memory-bound';

/** An input file of a run: a checked relative path and its content as base64 (see input-files.ts). */
export interface RunInputFile {
  path: string;
  content: string;
}

/** A file the program left under ./outputs/ (response.files): content base64, or truncated past the cap. */
export interface OutputFile {
  path: string;
  size: number;
  sha256: string;
  media_type: string;
  content?: string;
  truncated?: true;
}

export const DISPLAY_MIME_TYPES = [
  'image/png',
  'image/svg+xml',
  'text/html',
  'text/markdown',
  'application/json',
  'text/plain',
] as const;

/** One rich output (response.display): PNG as base64, the others as text. */
export interface DisplayItem {
  mime_type: (typeof DISPLAY_MIME_TYPES)[number];
  data: string;
}

/** What a caller asks of a runner: one program, its input and its wall-clock budget. */
export interface RunRequest {
  runId: string;
  code: string;
  stdin: string;
  timeoutMs: number;
  /** Live output: called with each chunk as the program writes it (within the output cap), before the outcome. */
  onOutput?: (stream: 'stdout' | 'stderr', data: string) => void;
  /** Written into the run's working directory before the code starts. */
  files?: RunInputFile[];
}

export type RunStatus =
  | 'exited' // the program ended by itself (any exit code)
  | 'signaled' // killed by a signal we did not send (a limit, a crash)
  | 'timeout'
  | 'cancelled'
  | 'setup_failed' // the sandbox could not be prepared: our fault, a 500
  | 'crashed'; // the fork server died or stopped answering: our fault, a 500

export interface RunOutcome {
  status: RunStatus;
  exitCode: number;
  signal: number | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** The JSON-safe result (null when none). */
  result: unknown;
  /** "<ExceptionType>: <message>" or the name of the limit hit; null on success. */
  error: string | null;
  /** Which limit ended the run, when one did: memory, cpu, disk, files, processes, result. */
  limit: string | null;
  runMs: number;
  /** What it left under ./outputs/ and showed (absent: none). */
  files?: OutputFile[];
  display?: DisplayItem[];
  displayTruncated?: boolean;
  /** pid of the fork server that ran it (the envelope's queue_id). */
  serverPid?: number;
  /** A session's call only: it ended the session (the interpreter is gone). */
  sessionEnded?: 'timeout' | 'memory' | 'crashed';
}

export interface RunnerStats {
  servers: number;
  busy: number;
  waiting: number;
  restarts: number;
}

/** The seam between the service and whatever runs Python; swap implementations freely. */
export abstract class PythonRunner {
  abstract run(request: RunRequest, signal?: AbortSignal): Promise<RunOutcome>;
  abstract isHealthy(): Promise<boolean>;
  abstract stats(): RunnerStats;
  abstract close(): Promise<void>;
  /** What holds each run's memory as a whole here; null where this process runs nothing. */
  memoryBound(): MemoryBound | null {
    return null;
  }
}

export function failedOutcome(status: 'setup_failed' | 'crashed', error: string, runMs = 0): RunOutcome {
  return {
    status,
    exitCode: 1,
    signal: null,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    result: null,
    error,
    limit: null,
    runMs,
  };
}
