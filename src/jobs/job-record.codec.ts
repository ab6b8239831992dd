import type { JobOutcome, JobRecord, JobStatus, WebhookState } from './job.types';
import { readOutcome } from './job-outcomes';

/** The fields of a new job's Redis hash. */
export function toHash(record: JobRecord): Record<string, string> {
  const fields: Record<string, string> = {
    owner: record.owner,
    endpoint: record.endpoint,
    status: record.status,
    created_at: String(record.createdAtMs),
  };
  if (record.clientId !== null) fields.client_id = record.clientId;
  if (record.webhook) fields.webhook = JSON.stringify(record.webhook);
  if (record.sessionId) fields.session_id = record.sessionId;
  return fields;
}

/**
 * A job's Redis hash (as HGETALL answers it), or null when there is none. `outcome`: the outcome
 * the caller just stored, instead of parsing its JSON back.
 */
export function fromHash(
  jobId: string,
  h: Record<string, string> | null | undefined,
  outcome?: JobOutcome,
): JobRecord | null {
  if (!h || !h.status) return null;
  const queueMs = num(h.queue_ms);
  const runMs = num(h.run_ms);
  return {
    jobId,
    endpoint: h.endpoint,
    owner: h.owner,
    clientId: h.client_id ?? null,
    status: h.status as JobStatus,
    cancelRequested: h.cancel_requested === '1',
    createdAtMs: Number(h.created_at),
    startedAtMs: num(h.started_at),
    endedAtMs: num(h.ended_at),
    queueTimeSec: queueMs === null ? null : queueMs / 1000,
    runTimeSec: runMs === null ? null : runMs / 1000,
    queueLength: num(h.queue_length),
    outcome: outcome ?? (h.outcome ? readOutcome(JSON.parse(h.outcome) as JobOutcome) : null),
    webhook: h.webhook ? (JSON.parse(h.webhook) as WebhookState) : null,
    ...(h.session_id && { sessionId: h.session_id }),
  };
}

/** A flat [field, value, ...] script reply as an object; a null value (an absent field) is left out. */
export function pairs(flat: Array<string | null>): Record<string, string> {
  const hash: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const value = flat[i + 1];
    if (value !== null && value !== undefined) hash[flat[i] as string] = value;
  }
  return hash;
}

function num(value: string | undefined): number | null {
  return value === undefined || value === '' ? null : Number(value);
}
