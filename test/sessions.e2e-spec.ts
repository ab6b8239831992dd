// Sessions (API.md "Sessions (v1)") in one process (ROLE=all): real Redis, real sandbox.
import { UNQUEUED_GRACE_MS, UnqueuedJobReconciler } from '../src/jobs/unqueued-job.reconciler';
import { sessionMemoryCgroup } from './support/session-cgroup';
import { hostPidsWith, KEY, OTHER_KEY, startTestApp, TestApp, waitFor } from './utils';
import { WebhookReceiver } from './webhook-receiver';

const auth = { 'x-api-key': KEY };
const isRoot = process.getuid?.() === 0;
const other = { 'x-api-key': OTHER_KEY };

describe('Sessions (v1)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ MAX_SESSIONS_PER_KEY: '3', MEMORY_LIMIT_MB: '128' });
  }, 30_000);

  afterAll(async () => {
    await t?.close();
  });

  async function createSession(body: Record<string, unknown> = {}, headers = auth): Promise<string> {
    const res = await t.http.post('/v1/sessions').set(headers).send(body);
    expect(res.status).toBe(201);
    return res.body.response.session_id as string;
  }

  function execute(sessionId: string, body: Record<string, unknown>, headers = auth) {
    return t.http.post(`/v1/sessions/${sessionId}/execute`).set(headers).send(body);
  }

  function statusIs(sessionId: string, status: string) {
    return waitFor(`session ${status}`, async () => {
      const res = await t.http.get(`/v1/sessions/${sessionId}`).set(auth);
      return res.body.response?.status === status;
    });
  }

  async function remove(sessionId: string): Promise<void> {
    await t.http.delete(`/v1/sessions/${sessionId}`).set(auth);
  }

  it('creates a session as API.md describes it', async () => {
    const res = await t.http.post('/v1/sessions').set(auth).send({ ttl: 60, id: 'nb-1' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ code: 201, endpoint: '/v1/sessions', id: 'nb-1', message: 'success' });
    const session = res.body.response;
    expect(session).toMatchObject({
      id: 'nb-1',
      status: 'idle',
      executions: 0,
      memory_limit_mb: 128,
      ended_reason: null,
    });
    expect(Date.parse(session.expires_at) - Date.parse(session.last_used_at)).toBe(60_000);
    await remove(session.session_id);
  });

  it('keeps globals, imports and files between calls; each call follows the result rule', async () => {
    const id = await createSession();
    const first = await execute(id, { code: 'import json\nx = 1\nopen("notes.txt", "w").write("kept")\nx' });
    expect(first.status).toBe(200);
    expect(first.body.response).toMatchObject({ result: 1, exit_code: 0 });
    const second = await execute(id, { code: 'x += 1\nreturn [x, json.dumps({"a": 1}), open("notes.txt").read()]' });
    expect(second.body.response.result).toEqual([2, '{"a": 1}', 'kept']);
    const job = await t.http.get(`/v1/jobs/${second.body.job_id}`).set(auth);
    expect(job.body.response).toMatchObject({ session_id: id, status: 'completed' });
    const got = await t.http.get(`/v1/sessions/${id}`).set(auth);
    expect(got.body.response).toMatchObject({ status: 'idle', executions: 2 });
    await remove(id);
  }, 30_000);

  it('shares nothing between two sessions, nor with one-shot runs', async () => {
    const [a, b] = [await createSession(), await createSession()];
    await execute(a, { code: 'secret = 42\nopen("/tmp/mine", "w").write("a")' });
    const inB = await execute(b, { code: 'import os\n["secret" in globals(), os.path.exists("/tmp/mine")]' });
    expect(inB.body.response.result).toEqual([false, false]);
    const oneShot = await t.http
      .post('/v1/code/execute/python')
      .set(auth)
      .send({ code: 'import os\n["secret" in globals(), os.path.exists("/tmp/mine")]' });
    expect(oneShot.body.response.result).toEqual([false, false]);
    const oneShotJob = await t.http.get(`/v1/jobs/${oneShot.body.job_id}`).set(auth);
    expect(oneShotJob.body.response.session_id).toBeNull();
    await remove(a);
    await remove(b);
  }, 30_000);

  it('runs calls one at a time in arrival order; the wait counts as queue_time', async () => {
    const id = await createSession();
    await execute(id, { code: 'order = []' });
    const calls = [0, 1, 2].map((n) =>
      execute(id, { code: `import time\ntime.sleep(0.3)\norder.append(${n})\nlist(order)` }),
    );
    const answers = await Promise.all(calls);
    const results = answers.map((res) => res.body.response.result as number[]);
    expect(results.map((r) => r.length).sort()).toEqual([1, 2, 3]);
    const last = answers.find((res) => res.body.response.result.length === 3)!;
    expect(last.body.queue_time).toBeGreaterThanOrEqual(0.4);
    await remove(id);
  }, 30_000);

  it('interrupt raises KeyboardInterrupt in the running call, the state stays; idle is 409', async () => {
    const id = await createSession();
    await execute(id, { code: 'y = 41' });
    expect((await t.http.post(`/v1/sessions/${id}/interrupt`).set(auth)).status).toBe(409);
    const running = execute(id, { code: 'import time\ntime.sleep(20)' }).then((res) => res);
    await statusIs(id, 'busy');
    await new Promise((r) => setTimeout(r, 300));
    const interrupted = await t.http.post(`/v1/sessions/${id}/interrupt`).set(auth);
    expect(interrupted.status).toBe(200);
    const res = await running;
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error_code: 'EXECUTION_FAILED', error: 'KeyboardInterrupt' });
    expect((await execute(id, { code: 'y + 1' })).body.response.result).toBe(42);
    await remove(id);
  }, 30_000);

  it('a timeout interrupts the call (408) and the session lives on', async () => {
    const id = await createSession();
    await execute(id, { code: 'z = 7' });
    const res = await execute(id, { code: 'import time\ntime.sleep(30)', timeout: 1 });
    expect(res.status).toBe(408);
    expect((await execute(id, { code: 'z' })).body.response.result).toBe(7);
    await remove(id);
  }, 30_000);

  it('a call that ignores its interrupt ends the session (timeout): that call 408, the waiting one 410', async () => {
    const id = await createSession();
    const stubborn =
      'import time\nwhile True:\n    try:\n        time.sleep(5)\n    except KeyboardInterrupt:\n        pass';
    const first = execute(id, { code: stubborn, timeout: 1 }).then((res) => res); // sent now
    await statusIs(id, 'busy');
    const waiting = execute(id, { code: '1' }).then((res) => res);
    const [a, b] = await Promise.all([first, waiting]);
    expect(a.status).toBe(408);
    expect(b.status).toBe(410);
    expect(b.body).toMatchObject({ error_code: 'SESSION_GONE', ended_reason: 'timeout' });
    const got = await t.http.get(`/v1/sessions/${id}`).set(auth);
    expect(got.body.response).toMatchObject({ status: 'ended', ended_reason: 'timeout' });
  }, 30_000);

  it('over the memory limit in one step: that call 400 RESOURCE_LIMIT, the session ends (memory); as root its memory cgroup held the limit while it lived and is gone after', async () => {
    const id = await createSession();
    const first = await execute(id, { code: 'x = 1' });
    const cgroup = sessionMemoryCgroup(first.body.queue_id as number);
    // As root: MEMORY_LIMIT_MB, and the interpreter alone in it
    if (isRoot) expect([cgroup?.limitBytes(), cgroup?.processes().length]).toEqual([128 * 1024 * 1024, 1]);
    // 200 MiB against 128 (under RLIMIT_AS: no MemoryError), every page written at once; held for a
    // while where only the watchdog bounds it (not root): it measures every 50 ms during a call.
    const code = 'import time\nb = bytearray(200 << 20)\nb[::4096] = b"x" * len(b[::4096])\ntime.sleep(5)';
    const res = await execute(id, { code });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error_code: 'RESOURCE_LIMIT', limit: 'memory' });
    await statusIs(id, 'ended');
    const got = await t.http.get(`/v1/sessions/${id}`).set(auth);
    expect(got.body.response.ended_reason).toBe('memory');
    const after = await execute(id, { code: '1' });
    expect(after.status).toBe(410);
    expect(after.body.ended_reason).toBe('memory');
    if (cgroup) await waitFor('its memory cgroup to be removed', () => !cgroup.exists());
  }, 30_000);

  it('a crash of the interpreter ends the session (crashed)', async () => {
    const id = await createSession();
    const res = await execute(id, { code: 'import os\nos._exit(3)' });
    expect(res.status).toBe(400);
    expect(res.body.exit_code).toBe(3);
    const got = await t.http.get(`/v1/sessions/${id}`).set(auth);
    expect(got.body.response).toMatchObject({ status: 'ended', ended_reason: 'crashed' });
  }, 30_000);

  it('delete ends it: the running and the waiting call get 410 at once; again is 410', async () => {
    const id = await createSession();
    const running = execute(id, { code: 'import time\ntime.sleep(20)' }).then((res) => res); // sent now
    await statusIs(id, 'busy');
    const waiting = execute(id, { code: '1' }).then((res) => res);
    await statusIs(id, 'busy');
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const deleted = await t.http.delete(`/v1/sessions/${id}`).set(auth);
    expect(deleted.status).toBe(200);
    expect(deleted.body.response).toMatchObject({ status: 'ended', ended_reason: 'deleted' });
    const [a, b] = await Promise.all([running, waiting]);
    expect(Date.now() - started).toBeLessThan(5000);
    for (const res of [a, b]) {
      expect(res.status).toBe(410);
      expect(res.body).toMatchObject({ error_code: 'SESSION_GONE', ended_reason: 'deleted' });
    }
    const again = await t.http.delete(`/v1/sessions/${id}`).set(auth);
    expect(again.status).toBe(410);
    expect(again.body.ended_reason).toBe('deleted');
    expect((await t.http.post(`/v1/sessions/${id}/interrupt`).set(auth)).status).toBe(410);
  }, 30_000);

  it('an idle session ends after its ttl (expired)', async () => {
    const id = await createSession({ ttl: 10 });
    await statusIs(id, 'ended');
    const got = await t.http.get(`/v1/sessions/${id}`).set(auth);
    expect(got.body.response.ended_reason).toBe('expired');
  }, 30_000);

  it('lists the caller’s sessions newest first; another key sees none and gets 404', async () => {
    const a = await createSession();
    const b = await createSession();
    const list = await t.http.get('/v1/sessions?limit=1').set(auth);
    expect(list.status).toBe(200);
    expect(list.body.response.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([b]);
    expect(list.body.response.total).toBeGreaterThanOrEqual(2);
    const theirs = await t.http.get('/v1/sessions').set(other);
    expect(theirs.body.response.sessions).toEqual([]);
    for (const res of [
      await t.http.get(`/v1/sessions/${a}`).set(other),
      await execute(a, { code: '1' }, other),
      await t.http.post(`/v1/sessions/${a}/interrupt`).set(other),
      await t.http.delete(`/v1/sessions/${a}`).set(other),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error_code).toBe('NOT_FOUND');
    }
    await remove(a);
    await remove(b);
  }, 30_000);

  it('MAX_SESSIONS_PER_KEY: 429 SESSION_LIMIT with Retry-After', async () => {
    const ids = [await createSession(), await createSession(), await createSession()];
    const res = await t.http.post('/v1/sessions').set(auth).send({});
    expect(res.status).toBe(429);
    expect(res.body.error_code).toBe('SESSION_LIMIT');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect((await t.http.post('/v1/sessions').set(other).send({})).status).toBe(201); // per key
    for (const id of ids) await remove(id);
  }, 30_000);

  it('async calls are ordinary jobs: 202, then GET /v1/jobs follows them, with their session_id', async () => {
    const id = await createSession();
    const accepted = await execute(id, { code: 'import time\ntime.sleep(0.2)\nw = 5\nw', async: true });
    expect(accepted.status).toBe(202);
    const jobId = accepted.body.job_id as string;
    const done = await waitFor('the async call to end', async () => {
      const job = await t.http.get(`/v1/jobs/${jobId}`).set(auth);
      return job.body.response.status === 'completed' ? job.body.response : null;
    });
    expect(done).toMatchObject({ session_id: id, result: { response: { result: 5 } } });
    expect((await execute(id, { code: 'w * 2' })).body.response.result).toBe(10);
    await remove(id);
  }, 30_000);

  it('DELETE /v1/jobs cancels a running call (interrupted; the session lives) and a waiting one (never runs)', async () => {
    // In one process the first call is handed over and started in the step that routes it: a cancel
    // must still reach it, and the waiting one must still be refused at its turn.
    const id = await createSession();
    expect((await execute(id, { code: 'kept = 1' })).status).toBe(200);
    const marker = `38.${process.pid}`; // the sandboxed `sleep` shows up on the host with this argument
    const code = `import subprocess\nsubprocess.run(['/usr/bin/sleep', '${marker}'])`;
    const running = await execute(id, { code, async: true });
    const waiting = await execute(id, { code: 'ran_waiting = True', async: true });
    await waitFor('the sandboxed sleep to start', () => hostPidsWith(`sleep ${marker}`).length > 0, 5000);
    expect((await t.http.get(`/v1/jobs/${waiting.body.job_id}`).set(auth)).body.response.status).toBe('pending');
    const cancelledWaiting = await t.http.delete(`/v1/jobs/${waiting.body.job_id}`).set(auth);
    expect(cancelledWaiting.status).toBe(200);
    expect(cancelledWaiting.body.response).toMatchObject({ status: 'cancelled', started_at: null });
    const started = Date.now();
    const cancelledRunning = await t.http.delete(`/v1/jobs/${running.body.job_id}`).set(auth);
    expect(cancelledRunning.status).toBe(200);
    expect(cancelledRunning.body.response.status).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(3000);
    await waitFor('the sandboxed sleep to end', () => hostPidsWith(`sleep ${marker}`).length === 0, 5000);
    await statusIs(id, 'idle');
    const after = await execute(id, { code: "(kept, 'ran_waiting' in globals())" });
    expect(after.status).toBe(200);
    expect(after.body.response.result).toEqual([1, false]);
    expect((await t.http.get(`/v1/jobs/${waiting.body.job_id}`).set(auth)).body.response.started_at).toBeNull();
    await remove(id);
  }, 30_000);

  it('two calls sent at once into an idle session: one runs, the other waits (pending), then runs', async () => {
    // Both are routed in this process; only one may be started by its routing step.
    const id = await createSession();
    expect((await execute(id, { code: 'order = []' })).status).toBe(200);
    const [a, b] = await Promise.all(
      ['a', 'b'].map((name) =>
        execute(id, { code: `import time\norder.append('${name}')\ntime.sleep(0.5)`, async: true }),
      ),
    );
    const jobs = [a.body.job_id as string, b.body.job_id as string];
    const statuses = await waitFor('one call to run', async () => {
      const got = await Promise.all(jobs.map((job) => t.http.get(`/v1/jobs/${job}`).set(auth)));
      const seen = got.map((res) => res.body.response.status as string);
      return seen.includes('running') ? seen : null;
    });
    expect([...statuses].sort()).toEqual(['pending', 'running']);
    await statusIs(id, 'idle');
    expect((await execute(id, { code: 'sorted(order)' })).body.response.result).toEqual(['a', 'b']);
    await remove(id);
  }, 30_000);

  it('streams a call as Server-Sent Events with Accept: text/event-stream', async () => {
    const id = await createSession();
    const res = await execute(id, { code: 'print("live")\n3' }).set('accept', 'text/event-stream');
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.text).toContain('event: stdout');
    expect(res.text).toContain('live');
    expect(res.text).toMatch(/event: end\n(id: .*\n)?data: .*"result":3/);
    await remove(id);
  }, 30_000);

  it('files in and outputs out per call: response.files lists what that call created or changed', async () => {
    const id = await createSession();
    const first = await execute(id, {
      code: 'import os\nos.makedirs("outputs", exist_ok=True)\nopen("outputs/a.txt", "w").write(open("in.txt").read())',
      files: [{ path: 'in.txt', content: 'hello' }],
    });
    expect(first.status).toBe(200);
    expect(first.body.response.files.map((f: { path: string }) => f.path)).toEqual(['a.txt']);
    const second = await execute(id, { code: 'open("outputs/b.txt", "w").write("b")\ndisplay({"k": 1})' });
    expect(second.body.response.files.map((f: { path: string }) => f.path)).toEqual(['b.txt']);
    expect(second.body.response.display).toEqual([{ mime_type: 'text/plain', data: "{'k': 1}" }]);
    await remove(id);
  }, 30_000);

  it('a call waiting in its session is not taken for a lost one-shot job by the unqueued-job reconciler', async () => {
    const id = await createSession();
    const first = await execute(id, { code: 'import time\ntime.sleep(1)', async: true });
    const second = await execute(id, { code: '"second"', async: true });
    const reconciler = t.app.get(UnqueuedJobReconciler, { strict: false });
    expect(await reconciler.reconcile(Date.now() + UNQUEUED_GRACE_MS + 1000)).toBe(0);
    for (const jobId of [first.body.job_id, second.body.job_id]) {
      const done = await waitFor('the call to end', async () => {
        const job = await t.http.get(`/v1/jobs/${jobId}`).set(auth);
        return job.body.response?.status === 'completed' ? job.body.response : null;
      });
      expect(done.session_id).toBe(id);
    }
    await remove(id);
  }, 30_000);

  it('metrics: sessions open and ended by reason', async () => {
    const id = await createSession();
    const before = await t.http.get('/metrics');
    expect(before.text).toMatch(/pyexec_sessions_open [1-9]/);
    await remove(id);
    const after = await t.http.get('/metrics');
    expect(after.text).toMatch(/pyexec_sessions_ended_total\{reason="deleted"\} [1-9]/);
  }, 30_000);

  it('bad input gets the documented 4xx', async () => {
    for (const body of [{ ttl: 5 }, { ttl: 3601 }, { ttl: 1.5 }, { ttl: '60' }, { other: 1 }]) {
      const res = await t.http.post('/v1/sessions').set(auth).send(body);
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('INVALID_REQUEST');
    }
    expect((await t.http.get('/v1/sessions?limit=0').set(auth)).status).toBe(400);
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await t.http.get(`/v1/sessions/${unknown}`).set(auth)).status).toBe(404);
    expect((await t.http.get('/v1/sessions/not-a-uuid').set(auth)).status).toBe(404);
    expect((await execute(unknown, { code: '1' })).status).toBe(404);
    const id = await createSession();
    const bad = await execute(id, { code: '' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error_code: 'INVALID_REQUEST', job_id: null });
    expect((await execute(id, { code: '1', timeout: 0 })).status).toBe(400);
    expect((await t.http.post('/v1/sessions').send({})).status).toBe(401);
    await remove(id);
  }, 30_000);
});

