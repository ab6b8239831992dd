import Redis from 'ioredis';
import { hostPidsWith, KEY, OTHER_KEY, SHARED_REDIS_URL, sleep, startTestApp, TestApp, waitFor } from './utils';

const EXEC = '/v1/code/execute/python';

describe('jobs API (real Redis, real sandbox)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SANDBOX_SERVERS: '1', WORKER_CONCURRENCY: '1' });
  });
  afterAll(() => t.close());

  const submit = (body: object, key = KEY) => t.http.post(EXEC).set('x-api-key', key).send(body);
  const getJob = (id: string, key = KEY) => t.http.get(`/v1/jobs/${id}`).set('x-api-key', key);
  async function pollUntilEnded(id: string) {
    for (let i = 0; i < 100; i++) {
      const res = await getJob(id);
      if (['completed', 'failed', 'cancelled'].includes(res.body.response.status)) return res;
      await sleep(50);
    }
    throw new Error(`job ${id} did not end`);
  }

  it('async: 202 at once, then poll to completed with the final envelope', async () => {
    const accepted = await submit({ code: "print('hi')\n21 * 2", async: true, id: 'a-1' });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ code: 202, message: 'processing', id: 'a-1', max_queue_length: 0 });
    const done = await pollUntilEnded(accepted.body.job_id);
    expect(done.body).toMatchObject({ code: 200, job_id: accepted.body.job_id, id: 'a-1' });
    const job = done.body.response;
    expect(job).toMatchObject({ job_id: accepted.body.job_id, id: 'a-1', status: 'completed', webhook: null });
    expect(job.result).toMatchObject({ code: 200, response: { result: 42, stdout: 'hi\n' } });
    for (const field of ['created_at', 'started_at', 'ended_at'])
      expect(job[field]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(typeof job.run_time).toBe('number');
  });

  it("another key's job is 404 and never listed", async () => {
    const accepted = await submit({ code: '1', async: true });
    const other = await getJob(accepted.body.job_id, OTHER_KEY);
    expect(other.status).toBe(404);
    expect(other.body).toMatchObject({
      code: 404,
      job_id: accepted.body.job_id,
      endpoint: `/v1/jobs/${accepted.body.job_id}`,
    });
    const list = await t.http.get('/v1/jobs').set('x-api-key', OTHER_KEY);
    expect(list.body.response.jobs.map((j: { job_id: string }) => j.job_id)).not.toContain(accepted.body.job_id);
    expect((await t.http.delete(`/v1/jobs/${accepted.body.job_id}`).set('x-api-key', OTHER_KEY)).status).toBe(404);
  });

  it('listing: newest first, status filter, limit and cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await submit({ code: `${i}`, async: true })).body.job_id);
    await pollUntilEnded(ids[2]);
    const page1 = await t.http.get('/v1/jobs?limit=2').set('x-api-key', KEY);
    expect(page1.status).toBe(200);
    expect(page1.body.response.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([ids[2], ids[1]]);
    const cursor = page1.body.response.next_cursor;
    expect(cursor).toBeTruthy();
    const page2 = await t.http.get(`/v1/jobs?limit=2&cursor=${encodeURIComponent(cursor)}`).set('x-api-key', KEY);
    expect(page2.body.response.jobs[0].job_id).toBe(ids[0]);
    const completed = await t.http.get('/v1/jobs?status=completed&limit=100').set('x-api-key', KEY);
    expect(completed.body.response.jobs.every((j: { status: string }) => j.status === 'completed')).toBe(true);
    for (const bad of ['limit=0', 'limit=101', 'limit=abc', 'status=done', 'cursor=xyz']) {
      const res = await t.http.get(`/v1/jobs?${bad}`).set('x-api-key', KEY);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe(400);
    }
  });

  it('cancel a running job: 200, status cancelled, sandbox killed; a sync caller gets 499', async () => {
    const marker = `39.${process.pid}`; // the sandboxed `sleep` shows up on the host with this argument
    const code = `import subprocess\nsubprocess.run(['/usr/bin/sleep', '${marker}'])`;
    const sync = submit({ code, id: 'long' }).then((r) => r); // supertest sends on then()
    const jobId = await waitFor('the job to run', async () => {
      const list = await t.http.get('/v1/jobs?status=running').set('x-api-key', KEY);
      return list.body.response.jobs[0]?.job_id as string | undefined;
    });
    await waitFor('the sandboxed sleep to start', () => hostPidsWith(`sleep ${marker}`).length > 0, 5000);
    const started = Date.now();
    const cancelled = await t.http.delete(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.response.status).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(hostPidsWith(`sleep ${marker}`)).toEqual([]);
    const res = await sync;
    expect(res.status).toBe(499);
    expect(res.body).toMatchObject({ code: 499, error: 'Job cancelled', job_id: jobId });
    const again = await t.http.delete(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 409, job_id: jobId });
  });

  it('cancel a pending job: removed from the queue, never runs', async () => {
    const blocker = await submit({ code: 'import time\ntime.sleep(1)', async: true });
    await waitFor(
      'the blocker to run',
      async () => (await getJob(blocker.body.job_id)).body.response.status === 'running',
    );
    const pending = await submit({ code: "print('should not run')", async: true });
    const cancelled = await t.http.delete(`/v1/jobs/${pending.body.job_id}`).set('x-api-key', KEY);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.response).toMatchObject({ status: 'cancelled', started_at: null });
    expect(cancelled.body.response.result).toMatchObject({ code: 499, error: 'Job cancelled' });
    await pollUntilEnded(blocker.body.job_id);
    // One worker slot, first in first out: a job queued after it has run, so it would have run by now.
    expect((await submit({ code: '1' })).status).toBe(200);
    expect((await getJob(pending.body.job_id)).body.response.started_at).toBeNull();
  });

  it('unknown job: 404', async () => {
    const res = await getJob('00000000-0000-0000-0000-000000000000');
    expect(res.status).toBe(404);
  });

  it('Idempotency-Key returns the original job instead of running again', async () => {
    const body = { code: 'import random\nrandom.random()', async: true };
    const first = await t.http.post(EXEC).set('x-api-key', KEY).set('Idempotency-Key', 'idem-1').send(body);
    const second = await t.http.post(EXEC).set('x-api-key', KEY).set('Idempotency-Key', 'idem-1').send(body);
    expect(second.body.job_id).toBe(first.body.job_id);
    const other = await t.http.post(EXEC).set('x-api-key', OTHER_KEY).set('Idempotency-Key', 'idem-1').send(body);
    expect(other.body.job_id).not.toBe(first.body.job_id);
  });
});

