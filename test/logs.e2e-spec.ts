import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { killService, ServiceProcess, startServiceProcess } from './service-process';
import { deleteKeys, KEY, OTHER_KEY, uniquePrefix } from './utils';
import { WebhookReceiver } from './webhook-receiver';

const EXEC = '/v1/code/execute/python';

// What a caller sends that must never reach a log line.
const codeMarker = `code_marker_${randomBytes(6).toString('hex')}`;
const stdinMarker = `stdin_marker_${randomBytes(6).toString('hex')}`;
const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;

describe('logs of a NODE_ENV=production process', () => {
  const prefix = uniquePrefix();
  let service: ServiceProcess | undefined;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await new WebhookReceiver().start();
  });
  afterAll(async () => {
    await killService(service);
    await receiver.close();
    await deleteKeys(prefix);
  });

  it('are JSON lines; a request line carries its x-request-id; no code, stdin, key or webhook secret', async () => {
    service = await startServiceProcess(prefix, {
      NODE_ENV: 'production',
      LOG_LEVEL: 'verbose',
      ROLE: 'all',
      WEBHOOK_SECRET: webhookSecret,
      WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    const requestId = `log-test-${randomBytes(4).toString('hex')}`;
    const code = `import sys\n${codeMarker} = sys.stdin.read()\nprint(len(${codeMarker}))`;
    const sync = await request(service.url)
      .post(EXEC)
      .set('authorization', `Bearer ${KEY}`)
      .set('x-request-id', requestId)
      .send({ code, stdin: stdinMarker });
    expect(sync.status).toBe(200);
    expect(sync.headers['x-request-id']).toBe(requestId);
    const hooked = await request(service.url)
      .post(EXEC)
      .set('x-api-key', OTHER_KEY)
      .send({ code: `raise ValueError('${codeMarker}')`, stdin: stdinMarker, webhook_url: receiver.url('/hook') });
    expect(hooked.status).toBe(202);
    expect((await request(service.url).post(EXEC).set('x-api-key', `${KEY}-wrong`).send({ code })).status).toBe(401);
    await receiver.waitFor('/hook', 1);
    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);

    const lines = service
      .stdout()
      .split('\n')
      .filter((line) => line !== '');
    expect(lines.length).toBeGreaterThan(5);
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requestLine = entries.find(
      (entry) => entry.request_id === requestId && (entry.req as { url?: string })?.url === EXEC,
    );
    expect(requestLine).toMatchObject({ req: { id: requestId, method: 'POST' }, res: { statusCode: 200 } });
    // The webhook delivery's line (debug) names its job as a field.
    expect(entries.some((entry) => entry.job_id === hooked.body.job_id)).toBe(true);
    for (const secret of [
      codeMarker,
      stdinMarker,
      KEY,
      OTHER_KEY,
      webhookSecret,
      webhookSecret.slice('whsec_'.length),
    ]) {
      expect(service.stdout()).not.toContain(secret);
    }
  });
});
