import { HttpStatus } from '@nestjs/common';
import type { ErrorCode } from '../common/error-code';
import { DialectErrorFormatter, EnvelopeErrorBody } from '../common/http-exception.filter';
import { EDITOR_ERROR_CODES, EditorErrorCode, editorErrorCodeOf } from './editor.exception';

export const EDITOR_ROUTE_PREFIX = '/api/v1/python';

export interface EditorErrorBody {
  success: false;
  error: string;
  message: string;
  /** Only on a 503 for an accepted job whose outcome is not known yet: poll it. */
  job_id?: string;
}

/** Every error under /api/v1/python becomes `{ success: false, error: CODE, message }`. */
export class EditorErrorFormatter extends DialectErrorFormatter {
  matches(path: string): boolean {
    // Express routes case-insensitively, so /API/v1/Python/execute reaches the editor controller too.
    const lower = path.toLowerCase();
    return lower === EDITOR_ROUTE_PREFIX || lower.startsWith(`${EDITOR_ROUTE_PREFIX}/`);
  }

  format(status: number, body: EnvelopeErrorBody, fallback: string, errorCode: ErrorCode): EditorErrorBody {
    const formatted: EditorErrorBody = {
      success: false,
      // A code chosen for this dialect where it was thrown (MISSING_FIELD, JOB_NOT_FOUND, ...), else v1's renamed.
      error: isEditorCode(body.errorCode) ? body.errorCode : editorErrorCodeOf(errorCode),
      message: editorMessage(body, fallback),
    };
    if (status === HttpStatus.SERVICE_UNAVAILABLE && body.job_id) formatted.job_id = body.job_id;
    return formatted;
  }
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
