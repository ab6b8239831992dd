import { HttpStatus } from '@nestjs/common';
import { DialectErrorFormatter, EnvelopeErrorBody } from '../common/http-exception.filter';
import { EDITOR_ERROR_CODES, EditorErrorCode } from './editor.exception';

export const EDITOR_ROUTE_PREFIX = '/api/v1/python';

export interface EditorErrorBody {
  success: false;
  error: string;
  message: string;
  /** Only on a 503 for an accepted job whose outcome is not known yet: poll it. */
  job_id?: string;
}

/** Codes for errors raised outside the editor controller (guard, body parser, validation, queue, crashes). */
const CODE_BY_STATUS: Partial<Record<number, EditorErrorCode>> = {
  [HttpStatus.BAD_REQUEST]: 'INVALID_REQUEST',
  [HttpStatus.UNAUTHORIZED]: 'UNAUTHORIZED',
  [HttpStatus.NOT_FOUND]: 'NOT_FOUND',
  [HttpStatus.REQUEST_TIMEOUT]: 'TIMEOUT',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'PAYLOAD_TOO_LARGE',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'UNSUPPORTED_MEDIA_TYPE',
  [HttpStatus.INTERNAL_SERVER_ERROR]: 'INTERNAL_ERROR',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'SERVICE_UNAVAILABLE',
};

/** Every error under /api/v1/python becomes `{ success: false, error: CODE, message }`. */
export class EditorErrorFormatter extends DialectErrorFormatter {
  matches(path: string): boolean {
    // Express routes case-insensitively, so /API/v1/Python/execute reaches the editor controller too.
    const lower = path.toLowerCase();
    return lower === EDITOR_ROUTE_PREFIX || lower.startsWith(`${EDITOR_ROUTE_PREFIX}/`);
  }

  format(status: number, body: EnvelopeErrorBody, fallback: string): EditorErrorBody {
    const formatted: EditorErrorBody = {
      success: false,
      error: editorCode(status, body),
      message: editorMessage(body, fallback),
    };
    if (status === HttpStatus.SERVICE_UNAVAILABLE && body.job_id) formatted.job_id = body.job_id;
    return formatted;
  }
}

function editorCode(status: number, body: EnvelopeErrorBody): string {
  if (isEditorCode(body.errorCode)) return body.errorCode;
  // A per-key rate limit says when to come back; a full queue does not.
  if (status === HttpStatus.TOO_MANY_REQUESTS) return body.retryAfterSec ? 'RATE_LIMITED' : 'QUEUE_FULL';
  return CODE_BY_STATUS[status] ?? HttpStatus[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'ERROR');
}

/** Validation errors name each bad field in `details`; those say more than their generic message. */
function editorMessage(body: EnvelopeErrorBody, fallback: string): string {
  if (body.details?.length) return body.details.join('; ');
  const message = Array.isArray(body.message) ? body.message.join('; ') : body.message;
  return message || fallback;
}

function isEditorCode(value: unknown): value is EditorErrorCode {
  return typeof value === 'string' && (EDITOR_ERROR_CODES as readonly string[]).includes(value);
}
