import { iso } from '../common/time';
import { v1Envelope } from './job-envelope';
import { JobRecord } from './job.types';

export function jobSummary(record: JobRecord) {
  return {
    job_id: record.jobId,
    id: record.clientId,
    status: record.status,
    created_at: iso(record.createdAtMs)!,
    started_at: iso(record.startedAtMs),
    ended_at: iso(record.endedAtMs),
  };
}

/** `result` is the envelope the execution produced, as its caller and its webhook got it. */
export function jobDetail(record: JobRecord, buildNumber: string) {
  return {
    ...jobSummary(record),
    queue_time: record.queueTimeSec,
    run_time: record.runTimeSec,
    session_id: record.sessionId ?? null,
    result: v1Envelope(record, buildNumber),
    webhook: record.webhook,
  };
}
