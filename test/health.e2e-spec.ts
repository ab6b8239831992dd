import { PythonRunner } from '../src/execution/runner/python-runner';
import { KEY, startTestApp, TestApp } from './utils';

const PATH = '/v1/code/execute/python';
const up = { status: 'up' };

describe('GET /health/ready while the service is busy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SANDBOX_SERVERS: '1', ROLE: 'all' });
  });
  afterAll(() => t.close());

  it('stays 200 while every sandbox slot runs a long program', async () => {
    const runner = t.app.get(PythonRunner);
    const accepted = await t.http
      .post(PATH)
      .set('x-api-key', KEY)
      .send({ code: 'import time\ntime.sleep(6)', async: true });
    expect(accepted.status).toBe(202);
    while (runner.stats().busy < runner.stats().servers) await new Promise((r) => setTimeout(r, 20));
    // A probe queued behind the run would not answer within the 2 s check timeout.
    const ready = await t.http.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ok',
      info: { redis: up, sandbox: up },
      error: {},
      details: { redis: up, sandbox: up },
    });
    expect(runner.stats().busy).toBe(1);
  });
});
