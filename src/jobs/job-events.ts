import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { RedisConnection } from '../redis/redis-connection';
import { REDIS_CLIENT } from '../redis/redis.module';
import type { JobRecord } from './job.types';

export type EventType = 'ended' | 'cancel';

/** Interest in one job's ending: resolves with the ended record when this process ended it, else with nothing. */
export interface EndWatch {
  promise: Promise<JobRecord | undefined>;
  dispose: () => void;
  /** How many times the subscriber had lost its connection when the watch was made (see mayHaveMissed). */
  drops: number;
}

/** Cluster-wide job events over one Redis pub/sub channel: "a job ended", "cancel this job". */
@Injectable()
export class JobEvents implements OnModuleInit, OnApplicationShutdown {
  readonly channel: string;
  private subscriber?: Redis;
  private readonly endWaiters = new Map<string, Set<(record?: JobRecord) => void>>();
  private readonly cancelListeners: Array<(jobId: string) => void> = [];
  /** Jobs whose ending this process is recording (count of finish() calls; whether an "ended" came meanwhile). */
  private readonly ending = new Map<string, { calls: number; heard: boolean }>();
  /** Times the subscriber lost its connection: messages published meanwhile are gone. */
  private subscriberDrops = 0;

  constructor(
    @Inject(REDIS_CLIENT) private readonly publisher: Redis,
    private readonly connection: RedisConnection,
    config: AppConfig,
  ) {
    this.channel = `${config.redisPrefix}:job-events`;
  }

  /** The wire form of an event; the repository's finish script publishes the 'ended' one. */
  static message(type: EventType, jobId: string): string {
    return `${type}:${jobId}`;
  }

  async onModuleInit(): Promise<void> {
    // Created and subscribed at once: SUBSCRIBE then waits in ioredis' offline queue until the
    // connection is ready, instead of landing between its setup commands (which it would break).
    // A waiting client: it rides out Redis outages and resubscribes after them.
    this.subscriber = this.connection.createWaitingClient('job-events');
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.dispatch(message);
    });
    this.subscriber.on('close', () => (this.subscriberDrops += 1));
    await this.subscriber.subscribe(this.channel);
  }

  /** Acts on one message of the channel, wherever it was published. */
  dispatch(message: string): void {
    const [type, jobId] = message.split(':', 2) as [EventType, string];
    if (type === 'ended') {
      const ending = this.ending.get(jobId);
      if (ending)
        ending.heard = true; // endingDone() wakes the waiters, with the record when it has it
      else this.wakeEnded(jobId);
    } else if (type === 'cancel') for (const listener of this.cancelListeners) listener(jobId);
  }

  // Not onModuleDestroy: that runs before the SIGTERM drain, whose sync callers still wait for 'ended'.
  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }

  async publish(type: EventType, jobId: string): Promise<void> {
    // A cancel of a job this process runs acts at once, whatever happens to the channel (the echo
    // from Redis then finds the run already aborted).
    if (type === 'cancel') for (const listener of this.cancelListeners) listener(jobId);
    await this.publisher.publish(this.channel, JobEvents.message(type, jobId));
  }

  onCancel(listener: (jobId: string) => void): void {
    this.cancelListeners.push(listener);
  }

  /**
   * Registers interest before the caller checks the record, so no ending is missed in between.
   * Resolves with the ended record when this process ended the job, else with nothing (read it).
   */
  whenEnded(jobId: string): EndWatch {
    let dispose = () => undefined as void;
    const promise = new Promise<JobRecord | undefined>((resolve) => {
      const waiters = this.endWaiters.get(jobId) ?? new Set();
      waiters.add(resolve);
      this.endWaiters.set(jobId, waiters);
      dispose = () => {
        waiters.delete(resolve);
        if (waiters.size === 0) this.endWaiters.delete(jobId);
      };
    });
    return { promise, dispose, drops: this.subscriberDrops };
  }

  /** True when the subscriber lost its connection since `watch` was made: its "ended" may have been missed. */
  mayHaveMissed(watch: EndWatch): boolean {
    return watch.drops !== this.subscriberDrops;
  }

  /**
   * finish() is about to record this job's ending: an "ended" message that overtakes its reply (it
   * comes on another connection) is held until endingDone(), so the waiters get the record instead
   * of reading it back.
   */
  endingStarted(jobId: string): void {
    const ending = this.ending.get(jobId);
    if (ending) ending.calls += 1;
    else this.ending.set(jobId, { calls: 1, heard: false });
  }

  /** That finish() call is done: `record` when it recorded the ending, else nothing (then a held message wakes). */
  endingDone(jobId: string, record: JobRecord | undefined): void {
    const ending = this.ending.get(jobId);
    if (ending && --ending.calls === 0) this.ending.delete(jobId);
    if (record) this.wakeEnded(jobId, record);
    else if (ending?.heard) this.wakeEnded(jobId);
  }

  /** Also called locally with the record: a process that ended a job answers its own waiters without a round trip. */
  wakeEnded(jobId: string, record?: JobRecord): void {
    const waiters = this.endWaiters.get(jobId);
    if (!waiters) return;
    this.endWaiters.delete(jobId);
    for (const wake of waiters) wake(record);
  }
}
