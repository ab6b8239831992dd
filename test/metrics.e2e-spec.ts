import { KEY, startTestApp, TestApp } from './utils';

describe('GET /metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SANDBOX_SERVERS: '1' });
  });
  afterAll(() => t.close());

  const scrape = async () => {
    const res = await t.http.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    return res.text;
  };
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('needs no key and counts executions by outcome, with durations, queue and sandbox state', async () => {
    expect(
      await t.http
        .post('/v1/code/execute/python')
        .set('x-api-key', KEY)
        .send({ code: 'print(1)' })
        .then((r) => r.status),
    ).toBe(200);
    expect(
      await t.http
        .post('/v1/code/execute/python')
        .set('x-api-key', KEY)
        .send({ code: '1/0' })
        .then((r) => r.status),
    ).toBe(400);
    const text = await scrape();
    expect(value(text, 'pyexec_executions_total{outcome="completed",code="200"}')).toBe(1);
    expect(value(text, 'pyexec_executions_total{outcome="failed",code="400"}')).toBe(1);
    expect(value(text, 'pyexec_execution_duration_seconds_count')).toBe(2);
    expect(value(text, 'pyexec_queue_depth')).toBe(0);
    expect(value(text, 'pyexec_active_jobs')).toBe(0);
    expect(value(text, 'pyexec_sandbox_servers')).toBe(1);
    expect(value(text, 'pyexec_sandbox_busy_servers')).toBe(0);
    expect(text).toContain('# TYPE pyexec_webhook_deliveries_total counter');
    expect(text).toContain('pyexec_process_resident_memory_bytes');
  });
});
