import request from 'supertest';
import { killService, ServiceProcess, startServiceProcess } from './service-process';
import { deleteKeys, hostPidsWith, KEY, uniquePrefix, waitFor } from './utils';

const EXEC = '/v1/code/execute/python';
const ENDED = ['completed', 'failed', 'cancelled'];

/** User code that shows up on the host as `sleep <marker>` (its own process) while the job runs. */
function sleeperCode(marker: string, thenPrint = ''): string {
  return [
    'import subprocess',
    `subprocess.run(['/usr/bin/sleep', '${marker}'])`,
    thenPrint ? `print(${JSON.stringify(thenPrint)})` : '',
  ].join('\n');
}

let markerSeq = 0;
/** A distinct sleep duration per test, so host processes can be told apart; `seconds` is the whole part. */
function marker(seconds: number): string {
  markerSeq += 1;
  return `${seconds}.${String(process.pid % 1000).padStart(3, '0')}${String(markerSeq).padStart(3, '0')}`;
}

describe('roles: API and worker processes sharing one Redis (real processes, real sandbox)', () => {
  const prefix = uniquePrefix();
  const started: ServiceProcess[] = [];
  let api: ServiceProcess;
  let worker: ServiceProcess;

  async function start(env: Record<string, string>): Promise<ServiceProcess> {
    const service = await startServiceProcess(prefix, { STALLED_CHECK_MS: '1000', ...env });
    started.push(service);
    return service;
  }
  const http = () => request(api.url);
  const job = async (id: string) => (await http().get(`/v1/jobs/${id}`).set('x-api-key', KEY)).body.response;
  /** Starts a sync call (supertest sends on then()) and returns it with its job id once the job runs. */
  async function runningSyncCall(code: string) {
    const call = http()
      .post(EXEC)
      .set('x-api-key', KEY)
      .send({ code, timeout: 60 })
      .then((r) => r);
    const jobId = await waitFor('the job to run', async () => {
      const list = await http().get('/v1/jobs?status=running').set('x-api-key', KEY);
      return list.body.response.jobs[0]?.job_id as string | undefined;
    });
    return { call, jobId };
  }

  beforeAll(async () => {
    [api, worker] = await Promise.all([start({ ROLE: 'api' }), start({ ROLE: 'worker' })]);
  }, 120_000);

  afterAll(async () => {
    if (process.env.DEBUG_ROLES) for (const service of started) console.log(service.output());
    for (const service of started) await killService(service);
    await deleteKeys(prefix);
  });

  it('a sync call to the API process is run by the worker process', async () => {
    const res = await http().post(EXEC).set('x-api-key', KEY).send({ code: "print('across')\n6 * 7" });
    expect(res.status).toBe(200);
    expect(res.body.response).toMatchObject({ stdout: 'across\n', result: 42 });
    expect(res.body.pid).toBe(worker.child.pid);
    expect(res.body.pid).not.toBe(api.child.pid);
  });

  it('a cancel sent to the API process kills the sandbox in the worker process', async () => {
    const m = marker(41);
    const { call, jobId } = await runningSyncCall(sleeperCode(m));
    await waitFor('the sandboxed sleep on the host', async () => hostPidsWith(`sleep ${m}`).length > 0);
    const sent = Date.now();
    const cancelled = await http().delete(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
    const answeredMs = Date.now() - sent;
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.response.status).toBe('cancelled');
    expect(answeredMs).toBeLessThan(1000);
    expect(hostPidsWith(`sleep ${m}`)).toEqual([]);
    const res = await call;
    expect(res.status).toBe(499);
    expect(res.body).toMatchObject({ code: 499, error: 'Job cancelled', job_id: jobId });
  });

  it('a worker killed mid-run: the job runs again on another worker and the sync caller gets its answer', async () => {
    const m = marker(2);
    const { call, jobId } = await runningSyncCall(sleeperCode(m, 'second run done'));
    worker.child.kill('SIGKILL');
    await worker.exited;
    worker = await start({ ROLE: 'worker' });
    const res = await call;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ job_id: jobId, pid: worker.child.pid });
    expect(res.body.response.stdout).toBe('second run done\n');
    expect(await job(jobId)).toMatchObject({ status: 'completed' });
  }, 60_000);

  it('a job whose worker dies twice ends failed (500), and its sync caller is answered', async () => {
    const m = marker(43);
    const { call, jobId } = await runningSyncCall(sleeperCode(m));
    const firstStart = (await job(jobId)).started_at as string;
    worker.child.kill('SIGKILL');
    await worker.exited;
    worker = await start({ ROLE: 'worker' });
    await waitFor('the re-run', async () => {
      const j = await job(jobId);
      return j.status === 'running' && j.started_at !== firstStart && hostPidsWith(`sleep ${m}`).length > 0;
    });
    worker.child.kill('SIGKILL');
    await worker.exited;
    worker = await start({ ROLE: 'worker' });
    const res = await call;
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ code: 500, job_id: jobId, error: 'An internal server error occurred' });
    expect(await job(jobId)).toMatchObject({ status: 'failed' });
    await waitFor('no orphaned sandbox', async () => hostPidsWith(`sleep ${m}`).length === 0, 5000);
  }, 90_000);

  it('a cancel of a job whose worker died holds: the job ends cancelled instead of running again', async () => {
    const m = marker(44);
    const { call, jobId } = await runningSyncCall(sleeperCode(m));
    worker.child.kill('SIGKILL');
    await worker.exited;
    const cancelled = await http().delete(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
    expect(cancelled.status).toBe(200);
    worker = await start({ ROLE: 'worker' });
    const res = await call;
    expect(res.status).toBe(499);
    expect(await job(jobId)).toMatchObject({ status: 'cancelled' });
    expect(hostPidsWith(`sleep ${m}`)).toEqual([]);
  }, 60_000);
});

