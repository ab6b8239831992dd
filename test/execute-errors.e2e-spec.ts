import Redis from 'ioredis';
import { KEY, OTHER_KEY, SHARED_REDIS_URL, startTestApp, TestApp, waitFor } from './utils';

const PATH = '/v1/code/execute/python';

describe('POST /v1/code/execute/python: bad requests', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MAX_BODY_BYTES: '65536', MAX_CODE_BYTES: '1024' });
  });
  afterAll(() => t.close());

  const expectValidationError = (res: { status: number; body: Record<string, unknown> }, field: string) => {
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 400,
      error: 'Missing or invalid parameters',
      stdout: '',
      exit_code: 400,
      job_id: null,
      response: null,
      endpoint: PATH,
    });
    expect((res.body.details as string[]).some((d) => d.startsWith(field))).toBe(true);
  };

  it.each([
    [{}, 'code'],
    [{ code: '' }, 'code'],
    [{ code: '  \n ' }, 'code'],
    [{ code: 1 }, 'code'],
    [{ code: 'x', timeout: 0 }, 'timeout'],
    [{ code: 'x', timeout: 301 }, 'timeout'],
    [{ code: 'x', timeout: 1.5 }, 'timeout'],
    [{ code: 'x', timeout: '10' }, 'timeout'],
    [{ code: 'x', webhook_url: 'ftp://x.example/y' }, 'webhook_url'],
    [{ code: 'x', webhook_url: 'nope' }, 'webhook_url'],
    [{ code: 'x', webhook_url: 'javascript:alert(1)' }, 'webhook_url'],
    [{ code: 'x', webhook_url: 'file:///etc/passwd' }, 'webhook_url'],
    [{ code: 'x', webhook_url: 'example.com/hook' }, 'webhook_url'],
    [{ code: 'x', webhook_url: 'gopher://127.0.0.1:6379/_FLUSHALL' }, 'webhook_url'],
    [{ code: 'x', id: 'i'.repeat(257) }, 'id'],
    [{ code: 'x', async: 'true' }, 'async'],
    [{ code: 'x', surprise: true }, 'surprise'],
    [{ code: 'x'.repeat(1025) }, 'code'],
  ])('%j → 400 naming %s', async (body, field) => {
    const res = await t.http.post(PATH).set('x-api-key', KEY).send(body);
    expectValidationError(res, field);
  });

  it('malformed JSON → 400 with the envelope', async () => {
    const res = await t.http.post(PATH).set('x-api-key', KEY).set('content-type', 'application/json').send('{"code": ');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 400, error: 'Missing or invalid parameters', exit_code: 400, job_id: null });
  });

  it('a JSON array or string body → 400', async () => {
    for (const raw of ['[1,2]', '"print(1)"']) {
      const res = await t.http.post(PATH).set('x-api-key', KEY).set('content-type', 'application/json').send(raw);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe(400);
    }
  });

  it('a body over MAX_BODY_BYTES → 413', async () => {
    const res = await t.http
      .post(PATH)
      .set('x-api-key', KEY)
      .send({ code: 'x = 1\n'.repeat(20000) });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 413, exit_code: 413, job_id: null });
    expect(res.body.error).toMatch(/65536/);
  });

  it('a non-JSON Content-Type → 415', async () => {
    const res = await t.http.post(PATH).set('x-api-key', KEY).set('content-type', 'text/plain').send("print('hi')");
    expect(res.status).toBe(415);
    // Thrown in middleware, and still the route's path.
    expect(res.body).toMatchObject({ code: 415, exit_code: 415, endpoint: PATH });
  });

  describe('401 before anything else', () => {
    it('no key', async () => {
      const res = await t.http.post(PATH).send({ code: '1' });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({
        code: 401,
        message: 'Unauthorized',
        error: 'Unauthorized',
        job_id: null,
        endpoint: PATH,
      });
    });
    it('wrong key, both header forms', async () => {
      expect((await t.http.post(PATH).set('x-api-key', 'nope').send({ code: '1' })).status).toBe(401);
      expect((await t.http.post(PATH).set('authorization', 'Bearer nope').send({ code: '1' })).status).toBe(401);
    });
    it('malformed body without a key', async () => {
      const res = await t.http.post(PATH).set('content-type', 'application/json').send('{not json');
      expect(res.status).toBe(401);
    });
    it('oversized body without a key', async () => {
      const res = await t.http
        .post(PATH)
        .set('x-api-key', 'wrong')
        .send({ code: 'x'.repeat(200_000) });
      expect(res.status).toBe(401);
    });
    it('wrong content type without a key', async () => {
      const res = await t.http.post(PATH).set('content-type', 'text/plain').send('x');
      expect(res.status).toBe(401);
    });
  });
});

