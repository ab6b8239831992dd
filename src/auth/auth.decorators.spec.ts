import { Controller, ExecutionContext, Get } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import type { ServiceRequest } from '../common/service-request';
import { ApiKeyAuth, CallerKeyId, IS_PUBLIC_KEY, Public } from './auth.decorators';

// @nestjs/swagger does not export its metadata keys.
const apiSecurityMetadataKey = 'swagger/apiSecurity';

@ApiKeyAuth()
@Controller('things')
class ThingsController {
  @Get()
  list(@CallerKeyId() _keyId: string): void {}
}

@Public()
@Controller('open')
class OpenController {
  @Get()
  probe(): void {}
}

function callerKeyIdFactory(): (data: unknown, context: ExecutionContext) => string {
  const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, ThingsController, 'list') as Record<string, { factory: never }>;
  return Object.values(args)[0].factory;
}

const contextWith = (request: Partial<ServiceRequest>) =>
  ({ switchToHttp: () => ({ getRequest: () => request }) }) as unknown as ExecutionContext;

describe('auth decorators', () => {
  it('ApiKeyAuth documents both security schemes as alternatives', () => {
    expect(Reflect.getMetadata(apiSecurityMetadataKey, ThingsController)).toEqual([{ 'api-key': [] }, { bearer: [] }]);
  });

  it('Public lets the route through and documents an empty security requirement (security: [])', () => {
    expect(Reflect.getMetadata(IS_PUBLIC_KEY, OpenController)).toBe(true);
    expect(Reflect.getMetadata(apiSecurityMetadataKey, OpenController)).toEqual([]);
  });

  it('CallerKeyId returns the key id the guard recorded', () => {
    expect(callerKeyIdFactory()(undefined, contextWith({ apiKeyId: 'abcd' }))).toBe('abcd');
  });

  it('CallerKeyId refuses to run where no key was required', () => {
    expect(() => callerKeyIdFactory()(undefined, contextWith({}))).toThrow(/@CallerKeyId\(\)/);
  });
});