describe('job retention (JOB_RETENTION_SECONDS=1)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SANDBOX_SERVERS: '1', JOB_RETENTION_SECONDS: '1' });
  });
  afterAll(() => t.close());

  it('an ended job, its index entry and its Idempotency-Key are gone after the retention window', async () => {
    const first = await t.http
      .post(EXEC)
      .set('x-api-key', KEY)
      .set('Idempotency-Key', 'keep-1')
      .send({ code: 'print(1)' });
    expect(first.status).toBe(200);
    const jobId = first.body.job_id as string;
    expect((await t.http.get(`/v1/jobs/${jobId}`).set('x-api-key', KEY)).status).toBe(200);
    await waitFor(
      'the record to expire',
      async () => (await t.http.get(`/v1/jobs/${jobId}`).set('x-api-key', KEY)).status === 404,
      10_000,
    );
    const list = await t.http.get('/v1/jobs').set('x-api-key', KEY);
    expect(list.body.response.jobs).toEqual([]);
    const redis = new Redis(SHARED_REDIS_URL);
    try {
      expect(await redis.keys(`${t.prefix}:job:*`)).toEqual([]);
      expect(await redis.keys(`${t.prefix}:idem:*`)).toEqual([]);
      expect(await redis.keys(`${t.prefix}:owner:*`)).toEqual([]); // listing pruned the expired entry
    } finally {
      redis.disconnect();
    }
    const again = await t.http
      .post(EXEC)
      .set('x-api-key', KEY)
      .set('Idempotency-Key', 'keep-1')
      .send({ code: 'print(1)' });
    expect(again.status).toBe(200);
    expect(again.body.job_id).not.toBe(jobId);
  });
});
