import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ServiceRequest } from '../common/service-request';
import { ApiKeyStore } from './api-key.store';
import { IS_PUBLIC_KEY } from './auth.decorators';
import { extractPresentedKey } from './presented-key';

/** Global guard: every route needs a valid API key unless marked @Public(). */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly store: ApiKeyStore,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<ServiceRequest>();
    // JsonBodyMiddleware has usually identified the key already; hashing it again would be wasted work.
    request.apiKeyId ??= this.store.identify(extractPresentedKey(request.headers)) ?? undefined;
    if (!request.apiKeyId) throw new UnauthorizedException('Unauthorized');
    return true;
  }
}
