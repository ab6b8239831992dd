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
  const logging = loggerParams(createPino(config));
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, connection, logging), {
    bodyParser: false, // JsonBodyMiddleware parses bodies only after the API key is recognised
    logger: new AppLogger(logging),
    abortOnError: false, // a boot error reaches the caller (main.ts: one line, exit 1)
  });
  app.disable('x-powered-by');
  app.useGlobalPipes(createValidationPipe());
  if (config.role !== 'worker') setupSwagger(app); // a worker serves no API to document
  return app;
}
