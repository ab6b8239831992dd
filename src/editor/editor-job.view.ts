import type { Envelope } from '../common/envelope';
import { CANCELLED_CODE } from '../jobs/job-envelope';
import { isEnded, JobRecord } from '../jobs/job.types';
import {
  EditorExecuteFailureDto, EditorExecuteSuccessDto, EditorJobDto, EditorJobSummaryDto,
} from './dto/editor-responses.dto';
import { EditorErrorCode } from './editor.exception';

/** What a run left behind, read from the job's final v1 envelope (nothing until it ends). */
interface RunOutput {
  output: string;
  logs: string[];
  result: unknown;
  error: string | null;
}

/** stderr as lines, without the empty entry a trailing newline would make. */
export function splitLines(text: string): string[] {
  if (!text) return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function runOutput(envelope: Envelope | null): RunOutput {
  if (!envelope) return { output: '', logs: [], result: null, error: null };
  // Success keeps stdout/stderr/result in `response`; a failure has them at top level, with `error`.
  const response = (envelope.response ?? null) as { stdout?: string; stderr?: string; result?: unknown } | null;
  return {
    output: response?.stdout ?? envelope.stdout ?? '',
    logs: splitLines(response?.stderr ?? envelope.stderr ?? ''),
    result: response?.result ?? null,
    error: envelope.code === 200 ? null : (envelope.error ?? envelope.message),
  };
}

function durationMs(record: JobRecord): number | null {
  return record.runTimeSec === null ? null : Math.round(record.runTimeSec * 1000);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function editorJobSummary(record: JobRecord): EditorJobSummaryDto {
  return { id: record.jobId, status: record.status, started_at: iso(record.startedAtMs) };
}

export function editorJob(record: JobRecord): EditorJobDto {
  const { output, logs, result, error } = runOutput(record.envelope);
  const job: EditorJobDto = { ...editorJobSummary(record), output, logs, result, duration_ms: durationMs(record) };
  if (isEnded(record.status) && record.endedAtMs !== null) job.ended_at = iso(record.endedAtMs)!;
  if (record.status === 'failed') job.error = error ?? 'Execution failed';
  return job;
}

const FAILURE_CODES: Record<number, EditorErrorCode> = { 400: 'EXECUTION_FAILED', 408: 'TIMEOUT', [CANCELLED_CODE]: 'JOB_CANCELLED' };

/** The answer to a synchronous POST /execute: the HTTP status is the one the v1 envelope carries. */
export function editorExecuteOutcome(record: JobRecord): { status: number; body: EditorExecuteSuccessDto | EditorExecuteFailureDto } {
  const envelope = record.envelope;
  const { output, logs, result, error } = runOutput(envelope);
  const duration_ms = durationMs(record) ?? 0;
  const status = envelope?.code ?? 500;
  if (status === 200) {
    return { status, body: { success: true, job_id: record.jobId, status: 'completed', output, logs, result, duration_ms } };
  }
  const code = FAILURE_CODES[status] ?? 'INTERNAL_ERROR';
  return {
    status,
    body: { success: false, error: code, message: error ?? 'Execution failed', job_id: record.jobId, output, logs, duration_ms },
  };
}
