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

/**
 * Gives a request its id, for the routes mounted ahead of Nest's middleware (Swagger UI);
 * RequestLogMiddleware does it for all the others.
 */
@Injectable()
export class RequestIdMiddleware implements NestMiddleware {
  use(request: ServiceRequest, response: ServerResponse, next: () => void): void {
    assignRequestId(request, response);
    next();
  }
}
