import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Injectable, NestMiddleware } from '@nestjs/common';
import type { ServiceRequest } from './service-request';

export const REQUEST_ID_HEADER = 'x-request-id';
const saneRequestId = /^[A-Za-z0-9._-]{1,128}$/;

/** The request's id (the caller's x-request-id if sane, else a new one), set once and echoed in `x-request-id`. */
export function assignRequestId(request: ServiceRequest, response: ServerResponse): string {
  if (!request.requestId) {
    const presented = request.headers[REQUEST_ID_HEADER];
    request.requestId = typeof presented === 'string' && saneRequestId.test(presented) ? presented : randomUUID();
  }
  response.setHeader(REQUEST_ID_HEADER, request.requestId);
  return request.requestId;
}

/** Gives every request an id; pino-http's genReqId (which may run first) calls the same function. */
@Injectable()
export class RequestIdMiddleware implements NestMiddleware {
  use(request: ServiceRequest, response: ServerResponse, next: () => void): void {
    // Idempotent, so it can also run ahead of routes registered outside Nest (Swagger UI).
    assignRequestId(request, response);
    next();
  }
}
