import Redis from 'ioredis';
import { ERROR_CODES } from '../src/common/error-code';
import { KEY, SHARED_REDIS_URL, startTestApp, TestApp, waitFor } from './utils';

const PATH = '/v1/code/execute/python';
const EDITOR = '/api/v1/python/execute';

type Res = { status: number; body: Record<string, unknown>; headers: Record<string, string> };

/** A v1 error body: the status in `code`, a code from the enum, and the request id header. */
function expectV1Error(res: Res, status: number, errorCode: string): void {
  expect({ status: res.status, code: res.body.code, error_code: res.body.error_code }).toEqual({
    status,
    code: status,
    error_code: errorCode,
  });
  expect(ERROR_CODES).toContain(res.body.error_code);
  expect(res.headers['x-request-id']).toBeTruthy();
}

describe('error_code and headers on the wire (v1 and editor)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // A generous rate limit: every execute response carries the RateLimit headers.
    t = await startTestApp({ MAX_BODY_BYTES: '65536', RATE_LIMIT_PER_MINUTE: '1000', MEMORY_LIMIT_MB: '128' });
  });
  afterAll(() => t.close());

  const run = (body: object) => t.http.post(PATH).set('x-api-key', KEY).send(body);

  it('401: UNAUTHORIZED, WWW-Authenticate: Bearer, on v1 and editor routes', async () => {
    for (const req of [
      t.http.post(PATH).send({ code: '1' }),
      t.http.get('/v1/jobs').set('authorization', 'Bearer wrong'),
      t.http.get('/v1/runtime'),
    ]) {
      const res = await req;
      expectV1Error(res, 401, 'UNAUTHORIZED');
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
    const editor = await t.http.get('/api/v1/python/jobs');
    expect([editor.status, editor.body.error, editor.headers['www-authenticate']]).toEqual([
      401,
      'UNAUTHORIZED',
      'Bearer',
    ]);
  });

  it('400: INVALID_REQUEST for a bad body and for malformed JSON; no RateLimit on 413/415', async () => {
    const invalid = await run({ code: 'x', timeout: 0 });
    expectV1Error(invalid, 400, 'INVALID_REQUEST');
    expect(invalid.headers['ratelimit-policy']).toBe('"execute";q=1000;w=60'); // validation runs after the guard
    const malformed = await t.http.post(PATH).set('x-api-key', KEY).set('content-type', 'application/json').send('{');
    expectV1Error(malformed, 400, 'INVALID_REQUEST');
    const tooLarge = await run({ code: 'x = 1\n'.repeat(20000) });
    expectV1Error(tooLarge, 413, 'PAYLOAD_TOO_LARGE');
    const media = await t.http.post(PATH).set('x-api-key', KEY).set('content-type', 'text/plain').send('print(1)');
    expectV1Error(media, 415, 'UNSUPPORTED_MEDIA_TYPE');
    // Refused while the body is read, before the rate limit counts the request.
    expect([tooLarge.headers['ratelimit-policy'], media.headers['ratelimit-policy']]).toEqual([undefined, undefined]);
  });

  it('404: NOT_FOUND for an unknown job and an unknown route; 409 JOB_ALREADY_FINISHED', async () => {
    const job = await t.http.get('/v1/jobs/3fa85f64-5717-4562-b3fc-2c963f66afa6').set('x-api-key', KEY);
    expectV1Error(job, 404, 'NOT_FOUND');
    expectV1Error(await t.http.get('/v1/nothing-here').set('x-api-key', KEY), 404, 'NOT_FOUND');
    const done = await run({ code: '1' });
    expect(done.status).toBe(200);
    expect(done.body).not.toHaveProperty('error_code');
    const cancel = await t.http.delete(`/v1/jobs/${done.body.job_id}`).set('x-api-key', KEY);
    expectV1Error(cancel, 409, 'JOB_ALREADY_FINISHED');
  });

  it.each([
    ['an exception', { code: '1/0' }, 400, 'EXECUTION_FAILED', undefined],
    ['a SyntaxError', { code: 'def' }, 400, 'EXECUTION_FAILED', undefined],
    ['sys.exit(3)', { code: 'import sys\nsys.exit(3)' }, 400, 'EXECUTION_FAILED', undefined],
    ['a MemoryError that ends the program', { code: 'x = bytearray(1 << 40)' }, 400, 'RESOURCE_LIMIT', 'memory'],
    ['a timeout', { code: 'import time\ntime.sleep(5)', timeout: 1 }, 408, 'TIMEOUT', undefined],
  ])('%s %j: %i %s (limit %s), the same in the job record', async (_label, body, status, errorCode, limit) => {
    const res = await run(body);
    expectV1Error(res, status, errorCode);
    expect(res.body.limit).toBe(limit);
    expect(res.headers['ratelimit-policy']).toBe('"execute";q=1000;w=60');
    const job = await t.http.get(`/v1/jobs/${res.body.job_id}`).set('x-api-key', KEY);
    expect(job.body.response.result).toMatchObject({ code: status, error_code: errorCode });
  });

  it('the editor dialect: the same outcomes in its own codes (a limit is EXECUTION_FAILED)', async () => {
    const limit = await t.http.post(EDITOR).set('x-api-key', KEY).send({ code: 'x = bytearray(1 << 40)' });
    expect([limit.status, limit.body.error]).toEqual([400, 'EXECUTION_FAILED']);
    const timeout = await t.http
      .post(EDITOR)
      .set('x-api-key', KEY)
      .send({ code: 'import time\ntime.sleep(5)', timeout: 1 });
    expect([timeout.status, timeout.body.error]).toEqual([408, 'TIMEOUT']);
  });

  it('499: JOB_CANCELLED to a sync caller whose job is cancelled', async () => {
    const marker = `cancel-${Date.now()}`;
    const pending = run({ code: 'import time\ntime.sleep(30)', id: marker, timeout: 60 }).then((r) => r);
    const jobId = await waitFor('the job to run', async () => {
      const list = await t.http.get('/v1/jobs?status=running').set('x-api-key', KEY);
      return (list.body.response.jobs as Array<{ id: string; job_id: string }>).find((j) => j.id === marker)?.job_id;
    });
    expect((await t.http.delete(`/v1/jobs/${jobId}`).set('x-api-key', KEY)).status).toBe(200);
    const res = await pending;
    expectV1Error(res, 499, 'JOB_CANCELLED');
  });

  it('202: Location /v1/jobs/{job_id} on both dialects; RateLimit headers on execute routes only', async () => {
    const accepted = await run({ code: '1', async: true });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.location).toBe(`/v1/jobs/${accepted.body.job_id}`);
    expect(accepted.headers['ratelimit-policy']).toBe('"execute";q=1000;w=60');
    expect(accepted.headers.ratelimit).toMatch(/^"execute";r=\d+;t=\d+$/);
    const followed = await t.http.get(accepted.headers.location).set('x-api-key', KEY);
    expect(followed.status).toBe(200);
    expect(followed.headers).not.toHaveProperty('ratelimit');
    const editor = await t.http.post(EDITOR).set('x-api-key', KEY).send({ code: '1', async: true });
    expect(editor.status).toBe(202);
    expect(editor.headers.location).toBe(`/v1/jobs/${editor.body.job_id}`);
  });

  it('x-request-id on every response: echoed when sane, generated otherwise', async () => {
    for (const [req, status] of [
      [t.http.get('/health/live'), 200],
      [t.http.get('/v1/jobs').set('x-api-key', KEY), 200],
      [t.http.get('/v1/jobs'), 401],
      [t.http.get('/nowhere').set('x-api-key', KEY), 404],
      [t.http.get('/docs-json'), 200],
    ] as const) {
      const echoed = await req.set('x-request-id', 'caller-req-42');
      expect([echoed.status, echoed.headers['x-request-id']]).toEqual([status, 'caller-req-42']);
    }
    const generated = await t.http.get('/health/live').set('x-request-id', 'not sane!');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a record stored by the previous version (an HTTP status as its outcome) still reads and maps', async () => {
    const res = await run({ code: 'print("kept")\n1/0' });
    expect(res.status).toBe(400);
    const jobId = res.body.job_id as string;
    // The outcome as the previous version wrote it: `code` (an HTTP status) and `limit` beside it.
    const legacy = {
      code: 400,
      exitCode: 137,
      output: { stdout: 'kept\n', stderr: '', stdoutTruncated: false, stderrTruncated: false },
      result: null,
      error: 'Memory limit exceeded',
      limit: 'memory',
      runMs: 5,
      pid: 1,
      serverPid: 2,
    };
    const redis = new Redis(SHARED_REDIS_URL);
    try {
      await redis.hset(`${t.prefix}:job:${jobId}`, 'outcome', JSON.stringify(legacy));
    } finally {
      redis.disconnect();
    }
    const job = await t.http.get(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
    expect(job.status).toBe(200);
    expect(job.body.response.result).toMatchObject({
      code: 400,
      error_code: 'RESOURCE_LIMIT',
      limit: 'memory',
      exit_code: 137,
      stdout: 'kept\n',
    });
    const editor = await t.http.get(`/api/v1/python/job?id=${jobId}`).set('x-api-key', KEY);
    expect(editor.body.job).toMatchObject({ status: 'failed', error: 'Memory limit exceeded', output: 'kept\n' });
  });
});

