import { Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { ApiException, ErrorCode } from '../common/error-code';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { queueFullMessage } from '../common/messages';
import { ExecutionQueue } from './execution.queue';
import { claimFor, IdempotencyKeyReusedException, IdempotencyRequest, parseClaim } from './idempotency';
import { EndWatch, JobEvents } from './job-events';
import { cancelledOutcome, lostOutcome } from './job-outcomes';
import { JobRepository } from './job.repository';
import { ExecutionJobData, isEnded, JobOutcome, JobRecord, statusOf, SubmitInput } from './job.types';

/** How long a submit waits for a replica to confirm its writes (Sentinel only; WAIT 1 <ms>). */
export const SENTINEL_REPLICA_WAIT_MS = 500;

/** How long a caller refused for a full queue is told to wait: about the time the shortest jobs take to drain. */
export const QUEUE_FULL_RETRY_AFTER_SEC = 1;

export class QueueFullException extends ApiException {
  constructor(maxQueueLength: number) {
    super(ErrorCode.QUEUE_FULL, queueFullMessage(maxQueueLength), { retryAfterSec: QUEUE_FULL_RETRY_AFTER_SEC });
  }
}

/** A submitted job; `endWatch` (asked for with `watchEnd`, new jobs only) was registered before it was queued. */
export type Submission = { record: JobRecord; replayed: boolean; endWatch?: EndWatch };
export type CancelResult = { outcome: 'cancelled' | 'ended' | 'missing'; record: JobRecord | null };
export type EndedListener = (record: JobRecord) => Promise<void> | void;
/**
 * Where a job goes instead of the executions queue (a session's call: its session's worker), sent on
 * `via`, the connection the record was written on just before (so Redis has the record first).
 */
export type JobRoute = (data: ExecutionJobData, via: Redis) => Promise<void>;

/** How long a cancel waits for the worker running the job to record its ending. */
const CANCEL_WAIT_MS = 2000;

/** A job's life: submit, start, finish, cancel. Every ending goes through finish(). */
@Injectable()
export class JobLifecycle {
  private readonly logger = new Logger('Jobs');
  private readonly endedListeners: EndedListener[] = [];

  constructor(
    private readonly repository: JobRepository,
    private readonly queue: ExecutionQueue,
    private readonly events: JobEvents,
    private readonly config: AppConfig,
  ) {}

  /**
   * Queues a run, or returns the job an earlier request with the same Idempotency-Key and the same
   * body created (422 when the body differs; concurrent repeats make one job: the key is claimed in
   * the step that writes the record). `watchEnd` (sync callers): also watch the new job's ending from
   * before it is queued, so the waiter needs no read to learn it has not ended yet (JobWaiters.waitForEnd).
   * A refused submit leaves nothing: a record whose queue add failed is removed again (or, if this
   * process dies first, by UnqueuedJobReconciler).
   */
  async submit(input: SubmitInput, options: { watchEnd?: boolean; route?: JobRoute } = {}): Promise<Submission> {
    const jobId = randomUUID();
    const claim = input.idempotency ? claimFor(input.idempotency, jobId) : undefined;
    if (input.idempotency && claim) {
      // A repeat is answered before the queue-length check: it queues nothing.
      const earlier = await this.repository.idempotencyClaim(input.owner, claim.keyHash);
      const replay = earlier ? await this.replay(earlier, input.idempotency) : null;
      if (replay) return replay;
    }
    const queueFull = async () =>
      this.config.maxQueueLength > 0 && (await this.queue.waitingCount()) >= this.config.maxQueueLength;
    if (!options.route && (await queueFull())) {
      throw new QueueFullException(this.config.maxQueueLength);
    }
    const record = newRecord(jobId, input);
    const data: ExecutionJobData = {
      jobId,
      owner: input.owner,
      clientId: input.clientId,
      code: input.code,
      stdin: input.stdin,
      ...(input.files?.length ? { files: input.files } : {}),
      timeoutSec: input.timeoutSec,
      endpoint: input.endpoint,
    };
    const endWatch = options.watchEnd ? this.events.whenEnded(jobId) : undefined;
    try {
      // The record, acknowledged, before the job: no worker can take a job whose record is not written.
      // (Sent back to back on one connection they could still swap: after a failover ioredis resends a
      // command that got READONLY behind one that was still waiting for its reply.)
      const via = this.queue.connection;
      const created = this.repository.create(record, via, claim);
      // A routed job without an Idempotency-Key is sent right behind its record, on the same connection
      // (Redis runs them in that order): one round trip for both.
      const routed = options.route && !claim ? settle(options.route(data, via)) : undefined;
      const earlier = await created;
      if (routed) {
        const refusal = await routed;
        if (refusal) await this.abandonRefused(data, refusal);
      } else {
        if (earlier !== null && input.idempotency) {
          endWatch?.dispose();
          const replay = await this.replay(earlier, input.idempotency);
          if (replay) return replay;
          throw new Error(`the job of Idempotency-Key claim ${earlier} vanished`);
        }
        await this.addOrAbandon(data, options.route && ((job) => options.route!(job, via)));
      }
      // Replication is asynchronous: with Sentinel, the submit is answered once a replica has the
      // record and the job (or after SENTINEL_REPLICA_WAIT_MS), so a primary killed right after
      // acknowledging them loses neither.
      if (this.config.redisSentinels && (await this.queue.connection.wait(1, SENTINEL_REPLICA_WAIT_MS)) < 1) {
        this.logger.warn({ job_id: jobId }, 'no replica confirmed the new job: a failover now could lose it');
      }
    } catch (err) {
      endWatch?.dispose();
      throw err;
    }
    return { record, replayed: false, endWatch };
  }

  /** The earlier job of a held Idempotency-Key; 422 when it came with another request; null when its job is gone. */
  private async replay(claimValue: string, request: IdempotencyRequest): Promise<Submission | null> {
    const earlier = parseClaim(claimValue);
    if (earlier.requestHash !== request.requestHash) throw new IdempotencyKeyReusedException();
    const record = await this.repository.get(earlier.jobId);
    return record ? { record, replayed: true } : null;
  }

  /** Queues the job; if that fails, the record goes again before the caller hears of the failure. */
  private async addOrAbandon(data: ExecutionJobData, route?: (data: ExecutionJobData) => Promise<void>): Promise<void> {
    try {
      await (route ? route(data) : this.queue.add(data));
    } catch (err) {
      await this.abandonRefused(data, err);
    }
  }

  /** The job was not queued (`err`): its record goes again, then the caller hears of the failure. */
  private async abandonRefused(data: ExecutionJobData, err: unknown): Promise<never> {
    await this.repository.abandon(data.jobId, data.owner).catch((abandonErr: unknown) =>
      // Redis is likely unreachable: the reconciler removes the record once it can.
      this.logger.warn(
        { job_id: data.jobId },
        `could not remove the unqueued record: ${(abandonErr as Error).message}`,
      ),
    );
    throw err;
  }

  /** The keys a script that routes a job starts it with, in the same step (START_JOB_LUA). */
  startKeys(jobId: string): [string, string] {
    return this.repository.startKeys(jobId);
  }

  /**
   * Worker side: pending → running (a re-run after a dead worker starts again). False when the job
   * must not run: it ended meanwhile, or its cancellation was requested (then it ends here).
   */
  async start(jobId: string, startedAtMs: number): Promise<boolean> {
    const start = await this.repository.start(jobId, startedAtMs);
    if (start === 'started') return true;
    if (start === 'cancel_requested') await this.finish(jobId, cancelledOutcome());
    return false;
  }

  /**
   * The one way a job ends: stores its outcome once (a later ending of the same job is ignored and
   * answers null) with its times and the queue length (Bull's count, read just before; the rest in
   * one script), and tells every waiter in the cluster.
   */
  async finish(jobId: string, outcome: JobOutcome, known: { queueLength?: number } = {}): Promise<JobRecord | null> {
    let ended: JobRecord | null = null;
    // Read through Bull's API (its keys are Bull's own): one round trip before the finish script
    // (a session's call gives its own: the calls waiting in its session).
    const queueLength = known.queueLength ?? (await this.queue.waitingCount());
    this.events.endingStarted(jobId);
    try {
      ended = await this.repository.finish(jobId, {
        status: statusOf(outcome),
        endedAtMs: Date.now(),
        queueLength,
        outcome,
        channel: this.events.channel,
        endedMessage: JobEvents.message('ended', jobId),
      });
    } finally {
      this.events.endingDone(jobId, ended ?? undefined);
    }
    if (!ended) return null;
    for (const listener of this.endedListeners) {
      try {
        await listener(ended);
      } catch (err) {
        this.logger.error({ job_id: jobId }, `ended listener failed: ${(err as Error).message}`);
      }
    }
    return ended;
  }

  /**
   * Called once per job, in the process whose finish() recorded its ending (a worker, or the API
   * process that cancelled a pending job): webhook delivery and metrics hook in here.
   */
  onEnded(listener: EndedListener): void {
    this.endedListeners.push(listener);
  }

  /** Bull gave up on a job (its worker died twice, or the handler threw): end it unless it has ended. */
  async endLost(jobId: string, reason: string): Promise<void> {
    const record = await this.repository.get(jobId);
    if (record && !isEnded(record.status)) {
      if (!record.cancelRequested) this.logger.error({ job_id: jobId }, `${reason}; failing it`);
      await this.finish(jobId, record.cancelRequested ? cancelledOutcome() : lostOutcome());
    }
    await this.queue.remove(jobId);
  }

  /** Pending: removed from the queue. Running: the worker that runs it (any process) kills it. */
  async cancel(jobId: string, owner: string): Promise<CancelResult> {
    const record = await this.repository.get(jobId);
    if (!record || record.owner !== owner) return { outcome: 'missing', record: null };
    if (isEnded(record.status)) return { outcome: 'ended', record };
    const waiter = this.events.whenEnded(jobId);
    try {
      // Recorded first: a worker that picks the job up from now on (or re-runs it after a
      // stalled worker) refuses it, so the cancel holds even if no worker hears the message.
      if (!(await this.repository.requestCancel(jobId)))
        return { outcome: 'ended', record: await this.repository.get(jobId) };
      if (record.status === 'pending') {
        await this.queue.remove(jobId); // already taken by a worker: it refuses to start it
        await this.finish(jobId, cancelledOutcome());
      }
      await this.events.publish('cancel', jobId);
      await Promise.race([waiter.promise, delay(CANCEL_WAIT_MS)]);
    } finally {
      waiter.dispose();
    }
    return { outcome: 'cancelled', record: await this.repository.get(jobId) };
  }
}

function newRecord(jobId: string, input: SubmitInput): JobRecord {
  return {
    jobId,
    endpoint: input.endpoint,
    owner: input.owner,
    clientId: input.clientId,
    status: 'pending',
    cancelRequested: false,
    createdAtMs: Date.now(),
    startedAtMs: null,
    endedAtMs: null,
    queueTimeSec: null,
    runTimeSec: null,
    queueLength: null,
    outcome: null,
    webhook: input.webhookUrl
      ? {
          url: input.webhookUrl,
          status: 'pending',
          attempts: 0,
          last_status_code: null,
          last_error: null,
          delivered_at: null,
        }
      : null,
    sessionId: input.sessionId ?? null,
  };
}

/** The error a promise rejects with, or null when it resolves. */
function settle(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (err: unknown) => err ?? new Error('refused'),
  );
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
