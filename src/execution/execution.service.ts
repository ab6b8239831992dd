import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { CANCELLED_ERROR, INTERNAL_ERROR, timedOutMessage } from '../common/messages';
import { JobEventLog, JobEventRecorder } from '../jobs/job-event-log';
import { JobLifecycle } from '../jobs/job-lifecycle';
import { failureOf } from '../jobs/job-outcomes';
import { ExecutionJobData, JobOutcome } from '../jobs/job.types';
import { PythonRunner, RunOutcome, RunRequest } from './runner/python-runner';

/** Runs one queued job on the Python runner and records its outcome. */
@Injectable()
export class ExecutionService {
  private readonly logger = new Logger('ExecutionService');

  constructor(
    private readonly runner: PythonRunner,
    private readonly lifecycle: JobLifecycle,
    private readonly config: AppConfig,
    private readonly eventLog: JobEventLog,
  ) {}

  /** Worker side: the whole life of one job after it leaves the queue. */
  async execute(data: ExecutionJobData, startedAtMs: number, signal: AbortSignal): Promise<void> {
    if (!(await this.lifecycle.start(data.jobId, startedAtMs))) return; // ended or cancelled while it waited
    const timeoutSec = Math.min(data.timeoutSec, this.config.maxTimeoutSec);
    // Live events for GET /v1/jobs/{id}/events: recorded on the side, never waited for while it runs.
    const events = this.eventLog.recorder(data.jobId);
    events.add('status', 'running');
    const run = await this.runner.run(runRequestOf(data, timeoutSec, events), signal);
    await events.flush(); // its output before its end (finish() appends the end)
    if (run.status === 'crashed' || run.status === 'setup_failed') {
      this.logger.error({ job_id: data.jobId }, `sandbox ${run.status}: ${JSON.stringify(run.error)}`);
    }
    await this.lifecycle.finish(data.jobId, outcomeOfRun(run, timeoutSec));
  }
}

/** What a sandbox run comes to, as the job's outcome. */
/** What the sandbox runs for a job (a one-shot run or a session's call), its output live into `events`. */
export function runRequestOf(data: ExecutionJobData, timeoutSec: number, events: JobEventRecorder): RunRequest {
  return {
    runId: data.jobId,
    code: data.code,
    stdin: data.stdin,
    timeoutMs: timeoutSec * 1000,
    onOutput: (stream, text) => events.add(stream, text),
    files: data.files,
  };
}

export function outcomeOfRun(run: RunOutcome, timeoutSec: number): JobOutcome {
  const output = {
    stdout: run.stdout,
    stderr: run.stderr,
    stdoutTruncated: run.stdoutTruncated,
    stderrTruncated: run.stderrTruncated,
  };
  const ran = {
    output,
    result: null,
    runMs: run.runMs,
    pid: process.pid,
    serverPid: run.serverPid ?? 0,
    files: run.files ?? [],
    display: run.display ?? [],
    displayTruncated: run.displayTruncated ?? false,
  };
  if (run.status === 'exited' && run.exitCode === 0)
    return { ...ran, ending: { kind: 'completed' }, exitCode: 0, result: run.result ?? null, error: null };
  switch (run.status) {
    case 'timeout':
      return {
        ...ran,
        ending: { kind: 'failed', failure: 'timeout' },
        exitCode: 124,
        error: timedOutMessage(timeoutSec),
      };
    case 'cancelled':
      return { ...ran, ending: { kind: 'cancelled' }, exitCode: run.exitCode, error: CANCELLED_ERROR };
    case 'crashed':
    case 'setup_failed': // our fault: no internals, not even the program's partial output
      return {
        ...ran,
        ending: { kind: 'failed', failure: 'internal' },
        exitCode: null,
        error: INTERNAL_ERROR,
        output: { ...output, stdout: '', stderr: '' },
        files: [],
        display: [],
        displayTruncated: false,
      };
    default:
      return {
        ...ran,
        ending: failureOf({ signaled: run.status === 'signaled', limit: run.limit, error: run.error }),
        exitCode: run.exitCode,
        error: run.error ?? `Process exited with status ${run.exitCode}`,
      };
  }
}