describe('MAX_QUEUE_LENGTH', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MAX_QUEUE_LENGTH: '1', SANDBOX_SERVERS: '1', WORKER_CONCURRENCY: '1' });
  });
  afterAll(() => t.close());

  it('429 with the documented message when the queue is full; nothing was queued', async () => {
    const slow = { code: 'import time\ntime.sleep(2)', async: true };
    const first = await t.http.post(PATH).set('x-api-key', KEY).send(slow); // taken by the worker
    expect(first.status).toBe(202);
    await waitFor(
      'the first job to run',
      async () =>
        (await t.http.get(`/v1/jobs/${first.body.job_id}`).set('x-api-key', KEY)).body.response.status === 'running',
    );
    const second = await t.http.post(PATH).set('x-api-key', KEY).send(slow); // waits
    expect(second.status).toBe(202);
    const third = await t.http.post(PATH).set('x-api-key', KEY).send({ code: '1' });
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ code: 429, message: 'MAX_QUEUE_LENGTH (1) reached', job_id: null });
    expect(second.body.max_queue_length).toBe(1);
  });
});

describe('RATE_LIMIT_PER_MINUTE', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '3', SANDBOX_SERVERS: '1' });
  });
  afterAll(() => t.close());

  it('the 4th run of a key within a minute gets 429 with Retry-After; other keys and reads are not counted', async () => {
    for (let i = 0; i < 3; i++) {
      const ok = await t.http
        .post(PATH)
        .set('x-api-key', KEY)
        .send({ code: `${i}` });
      expect(ok.status).toBe(200);
    }
    const limited = await t.http.post(PATH).set('x-api-key', KEY).send({ code: '4' });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({
      code: 429,
      message: 'Rate limit exceeded (3 requests per minute)',
      endpoint: PATH,
    });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await t.http.post(PATH).set('x-api-key', OTHER_KEY).send({ code: '1' })).status).toBe(200);
    expect((await t.http.get('/v1/jobs').set('x-api-key', KEY)).status).toBe(200);
    const editor = await t.http.post('/api/v1/python/execute').set('x-api-key', KEY).send({ code: '5' });
    expect(editor.status).toBe(429);
    expect(editor.body).toMatchObject({ success: false, error: 'RATE_LIMITED' });
    expect(editor.headers['retry-after']).toBeDefined();
  });

  it('is one budget per key across API processes, counted in Redis under REDIS_PREFIX', async () => {
    const api = await startTestApp({ RATE_LIMIT_PER_MINUTE: '3', ROLE: 'api', REDIS_PREFIX: t.prefix });
    try {
      // OTHER_KEY ran once in the test above, on the first process.
      for (const http of [api.http, t.http]) {
        expect((await http.post(PATH).set('x-api-key', OTHER_KEY).send({ code: '1' })).status).toBe(200);
      }
      const limited = await api.http.post(PATH).set('x-api-key', OTHER_KEY).send({ code: '1' });
      expect(limited.status).toBe(429);
      const redis = new Redis(SHARED_REDIS_URL);
      expect(await redis.keys(`${t.prefix}:rate:*`)).not.toHaveLength(0);
      redis.disconnect();
    } finally {
      await api.app.close();
    }
  });
});
