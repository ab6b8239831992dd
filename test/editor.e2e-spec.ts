import { hostPidsWith, KEY, OTHER_KEY, sleep, startTestApp, TestApp, waitFor } from './utils';

// Generous, for a loaded shared machine: the slowest test here takes about 1.5 s alone.
jest.setTimeout(30_000);

const BASE = '/api/v1/python';
const EXECUTE = `${BASE}/execute`;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Res = { status: number; body: Record<string, unknown>; headers: Record<string, string> };

/** An editor error body: exactly success, error and message. */
function expectEditorError(res: Res, status: number, error: string, message?: RegExp): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { success: false, error } });
  expect(Object.keys(res.body).sort()).toEqual(['error', 'message', 'success']);
  expect(typeof res.body.message).toBe('string');
  if (message) expect(res.body.message).toMatch(message);
}

describe('editor dialect /api/v1/python (real Redis, real sandbox)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // One sandbox slot: a job that is not killed on cancel would hold up every later run.
    t = await startTestApp({
      SANDBOX_SERVERS: '1',
      WORKER_CONCURRENCY: '1',
      MAX_BODY_BYTES: '65536',
      MAX_CODE_BYTES: '4096',
    });
  });
  afterAll(() => t.close());

  const execute = (body: unknown, key = KEY) =>
    t.http
      .post(EXECUTE)
      .set('x-api-key', key)
      .send(body as object);
  const getJob = (id: string, key = KEY) => t.http.get(`${BASE}/job`).query({ id }).set('x-api-key', key);
  const cancelJob = (id: string, key = KEY) => t.http.delete(`${BASE}/job`).query({ id }).set('x-api-key', key);
  const listJobs = (key = KEY) => t.http.get(`${BASE}/jobs`).set('x-api-key', key);

  async function pollUntil(id: string, done: (status: string) => boolean) {
    for (let i = 0; i < 200; i++) {
      const res = await getJob(id);
      expect(res.status).toBe(200);
      if (done(res.body.job.status)) return res;
      await sleep(50);
    }
    throw new Error(`job ${id} never reached the expected status`);
  }
  const ended = (status: string) => ['completed', 'failed', 'cancelled'].includes(status);

  describe('POST /execute, synchronous', () => {
    it('success: 200 with output, logs split into lines, result and duration_ms', async () => {
      const code =
        "import sys\nprint('hello')\nprint('first', file=sys.stderr)\nprint('second', file=sys.stderr)\n21 * 2";
      const res = await execute({ code, timeout: 10 });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        success: true,
        job_id: expect.stringMatching(UUID),
        status: 'completed',
        output: 'hello\n',
        logs: ['first', 'second'],
        result: 42,
        duration_ms: expect.any(Number),
      });
      expect(res.body.duration_ms).toBeGreaterThan(0);
      expect(res.headers['x-request-id']).toBeTruthy();
    });

    it('no stderr: logs is []; a top-level return is the result', async () => {
      const res = await execute({ code: "print('x')\nreturn {'a': [1, 2]}" });
      expect(res.body).toMatchObject({ success: true, output: 'x\n', logs: [], result: { a: [1, 2] } });
    });

    it('an exception: 400 EXECUTION_FAILED, message "<Type>: <msg>", partial output, traceback in logs', async () => {
      const res = await execute({ code: "print('before')\n1 / 0" });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        success: false,
        error: 'EXECUTION_FAILED',
        message: 'ZeroDivisionError: division by zero',
        job_id: expect.stringMatching(UUID),
        output: 'before\n',
        logs: expect.any(Array),
        duration_ms: expect.any(Number),
      });
      const logs = res.body.logs as string[];
      expect(logs[0]).toBe('Traceback (most recent call last):');
      expect(logs[logs.length - 1]).toBe('ZeroDivisionError: division by zero');
    });

    it('a SyntaxError and sys.exit(3) are EXECUTION_FAILED too', async () => {
      const syntax = await execute({ code: 'def (' });
      expect(syntax.status).toBe(400);
      expect(syntax.body).toMatchObject({
        success: false,
        error: 'EXECUTION_FAILED',
        message: expect.stringMatching(/^SyntaxError: /),
      });
      const exit = await execute({ code: "print('bye')\nimport sys\nsys.exit(3)" });
      expect(exit.status).toBe(400);
      expect(exit.body).toMatchObject({ success: false, error: 'EXECUTION_FAILED', output: 'bye\n' });
    });

    it('the wall-clock timeout: 408 TIMEOUT with partial output; a fractional timeout is accepted', async () => {
      const res = await execute({ code: "print('started', flush=True)\nwhile True: pass", timeout: 1 });
      expect(res.status).toBe(408);
      expect(res.body).toMatchObject({
        success: false,
        error: 'TIMEOUT',
        message: 'Execution timed out after 1 seconds',
        output: 'started\n',
        job_id: expect.stringMatching(UUID),
      });
      const half = await execute({ code: 'import time\ntime.sleep(5)', timeout: 0.5 });
      expect(half.status).toBe(408);
      expect(half.body).toMatchObject({ error: 'TIMEOUT', message: 'Execution timed out after 0.5 seconds' });
    });
  });

  describe('POST /execute, bad requests', () => {
    it.each([
      ['{}', {}],
      ['empty code', { code: '' }],
      ['whitespace-only code', { code: ' \n\t ' }],
      ['null code', { code: null }],
      ['only a timeout', { timeout: 5 }],
    ])('%s → 400 MISSING_FIELD', async (_name, body) => {
      expectEditorError(await execute(body), 400, 'MISSING_FIELD', /code/);
    });

    it('no body at all → 400 MISSING_FIELD', async () => {
      expectEditorError(await t.http.post(EXECUTE).set('x-api-key', KEY), 400, 'MISSING_FIELD', /code/);
    });

    it.each([
      ['timeout 0', { code: '1', timeout: 0 }, /timeout/],
      ['negative timeout', { code: '1', timeout: -5 }, /timeout/],
      ['timeout 301', { code: '1', timeout: 301 }, /timeout/],
      ['string timeout', { code: '1', timeout: '10' }, /timeout/],
      ['boolean timeout', { code: '1', timeout: true }, /timeout/],
      ['code of the wrong type', { code: 5 }, /code/],
      ['async not a boolean', { code: '1', async: 'yes' }, /async/],
      ['an unknown field', { code: '1', language: 'python' }, /language/],
      ['code over MAX_CODE_BYTES', { code: 'x'.repeat(4097) }, /code must be at most 4096 bytes/],
    ])('%s → 400 INVALID_REQUEST', async (_name, body, message) => {
      expectEditorError(await execute(body), 400, 'INVALID_REQUEST', message);
    });

    it('invalid JSON → 400 INVALID_REQUEST', async () => {
      const res = await t.http
        .post(EXECUTE)
        .set('x-api-key', KEY)
        .set('content-type', 'application/json')
        .send('{"code": ');
      expectEditorError(res, 400, 'INVALID_REQUEST', /JSON/i);
    });

    it('a JSON array body → 400 INVALID_REQUEST', async () => {
      const res = await t.http
        .post(EXECUTE)
        .set('x-api-key', KEY)
        .set('content-type', 'application/json')
        .send('["print(1)"]');
      expectEditorError(res, 400, 'INVALID_REQUEST', /JSON object/);
    });

    it('a body over MAX_BODY_BYTES → 413 PAYLOAD_TOO_LARGE', async () => {
      expectEditorError(await execute({ code: 'x = 1\n'.repeat(20000) }), 413, 'PAYLOAD_TOO_LARGE', /65536/);
    });

    it('a non-JSON Content-Type → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      const res = await t.http
        .post(EXECUTE)
        .set('x-api-key', KEY)
        .set('content-type', 'text/plain')
        .send("print('hi')");
      expectEditorError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('an unknown route under the prefix → 404 NOT_FOUND in the editor shape', async () => {
      expectEditorError(await t.http.get(`${BASE}/nope`).set('x-api-key', KEY), 404, 'NOT_FOUND');
    });
  });

  describe('401 UNAUTHORIZED in the editor shape, before the body is looked at', () => {
    const routes: Array<[string, () => ReturnType<TestApp['http']['get']>]> = [
      ['POST /execute', () => t.http.post(EXECUTE).send({ code: '1' })],
      ['GET /jobs', () => t.http.get(`${BASE}/jobs`)],
      ['GET /job', () => t.http.get(`${BASE}/job?id=x`)],
      ['DELETE /job', () => t.http.delete(`${BASE}/job?id=x`)],
    ];
    it.each(routes)('%s without a key', async (_name, send) => {
      expectEditorError(await send(), 401, 'UNAUTHORIZED', /^Unauthorized$/);
    });

    it('a wrong key, in either header', async () => {
      expectEditorError(await t.http.get(`${BASE}/jobs`).set('x-api-key', 'nope'), 401, 'UNAUTHORIZED');
      expectEditorError(await t.http.get(`${BASE}/jobs`).set('authorization', 'Bearer nope'), 401, 'UNAUTHORIZED');
    });

    it('the prefix in other letter case (Express routes it here too)', async () => {
      expectEditorError(await t.http.get('/API/V1/Python/jobs'), 401, 'UNAUTHORIZED');
    });

    it('malformed, oversized or non-JSON bodies without a key', async () => {
      expectEditorError(
        await t.http.post(EXECUTE).set('content-type', 'application/json').send('{oops'),
        401,
        'UNAUTHORIZED',
      );
      expectEditorError(
        await t.http
          .post(EXECUTE)
          .set('x-api-key', 'wrong')
          .send({ code: 'x'.repeat(100_000) }),
        401,
        'UNAUTHORIZED',
      );
      expectEditorError(await t.http.post(EXECUTE).set('content-type', 'text/plain').send('x'), 401, 'UNAUTHORIZED');
    });
  });

  describe('async jobs: GET /job, GET /jobs', () => {
    it('async: 202 pending, then poll to completed with output, logs, result, times', async () => {
      const accepted = await execute({
        code: "import sys\nprint('out')\nprint('err', file=sys.stderr)\n'done'",
        async: true,
      });
      expect(accepted.status).toBe(202);
      expect(accepted.body).toEqual({ success: true, job_id: expect.stringMatching(UUID), status: 'pending' });
      const id = accepted.body.job_id as string;
      const res = await pollUntil(id, ended);
      expect(res.body).toEqual({
        success: true,
        job: {
          id,
          status: 'completed',
          output: 'out\n',
          logs: ['err'],
          result: 'done',
          duration_ms: expect.any(Number),
          started_at: expect.stringMatching(ISO),
          ended_at: expect.stringMatching(ISO),
        },
      });
      expect(Date.parse(res.body.job.ended_at)).toBeGreaterThanOrEqual(Date.parse(res.body.job.started_at));
    });

    it('a failed async job carries error "<Type>: <msg>"; ended_at only once ended', async () => {
      const accepted = await execute({
        code: "import time\ntime.sleep(0.5)\nraise ValueError('bad value')",
        async: true,
      });
      const early = await getJob(accepted.body.job_id);
      expect(early.body.job.status).toMatch(/^(pending|running)$/);
      expect(early.body.job).not.toHaveProperty('ended_at');
      expect(early.body.job).not.toHaveProperty('error');
      expect(early.body.job).toMatchObject({ output: '', logs: [], result: null, duration_ms: null });
      const res = await pollUntil(accepted.body.job_id, ended);
      expect(res.body.job).toMatchObject({
        status: 'failed',
        error: 'ValueError: bad value',
        result: null,
        ended_at: expect.stringMatching(ISO),
      });
      expect(res.body.job.logs[res.body.job.logs.length - 1]).toBe('ValueError: bad value');
    });

    it("GET /jobs: the caller's jobs, newest first, as { id, status, started_at }; never another key's", async () => {
      const first = (await execute({ code: '1', async: true })).body.job_id as string;
      const second = (await execute({ code: '2', async: true })).body.job_id as string;
      await pollUntil(second, ended);
      const res = await listJobs();
      expect(res.status).toBe(200);
      expect(res.body.success).toBe(true);
      const jobs = res.body.jobs as Array<Record<string, unknown>>;
      const ids = jobs.map((j) => j.id);
      expect(ids.indexOf(second)).toBeGreaterThanOrEqual(0);
      expect(ids.indexOf(second)).toBeLessThan(ids.indexOf(first));
      expect(jobs.find((j) => j.id === second)).toEqual({
        id: second,
        status: 'completed',
        started_at: expect.stringMatching(ISO),
      });
      const others = await listJobs(OTHER_KEY);
      expect(others.body).toEqual({ success: true, jobs: [] });
    });

    it("another key's job is JOB_NOT_FOUND for GET and DELETE", async () => {
      const id = (await execute({ code: 'import time\ntime.sleep(0.3)', async: true })).body.job_id as string;
      expectEditorError(await getJob(id, OTHER_KEY), 404, 'JOB_NOT_FOUND', new RegExp(id));
      expectEditorError(await cancelJob(id, OTHER_KEY), 404, 'JOB_NOT_FOUND');
      expect((await pollUntil(id, ended)).body.job.status).toBe('completed'); // the other key's DELETE did nothing
    });

    it('unknown id → 404 JOB_NOT_FOUND; missing or empty id → 400 MISSING_PARAMETER; id twice → 400 INVALID_REQUEST', async () => {
      const unknown = '00000000-0000-0000-0000-000000000000';
      expectEditorError(await getJob(unknown), 404, 'JOB_NOT_FOUND', new RegExp(unknown));
      expectEditorError(await cancelJob(unknown), 404, 'JOB_NOT_FOUND');
      expectEditorError(await getJob('not-a-uuid'), 404, 'JOB_NOT_FOUND');
      for (const query of ['', '?id=', '?id=%20', '?other=1']) {
        expectEditorError(
          await t.http.get(`${BASE}/job${query}`).set('x-api-key', KEY),
          400,
          'MISSING_PARAMETER',
          /id/,
        );
        expectEditorError(
          await t.http.delete(`${BASE}/job${query}`).set('x-api-key', KEY),
          400,
          'MISSING_PARAMETER',
          /id/,
        );
      }
      expectEditorError(await t.http.get(`${BASE}/job?id=a&id=b`).set('x-api-key', KEY), 400, 'INVALID_REQUEST', /id/);
      expectEditorError(
        await t.http.delete(`${BASE}/job?id=a&id=b`).set('x-api-key', KEY),
        400,
        'INVALID_REQUEST',
        /id/,
      );
    });
  });

  describe('DELETE /job', () => {
    it('cancels a running job: 200, status cancelled, the program is killed and the slot is free', async () => {
      const marker = `${Math.floor(Math.random() * 1e6) + 1000}.75`;
      const accepted = await execute({
        code: `import subprocess\nsubprocess.run(['sleep', '${marker}'])`,
        async: true,
      });
      const id = accepted.body.job_id as string;
      await pollUntil(id, (status) => status === 'running');
      for (let i = 0; i < 50 && hostPidsWith(`sleep ${marker}`).length === 0; i++) await sleep(50);
      expect(hostPidsWith(`sleep ${marker}`).length).toBeGreaterThan(0);

      const res = await cancelJob(id);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ success: true, message: `Job '${id}' has been cancelled`, job_id: id });
      const job = (await getJob(id)).body.job;
      expect(job).toMatchObject({ id, status: 'cancelled', ended_at: expect.stringMatching(ISO) });
      expect(job).not.toHaveProperty('error');
      await waitFor('the sandboxed sleep to be gone', async () => hostPidsWith(`sleep ${marker}`).length === 0, 1000);
      // The single sandbox slot is free again: the next run does not wait for the sleep to end.
      const next = await execute({ code: '7 * 6', timeout: 10 });
      expect(next.body).toMatchObject({ success: true, result: 42 });
    });

    it('cancels a pending job: it never runs', async () => {
      const blocker = (await execute({ code: 'import time\ntime.sleep(1)', async: true })).body.job_id as string;
      await pollUntil(blocker, (status) => status === 'running');
      const pending = (await execute({ code: "print('should not run')", async: true })).body.job_id as string;
      const res = await cancelJob(pending);
      expect(res.status).toBe(200);
      expect(res.body.message).toBe(`Job '${pending}' has been cancelled`);
      await pollUntil(blocker, ended);
      // One worker slot, first in first out: a job queued after it has run, so it would have run by now.
      expect((await execute({ code: '1' })).status).toBe(200);
      const job = (await getJob(pending)).body.job;
      expect(job).toMatchObject({
        status: 'cancelled',
        started_at: null,
        output: '',
        ended_at: expect.stringMatching(ISO),
      });
    });

    it('a finished job → 400 JOB_ALREADY_FINISHED (and it stays completed)', async () => {
      const done = await execute({ code: '1' });
      const id = done.body.job_id as string;
      expectEditorError(await cancelJob(id), 400, 'JOB_ALREADY_FINISHED', new RegExp(id));
      expect((await getJob(id)).body.job.status).toBe('completed');
    });

    it('a sync caller whose job is cancelled gets 499 JOB_CANCELLED', async () => {
      const waiting = execute({ code: 'import time\ntime.sleep(30)' }).then((r) => r); // supertest sends on then()
      let id = '';
      for (let i = 0; i < 100 && !id; i++) {
        await sleep(50);
        const jobs = (await listJobs()).body.jobs as Array<{ id: string; status: string }>;
        id = jobs.find((j) => j.status === 'running')?.id ?? '';
      }
      expect(id).toMatch(UUID);
      expect((await cancelJob(id)).status).toBe(200);
      const res = await waiting;
      expect(res.status).toBe(499);
      expect(res.body).toMatchObject({ success: false, error: 'JOB_CANCELLED', job_id: id, message: 'Job cancelled' });
    });
  });

  describe('one job store for both dialects', () => {
    it('a v1 job is visible, with its output, through the editor dialect', async () => {
      const v1 = await t.http
        .post('/v1/code/execute/python')
        .set('x-api-key', KEY)
        .send({ code: "print('from v1')\n5", id: 'mine' });
      expect(v1.status).toBe(200);
      const res = await getJob(v1.body.job_id);
      expect(res.body.job).toMatchObject({ id: v1.body.job_id, status: 'completed', output: 'from v1\n', result: 5 });
      expect((await listJobs()).body.jobs.map((j: { id: string }) => j.id)).toContain(v1.body.job_id);
      expectEditorError(await getJob(v1.body.job_id, OTHER_KEY), 404, 'JOB_NOT_FOUND');
    });

    it('an editor job is visible through v1, and a v1 job can be cancelled through the editor dialect', async () => {
      const editor = await execute({ code: "print('from editor')" });
      const v1 = await t.http.get(`/v1/jobs/${editor.body.job_id}`).set('x-api-key', KEY);
      expect(v1.status).toBe(200);
      expect(v1.body.response).toMatchObject({ job_id: editor.body.job_id, status: 'completed' });
      expect(v1.body.response.result).toMatchObject({
        code: 200,
        endpoint: EXECUTE,
        response: { stdout: 'from editor\n' },
      });
      expect((await t.http.get(`/v1/jobs/${editor.body.job_id}`).set('x-api-key', OTHER_KEY)).status).toBe(404);

      const running = await t.http
        .post('/v1/code/execute/python')
        .set('x-api-key', KEY)
        .send({ code: 'import time\ntime.sleep(30)', async: true });
      await pollUntil(running.body.job_id, (status) => status === 'running');
      expect((await cancelJob(running.body.job_id)).status).toBe(200);
      const after = await t.http.get(`/v1/jobs/${running.body.job_id}`).set('x-api-key', KEY);
      expect(after.body.response).toMatchObject({ status: 'cancelled', result: { code: 499 } });
    });
  });

  it('Swagger documents every editor route under the editor tag, with the API-key requirement', async () => {
    const doc = (await t.http.get('/docs-json')).body;
    const routes: Array<[string, string]> = [
      ['/api/v1/python/execute', 'post'],
      ['/api/v1/python/jobs', 'get'],
      ['/api/v1/python/job', 'get'],
      ['/api/v1/python/job', 'delete'],
    ];
    for (const [path, method] of routes) {
      const op = doc.paths[path]?.[method];
      expect(op).toBeDefined();
      expect(op.tags).toEqual(['editor']);
      expect(op.security).toEqual(expect.arrayContaining([{ 'api-key': [] }]));
      expect(op.responses['401']).toBeDefined();
    }
    expect(doc.paths['/api/v1/python/execute'].post.responses['408']).toBeDefined();
  });
});

