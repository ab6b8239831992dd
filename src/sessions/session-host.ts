import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { outcomeOfRun, runRequestOf } from '../execution/execution.service';
import type { ForkServer } from '../execution/runner/fork-server';
import { SessionSandbox } from '../execution/runner/runner.factory';
import { JobEventLog } from '../jobs/job-event-log';
import { JobLifecycle } from '../jobs/job-lifecycle';
import type { ExecutionJobData, SessionEndedReason } from '../jobs/job.types';
import { RunningJobs } from '../jobs/running-jobs';
import { RedisConnection } from '../redis/redis-connection';
import { WorkerHeartbeat } from '../workers/worker-heartbeat';
import { goneOutcome, SessionEndings } from './session-endings';
import { LocalHost, LocalSessionHost } from './session-local';
import { HostMessage, parseHostMessage, SESSION_HOST_BEAT_MS, SessionRepository } from './session.repository';

const GROUP = 'host';
const READ_BLOCK_MS = 1000;
const EXPIRY_CHECK_MS = 1000;
const RETRY_AFTER_ERROR_MS = 500;

/** A call waiting in its session; `started`: its job was started when it was routed (run at once). */
interface QueuedCall {
  data: ExecutionJobData;
  started: boolean;
}

/** One session held here: its interpreter's server and its calls, run one at a time in arrival order. */
interface LocalSession {
  id: string;
  server?: ForkServer;
  queue: QueuedCall[];
  running: boolean;
  ended: boolean;
  createdAtMs: number;
  lastUsedAtMs: number;
  ttlSec: number;
  maxLifetimeSec: number;
}

/**
 * The worker side of sessions: reads this worker's stream (created sessions, their calls, interrupts,
 * endings), runs each session's interpreter in its own server (a warm spare makes creation cheap), ends
 * sessions that expire, outlive their lifetime, time out, run out of memory or crash, and keeps the
 * liveness key by which any process finds this worker's sessions lost when it dies.
 */
