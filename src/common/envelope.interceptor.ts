import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { map, Observable } from 'rxjs';
import { AppConfig } from '../config/app-config';
import { completeEnvelope, Envelope, EnvelopeDraft } from './envelope';

/** A handler's EnvelopeDraft as the full v1 envelope, with the HTTP status set from `code`. */
export function envelopeResponse(
  draft: EnvelopeDraft,
  request: Request,
  response: Response,
  buildNumber: string,
): Envelope {
  const envelope = completeEnvelope(draft, { endpoint: request.path, buildNumber });
  response.status(envelope.code);
  return envelope;
}

/**
 * Turns a handler's EnvelopeDraft into the full v1 envelope and sets the HTTP status from `code`.
 * The execute route calls envelopeResponse() itself instead: an interceptor costs every request
 * Nest's rxjs chain and two AsyncResource.bind calls, a measurable share of a run's Node CPU.
 */
@Injectable()
export class EnvelopeInterceptor implements NestInterceptor<EnvelopeDraft, Envelope> {
  constructor(private readonly config: AppConfig) {}

  intercept(context: ExecutionContext, next: CallHandler<EnvelopeDraft>): Observable<Envelope> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    return next.handle().pipe(map((draft) => envelopeResponse(draft, request, response, this.config.buildNumber)));
  }
}
