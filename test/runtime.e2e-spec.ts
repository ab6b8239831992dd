import Redis from 'ioredis';
import { KEY, SHARED_REDIS_URL, startTestApp, TestApp } from './utils';

const isRoot = process.getuid?.() === 0;

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
      sandbox: {
        mode: 'bwrap',
        // root: the memory cgroup this kernel offers; otherwise the fork servers' watchdog
        memory_bound: isRoot ? expect.stringMatching(/^cgroup[12]$/) : 'watchdog',
        memory_bound_reason: expect.any(String),
      },
    });
  });

  it('reports the weakest memory bound of the announced workers', async () => {
    const redis = new Redis(SHARED_REDIS_URL);
    const worker = {
      id: 'weak-worker',
      hostname: 'elsewhere',
      pid: 1,
      role: 'worker',
      concurrency: 1,
      sandbox_ready: true,
      started_at: new Date().toISOString(),
      seen_at: new Date().toISOString(),
      memory_bound: 'none',
      memory_bound_reason: 'started with SANDBOX_ALLOW_UNBOUNDED_MEMORY=true',
    };
    try {
      await redis
        .multi()
        .set(`${t.prefix}:worker:weak-worker`, JSON.stringify(worker), 'PX', 10_000)
        .sadd(`${t.prefix}:workers`, 'weak-worker')
        .exec();
      const res = await t.http.get('/v1/runtime').set('x-api-key', KEY).expect(200);
      expect(res.body.response.sandbox).toEqual({
        mode: 'bwrap',
        memory_bound: 'none',
        memory_bound_reason: 'started with SANDBOX_ALLOW_UNBOUNDED_MEMORY=true',
      });
    } finally {
      await redis.multi().del(`${t.prefix}:worker:weak-worker`).srem(`${t.prefix}:workers`, 'weak-worker').exec();
      redis.disconnect();
    }
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
