import { ERROR_CODE_STATUS, ErrorCode, ResourceLimit } from '../common/error-code';
import type { JobEnding } from './job.types';

/** How the HTTP edge answers an ending: the status (the envelope's `code`), `error_code` and `limit`. */
export interface OutcomeAnswer {
  status: number;
  /** null for a completed job. */
  errorCode: ErrorCode | null;
  /** Which limit, with RESOURCE_LIMIT only. */
  limit: ResourceLimit | null;
  /** With SESSION_GONE only: why the session ended. */
  endedReason?: string;
}

/** The one mapping from a job's ending to its answer; the editor dialect renames the codes (editorErrorCodeOf). */
export function answerOf(ending: JobEnding): OutcomeAnswer {
  if (ending.kind === 'completed') return { status: 200, errorCode: null, limit: null };
  if (ending.kind === 'cancelled') return coded(ErrorCode.JOB_CANCELLED);
  switch (ending.failure) {
    case 'exception':
    case 'exit':
      return coded(ErrorCode.EXECUTION_FAILED);
    case 'limit':
      return { ...coded(ErrorCode.RESOURCE_LIMIT), limit: ending.limit };
    case 'timeout':
      return coded(ErrorCode.TIMEOUT);
    case 'internal':
      return coded(ErrorCode.INTERNAL_ERROR);
    case 'session_gone':
      return { ...coded(ErrorCode.SESSION_GONE), endedReason: ending.endedReason };
  }
}

function coded(errorCode: ErrorCode): OutcomeAnswer {
  return { status: ERROR_CODE_STATUS[errorCode], errorCode, limit: null };
}