describe('graceful shutdown on SIGTERM (real process)', () => {
  const prefix = uniquePrefix();
  const started: ServiceProcess[] = [];
  afterAll(async () => {
    for (const service of started) await killService(service);
    await deleteKeys(prefix);
  });

  it('finishes the running job and answers its caller, refuses new connections, exits 0', async () => {
    const service = await startServiceProcess(prefix, { ROLE: 'all' });
    started.push(service);
    const call = request(service.url)
      .post(EXEC)
      .set('x-api-key', KEY)
      .send({ code: "import time\ntime.sleep(1.5)\nprint('finished')" })
      .then((r) => r);
    await waitFor('the job to run', async () => {
      const list = await request(service.url).get('/v1/jobs?status=running').set('x-api-key', KEY);
      return list.body.response.jobs.length > 0;
    });
    service.child.kill('SIGTERM');
    await waitFor(
      'the listener to close',
      () =>
        request(service.url)
          .get('/health/live')
          .then(
            () => false,
            () => true,
          ),
      5000,
    );
    await expect(request(service.url).get('/health/live')).rejects.toThrow(/ECONNREFUSED|socket hang up|ECONNRESET/);
    const res = await call;
    expect(res.status).toBe(200);
    expect(res.body.response.stdout).toBe('finished\n');
    const exit = await service.exited;
    expect(exit).toEqual({ code: 0, signal: null });
  }, 60_000);

  it('past SHUTDOWN_GRACE_MS it exits anyway, and another worker runs the unfinished job: nothing is lost', async () => {
    const first = await startServiceProcess(prefix, {
      ROLE: 'all',
      SHUTDOWN_GRACE_MS: '300',
      STALLED_CHECK_MS: '1000',
    });
    started.push(first);
    const accepted = await request(first.url)
      .post(EXEC)
      .set('x-api-key', KEY)
      .send({ code: "import time\ntime.sleep(3)\nprint('ran to the end')", async: true });
    expect(accepted.status).toBe(202);
    const jobId = accepted.body.job_id as string;
    await waitFor('the job to run', async () => {
      const res = await request(first.url).get(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
      return res.body.response.status === 'running';
    });
    const signalled = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(2000);
    const second = await startServiceProcess(prefix, { ROLE: 'all', STALLED_CHECK_MS: '1000' });
    started.push(second);
    const ended = await waitFor(
      'the job to end',
      async () => {
        const res = await request(second.url).get(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
        return ENDED.includes(res.body.response.status) ? res.body.response : null;
      },
      30_000,
    );
    expect(ended.status).toBe('completed');
    expect(ended.result.response.stdout).toBe('ran to the end\n');
    expect(ended.result.pid).toBe(second.child.pid);
  }, 60_000);
});
