import { Envelope, round3 } from '../common/envelope';
import { INTERNAL_ERROR } from '../common/http-exception.filter';
import { JobRecord } from './job.types';

export const CANCELLED_CODE = 499;
export const CANCELLED_ERROR = 'Job cancelled';

export interface EndedTimes {
  queueTimeSec: number;
  runTimeSec: number;
}

/**
 * The final envelope of a job that ended without a sandbox outcome: cancelled before it ran, or
 * lost when its worker died more often than Bull re-runs a stalled job.
 */
export function unranEnvelope(record: JobRecord, code: number, error: string, times: EndedTimes, buildNumber: string): Envelope {
  return {
    endpoint: record.endpoint,
    code,
    id: record.clientId,
    job_id: record.jobId,
    response: null,
    message: error,
    error,
    stdout: '',
    stderr: '',
    exit_code: code,
    pid: process.pid,
    queue_id: 0,
    run_time: round3(times.runTimeSec),
    queue_time: round3(times.queueTimeSec),
    total_time: round3(round3(times.queueTimeSec) + round3(times.runTimeSec)),
    queue_length: 0, // JobsService.finish() stores the real count, taken in the script that writes this envelope
    build_number: buildNumber,
  };
}

export function cancelledEnvelope(record: JobRecord, times: EndedTimes, buildNumber: string): Envelope {
  return unranEnvelope(record, CANCELLED_CODE, CANCELLED_ERROR, times, buildNumber);
}

/** A job whose worker stopped mid-run twice: a server-side failure, reported as the documented 500. */
export function lostEnvelope(record: JobRecord, times: EndedTimes, buildNumber: string): Envelope {
  return unranEnvelope(record, 500, INTERNAL_ERROR, times, buildNumber);
}
