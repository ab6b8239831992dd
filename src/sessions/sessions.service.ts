import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { JobLifecycle, JobRoute } from '../jobs/job-lifecycle';
import type { ExecutionJobData } from '../jobs/job.types';
import { NoWorkerError } from '../workers/no-worker.error';
import { SessionEndings } from './session-endings';
import { sessionGone, sessionIdle, sessionLimit, sessionNotFound } from './session-errors';
import { LocalSessionHost } from './session-local';
import { HostMessage, SessionRepository } from './session.repository';
import { SessionRecord } from './session.types';

/** What a caller may ask of sessions, from any API process; the interpreters live on workers (SessionHost). */
@Injectable()
export class SessionsService {
  constructor(
    private readonly repository: SessionRepository,
    private readonly endings: SessionEndings,
    private readonly config: AppConfig,
    private readonly here: LocalSessionHost,
    private readonly lifecycle: JobLifecycle,
  ) {}

  /** A new session on the live worker that holds the fewest; 429 at the key's or every worker's limit. */
  async create(owner: string, input: { ttlSec: number; clientId: string | null }): Promise<SessionRecord> {
    const now = Date.now();
    const record: Omit<SessionRecord, 'worker'> = {
      sessionId: randomUUID(),
      owner,
      clientId: input.clientId,
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
    const { result, worker, here } = await this.repository.create(
      record,
      { perKey: this.config.maxSessionsPerKey, perWorker: this.config.sessionsPerWorker },
      this.here.workerId,
    );
    switch (result) {
      case 'created':
        if (here) {
          const { sessionId, createdAtMs, ttlSec, maxLifetimeSec } = record;
          if (!this.here.deliver({ type: 'create', sessionId, createdAtMs, ttlSec, maxLifetimeSec })) {
            // This process' worker is stopping: nobody would hold the session. Ended, and refused like no worker.
            await this.endings.end(sessionId, 'worker_lost');
            throw new NoWorkerError(input.clientId);
          }
        }
        return { ...record, worker: worker! };
      case 'no_worker':
        throw new NoWorkerError(input.clientId);
      case 'key_limit':
        throw sessionLimit(`MAX_SESSIONS_PER_KEY (${this.config.maxSessionsPerKey}) reached`);
      case 'worker_full':
        throw sessionLimit(`every worker holds SESSIONS_PER_WORKER (${this.config.sessionsPerWorker}) sessions`);
    }
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
    const message: HostMessage = { type: 'interrupt', sessionId };
    if (record.worker !== this.here.workerId || !this.here.deliver(message)) {
      await this.repository.send(record.worker, message);
    }
    return record;
  }

  /** Ends it: its waiting and running calls are answered 410 at once, its worker frees the interpreter. */
  async delete(owner: string, sessionId: string): Promise<SessionRecord> {
    await this.getAlive(owner, sessionId);
    const result = await this.endings.end(sessionId, 'deleted', { tellWorker: true });
    if (!result.ended) throw sessionGone(result.reason);
    return this.get(owner, sessionId);
  }

  /**
   * Where a call of this session goes: its worker's stream, or straight to the worker in this process
   * (started at once when it is the session's only call). Checked in the same step: an unknown or
   * another key's session is 404, an ended one 410 (the job record is then removed again: no job).
   */
  route(sessionId: string): JobRoute {
    return async (data: ExecutionJobData, via: Redis) => {
      const job = { jobId: data.jobId, data: JSON.stringify(data) };
      const here = {
        worker: this.here.workerId,
        start: { jobKeys: this.lifecycle.startKeys(data.jobId), atMs: Date.now() },
      };
      const routed = await this.repository.enqueueCall(sessionId, data.owner, job, { via, here });
      if ('refused' in routed) throw routed.refused === 'unknown' ? sessionNotFound() : sessionGone(routed.refused);
      // Not taken only when this process' worker is stopping: it ends its sessions, which answers this
      // call (open since the script) 410 with the rest.
      if (routed.routed === 'here')
        this.here.deliver({ type: 'call', sessionId, data: job.data, started: routed.started });
    };
  }
}
