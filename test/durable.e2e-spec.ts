import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { killService, ServiceProcess, startServiceProcess } from './service-process';
import { hostPidsWith, KEY, uniquePrefix, waitFor } from './utils';

const EXEC = '/v1/code/execute/python';
const ENDED = ['completed', 'failed', 'cancelled'];

describe('embedded Redis keeps accepted jobs across a SIGKILL of the service (real processes, DATA_DIR)', () => {
  const started: ServiceProcess[] = [];
  const prefix = uniquePrefix();
  let dataDir: string;

  // No REDIS_URL: the service starts its own redis-server on DATA_DIR.
  const start = async () => {
    const service = await startServiceProcess(prefix, {
      REDIS_URL: '',
      DATA_DIR: dataDir,
      STALLED_CHECK_MS: '1000',
      SANDBOX_SERVERS: '2',
    });
    started.push(service);
    return service;
  };

  let first: ServiceProcess;
  beforeAll(async () => {
    dataDir = join(mkdtempSync(join(tmpdir(), 'pyexec-durable-')), 'data');
    first = await start();
  }, 60_000);
  afterAll(async () => {
    for (const service of started) await killService(service);
    rmSync(join(dataDir, '..'), { recursive: true, force: true });
  });

  it('every accepted job ends completed with its own result after a SIGKILL and a restart on the same DATA_DIR', async () => {
    const http = () => request(first.url);
    const nonce = Date.now().toString(36);
    // Two long jobs occupy both sandboxes (running at the kill); the rest wait in the queue.
    const accepted: Array<{ jobId: string; marker: string }> = [];
    const body = (i: number, marker: string) => {
      const seconds = i < 2 ? 3 : 0.1;
      return { code: `import time\ntime.sleep(${seconds})\n${JSON.stringify(marker)}`, async: true, timeout: 20 };
    };
    for (let i = 0; i < 8; i += 1) {
      const marker = `job-${i}-${nonce}`;
      const headers: Record<string, string> = i === 7 ? { 'idempotency-key': `durable-${nonce}` } : {};
      const res = await http().post(EXEC).set('x-api-key', KEY).set(headers).send(body(i, marker));
      expect(res.status).toBe(202);
      accepted.push({ jobId: res.body.job_id, marker });
    }
    await waitFor('two jobs running', async () => {
      const list = await http().get('/v1/jobs?status=running').set('x-api-key', KEY);
      return list.body.response.jobs.length >= 2;
    });
    const redisPids = hostPidsWith(join(dataDir, 'redis.sock'));
    expect(redisPids.length).toBe(1);

    first.child.kill('SIGKILL');
    await first.exited;
    // Its redis-server dies with it (--pdeathsig), leaving the lock and the socket behind.
    await waitFor(
      'the embedded redis-server to die',
      async () => hostPidsWith(join(dataDir, 'redis.sock')).length === 0,
      5000,
    );
    expect(readFileSync(join(dataDir, 'service.pid'), 'utf8').split(' ')[0]).toBe(String(first.child.pid));

    const second = await start();
    const again = () => request(second.url);
    const replay = await again()
      .post(EXEC)
      .set('x-api-key', KEY)
      .set('idempotency-key', `durable-${nonce}`)
      .send(body(7, accepted[7].marker)); // the same request again: its job, not a new one
    expect(replay.body.job_id).toBe(accepted[7].jobId);

    for (const { jobId, marker } of accepted) {
      const job = await waitFor(`job ${jobId} to end`, async () => {
        const res = await again().get(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
        expect(res.status).toBe(200);
        return ENDED.includes(res.body.response.status) ? res.body.response : null;
      });
      expect({ jobId, status: job.status, result: job.result.response?.result }).toEqual({
        jobId,
        status: 'completed',
        result: marker,
      });
    }
  });

  it('refuses, in one line, a second service on a DATA_DIR a live service owns', async () => {
    const owner = started[started.length - 1];
    expect(owner.child.exitCode).toBeNull();
    await expect(start()).rejects.toThrow(
      `Cannot start: DATA_DIR ${dataDir} is in use by another running service (pid ${owner.child.pid}): stop it, or give this one its own DATA_DIR`,
    );
  });
});
