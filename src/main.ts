// First: tracing must patch http, express and ioredis before anything requires them.
import './tracing';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.setup';
import { AppConfig, loadConfig } from './config/app-config';
import { RedisConnection } from './redis/redis-connection';
import { checkSandboxPrerequisites } from './execution/runner/sandbox-prerequisites';

async function bootstrap(): Promise<void> {
  let config: AppConfig;
  let connection: RedisConnection;
  try {
    // A bad variable is one line below, naming it.
    config = loadConfig(process.env);
    if (config.role !== 'api') checkSandboxPrerequisites(config);
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
  // SIGTERM/SIGINT: GracefulShutdown drains (beforeApplicationShutdown), Nest closes the rest, the process exits 0.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  // Unset HOST: every interface, as listen() without a host.
  const listen = (port: number) => (config.host ? app.listen(port, config.host) : app.listen(port));
  if (config.role === 'worker') {
    // A worker serves no API, only what an orchestrator probes: /health/live, /health/ready, /metrics.
    await listen(config.healthPort);
    logger.log(
      `worker started (pid ${process.pid}, concurrency ${config.workerConcurrency}); ` +
        `health and metrics on port ${config.healthPort}`,
    );
  } else {
    await listen(config.port);
    logger.log(`listening on http://localhost:${config.port} (role ${config.role}); Swagger UI at /docs`);
  }
  if (config.generatedApiKey) {
    // Printed once, like a notebook token: the first run needs no setup.
    console.log(`\n  No API_KEYS configured; generated a key for this run:\n\n    ${config.generatedApiKey}\n`);
  }
}

void bootstrap();
