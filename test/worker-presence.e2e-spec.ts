import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { killService, ServiceProcess, startServiceProcess } from './service-process';
import { deleteKeys, KEY, uniquePrefix, waitFor } from './utils';

const EXEC = '/v1/code/execute/python';
const EDITOR_EXEC = '/api/v1/python/execute';

describe('roles in containers: worker health port, API without workers (real processes)', () => {
  const prefix = uniquePrefix();
  const started: ServiceProcess[] = [];
  let api: ServiceProcess;
  const start = async (env: Record<string, string>) => {
    const service = await startServiceProcess(prefix, { STALLED_CHECK_MS: '1000', ...env });
    started.push(service);
    return service;
  };
  const http = () => request(api.url);

  beforeAll(async () => {
    api = await start({ ROLE: 'api' });
  }, 60_000);
  afterAll(async () => {
    for (const service of started) await killService(service);
    await deleteKeys(prefix);
  });

  it('with no worker the API stays ready and lists no workers', async () => {
    const res = await http().get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body.details.workers).toEqual({ status: 'up', count: 0, workers: [] });
  });

  it('refuses a sync submit with 503 SERVICE_UNAVAILABLE and Retry-After at once, and makes no job', async () => {
    const sent = Date.now();
    const res = await http().post(EXEC).set('x-api-key', KEY).send({ code: 'print(1)', timeout: 10, id: 'no-worker' });
    expect(Date.now() - sent).toBeLessThan(2000);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body).toMatchObject({
      code: 503,
      job_id: null,
      id: 'no-worker',
      error_code: 'SERVICE_UNAVAILABLE',
      error: expect.stringContaining('no worker is running'),
    });
    const editor = await http().post(EDITOR_EXEC).set('x-api-key', KEY).send({ code: 'print(1)' });
    expect(editor.status).toBe(503);
    expect(editor.headers['retry-after']).toBe('5');
    expect(editor.body).toMatchObject({ success: false, error: 'SERVICE_UNAVAILABLE' });
    expect(editor.body.job_id).toBeUndefined();
    const jobs = await http().get('/v1/jobs').set('x-api-key', KEY);
    expect(jobs.body.response.jobs).toEqual([]);
  });

  it('accepts an async submit, which waits in the queue and completes once a worker starts', async () => {
    const accepted = await http()
      .post(EXEC)
      .set('x-api-key', KEY)
      .send({ code: 'print("queued")\n6 * 7', async: true });
    expect(accepted.status).toBe(202);
    const jobId = accepted.body.job_id as string;
    expect((await http().get(`/v1/jobs/${jobId}`).set('x-api-key', KEY)).body.response.status).toBe('pending');

    const worker = await start({ ROLE: 'worker' });
    const job = await waitFor('the queued job to complete', async () => {
      const res = await http().get(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
      return res.body.response.status === 'completed' ? res.body.response : null;
    });
    expect(job.result).toMatchObject({ pid: worker.child.pid, response: { stdout: 'queued\n', result: 42 } });

    const ready = await http().get('/health/ready');
    expect(ready.body.details.workers).toMatchObject({
      status: 'up',
      count: 1,
      workers: [{ pid: worker.child.pid, role: 'worker', sandbox_ready: true }],
    });
    const sync = await http().post(EXEC).set('x-api-key', KEY).send({ code: 'print("now sync")' });
    expect(sync.status).toBe(200);
    expect(sync.body.response.stdout).toBe('now sync\n');
  }, 60_000);

  it('a worker serves /health/live, /health/ready and /metrics (on Node 24) on HEALTH_PORT, and no API', async () => {
    const worker = started.find((s) => s !== api)!;
    const probe = () => request(worker.url);
    expect((await probe().get('/health/live')).body).toEqual({ status: 'ok' });
    const ready = await probe().get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details).toEqual({ redis: { status: 'up' }, sandbox: { status: 'up' } });
    const metrics = await probe().get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('pyexec_sandbox_');
    expect(metrics.text).toMatch(/nodejs_version_info\{version="v(2[4-9]|[3-9]\d)\./);
    expect((await probe().post(EXEC).set('x-api-key', KEY).send({ code: 'print(1)' })).status).toBe(404);
    expect((await probe().get('/docs-json')).status).toBe(404);
  });

  it('a worker that stops leaves the directory, and sync submits are refused again', async () => {
    const worker = started.find((s) => s !== api)!;
    worker.child.kill('SIGTERM');
    await worker.exited;
    const ready = await http().get('/health/ready');
    expect(ready.body.details.workers).toEqual({ status: 'up', count: 0, workers: [] });
    await waitFor('the positive cache to lapse', async () => {
      const res = await http().post(EXEC).set('x-api-key', KEY).send({ code: 'print(1)' });
      return res.status === 503;
    });
  }, 60_000);
});

/** The host pid of the process whose parent is `parentPid` (the service under `unshare --fork`). */
function childPidOf(parentPid: number): number {
  return Number(
    execFileSync('pgrep', ['-P', String(parentPid)], { encoding: 'utf8' })
      .trim()
      .split('\n')[0],
  );
}

describe('a container restart after SIGKILL (same pid): nothing stale blocks the start, no job is lost', () => {
  const prefix = uniquePrefix();
  const dataDir = mkdtempSync(join(tmpdir(), 'pyexec-same-pid-'));
  const started: ServiceProcess[] = [];
  // The service is pid 1 of its own pid namespace on every start, as in a container (the suite runs as root).
  const asPidOne = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'];
  const start = async () => {
    // REDIS_URL empty: the embedded redis-server in DATA_DIR, whose lock file holds the owner's pid.
    const env = { ROLE: 'all', REDIS_URL: '', DATA_DIR: dataDir, STALLED_CHECK_MS: '1000' };
    const service = await startServiceProcess(prefix, env, asPidOne);
    started.push(service);
    return service;
  };
  afterAll(async () => {
    for (const service of started) await killService(service);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts again with the lock its killed predecessor left, and completes the job that was running', async () => {
    const first = await start();
    expect(readFileSync(join(dataDir, 'service.pid'), 'utf8').split(' ')[0]).toBe('1');
    const code = 'import time\ntime.sleep(2)\nprint("survived")';
    const accepted = await request(first.url).post(EXEC).set('x-api-key', KEY).send({ code, async: true });
    expect(accepted.status).toBe(202);
    const jobId = accepted.body.job_id as string;
    await waitFor('the job to run', async () => {
      const res = await request(first.url).get(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
      return res.body.response.status === 'running';
    });

    process.kill(childPidOf(first.child.pid!), 'SIGKILL'); // pid 1 of the namespace: everything in it dies
    await first.exited;
    expect(readFileSync(join(dataDir, 'service.pid'), 'utf8').split(' ')[0]).toBe('1');

    const second = await start();
    const job = await waitFor(
      'the job to end',
      async () => {
        const res = await request(second.url).get(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
        return ['completed', 'failed'].includes(res.body.response.status) ? res.body.response : null;
      },
      30_000,
    );
    expect(job).toMatchObject({ status: 'completed', result: { response: { stdout: 'survived\n' } } });
  }, 90_000);
});
