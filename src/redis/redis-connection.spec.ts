import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Queue from 'bull';
import { redisServerMissingMessage } from './embedded-redis.server';
import { ConnectionSettings, RedisConnection } from './redis-connection';
import { isRedisUnavailableError } from './redis-unavailable';

function embeddedSettings(dataDir: string): ConnectionSettings {
  return { redisUrl: undefined, redisSentinelName: 'mymaster', redisCommandTimeoutMs: 5000, dataDir };
}

describe('RedisConnection.fromUrl', () => {
  it.each([
    ['redis://localhost', { host: 'localhost', port: 6379, db: 0 }],
    ['redis://10.0.0.5:6380/3', { host: '10.0.0.5', port: 6380, db: 3 }],
    ['redis://:p%40ss@cache:7000/', { host: 'cache', port: 7000, db: 0, password: 'p@ss' }],
    ['redis://app:secret@cache', { host: 'cache', port: 6379, db: 0, username: 'app', password: 'secret' }],
    ['rediss://cache.example:6380', { host: 'cache.example', port: 6380, db: 0, tls: {} }],
    ['redis://[::1]:6379', { host: '::1', port: 6379, db: 0 }],
  ])('%s', (url, expected) => {
    const connection = RedisConnection.fromUrl(url);
    expect(connection.url).toBe(url);
    expect(connection.socketPath).toBeUndefined();
    expect(connection.options()).toEqual(expected);
  });
});

describe('RedisConnection.start with REDIS_SENTINELS (description only: nothing connects)', () => {
  it('asks the sentinels for the named primary, with credentials and db from REDIS_URL', async () => {
    const connection = await RedisConnection.start({
      ...embeddedSettings('/nonexistent'),
      redisUrl: 'redis://:pw@ignored-host:1234/2',
      redisSentinels: [
        { host: '127.0.0.1', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      redisSentinelName: 'pyexec-primary',
    });
    expect(connection.url).toBeUndefined();
    expect(connection.options()).toMatchObject({
      sentinels: [
        { host: '127.0.0.1', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      name: 'pyexec-primary',
      password: 'pw',
      db: 2,
    });
    expect(connection.options()).not.toHaveProperty('host');
  });
});

describe('RedisConnection.start without REDIS_URL (embedded redis-server in DATA_DIR)', () => {
  let root: string;
  let dataDir: string;
  let connection: RedisConnection;
  let socketPath: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'pyexec-redis-spec-'));
    dataDir = join(root, 'data');
    connection = await RedisConnection.start(embeddedSettings(dataDir));
    socketPath = connection.socketPath!;
  });
  afterAll(async () => {
    await connection.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('creates DATA_DIR private and listens only on a unix socket inside it', () => {
    expect(connection.url).toBeUndefined();
    expect(connection.options()).toEqual({ path: socketPath });
    expect(socketPath).toBe(join(dataDir, 'redis.sock'));
    expect(statSync(socketPath).isSocket()).toBe(true);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  });

  it('keeps an append-only file in DATA_DIR, written before each answer and fsynced every second', async () => {
    const client = connection.createClient('spec');
    try {
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await client.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
      expect(await client.config('GET', 'dir')).toEqual(['dir', dataDir]);
      expect(await client.config('GET', 'port')).toEqual(['port', '0']);
      expect(await client.client('GETNAME')).toBe('spec');
      expect(existsSync(join(dataDir, 'appendonlydir'))).toBe(true);
    } finally {
      await client.quit();
    }
  });

  it('refuses a second service on the same DATA_DIR while this one runs', async () => {
    await expect(RedisConnection.start(embeddedSettings(dataDir))).rejects.toThrow(
      `DATA_DIR ${dataDir} is in use by another running service (pid ${process.pid})`,
    );
  });

  it('carries a Bull queue with its own prefix; Bull blocking clients wait, command clients are bounded', async () => {
    const { createClient } = connection.bullQueueOptions();
    const queue = new Queue<{ n: number }>('spec', { createClient, prefix: 'redis-connection-spec' });
    try {
      const done = new Promise<number>((resolve) => queue.on('completed', (_job, result: number) => resolve(result)));
      void queue.process(async (job) => job.data.n * 2);
      await queue.add({ n: 21 });
      expect(await done).toBe(42);
      const bclient = (queue as unknown as { bclient: typeof queue.client }).bclient;
      expect(bclient.options).toMatchObject({ maxRetriesPerRequest: null, enableReadyCheck: false });
      expect(bclient.options.commandTimeout).toBeUndefined();
      expect(queue.client.options).toMatchObject({ maxRetriesPerRequest: 1, commandTimeout: 5000 });
    } finally {
      await queue.close();
    }
  });
});

describe('RedisConnection across restarts and outages', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'pyexec-redis-spec-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('keeps data across a stop and a start on the same DATA_DIR, and frees the DATA_DIR on stop', async () => {
    const dataDir = join(root, 'data');
    const first = await RedisConnection.start(embeddedSettings(dataDir));
    const writer = first.createClient('writer');
    await writer.set('spec:kept', 'across restarts');
    await first.stop();
    expect(existsSync(join(dataDir, 'service.pid'))).toBe(false);
    const second = await RedisConnection.start(embeddedSettings(dataDir));
    try {
      expect(await second.createClient('reader').get('spec:kept')).toBe('across restarts');
    } finally {
      await second.stop();
    }
  });

  it('takes over a lock and socket left by a process that is gone (SIGKILL)', async () => {
    const dataDir = join(root, 'data');
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    mkdirSync(dataDir, { mode: 0o755 });
    writeFileSync(join(dataDir, 'service.pid'), `${gone.stdout}\n`);
    writeFileSync(join(dataDir, 'redis.sock'), 'stale');
    const connection = await RedisConnection.start(embeddedSettings(dataDir));
    try {
      expect(await connection.createClient('after-stale').ping()).toBe('PONG');
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    } finally {
      await connection.stop();
    }
  });

  it('fails a command within about a second once Redis is gone, and reports it unavailable', async () => {
    const connection = await RedisConnection.start(embeddedSettings(join(root, 'data')));
    const changes: boolean[] = [];
    connection.onAvailabilityChange((available) => changes.push(available));
    try {
      const probe = connection.createClient('probe');
      expect(await probe.ping()).toBe('PONG');
      await connection
        .createClient('killer')
        .call('SHUTDOWN', 'NOSAVE')
        .catch(() => undefined);
      const startedAt = Date.now();
      const failure = await probe.get('spec:any').then(
        () => null,
        (error: unknown) => error,
      );
      expect(isRedisUnavailableError(failure)).toBe(true);
      expect(Date.now() - startedAt).toBeLessThan(2000); // the command timeout (5 s here) is not what bounds it
      expect(connection.isAvailable()).toBe(false);
      expect(changes).toEqual([false]);
    } finally {
      await connection.stop();
    }
  });

  it('explains what to install or set when redis-server is not on PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(RedisConnection.start(embeddedSettings(join(root, 'data')))).rejects.toThrow(
        redisServerMissingMessage,
      );
    } finally {
      process.env.PATH = path;
    }
    expect(redisServerMissingMessage).toBe(
      'redis-server not found on PATH: install it (apt-get install redis-server) or set REDIS_URL',
    );
  });
});
