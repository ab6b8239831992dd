import { KEY, startTestApp, TestApp } from './utils';

const PATH = '/v1/code/execute/python';
const ENVELOPE_FIELDS = [
  'endpoint',
  'code',
  'id',
  'job_id',
  'response',
  'message',
  'pid',
  'queue_id',
  'run_time',
  'queue_time',
  'total_time',
  'queue_length',
  'build_number',
];

describe('POST /v1/code/execute/python (real Redis, real sandbox)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MAX_OUTPUT_BYTES: '4096' });
  });
  afterAll(() => t.close());

  const exec = (body: unknown, key = KEY) =>
    t.http
      .post(PATH)
      .set('x-api-key', key)
      .send(body as object);

  it('one worker runs WORKER_CONCURRENCY (here 2, the default: SANDBOX_SERVERS) jobs at once', async () => {
    const [a, b] = await Promise.all([1, 2].map(() => exec({ code: 'import time\ntime.sleep(0.5)' }).then((r) => r)));
    const times = await Promise.all(
      [a, b].map(async (res) => {
        const job = (await t.http.get(`/v1/jobs/${res.body.job_id}`).set('x-api-key', KEY)).body.response;
        return { started: Date.parse(job.started_at), ended: Date.parse(job.ended_at) };
      }),
    );
    expect(times[0].started).toBeLessThan(times[1].ended); // the two runs overlap
    expect(times[1].started).toBeLessThan(times[0].ended);
  });

  it('the seed example: 200 with the full envelope', async () => {
    const res = await exec({ code: "print('Hello, World!')", timeout: 10, id: 'seed-1' });
    expect(res.status).toBe(200);
    for (const field of ENVELOPE_FIELDS) expect(res.body).toHaveProperty(field);
    expect(res.body).toMatchObject({
      endpoint: PATH,
      code: 200,
      id: 'seed-1',
      message: 'success',
      response: {
        result: null,
        stdout: 'Hello, World!\n',
        stderr: '',
        exit_code: 0,
        stdout_truncated: false,
        stderr_truncated: false,
      },
    });
    expect(res.body.job_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.total_time).toBeCloseTo(res.body.queue_time + res.body.run_time, 3);
    expect(res.body.run_time).toBeGreaterThan(0);
    expect(typeof res.body.build_number).toBe('string');
    expect(res.headers['x-request-id']).toBeTruthy();
    expect(res.headers['content-type']).toMatch(/application\/json/);
  });

  it('Authorization: Bearer works too, and x-request-id is echoed', async () => {
    const res = await t.http
      .post(PATH)
      .set('authorization', `Bearer ${KEY}`)
      .set('x-request-id', 'req-abc')
      .send({ code: '1' });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('req-abc');
  });

  it('a top-level return is the result, also inside if/for/try', async () => {
    const code =
      'total = 0\nfor i in range(5):\n    total += i\n    if i == 3:\n        try:\n            return {"t": total, "i": i}\n        except BaseException:\n            pass\nreturn -1';
    const res = await exec({ code });
    expect(res.body.response.result).toEqual({ t: 6, i: 3 });
  });

  it('the last expression is the result; functions keep their own returns', async () => {
    const res = await exec({ code: 'def f(x):\n    return x * 2\nf(21)' });
    expect(res.body.response.result).toBe(42);
  });

  it('results are made JSON-safe', async () => {
    const res = await exec({ code: "({'t': (1, 2), 's': {3}, 'n': float('nan'), 1: None, 'o': object})" });
    expect(res.body.response.result).toEqual({ t: [1, 2], s: '{3}', n: 'nan', '1': null, o: "<class 'object'>" });
  });

  it('an exception: 400, error "<Type>: <msg>", traceback without harness frames', async () => {
    const res = await exec({ code: "print('before')\ndef f():\n    return 1/0\nf()", id: 'boom' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 400,
      id: 'boom',
      response: null,
      error: 'ZeroDivisionError: division by zero',
      stdout: 'before\n',
      exit_code: 1,
    });
    expect(res.body.job_id).toBeTruthy();
    expect(res.body.stderr).toContain('Traceback (most recent call last)');
    expect(res.body.stderr).toContain('File "<code>", line 3, in f');
    expect(res.body.stderr).not.toMatch(/forkserver|pyexec_sandbox|run_user_code|exec\(compiled/);
  });

  it('a SyntaxError: 400 with exit_code 1', async () => {
    const res = await exec({ code: 'def broken(:\n    pass' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^SyntaxError: /);
    expect(res.body.exit_code).toBe(1);
  });

  it('sys.exit(3): 400 with exit_code 3; sys.exit(0) is a success', async () => {
    const three = await exec({ code: "import sys\nprint('x')\nsys.exit(3)" });
    expect(three.status).toBe(400);
    expect(three.body).toMatchObject({ exit_code: 3, stdout: 'x\n' });
    const zero = await exec({ code: 'import sys\nsys.exit(0)' });
    expect(zero.status).toBe(200);
    expect(zero.body.response.exit_code).toBe(0);
  });

  it('stderr alone does not fail a run', async () => {
    const res = await exec({
      code: "import sys, warnings\nprint('warn', file=sys.stderr)\nwarnings.warn('careful')\n'ok'",
    });
    expect(res.status).toBe(200);
    expect(res.body.response.stderr).toContain('warn\n');
    expect(res.body.response.result).toBe('ok');
  });

  it('stdin is fed to the program', async () => {
    const res = await exec({ code: 'import sys\nsum(int(x) for x in sys.stdin.read().split())', stdin: '1 2 3\n4' });
    expect(res.body.response.result).toBe(10);
  });

  it('printing cannot forge the result', async () => {
    const forged = JSON.stringify({ ok: true, result: 'forged' });
    const res = await exec({ code: `print(${JSON.stringify(forged)})\nimport sys\nsys.stdout.flush()\n'real'` });
    expect(res.body.response.result).toBe('real');
    expect(res.body.response.stdout).toContain('forged');
  });

  it('an output flood is capped and flagged', async () => {
    const res = await exec({
      code: "import sys\nfor _ in range(2000):\n    print('x' * 100)\n    print('e' * 100, file=sys.stderr)",
    });
    expect(res.status).toBe(200);
    expect(Buffer.byteLength(res.body.response.stdout)).toBe(4096);
    expect(res.body.response.stdout_truncated).toBe(true);
    expect(res.body.response.stderr_truncated).toBe(true);
  });

  it('a timeout: 408 within timeout + 1 s, with partial output', async () => {
    const started = Date.now();
    const res = await exec({ code: "import time\nprint('started', flush=True)\ntime.sleep(30)", timeout: 1 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(408);
    expect(res.body).toMatchObject({
      code: 408,
      error: 'Execution timed out after 1 seconds',
      stdout: 'started\n',
      exit_code: 124,
    });
  });

  it('a memory bomb is stopped by the limit and named', async () => {
    const res = await exec({ code: 'x = bytearray(1024 * 1024 * 1024)' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/Memory limit exceeded/);
  });
});
