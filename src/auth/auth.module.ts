import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyMiddleware } from './api-key.middleware';
import { ApiKeyStore } from './api-key.store';

/** Registers ApiKeyGuard globally; exports ApiKeyMiddleware, which the app applies ahead of the body parser. */
@Module({
  providers: [ApiKeyStore, ApiKeyMiddleware, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [ApiKeyStore, ApiKeyMiddleware],
})
export class AuthModule {}
