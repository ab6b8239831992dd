import { HttpException } from '@nestjs/common';
import { ErrorCode } from '../common/error-code';

/** The `error` codes of the editor dialect (API.md, "Editor dialect", plus the statuses the table leaves open). */
export const EDITOR_ERROR_CODES = [
  'MISSING_FIELD',
  'MISSING_PARAMETER',
  'INVALID_REQUEST',
  'EXECUTION_FAILED',
  'TIMEOUT',
  'JOB_CANCELLED',
  'JOB_NOT_FOUND',
  'JOB_ALREADY_FINISHED',
  'UNAUTHORIZED',
  'NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'QUEUE_FULL',
  'RATE_LIMITED',
  'INTERNAL_ERROR',
  'SERVICE_UNAVAILABLE',
] as const;
export type EditorErrorCode = (typeof EDITOR_ERROR_CODES)[number];

/** An error whose editor code is decided where it is thrown; EditorErrorFormatter puts it in the body. */
export class EditorException extends HttpException {
  constructor(status: number, errorCode: EditorErrorCode, message: string) {
    super({ message, errorCode }, status);
  }
}

export function jobNotFound(jobId: string): EditorException {
  return new EditorException(404, 'JOB_NOT_FOUND', `Job '${jobId}' not found`);
}

/** The editor dialect's name for a v1 error code: the same name where the dialect has one (API.md). */
export function editorErrorCodeOf(code: ErrorCode): EditorErrorCode | ErrorCode {
  // The editor dialect reports a run killed by a limit as a failed execution.
  return code === ErrorCode.RESOURCE_LIMIT ? 'EXECUTION_FAILED' : code;
}
