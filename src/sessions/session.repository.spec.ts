import { randomBytes, randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { parseHostMessage, SessionRepository } from './session.repository';
import type { SessionRecord } from './session.types';

// The sessions' scripts on the machine's shared Redis, under a prefix of their own.
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const prefix = `pyexec-test-sessions-${process.pid}-${randomBytes(4).toString('hex')}`;

function newSession(owner = 'owner-a'): Omit<SessionRecord, 'worker'> {
  const now = Date.now();
  return {
    sessionId: randomUUID(),
    owner,
    clientId: null,
    status: 'idle',
    endedReason: null,
    createdAtMs: now,
    lastUsedAtMs: now,
    endedAtMs: null,
    ttlSec: 60,
    maxLifetimeSec: 3600,
    executions: 0,
    memoryLimitMb: 128,
  };
}

describe('SessionRepository (its Lua scripts on a real Redis)', () => {
  let redis: Redis;
  let repository: SessionRepository;
  const limits = { perKey: 2, perWorker: 3 };

  beforeAll(() => {
    redis = new Redis(redisUrl);
    repository = new SessionRepository(redis, prefix);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });
  beforeEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  });

  it('no live worker: no_worker, and nothing is written', async () => {
    await redis.sadd(`${prefix}:sessions:hosts`, 'dead-worker'); // announced once, its liveness key gone
    expect(await repository.create(newSession(), limits)).toEqual({ result: 'no_worker', worker: undefined });
    expect(await redis.keys(`${prefix}:session:*`)).toEqual([]);
  });

  it('creates on the live worker holding the fewest, tells it on its stream, and counts per key and worker', async () => {
    await repository.hostBeat('w1');
    await repository.hostBeat('w2');
    const first = await repository.create(newSession(), limits);
    const second = await repository.create(newSession(), limits);
    expect(first.result).toBe('created');
    expect(new Set([first.worker, second.worker])).toEqual(new Set(['w1', 'w2']));
    expect((await repository.create(newSession(), limits)).result).toBe('key_limit');
    const entries = await redis.xrange(repository.streamKey(first.worker!), '-', '+');
    expect(parseHostMessage(entries[0][1])).toMatchObject({ type: 'create', ttlSec: 60, maxLifetimeSec: 3600 });
    expect(await repository.openCount()).toBe(2);
  });

  it('every worker full: worker_full', async () => {
    await repository.hostBeat('w1');
    for (const owner of ['a', 'b', 'c'])
      expect((await repository.create(newSession(owner), limits)).result).toBe('created');
    expect((await repository.create(newSession('d'), limits)).result).toBe('worker_full');
  });

  it('routes a call only into a live session of its owner; ends once and hands back the open calls', async () => {
    await repository.hostBeat('w1');
    const session = newSession();
    await repository.create(session, limits);
    const id = session.sessionId;
    expect(await repository.enqueueCall(id, 'owner-b', { jobId: 'j0', data: '{}' })).toEqual({ refused: 'unknown' });
    expect(await repository.enqueueCall(randomUUID(), 'owner-a', { jobId: 'j0', data: '{}' })).toEqual({
      refused: 'unknown',
    });
    expect(await repository.enqueueCall(id, 'owner-a', { jobId: 'j1', data: '{}' })).toEqual({ routed: 'stream' });
    expect(await repository.enqueueCall(id, 'owner-a', { jobId: 'j2', data: '{}' })).toEqual({ routed: 'stream' });
    expect((await repository.get(id))!.status).toBe('busy');
    await repository.callEnded(id, 'j1', Date.now());
    expect(await repository.get(id)).toMatchObject({ status: 'busy', executions: 1 });
    const ended = await repository.end(id, 'deleted');
    expect(ended).toEqual({ ended: true, worker: 'w1', openCalls: ['j2'] });
    expect(await repository.end(id, 'expired')).toEqual({ ended: false, reason: 'deleted' });
    expect(await repository.enqueueCall(id, 'owner-a', { jobId: 'j3', data: '{}' })).toEqual({ refused: 'deleted' });
    expect(await repository.get(id)).toMatchObject({ status: 'ended', endedReason: 'deleted' });
    expect(await redis.ttl(repository.sessionKey(id))).toBeGreaterThan(3000);
    expect(await repository.sessionsOf('w1')).toEqual([]);
    expect((await repository.create(newSession(), { perKey: 1, perWorker: 3 })).result).toBe('created'); // freed
  });

  it("on the calling process' worker: handed over here while its stream is empty, else on the stream", async () => {
    await repository.hostBeat('w1');
    const session = newSession();
    expect(await repository.create(session, limits, 'w1')).toEqual({ result: 'created', worker: 'w1', here: true });
    const id = session.sessionId;
    const call = (jobId: string, worker: string, owner = 'owner-a') =>
      repository.enqueueCall(id, owner, { jobId, data: '{}' }, { here: { worker } });
    expect(await call('j1', 'w1')).toEqual({ routed: 'here', started: false });
    expect(await redis.xlen(repository.streamKey('w1'))).toBe(0);
    expect(await repository.get(id)).toMatchObject({ status: 'busy', worker: 'w1' }); // open, as on the stream
    // Another process' worker id changes nothing: that call goes on w1's stream.
    expect(await call('j2', 'w2')).toEqual({ routed: 'stream' });
    // Now w1's stream holds a message not yet handled: a call from w1's own process queues behind it.
    expect(await call('j3', 'w1')).toEqual({ routed: 'stream' });
    expect(await redis.xlen(repository.streamKey('w1'))).toBe(2);
    expect(await call('j4', 'w1', 'owner-b')).toEqual({ refused: 'unknown' });
    expect(await repository.end(id, 'deleted')).toMatchObject({
      openCalls: expect.arrayContaining(['j1', 'j2', 'j3']),
    });
  });

  it("a call here is started in the step that routes it only as its session's one open call, and not if cancelled", async () => {
    await repository.hostBeat('w1');
    const session = newSession();
    await repository.create(session, limits, 'w1');
    const jobKey = (jobId: string) => `${prefix}:job:${jobId}`;
    const here = (jobId: string, worker = 'w1') => ({
      worker,
      start: { jobKeys: [jobKey(jobId), `${prefix}:unqueued`] as [string, string], atMs: 1234 },
    });
    for (const jobId of ['j1', 'j2', 'j3', 'j4', 'j5']) {
      await redis.hset(jobKey(jobId), 'status', 'pending');
      await redis.zadd(`${prefix}:unqueued`, 1, jobId);
    }
    const call = (jobId: string, worker?: string) =>
      repository.enqueueCall(session.sessionId, 'owner-a', { jobId, data: '{}' }, { here: here(jobId, worker) });
    expect(await call('j1')).toEqual({ routed: 'here', started: true });
    expect(await redis.hmget(jobKey('j1'), 'status', 'started_at')).toEqual(['running', '1234']);
    expect(await call('j2')).toEqual({ routed: 'here', started: false }); // j1 is still open: j2 waits
    expect(await redis.hget(jobKey('j2'), 'status')).toBe('pending');
    await repository.callEnded(session.sessionId, 'j1', Date.now());
    await repository.callEnded(session.sessionId, 'j2', Date.now());
    await redis.hset(jobKey('j3'), 'cancel_requested', '1');
    expect(await call('j3')).toEqual({ routed: 'here', started: false }); // its worker's start refuses it
    expect(await redis.hget(jobKey('j3'), 'status')).toBe('pending');
    await repository.callEnded(session.sessionId, 'j3', Date.now());
    expect(await call('j4', 'w2')).toEqual({ routed: 'stream' }); // not here: never started by the route
    expect(await redis.hget(jobKey('j4'), 'status')).toBe('pending');
    expect(await redis.zscore(`${prefix}:unqueued`, 'j4')).toBe('1');
  });

  it('lists newest first and prunes expired entries', async () => {
    await repository.hostBeat('w1');
    const a = newSession();
    const b = { ...newSession(), createdAtMs: a.createdAtMs + 1 };
    await repository.create(a, limits);
    await repository.create(b, limits);
    expect((await repository.list('owner-a')).map((s) => s.sessionId)).toEqual([b.sessionId, a.sessionId]);
    await redis.del(repository.sessionKey(a.sessionId));
    expect((await repository.list('owner-a')).map((s) => s.sessionId)).toEqual([b.sessionId]);
  });

  it('finds dead workers and forgets them', async () => {
    await repository.hostBeat('w1');
    await redis.sadd(`${prefix}:sessions:hosts`, 'gone');
    expect(await repository.deadHosts()).toEqual(['gone']);
    await repository.forgetHost('gone');
    expect(await repository.deadHosts()).toEqual([]);
  });
});
