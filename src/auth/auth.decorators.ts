import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
import type { ServiceRequest } from '../common/service-request';

export const IS_PUBLIC_KEY = 'auth:isPublic';
/** @nestjs/swagger's key for security requirements (not exported: its package `exports` hide dist/constants). */
const API_SECURITY_KEY = 'swagger/apiSecurity';

/** Lets a route (or every route of a controller) through without an API key; OpenAPI says so with `security: []`. */
export const Public = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(IS_PUBLIC_KEY, true), SetMetadata(API_SECURITY_KEY, []));

/** Documents the API-key requirement (either header) in OpenAPI; the global ApiKeyGuard enforces it. */
export const ApiKeyAuth = (): MethodDecorator & ClassDecorator =>
  applyDecorators(ApiSecurity('api-key'), ApiBearerAuth('bearer'));

/** The key id of the caller (see ApiKeyStore.identify); jobs are owned by it. */
export const CallerKeyId = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const { apiKeyId } = context.switchToHttp().getRequest<ServiceRequest>();
  if (!apiKeyId) {
    // Only reachable on a @Public() route: a programming error, not a client one.
    throw new Error('@CallerKeyId() used on a route that does not require an API key');
  }
  return apiKeyId;
});
