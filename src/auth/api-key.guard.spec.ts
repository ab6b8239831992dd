import { ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingHttpHeaders } from 'node:http';
import type { ServiceRequest } from '../common/service-request';
import { AppConfig } from '../config/app-config';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyMiddleware } from './api-key.middleware';
import { ApiKeyStore } from './api-key.store';
import { Public } from './auth.decorators';
import { extractPresentedKey } from './presented-key';

class OpenController {
  @Public()
  health(): void {}
  secret(): void {}
}

@Public()
class PublicController {
  anything(): void {}
}

const store = new ApiKeyStore({ apiKeys: ['good-key'] } as unknown as AppConfig);
const keys = new ApiKeyMiddleware(store);

/** A request as the guard sees it: ApiKeyMiddleware has run on it, as in the app. */
function contextFor(
  headers: IncomingHttpHeaders,
  handler: () => void = OpenController.prototype.secret,
  cls: object = OpenController,
) {
  const request = { headers } as ServiceRequest;
  keys.use(request, {} as never, () => undefined);
  const context = {
    getHandler: () => handler,
    getClass: () => cls,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
  return { context, request };
}

describe('ApiKeyMiddleware + ApiKeyGuard', () => {
  const guard = new ApiKeyGuard(new Reflector());
  const goodKeyId = store.identify('good-key');

  it('lets a @Public() route through without a key', () => {
    expect(guard.canActivate(contextFor({}, OpenController.prototype.health).context)).toBe(true);
  });

  it('lets every route of a @Public() controller through', () => {
    expect(guard.canActivate(contextFor({}, PublicController.prototype.anything, PublicController).context)).toBe(true);
  });

  it.each<[string, IncomingHttpHeaders]>([
    ['a missing key', {}],
    ['a wrong x-api-key', { 'x-api-key': 'bad-key' }],
    ['a wrong Bearer key', { authorization: 'Bearer bad-key' }],
    ['a Basic credential', { authorization: 'Basic Z29vZC1rZXk6' }],
    ['an empty Bearer', { authorization: 'Bearer ' }],
  ])('answers 401 Unauthorized for %s', (_label, headers) => {
    const { context, request } = contextFor(headers);
    expect(() => guard.canActivate(context)).toThrow(new UnauthorizedException('Unauthorized'));
    expect(request.apiKeyId).toBeUndefined();
  });

  it.each<[string, IncomingHttpHeaders]>([
    ['x-api-key', { 'x-api-key': 'good-key' }],
    ['Bearer', { authorization: 'Bearer good-key' }],
    ["lowercase 'bearer'", { authorization: 'bearer good-key' }],
  ])('accepts the key in %s and records the key id', (_label, headers) => {
    const { context, request } = contextFor(headers);
    expect(guard.canActivate(context)).toBe(true);
    expect(request.apiKeyId).toBe(goodKeyId);
  });

  it('does not identify the key again: it trusts the key id the middleware recorded', () => {
    const { context, request } = contextFor({ 'x-api-key': 'bad-key' });
    request.apiKeyId = 'already-checked';
    expect(guard.canActivate(context)).toBe(true);
  });
});

describe('extractPresentedKey', () => {
  it.each<[IncomingHttpHeaders, string | null]>([
    [{}, null],
    [{ 'x-api-key': '  k1  ' }, 'k1'],
    [{ 'x-api-key': ['k1', 'k2'] }, 'k1'],
    [{ 'x-api-key': '', authorization: 'Bearer k2' }, 'k2'],
    [{ 'x-api-key': 'k1', authorization: 'Bearer k2' }, 'k1'],
    [{ authorization: 'BEARER   k3 ' }, 'k3'],
    [{ authorization: 'Bearer a b' }, null],
    [{ authorization: 'Bearerk4' }, null],
    [{ authorization: 'Token k5' }, null],
  ])('%j -> %p', (headers, expected) => {
    expect(extractPresentedKey(headers)).toBe(expected);
  });
});
