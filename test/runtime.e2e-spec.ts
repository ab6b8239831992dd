import { KEY, startTestApp, TestApp } from './utils';

describe('GET /v1/runtime', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      MEMORY_LIMIT_MB: '128',
      MAX_TIMEOUT: '60',
      DEFAULT_TIMEOUT: '20',
      MAX_CODE_BYTES: '4096',
      SCRATCH_MB: '16',
    });
  });
  afterAll(() => t?.close());

  it('answers 401 without a key', async () => {
    const res = await t.http.get('/v1/runtime').expect(401);
    expect(res.body).toMatchObject({ code: 401, endpoint: '/v1/runtime', message: 'Unauthorized' });
  });

  it('reports the configured limits and sandbox, in the v1 envelope', async () => {
    const res = await t.http.get('/v1/runtime').set('x-api-key', KEY).expect(200);
    expect(res.body).toMatchObject({ code: 200, endpoint: '/v1/runtime', message: 'success', job_id: null });
    expect(res.body.response).toEqual({
      python_version: expect.stringMatching(/^3\.\d+\.\d+/),
      preloaded_modules: [],
      limits: {
        default_timeout: 20,
        max_timeout: 60,
        memory_limit_mb: 128,
        max_output_bytes: 1048576,
        max_code_bytes: 4096,
        scratch_mb: 16,
      },
      sandbox: 'bwrap',
    });
  });

  it('names the Python version that code in the sandbox really runs on', async () => {
    const run = await t.http
      .post('/v1/code/execute/python')
      .set('x-api-key', KEY)
      .send({ code: 'import sys\n"%d.%d.%d" % sys.version_info[:3]', timeout: 10 })
      .expect(200);
    const res = await t.http.get('/v1/runtime').set('x-api-key', KEY).expect(200);
    expect(res.body.response.python_version).toBe(run.body.response.result);
  });
});
