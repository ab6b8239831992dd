import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';
import { isRedisUnavailableError, REDIS_RETRY_AFTER_SEC, REDIS_UNAVAILABLE_MESSAGE } from '../redis/redis-unavailable';
import { completeEnvelope, Envelope, errorDraft } from './envelope';
import { INTERNAL_ERROR, INVALID_PARAMETERS } from './messages';

/** Fields an HttpException's response object may carry into the envelope. */
export interface EnvelopeErrorBody {
  message?: string | string[];
  error?: string;
  details?: string[];
  job_id?: string;
  id?: string | null;
  retryAfterSec?: number;
  [extra: string]: unknown;
}

/** Builds the error body for routes outside the v1 envelope (the editor dialect plugs in here). */
export abstract class DialectErrorFormatter {
  abstract matches(path: string): boolean;
  abstract format(status: number, body: EnvelopeErrorBody, fallback: string): unknown;
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
    if ((status === HttpStatus.TOO_MANY_REQUESTS || status === HttpStatus.SERVICE_UNAVAILABLE) && body.retryAfterSec) {
      response.setHeader('Retry-After', String(body.retryAfterSec));
    }
    const fallback = status >= 500 ? INTERNAL_ERROR : defaultText(status);
    const dialect = this.dialects.find((d) => d.matches(requestedPath(request)));
    const payload = dialect ? dialect.format(status, body, fallback) : this.envelope(status, body, fallback, request);
    if (response.headersSent) return;
    response.status(status).json(payload);
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
        body: { message: REDIS_UNAVAILABLE_MESSAGE, retryAfterSec: REDIS_RETRY_AFTER_SEC },
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

  private envelope(status: number, body: EnvelopeErrorBody, fallback: string, request: Request): Envelope {
    const text = firstText(body.message) ?? fallback;
    const error = status === HttpStatus.BAD_REQUEST && body.details ? INVALID_PARAMETERS : text;
    const extra: Partial<Envelope> = { job_id: body.job_id ?? null, id: body.id ?? null };
    if (body.details) extra.details = body.details;
    // Until every error carries one (API.md error_code list), those raised with a code pass it on.
    if (typeof body.errorCode === 'string') extra.error_code = body.errorCode;
    const message =
      status === HttpStatus.TOO_MANY_REQUESTS ||
      status === HttpStatus.UNAUTHORIZED ||
      status === HttpStatus.SERVICE_UNAVAILABLE
        ? text
        : error;
    return completeEnvelope(errorDraft(status, error, { ...extra, message }), {
      endpoint: requestedPath(request),
      buildNumber: this.config.buildNumber,
    });
  }
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
