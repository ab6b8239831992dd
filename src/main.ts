// First: tracing must patch http, express and ioredis before anything requires them.
import { stopTracing } from './tracing';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.setup';
import { drainAndClose } from './graceful-shutdown';
import { AppConfig, loadConfig } from './config/app-config';
import { RedisConnection } from './redis/redis-connection';

async function bootstrap(): Promise<void> {
  let config: AppConfig;
  let connection: RedisConnection;
  try {
    config = loadConfig(process.env);
    connection = await RedisConnection.start(config);
  } catch (err) {
    console.error(`Cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
  const logger = new Logger('Bootstrap');
  let app;
  try {
    app = await createApp(config, connection);
  } catch (err) {
    console.error(`Cannot start: ${(err as Error).message}`);
    await connection.stop();
    process.exit(1);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: draining (up to ${config.shutdownGraceMs} ms), then shutting down`);
    try {
      await drainAndClose(app, config.shutdownGraceMs, logger);
    } catch (err) {
      logger.error(`shutdown: ${(err as Error).message}`);
    }
    await connection.stop();
    await stopTracing();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  if (config.role === 'worker') {
    await app.init();
    logger.log(`worker started (pid ${process.pid}, concurrency ${config.workerConcurrency})`);
  } else {
    await app.listen(config.port);
    logger.log(`listening on http://localhost:${config.port} (role ${config.role}); Swagger UI at /docs`);
  }
  if (config.generatedApiKey) {
    // Printed once, like a notebook token: the first run needs no setup.
    console.log(`\n  No API_KEYS configured; generated a key for this run:\n\n    ${config.generatedApiKey}\n`);
  }
}

void bootstrap();
