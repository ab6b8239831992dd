import { Envelope, round3 } from '../common/envelope';
import { JobRecord } from './job.types';

export const CANCELLED_CODE = 499;
export const CANCELLED_ERROR = 'Job cancelled';

/** The final envelope of a job cancelled before it ran (a running one gets its own from the worker). */
export function cancelledEnvelope(record: JobRecord, queueTimeSec: number, buildNumber: string, queueLength: number): Envelope {
  return {
    endpoint: record.endpoint,
    code: CANCELLED_CODE,
    id: record.clientId,
    job_id: record.jobId,
    response: null,
    message: CANCELLED_ERROR,
    error: CANCELLED_ERROR,
    stdout: '',
    stderr: '',
    exit_code: CANCELLED_CODE,
    pid: process.pid,
    queue_id: 0,
    run_time: 0,
    queue_time: round3(queueTimeSec),
    total_time: round3(queueTimeSec),
    queue_length: queueLength,
    build_number: buildNumber,
  };
}
