import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { OtlpReceiver, ReceivedSpan } from './otlp-receiver';
import { killService, ServiceProcess, startServiceProcess } from './service-process';
import { deleteKeys, KEY, uniquePrefix } from './utils';
import { WebhookReceiver } from './webhook-receiver';

const EXEC = '/v1/code/execute/python';
const newTraceparent = () => {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
};
/** Stands for what must not reach the collector: user code, stdin, output, receivers' URL tokens. */
const secret = `secret-${randomBytes(6).toString('hex')}`;
const named = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

describe('OpenTelemetry: a traceparent is continued through the queue into the worker (real processes)', () => {
  const prefix = uniquePrefix();
  let otlp: OtlpReceiver;
  let hooks: WebhookReceiver;
  let api: ServiceProcess;
  let worker: ServiceProcess;

  beforeAll(async () => {
    otlp = await new OtlpReceiver().start();
    hooks = await new WebhookReceiver().start();
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50', // export within 50 ms instead of 5 s
      WEBHOOK_ALLOW_PRIVATE: 'true',
    };
    [api, worker] = await Promise.all([
      startServiceProcess(prefix, { ...env, ROLE: 'api' }),
      startServiceProcess(prefix, { ...env, ROLE: 'worker' }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([killService(api), killService(worker)]);
    await hooks?.close();
    await otlp?.close();
    await deleteKeys(prefix);
  });

  it('one sync request yields spans of its trace from the API (HTTP) and the worker (queue wait, job, sandbox run)', async () => {
    const { traceId, traceparent } = newTraceparent();
    const res = await request(api.url)
      .post(EXEC)
      .set('x-api-key', KEY)
      .set('traceparent', traceparent)
      .send({ code: `print("${secret}")`, stdin: secret, timeout: 10 });
    expect(res.status).toBe(200);
    const jobId = res.body.job_id as string;

    const callerSpanId = traceparent.split('-')[2];
    // The API's HTTP span ends after the response is written, so it may come in a later export than the rest.
    const spans = await otlp.waitForTrace(
      traceId,
      (s) =>
        ['queue wait', 'execute job', 'sandbox run'].every((n) => named(s, n).length === 1) &&
        s.some((x) => x.pid === api.child.pid && x.parentSpanId === callerSpanId),
    );
    expect(spans.length).toBeGreaterThanOrEqual(3);
    const workerPid = worker.child.pid;
    for (const name of ['queue wait', 'execute job', 'sandbox run']) {
      const [span] = named(spans, name);
      expect(span).toMatchObject({ pid: workerPid, attributes: expect.objectContaining({ 'pyexec.job_id': jobId }) });
    }
    expect(named(spans, 'sandbox run')[0].attributes).toMatchObject({
      'pyexec.outcome': 'exited',
      'pyexec.exit_code': 0,
    });
    // The API's HTTP server span continues the caller's span, and the job span hangs below the API's spans.
    const apiSpans = spans.filter((s) => s.pid === api.child.pid);
    expect(apiSpans.some((s) => s.parentSpanId === callerSpanId)).toBe(true);
    expect(apiSpans.map((s) => s.spanId)).toContain(named(spans, 'execute job')[0].parentSpanId);
    expect(named(spans, 'sandbox run')[0].parentSpanId).toBe(named(spans, 'execute job')[0].spanId);
    // Redis commands are traced by name only: the job payload (code, stdin) and the output never reach the collector.
    expect(spans.some((s) => s.attributes['db.system.name'] === 'redis')).toBe(true);
    expect(JSON.stringify(otlp.spans)).not.toContain(secret);
  });

  it('the webhook delivery joins the trace of the request that asked for it', async () => {
    const { traceId, traceparent } = newTraceparent();
    const res = await request(api.url)
      .post(EXEC)
      .set('x-api-key', KEY)
      .set('traceparent', traceparent)
      .send({ code: '1 / 0', timeout: 10, webhook_url: hooks.url(`/traced/${secret}?token=${secret}`) });
    expect(res.status).toBe(202);
    const [delivery] = await hooks.waitFor(`/traced/${secret}?token=${secret}`, 1);
    expect(delivery.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-`));
    const spans = await otlp.waitForTrace(
      traceId,
      (s) => named(s, 'webhook delivery').length === 1 && named(s, 'sandbox run').length === 1,
    );
    expect(named(spans, 'sandbox run')[0].attributes).toMatchObject({
      'pyexec.outcome': 'exited',
      'pyexec.exit_code': 1,
    });
    expect(named(spans, 'webhook delivery')[0]).toMatchObject({
      pid: worker.child.pid,
      attributes: expect.objectContaining({
        'pyexec.job_id': res.body.job_id,
        'pyexec.outcome': 'delivered',
        'http.response.status_code': 200,
      }),
    });
    // The outgoing HTTP span names the receiver's origin only: its path and query may hold its tokens.
    const outgoing = spans.find((s) => s.pid === worker.child.pid && typeof s.attributes['url.full'] === 'string');
    expect(outgoing?.attributes['url.full']).toBe(`${hooks.url('/')}`);
    expect(JSON.stringify(otlp.spans)).not.toContain(secret);
  });
});
