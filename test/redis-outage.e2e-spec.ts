import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { RedisProcess } from './redis-process';
import { killService, ServiceProcess, startServiceProcess } from './service-process';
import { KEY, uniquePrefix, waitFor } from './utils';

const EXEC = '/v1/code/execute/python';
const ENDED = ['completed', 'failed', 'cancelled'];
const TIMEOUT_SEC = 2;
/** The contract: a sync caller is answered by its timeout plus a few seconds, whatever Redis does. */
const BOUND_MS = (TIMEOUT_SEC + 5) * 1000;

interface Outcome {
  marker: string;
  startedAt: number;
  ms: number;
  status: number | 'no answer';
  jobId?: string;
  retryAfter?: string;
  result?: unknown;
  code?: number;
}

describe('an outage of an external Redis (with its append-only file) under sync load, real service process', () => {
  let dir: string;
  let redis: RedisProcess;
  let service: ServiceProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pyexec-outage-'));
    redis = await RedisProcess.server(dir);
    service = await startServiceProcess(uniquePrefix(), {
      REDIS_URL: redis.url,
      SANDBOX_SERVERS: '2',
      STALLED_CHECK_MS: '2000',
    });
  }, 60_000);
  afterAll(async () => {
    await killService(service);
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every sync call within timeout + 5 s (503 + Retry-After meanwhile), recovers by itself, loses no accepted job', async () => {
    const http = () => request(service.url);
    const outcomes: Outcome[] = [];
    const inFlight = new Set<string>();
    let stopLoad = false;
    let seq = 0;
    const callOnce = async () => {
      const marker = `sync-${(seq += 1)}`;
      const startedAt = Date.now();
      inFlight.add(marker);
      try {
        const res = await http()
          .post(EXEC)
          .set('x-api-key', KEY)
          .timeout(BOUND_MS + 5000)
          .send({ code: `import time\ntime.sleep(0.2)\n${JSON.stringify(marker)}`, timeout: TIMEOUT_SEC });
        outcomes.push({
          marker,
          startedAt,
          ms: Date.now() - startedAt,
          status: res.status,
          jobId: res.body.job_id ?? undefined,
          retryAfter: res.headers['retry-after'],
          result: res.body.response?.result,
          code: res.body.code,
        });
      } catch {
        outcomes.push({ marker, startedAt, ms: Date.now() - startedAt, status: 'no answer' });
      }
      inFlight.delete(marker);
    };
    const loops = Array.from({ length: 4 }, async () => {
      while (!stopLoad) await callOnce();
    });

    await waitFor('sync calls to succeed', () => outcomes.filter((o) => o.status === 200).length >= 8, 15_000);
    const asyncJobs: Array<{ jobId: string; marker: string }> = [];
    for (let i = 0; i < 4; i += 1) {
      const marker = `async-${i}`;
      const res = await http()
        .post(EXEC)
        .set('x-api-key', KEY)
        .send({ code: `import time\ntime.sleep(1)\n${JSON.stringify(marker)}`, async: true });
      expect(res.status).toBe(202);
      asyncJobs.push({ jobId: res.body.job_id, marker });
    }

    const outageAt = Date.now();
    await redis.stop('SIGKILL');
    const caught = [...inFlight]; // sync calls the outage catches mid-way
    // A request that needs Redis: 503 with Retry-After at once (bounded generously here: about a second is the aim).
    const probeAt = Date.now();
    const probe = await http().post(EXEC).set('x-api-key', KEY).send({ code: '1', async: true });
    expect(Date.now() - probeAt).toBeLessThan(2500);
    expect(probe.status).toBe(503);
    expect(probe.headers['retry-after']).toBe('1');
    expect(probe.body).toMatchObject({
      code: 503,
      error_code: 'SERVICE_UNAVAILABLE',
      job_id: null,
      message: expect.stringContaining('Redis'),
      response: null,
    });
    const editor = await http().post('/api/v1/python/execute').set('x-api-key', KEY).send({ code: '1' });
    expect([editor.status, editor.body.success, editor.body.error]).toEqual([503, false, 'SERVICE_UNAVAILABLE']);
    const read = await http().get('/v1/jobs').set('x-api-key', KEY);
    expect([read.status, read.body.error_code, read.headers['retry-after']]).toEqual([503, 'SERVICE_UNAVAILABLE', '1']);
    const ready = await waitFor(
      '/health/ready to answer 503',
      async () => {
        const res = await http().get('/health/ready');
        return res.status === 503 && res;
      },
      3000,
    );
    expect(ready.headers['retry-after']).toBe('1');
    // Redis stays down until every caught call is answered and new calls have been refused meanwhile.
    await waitFor(
      'the calls caught by the outage to be answered, and later ones refused',
      () =>
        caught.every((marker) => !inFlight.has(marker)) &&
        outcomes.filter((o) => o.startedAt > outageAt && o.status === 503).length >= 4,
      BOUND_MS + 5000,
    );
    await redis.start();
    const backAt = Date.now();

    await waitFor(
      'a sync 200 after Redis returned',
      () => outcomes.some((o) => o.startedAt >= backAt && o.status === 200),
      15_000,
    );
    await waitFor('/health/ready to answer 200', async () => (await http().get('/health/ready')).status === 200, 5000);
    stopLoad = true;
    await Promise.all(loops);

    const slowest = Math.max(...outcomes.map((o) => o.ms));
    const slow = outcomes.filter((o) => o.ms > BOUND_MS);
    if (slow.length > 0) {
      console.log(
        'calls over the bound (start relative to the outage and to the return of Redis, ms):',
        slow.map((o) => ({ ...o, fromOutage: o.startedAt - outageAt, fromBack: o.startedAt - backAt })),
      );
    }
    expect(outcomes.filter((o) => o.status === 'no answer')).toEqual([]);
    expect(slowest).toBeLessThanOrEqual(BOUND_MS);
    expect(outcomes.filter((o) => o.status !== 200 && o.status !== 503)).toEqual([]);
    const unavailable = outcomes.filter((o) => o.status === 503);
    expect(unavailable.length).toBeGreaterThan(0);
    expect(unavailable.filter((o) => o.retryAfter !== '1' || o.code !== 503)).toEqual([]);
    expect(outcomes.filter((o) => o.status === 200 && o.result !== o.marker)).toEqual([]);

    // Accepted = the caller holds a job_id: every one of them ends completed with its own result.
    const accepted = [
      ...outcomes.filter((o) => o.jobId).map((o) => ({ jobId: o.jobId!, marker: o.marker })),
      ...asyncJobs,
    ];
    for (const { jobId, marker } of accepted) {
      // A job whose end could not be written during the outage is re-run by the stalled-job check once Redis is back.
      const job = await waitFor(
        `job ${jobId} to end`,
        async () => {
          const res = await http().get(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
          return res.status === 200 && ENDED.includes(res.body.response.status) ? res.body.response : null;
        },
        15_000,
      );
      expect({ jobId, status: job.status, result: job.result.response?.result }).toEqual({
        jobId,
        status: 'completed',
        result: marker,
      });
    }
  });
});