describe('Sessions (v1): the maximum lifetime, webhooks', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await new WebhookReceiver().start();
    t = await startTestApp({ SESSION_MAX_LIFETIME_SECONDS: '10', WEBHOOK_ALLOW_PRIVATE: 'true' });
  }, 30_000);

  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('a call with webhook_url: 202, and the webhook receives its envelope', async () => {
    const created = await t.http.post('/v1/sessions').set(auth).send({});
    const id = created.body.response.session_id as string;
    await t.http.post(`/v1/sessions/${id}/execute`).set(auth).send({ code: 'v = 6' });
    const path = receiver.script('/session-hook', [200]);
    const res = await t.http
      .post(`/v1/sessions/${id}/execute`)
      .set(auth)
      .send({ code: 'v * 7', webhook_url: receiver.url(path) });
    expect(res.status).toBe(202);
    const [delivery] = await receiver.waitFor(path, 1);
    expect(JSON.parse(delivery.body)).toMatchObject({
      code: 200,
      job_id: res.body.job_id,
      endpoint: `/v1/sessions/${id}/execute`,
      response: { result: 42 },
    });
    await t.http.delete(`/v1/sessions/${id}`).set(auth);
  }, 30_000);

  it('ends a session at its lifetime even while a call runs (lifetime): that call gets 410', async () => {
    const created = await t.http.post('/v1/sessions').set(auth).send({});
    const id = created.body.response.session_id as string;
    expect(Date.parse(created.body.response.expires_at) - Date.parse(created.body.response.created_at)).toBe(10_000);
    const res = await t.http
      .post(`/v1/sessions/${id}/execute`)
      .set(auth)
      .send({ code: 'import time\ntime.sleep(60)', timeout: 60 });
    expect(res.status).toBe(410);
    expect(res.body).toMatchObject({ error_code: 'SESSION_GONE', ended_reason: 'lifetime' });
    const got = await t.http.get(`/v1/sessions/${id}`).set(auth);
    expect(got.body.response).toMatchObject({ status: 'ended', ended_reason: 'lifetime' });
  }, 30_000);
});
