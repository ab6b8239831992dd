import type Redis from 'ioredis';
import { loadConfig } from '../config/app-config';
import { WorkerDirectory } from './worker-directory';
import { WorkerSeen } from './worker-presence';

const seen = (id: string, startedAt: string, ready = true): WorkerSeen => ({
  id,
  hostname: 'host',
  pid: 1,
  role: 'worker',
  concurrency: 1,
  sandbox_ready: ready,
  started_at: startedAt,
  seen_at: startedAt,
});

/** A Redis with a set of ids and the announcements that have not expired. */
function fakeRedis(ids: string[], live: Record<string, WorkerSeen>) {
  return {
    smembers: jest.fn(async () => ids),
    mget: jest.fn(async (keys: string[]) =>
      keys.map((key) => {
        const worker = live[key.slice(key.lastIndexOf(':') + 1)];
        return worker ? JSON.stringify(worker) : null;
      }),
    ),
    srem: jest.fn(async () => 1),
  };
}
const directory = (role: string, redis: ReturnType<typeof fakeRedis>) =>
  new WorkerDirectory(loadConfig({ API_KEYS: 'k', ROLE: role }), redis as unknown as Redis);

describe('WorkerDirectory', () => {
  it('lists live workers oldest first and drops ids whose announcement expired', async () => {
    const redis = fakeRedis(['b', 'gone', 'a'], {
      a: seen('a', '2026-01-01T00:00:00Z'),
      b: seen('b', '2026-01-02T00:00:00Z'),
    });
    expect((await directory('api', redis).list()).map((w) => w.id)).toEqual(['a', 'b']);
    expect(redis.mget).toHaveBeenCalledWith(['pyexec:worker:b', 'pyexec:worker:gone', 'pyexec:worker:a']);
    expect(redis.srem).toHaveBeenCalledWith('pyexec:workers', 'gone');
  });

  it('counts only workers whose sandbox is ready, and trusts a ready one for a second without asking again', async () => {
    const notReady = fakeRedis(['a'], { a: seen('a', '2026-01-01T00:00:00Z', false) });
    expect(await directory('api', notReady).anyReady()).toBe(false);
    const ready = fakeRedis(['a'], { a: seen('a', '2026-01-01T00:00:00Z') });
    const api = directory('api', ready);
    expect(await api.anyReady()).toBe(true);
    expect(await api.anyReady()).toBe(true);
    expect(ready.smembers).toHaveBeenCalledTimes(1);
  });

  it('a ROLE=all process is its own worker and asks nothing', async () => {
    const redis = fakeRedis([], {});
    expect(await directory('all', redis).anyReady()).toBe(true);
    expect(redis.smembers).not.toHaveBeenCalled();
  });
});
