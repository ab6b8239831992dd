import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { EXECUTIONS_QUEUE } from '../src/jobs/execution.queue';
import type { WebhookState } from '../src/jobs/job.types';
import { QUEUE_RECOVERY_SETTINGS } from '../src/redis/redis-connection';
import { WEBHOOKS_QUEUE, WebhooksService } from '../src/webhooks/webhooks.service';
import { KEY, sleep, startTestApp, TestApp, waitFor } from './utils';
import { closedPort, ReceivedRequest, WebhookReceiver } from './webhook-receiver';

const EXEC = '/v1/code/execute/python';
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const MAX_ATTEMPTS = 4;
const TIMEOUT_MS = 500;
const BACKOFF_BASE_MS = 50;

/** What a receiver does: verify the signature over the raw body, then trust the parsed envelope. */
function verifyAsReceiver(request: ReceivedRequest, secret = SECRET): Record<string, unknown> {
  return new Webhook(secret).verify(request.body, request.headers as Record<string, string>) as Record<string, unknown>;
}

const uniquePath = (name: string) => `/${name}/${randomUUID()}`;

describe('webhooks (real Redis, real sandbox, real local receiver)', () => {
  let receiver: WebhookReceiver;
  let t: TestApp; // WEBHOOK_ALLOW_PRIVATE=true, so the local receiver is reachable
  let guarded: TestApp; // the default SSRF guard

  beforeAll(async () => {
    receiver = await new WebhookReceiver().start();
    t = await startTestApp({
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      WEBHOOK_BACKOFF_BASE_MS: String(BACKOFF_BASE_MS),
    });
    guarded = await startTestApp({
      SANDBOX_SERVERS: '1',
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_BACKOFF_BASE_MS: String(BACKOFF_BASE_MS),
    });
  });
  afterAll(async () => {
    await Promise.all([t?.close(), guarded?.close()]);
    await receiver?.close();
  });

  const submit = (app: TestApp, body: object) => app.http.post(EXEC).set('x-api-key', KEY).send(body);

  async function accepted(app: TestApp, body: object): Promise<string> {
    const res = await submit(app, body);
    expect(res.status).toBe(202);
    return res.body.job_id as string;
  }

  async function getJob(app: TestApp, jobId: string) {
    const res = await app.http.get(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
    expect(res.status).toBe(200);
    return res.body.response as {
      status: string;
      started_at: string | null;
      ended_at: string | null;
      result: Record<string, unknown> | null;
      webhook: WebhookState;
    };
  }

  /** The state of the job's delivery in the Bull webhooks queue (through Bull's API), or null if none. */
  async function deliveryState(app: TestApp, jobId: string): Promise<string | null> {
    const job = await app.app.get<Queue>(getQueueToken(WEBHOOKS_QUEUE)).getJob(jobId);
    return job ? job.getState() : null;
  }

  /** Waits until Bull is done with the delivery (no attempt can follow), so absent requests stay absent. */
  async function deliveryFinished(app: TestApp, jobId: string): Promise<void> {
    await waitFor(`the delivery of ${jobId} to finish`, async () =>
      ['completed', 'failed'].includes((await deliveryState(app, jobId)) ?? ''),
    );
  }

  /** Polls the job until its webhook is delivered or failed. */
  async function settled(app: TestApp, jobId: string, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await getJob(app, jobId);
      if (job.webhook.status !== 'pending') return job;
      if (Date.now() > deadline) throw new Error(`webhook of ${jobId} still pending: ${JSON.stringify(job.webhook)}`);
      await sleep(50);
    }
  }

  it('both queues fetch again half a second after a failed fetch, not the 5 s Bull defaults to (jobs accepted as Redis returns wait no longer)', () => {
    for (const name of [EXECUTIONS_QUEUE, WEBHOOKS_QUEUE]) {
      const queue = t.app.get<Queue & { settings: { retryProcessDelay: number } }>(getQueueToken(name));
      expect([name, queue.settings.retryProcessDelay]).toEqual([name, QUEUE_RECOVERY_SETTINGS.retryProcessDelay]);
    }
    expect(QUEUE_RECOVERY_SETTINGS.retryProcessDelay).toBeLessThanOrEqual(1000);
  });

  it('delivers the final envelope once, signed, with the documented headers and state', async () => {
    const path = uniquePath('ok');
    const url = receiver.url(path);
    const jobId = await accepted(t, { code: "print('hi')\n6 * 7", webhook_url: url, id: 'hook-1' });
    const job = await settled(t, jobId);
    expect(job.webhook).toEqual({
      url,
      status: 'delivered',
      attempts: 1,
      last_status_code: 200,
      last_error: null,
      delivered_at: expect.any(String),
    });
    expect(Date.parse(job.webhook.delivered_at!)).toBeGreaterThanOrEqual(Date.parse(job.ended_at!));

    const [request, ...more] = receiver.at(path);
    expect(more).toHaveLength(0);
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['user-agent']).toMatch(/^pyexec-service\//);
    expect(request.headers['webhook-id']).toBe(jobId);
    expect(Math.abs(Number(request.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);

    const envelope = verifyAsReceiver(request);
    expect(envelope).toEqual(job.result);
    expect(envelope).toMatchObject({
      code: 200,
      job_id: jobId,
      id: 'hook-1',
      message: 'success',
      response: { result: 42, stdout: 'hi\n' },
    });
    expect(request.body).toBe(JSON.stringify(job.result));
    // A forged body, or another secret, does not verify.
    expect(() => verifyAsReceiver({ ...request, body: request.body.replace('"hi\\n"', '"hj\\n"') })).toThrow();
    expect(() => verifyAsReceiver(request, 'whsec_' + Buffer.from('some other secret').toString('base64'))).toThrow();
  });

  it('500, 500, 200 → delivered after 3 attempts, same webhook-id, each signed afresh', async () => {
    const path = receiver.script(uniquePath('flaky'), [500, 500, 200]);
    const jobId = await accepted(t, { code: '1', webhook_url: receiver.url(path) });
    const job = await settled(t, jobId);
    expect(job.webhook).toMatchObject({ status: 'delivered', attempts: 3, last_status_code: 200, last_error: null });
    const requests = receiver.at(path);
    expect(requests).toHaveLength(3);
    for (const request of requests) {
      expect(request.headers['webhook-id']).toBe(jobId);
      expect(verifyAsReceiver(request)).toEqual(job.result);
    }
    // Backoff: the first retry waits at least 0.8 × base, the second at least 0.8 × 2 × base.
    expect(requests[1].receivedAtMs - requests[0].receivedAtMs).toBeGreaterThanOrEqual(0.8 * BACKOFF_BASE_MS - 5);
    expect(requests[2].receivedAtMs - requests[1].receivedAtMs).toBeGreaterThanOrEqual(1.6 * BACKOFF_BASE_MS - 5);
    const metrics = (await t.http.get('/metrics')).text;
    const count = (outcome: string) =>
      Number(
        metrics.match(new RegExp(`^pyexec_webhook_deliveries_total\\{outcome="${outcome}"\\} (\\d+)`, 'm'))?.[1] ?? 0,
      );
    expect(count('retried')).toBeGreaterThanOrEqual(2);
    expect(count('delivered')).toBeGreaterThanOrEqual(1);
  });

  it('429 is retried like a 5xx', async () => {
    const path = receiver.script(uniquePath('busy'), [429, 204]);
    const job = await settled(t, await accepted(t, { code: '1', webhook_url: receiver.url(path) }));
    expect(job.webhook).toMatchObject({ status: 'delivered', attempts: 2, last_status_code: 204 });
  });

  it('400 → failed after 1 attempt, never retried', async () => {
    const path = receiver.script(uniquePath('bad'), [400]);
    const jobId = await accepted(t, { code: '1', webhook_url: receiver.url(path) });
    const job = await settled(t, jobId);
    expect(job.webhook).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_status_code: 400,
      last_error: 'Receiver answered 400; not retried',
      delivered_at: null,
    });
    await deliveryFinished(t, jobId);
    expect(receiver.at(path)).toHaveLength(1);
  });

  it('a redirect is final and not followed', async () => {
    const target = uniquePath('redirect-target');
    const path = receiver.script(uniquePath('redirect'), [
      { status: 302, headers: { location: receiver.url(target) } },
    ]);
    const jobId = await accepted(t, { code: '1', webhook_url: receiver.url(path) });
    const job = await settled(t, jobId);
    expect(job.webhook).toMatchObject({ status: 'failed', attempts: 1, last_status_code: 302 });
    expect(job.webhook.last_error).toContain('redirects are not followed');
    await deliveryFinished(t, jobId);
    expect(receiver.at(path)).toHaveLength(1);
    expect(receiver.at(target)).toHaveLength(0);
  });

  it('a hanging receiver times out after WEBHOOK_TIMEOUT_MS, then the retry is delivered', async () => {
    const path = receiver.script(uniquePath('hang'), ['hang', 200]);
    const job = await settled(t, await accepted(t, { code: '1', webhook_url: receiver.url(path) }));
    expect(job.webhook).toMatchObject({ status: 'delivered', attempts: 2, last_status_code: 200 });
    const [first, second] = receiver.at(path);
    expect(second.receivedAtMs - first.receivedAtMs).toBeGreaterThanOrEqual(TIMEOUT_MS);
  });

  it('a hanging receiver that never answers: every attempt times out, then failed', async () => {
    const path = receiver.script(uniquePath('hang-forever'), ['hang']);
    const job = await settled(t, await accepted(t, { code: '1', webhook_url: receiver.url(path) }));
    expect(job.webhook).toMatchObject({
      status: 'failed',
      attempts: MAX_ATTEMPTS,
      last_status_code: null,
      last_error: `No response within ${TIMEOUT_MS} ms`,
    });
    expect(receiver.at(path)).toHaveLength(MAX_ATTEMPTS);
  });

  it('a closed port: retried WEBHOOK_MAX_ATTEMPTS times, then failed with the network error', async () => {
    const port = await closedPort();
    const job = await settled(t, await accepted(t, { code: '1', webhook_url: `http://127.0.0.1:${port}/hook` }));
    expect(job.webhook).toMatchObject({
      status: 'failed',
      attempts: MAX_ATTEMPTS,
      last_status_code: null,
      delivered_at: null,
    });
    expect(job.webhook.last_error).toMatch(/ECONNREFUSED/);
  });

  it('error, timeout and cancelled results are delivered too', async () => {
    const errorPath = uniquePath('error');
    const timeoutPath = uniquePath('timeout');
    const cancelPath = uniquePath('cancel');
    const errorJob = await accepted(t, { code: '1 / 0', webhook_url: receiver.url(errorPath) });
    const timeoutJob = await accepted(t, {
      code: 'while True: pass',
      timeout: 1,
      webhook_url: receiver.url(timeoutPath),
    });
    const cancelJob = await accepted(t, { code: 'import time\ntime.sleep(30)', webhook_url: receiver.url(cancelPath) });
    for (let i = 0; i < 100 && (await getJob(t, cancelJob)).status !== 'running'; i++) await sleep(50);
    const before = await getJob(t, cancelJob);
    expect(before.webhook).toMatchObject({ status: 'pending', attempts: 0, last_status_code: null });
    expect((await t.http.delete(`/v1/jobs/${cancelJob}`).set('x-api-key', KEY)).status).toBe(200);

    const [error] = await receiver.waitFor(errorPath, 1);
    expect(verifyAsReceiver(error)).toMatchObject({
      code: 400,
      job_id: errorJob,
      error: 'ZeroDivisionError: division by zero',
      exit_code: 1,
    });
    const [timeout] = await receiver.waitFor(timeoutPath, 1);
    expect(verifyAsReceiver(timeout)).toMatchObject({
      code: 408,
      job_id: timeoutJob,
      error: 'Execution timed out after 1 seconds',
      exit_code: 124,
    });
    const [cancelled] = await receiver.waitFor(cancelPath, 1);
    expect(verifyAsReceiver(cancelled)).toMatchObject({ code: 499, job_id: cancelJob, error: 'Job cancelled' });
    for (const jobId of [errorJob, timeoutJob, cancelJob]) {
      expect((await settled(t, jobId)).webhook).toMatchObject({ status: 'delivered', attempts: 1 });
    }
  });

  it('a job cancelled while pending (in the API process) is delivered', async () => {
    const blockers = await Promise.all(
      [1, 2].map(() => accepted(t, { code: 'import time\ntime.sleep(1)', async: true })),
    );
    const path = uniquePath('cancel-pending');
    const jobId = await accepted(t, { code: "print('never')", webhook_url: receiver.url(path) });
    expect((await t.http.delete(`/v1/jobs/${jobId}`).set('x-api-key', KEY)).status).toBe(200);
    const [request] = await receiver.waitFor(path, 1);
    expect(verifyAsReceiver(request)).toMatchObject({ code: 499, job_id: jobId, error: 'Job cancelled' });
    const job = await settled(t, jobId);
    expect(job).toMatchObject({ status: 'cancelled', started_at: null });
    expect(job.webhook).toMatchObject({ status: 'delivered', attempts: 1 });
    for (const id of blockers) {
      for (let i = 0; i < 100 && (await getJob(t, id)).ended_at === null; i++) await sleep(50);
    }
  });

  it('WEBHOOK_ALLOW_PRIVATE=true reaches loopback by name and by IPv6 literal', async () => {
    for (const host of ['localhost', '[::1]', '[::ffff:127.0.0.1]']) {
      const path = uniquePath('private-allowed');
      const job = await settled(t, await accepted(t, { code: '1', webhook_url: receiver.url(path, host) }));
      expect(job.webhook).toMatchObject({ status: 'delivered', attempts: 1, last_status_code: 200 });
      expect(receiver.at(path)).toHaveLength(1);
    }
  });

  it('50 concurrent async jobs → 50 distinct deliveries, none lost or duplicated', async () => {
    const path = uniquePath('fifty');
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        submit(t, { code: `${i} * 2`, id: `n-${i}`, webhook_url: receiver.url(path) }).then((r) => r),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(202));
    const jobIds = responses.map((r) => r.body.job_id as string);
    await receiver.waitFor(path, 50, 60_000);
    for (const jobId of jobIds) await deliveryFinished(t, jobId); // no attempt, hence no duplicate, can follow
    const requests = receiver.at(path);
    expect(requests).toHaveLength(50);
    expect(new Set(requests.map((r) => r.headers['webhook-id']))).toEqual(new Set(jobIds));
    for (const request of requests) {
      const envelope = verifyAsReceiver(request);
      expect(envelope.job_id).toBe(request.headers['webhook-id']);
      const i = jobIds.indexOf(envelope.job_id as string);
      expect(envelope).toMatchObject({ code: 200, id: `n-${i}`, response: { result: i * 2 } });
    }
    for (const jobId of jobIds)
      expect((await getJob(t, jobId)).webhook).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('ROLE=api queues the delivery of a job it cancelled; only a worker process delivers it', async () => {
    const env = {
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_BACKOFF_BASE_MS: String(BACKOFF_BASE_MS),
    };
    const api = await startTestApp({ ...env, ROLE: 'api' });
    let worker: TestApp | undefined;
    try {
      const path = uniquePath('split-roles');
      const jobId = await accepted(api, { code: '1', webhook_url: receiver.url(path) });
      expect((await api.http.delete(`/v1/jobs/${jobId}`).set('x-api-key', KEY)).status).toBe(200);
      expect(await deliveryState(api, jobId)).toBe('waiting'); // queued, but an API process takes no work
      expect(receiver.at(path)).toHaveLength(0);
      expect((await getJob(api, jobId)).webhook).toMatchObject({ status: 'pending', attempts: 0 });
      worker = await startTestApp({ ...env, ROLE: 'worker', SANDBOX_SERVERS: '1', REDIS_PREFIX: api.prefix });
      const [request] = await receiver.waitFor(path, 1);
      expect(verifyAsReceiver(request)).toMatchObject({ code: 499, job_id: jobId });
      expect((await settled(api, jobId)).webhook).toMatchObject({ status: 'delivered', attempts: 1 });
    } finally {
      await worker?.close();
      await api.close();
    }
  });

  it('a job that ended while its delivery could not be queued is delivered once a worker reconciles the outbox', async () => {
    const env = {
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_BACKOFF_BASE_MS: String(BACKOFF_BASE_MS),
    };
    const api = await startTestApp({ ...env, ROLE: 'api' });
    let worker: TestApp | undefined;
    try {
      // The fault: Redis (or this process) fails between "job ended" and "delivery queued".
      const webhooks = api.app.get(WebhooksService);
      const enqueue = jest.spyOn(webhooks, 'enqueue').mockRejectedValueOnce(new Error('Connection is closed.'));
      const path = uniquePath('reconciled');
      const jobId = await accepted(api, { code: '1', webhook_url: receiver.url(path) });
      expect((await api.http.delete(`/v1/jobs/${jobId}`).set('x-api-key', KEY)).status).toBe(200);
      expect(enqueue).toHaveBeenCalledTimes(1);
      enqueue.mockRestore();
      expect(await getJob(api, jobId)).toMatchObject({
        status: 'cancelled',
        webhook: { status: 'pending', attempts: 0 },
      });
      expect(await webhooks.isQueued(jobId)).toBe(false);

      worker = await startTestApp({ ...env, ROLE: 'worker', SANDBOX_SERVERS: '1', REDIS_PREFIX: api.prefix });
      const [request] = await receiver.waitFor(path, 1); // the worker's reconciler queued it at start
      expect(verifyAsReceiver(request)).toMatchObject({ code: 499, job_id: jobId, error: 'Job cancelled' });
      expect((await settled(api, jobId)).webhook).toMatchObject({ status: 'delivered', attempts: 1 });
      expect(await webhooks.isQueued(jobId)).toBe(true);
      expect(receiver.at(path)).toHaveLength(1);
    } finally {
      await worker?.close();
      await api.close();
    }
  });

  // Only loopback targets here, so a broken guard still sends nothing off this machine; the
  // private, link-local and metadata ranges are covered by webhook-address-policy.spec.ts.
  describe('SSRF guard (default: WEBHOOK_ALLOW_PRIVATE=false)', () => {
    it.each([
      ['127.0.0.1', (p: string) => receiver.url(p, '127.0.0.1'), /^Refused: 127\.0\.0\.1 is a loopback address/],
      ['[::1]', (p: string) => receiver.url(p, '[::1]'), /^Refused: ::1 is a loopback address/],
      [
        '[::ffff:127.0.0.1]',
        (p: string) => receiver.url(p, '[::ffff:127.0.0.1]'),
        /^Refused: ::ffff:7f00:1 is a loopback address \(embedded IPv4 127\.0\.0\.1\)/,
      ],
      [
        'a hostname resolving to loopback',
        (p: string) => receiver.url(p, 'localhost'),
        /^Refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address/,
      ],
    ])(
      '%s: refused without connecting, job ends normally, delivery failed with a clear error',
      async (_label, urlFor, error) => {
        const path = uniquePath('ssrf');
        const url = urlFor(path);
        const jobId = await accepted(guarded, { code: '7', webhook_url: url });
        const job = await settled(guarded, jobId);
        expect(job.status).toBe('completed');
        expect(job.webhook).toMatchObject({
          url,
          status: 'failed',
          attempts: 1,
          last_status_code: null,
          delivered_at: null,
        });
        expect(job.webhook.last_error).toMatch(error);
        expect(job.webhook.last_error).toContain('WEBHOOK_ALLOW_PRIVATE=true');
        await deliveryFinished(guarded, jobId);
        expect(receiver.at(path)).toHaveLength(0);
      },
    );
  });
});
