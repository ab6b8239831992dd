import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { RedisProcess } from './redis-process';
import { killService, ServiceProcess, startServiceProcess } from './service-process';
import { KEY, uniquePrefix, waitFor } from './utils';

const EXEC = '/v1/code/execute/python';
const ENDED = ['completed', 'failed', 'cancelled'];
const NAME = 'pyexec-test-primary';

/** Runs `command` on a fresh connection to `redis` and closes it. */
async function ask(redis: RedisProcess, ...command: string[]): Promise<unknown> {
  const client = redis.client();
  try {
    await client.connect();
    return await client.call(command[0], ...command.slice(1));
  } finally {
    client.disconnect();
  }
}

describe('Redis Sentinel: a failover under load loses no accepted job (real redis-server + sentinels on loopback)', () => {
  const prefix = uniquePrefix();
  let dir: string;
  let primary: RedisProcess;
  let replica: RedisProcess;
  let sentinels: RedisProcess[];
  let service: ServiceProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pyexec-sentinel-'));
    for (const sub of ['primary', 'replica', 'sentinels']) mkdirSync(join(dir, sub));
    primary = await RedisProcess.server(join(dir, 'primary'));
    replica = await RedisProcess.server(join(dir, 'replica'), ['--replicaof', '127.0.0.1', String(primary.port)]);
    await waitFor(
      'the replica to sync',
      async () => /master_link_status:up/.test(String(await ask(replica, 'INFO', 'replication'))),
      15_000,
    );
    sentinels = [
      await RedisProcess.sentinel(join(dir, 'sentinels'), NAME, primary.port),
      await RedisProcess.sentinel(join(dir, 'sentinels'), NAME, primary.port),
    ];
    // A sentinel can fail over only to a replica it has found (through INFO on the primary).
    await waitFor(
      'the sentinel to know the replica',
      async () => {
        const replicas = (await ask(sentinels[0], 'SENTINEL', 'REPLICAS', NAME)) as string[][];
        return replicas.some(
          (fields) => fields.includes(String(replica.port)) && fields[fields.indexOf('flags') + 1] === 'slave',
        );
      },
      20_000,
    );
    service = await startServiceProcess(prefix, {
      REDIS_URL: '',
      REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      REDIS_SENTINEL_NAME: NAME,
      SANDBOX_SERVERS: '2',
      STALLED_CHECK_MS: '2000',
    });
  }, 90_000);
  afterAll(async () => {
    await killService(service);
    for (const redis of [...(sentinels ?? []), replica, primary]) await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Async + sync load (c=2 each) across `disrupt`; every job a caller got a job_id for must end
   * completed with its own result.
   */
  async function underLoad(disrupt: () => Promise<void>, newPrimary: RedisProcess): Promise<void> {
    const http = () => request(service.url);
    const accepted: Array<{ jobId: string; marker: string }> = [];
    const statuses: Array<number | 'no answer'> = [];
    let answeredAfterSwitch = 0;
    let switched = false;
    let stopLoad = false;
    const callOnce = async (sync: boolean) => {
      const marker = `${sync ? 'sync' : 'async'}-${(seq += 1)}`;
      try {
        const res = await http()
          .post(EXEC)
          .set('x-api-key', KEY)
          // Generous: a sync call caught by the 8-s write pause waits it out, then the failover (slow on
          // a loaded machine). This test is about lost jobs; redis-outage bounds the answer time.
          .timeout(30_000)
          .send({ code: `import time\ntime.sleep(0.1)\n${JSON.stringify(marker)}`, timeout: 2, async: !sync });
        statuses.push(res.status);
        if (res.body.job_id) accepted.push({ jobId: res.body.job_id, marker });
        if (switched && (res.status === 200 || res.status === 202)) answeredAfterSwitch += 1;
      } catch {
        statuses.push('no answer');
      }
    };
    const loops = [true, true, false, false].map(async (sync) => {
      while (!stopLoad) await callOnce(sync);
    });

    await waitFor('jobs accepted before the failover', () => accepted.length >= 10, 15_000);
    await disrupt();
    await waitFor(
      'the sentinels to name the new primary',
      async () => {
        const [, port] = (await ask(sentinels[1], 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME)) as string[];
        return port === String(newPrimary.port);
      },
      20_000,
    );
    switched = true;
    await waitFor('the service to serve on the new primary', () => answeredAfterSwitch >= 10, 20_000);
    stopLoad = true;
    await Promise.all(loops);

    const unexpected = statuses.filter((s) => ![200, 202, 503].includes(s as number));
    if (unexpected.length > 0) {
      // What the service logged about it, to tell a lost job from a Redis error from a sandbox failure.
      console.log(
        service
          .output()
          .split('\n')
          .filter((line) => /error|fail|lost|stalled/i.test(line))
          .slice(-80)
          .join('\n'),
      );
    }
    expect(unexpected).toEqual([]);
    expect(String(await ask(newPrimary, 'ROLE'))).toMatch(/^master/);
    for (const { jobId, marker } of accepted) {
      let last: unknown;
      const job = await waitFor(
        `job ${jobId} to end`,
        async () => {
          const res = await http().get(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
          last = res.body;
          return res.status === 200 && ENDED.includes(res.body.response.status) ? res.body.response : null;
        },
        15_000,
      ).catch((err: Error) => {
        const lines = service.output().split('\n');
        console.log(JSON.stringify(last), '\n', lines.filter((line) => line.includes(jobId)).join('\n'));
        throw err;
      });
      expect({ jobId, status: job.status, result: job.result.response?.result }).toEqual({
        jobId,
        status: 'completed',
        result: marker,
      });
    }
  }
  let seq = 0;

  it('planned switchover (writes paused on the primary, then SENTINEL FAILOVER) under load: no accepted job lost', async () => {
    await underLoad(async () => {
      // Replication is asynchronous: pausing writes first lets the replica catch up before it is promoted.
      // The pause must outlast the failover (writes after it, on the old primary, are lost when it is
      // demoted): under CI load a failover took longer than 3 s.
      expect(await ask(primary, 'CLIENT', 'PAUSE', '8000', 'WRITE')).toBe('OK');
      expect(await ask(sentinels[0], 'SENTINEL', 'FAILOVER', NAME)).toBe('OK');
    }, replica);
  }, 90_000);

  describe('then', () => {
    // After the switchover the old primary becomes the replica (the sentinels reconfigure it in
    // their own time; here at once).
    beforeAll(async () => {
      await ask(primary, 'REPLICAOF', '127.0.0.1', String(replica.port));
      await waitFor(
        'the old primary to follow the new one',
        async () => /master_link_status:up/.test(String(await ask(primary, 'INFO', 'replication'))),
        15_000,
      );
      await waitFor(
        'the sentinel to know it as a replica',
        async () => {
          const replicas = (await ask(sentinels[0], 'SENTINEL', 'REPLICAS', NAME)) as string[][];
          return replicas.some(
            (fields) => fields.includes(String(primary.port)) && fields[fields.indexOf('flags') + 1] === 'slave',
          );
        },
        25_000,
      );
    }, 45_000);

    it('the primary killed under load: the sentinels promote the replica, no accepted job lost', async () => {
      await underLoad(() => replica.stop('SIGKILL'), primary);
    }, 90_000);
  });
});