describe('editor dialect: a full queue', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MAX_QUEUE_LENGTH: '1', SANDBOX_SERVERS: '1', WORKER_CONCURRENCY: '1' });
  });
  afterAll(() => t.close());

  it('429 QUEUE_FULL; nothing was queued', async () => {
    const slow = { code: 'import time\ntime.sleep(5)', async: true };
    const running = await t.http.post(EXECUTE).set('x-api-key', KEY).send(slow); // taken by the worker
    expect(running.status).toBe(202);
    await waitFor(
      'the first job to run',
      async () =>
        (await t.http.get(`${BASE}/job?id=${running.body.job_id}`).set('x-api-key', KEY)).body.job.status === 'running',
    );
    const waiting = await t.http.post(EXECUTE).set('x-api-key', KEY).send(slow);
    expect(waiting.status).toBe(202);
    const full = await t.http.post(EXECUTE).set('x-api-key', KEY).send({ code: '1' });
    expectEditorError(full, 429, 'QUEUE_FULL', /MAX_QUEUE_LENGTH \(1\) reached/);
    expect((await t.http.get(`${BASE}/jobs`).set('x-api-key', KEY)).body.jobs).toHaveLength(2);
    for (const id of [waiting.body.job_id, running.body.job_id]) {
      expect((await t.http.delete(`${BASE}/job?id=${id}`).set('x-api-key', KEY)).status).toBe(200);
    }
  });
});
