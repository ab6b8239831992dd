import { iso } from '../common/time';
import { isEnded, JobRecord } from '../jobs/job.types';
import { answerOf } from '../jobs/outcome-answer';
import {
  EditorExecuteFailureDto,
  EditorExecuteSuccessDto,
  EditorJobDto,
  EditorJobSummaryDto,
} from './dto/editor-responses.dto';
import { editorErrorCodeOf } from './editor.exception';

/** What a run left behind (nothing until it ends), in the editor's terms. */
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

function runOutput(record: JobRecord): RunOutput {
  const outcome = record.outcome;
  if (!outcome) return { output: '', logs: [], result: null, error: null };
  return {
    output: outcome.output?.stdout ?? '',
    logs: splitLines(outcome.output?.stderr ?? ''),
    result: outcome.ending.kind === 'completed' ? (outcome.result ?? null) : null,
    error: outcome.ending.kind === 'completed' ? null : outcome.error,
  };
}

function durationMs(record: JobRecord): number | null {
  return record.runTimeSec === null ? null : Math.round(record.runTimeSec * 1000);
}

export function editorJobSummary(record: JobRecord): EditorJobSummaryDto {
  return { id: record.jobId, status: record.status, started_at: iso(record.startedAtMs) };
}

export function editorJob(record: JobRecord): EditorJobDto {
  const { output, logs, result, error } = runOutput(record);
  const job: EditorJobDto = { ...editorJobSummary(record), output, logs, result, duration_ms: durationMs(record) };
  if (isEnded(record.status) && record.endedAtMs !== null) job.ended_at = iso(record.endedAtMs)!;
  if (record.status === 'failed') job.error = error ?? 'Execution failed';
  return job;
}

/** The answer to a synchronous POST /execute: the status and code of the v1 mapping, in the editor's words. */
export function editorExecuteOutcome(record: JobRecord): {
  status: number;
  body: EditorExecuteSuccessDto | EditorExecuteFailureDto;
} {
  const { output, logs, result, error } = runOutput(record);
  const duration_ms = durationMs(record) ?? 0;
  const answer = record.outcome ? answerOf(record.outcome.ending) : null;
  if (answer && answer.errorCode === null) {
    return {
      status: answer.status,
      body: { success: true, job_id: record.jobId, status: 'completed', output, logs, result, duration_ms },
    };
  }
  return {
    status: answer?.status ?? 500,
    body: {
      success: false,
      error: answer?.errorCode ? editorErrorCodeOf(answer.errorCode) : 'INTERNAL_ERROR',
      message: error ?? 'Execution failed',
      job_id: record.jobId,
      output,
      logs,
      duration_ms,
    },
  };
}
