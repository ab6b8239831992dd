import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';

/** What one recorded event is: a status change, a chunk of output, or the job's end (its envelope is in the record). */
export const JOB_EVENT_TYPES = ['status', 'stdout', 'stderr', 'end'] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

/** One entry of a job's event stream; `id` is the Redis Stream entry id (the SSE event id). */
export interface JobEventEntry {
  id: string;
  type: JobEventType;
  data: string;
}

/** Approximate bound on one job's entries (XADD MAXLEN ~); the recorder merges chunks, so few jobs come near it. */
export const MAX_JOB_EVENTS = 10_000;

/** A stream entry id as SSE's Last-Event-ID carries it: "<ms>-<seq>". */
const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;

export function isEntryId(value: unknown): value is string {
  return typeof value === 'string' && ENTRY_ID.test(value);
}

/** Orders two entry ids numerically (they are not comparable as strings). */
export function compareEntryIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(BigInt);
  const [bMs, bSeq] = b.split('-').map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}

/** XREAD/XRANGE entries as typed events (an entry with an unknown type is skipped). */
export function toEntries(raw: Array<[string, string[]]>): JobEventEntry[] {
  const entries: JobEventEntry[] = [];
  for (const [id, fields] of raw) {
    const map = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i], fields[i + 1]);
    const type = map.get('t') as JobEventType | undefined;
    if (type && JOB_EVENT_TYPES.includes(type)) entries.push({ id, type, data: map.get('d') ?? '' });
  }
  return entries;
}

/**
 * Each job's events as one Redis Stream (`<prefix>:job-events:<id>`): written by the worker that runs
 * it (status running, output chunks) and by the finish script (final status, end), read by any API
 * process. Bounded in length; it expires with the job's record.
 */
export class JobEventLog {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** While the job runs: its retention plus the longest timeout; finish() then sets the record's. */
    private readonly liveTtlSec: number,
  ) {}

  static key(prefix: string, jobId: string): string {
    return `${prefix}:job-events:${jobId}`;
  }

  key(jobId: string): string {
    return JobEventLog.key(this.prefix, jobId);
  }

  async append(jobId: string, events: Array<{ type: JobEventType; data: string }>): Promise<void> {
    const key = this.key(jobId);
    const pipeline = this.redis.pipeline();
    for (const { type, data } of events) pipeline.xadd(key, 'MAXLEN', '~', MAX_JOB_EVENTS, '*', 't', type, 'd', data);
    pipeline.expire(key, this.liveTtlSec);
    for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
  }

  /** Entries after `afterId` (exclusive), oldest first, at most `count`. */
  async readAfter(jobId: string, afterId: string, count: number): Promise<JobEventEntry[]> {
    const raw = await this.redis.xrange(this.key(jobId), `(${afterId}`, '+', 'COUNT', count);
    return toEntries(raw);
  }

  async exists(jobId: string): Promise<boolean> {
    return (await this.redis.exists(this.key(jobId))) === 1;
  }

  /** A recorder for one run's events on the worker. */
  recorder(jobId: string): JobEventRecorder {
    return new JobEventRecorder(this, jobId);
  }
}

const logger = new Logger('JobEventLog');

/**
 * One run's events on their way to Redis: one write at a time, and what arrives meanwhile is merged
 * (adjacent chunks of one stream become one entry), so a slow Redis or a flood of output never blocks
 * the run and the stream stays short. What the program writes is bounded by the output caps.
 */
export class JobEventRecorder {
  private pending: Array<{ type: JobEventType; data: string }> = [];
  private writing?: Promise<void>;
  private failed = false;

  constructor(
    private readonly log: JobEventLog,
    private readonly jobId: string,
  ) {}

  add(type: JobEventType, data: string): void {
    const last = this.pending[this.pending.length - 1];
    if (last && last.type === type && type !== 'status') last.data += data;
    else this.pending.push({ type, data });
    this.write();
  }

  /** Resolves when everything added so far is written (or failed: the stored result stays the truth). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private write(): void {
    if (this.writing || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.writing = this.log
      .append(this.jobId, batch)
      .catch((err: Error) => {
        if (!this.failed) logger.warn({ job_id: this.jobId }, `live output not recorded: ${err.message}`);
        this.failed = true;
      })
      .finally(() => {
        this.writing = undefined;
        this.write();
      });
  }
}
