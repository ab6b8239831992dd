import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Envelope, round3 } from '../common/envelope';
import { INTERNAL_ERROR } from '../common/http-exception.filter';
import { JobsService } from '../jobs/jobs.service';
import { CANCELLED_CODE, CANCELLED_ERROR } from '../jobs/job-envelope';
import { ExecutionJobData, JobRecord, JobStatus } from '../jobs/job.types';
import { PythonRunner, RunOutcome } from './runner/python-runner';


/** Runs one queued job on the Python runner and turns its outcome into the v1 envelope. */
@Injectable()
export class ExecutionService {
  private readonly logger = new Logger('ExecutionService');

  constructor(
    private readonly runner: PythonRunner,
    private readonly jobs: JobsService,
    private readonly config: AppConfig,
  ) {}

  /** Worker side: the whole life of one job after it leaves the queue. */
  async execute(data: ExecutionJobData, signal: AbortSignal): Promise<void> {
    const started = await this.jobs.markRunning(data.jobId);
    if (!started) return; // cancelled while it waited
    const { record, startedAtMs } = started;
    const queueTimeSec = (startedAtMs - record.createdAtMs) / 1000;
    const timeoutSec = Math.min(data.timeoutSec, this.config.maxTimeoutSec);
    const outcome = await this.runner.run(
      { runId: data.jobId, code: data.code, stdin: data.stdin, timeoutMs: timeoutSec * 1000 },
      signal,
    );
    if (outcome.status === 'crashed' || outcome.status === 'setup_failed') {
      this.logger.error(`job ${data.jobId}: sandbox ${outcome.status}: ${JSON.stringify(outcome.error)}`);
    }
    const runTimeSec = outcome.runMs / 1000;
    // queue_length is counted by jobs.finish() in the same Redis script that stores the envelope.
    const envelope = this.envelopeFor(outcome, data, record, { queueTimeSec, runTimeSec, timeoutSec, queueLength: 0 });
    await this.jobs.finish(record, statusOf(envelope.code), envelope, runTimeSec, queueTimeSec);
  }

  envelopeFor(
    outcome: RunOutcome,
    data: Pick<ExecutionJobData, 'endpoint'>,
    record: JobRecord,
    times: { queueTimeSec: number; runTimeSec: number; timeoutSec: number; queueLength: number },
  ): Envelope {
    const base = {
      endpoint: data.endpoint,
      id: record.clientId,
      job_id: record.jobId,
      pid: process.pid,
      queue_id: outcome.serverPid ?? 0,
      run_time: round3(times.runTimeSec),
      queue_time: round3(times.queueTimeSec),
      total_time: round3(round3(times.queueTimeSec) + round3(times.runTimeSec)),
      queue_length: times.queueLength,
      build_number: this.config.buildNumber,
    };
    const output = {
      stdout: outcome.stdout,
      stderr: outcome.stderr,
      stdout_truncated: outcome.stdoutTruncated,
      stderr_truncated: outcome.stderrTruncated,
    };
    if (outcome.status === 'exited' && outcome.exitCode === 0) {
      return {
        ...base,
        code: 200,
        message: 'success',
        response: { result: outcome.result ?? null, ...output, exit_code: 0 },
      };
    }
    const failure = (code: number, error: string, exitCode: number): Envelope => ({
      ...base,
      code,
      message: error,
      response: null,
      error,
      ...output,
      exit_code: exitCode,
    });
    switch (outcome.status) {
      case 'timeout':
        return failure(408, `Execution timed out after ${times.timeoutSec} seconds`, 124);
      case 'cancelled':
        return failure(CANCELLED_CODE, CANCELLED_ERROR, outcome.exitCode);
      case 'crashed':
      case 'setup_failed':
        return { ...failure(500, INTERNAL_ERROR, 500), stdout: '', stderr: '' };
      default:
        return failure(400, outcome.error ?? `Process exited with status ${outcome.exitCode}`, outcome.exitCode);
    }
  }
}

export function statusOf(code: number): JobStatus {
  if (code === 200) return 'completed';
  if (code === CANCELLED_CODE) return 'cancelled';
  return 'failed';
}
