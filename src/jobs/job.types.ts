import type { ResourceLimit } from '../common/error-code';
import type { IdempotencyRequest } from './idempotency';
import type { DisplayItem, OutputFile, RunInputFile } from '../execution/runner/python-runner';

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
  /** Input files (checked; base64 content); absent when none. */
  files?: RunInputFile[];
}

export interface WebhookState {
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: string | null;
}

/** What the program wrote, each stream capped at MAX_OUTPUT_BYTES. */
export interface RunOutput {
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/** Why a failed job failed: it raised, exited non-zero (or by a signal), hit a limit, ran out of time, or we failed. */
export const FAILURE_KINDS = ['exception', 'exit', 'limit', 'timeout', 'internal', 'session_gone'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** Why a session ended (API.md, Sessions): its record's `ended_reason`, and a 410's. */
export const SESSION_ENDED_REASONS = [
  'deleted',
  'expired',
  'memory',
  'timeout',
  'worker_lost',
  'crashed',
  'lifetime',
] as const;
export type SessionEndedReason = (typeof SESSION_ENDED_REASONS)[number];

/** How a job ended, in the domain's terms (no HTTP status): the HTTP edge maps it (outcome-answer.ts). */
export type JobEnding =
  | { kind: 'completed' }
  | { kind: 'cancelled' }
  | { kind: 'failed'; failure: Exclude<FailureKind, 'limit' | 'session_gone'> }
  | { kind: 'failed'; failure: 'session_gone'; endedReason: SessionEndedReason }
  | { kind: 'failed'; failure: 'limit'; limit: ResourceLimit };

/** How a job ended, as data; the wire bodies (v1 envelope, editor dialect) are built from it at the edge. */
export interface JobOutcome {
  ending: JobEnding;
  /** The program's exit code (124 timeout, 128+n signal n); null when none applies (nothing ran, or our fault). */
  exitCode: number | null;
  /** null when nothing ran (cancelled while pending, lost with its worker) or the output must not be shown. */
  output: RunOutput | null;
  /** The JSON-safe result of a completed run, else null. */
  result: unknown;
  /** "<ExceptionType>: <message>", a limit, a timeout, or a documented error text; null on success. */
  error: string | null;
  /** Milliseconds in the sandbox; null when it did not run there (finish() then measures from the record). */
  runMs: number | null;
  /** pid of the process that ended the job, and of the fork server that ran it (0 if none): `pid`, `queue_id`. */
  pid: number;
  serverPid: number;
  /** What the program left under ./outputs/ and showed; absent in outcomes stored before issue 26 (read as none). */
  files?: OutputFile[];
  display?: DisplayItem[];
  displayTruncated?: boolean;
}

/** A job as stored. Times are epoch milliseconds; the *Sec fields and queueLength are set when it ends. */
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
  queueTimeSec: number | null;
  runTimeSec: number | null;
  /** Jobs waiting in the queue when it ended (the envelope's queue_length). */
  queueLength: number | null;
  outcome: JobOutcome | null;
  webhook: WebhookState | null;
  /** The session the call ran in (POST /v1/sessions/{id}/execute); null for a one-shot run. */
  sessionId?: string | null;
}

export interface SubmitInput {
  owner: string;
  clientId: string | null;
  code: string;
  stdin: string;
  /** Checked input files (input-files.ts); absent or empty when none. */
  files?: RunInputFile[];
  timeoutSec: number;
  webhookUrl: string | null;
  endpoint: string;
  /** The `Idempotency-Key` header with the hash of the request it came with, when one was sent. */
  idempotency: IdempotencyRequest | null;
  /** A session's call: the session it runs in. */
  sessionId?: string;
}

/** The job status an outcome ends in. */
export function statusOf(outcome: Pick<JobOutcome, 'ending'>): JobStatus {
  return outcome.ending.kind;
}
