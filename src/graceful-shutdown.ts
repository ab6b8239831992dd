import { INestApplication, Logger } from '@nestjs/common';
import type { Server } from 'node:http';
import { ExecutionQueue } from './jobs/execution.queue';
import { RunningJobs } from './jobs/running-jobs';

/**
 * SIGTERM: stop accepting connections and taking jobs, let in-flight requests and this process's
 * running jobs finish within `graceMs`, then close Nest (Bull queues, Redis clients, sandboxes).
 * Returns false when the grace period ran out: the caller exits anyway, and the jobs still running
 * here are re-queued by another worker's stalled-job check (their Bull lock is no longer renewed).
 */
export async function drainAndClose(app: INestApplication, graceMs: number, logger: Logger): Promise<boolean> {
  const queue = app.get(ExecutionQueue);
  const running = app.get(RunningJobs);
  const server = app.getHttpServer() as Server;
  const httpClosed = server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
  // Keep-alive sockets that go idle after their response are closed as soon as they do.
  const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)));
  const drained = await Promise.race([Promise.all([httpClosed, queue.stopTakingJobs()]).then(() => true as const), graceOver]);
  clearTimeout(timer);
  clearInterval(idleSweep);
  if (!drained) {
    const left = running.ids();
    logger.warn(
      `grace period (${graceMs} ms) over; exiting with ${left.length} job(s) still running here` +
        (left.length ? ` (${left.join(', ')}): another worker re-runs them after STALLED_CHECK_MS` : ''),
    );
    server.closeAllConnections();
    return false;
  }
  await app.close();
  return true;
}