@Injectable()
export class SessionHost implements OnApplicationBootstrap, OnModuleDestroy, LocalHost {
  private readonly logger = new Logger('SessionHost');
  private readonly sessions = new Map<string, LocalSession>();
  private spare?: Promise<ForkServer>;
  private reader?: Redis;
  private stopped = false;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly config: AppConfig,
    private readonly repository: SessionRepository,
    private readonly endings: SessionEndings,
    private readonly lifecycle: JobLifecycle,
    private readonly eventLog: JobEventLog,
    private readonly running: RunningJobs,
    private readonly heartbeat: WorkerHeartbeat,
    private readonly connection: RedisConnection,
    private readonly sandbox: SessionSandbox,
    private readonly here: LocalSessionHost,
  ) {}

  get workerId(): string {
    return this.heartbeat.id;
  }

  /** Sessions held here now. */
  get size(): number {
    return this.sessions.size;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.reader = this.connection.createWaitingClient('session-host');
    await this.createGroup();
    await this.beat();
    this.timers.push(setInterval(() => void this.beat(), SESSION_HOST_BEAT_MS).unref());
    this.timers.push(setInterval(() => void this.endExpired(), EXPIRY_CHECK_MS).unref());
    // No spare until the first session: a worker that holds none runs no extra sandbox.
    void this.readLoop();
    this.here.attach(this); // sessions created in this process' API come straight here
  }

  /** A message from this process' API (LocalSessionHost), handled as one read from the stream. */
  deliver(message: HostMessage): boolean {
    if (this.stopped) return false;
    this.handle(message);
    return true;
  }

  /** Held here with its interpreter ready and no call running or waiting. */
  private isIdle(sessionId: string): boolean {
    const local = this.sessions.get(sessionId);
    return !!local && !local.ended && !local.running && local.queue.length === 0 && !!local.server?.alive;
  }

  /** A stopping worker ends its sessions (worker_lost: their calls get 410 now) and leaves. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.here.detach(this);
    this.timers.forEach(clearInterval);
    await Promise.all([...this.sessions.values()].map((local) => this.endLocal(local, 'worker_lost')));
    void this.spare?.then((server) => server.kill()).catch(() => undefined);
    await this.repository.forgetHost(this.workerId).catch(() => undefined);
    this.reader?.disconnect();
  }

  private async beat(): Promise<void> {
    try {
      await this.repository.hostBeat(this.workerId);
    } catch (err) {
      this.logger.warn(`session host beat not written: ${(err as Error).message}`);
    }
  }

  private async createGroup(): Promise<void> {
    try {
      await this.reader!.xgroup('CREATE', this.repository.streamKey(this.workerId), GROUP, '$', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  private async readLoop(): Promise<void> {
    const key = this.repository.streamKey(this.workerId);
    while (!this.stopped) {
      try {
        const reply = (await this.reader!.xreadgroup(
          'GROUP',
          GROUP,
          GROUP,
          'COUNT',
          100,
          'BLOCK',
          READ_BLOCK_MS,
          'STREAMS',
          key,
          '>',
        )) as Array<[string, Array<[string, string[]]>]> | null;
        const entries = reply?.[0]?.[1] ?? [];
        for (const [, fields] of entries) {
          const message = parseHostMessage(fields);
          if (message) this.handle(message);
        }
        if (entries.length) {
          const ids = entries.map(([id]) => id);
          await this.reader!.multi()
            .xack(key, GROUP, ...ids)
            .xdel(key, ...ids)
            .exec();
        }
      } catch (err) {
        if (this.stopped) return;
        if (String((err as Error).message).includes('NOGROUP')) {
          // Found dead (no beat for SESSION_HOST_TTL_MS): its sessions were ended elsewhere; start afresh.
          this.logger.warn('this worker was taken for lost: its sessions have ended');
          for (const local of this.sessions.values()) this.dropLocal(local);
          await this.createGroup().catch(() => undefined);
        } else {
          this.logger.warn(`session stream read failed: ${(err as Error).message}`);
          await delay(RETRY_AFTER_ERROR_MS);
        }
      }
    }
  }

  private handle(message: HostMessage): void {
    const local = this.sessions.get(message.sessionId);
    switch (message.type) {
      case 'create':
        void this.open(message);
        return;
      case 'call': {
        const data = JSON.parse(message.data) as ExecutionJobData;
        if (!local || local.ended) {
          void this.answerGone(message.sessionId, data.jobId).catch((err: Error) =>
            this.logger.warn({ job_id: data.jobId }, `a call of an ended session not answered: ${err.message}`),
          );
          return;
        }
        // A call started when it was routed runs now. Were the session not ready for it (its server not
        // handed over yet, or the previous call still finishing), it waits and is started again (as a
        // re-run) when its turn comes, so a cancel meanwhile still stops it.
        local.queue.push({ data, started: !!message.started && this.isIdle(local.id) });
        this.pump(local);
        return;
      }
      case 'interrupt':
        local?.server?.interrupt();
        return;
      case 'end':
        if (local) this.dropLocal(local);
    }
  }

  /** A new session: held here from now on (its calls queue up while its server is handed over). */
  private async open(message: Extract<HostMessage, { type: 'create' }>): Promise<void> {
    const sessionId = message.sessionId;
    const local: LocalSession = {
      id: sessionId,
      queue: [],
      running: false,
      ended: false,
      createdAtMs: message.createdAtMs,
      lastUsedAtMs: message.createdAtMs,
      ttlSec: message.ttlSec,
      maxLifetimeSec: message.maxLifetimeSec,
    };
    this.sessions.set(sessionId, local);
    let server: ForkServer;
    try {
      server = await this.takeServer();
    } catch (err) {
      this.logger.error(`session ${sessionId}: its interpreter did not start: ${(err as Error).message}`);
      await this.endLocal(local, 'crashed');
      return;
    }
    if (local.ended) {
      server.kill();
      return;
    }
    local.server = server;
    server.once('exit', () => {
      // Between calls: its memory bound (a thread an earlier call left running), or a crash.
      if (!local.ended && !local.running) void this.endLocal(local, server.endedByMemory() ? 'memory' : 'crashed');
    });
    this.pump(local);
  }

  /** The warm spare (started ahead; from the first session on), replaced at once by the next one. */
  private takeServer(): Promise<ForkServer> {
    const spare = this.spare ?? this.sandbox.start();
    this.spare = undefined;
    this.refillSpare();
    return spare.then((server) => (server.alive ? server : this.sandbox.start()));
  }

  private refillSpare(): void {
    if (this.stopped || this.spare) return;
    const spare = this.sandbox.start();
    spare.catch((err: Error) => {
      this.logger.warn(`spare session server did not start: ${err.message}`);
      if (this.spare === spare) this.spare = undefined;
    });
    this.spare = spare;
  }

  private pump(local: LocalSession): void {
    if (local.running || local.ended || !local.server) return;
    const next = local.queue.shift();
    if (!next) return;
    local.running = true;
    void this.runCall(local, next)
      .catch((err: Error) => this.logger.error({ job_id: next.data.jobId }, `session call failed: ${err.message}`))
      .finally(() => {
        local.running = false;
        const server = local.server;
        if (server && !server.alive && !local.ended)
          void this.endLocal(local, server.endedByMemory() ? 'memory' : 'crashed');
        this.pump(local);
      });
  }

  private async runCall(local: LocalSession, { data, started }: QueuedCall): Promise<void> {
    const startedAtMs = Date.now();
    // Nothing is awaited before a started call is registered as running (RunningJobs): a cancel that
    // follows its start cannot come between.
    if (!started && !(await this.lifecycle.start(data.jobId, startedAtMs))) {
      await this.repository.callDropped(local.id, data.jobId); // cancelled while it waited
      return;
    }
    local.lastUsedAtMs = startedAtMs;
    const timeoutSec = Math.min(data.timeoutSec, this.config.maxTimeoutSec);
    const events = this.eventLog.recorder(data.jobId);
    events.add('status', 'running');
    const server = local.server!;
    const run = await this.running.run(data.jobId, (signal) =>
      server.run(runRequestOf(data, timeoutSec, events), signal),
    );
    await events.flush();
    local.lastUsedAtMs = Date.now();
    if (local.ended) return; // ended meanwhile (deleted, lifetime, worker leaving): answered 410 by its ending
    const ended = run.sessionEnded ?? (run.status === 'crashed' || !server.alive ? 'crashed' : null);
    // An ending this call caused is recorded before the call is answered: its caller then finds the
    // session ended (answering first let a GET right after the answer still see it idle).
    if (ended) await this.endLocal(local, ended, data.jobId);
    // The call leaves its session's open calls in the same round trip as its ending, sent just before
    // it: a read right after the answer finds the session idle with the call counted.
    await Promise.all([
      this.repository.callEnded(local.id, data.jobId, local.lastUsedAtMs),
      this.lifecycle.finish(data.jobId, outcomeOfRun(run, timeoutSec), { queueLength: local.queue.length }),
    ]);
  }

  /** A call for a session not held here (it ended): 410, and no longer one of its open calls. */
  private async answerGone(sessionId: string, jobId: string): Promise<void> {
    const record = await this.repository.get(sessionId);
    await this.lifecycle.finish(jobId, goneOutcome(record?.endedReason ?? 'crashed'));
    await this.repository.callDropped(sessionId, jobId);
  }

  private async endExpired(): Promise<void> {
    const now = Date.now();
    for (const local of this.sessions.values()) {
      if (local.ended) continue;
      if (now >= local.createdAtMs + local.maxLifetimeSec * 1000) await this.endLocal(local, 'lifetime');
      else if (!local.running && local.queue.length === 0 && now >= local.lastUsedAtMs + local.ttlSec * 1000)
        await this.endLocal(local, 'expired');
    }
  }

  /** Ends a session held here: its interpreter goes, its open calls (but `causedBy`) are answered 410. */
  private async endLocal(local: LocalSession, reason: SessionEndedReason, causedBy?: string): Promise<void> {
    if (local.ended) return;
    this.dropLocal(local);
    try {
      await this.endings.end(local.id, reason, { causedBy });
    } catch (err) {
      this.logger.error(`session ${local.id}: ending not recorded: ${(err as Error).message}`);
    }
  }

  /** Stops the interpreter of a session that has ended (here or elsewhere). */
  private dropLocal(local: LocalSession): void {
    local.ended = true;
    local.queue.length = 0;
    this.sessions.delete(local.id);
    local.server?.kill();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
