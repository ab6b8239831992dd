import type { ServerResponse } from 'node:http';
import { Injectable, NestMiddleware } from '@nestjs/common';
import type { ServiceRequest } from '../common/service-request';
import { ApiKeyStore } from './api-key.store';
import { extractPresentedKey } from './presented-key';

/**
 * The one place a request's API key is identified, before its body is parsed: JsonBodyMiddleware
 * reads bodies only of recognised callers, and ApiKeyGuard answers 401 to the others.
 */
@Injectable()
export class ApiKeyMiddleware implements NestMiddleware {
  constructor(private readonly store: ApiKeyStore) {}

  use(request: ServiceRequest, _response: ServerResponse, next: () => void): void {
    request.apiKeyId ??= this.store.identify(extractPresentedKey(request.headers)) ?? undefined;
    next();
  }
}
