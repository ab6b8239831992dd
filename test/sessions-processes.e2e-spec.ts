// Sessions across real processes: two API processes and two workers on one Redis. A session lives in
// one worker; calls reach it from either API; a worker that dies ends its sessions (worker_lost) and
// its running and waiting calls are answered 410 within a few seconds.
import request from 'supertest';
import { killService, ServiceProcess, startServiceProcess } from './service-process';
import { deleteKeys, KEY, uniquePrefix, waitFor } from './utils';

const auth = { 'x-api-key': KEY };

describe('sessions across API and worker processes', () => {
  const prefix = uniquePrefix();
  const started: ServiceProcess[] = [];
  let apis: ServiceProcess[];
  let workers: ServiceProcess[];

  async function start(env: Record<string, string>): Promise<ServiceProcess> {
    const service = await startServiceProcess(prefix, env);
    started.push(service);
    return service;
  }

  async function createSession(api: ServiceProcess): Promise<string> {
    const res = await request(api.url).post('/v1/sessions').set(auth).send({});
    expect(res.status).toBe(201);
    return res.body.response.session_id as string;
  }

  function execute(api: ServiceProcess, sessionId: string, code: string) {
    // then(): supertest sends on then(), so the call is on its way when this returns
    return request(api.url)
      .post(`/v1/sessions/${sessionId}/execute`)
      .set(auth)
      .send({ code, timeout: 60 })
      .then((r) => r);
  }

  async function session(sessionId: string) {
    return (await request(apis[0].url).get(`/v1/sessions/${sessionId}`).set(auth)).body.response;
  }

  beforeAll(async () => {
    apis = await Promise.all([start({ ROLE: 'api' }), start({ ROLE: 'api' })]);
    workers = await Promise.all([start({ ROLE: 'worker' }), start({ ROLE: 'worker' })]);
  }, 120_000);

  afterAll(async () => {
    if (process.env.DEBUG_ROLES) for (const service of started) console.log(service.output());
    for (const service of started) await killService(service);
    await deleteKeys(prefix);
  });

  it('calls from both API processes reach the one worker that holds the session', async () => {
    const id = await createSession(apis[0]);
    const first = await execute(apis[0], id, 'n = 10\nimport os\nos.getpid()');
    expect(first.status).toBe(200);
    const second = await execute(apis[1], id, 'n += 1\nn');
    expect(second.status).toBe(200);
    expect(second.body.response.result).toBe(11);
    expect(second.body.pid).toBe(first.body.pid); // the same worker process
    expect(workers.map((w) => w.child.pid)).toContain(first.body.pid);
    expect(apis.map((a) => a.child.pid)).not.toContain(first.body.pid);
    expect((await request(apis[1].url).delete(`/v1/sessions/${id}`).set(auth)).status).toBe(200);
  }, 30_000);

  it('SIGKILL of the worker holding a session: its running and waiting calls get 410 within a few seconds', async () => {
    const id = await createSession(apis[0]);
    const holder = (await execute(apis[0], id, '1')).body.pid as number;
    const running = execute(apis[0], id, 'import time\ntime.sleep(60)');
    await waitFor('the call to run', async () => (await session(id)).status === 'busy');
    const waiting = execute(apis[1], id, '2');
    await new Promise((r) => setTimeout(r, 300));
    const worker = workers.find((w) => w.child.pid === holder)!;
    const killedAt = Date.now();
    worker.child.kill('SIGKILL');
    const answers = await Promise.all([running, waiting]);
    const answeredMs = Date.now() - killedAt;
    for (const res of answers) {
      expect(res.status).toBe(410);
      expect(res.body).toMatchObject({ error_code: 'SESSION_GONE', ended_reason: 'worker_lost' });
    }
    expect(answeredMs).toBeLessThan(8000);
    expect(await session(id)).toMatchObject({ status: 'ended', ended_reason: 'worker_lost' });
    // The other worker takes new sessions.
    workers = workers.filter((w) => w !== worker);
    const next = await createSession(apis[1]);
    expect((await execute(apis[1], next, '3')).body.pid).toBe(workers[0].child.pid);
    expect((await request(apis[0].url).delete(`/v1/sessions/${next}`).set(auth)).status).toBe(200);
  }, 60_000);

  it('a worker that stops (SIGTERM) ends its sessions cleanly: worker_lost, never half alive', async () => {
    const id = await createSession(apis[0]);
    await execute(apis[0], id, 'k = 1');
    const worker = workers[0];
    worker.child.kill('SIGTERM');
    await worker.exited;
    await waitFor('the session to end', async () => (await session(id)).status === 'ended', 10_000);
    expect((await session(id)).ended_reason).toBe('worker_lost');
    const res = await execute(apis[1], id, 'k');
    expect(res.status).toBe(410);
    expect(res.body.ended_reason).toBe('worker_lost');
  }, 60_000);
});

describe('sessions with an API process and a process of role all (its worker holds them)', () => {
  const prefix = uniquePrefix();
  let api: ServiceProcess;
  let all: ServiceProcess;

  beforeAll(async () => {
    [api, all] = await Promise.all([
      startServiceProcess(prefix, { ROLE: 'api' }),
      startServiceProcess(prefix, { ROLE: 'all' }),
    ]);
  }, 120_000);

  afterAll(async () => {
    for (const service of [api, all]) if (service) await killService(service);
    await deleteKeys(prefix);
  });

  const execute = (via: ServiceProcess, sessionId: string, body: Record<string, unknown>) =>
    request(via.url).post(`/v1/sessions/${sessionId}/execute`).set(auth).send(body);

  it('what came through the worker stream is never overtaken by what the worker process takes itself', async () => {
    // The role-all process hands its own calls to its worker in-process; calls and creations from the
    // API process reach that worker through its stream. A caller that goes on only once the earlier
    // request was accepted keeps its order across the two paths, many times over.
    for (let i = 0; i < 15; i++) {
      const created = await request(api.url).post('/v1/sessions').set(auth).send({});
      expect(created.status).toBe(201);
      const id = created.body.response.session_id as string;
      const first = await execute(api, id, { code: 'import time\nseen = ["a"]\ntime.sleep(0.05)', async: true });
      expect(first.status).toBe(202);
      const second = await execute(all, id, { code: 'seen.append("b")\nseen' });
      expect(second.status).toBe(200);
      expect(second.body.response.result).toEqual(['a', 'b']);
      expect(second.body.pid).toBe(all.child.pid);
      expect((await request(all.url).delete(`/v1/sessions/${id}`).set(auth)).status).toBe(200);
    }
  }, 90_000);
});
