import { get as httpGet, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventsUntilEnd, openEventSource, postEventStream, ReceivedEvent } from './support/sse-client';
import { KEY, OTHER_KEY, startTestApp, TestApp, waitFor } from './utils';

const EXEC = '/v1/code/execute/python';
const SLOW_PRINTS = 'import time\nfor i in range(3):\n    print("tick", i, flush=True)\n    time.sleep(0.2)\n"done"';

const output = (events: ReceivedEvent[], stream: string) =>
  events
    .filter((e) => e.event === stream)
    .map((e) => JSON.parse(e.data) as string)
    .join('');
const endEnvelope = (events: ReceivedEvent[]) => JSON.parse(events[events.length - 1].data);

describe('live output over Server-Sent Events (real Redis, real sandbox)', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await startTestApp({ SANDBOX_SERVERS: '2', WORKER_CONCURRENCY: '2', MAX_OUTPUT_BYTES: '4096' });
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(() => t.close());

  const submitAsync = async (code: string, extra: object = {}) => {
    const res = await t.http
      .post(EXEC)
      .set('x-api-key', KEY)
      .send({ code, async: true, ...extra });
    expect(res.status).toBe(202);
    return res.body.job_id as string;
  };
  const follow = (jobId: string, lastEventId?: string, key = KEY) =>
    eventsUntilEnd(openEventSource(`${base}/v1/jobs/${jobId}/events`, key, lastEventId));

  it('POST with Accept: text/event-stream streams the new job: status {status, job_id} first, output as written, then end', async () => {
    const received = await postEventStream(`${base}${EXEC}`, KEY, {
      code: 'import sys\nsys.stderr.write("warn\\n")\n' + SLOW_PRINTS,
      id: 'sse-1',
    });
    expect(received.status).toBe(200);
    expect(received.contentType).toMatch(/^text\/event-stream/);
    const { events } = received;
    const first = JSON.parse(events[0].data);
    expect(events[0].event).toBe('status');
    expect(first).toEqual({ status: 'pending', job_id: expect.any(String) });
    expect(events.map((e) => e.event)).toEqual([
      'status',
      'status',
      ...events.slice(2, -2).map((e) => e.event),
      'status',
      'end',
    ]);
    expect(JSON.parse(events[1].data)).toEqual({ status: 'running' });
    expect(JSON.parse(events[events.length - 2].data)).toEqual({ status: 'completed' });
    expect(output(events, 'stdout')).toBe('tick 0\ntick 1\ntick 2\n');
    expect(output(events, 'stderr')).toBe('warn\n');
    // Written 200 ms apart with flush=True: they arrive apart, not all at the end.
    const ticks = events.filter((e) => e.event === 'stdout');
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(ticks[ticks.length - 1].atMs - ticks[0].atMs).toBeGreaterThanOrEqual(300);
    expect(endEnvelope(events)).toMatchObject({
      code: 200,
      id: 'sse-1',
      job_id: first.job_id,
      response: { result: 'done', stdout: 'tick 0\ntick 1\ntick 2\n', stderr: 'warn\n' },
    });
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length); // every event has its own id
  });

  it('a bad body with Accept: text/event-stream is still the JSON 400 (no job, no stream)', async () => {
    const received = await postEventStream(`${base}${EXEC}`, KEY, { code: '' });
    expect(received.status).toBe(400);
    expect(JSON.parse(received.text!)).toMatchObject({ code: 400, job_id: null, error_code: 'INVALID_REQUEST' });
  });

  it('a late client (after the end) gets the recorded events from the start; Last-Event-ID resumes after an event', async () => {
    const jobId = await submitAsync('print("a")\nprint("b")\n7');
    await waitFor('the job to end', async () => {
      const res = await t.http.get(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
      return res.body.response.status === 'completed';
    });
    const all = await follow(jobId);
    expect(all[0]).toMatchObject({ event: 'status', data: '{"status":"pending"}' });
    expect(output(all, 'stdout')).toBe('a\nb\n');
    expect(endEnvelope(all)).toMatchObject({ code: 200, job_id: jobId, response: { result: 7 } });
    const resumed = await follow(jobId, all[1].id);
    expect(resumed.map((e) => [e.id, e.event, e.data])).toEqual(all.slice(2).map((e) => [e.id, e.event, e.data]));
  });

  it('a client that leaves mid-run blocks nothing: the job ends, and a later client gets its whole stream', async () => {
    const jobId = await submitAsync('import time\nfor i in range(5):\n    print(i, flush=True)\n    time.sleep(0.1)');
    const source = openEventSource(`${base}/v1/jobs/${jobId}/events`, KEY);
    await new Promise<void>((resolve) =>
      source.addEventListener('stdout', () => {
        source.close();
        resolve();
      }),
    );
    const later = await follow(jobId);
    expect(output(later, 'stdout')).toBe('0\n1\n2\n3\n4\n');
    expect(endEnvelope(later)).toMatchObject({ code: 200, response: { stdout: '0\n1\n2\n3\n4\n' } });
  });

  it('a client that does not read holds up neither the run nor another client', async () => {
    const jobId = await submitAsync(
      'import time\nfor i in range(40):\n    print("y" * 100, flush=True)\n    time.sleep(0.01)',
    );
    const stalled = await new Promise<IncomingMessage>((resolve) =>
      httpGet(`${base}/v1/jobs/${jobId}/events`, { headers: { 'x-api-key': KEY } }, resolve),
    );
    stalled.pause(); // reads nothing more
    try {
      const other = await follow(jobId);
      expect(output(other, 'stdout')).toHaveLength(40 * 101);
      expect(endEnvelope(other)).toMatchObject({ code: 200 });
    } finally {
      stalled.destroy();
    }
  });

  it('a run killed by its timeout ends its stream with the 408 envelope, partial output streamed before it', async () => {
    const received = await postEventStream(`${base}${EXEC}`, KEY, {
      code: 'import time\nprint("before", flush=True)\ntime.sleep(30)',
      timeout: 1,
    });
    expect(output(received.events, 'stdout')).toBe('before\n');
    expect(JSON.parse(received.events[received.events.length - 2].data)).toEqual({ status: 'failed' });
    expect(endEnvelope(received.events)).toMatchObject({ code: 408, error_code: 'TIMEOUT', stdout: 'before\n' });
  });

  it('a cancelled run ends its stream with the 499 envelope', async () => {
    const jobId = await submitAsync('import time\nprint("started", flush=True)\ntime.sleep(30)');
    const events = follow(jobId);
    await waitFor('the run to start', async () => {
      const res = await t.http.get(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
      return res.body.response.status === 'running';
    });
    expect((await t.http.delete(`/v1/jobs/${jobId}`).set('x-api-key', KEY)).status).toBe(200);
    const received = await events;
    expect(JSON.parse(received[received.length - 2].data)).toEqual({ status: 'cancelled' });
    expect(endEnvelope(received)).toMatchObject({ code: 499, error_code: 'JOB_CANCELLED', job_id: jobId });
  });

  it('output caps apply to the stream as to the envelope', async () => {
    const received = await postEventStream(`${base}${EXEC}`, KEY, { code: 'print("x" * 10000)' });
    const streamed = output(received.events, 'stdout');
    expect(streamed).toHaveLength(4096);
    expect(endEnvelope(received.events)).toMatchObject({ response: { stdout: streamed, stdout_truncated: true } });
  });

  it("another key's job is 404 (JSON), and an unknown one too", async () => {
    const jobId = await submitAsync('1');
    const other = await t.http.get(`/v1/jobs/${jobId}/events`).set('x-api-key', OTHER_KEY);
    expect(other.status).toBe(404);
    expect(other.body).toMatchObject({ code: 404, error_code: 'NOT_FOUND', job_id: jobId });
    expect((await t.http.get('/v1/jobs/nope/events').set('x-api-key', KEY)).status).toBe(404);
    expect((await t.http.get(`/v1/jobs/${jobId}/events`)).status).toBe(401);
  });
});

describe('a streaming submit with no live worker', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ROLE: 'api' });
    await t.app.listen(0, '127.0.0.1');
  });
  afterAll(() => t.close());

  it('is the JSON 503 SERVICE_UNAVAILABLE before any job is made', async () => {
    const base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    const received = await postEventStream(`${base}${EXEC}`, KEY, { code: 'print(1)' });
    expect(received.status).toBe(503);
    expect(JSON.parse(received.text!)).toMatchObject({ error_code: 'SERVICE_UNAVAILABLE', job_id: null });
  });
});
