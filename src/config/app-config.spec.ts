import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig, ConfigError, loadConfig } from './app-config';
import { packageVersion } from './build-info';

const base = { API_KEYS: 'test-key', BUILD_NUMBER: 'test' };

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(base);
    expect(config).toBeInstanceOf(AppConfig);
    expect(config).toMatchObject({
      port: 3000,
      role: 'all',
      host: undefined,
      healthPort: 3001,
      apiKeys: ['test-key'],
      redisUrl: undefined,
      redisPrefix: 'pyexec',
      redisSentinels: undefined,
      redisSentinelName: 'mymaster',
      redisCommandTimeoutMs: 5000,
      dataDir: join(process.cwd(), 'data'),
      workerConcurrency: availableParallelism(),
      maxQueueLength: 0,
      defaultTimeoutSec: 30,
      maxTimeoutSec: 300,
      memoryLimitMb: 256,
      maxOutputBytes: 1048576,
      maxCodeBytes: 262144,
      maxBodyBytes: 12582912,
      maxInputFiles: 100,
      maxInputFileBytes: 8388608,
      maxOutputFileBytes: 8388608,
      maxDisplayBytes: 8388608,
      scratchMb: 64,
      jobRetentionSec: 3600,
      stalledCheckMs: 10000,
      shutdownGraceMs: 25000,
      webhookSecret: undefined,
      webhookTimeoutMs: 10000,
      webhookMaxAttempts: 8,
      webhookBackoffBaseMs: 1000,
      webhookConcurrency: 16,
      webhookAllowPrivate: false,
      sandbox: 'bwrap',
      sandboxServers: availableParallelism(),
      sandboxUidBase: 60_000,
      pythonBin: '/usr/bin/python3',
      rateLimitPerMinute: 0,
      buildNumber: 'test',
      logLevel: 'log',
      production: false,
    });
    expect(config.generatedApiKey).toBeUndefined();
  });

  it('is immutable', () => {
    const config = loadConfig(base);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.apiKeys)).toBe(true);
  });

  const good: Array<[string, Record<string, string>, Partial<AppConfig>]> = [
    ['PORT', { PORT: '8080' }, { port: 8080 }],
    ['PORT 0 (ephemeral)', { PORT: '0' }, { port: 0 }],
    ['HOST', { HOST: '127.0.0.1' }, { host: '127.0.0.1' }],
    ['HEALTH_PORT', { HEALTH_PORT: '9101' }, { healthPort: 9101 }],
    ['ROLE', { ROLE: 'worker' }, { role: 'worker' }],
    ['REDIS_URL', { REDIS_URL: 'redis://:pw@10.0.0.1:6380/2' }, { redisUrl: 'redis://:pw@10.0.0.1:6380/2' }],
    ['REDIS_URL tls', { REDIS_URL: 'rediss://cache.example:6380' }, { redisUrl: 'rediss://cache.example:6380' }],
    ['REDIS_URL without port', { REDIS_URL: 'redis://cache/' }, { redisUrl: 'redis://cache/' }],
    ['REDIS_PREFIX', { REDIS_PREFIX: 'test:run-1' }, { redisPrefix: 'test:run-1' }],
    [
      'REDIS_SENTINELS',
      {
        REDIS_SENTINELS: '127.0.0.1:26379, sentinel-2.internal:26380,[::1]:26381',
        REDIS_SENTINEL_NAME: 'pyexec-primary',
      },
      {
        redisSentinels: [
          { host: '127.0.0.1', port: 26379 },
          { host: 'sentinel-2.internal', port: 26380 },
          { host: '::1', port: 26381 },
        ],
        redisSentinelName: 'pyexec-primary',
      },
    ],
    ['REDIS_COMMAND_TIMEOUT_MS', { REDIS_COMMAND_TIMEOUT_MS: '2500' }, { redisCommandTimeoutMs: 2500 }],
    ['DATA_DIR (absolute)', { DATA_DIR: '/var/lib/pyexec' }, { dataDir: '/var/lib/pyexec' }],
    [
      'DATA_DIR (relative to the working directory)',
      { DATA_DIR: 'state/redis' },
      { dataDir: join(process.cwd(), 'state/redis') },
    ],
    ['WORKER_CONCURRENCY', { WORKER_CONCURRENCY: '4' }, { workerConcurrency: 4 }],
    [
      'WORKER_CONCURRENCY follows SANDBOX_SERVERS',
      { SANDBOX_SERVERS: '3' },
      { workerConcurrency: 3, sandboxServers: 3 },
    ],
    ['MAX_QUEUE_LENGTH', { MAX_QUEUE_LENGTH: '100' }, { maxQueueLength: 100 }],
    ['DEFAULT_TIMEOUT', { DEFAULT_TIMEOUT: '5' }, { defaultTimeoutSec: 5 }],
    ['MAX_TIMEOUT caps the default', { MAX_TIMEOUT: '10' }, { maxTimeoutSec: 10, defaultTimeoutSec: 10 }],
    ['MAX_TIMEOUT upper bound', { MAX_TIMEOUT: '300' }, { maxTimeoutSec: 300 }],
    ['MEMORY_LIMIT_MB', { MEMORY_LIMIT_MB: '512' }, { memoryLimitMb: 512 }],
    ['MAX_OUTPUT_BYTES', { MAX_OUTPUT_BYTES: '2048' }, { maxOutputBytes: 2048 }],
    ['MAX_CODE_BYTES', { MAX_CODE_BYTES: '1000' }, { maxCodeBytes: 1000 }],
    ['MAX_BODY_BYTES', { MAX_BODY_BYTES: '5000' }, { maxBodyBytes: 5000 }],
    ['SCRATCH_MB', { SCRATCH_MB: '16' }, { scratchMb: 16 }],
    ['JOB_RETENTION_SECONDS', { JOB_RETENTION_SECONDS: '60' }, { jobRetentionSec: 60 }],
    ['STALLED_CHECK_MS', { STALLED_CHECK_MS: '2000' }, { stalledCheckMs: 2000 }],
    ['SHUTDOWN_GRACE_MS', { SHUTDOWN_GRACE_MS: '0' }, { shutdownGraceMs: 0 }],
    ['WEBHOOK_SECRET', { WEBHOOK_SECRET: 's3cret' }, { webhookSecret: 's3cret' }],
    ['WEBHOOK_TIMEOUT_MS', { WEBHOOK_TIMEOUT_MS: '500' }, { webhookTimeoutMs: 500 }],
    [
      'WEBHOOK_SECRET whsec_',
      { WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
      { webhookSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
    ],
    ['WEBHOOK_MAX_ATTEMPTS', { WEBHOOK_MAX_ATTEMPTS: '1' }, { webhookMaxAttempts: 1 }],
    ['WEBHOOK_BACKOFF_BASE_MS', { WEBHOOK_BACKOFF_BASE_MS: '20' }, { webhookBackoffBaseMs: 20 }],
    ['WEBHOOK_CONCURRENCY', { WEBHOOK_CONCURRENCY: '4' }, { webhookConcurrency: 4 }],
    ['WEBHOOK_ALLOW_PRIVATE true', { WEBHOOK_ALLOW_PRIVATE: 'true' }, { webhookAllowPrivate: true }],
    ['WEBHOOK_ALLOW_PRIVATE 1', { WEBHOOK_ALLOW_PRIVATE: '1' }, { webhookAllowPrivate: true }],
    ['WEBHOOK_ALLOW_PRIVATE 0', { WEBHOOK_ALLOW_PRIVATE: '0' }, { webhookAllowPrivate: false }],
    ['SANDBOX', { SANDBOX: 'process' }, { sandbox: 'process' }],
    ['SANDBOX_UID_BASE', { SANDBOX_UID_BASE: '700000' }, { sandboxUidBase: 700000 }],
    ['PYTHON_BIN', { PYTHON_BIN: '/opt/python/bin/python3' }, { pythonBin: '/opt/python/bin/python3' }],
    ['RATE_LIMIT_PER_MINUTE', { RATE_LIMIT_PER_MINUTE: '60' }, { rateLimitPerMinute: 60 }],
    ['LOG_LEVEL', { LOG_LEVEL: 'debug' }, { logLevel: 'debug' }],
    ['NODE_ENV', { NODE_ENV: 'production' }, { production: true }],
    ['surrounding whitespace', { PORT: ' 8081 ' }, { port: 8081 }],
    ['empty value means default', { PORT: '', ROLE: '  ' }, { port: 3000, role: 'all' }],
  ];
  it.each(good)('accepts %s', (_label, env, expected) => {
    expect(loadConfig({ ...base, ...env })).toMatchObject(expected);
  });

  const bad: Array<[Record<string, string>, string]> = [
    [{ MAX_TIMEOUT: 'abc' }, 'Invalid MAX_TIMEOUT: "abc" (expected an integer 1..300)'],
    [{ MAX_TIMEOUT: '301' }, 'Invalid MAX_TIMEOUT: "301" (expected an integer 1..300)'],
    [{ MAX_TIMEOUT: '0' }, 'Invalid MAX_TIMEOUT: "0" (expected an integer 1..300)'],
    [{ DEFAULT_TIMEOUT: '1.5' }, 'Invalid DEFAULT_TIMEOUT: "1.5"'],
    [{ DEFAULT_TIMEOUT: '60', MAX_TIMEOUT: '30' }, 'Invalid DEFAULT_TIMEOUT: "60" (expected an integer 1..30)'],
    [{ PORT: '-1' }, 'Invalid PORT: "-1"'],
    [{ PORT: '65536' }, 'Invalid PORT: "65536"'],
    [{ PORT: '0x50' }, 'Invalid PORT: "0x50"'],
    [{ PORT: '1e3' }, 'Invalid PORT: "1e3"'],
    [{ PORT: '99999999999999999999' }, 'Invalid PORT'],
    [{ ROLE: 'both' }, 'Invalid ROLE: "both" (expected one of all, api, worker)'],
    [{ WORKER_CONCURRENCY: '0' }, 'Invalid WORKER_CONCURRENCY: "0"'],
    [{ MAX_QUEUE_LENGTH: '-5' }, 'Invalid MAX_QUEUE_LENGTH: "-5"'],
    [{ MEMORY_LIMIT_MB: '8' }, 'Invalid MEMORY_LIMIT_MB: "8"'],
    [{ MAX_OUTPUT_BYTES: '1MB' }, 'Invalid MAX_OUTPUT_BYTES: "1MB"'],
    [{ MAX_CODE_BYTES: '0' }, 'Invalid MAX_CODE_BYTES: "0"'],
    [{ MAX_BODY_BYTES: 'lots' }, 'Invalid MAX_BODY_BYTES: "lots"'],
    [{ SCRATCH_MB: '0' }, 'Invalid SCRATCH_MB: "0"'],
    [{ JOB_RETENTION_SECONDS: '0' }, 'Invalid JOB_RETENTION_SECONDS: "0"'],
    [{ STALLED_CHECK_MS: '100' }, 'Invalid STALLED_CHECK_MS: "100"'],
    [{ WEBHOOK_TIMEOUT_MS: '10s' }, 'Invalid WEBHOOK_TIMEOUT_MS: "10s"'],
    [{ WEBHOOK_MAX_ATTEMPTS: '0' }, 'Invalid WEBHOOK_MAX_ATTEMPTS: "0"'],
    [{ WEBHOOK_BACKOFF_BASE_MS: '0' }, 'Invalid WEBHOOK_BACKOFF_BASE_MS: "0"'],
    [{ WEBHOOK_CONCURRENCY: '0' }, 'Invalid WEBHOOK_CONCURRENCY: "0"'],
    [{ WEBHOOK_SECRET: 'whsec_not base64!' }, 'Invalid WEBHOOK_SECRET (whsec_ must be followed by standard base64'],
    [{ WEBHOOK_SECRET: 'whsec_' }, 'Invalid WEBHOOK_SECRET'],
    [{ WEBHOOK_SECRET: 'whsec_abc' }, 'Invalid WEBHOOK_SECRET'],
    [{ WEBHOOK_ALLOW_PRIVATE: 'yes' }, 'Invalid WEBHOOK_ALLOW_PRIVATE: "yes" (expected true, false, 1 or 0)'],
    [{ WEBHOOK_ALLOW_PRIVATE: 'TRUE' }, 'Invalid WEBHOOK_ALLOW_PRIVATE: "TRUE"'],
    [{ SANDBOX: 'docker' }, 'Invalid SANDBOX: "docker" (expected one of bwrap, process)'],
    [{ SANDBOX_SERVERS: '0' }, 'Invalid SANDBOX_SERVERS: "0"'],
    [{ SANDBOX_UID_BASE: '0' }, 'Invalid SANDBOX_UID_BASE: "0"'],
    [
      { SANDBOX_UID_BASE: '65530', SANDBOX_SERVERS: '8' },
      'Invalid SANDBOX_UID_BASE: "65530" (65530..65537 would include nobody',
    ],
    [{ SANDBOX_UID_BASE: '2147483647', SANDBOX_SERVERS: '2' }, 'Invalid SANDBOX_UID_BASE: "2147483647"'],
    [{ SANDBOX_UID: '65534' }, 'SANDBOX_UID is no longer used'],
    [{ PYTHON_BIN: 'python3' }, 'Invalid PYTHON_BIN: "python3" (expected an absolute path)'],
    [
      { SANDBOX_PYTHONPATH: 'relative/dir' },
      'Invalid SANDBOX_PYTHONPATH: "relative/dir" (expected an absolute, normalised path)',
    ],
    [{ SANDBOX_PYTHONPATH: '/usr/../etc' }, 'Invalid SANDBOX_PYTHONPATH: "/usr/../etc"'],
    [{ SANDBOX_PYTHONPATH: '/tmp' }, 'Invalid SANDBOX_PYTHONPATH: "/tmp" (under /, /proc, /dev, /sys or /tmp'],
    [{ SANDBOX_PYTHONPATH: '/no/such/dir' }, 'Invalid SANDBOX_PYTHONPATH: "/no/such/dir" (not an existing directory)'],
    [
      { SANDBOX_PRELOAD: 'numpy,os.path;rm' },
      'Invalid SANDBOX_PRELOAD: "os.path;rm" (expected comma-separated module names)',
    ],
    [{ SANDBOX_PRELOAD: '1abc' }, 'Invalid SANDBOX_PRELOAD: "1abc"'],
    [{ RATE_LIMIT_PER_MINUTE: '-1' }, 'Invalid RATE_LIMIT_PER_MINUTE: "-1"'],
    [{ LOG_LEVEL: 'info' }, 'Invalid LOG_LEVEL: "info" (expected one of error, warn, log, debug, verbose)'],
    [{ REDIS_PREFIX: 'has space' }, 'Invalid REDIS_PREFIX: "has space"'],
    [{ REDIS_URL: 'http://localhost:6379' }, 'Invalid REDIS_URL'],
    [{ REDIS_URL: 'not a url' }, 'Invalid REDIS_URL'],
    [{ REDIS_URL: 'redis://localhost:6379/cache' }, 'Invalid REDIS_URL'],
    [{ REDIS_SENTINELS: '127.0.0.1' }, 'Invalid REDIS_SENTINELS: "127.0.0.1" (expected host:port[,host:port...])'],
    [{ REDIS_SENTINELS: '127.0.0.1:26379,:1' }, 'Invalid REDIS_SENTINELS: ":1"'],
    [{ REDIS_SENTINELS: '127.0.0.1:70000' }, 'Invalid REDIS_SENTINELS: "127.0.0.1:70000"'],
    [{ REDIS_SENTINEL_NAME: 'my master' }, 'Invalid REDIS_SENTINEL_NAME: "my master"'],
    [{ REDIS_COMMAND_TIMEOUT_MS: '10' }, 'Invalid REDIS_COMMAND_TIMEOUT_MS: "10" (expected an integer 50..60000)'],
    [{ NODE_ENV: 'production', SANDBOX: 'process' }, 'SANDBOX=process is not allowed when NODE_ENV=production'],
  ];
  it.each(bad)('rejects %j', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });

  it('reads SANDBOX_PYTHONPATH and SANDBOX_PRELOAD as lists, without duplicates', () => {
    const config = loadConfig({
      ...base,
      SANDBOX_PYTHONPATH: '/usr/lib:/var/tmp/:/usr/lib',
      SANDBOX_PRELOAD: 'numpy, pandas,numpy',
    });
    expect(config.sandboxPythonPath).toEqual(['/usr/lib', '/var/tmp']);
    expect(config.sandboxPreload).toEqual(['numpy', 'pandas']);
    expect(loadConfig(base)).toMatchObject({ sandboxPythonPath: [], sandboxPreload: [] });
  });

  it('never echoes a REDIS_URL (it may hold a password)', () => {
    expect(() => loadConfig({ ...base, REDIS_URL: 'http://user:hunter2@host' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    );
  });

  it('never echoes a WEBHOOK_SECRET', () => {
    expect(() => loadConfig({ ...base, WEBHOOK_SECRET: 'whsec_hunter2!' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    );
  });

  describe('API keys', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'pyexec-config-spec-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('splits API_KEYS on commas, trims and drops empties', () => {
      expect(loadConfig({ API_KEYS: ' a , b,,c , ', BUILD_NUMBER: 'x' }).apiKeys).toEqual(['a', 'b', 'c']);
    });

    it('reads API_KEYS_FILE (one per line, # comments) and merges it with API_KEYS', () => {
      const file = join(dir, 'keys');
      writeFileSync(file, '# service A\nfile-key-1\n\n  file-key-2  \n  # old key\na\n');
      const config = loadConfig({ API_KEYS: 'a', API_KEYS_FILE: file, BUILD_NUMBER: 'x' });
      expect(config.apiKeys).toEqual(['a', 'file-key-1', 'file-key-2']);
    });

    it('names API_KEYS_FILE when it cannot be read', () => {
      expect(() => loadConfig({ API_KEYS_FILE: join(dir, 'missing'), BUILD_NUMBER: 'x' })).toThrow(
        /^Invalid API_KEYS_FILE: ".*missing" \(cannot read: ENOENT\)$/,
      );
    });

    it('generates a key outside production when none is configured', () => {
      const first = loadConfig({ BUILD_NUMBER: 'x' });
      const second = loadConfig({ BUILD_NUMBER: 'x' });
      expect(first.generatedApiKey).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(first.apiKeys).toEqual([first.generatedApiKey]);
      expect(second.generatedApiKey).not.toBe(first.generatedApiKey);
    });

    it('refuses to start in production without keys', () => {
      expect(() => loadConfig({ NODE_ENV: 'production', API_KEYS: ' , ' })).toThrow(
        new ConfigError('API_KEYS or API_KEYS_FILE must be set when NODE_ENV=production'),
      );
    });
  });

  it('defaults BUILD_NUMBER to the package version plus the git commit', () => {
    const { buildNumber } = loadConfig({ API_KEYS: 'k' });
    expect(buildNumber.startsWith(packageVersion())).toBe(true);
    expect(buildNumber).toMatch(/^\d+\.\d+\.\d+(\+[0-9a-f]{4,40})?$/);
  });
});
