import type { Envelope } from '../common/envelope';
import { envelopeTimes } from '../common/time';
import type { JobEnding, JobRecord } from './job.types';
import { answerOf } from './outcome-answer';

function ranToFailure(ending: JobEnding): boolean {
  return ending.kind === 'failed' && ending.failure !== 'internal' && ending.failure !== 'session_gone';
}

/**
 * The v1 envelope of an ended job: what its sync caller, GET /v1/jobs/{id} (`result`) and its
 * webhook all receive. Null while the job has not ended.
 */
export function v1Envelope(record: JobRecord, buildNumber: string): Envelope | null {
  const outcome = record.outcome;
  if (!outcome) return null;
  const answer = answerOf(outcome.ending);
  const base = {
    endpoint: record.endpoint,
    code: answer.status,
    id: record.clientId,
    job_id: record.jobId,
    pid: outcome.pid,
    queue_id: outcome.serverPid,
    ...envelopeTimes(record.queueTimeSec ?? 0, record.runTimeSec ?? 0),
    queue_length: record.queueLength ?? 0,
    build_number: buildNumber,
  };
  const output = outcome.output;
  const flags = output ? { stdout_truncated: output.stdoutTruncated, stderr_truncated: output.stderrTruncated } : {};
  const rich = {
    files: outcome.files ?? [],
    display: outcome.display ?? [],
    display_truncated: outcome.displayTruncated ?? false,
  };
  if (answer.errorCode === null) {
    return {
      ...base,
      message: 'success',
      response: {
        result: outcome.result ?? null,
        stdout: output?.stdout ?? '',
        stderr: output?.stderr ?? '',
        exit_code: 0,
        ...flags,
        ...rich,
      },
    };
  }
  // Nothing ran (or it is our fault): exit_code is the HTTP status, as for any request that never ran.
  const exitCode = outcome.exitCode ?? answer.status;
  const error = outcome.error ?? `Process exited with status ${exitCode}`;
  return {
    ...base,
    message: error,
    response: null,
    error,
    error_code: answer.errorCode,
    ...(answer.limit && { limit: answer.limit }),
    ...(answer.endedReason && { ended_reason: answer.endedReason }),
    stdout: output?.stdout ?? '',
    stderr: output?.stderr ?? '',
    ...flags,
    // A program that failed (400, 408) keeps what it left and showed: a plot made before the error.
    ...(ranToFailure(outcome.ending) && rich),
    exit_code: exitCode,
  };
}
