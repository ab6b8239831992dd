import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * The stable `error_code` of every v1 error body (API.md, "The v1 envelope"): what a program switches on.
 * One const for the whole service; OpenAPI publishes it as the named schema `ErrorCode`.
 */
export const ErrorCode = {
  INVALID_REQUEST: 'INVALID_REQUEST',
  EXECUTION_FAILED: 'EXECUTION_FAILED',
  RESOURCE_LIMIT: 'RESOURCE_LIMIT',
  TIMEOUT: 'TIMEOUT',
  UNAUTHORIZED: 'UNAUTHORIZED',
  NOT_FOUND: 'NOT_FOUND',
  JOB_ALREADY_FINISHED: 'JOB_ALREADY_FINISHED',
  SESSION_IDLE: 'SESSION_IDLE',
  SESSION_GONE: 'SESSION_GONE',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  QUEUE_FULL: 'QUEUE_FULL',
  RATE_LIMITED: 'RATE_LIMITED',
  SESSION_LIMIT: 'SESSION_LIMIT',
  JOB_CANCELLED: 'JOB_CANCELLED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
export const ERROR_CODES = Object.values(ErrorCode);

/** The limits a run can be killed by (`limit` beside RESOURCE_LIMIT); OpenAPI's named schema `ResourceLimit`. */
export const RESOURCE_LIMITS = ['memory', 'cpu', 'disk', 'files', 'processes', 'result'] as const;
export type ResourceLimit = (typeof RESOURCE_LIMITS)[number];

export function isResourceLimit(value: unknown): value is ResourceLimit {
  return typeof value === 'string' && (RESOURCE_LIMITS as readonly string[]).includes(value);
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** The HTTP status each code is answered with: a code means one status. */
export const ERROR_CODE_STATUS: Record<ErrorCode, number> = {
  INVALID_REQUEST: HttpStatus.BAD_REQUEST,
  EXECUTION_FAILED: HttpStatus.BAD_REQUEST,
  RESOURCE_LIMIT: HttpStatus.BAD_REQUEST,
  TIMEOUT: HttpStatus.REQUEST_TIMEOUT,
  UNAUTHORIZED: HttpStatus.UNAUTHORIZED,
  NOT_FOUND: HttpStatus.NOT_FOUND,
  JOB_ALREADY_FINISHED: HttpStatus.CONFLICT,
  SESSION_IDLE: HttpStatus.CONFLICT,
  SESSION_GONE: HttpStatus.GONE,
  PAYLOAD_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  UNSUPPORTED_MEDIA_TYPE: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  IDEMPOTENCY_KEY_REUSED: HttpStatus.UNPROCESSABLE_ENTITY,
  QUEUE_FULL: HttpStatus.TOO_MANY_REQUESTS,
  RATE_LIMITED: HttpStatus.TOO_MANY_REQUESTS,
  SESSION_LIMIT: HttpStatus.TOO_MANY_REQUESTS,
  JOB_CANCELLED: 499,
  SERVICE_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  INTERNAL_ERROR: HttpStatus.INTERNAL_SERVER_ERROR,
};

/** The code of an error raised without one (Nest's own 404, a body-parser 400, a crash): the status's usual meaning. */
export function errorCodeForStatus(status: number): ErrorCode {
  switch (status) {
    case HttpStatus.UNAUTHORIZED:
      return ErrorCode.UNAUTHORIZED;
    case HttpStatus.NOT_FOUND:
      return ErrorCode.NOT_FOUND;
    case HttpStatus.REQUEST_TIMEOUT:
      return ErrorCode.TIMEOUT;
    case HttpStatus.CONFLICT:
      return ErrorCode.JOB_ALREADY_FINISHED;
    case HttpStatus.GONE:
      return ErrorCode.SESSION_GONE;
    case HttpStatus.PAYLOAD_TOO_LARGE:
      return ErrorCode.PAYLOAD_TOO_LARGE;
    case HttpStatus.UNSUPPORTED_MEDIA_TYPE:
      return ErrorCode.UNSUPPORTED_MEDIA_TYPE;
    case HttpStatus.UNPROCESSABLE_ENTITY:
      return ErrorCode.IDEMPOTENCY_KEY_REUSED;
    case HttpStatus.TOO_MANY_REQUESTS:
      return ErrorCode.QUEUE_FULL;
    case 499:
      return ErrorCode.JOB_CANCELLED;
    case HttpStatus.SERVICE_UNAVAILABLE:
      return ErrorCode.SERVICE_UNAVAILABLE;
    default:
      // Any other 4xx (405, 406, ...) is a request the service cannot take as sent.
      return status >= 400 && status < 500 ? ErrorCode.INVALID_REQUEST : ErrorCode.INTERNAL_ERROR;
  }
}

/** Retry-After of a 429 or 503 whose thrower did not say: every one carries the header (API.md). */
export const DEFAULT_RETRY_AFTER_SEC = 1;

/** Fields an ApiException adds at the top level of the error body (e.g. `ended_reason` of SESSION_GONE). */
export type ErrorFields = Record<string, unknown>;

/**
 * An error with its code decided where it is thrown; the status follows from the code. Both dialects'
 * bodies are built from it by HttpExceptionFilter. `retryAfterSec` sets Retry-After (429, 503).
 */
export class ApiException extends HttpException {
  constructor(
    override readonly errorCode: ErrorCode,
    message: string,
    options: { fields?: ErrorFields; details?: string[]; jobId?: string; retryAfterSec?: number } = {},
  ) {
    super(
      {
        message,
        error_code: errorCode,
        ...(options.details && { details: options.details }),
        ...(options.jobId && { job_id: options.jobId }),
        ...(options.retryAfterSec && { retryAfterSec: options.retryAfterSec }),
        ...(options.fields && { fields: options.fields }),
      },
      ERROR_CODE_STATUS[errorCode],
    );
  }
}
