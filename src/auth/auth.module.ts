import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyStore } from './api-key.store';

/** Registers ApiKeyGuard globally; exports ApiKeyStore for the body parser. */
@Module({
  providers: [ApiKeyStore, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [ApiKeyStore],
})
export class AuthModule {}
