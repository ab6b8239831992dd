import type { MemoryBound } from '../execution/runner/memory-bound';
import { PythonRunner, RunnerStats, RunOutcome, RunRequest } from '../execution/runner/python-runner';
import { inSpan, tracingEnabled } from './trace-context';

/** A PythonRunner whose runs are "sandbox run" spans with the job id and the outcome. */
export class TracedRunner extends PythonRunner {
  constructor(private readonly inner: PythonRunner) {
    super();
  }

  run(request: RunRequest, signal?: AbortSignal): Promise<RunOutcome> {
    return inSpan(
      'sandbox run',
      { 'pyexec.job_id': request.runId, 'pyexec.timeout_ms': request.timeoutMs },
      async (span) => {
        const outcome = await this.inner.run(request, signal);
        span?.setAttributes({
          'pyexec.outcome': outcome.status,
          'pyexec.exit_code': outcome.exitCode,
          ...(outcome.limit && { 'pyexec.limit': outcome.limit }),
          ...(outcome.serverPid && { 'pyexec.sandbox_server_pid': outcome.serverPid }),
        });
        return outcome;
      },
    );
  }

  isHealthy(): Promise<boolean> {
    return this.inner.isHealthy();
  }

  stats(): RunnerStats {
    return this.inner.stats();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  override memoryBound(): MemoryBound | null {
    return this.inner.memoryBound();
  }
}

/** The runner itself when tracing is off (nothing in the way), else wrapped. */
export function traced(runner: PythonRunner): PythonRunner {
  return tracingEnabled() ? new TracedRunner(runner) : runner;
}
