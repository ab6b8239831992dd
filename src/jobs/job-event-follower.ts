import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { RedisConnection } from '../redis/redis-connection';
import { REDIS_CLIENT } from '../redis/redis.module';
import { compareEntryIds, JobEventEntry, JobEventLog, toEntries } from './job-event-log';

/** How long one XREAD blocks when nothing comes; a new follower wakes it at once (CLIENT UNBLOCK). */
const BLOCK_MS = 5000;
/** Entries per stream per read. */
const READ_COUNT = 512;
/** Pause after a failed read (Redis away): the followers wait, none is dropped. */
const RETRY_MS = 500;

interface Follower {
  jobId: string;
  /** The last entry delivered to it. */
  afterId: string;
  deliver: (entries: JobEventEntry[]) => void;
}

/**
 * Every live event stream this process serves, read by one blocking connection: one XREAD over all
 * followed jobs' streams, each from its slowest follower's position; each follower gets only what is
 * newer than what it has. A client that reads slowly holds nobody else up (its response buffers).
 */
@Injectable()
export class JobEventFollower implements OnApplicationShutdown {
  private readonly logger = new Logger('JobEventFollower');
  private readonly followers = new Set<Follower>();
  private blocker?: Redis;
  private blockerId?: number;
  private reading = false;
  /** Bumped by every new follower; the read that includes it records the generation it saw. */
  private generation = 0;
  private readGeneration = 0;
  private stopped = false;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly connection: RedisConnection,
    private readonly log: JobEventLog,
  ) {}

  /** Calls `deliver` with the job's entries after `afterId` as they come; returns the function that stops it. */
  follow(jobId: string, afterId: string, deliver: (entries: JobEventEntry[]) => void): () => void {
    const follower: Follower = { jobId, afterId, deliver };
    this.followers.add(follower);
    this.generation += 1;
    if (!this.reading) void this.readLoop();
    else void this.wake(this.generation);
    return () => this.followers.delete(follower);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    this.blocker?.disconnect();
  }

  private async readLoop(): Promise<void> {
    this.reading = true;
    try {
      while (this.followers.size > 0 && !this.stopped) {
        try {
          await this.readOnce();
        } catch (err) {
          if (this.stopped) return;
          this.logger.warn(`reading job event streams failed: ${(err as Error).message}`);
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
      }
    } finally {
      this.reading = false;
    }
  }

  private async readOnce(): Promise<void> {
    const blocker = await this.blockingClient();
    // Only these get this read's entries: one that joins meanwhile may need older ones (the next read has them).
    const readFor = [...this.followers];
    const from = new Map<string, string>();
    for (const f of readFor) {
      const at = from.get(f.jobId);
      if (at === undefined || compareEntryIds(f.afterId, at) < 0) from.set(f.jobId, f.afterId);
    }
    this.readGeneration = this.generation;
    const jobIds = [...from.keys()];
    const reply = (await blocker.xread(
      'COUNT',
      READ_COUNT,
      'BLOCK',
      BLOCK_MS,
      'STREAMS',
      ...jobIds.map((id) => this.log.key(id)),
      ...jobIds.map((id) => from.get(id)!),
    )) as Array<[string, Array<[string, string[]]>]> | null;
    for (const [key, raw] of reply ?? []) {
      const jobId = jobIds.find((id) => this.log.key(id) === key);
      const entries = toEntries(raw);
      for (const f of readFor) {
        if (f.jobId !== jobId || !this.followers.has(f)) continue;
        const fresh = entries.filter((e) => compareEntryIds(e.id, f.afterId) > 0);
        if (fresh.length === 0) continue;
        f.afterId = fresh[fresh.length - 1].id;
        f.deliver(fresh);
      }
    }
  }

  /** Ends the running XREAD so the next one includes a new follower; retried until a read has it. */
  private async wake(generation: number): Promise<void> {
    for (let attempt = 0; attempt < 50 && this.readGeneration < generation && !this.stopped; attempt++) {
      if (this.blockerId !== undefined) {
        try {
          if ((await this.redis.client('UNBLOCK', this.blockerId)) === 1) return;
        } catch {
          return; // Redis away: the loop retries its read anyway
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  private async blockingClient(): Promise<Redis> {
    if (!this.blocker) {
      this.blocker = this.connection.createWaitingClient('job-event-follower');
      this.blocker.on('close', () => (this.blockerId = undefined));
    }
    this.blockerId ??= (await this.blocker.client('ID')) as number;
    return this.blocker;
  }
}
