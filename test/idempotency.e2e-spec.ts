import Redis from 'ioredis';
import { KEY, SHARED_REDIS_URL, startTestApp, TestApp, waitFor } from './utils';

const EXEC = '/v1/code/execute/python';

describe('Idempotency-Key (API.md, POST /v1/code/execute/python)', () => {
  let t: TestApp;
  let redis: Redis;
  beforeAll(async () => {
    t = await startTestApp({ SANDBOX_SERVERS: '2' });
    redis = new Redis(SHARED_REDIS_URL);
  });
  afterAll(async () => {
    redis.disconnect();
    await t.close();
  });

  const submit = (key: string, body: object) =>
    t.http.post(EXEC).set('x-api-key', KEY).set('Idempotency-Key', key).send(body);
  const jobRecords = async () => (await redis.keys(`${t.prefix}:job:*`)).length;
  const status = async (jobId: string) =>
    (await t.http.get(`/v1/jobs/${jobId}`).set('x-api-key', KEY)).body.response.status as string;

  it('a repeat while the job runs, and after it ended, answers with the first job', async () => {
    const body = { code: 'import time\ntime.sleep(1)\n42', async: true };
    const first = await submit('run-1', body);
    expect(first.status).toBe(202);
    await waitFor('the job to run', async () => (await status(first.body.job_id)) === 'running');
    const whileRunning = await submit('run-1', { async: true, code: body.code }); // keys in another order
    expect(whileRunning.status).toBe(202);
    expect(whileRunning.body.job_id).toBe(first.body.job_id);
    await waitFor('the job to end', async () => (await status(first.body.job_id)) === 'completed');
    const after = await submit('run-1', body);
    expect(after.body.job_id).toBe(first.body.job_id);
  });

  it('sync: a repeat waits for the same job and gets the same envelope', async () => {
    const body = { code: 'import time, random\ntime.sleep(0.5)\nrandom.random()' };
    const [a, b] = await Promise.all([submit('sync-1', body), submit('sync-1', body)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body.job_id).toBe(a.body.job_id);
    expect(b.body.response.result).toBe(a.body.response.result);
  });

  it('concurrent repeats make exactly one job, and every one answers with it', async () => {
    const before = await jobRecords();
    const body = { code: 'import time\ntime.sleep(0.3)', async: true };
    const answers = await Promise.all(Array.from({ length: 12 }, () => submit('burst-1', body)));
    expect(answers.map((r) => r.status)).toEqual(Array(12).fill(202));
    expect(new Set(answers.map((r) => r.body.job_id)).size).toBe(1);
    expect((await jobRecords()) - before).toBe(1);
  });

  it('the same key with a different body: 422 IDEMPOTENCY_KEY_REUSED, and nothing is created or run', async () => {
    const first = await submit('reuse-1', { code: 'print(1)' });
    expect(first.status).toBe(200);
    const before = await jobRecords();
    const waiting = await redis.zcard(`${t.prefix}:unqueued`);
    for (const other of [{ code: 'print(2)' }, { code: 'print(1)', async: true }, { code: 'print(1)', timeout: 30 }]) {
      const res = await submit('reuse-1', other);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({
        code: 422,
        error_code: 'IDEMPOTENCY_KEY_REUSED',
        job_id: null,
        response: null,
        exit_code: 422,
        endpoint: EXEC,
      });
    }
    expect(await jobRecords()).toBe(before);
    expect(await redis.zcard(`${t.prefix}:unqueued`)).toBe(waiting);
    // The first job is still what the key answers with.
    expect((await submit('reuse-1', { code: 'print(1)' })).body.job_id).toBe(first.body.job_id);
  });
});
