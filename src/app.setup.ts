import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { AppLogger, createPino, loggerParams } from './common/app-logger';
import { createValidationPipe } from './common/validation.pipe';
import { setupSwagger } from './common/swagger';
import { AppConfig } from './config/app-config';
import { RedisConnection } from './redis/redis-connection';

/** The one place the app is assembled: main.ts and the e2e tests both use it. */
export async function createApp(config: AppConfig, connection: RedisConnection): Promise<INestApplication> {
  const logger = createPino(config);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, connection, logger), {
    bodyParser: false, // JsonBodyMiddleware parses bodies only after the API key is recognised
    logger: new AppLogger(loggerParams(logger)),
    abortOnError: false, // a boot error reaches the caller (main.ts: one line, exit 1)
  });
  app.disable('x-powered-by');
  // No ETag: bodies change while a job runs, no documented client revalidates, and Express would
  // hash every response body for it.
  app.set('etag', false);
  app.useGlobalPipes(createValidationPipe());
  setupSwagger(app);
  return app;
}
