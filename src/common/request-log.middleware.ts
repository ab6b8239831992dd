import type { ServerResponse } from 'node:http';
import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type pino from 'pino';
import { runWithRequestId } from './app-logger';
import { assignRequestId } from './request-id.middleware';
import type { ServiceRequest } from './service-request';

/** The process's pino logger (app-logger.ts), as AppModule provides it. */
export const APP_PINO = Symbol('APP_PINO');

/**
 * One line per request at pino `info` (when LOG_LEVEL lets it through): "<method> <url> <status>",
 * `req` and `res` (pino's standard serializers, credentials redacted), `responseTime` ms and
 * `request_id` = the `x-request-id` echoed to the caller. While the request is served, every line
 * logged carries its request_id too.
 */
@Injectable()
export class RequestLogMiddleware implements NestMiddleware {
  private readonly logsRequests: boolean;

  constructor(@Inject(APP_PINO) private readonly logger: pino.Logger) {
    this.logsRequests = logger.isLevelEnabled('info');
  }

  use(request: ServiceRequest, response: ServerResponse, next: () => void): void {
    const requestId = assignRequestId(request, response);
    request.id = requestId; // what pino's request serializer shows as req.id
    if (this.logsRequests) {
      const startedAtMs = Date.now();
      response.once('close', () => this.logLine(request, response, requestId, Date.now() - startedAtMs));
    }
    runWithRequestId(requestId, next);
  }

  private logLine(request: ServiceRequest, response: ServerResponse, requestId: string, responseTime: number): void {
    const status = response.statusCode;
    const line: Record<string, unknown> = { request_id: requestId, req: request, res: response, responseTime };
    if (status >= 500) line.err = new Error(`failed with status code ${status}`);
    const url = (request as { originalUrl?: string }).originalUrl ?? request.url;
    this.logger.info(line, `${request.method} ${url} ${status}`);
  }
}
