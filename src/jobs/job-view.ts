import { JobRecord } from './job.types';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

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

export function jobDetail(record: JobRecord) {
  return {
    ...jobSummary(record),
    queue_time: record.queueTimeSec,
    run_time: record.runTimeSec,
    result: record.envelope,
    webhook: record.webhook,
  };
}
