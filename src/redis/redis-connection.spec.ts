import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Queue from 'bull';
import { redisServerMissingMessage } from './embedded-redis.server';
import { RedisConnection } from './redis-connection';

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
    expect(connection.bullRedisOptions()).toEqual({ ...expected, enableReadyCheck: false });
  });
});

describe('RedisConnection.start without REDIS_URL (embedded redis-server)', () => {
  let connection: RedisConnection;
  let socketPath: string;

  beforeAll(async () => {
    connection = await RedisConnection.start({ redisUrl: undefined });
    socketPath = connection.socketPath!;
  });
  afterAll(() => connection.stop());

  it('listens only on a private unix socket', () => {
    expect(connection.url).toBeUndefined();
    expect(connection.options()).toEqual({ path: socketPath });
    expect(statSync(socketPath).isSocket()).toBe(true);
    expect(statSync(dirname(socketPath)).mode & 0o077).toBe(0);
  });

  it('answers PING with persistence off', async () => {
    const client = connection.createClient('spec');
    try {
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
      expect(await client.config('GET', 'port')).toEqual(['port', '0']);
      expect(await client.client('GETNAME')).toBe('spec');
    } finally {
      await client.quit();
    }
  });

  it('carries a Bull queue with its own prefix', async () => {
    const queue = new Queue<{ n: number }>('spec', { redis: connection.bullRedisOptions(), prefix: 'redis-connection-spec' });
    try {
      const done = new Promise<number>((resolve) => queue.on('completed', (_job, result: number) => resolve(result)));
      void queue.process(async (job) => job.data.n * 2);
      await queue.add({ n: 21 });
      expect(await done).toBe(42);
    } finally {
      await queue.close();
    }
  });
});

describe('RedisConnection.stop', () => {
  it('stops the embedded server, removes its folder and disconnects leftover clients', async () => {
    const connection = await RedisConnection.start({});
    const socketPath = connection.socketPath!;
    const client = connection.createClient('leftover');
    await client.ping();
    const ended = new Promise((resolve) => client.once('end', resolve));
    await connection.stop();
    await ended;
    expect(existsSync(socketPath)).toBe(false);
    expect(existsSync(dirname(socketPath))).toBe(false);
  });

  it('explains what to install or set when redis-server is not on PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(RedisConnection.start({})).rejects.toThrow(redisServerMissingMessage);
    } finally {
      process.env.PATH = path;
    }
    expect(redisServerMissingMessage).toBe(
      'redis-server not found on PATH: install it (apt-get install redis-server) or set REDIS_URL',
    );
  });
});
