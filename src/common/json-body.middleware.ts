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
import { charsetOf, checkRawJsonBody, isUtf8Charset } from './json-body.checks';
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
    case 'entity.too.deep':
    case 'entity.encoding.invalid':
      return new BadRequestException({ message: 'Malformed JSON body', details: [(error as Error).message] });
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
    // verify: the raw bytes are checked (UTF-8, nesting depth) before JSON.parse or any recursive code sees them.
    this.parseJson = json({
      limit: config.maxBodyBytes,
      strict: true,
      inflate: false,
      type: () => true,
      verify: (_req, _res, raw) => checkRawJsonBody(raw),
    });
  }

  async use(request: ServiceRequest, response: ServerResponse, next: () => void): Promise<void> {
    if (!request.apiKeyId || !methodsWithBody.has(request.method ?? '') || !hasBody(request.headers)) {
      return next();
    }
    if (!jsonContentType.test(request.headers['content-type'] ?? '')) {
      throw new UnsupportedMediaTypeException('Content-Type must be application/json');
    }
    const charset = charsetOf(request.headers['content-type'] ?? '');
    if (!isUtf8Charset(charset)) {
      throw new UnsupportedMediaTypeException(`Unsupported charset "${charset}": use utf-8`);
    }
    // API.md "Request encoding": any Content-Encoding (identity included) is refused, not inflated.
    if (request.headers['content-encoding']?.trim()) {
      throw new UnsupportedMediaTypeException('Content-Encoding is not supported: send the JSON uncompressed');
    }
    await new Promise<void>((resolve, reject) => {
      this.parseJson(request as Request, response as Response, (error?: unknown) =>
        error ? reject(error) : resolve(),
      );
    }).catch((error: unknown) => {
      throw toHttpException(error as { type?: string }, this.maxBodyBytes) ?? error;
    });
    // JSON.parse makes "__proto__" an own key, which class-transformer would then assign as a prototype.
    if (typeof request.body === 'object' && request.body !== null && Object.hasOwn(request.body, '__proto__')) {
      throw new BadRequestException({ message: 'Invalid body', details: ['__proto__: property should not exist'] });
    }
    next();
  }
}