describe('429 and Retry-After (an API process without workers: async jobs stay queued)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ROLE: 'api', MAX_QUEUE_LENGTH: '1', RATE_LIMIT_PER_MINUTE: '3' });
  });
  afterAll(() => t.close());

  it('QUEUE_FULL, then RATE_LIMITED; each with Retry-After and the RateLimit headers', async () => {
    const first = await t.http.post(PATH).set('x-api-key', KEY).send({ code: '1', async: true });
    expect(first.status).toBe(202);
    expect(first.headers.ratelimit).toBe('"execute";r=2;t=60');
    const full = await t.http.post(PATH).set('x-api-key', KEY).send({ code: '1', async: true });
    expectV1Error(full, 429, 'QUEUE_FULL');
    expect(full.headers['retry-after']).toBe('1');
    expect(full.headers.ratelimit).toMatch(/^"execute";r=1;t=\d+$/);
    const editorFull = await t.http.post(EDITOR).set('x-api-key', KEY).send({ code: '1', async: true });
    expect([editorFull.status, editorFull.body.error, editorFull.headers['retry-after']]).toEqual([
      429,
      'QUEUE_FULL',
      '1',
    ]);
    const limited = await t.http.post(PATH).set('x-api-key', KEY).send({ code: '1', async: true });
    expectV1Error(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.headers['ratelimit-policy']).toBe('"execute";q=3;w=60');
    expect(limited.headers.ratelimit).toMatch(/^"execute";r=0;t=\d+$/);
  });
});
