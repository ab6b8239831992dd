import { ApiException, ErrorCode } from '../common/error-code';

/** What a 503 tells the caller to wait before retrying: about as long as the service takes to reconnect. */
export const REDIS_RETRY_AFTER_SEC = 1;

export const REDIS_UNAVAILABLE_MESSAGE = 'Service unavailable: Redis cannot be reached, retry later';

/** 503 with Retry-After; `jobId` when a job was accepted and its outcome is not known yet (poll it). */
export class ServiceUnavailableError extends ApiException {
  constructor(message = REDIS_UNAVAILABLE_MESSAGE, jobId?: string) {
    super(ErrorCode.SERVICE_UNAVAILABLE, message, { jobId, retryAfterSec: REDIS_RETRY_AFTER_SEC });
  }
}

/** Messages of ioredis errors that mean "no Redis right now", not "this command is wrong". */
const connectionMessages = [
  'Command timed out',
  "Stream isn't writeable",
  'Connection is closed',
  'Command aborted due to connection close',
  'Reached the max retries per request limit',
  'connect ECONNREFUSED',
  'connect ENOENT',
  'connect ETIMEDOUT',
  'All sentinels are unreachable',
];
/** Replies of a Redis that is starting, read-only during a failover, or without a primary. */
const unavailableReplies = /^(LOADING|READONLY|MASTERDOWN|NOREPLICAS|TRYAGAIN)\b/;

/** True for an error that says Redis was unreachable (a request should answer 503, not 500). */
export function isRedisUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  return connectionMessages.some((text) => error.message.startsWith(text)) || unavailableReplies.test(error.message);
}
