import { randomBytes, randomUUID } from 'node:crypto';
import Bull from 'bull';
import Redis from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { ExecutionQueue, EXECUTIONS_QUEUE, RUN_JOB } from './execution.queue';
import { FairDispatch } from './fair-dispatch';
import type { ExecutionJobData } from './job.types';

// The turn arithmetic on the machine's shared Redis, and the order a real Bull queue then serves.
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

async function deleteUnder(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
}

describe('FairDispatch (turns on a real Redis)', () => {
  const prefix = `pyexec-test-fair-${process.pid}-${randomBytes(4).toString('hex')}`;
  let redis: Redis;
  let fair: FairDispatch;
  const turns = (owner: string, n: number) =>
    Promise.all(Array.from({ length: n }, () => fair.takeTurn(owner, randomUUID())));

  beforeAll(() => {
    redis = new Redis(redisUrl);
    fair = new FairDispatch(redis, prefix);
  });
  afterEach(() => deleteUnder(redis, prefix));
  afterAll(() => redis.disconnect());

  it('a key alone gets consecutive turns (FIFO); another key starts at the turn being served, not behind the backlog', async () => {
    expect((await turns('a', 5)).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5]);
    expect(await fair.takeTurn('b', randomUUID())).toBe(1);
    await fair.served(3);
    expect(await fair.takeTurn('c', randomUUID())).toBe(4);
    expect(await fair.takeTurn('b', randomUUID())).toBe(4); // b's turn 1 is behind the clock: gone
    expect(await fair.takeTurn('a', randomUUID())).toBe(6);
  });

  it('the clock never moves back (workers take jobs concurrently)', async () => {
    await fair.served(7);
    await fair.served(4);
    expect(await fair.takeTurn('a', randomUUID())).toBe(8);
  });

  it('a released turn is given back: a key that cancelled its backlog is not served after it', async () => {
    const ids = Array.from({ length: 4 }, () => randomUUID());
    for (const id of ids) await fair.takeTurn('a', id);
    await fair.release('a', ids[3]);
    expect(await fair.takeTurn('a', randomUUID())).toBe(4);
    for (const id of ids) await fair.release('a', id);
    await fair.served(1);
    expect(await fair.takeTurn('a', randomUUID())).toBe(5); // its remaining waiting turn (4) still counts
  });

  it("a key's waiting turns expire when it stops submitting", async () => {
    await fair.takeTurn('a', randomUUID());
    const ttl = await redis.pttl(`${prefix}:fair:turns:a`);
    expect(ttl).toBeGreaterThan(3600_000);
    expect(ttl).toBeLessThanOrEqual(24 * 3600_000);
  });
});

describe('ExecutionQueue with FairDispatch (a real Bull queue)', () => {
  const prefix = `pyexec-test-fairq-${process.pid}-${randomBytes(4).toString('hex')}`;
  let redis: Redis;
  let bull: Bull.Queue<ExecutionJobData>;
  let queue: ExecutionQueue;
  const job = (owner: string): ExecutionJobData => ({
    jobId: randomUUID(),
    owner,
    clientId: null,
    code: '',
    stdin: '',
    timeoutSec: 1,
    endpoint: '/v1/code/execute/python',
  });

  beforeAll(() => {
    redis = new Redis(redisUrl);
    bull = new Bull(EXECUTIONS_QUEUE, redisUrl, { prefix: `${prefix}:bull` });
    queue = new ExecutionQueue(bull, { jobRetentionSec: 60 } as AppConfig, new FairDispatch(redis, prefix));
  });
  afterAll(async () => {
    await bull.close();
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  it('keys with waiting jobs take turns, one job each, whatever order they were queued in', async () => {
    const queued: ExecutionJobData[] = [];
    for (const owner of ['a', 'a', 'a', 'a', 'a', 'b', 'b', 'c']) {
      queued.push(job(owner));
      await queue.add(queued[queued.length - 1]);
    }
    const cancelled = queued[3]; // a's 4th: removed from the queue
    await queue.remove(cancelled.jobId);
    expect(await queue.waitingCount()).toBe(7);

    const served: string[] = [];
    const done = new Promise<void>((resolve) => {
      void bull.process(RUN_JOB, 1, async (j: Bull.Job<ExecutionJobData>) => {
        served.push(j.data.owner);
        if (served.length === 7) resolve();
      });
    });
    await done;
    expect(served).toEqual(['a', 'b', 'c', 'a', 'b', 'a', 'a']);
    // The clock followed: a new key's job now comes after everything served (turn 5 = a's last).
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(await new FairDispatch(redis, prefix).takeTurn('d', randomUUID())).toBe(6);
  });
});
