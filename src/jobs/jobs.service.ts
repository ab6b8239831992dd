import { InjectQueue } from '@nestjs/bull';
import { HttpException, HttpStatus, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { createHash, randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import type { Envelope } from '../common/envelope';
import { RedisConnection } from '../redis/redis-connection';
import { injectTraceContext } from '../tracing/trace-context';
import { cancelledEnvelope, EndedTimes, lostEnvelope } from './job-envelope';
import { JobEvents } from './job-events';
import { JobStore } from './job-store';
import { ExecutionJobData, isEnded, JobRecord, JobStatus, SubmitInput } from './job.types';

export const EXECUTIONS_QUEUE = 'executions';
const RUN_JOB = 'run';
/** The error Bull gives a job whose worker stopped mid-run more often than `maxStalledCount`. */
const STALLED_TOO_OFTEN = 'job stalled more than allowable limit';

export class QueueFullException extends HttpException {
  constructor(maxQueueLength: number) {
    super({ message: `MAX_QUEUE_LENGTH (${maxQueueLength}) reached` }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

export type CancelResult = { outcome: 'cancelled' | 'ended' | 'missing'; record: JobRecord | null };

/** The only code that touches the `executions` queue: submit, track, list, cancel jobs. */
@Injectable()
export class JobsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('JobsService');
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  readonly store: JobStore;
  readonly events: JobEvents;
  private readonly running = new Map<string, AbortController>();
  private readonly endedListeners: Array<(record: JobRecord) => Promise<void> | void> = [];

  constructor(
    @InjectQueue(EXECUTIONS_QUEUE) private readonly queue: Queue<ExecutionJobData>,
    private readonly config: AppConfig,
    connection: RedisConnection,
  ) {
    this.redis = connection.createClient('jobs');
    this.subscriber = connection.createClient('jobs-events');
    this.store = new JobStore(this.redis, config.redisPrefix, config.jobRetentionSec);
    this.events = new JobEvents(this.redis, this.subscriber, `${config.redisPrefix}:job-events`);
    this.events.onCancel((jobId) => this.running.get(jobId)?.abort());
  }

  async onModuleInit(): Promise<void> {
    await this.events.start();
  }

  async onModuleDestroy(): Promise<void> {
    this.subscriber.disconnect();
    this.redis.disconnect();
  }

  /** Queues a run, or returns the job an earlier request with the same Idempotency-Key created. */
  async submit(input: SubmitInput): Promise<{ record: JobRecord; replayed: boolean }> {
    const jobId = randomUUID();
    if (input.idempotencyKey) {
      const keyHash = createHash('sha256').update(input.idempotencyKey).digest('hex');
      const earlier = await this.store.claimIdempotencyKey(input.owner, keyHash, jobId);
      const record = earlier ? await this.store.get(earlier) : null;
      if (record) return { record, replayed: true };
    }
    if (this.config.maxQueueLength > 0 && (await this.queueLength()) >= this.config.maxQueueLength) {
      throw new QueueFullException(this.config.maxQueueLength);
    }
    const record: JobRecord = {
      jobId,
      endpoint: input.endpoint,
      owner: input.owner,
      clientId: input.clientId,
      status: 'pending',
      cancelRequested: false,
      createdAtMs: Date.now(),
      startedAtMs: null,
      endedAtMs: null,
      runTimeSec: null,
      queueTimeSec: null,
      envelope: null,
      webhook: input.webhookUrl
        ? { url: input.webhookUrl, status: 'pending', attempts: 0, last_status_code: null, last_error: null, delivered_at: null }
        : null,
    };
    // Both on Bull's connection, sent back to back: one round trip, and the record is written first.
    const created = this.store.create(record, this.queue.client);
    const data: ExecutionJobData = {
      jobId,
      owner: input.owner,
      clientId: input.clientId,
      code: input.code,
      stdin: input.stdin,
      timeoutSec: input.timeoutSec,
      endpoint: input.endpoint,
    };
    // A failed Bull job is kept (until the 'failed' handler removes it, or for the retention
    // window): removing it at once would hide which job a stalled-job failure was about.
    const added = this.queue.add(RUN_JOB, injectTraceContext(data, jobId), {
      jobId,
      removeOnComplete: true,
      removeOnFail: { age: this.config.jobRetentionSec },
      attempts: 1,
    });
    await Promise.all([created, added]);
    return { record, replayed: false };
  }

  async queueLength(): Promise<number> {
    return this.queue.getWaitingCount();
  }

  /** Jobs taken by a worker and not yet ended, in the whole cluster. */
  async activeCount(): Promise<number> {
    return this.queue.getActiveCount();
  }

  /** The job if it exists and belongs to `owner`. */
  async get(jobId: string, owner: string): Promise<JobRecord | null> {
    const record = await this.store.get(jobId);
    return record && record.owner === owner ? record : null;
  }

  /** Resolves with the ended record; rejects if `signal` aborts first (the caller went away). */
  async waitForEnd(jobId: string, signal?: AbortSignal): Promise<JobRecord> {
    for (;;) {
      const waiter = this.events.whenEnded(jobId);
      try {
        const record = await this.store.get(jobId);
        if (!record) throw new Error(`job ${jobId} vanished`);
        if (isEnded(record.status)) return record;
        const ended = await new Promise<JobRecord | undefined>((resolve, reject) => {
          if (signal?.aborted) return reject(new Error('aborted'));
          signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
          void waiter.promise.then(resolve);
        });
        if (ended) return ended; // this process ended it: no need to read it back
      } finally {
        waiter.dispose();
      }
    }
  }

  /**
   * Worker side: runs `handler` for each queued job, at most `concurrency` at once in this process.
   * Bull's stalled-job check (every STALLED_CHECK_MS, in every worker) puts a job whose worker died
   * back in the queue once; the second time it fails, and it ends here as `failed` (500).
   */
  registerWorker(concurrency: number, handler: (data: ExecutionJobData, signal: AbortSignal) => Promise<void>): void {
    this.queue.on('stalled', (job: Job<ExecutionJobData>) => {
      this.logger.warn(`job ${job.id}: its worker stopped mid-run; queued to run once more`);
    });
    this.queue.on('failed', (job: Job<ExecutionJobData> | null, err: Error) => {
      if (job && err?.message === STALLED_TOO_OFTEN) void this.endLostJob(job);
    });
    void this.queue.process(RUN_JOB, concurrency, async (job: Job<ExecutionJobData>) => {
      const controller = new AbortController();
      this.running.set(job.data.jobId, controller);
      try {
        await handler(job.data, controller.signal);
      } finally {
        this.running.delete(job.data.jobId);
      }
    });
  }

  /**
   * Worker side: pending → running. Null when the job must not run: it ended meanwhile, or its
   * cancellation was requested (then it ends here as cancelled).
   */
  async markRunning(jobId: string): Promise<{ startedAtMs: number; record: JobRecord } | null> {
    const startedAtMs = Date.now();
    const start = await this.store.markRunning(jobId, startedAtMs);
    if (start.result === 'started') return { startedAtMs, record: start.record };
    if (start.result === 'cancel_requested') {
      const record = await this.store.get(jobId);
      if (record) await this.finish(record, 'cancelled', cancelledEnvelope(record, this.endedTimes(record), this.config.buildNumber), 0, 0);
    }
    return null;
  }

  /** SIGTERM: take no new jobs here; resolves when this process's running jobs have ended. */
  async stopTakingJobs(): Promise<void> {
    if (this.config.role === 'api') return;
    await this.queue.pause(true, false);
  }

  /** Jobs this process is running now. */
  runningJobIds(): string[] {
    return [...this.running.keys()];
  }

  private async endLostJob(job: Job<ExecutionJobData>): Promise<void> {
    try {
      const record = await this.store.get(String(job.id));
      await job.remove().catch(() => undefined);
      if (!record || isEnded(record.status)) return;
      const times = this.endedTimes(record);
      if (record.cancelRequested) {
        await this.finish(record, 'cancelled', cancelledEnvelope(record, times, this.config.buildNumber), times.runTimeSec, times.queueTimeSec);
        return;
      }
      this.logger.error(`job ${record.jobId}: its worker stopped mid-run twice; failing it`);
      await this.finish(record, 'failed', lostEnvelope(record, times, this.config.buildNumber), times.runTimeSec, times.queueTimeSec);
    } catch (err) {
      this.logger.error(`job ${job.id}: could not record the lost job: ${(err as Error).message}`);
    }
  }

  private endedTimes(record: JobRecord): EndedTimes {
    const now = Date.now();
    const startedAtMs = record.startedAtMs ?? now;
    return {
      queueTimeSec: (startedAtMs - record.createdAtMs) / 1000,
      runTimeSec: (now - startedAtMs) / 1000,
    };
  }

  /**
   * Stores the final envelope once and tells every waiter in the cluster (the script publishes
   * "ended"; local waiters get the record directly). `envelope.queue_length` is counted by the
   * script, when the envelope is written.
   */
  async finish(record: JobRecord, status: JobStatus, envelope: Envelope, runTimeSec: number, queueTimeSec: number): Promise<boolean> {
    const endedAtMs = Date.now();
    const queueLength = await this.store.finish(record.jobId, status, endedAtMs, runTimeSec, queueTimeSec, envelope, {
      waitingListKeys: [this.queue.toKey('wait'), this.queue.toKey('paused')],
      channel: this.events.channel,
      endedMessage: JobEvents.message('ended', record.jobId),
    });
    if (queueLength === null) return false;
    const ended: JobRecord = {
      ...record, status, endedAtMs, runTimeSec, queueTimeSec, envelope: { ...envelope, queue_length: queueLength },
    };
    this.events.wakeEnded(record.jobId, ended);
    await this.notifyEnded(ended);
    return true;
  }

  /**
   * Called once per job, in the process whose finish() wrote its final state (worker, or the
   * API process that cancelled a pending job). The webhooks module queues deliveries here.
   */
  onJobEnded(listener: (record: JobRecord) => Promise<void> | void): void {
    this.endedListeners.push(listener);
  }

  private async notifyEnded(ended: JobRecord): Promise<void> {
    for (const listener of this.endedListeners) {
      try {
        await listener(ended);
      } catch (err) {
        this.logger.error(`job ${ended.jobId}: ended listener failed: ${(err as Error).message}`);
      }
    }
  }

  /** A page of the owner's jobs, newest first; the cursor is "<created ms>.<job id>" of the last one. */
  async list(owner: string, status: JobStatus | null, limit: number, cursor: string | null): Promise<{ records: JobRecord[]; nextCursor: string | null }> {
    let after = cursor ? { ms: Number(cursor.slice(0, 13)), id: cursor.slice(14) } : null;
    const records: JobRecord[] = [];
    for (;;) {
      const batch = await this.store.listIds(owner, 100, after);
      if (batch.length === 0) return { records, nextCursor: null };
      const found = await this.store.getMany(batch.map((e) => e.id));
      await this.store.forget(owner, batch.filter((_, i) => !found[i]).map((e) => e.id));
      for (const record of found) {
        if (!record || (status && record.status !== status)) continue;
        if (records.length === limit) {
          const last = records[records.length - 1];
          return { records, nextCursor: `${String(last.createdAtMs).padStart(13, '0')}.${last.jobId}` };
        }
        records.push(record);
      }
      const tail = batch[batch.length - 1];
      after = { ms: tail.ms, id: tail.id };
    }
  }

  /** Pending: removed from the queue. Running: the worker that runs it (any process) kills it. */
  async cancel(jobId: string, owner: string): Promise<CancelResult> {
    const record = await this.get(jobId, owner);
    if (!record) return { outcome: 'missing', record: null };
    if (isEnded(record.status)) return { outcome: 'ended', record };
    const waiter = this.events.whenEnded(jobId);
    try {
      // Recorded first: a worker that picks the job up from now on (or re-runs it after a
      // stalled worker) refuses it, so the cancel holds even if no worker hears the message.
      if (!(await this.store.requestCancel(jobId))) return { outcome: 'ended', record: await this.store.get(jobId) };
      if (record.status === 'pending') {
        const job = await this.queue.getJob(jobId);
        await job?.remove().catch(() => undefined); // already taken by a worker: the cancel message below reaches it
        const times = this.endedTimes(record);
        await this.finish(record, 'cancelled', cancelledEnvelope(record, times, this.config.buildNumber), 0, times.queueTimeSec);
      }
      await this.events.publish('cancel', jobId);
      await Promise.race([waiter.promise, delay(2000)]);
    } finally {
      waiter.dispose();
    }
    return { outcome: 'cancelled', record: await this.store.get(jobId) };
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
