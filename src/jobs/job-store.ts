import type Redis from 'ioredis';
import type { Envelope } from '../common/envelope';
import { JobRecord, JobStatus, WebhookState } from './job.types';

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

const INDEX_SLACK_SEC = 24 * 3600;

export type StartResult = { result: 'started'; record: JobRecord } | { result: 'ended' } | { result: 'cancel_requested' };

// Writes the final state once: a job that already ended keeps its first ending. In the same
// round trip: the queue length the envelope reports (waiting + paused jobs, as Bull counts them)
// and the "ended" event. Answers the queue length, or -1 when the job had already ended.
const FINISH_SCRIPT = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'completed' or status == 'failed' or status == 'cancelled' then return -1 end
local waiting = redis.call('LLEN', KEYS[2]) + redis.call('LLEN', KEYS[3])
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'ended_at', ARGV[2], 'run_time', ARGV[3], 'queue_time', ARGV[4],
  'envelope', ARGV[5], 'queue_length', waiting)
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('PUBLISH', ARGV[7], ARGV[8])
return waiting`;

/** Where finish() counts waiting jobs and announces the ending. */
export interface FinishTargets {
  waitingListKeys: [string, string];
  channel: string;
  endedMessage: string;
}

// Only while the record exists: a write after retention expired it must not recreate it without a TTL.
const SET_WEBHOOK_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'webhook', ARGV[1])
return 1`;

/** Job records and per-owner indexes in Redis, all under one key prefix. */
export class JobStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly retentionSec: number,
  ) {}

  /** Index entries older than this belong to records that have expired (a job ends within a day). */
  private indexWindowMs(): number {
    return (this.retentionSec + INDEX_SLACK_SEC) * 1000;
  }

  jobKey(jobId: string): string {
    return `${this.prefix}:job:${jobId}`;
  }

  ownerKey(owner: string): string {
    return `${this.prefix}:owner:${owner}`;
  }

  /**
   * `via` lets the caller write on the connection it queues the job on next: commands on one
   * connection run in order, so the record exists before any worker can take the job.
   */
  async create(record: JobRecord, via: Redis = this.redis): Promise<void> {
    const fields: Record<string, string> = {
      owner: record.owner,
      endpoint: record.endpoint,
      status: record.status,
      created_at: String(record.createdAtMs),
    };
    if (record.clientId !== null) fields.client_id = record.clientId;
    if (record.webhook) fields.webhook = JSON.stringify(record.webhook);
    await via
      .multi()
      .hset(this.jobKey(record.jobId), fields)
      .zadd(this.ownerKey(record.owner), record.createdAtMs, record.jobId)
      // Listing prunes entries whose records expired; this bounds an index nobody lists.
      .zremrangebyscore(this.ownerKey(record.owner), '-inf', `(${record.createdAtMs - this.indexWindowMs()}`)
      .pexpire(this.ownerKey(record.owner), this.indexWindowMs())
      .exec();
  }

  async get(jobId: string): Promise<JobRecord | null> {
    const hash = await this.redis.hgetall(this.jobKey(jobId));
    return hash.status ? fromHash(jobId, hash) : null;
  }

  /** pending|running -> running, with the record; or why it must not run. */
  async markRunning(jobId: string, startedAtMs: number): Promise<StartResult> {
    const result = (await this.redis.eval(START_SCRIPT, 1, this.jobKey(jobId), String(startedAtMs))) as number | string[];
    if (result === 2) return { result: 'cancel_requested' };
    if (!Array.isArray(result)) return { result: 'ended' };
    const hash: Record<string, string> = {};
    for (let i = 0; i < result.length; i += 2) hash[result[i]] = result[i + 1];
    return { result: 'started', record: fromHash(jobId, hash) };
  }

  /** False when the job has already ended (or does not exist). */
  async requestCancel(jobId: string): Promise<boolean> {
    return (await this.redis.eval(CANCEL_SCRIPT, 1, this.jobKey(jobId))) === 1;
  }

  /** The final state, once; returns the queue length stored in the envelope, or null if the job had already ended. */
  async finish(
    jobId: string, status: JobStatus, endedAtMs: number, runTimeSec: number, queueTimeSec: number, envelope: Envelope,
    targets: FinishTargets,
  ): Promise<number | null> {
    const waiting = await this.redis.eval(
      FINISH_SCRIPT, 3, this.jobKey(jobId), ...targets.waitingListKeys,
      status, String(endedAtMs), String(runTimeSec), String(queueTimeSec), JSON.stringify(envelope), String(this.retentionSec),
      targets.channel, targets.endedMessage,
    );
    return waiting === -1 ? null : Number(waiting);
  }

  /** False when the record no longer exists. HSET keeps the record's TTL. */
  async setWebhook(jobId: string, webhook: WebhookState): Promise<boolean> {
    return (await this.redis.eval(SET_WEBHOOK_SCRIPT, 1, this.jobKey(jobId), JSON.stringify(webhook))) === 1;
  }

  /** Newest first; `beforeMs`/`beforeId` continue after the last job of the previous page. */
  async listIds(owner: string, count: number, cursor: { ms: number; id: string } | null): Promise<Array<{ id: string; ms: number }>> {
    const max = cursor ? `(${cursor.ms + 1}` : '+inf';
    const raw = await this.redis.zrevrangebyscore(this.ownerKey(owner), max, '-inf', 'WITHSCORES', 'LIMIT', 0, count + 64);
    const out: Array<{ id: string; ms: number }> = [];
    for (let i = 0; i < raw.length; i += 2) out.push({ id: raw[i], ms: Number(raw[i + 1]) });
    if (!cursor) return out;
    // Same-millisecond neighbours: order by id descending within a score, as ZREVRANGE does.
    return out.filter((e) => e.ms < cursor.ms || (e.ms === cursor.ms && e.id < cursor.id));
  }

  async getMany(jobIds: string[]): Promise<Array<JobRecord | null>> {
    if (jobIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of jobIds) pipeline.hgetall(this.jobKey(id));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([, hash], i) => {
      const h = hash as Record<string, string>;
      return h && h.status ? fromHash(jobIds[i], h) : null;
    });
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

function num(value: string | undefined): number | null {
  return value === undefined || value === '' ? null : Number(value);
}

/** finish() counts the queue in Redis, in the same script that stores the envelope. */
function withQueueLength(envelope: Envelope, queueLength: string | undefined): Envelope {
  if (queueLength !== undefined && 'queue_length' in envelope) envelope.queue_length = Number(queueLength);
  return envelope;
}

function fromHash(jobId: string, h: Record<string, string>): JobRecord {
  return {
    jobId,
    endpoint: h.endpoint,
    owner: h.owner,
    clientId: h.client_id ?? null,
    status: h.status as JobStatus,
    cancelRequested: h.cancel_requested === '1',
    createdAtMs: Number(h.created_at),
    startedAtMs: num(h.started_at),
    endedAtMs: num(h.ended_at),
    runTimeSec: num(h.run_time),
    queueTimeSec: num(h.queue_time),
    envelope: h.envelope ? withQueueLength(JSON.parse(h.envelope) as Envelope, h.queue_length) : null,
    webhook: h.webhook ? (JSON.parse(h.webhook) as WebhookState) : null,
  };
}
