import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SessionEndings } from './session-endings';
import { SESSION_HOST_BEAT_MS, SessionRepository } from './session.repository';

/**
 * In every process: finds workers that held sessions and stopped beating (SIGKILL, a crash, a lost
 * machine) and ends their sessions (`worker_lost`), answering their waiting and running calls 410.
 * Several processes may do it at once: a session ends once, a call is answered once.
 */
@Injectable()
export class SessionReaper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Sessions');
  private timer?: NodeJS.Timeout;
  private busy = false;

  constructor(
    private readonly repository: SessionRepository,
    private readonly endings: SessionEndings,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.reapLogged(), SESSION_HOST_BEAT_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** One pass; answers how many sessions it ended. */
  async reap(): Promise<number> {
    let ended = 0;
    for (const workerId of await this.repository.deadHosts()) {
      for (const sessionId of await this.repository.sessionsOf(workerId)) {
        if ((await this.endings.end(sessionId, 'worker_lost')).ended) ended += 1;
      }
      await this.repository.forgetHost(workerId);
      this.logger.warn(`worker ${workerId} is gone: ${ended} session(s) ended (worker_lost)`);
    }
    return ended;
  }

  private async reapLogged(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.reap();
    } catch (err) {
      this.logger.warn(`lost-worker check failed: ${(err as Error).message}`);
    } finally {
      this.busy = false;
    }
  }
}
