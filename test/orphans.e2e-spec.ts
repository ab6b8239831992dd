import Redis from 'ioredis';
import { ExecutionQueue } from '../src/jobs/execution.queue';
import { JobRepository } from '../src/jobs/job.repository';
import { UNQUEUED_GRACE_MS, UnqueuedJobReconciler } from '../src/jobs/unqueued-job.reconciler';
import { KEY, OTHER_KEY, SHARED_REDIS_URL, startTestApp, TestApp, waitFor } from './utils';

const EXEC = '/v1/code/execute/python';
const bullJobKey = /:bull:executions:[0-9a-f-]{36}$/;

/**
 * What a submit can leave behind under the test prefix: job records, Idempotency-Keys, Bull job
 * hashes (each key's name), the members of owner indexes and of the unqueued set, Bull's waiting count.
 */
async function jobState(redis: Redis, t: TestApp): Promise<Record<string, string[] | number>> {
  const keys = (await redis.keys(`${t.prefix}:*`)).sort();
  const state: Record<string, string[] | number> = {
    keys: keys.filter((k) => /:(job|idem):/.test(k) || bullJobKey.test(k)),
    waiting: await t.app.get(ExecutionQueue).waitingCount(),
  };
  for (const key of keys.filter((k) => k.includes(':owner:') || k.endsWith(':unqueued'))) {
    state[key] = (await redis.zrange(key, 0, -1)).sort();
  }
  return state;
}

describe('a refused submit leaves no job record and no queue entry', () => {
  let t: TestApp;
  let redis: Redis;
  beforeAll(async () => {
    t = await startTestApp({
      MAX_QUEUE_LENGTH: '1',
      RATE_LIMIT_PER_MINUTE: '6',
      MAX_CODE_BYTES: '100',
      SANDBOX_SERVERS: '1',
      WORKER_CONCURRENCY: '1',
    });
    redis = new Redis(SHARED_REDIS_URL);
  });
  afterAll(async () => {
    redis.disconnect();
    await t.close();
  });

  it('queue full, validation, code too large, rate limit: the job state is as it was', async () => {
    const post = (body: object, headers: Record<string, string> = {}) =>
      t.http.post(EXEC).set('x-api-key', KEY).set(headers).send(body);
    const slow = { code: 'import time\ntime.sleep(3)', async: true };
    const running = await post(slow);
    await waitFor(
      'the first job to run',
      async () =>
        (await t.http.get(`/v1/jobs/${running.body.job_id}`).set('x-api-key', KEY)).body.response.status === 'running',
    );
    expect((await post(slow)).status).toBe(202); // waits: the queue is full from here on
    const before = await jobState(redis, t);

    expect((await post({ code: '1' })).status).toBe(429);
    expect((await post({ code: '1' }, { 'Idempotency-Key': 'full-1' })).status).toBe(429);
    expect((await post({ code: '1', timeout: 0 }, { 'Idempotency-Key': 'bad-1' })).status).toBe(400);
    expect((await post({ code: 'x'.repeat(101) }, { 'Idempotency-Key': 'big-1' })).status).toBe(400);
    const limited = await post({ code: '1' }, { 'Idempotency-Key': 'rate-1' });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();

    expect(await jobState(redis, t)).toEqual(before);
  });
});

describe('a record whose queue entry never came', () => {
  let t: TestApp;
  let redis: Redis;
  let queue: ExecutionQueue;
  let repository: JobRepository;
  let reconciler: UnqueuedJobReconciler;
  beforeAll(async () => {
    t = await startTestApp({ SANDBOX_SERVERS: '1' });
    redis = new Redis(SHARED_REDIS_URL);
    queue = t.app.get(ExecutionQueue);
    repository = t.app.get(JobRepository, { strict: false });
    reconciler = t.app.get(UnqueuedJobReconciler, { strict: false });
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(async () => {
    redis.disconnect();
    await t.close();
  });

  const post = (body: object, key: string) =>
    t.http.post(EXEC).set('x-api-key', OTHER_KEY).set('Idempotency-Key', key).send(body);

  it('Redis fails the queue add: 503, and the record and its Idempotency-Key are gone before the answer', async () => {
    const before = await jobState(redis, t);
    jest.spyOn(queue, 'add').mockRejectedValueOnce(new Error('Connection is closed.'));
    const res = await post({ code: '1' }, 'add-fails-1');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: 503, job_id: null });
    expect(await jobState(redis, t)).toEqual(before);
    const retry = await post({ code: '1' }, 'add-fails-1');
    expect(retry.status).toBe(200);
  });

  it('the process dies between the two writes: the reconciler removes the record within its grace period', async () => {
    const jobKeys = async () => new Set(await redis.keys(`${t.prefix}:job:*`));
    const before = await jobKeys();
    const idempotencyKeysBefore = (await redis.keys(`${t.prefix}:idem:*`)).length;
    jest.spyOn(queue, 'add').mockRejectedValueOnce(new Error('Connection is closed.'));
    jest.spyOn(repository, 'abandon').mockRejectedValueOnce(new Error('the process died here'));
    expect((await post({ code: '1', async: true }, 'crash-1')).status).toBe(503);
    jest.restoreAllMocks();
    const orphans = [...(await jobKeys())].filter((k) => !before.has(k));
    expect(orphans).toHaveLength(1);
    const orphanId = orphans[0].split(':job:')[1];
    const traces = async () => ({
      record: await redis.exists(orphans[0]),
      newIdempotencyKeys: (await redis.keys(`${t.prefix}:idem:*`)).length - idempotencyKeysBefore,
      unqueued: await redis.zscore(`${t.prefix}:unqueued`, orphanId),
      listed: (await repository.listIds((await repository.get(queued.body.job_id))!.owner, 100, null)).some(
        (e) => e.id === orphanId,
      ),
    });

    // A job that did reach the queue stays, whatever its age.
    const queued = await t.http
      .post(EXEC)
      .set('x-api-key', OTHER_KEY)
      .send({ code: 'import time\ntime.sleep(1)', async: true });
    expect(await traces()).toMatchObject({ record: 1, newIdempotencyKeys: 1, listed: true });
    expect(await reconciler.reconcile(Date.now())).toBe(0); // nothing is past the grace period yet
    expect(await reconciler.reconcile(Date.now() + UNQUEUED_GRACE_MS + 1)).toBe(1);
    expect(await traces()).toEqual({ record: 0, newIdempotencyKeys: 0, unqueued: null, listed: false });
    await waitFor('the queued job to end', async () => {
      const job = await t.http.get(`/v1/jobs/${queued.body.job_id}`).set('x-api-key', OTHER_KEY);
      return job.body.response.status === 'completed';
    });
    // The Idempotency-Key went with the record: a retry runs afresh.
    const retry = await post({ code: '1', async: true }, 'crash-1');
    expect(retry.status).toBe(202);
    expect(`${t.prefix}:job:${retry.body.job_id}`).not.toBe(orphans[0]);
  });
});
