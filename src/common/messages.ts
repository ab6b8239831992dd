/** Status codes and texts the API documents (API.md), in one place for every module that answers with them. */

/** The body of every 500: no internals. */
export const INTERNAL_ERROR = 'An internal server error occurred';
/** `error` of a 400 for a body or query that failed validation (with `details`). */
export const INVALID_PARAMETERS = 'Missing or invalid parameters';
export const UNAUTHORIZED = 'Unauthorized';
export const JOB_NOT_FOUND = 'Job not found';

/** The error text of a cancelled job (its status, 499, is ERROR_CODE_STATUS.JOB_CANCELLED). */
export const CANCELLED_ERROR = 'Job cancelled';

export const queueFullMessage = (maxQueueLength: number): string => `MAX_QUEUE_LENGTH (${maxQueueLength}) reached`;
export const timedOutMessage = (timeoutSec: number): string => `Execution timed out after ${timeoutSec} seconds`;
