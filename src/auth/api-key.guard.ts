import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ErrorCode } from '../common/error-code';
import { UNAUTHORIZED } from '../common/messages';
import type { ServiceRequest } from '../common/service-request';
import { IS_PUBLIC_KEY } from './auth.decorators';

/** Global guard: every route needs a valid API key (recognised by ApiKeyMiddleware) unless marked @Public(). */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<ServiceRequest>();
    if (!request.apiKeyId)
      throw new UnauthorizedException({ message: UNAUTHORIZED, error_code: ErrorCode.UNAUTHORIZED });
    return true;
  }
}
