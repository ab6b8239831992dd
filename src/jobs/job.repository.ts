import type Redis from 'ioredis';
import { fromHash, pairs, toHash } from './job-record.codec';
import type { JobOutcome, JobRecord, JobStatus, WebhookState } from './job.types';

// pending -> running, atomically, answering with the record (one round trip). 'running' ->
// 'running' is a re-run after a stalled worker; a job whose cancellation was requested (its worker
// may have died meanwhile) does not start. Answers 0 when the job ended, 2 when cancel was requested.
const START_SCRIPT = `
local status, cancel = unpack(redis.call('HMGET', KEYS[1], 'status', 'cancel_requested'))
if status ~= 'pending' and status ~= 'running' then return 0 end
if cancel == '1' then return 2 end
redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[1])
return redis.call('HGETALL', KEYS[1])`;

// Marks a job that has not ended as to be cancelled; any worker that picks it up later refuses it.
const CANCEL_SCRIPT = `
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'pending' and status ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'cancel_requested', '1')
return 1`;

// The final state, once: a job that already ended keeps its first ending (answers 0). Times are
// measured here from the record (run time from the sandbox when it ran there). In the same atomic
// step: a job with a webhook enters the delivery outbox, and "ended" is published.
const FINISH_SCRIPT = `
local status, created, started, webhook = unpack(redis.call('HMGET', KEYS[1], 'status', 'created_at', 'started_at', 'webhook'))
if not status or status == 'completed' or status == 'failed' or status == 'cancelled' then return 0 end
local ended = tonumber(ARGV[2])
started = tonumber(started)
local run_ms = ARGV[3]
if run_ms == '' then run_ms = started and (ended - started) or 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'ended_at', ARGV[2], 'queue_ms', (started or ended) - tonumber(created),
  'run_ms', run_ms, 'queue_length', ARGV[4], 'outcome', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
if webhook then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[7]) end
redis.call('PUBLISH', ARGV[8], ARGV[9])
return redis.call('HGETALL', KEYS[1])`;

// Only while the record exists: a write after retention expired it must not recreate it without a TTL.
const SET_WEBHOOK_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'webhook', ARGV[1])
return 1`;

/** Index entries outlive their records by this much at most (a job ends within a day). */
const INDEX_SLACK_SEC = 24 * 3600;

export type StartResult =
  { result: 'started'; record: JobRecord } | { result: 'ended' } | { result: 'cancel_requested' };

export interface Ending {
  status: JobStatus;
  endedAtMs: number;
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

  private indexWindowMs(): number {
    return (this.retentionSec + INDEX_SLACK_SEC) * 1000;
  }

  /**
   * `via` lets the caller write on the connection it queues the job on next: commands on one
   * connection run in order, so the record exists before any worker can take the job.
   */
  async create(record: JobRecord, via: Redis = this.redis): Promise<void> {
    const owner = this.ownerKey(record.owner);
    await via
      .multi()
      .hset(this.jobKey(record.jobId), toHash(record))
      .zadd(owner, record.createdAtMs, record.jobId)
      // Listing prunes entries whose records expired; this bounds an index nobody lists.
      .zremrangebyscore(owner, '-inf', `(${record.createdAtMs - this.indexWindowMs()}`)
      .pexpire(owner, this.indexWindowMs())
      .exec();
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

  /** pending|running -> running, with the record; or why it must not run. */
  async start(jobId: string, startedAtMs: number): Promise<StartResult> {
    const result = (await this.redis.eval(START_SCRIPT, 1, this.jobKey(jobId), String(startedAtMs))) as
      number | string[];
    if (result === 2) return { result: 'cancel_requested' };
    const record = Array.isArray(result) ? fromHash(jobId, pairs(result)) : null;
    return record ? { result: 'started', record } : { result: 'ended' };
  }

  /** False when the job has already ended (or does not exist). */
  async requestCancel(jobId: string): Promise<boolean> {
    return (await this.redis.eval(CANCEL_SCRIPT, 1, this.jobKey(jobId))) === 1;
  }

  /** The ended record, or null when the job had already ended (or does not exist). */
  async finish(jobId: string, ending: Ending): Promise<JobRecord | null> {
    const result = (await this.redis.eval(
      FINISH_SCRIPT,
      2,
      this.jobKey(jobId),
      this.outboxKey(),
      ending.status,
      String(ending.endedAtMs),
      ending.outcome.runMs === null ? '' : String(ending.outcome.runMs),
      String(ending.queueLength),
      JSON.stringify(ending.outcome),
      String(this.retentionSec),
      jobId,
      ending.channel,
      ending.endedMessage,
    )) as number | string[];
    return Array.isArray(result) ? fromHash(jobId, pairs(result)) : null;
  }

  /** False when the record no longer exists. HSET keeps the record's TTL. */
  async setWebhook(jobId: string, webhook: WebhookState): Promise<boolean> {
    return (await this.redis.eval(SET_WEBHOOK_SCRIPT, 1, this.jobKey(jobId), JSON.stringify(webhook))) === 1;
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

  /** Remembers `Idempotency-Key` → job for the retention window; returns the earlier job if there was one. */
  async claimIdempotencyKey(owner: string, keyHash: string, jobId: string): Promise<string | null> {
    const key = `${this.prefix}:idem:${owner}:${keyHash}`;
    const set = await this.redis.set(key, jobId, 'EX', this.retentionSec, 'NX');
    return set === 'OK' ? null : await this.redis.get(key);
  }
}
