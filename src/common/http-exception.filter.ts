import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';
import { isRedisUnavailableError, REDIS_RETRY_AFTER_SEC, REDIS_UNAVAILABLE_MESSAGE } from '../redis/redis-unavailable';
import { completeEnvelope, Envelope, errorDraft } from './envelope';
import { DEFAULT_RETRY_AFTER_SEC, ErrorCode, errorCodeForStatus, isErrorCode } from './error-code';
import { INTERNAL_ERROR, INVALID_PARAMETERS } from './messages';

/** Fields an HttpException's response object may carry into the envelope. */
export interface EnvelopeErrorBody {
  message?: string | string[];
  error?: string;
  details?: string[];
  job_id?: string;
  id?: string | null;
  retryAfterSec?: number;
  /** Set by ApiException and the service's own exceptions; otherwise the status decides (errorCodeForStatus). */
  error_code?: ErrorCode;
  /** Extra top-level fields of the v1 body (ApiException's `fields`). */
  fields?: Record<string, unknown>;
  [extra: string]: unknown;
}

/** Builds the error body for routes outside the v1 envelope (the editor dialect plugs in here). */
export abstract class DialectErrorFormatter {
  abstract matches(path: string): boolean;
  /** `errorCode`: the v1 code of this error, for the dialect to rename. */
  abstract format(status: number, body: EnvelopeErrorBody, fallback: string, errorCode: ErrorCode): unknown;
}

/** The error's code: the one its thrower chose, else the usual meaning of its status. */
export function errorCodeOf(status: number, body: EnvelopeErrorBody): ErrorCode {
  return isErrorCode(body.error_code) ? body.error_code : errorCodeForStatus(status);
}

/** The one global filter: every error becomes the documented body; 500s hide internals. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  constructor(
    private readonly config: AppConfig,
    private readonly dialects: DialectErrorFormatter[] = [],
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request & { requestId?: string }>();
    const response = http.getResponse<Response>();
    const { status, body } = this.describe(exception, request);
    const errorCode = errorCodeOf(status, body);
    const fallback = status >= 500 ? INTERNAL_ERROR : defaultText(status);
    const dialect = this.dialects.find((d) => d.matches(requestedPath(request)));
    const payload = dialect
      ? dialect.format(status, body, fallback, errorCode)
      : this.envelope(status, errorCode, body, fallback, request);
    if (response.headersSent) return;
    setErrorHeaders(response, status, body);
    response.status(status).json(payload);
  }

  /** The v1 error body of `exception`, for answers that are not an HTTP reply of their own (MCP tool results). */
  v1ErrorBody(exception: unknown, request: Request): Envelope {
    const { status, body } = this.describe(exception, request);
    const fallback = status >= 500 ? INTERNAL_ERROR : defaultText(status);
    return this.envelope(status, errorCodeOf(status, body), body, fallback, request);
  }

  private describe(
    exception: unknown,
    request: Request & { requestId?: string },
  ): { status: number; body: EnvelopeErrorBody } {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const raw = exception.getResponse();
      const body: EnvelopeErrorBody = typeof raw === 'string' ? { message: raw } : { ...(raw as EnvelopeErrorBody) };
      // A 503 says what to do (retry; poll job_id); other 5xx bodies hide internals.
      if (status >= 500 && status !== HttpStatus.SERVICE_UNAVAILABLE) {
        this.logger.error(`request ${request.requestId ?? '-'}: ${exception.message}`, exception.stack);
        return { status, body: {} };
      }
      return { status, body };
    }
    const err = exception as Error;
    if (isRedisUnavailableError(err)) {
      this.logger.warn(`request ${request.requestId ?? '-'}: 503, Redis unavailable (${err.message})`);
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        body: {
          message: REDIS_UNAVAILABLE_MESSAGE,
          retryAfterSec: REDIS_RETRY_AFTER_SEC,
          error_code: ErrorCode.SERVICE_UNAVAILABLE,
        },
      };
    }
    // body-parser style errors that escaped as plain errors
    const errStatus = (err as { status?: number })?.status;
    if (typeof errStatus === 'number' && errStatus >= 400 && errStatus < 500) {
      return { status: errStatus, body: { message: err.message } };
    }
    this.logger.error(`request ${request.requestId ?? '-'}: ${err?.message ?? String(exception)}`, err?.stack);
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, body: {} };
  }

  private envelope(
    status: number,
    errorCode: ErrorCode,
    body: EnvelopeErrorBody,
    fallback: string,
    request: Request,
  ): Envelope {
    const text = firstText(body.message) ?? fallback;
    const error = status === HttpStatus.BAD_REQUEST && body.details ? INVALID_PARAMETERS : text;
    const extra: Partial<Envelope> = { job_id: body.job_id ?? null, id: body.id ?? null };
    // API.md's stable code, where the error carries one (the 503s so far).
    if (typeof body.error_code === 'string') extra.error_code = body.error_code;
    if (body.details) extra.details = body.details;
    const message =
      status === HttpStatus.TOO_MANY_REQUESTS ||
      status === HttpStatus.UNAUTHORIZED ||
      status === HttpStatus.SERVICE_UNAVAILABLE
        ? text
        : error;
    // ApiException fields first: they add to the documented fields, never replace one.
    return completeEnvelope(
      { ...body.fields, ...errorDraft(status, errorCode, error, { ...extra, message }) },
      {
        endpoint: requestedPath(request),
        buildNumber: this.config.buildNumber,
      },
    );
  }
}

/** Retry-After on every 429 and 503; the auth scheme on a 401 (RFC 9110 requires WWW-Authenticate there). */
function setErrorHeaders(response: Response, status: number, body: EnvelopeErrorBody): void {
  if (status === HttpStatus.TOO_MANY_REQUESTS || status === HttpStatus.SERVICE_UNAVAILABLE) {
    response.setHeader('Retry-After', String(body.retryAfterSec ?? DEFAULT_RETRY_AFTER_SEC));
  }
  if (status === HttpStatus.UNAUTHORIZED) response.setHeader('WWW-Authenticate', 'Bearer');
}

/** The path as requested: for errors thrown in middleware, Express reports `path` relative to the mount point ("/"). */
function requestedPath(request: Request): string {
  return (request.originalUrl ?? request.path).split('?')[0];
}

function firstText(message: string | string[] | undefined): string | undefined {
  if (Array.isArray(message)) return message[0];
  return message || undefined;
}

function defaultText(status: number): string {
  const name = HttpStatus[status];
  return name ? name.charAt(0) + name.slice(1).toLowerCase().replace(/_/g, ' ') : 'Error';
}
