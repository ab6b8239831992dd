import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import { AppConfig } from './config/app-config';
import { ExecutionQueue } from './jobs/execution.queue';
import { RunningJobs } from './jobs/running-jobs';
import { RedisConnection } from './redis/redis-connection';

/**
 * SIGTERM/SIGINT (Nest's shutdown hooks, enabled in main.ts): stop accepting connections and taking
 * jobs, and let in-flight requests and this process's running jobs finish within SHUTDOWN_GRACE_MS;
 * Nest then closes everything else (Bull queues, Redis clients, sandboxes) and exits 0. When the grace
 * period runs out the process exits at once, leaving its running jobs to another worker's stalled-job
 * check (their Bull lock is no longer renewed) instead of failing them by closing the sandboxes.
 */
@Injectable()
export class GracefulShutdown implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Shutdown');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly queue: ExecutionQueue,
    private readonly running: RunningJobs,
    private readonly config: AppConfig,
    private readonly connection: RedisConnection,
  ) {}

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    if (!signal) return; // app.close() without a signal (tests): nothing to drain
    const graceMs = this.config.shutdownGraceMs;
    this.logger.log(`${signal}: draining (up to ${graceMs} ms), then shutting down`);
    let drained = false;
    try {
      drained = await this.drain(graceMs);
    } catch (err) {
      this.logger.error(`shutdown: ${(err as Error).message}`);
    }
    if (drained) return;
    await this.connection.stop();
    process.exit(0);
  }

  private async drain(graceMs: number): Promise<boolean> {
    const server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    const httpClosed = server.listening
      ? new Promise<void>((resolve) => server.close(() => resolve()))
      : Promise.resolve();
    // Keep-alive sockets that go idle after their response are closed as soon as they do.
    const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)));
    const work = Promise.all([httpClosed, this.queue.stopTakingJobs()]).then(() => true as const);
    const drained = await Promise.race([work, graceOver]);
    clearTimeout(timer);
    clearInterval(idleSweep);
    if (!drained) {
      const left = this.running.ids();
      this.logger.warn(
        `grace period (${graceMs} ms) over; exiting with ${left.length} job(s) still running here` +
          (left.length ? ` (${left.join(', ')}): another worker re-runs them after STALLED_CHECK_MS` : ''),
      );
      server.closeAllConnections();
    }
    return drained;
  }
}
