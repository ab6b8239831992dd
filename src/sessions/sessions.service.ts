import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { JobLifecycle, JobRoute } from '../jobs/job-lifecycle';
import type { ExecutionJobData, SessionEndedReason } from '../jobs/job.types';
import { NoWorkerError } from '../workers/no-worker.error';
import { goneOutcome, SessionEndings } from './session-endings';
import { sessionGone, sessionIdle, sessionLimit, sessionNotFound } from './session-errors';
import { SessionRepository } from './session.repository';
import { SessionRecord } from './session.types';

/** What a caller may ask of sessions, from any API process; the interpreters live on workers (SessionHost). */
@Injectable()
export class SessionsService {
  constructor(
    private readonly repository: SessionRepository,
    private readonly endings: SessionEndings,
    private readonly lifecycle: JobLifecycle,
    private readonly config: AppConfig,
  ) {}

  /** A new session on the live worker that holds the fewest; 429 at the key's or every worker's limit. */
  async create(owner: string, input: { ttlSec: number; clientId: string | null }): Promise<SessionRecord> {
    const hosts = (await this.repository.liveHosts()).sort((a, b) => a.sessions - b.sessions);
    if (hosts.length === 0) throw new NoWorkerError(input.clientId);
    const now = Date.now();
    for (const host of hosts) {
      const record: SessionRecord = {
        sessionId: randomUUID(),
        owner,
        clientId: input.clientId,
        worker: host.workerId,
        status: 'idle',
        endedReason: null,
        createdAtMs: now,
        lastUsedAtMs: now,
        endedAtMs: null,
        ttlSec: input.ttlSec,
        maxLifetimeSec: this.config.sessionMaxLifetimeSec,
        executions: 0,
        memoryLimitMb: this.config.memoryLimitMb,
      };
      const created = await this.repository.create(record, {
        perKey: this.config.maxSessionsPerKey,
        perWorker: this.config.sessionsPerWorker,
      });
      if (created === 'created') return record;
      if (created === 'key_limit')
        throw sessionLimit(`MAX_SESSIONS_PER_KEY (${this.config.maxSessionsPerKey}) reached`);
    }
    throw sessionLimit(`every worker holds SESSIONS_PER_WORKER (${this.config.sessionsPerWorker}) sessions`);
  }

  /** The caller's session, ended or not; 404 when unknown or another key's. */
  async get(owner: string, sessionId: string): Promise<SessionRecord> {
    const record = await this.repository.get(sessionId);
    if (!record || record.owner !== owner) throw sessionNotFound();
    return record;
  }

  /** The caller's live session; 404 as get(), 410 when it has ended. */
  async getAlive(owner: string, sessionId: string): Promise<SessionRecord> {
    const record = await this.get(owner, sessionId);
    if (record.endedReason) throw sessionGone(record.endedReason);
    return record;
  }

  async list(owner: string, limit: number): Promise<{ sessions: SessionRecord[]; total: number }> {
    const all = await this.repository.list(owner);
    return { sessions: all.slice(0, limit), total: all.length };
  }

  /** KeyboardInterrupt in the running call; 409 when nothing runs. */
  async interrupt(owner: string, sessionId: string): Promise<SessionRecord> {
    const record = await this.getAlive(owner, sessionId);
    if (record.status !== 'busy') throw sessionIdle();
    await this.repository.send(record.worker, { type: 'interrupt', sessionId });
    return record;
  }

  /** Ends it: its waiting and running calls are answered 410 at once, its worker frees the interpreter. */
  async delete(owner: string, sessionId: string): Promise<SessionRecord> {
    await this.getAlive(owner, sessionId);
    const result = await this.endings.end(sessionId, 'deleted', { tellWorker: true });
    if (!result.ended) throw sessionGone(result.reason);
    return this.get(owner, sessionId);
  }

  /** Where a call of this session goes: its worker's stream; a session that ended meanwhile answers it 410. */
  route(sessionId: string): JobRoute {
    return async (data: ExecutionJobData) => {
      const reason = await this.repository.enqueueCall(sessionId, data.jobId, JSON.stringify(data));
      if (reason !== null) {
        const endedReason = (reason === 'unknown' ? 'expired' : reason) as SessionEndedReason;
        await this.lifecycle.finish(data.jobId, goneOutcome(endedReason));
      }
    };
  }
}
