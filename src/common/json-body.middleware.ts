import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import {
  BadRequestException,
  HttpException,
  Injectable,
  NestMiddleware,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { json, type Request, type RequestHandler, type Response } from 'express';
import { AppConfig } from '../config/app-config';
import type { ServiceRequest } from './service-request';

const methodsWithBody = new Set(['POST', 'PUT', 'PATCH']);
const jsonContentType = /^application\/json\s*(;|$)/i;

/** What body-parser's `type` field of an error turns into; anything else is a 500. */
function toHttpException(error: { type?: string; charset?: string }, maxBodyBytes: number): HttpException | undefined {
  switch (error.type) {
    case 'entity.too.large':
      return new PayloadTooLargeException(`Request body exceeds ${maxBodyBytes} bytes`);
    case 'entity.parse.failed':
      return new BadRequestException({ message: 'Malformed JSON body', details: ['body: malformed JSON'] });
    case 'charset.unsupported':
      return new UnsupportedMediaTypeException(`Unsupported charset "${error.charset ?? ''}": use utf-8`);
    case 'encoding.unsupported':
      return new UnsupportedMediaTypeException('Unsupported Content-Encoding');
    case 'request.aborted':
    case 'request.size.invalid':
      return new BadRequestException({ message: 'Incomplete request body', details: ['body: incomplete'] });
    default:
      return undefined;
  }
}

function hasBody(headers: IncomingHttpHeaders): boolean {
  const contentLength = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (contentLength !== undefined && contentLength !== '0');
}

/**
 * Parses JSON bodies only for callers whose API key was recognised (`apiKeyId`, set by the auth
 * middleware before this one), so that an unauthenticated request gets its 401 from ApiKeyGuard
 * whatever its body (the app is created with `bodyParser: false`).
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly maxBodyBytes: number;
  private readonly parseJson: RequestHandler;

  constructor(config: AppConfig) {
    this.maxBodyBytes = config.maxBodyBytes;
    this.parseJson = json({ limit: config.maxBodyBytes, strict: true, type: () => true });
  }

  async use(request: ServiceRequest, response: ServerResponse, next: () => void): Promise<void> {
    if (!request.apiKeyId || !methodsWithBody.has(request.method ?? '') || !hasBody(request.headers)) {
      return next();
    }
    if (!jsonContentType.test(request.headers['content-type'] ?? '')) {
      throw new UnsupportedMediaTypeException('Content-Type must be application/json');
    }
    await new Promise<void>((resolve, reject) => {
      this.parseJson(request as Request, response as Response, (error?: unknown) =>
        error ? reject(error) : resolve(),
      );
    }).catch((error: unknown) => {
      throw toHttpException(error as { type?: string }, this.maxBodyBytes) ?? error;
    });
    next();
  }
}
