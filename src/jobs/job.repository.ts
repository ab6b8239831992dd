import type Redis from 'ioredis';
import { fromHash, pairs, toHash } from './job-record.codec';
import type { IdempotencyClaim } from './idempotency';
import { JobEventLog, MAX_JOB_EVENTS } from './job-event-log';
import {
  ABANDON_SCRIPT,
  CANCEL_SCRIPT,
  CREATE_SCRIPT,
  FINISH_SCRIPT,
  SET_WEBHOOK_SCRIPT,
  START_SCRIPT,
} from './job.scripts';
import type { JobOutcome, JobRecord, JobStatus, WebhookState } from './job.types';

/** Index entries outlive their records by this much at most (a job ends within a day). */
const INDEX_SLACK_SEC = 24 * 3600;

export type StartResult = 'started' | 'ended' | 'cancel_requested';

export interface Ending {
  status: JobStatus;
  endedAtMs: number;
  /** Jobs waiting in the queue as the job ends (Bull's getWaitingCount()). */
  queueLength: number;
  outcome: JobOutcome;
  /** Where "ended" is announced, in the same step. */
  channel: string;
  endedMessage: string;
}

/**
 * The only code that knows the job core's Redis keys: job records, per-owner indexes, idempotency
 * keys, the webhook outbox.
 */
