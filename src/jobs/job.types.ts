import type { Envelope } from '../common/envelope';

export const JOB_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export function isEnded(status: JobStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** The Bull payload of an execution: everything the worker needs, nothing more. */
export interface ExecutionJobData {
  jobId: string;
  owner: string;
  clientId: string | null;
  code: string;
  stdin: string;
  timeoutSec: number;
  endpoint: string;
}

export interface WebhookState {
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: string | null;
}

/** A job as stored in Redis (`<prefix>:job:<id>`). Times are epoch milliseconds. */
export interface JobRecord {
  jobId: string;
  /** The route that created it: the endpoint of its envelope. */
  endpoint: string;
  owner: string;
  clientId: string | null;
  status: JobStatus;
  /** DELETE was called while it had not ended; it ends as cancelled wherever it is. */
  cancelRequested: boolean;
  createdAtMs: number;
  startedAtMs: number | null;
  endedAtMs: number | null;
  runTimeSec: number | null;
  queueTimeSec: number | null;
  envelope: Envelope | null;
  webhook: WebhookState | null;
}

export interface SubmitInput {
  owner: string;
  clientId: string | null;
  code: string;
  stdin: string;
  timeoutSec: number;
  webhookUrl: string | null;
  endpoint: string;
  idempotencyKey: string | null;
}
