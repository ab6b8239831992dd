import { randomBytes, randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { LuaScript } from '../redis/lua-script';
import { JobEventLog } from './job-event-log';
import { JobRepository } from './job.repository';
import type { JobOutcome, JobRecord } from './job.types';

// The repository's scripts on the machine's shared Redis, under a prefix of their own.
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const prefix = `pyexec-test-repo-${process.pid}-${randomBytes(4).toString('hex')}`;

const outcome: JobOutcome = {
  ending: { kind: 'completed' },
  exitCode: 0,
  output: { stdout: 'hi\n', stderr: '', stdoutTruncated: false, stderrTruncated: false },
  result: { a: [1, 'two'] },
  error: null,
  runMs: 4.25,
  pid: 11,
  serverPid: 12,
};

function newRecord(over: Partial<JobRecord> = {}): JobRecord {
  return {
    jobId: randomUUID(),
    endpoint: '/v1/code/execute/python',
    owner: 'owner-a',
    clientId: 'c-1',
    status: 'pending',
    cancelRequested: false,
    createdAtMs: Date.now() - 50,
    startedAtMs: null,
    endedAtMs: null,
    queueTimeSec: null,
    runTimeSec: null,
    queueLength: null,
    outcome: null,
    webhook: null,
    ...over,
  };
}

describe('JobRepository (its Lua scripts on a real Redis)', () => {
  let redis: Redis;
  let repository: JobRepository;
  const ending = (over: Partial<JobOutcome> = {}) => ({
    status: 'completed' as const,
    endedAtMs: Date.now(),
    queueLength: 3,
    outcome: { ...outcome, ...over },
    channel: `${prefix}:job-events`,
    endedMessage: 'ended:x',
  });

  beforeAll(() => {
    redis = new Redis(redisUrl);
    repository = new JobRepository(redis, prefix, 600);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('create: the record reads back as written, and is in its owner index', async () => {
    const record = newRecord({ clientId: null });
    await repository.create(record);
    expect(await repository.get(record.jobId)).toEqual(record);
    expect(await repository.listIds('owner-a', 10, null)).toContainEqual({ id: record.jobId, ms: record.createdAtMs });
    expect(await redis.pttl(`${prefix}:owner:owner-a`)).toBeGreaterThan(0);
  });

  it('create with an Idempotency-Key: one record per key while its job exists; abandon removes record, index entry and key', async () => {
    const first = newRecord();
    const claim = { keyHash: 'kh', value: `h1 ${first.jobId}` };
    expect(await repository.create(first, redis, claim)).toBeNull();
    const second = newRecord();
    expect(await repository.create(second, redis, { keyHash: 'kh', value: `h2 ${second.jobId}` })).toBe(claim.value);
    expect(await repository.get(second.jobId)).toBeNull();
    expect(await repository.idempotencyClaim('owner-a', 'kh')).toBe(claim.value);
    expect(await redis.ttl(`${prefix}:idem:owner-a:kh`)).toBeGreaterThan(590);

    expect(await repository.abandon(first.jobId, 'owner-a')).toBe(true);
    expect(await repository.get(first.jobId)).toBeNull();
    expect(await repository.idempotencyClaim('owner-a', 'kh')).toBeNull();
    expect((await repository.listIds('owner-a', 100, null)).map((e) => e.id)).not.toContain(first.jobId);
    expect(await repository.unqueuedBefore(Date.now() + 1, 100)).not.toContain(first.jobId);
  });

  it('create over an Idempotency-Key whose job is gone claims it anew', async () => {
    const gone = newRecord();
    await redis.set(`${prefix}:idem:owner-a:stale`, `h1 ${gone.jobId}`);
    const fresh = newRecord();
    expect(await repository.create(fresh, redis, { keyHash: 'stale', value: `h1 ${fresh.jobId}` })).toBeNull();
    expect(await repository.idempotencyClaim('owner-a', 'stale')).toBe(`h1 ${fresh.jobId}`);
  });

  it('the unqueued set: a new job is in it until a worker takes it or it ends; abandon leaves a started job', async () => {
    const [taken, cancelled] = [newRecord(), newRecord()];
    await repository.create(taken);
    await repository.create(cancelled);
    const unqueued = () => repository.unqueuedBefore(Date.now() + 1, 1000);
    expect(await unqueued()).toEqual(expect.arrayContaining([taken.jobId, cancelled.jobId]));
    expect(await repository.unqueuedBefore(taken.createdAtMs, 1000)).not.toContain(taken.jobId);
    await repository.start(taken.jobId, Date.now());
    await repository.finish(cancelled.jobId, { ...ending(), status: 'cancelled' });
    expect(await unqueued()).not.toContain(taken.jobId);
    expect(await unqueued()).not.toContain(cancelled.jobId);
    expect(await repository.abandon(taken.jobId, 'owner-a')).toBe(false);
    expect(await repository.get(taken.jobId)).toMatchObject({ status: 'running' });
  });

  it('start: pending -> running (again after a stalled worker); refused once cancel was requested or it ended', async () => {
    const record = newRecord();
    await repository.create(record);
    expect(await repository.start(record.jobId, record.createdAtMs + 7)).toBe('started');
    expect(await repository.get(record.jobId)).toMatchObject({
      status: 'running',
      startedAtMs: record.createdAtMs + 7,
    });
    expect(await repository.start(record.jobId, record.createdAtMs + 9)).toBe('started');
    expect(await repository.requestCancel(record.jobId)).toBe(true);
    expect(await repository.start(record.jobId, Date.now())).toBe('cancel_requested');
    await repository.finish(record.jobId, ending());
    expect(await repository.start(record.jobId, Date.now())).toBe('ended');
    expect(await repository.start(randomUUID(), Date.now())).toBe('ended');
  });

  it('finish answers exactly the record a later read gets, with the queue length it was given; once only', async () => {
    const webhook = {
      url: 'https://example.com/h',
      status: 'pending' as const,
      attempts: 0,
      last_status_code: null,
      last_error: null,
      delivered_at: null,
    };
    const record = newRecord({ webhook });
    await repository.create(record);
    await repository.start(record.jobId, record.createdAtMs + 20);
    const ended = await repository.finish(record.jobId, ending());
    expect(ended).toMatchObject({
      status: 'completed',
      queueTimeSec: 0.02,
      runTimeSec: 0.00425,
      queueLength: 3,
      webhook,
    });
    expect(ended).toEqual(await repository.get(record.jobId));
    expect(await repository.undeliveredWebhooks(Date.now() + 1, 10)).toContain(record.jobId);
    expect(
      await repository.finish(record.jobId, ending({ ending: { kind: 'failed', failure: 'internal' } })),
    ).toBeNull();
    expect((await repository.get(record.jobId))?.outcome).toEqual(outcome);
  });

  it('finish of a job that never started measures its run time as 0 and its queue time up to the end', async () => {
    const record = newRecord({ clientId: null });
    await repository.create(record);
    const endedAtMs = record.createdAtMs + 30;
    const ended = await repository.finish(record.jobId, { ...ending({ runMs: null }), endedAtMs });
    expect(ended).toMatchObject({ startedAtMs: null, queueTimeSec: 0.03, runTimeSec: 0, clientId: null });
    expect(ended).toEqual(await repository.get(record.jobId));
  });

  it("finish appends the final status and the end to the job's event stream, with the record's TTL; once", async () => {
    const record = newRecord();
    await repository.create(record);
    const log = new JobEventLog(redis, prefix, 7200);
    await log.append(record.jobId, [{ type: 'stdout', data: 'hi\n' }]);
    await repository.finish(record.jobId, ending());
    await repository.finish(record.jobId, ending());
    const entries = await log.readAfter(record.jobId, '0-0', 10);
    expect(entries.map(({ type, data }) => [type, data])).toEqual([
      ['stdout', 'hi\n'],
      ['status', 'completed'],
      ['end', ''],
    ]);
    expect(await redis.ttl(log.key(record.jobId))).toBeLessThanOrEqual(600);
  });
});

describe('LuaScript', () => {
  it('runs a script Redis has not cached (EVAL once), then by its SHA1', async () => {
    const redis = new Redis(redisUrl);
    try {
      const script = new LuaScript(`-- ${randomUUID()}\nreturn ARGV[1] .. KEYS[1]`);
      expect(await script.run(redis, ['k'], ['v'])).toBe('vk');
      expect(await script.run(redis, ['k2'], [3])).toBe('3k2');
    } finally {
      redis.disconnect();
    }
  });
});