export class JobRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly retentionSec: number,
  ) {}

  private jobKey(jobId: string): string {
    return `${this.prefix}:job:${jobId}`;
  }

  private ownerKey(owner: string): string {
    return `${this.prefix}:owner:${owner}`;
  }

  /** Ended jobs with a webhook whose delivery has not been queued yet (scored by end time). */
  private outboxKey(): string {
    return `${this.prefix}:webhook-outbox`;
  }

  /** Jobs created and not yet seen in the queue (scored by creation time): what the reconciler checks. */
  private unqueuedKey(): string {
    return `${this.prefix}:unqueued`;
  }

  private idempotencyKey(owner: string, keyHash: string): string {
    return `${this.prefix}:idem:${owner}:${keyHash}`;
  }

  private indexWindowMs(): number {
    return (this.retentionSec + INDEX_SLACK_SEC) * 1000;
  }

  /**
   * Writes the record, unless `idempotency` names a key that already made a job that still exists:
   * then nothing is written and the key's value (`<request hash> <job id>`) is the answer.
   * `via`: the connection the caller queues the job on next, so that one WAIT there (Sentinel)
   * covers both writes.
   */
  async create(record: JobRecord, via: Redis = this.redis, idempotency?: IdempotencyClaim): Promise<string | null> {
    const fields = Object.entries(toHash(record)).flat();
    const result = await CREATE_SCRIPT.run(
      via,
      [
        this.jobKey(record.jobId),
        this.ownerKey(record.owner),
        this.unqueuedKey(),
        ...(idempotency ? [this.idempotencyKey(record.owner, idempotency.keyHash)] : []),
      ],
      // Listing prunes entries whose records expired; this bounds an index nobody lists.
      [
        record.createdAtMs,
        record.jobId,
        `(${record.createdAtMs - this.indexWindowMs()}`,
        this.indexWindowMs(),
        idempotency?.value ?? '',
        this.retentionSec,
        this.jobKey(''),
        ...fields,
      ],
    );
    return result === 1 ? null : String(result);
  }

  /**
   * Undoes create() for a job that never reached the queue: no record, index entry or Idempotency-Key
   * of it is left. False (nothing removed) when the job is no longer pending: a worker took it.
   */
  async abandon(jobId: string, owner: string): Promise<boolean> {
    const keys = [this.jobKey(jobId), this.ownerKey(owner), this.unqueuedKey()];
    return (await ABANDON_SCRIPT.run(this.redis, keys, [jobId])) === 1;
  }

  /** Up to `count` ids of jobs created before `createdBeforeMs` that no worker took and no check found queued. */
  async unqueuedBefore(createdBeforeMs: number, count: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.unqueuedKey(), '-inf', `(${createdBeforeMs}`, 'LIMIT', 0, count);
  }

  /** These jobs are in the queue (or gone): the reconciler need not look at them again. */
  async seenQueued(jobIds: string[]): Promise<void> {
    if (jobIds.length) await this.redis.zrem(this.unqueuedKey(), ...jobIds);
  }

  async get(jobId: string): Promise<JobRecord | null> {
    return fromHash(jobId, await this.redis.hgetall(this.jobKey(jobId)));
  }

  async getMany(jobIds: string[]): Promise<Array<JobRecord | null>> {
    if (jobIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of jobIds) pipeline.hgetall(this.jobKey(id));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([, hash], i) => fromHash(jobIds[i], hash as Record<string, string>));
  }

  /** pending|running -> running; or why it must not run. */
  async start(jobId: string, startedAtMs: number): Promise<StartResult> {
    const result = await START_SCRIPT.run(this.redis, this.startKeys(jobId), [startedAtMs, jobId]);
    return result === 1 ? 'started' : result === 2 ? 'cancel_requested' : 'ended';
  }

  /** The keys START_JOB_LUA's start_job() takes (record, unqueued set), for a script that starts a job it routes. */
  startKeys(jobId: string): [string, string] {
    return [this.jobKey(jobId), this.unqueuedKey()];
  }

  /** False when the job has already ended (or does not exist). */
  async requestCancel(jobId: string): Promise<boolean> {
    return (await CANCEL_SCRIPT.run(this.redis, [this.jobKey(jobId)], [])) === 1;
  }

  /** The ended record, or null when the job had already ended (or does not exist). */
  async finish(jobId: string, ending: Ending): Promise<JobRecord | null> {
    const outcomeJson = JSON.stringify(ending.outcome);
    const result = await FINISH_SCRIPT.run(
      this.redis,
      [this.jobKey(jobId), this.outboxKey(), this.unqueuedKey(), JobEventLog.key(this.prefix, jobId)],
      [
        ending.status,
        ending.endedAtMs,
        ending.outcome.runMs === null ? '' : String(ending.outcome.runMs),
        outcomeJson,
        this.retentionSec,
        jobId,
        ending.channel,
        ending.endedMessage,
        ending.queueLength,
        MAX_JOB_EVENTS,
      ],
    );
    if (!Array.isArray(result)) return null;
    // The script answers what was stored before; the rest is what this call just wrote.
    const hash = pairs(result as Array<string | null>);
    hash.status = ending.status;
    hash.ended_at = String(ending.endedAtMs);
    return fromHash(jobId, hash, ending.outcome);
  }

  /** False when the record no longer exists. HSET keeps the record's TTL. */
  async setWebhook(jobId: string, webhook: WebhookState): Promise<boolean> {
    return (await SET_WEBHOOK_SCRIPT.run(this.redis, [this.jobKey(jobId)], [JSON.stringify(webhook)])) === 1;
  }

  /** Up to `count` job ids in the webhook outbox that ended before `endedBeforeMs`, oldest first. */
  async undeliveredWebhooks(endedBeforeMs: number, count: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.outboxKey(), '-inf', `(${endedBeforeMs}`, 'LIMIT', 0, count);
  }

  /** The delivery is in the webhooks queue (or no longer needed): out of the outbox. */
  async webhookQueued(jobId: string): Promise<void> {
    await this.redis.zrem(this.outboxKey(), jobId);
  }

  /** Newest first; `cursor` continues after the last job of the previous page. */
  async listIds(
    owner: string,
    count: number,
    cursor: { ms: number; id: string } | null,
  ): Promise<Array<{ id: string; ms: number }>> {
    const max = cursor ? `(${cursor.ms + 1}` : '+inf';
    const raw = await this.redis.zrevrangebyscore(
      this.ownerKey(owner),
      max,
      '-inf',
      'WITHSCORES',
      'LIMIT',
      0,
      count + 64,
    );
    const out: Array<{ id: string; ms: number }> = [];
    for (let i = 0; i < raw.length; i += 2) out.push({ id: raw[i], ms: Number(raw[i + 1]) });
    if (!cursor) return out;
    // Same-millisecond neighbours: order by id descending within a score, as ZREVRANGE does.
    return out.filter((e) => e.ms < cursor.ms || (e.ms === cursor.ms && e.id < cursor.id));
  }

  /** Drops index entries whose records have expired. */
  async forget(owner: string, jobIds: string[]): Promise<void> {
    if (jobIds.length) await this.redis.zrem(this.ownerKey(owner), ...jobIds);
  }

  /** The value of an owner's Idempotency-Key (`<request hash> <job id>`), or null when it is not held. */
  async idempotencyClaim(owner: string, keyHash: string): Promise<string | null> {
    return this.redis.get(this.idempotencyKey(owner, keyHash));
  }
}
