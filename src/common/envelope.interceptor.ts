import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { map, Observable } from 'rxjs';
import { AppConfig } from '../config/app-config';
import { completeEnvelope, Envelope, EnvelopeDraft } from './envelope';

/** Where an accepted job is followed: the Location of every 202. */
export const jobLocation = (jobId: string): string => `/v1/jobs/${encodeURIComponent(jobId)}`;

/** Turns a handler's EnvelopeDraft into the full v1 envelope; sets the HTTP status from `code` (Location on 202). */
@Injectable()
export class EnvelopeInterceptor implements NestInterceptor<EnvelopeDraft | undefined, Envelope | undefined> {
  constructor(private readonly config: AppConfig) {}

  intercept(context: ExecutionContext, next: CallHandler<EnvelopeDraft | undefined>): Observable<Envelope | undefined> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    return next.handle().pipe(
      map((draft) => {
        // The handler answered itself (an event stream): nothing to wrap.
        if (draft === undefined) {
          if (response.headersSent) return undefined;
          throw new Error('handler returned no envelope');
        }
        const envelope = completeEnvelope(draft, { endpoint: request.path, buildNumber: this.config.buildNumber });
        response.status(envelope.code);
        if (envelope.code === 202 && envelope.job_id) response.setHeader('Location', jobLocation(envelope.job_id));
        return envelope;
      }),
    );
  }
}
