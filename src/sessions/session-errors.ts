import { ApiException, ErrorCode } from '../common/error-code';
import { sessionGoneMessage } from './session-endings';

/** How long a caller refused for a session limit is told to wait. */
export const SESSION_LIMIT_RETRY_AFTER_SEC = 5;

export function sessionNotFound(): ApiException {
  return new ApiException(ErrorCode.NOT_FOUND, 'Session not found');
}

export function sessionGone(reason: string): ApiException {
  return new ApiException(ErrorCode.SESSION_GONE, sessionGoneMessage(reason), { fields: { ended_reason: reason } });
}

export function sessionIdle(): ApiException {
  return new ApiException(ErrorCode.SESSION_IDLE, 'Nothing is running in this session');
}

export function sessionLimit(message: string): ApiException {
  return new ApiException(ErrorCode.SESSION_LIMIT, message, { retryAfterSec: SESSION_LIMIT_RETRY_AFTER_SEC });
}
