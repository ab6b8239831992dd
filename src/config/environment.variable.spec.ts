import { Test } from '@nestjs/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig, loadConfig } from './app-config';
import { AppConfigModule } from './app-config.module';
import { ConfigError, readVariables, variablesOf } from './environment.variable';

const dir = mkdtempSync(join(tmpdir(), 'pyexec-schema-spec-'));
const keysFile = join(dir, 'keys');
writeFileSync(keysFile, 'file-key\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A good text for every variable, and a bad one where a bad one exists; `with`: what the value also needs. */
const samples: Record<string, { good?: string; bad?: string; with?: Record<string, string> }> = {
  HOST: { good: '::1', bad: 'a host' },
  PORT: { good: '8080', bad: 'abc' },
  HEALTH_PORT: { good: '9101', bad: '65536' },
  ROLE: { good: 'api', bad: 'both' },
  API_KEYS: { good: 'a,b' },
  API_KEYS_FILE: { good: keysFile, bad: join(dir, 'missing') },
  REDIS_URL: { good: 'redis://127.0.0.1:6380/1', bad: 'http://127.0.0.1:6379' },
  DATA_DIR: { good: '/var/lib/pyexec' },
  REDIS_SENTINELS: { good: '127.0.0.1:26379', bad: '127.0.0.1' },
  REDIS_SENTINEL_NAME: { good: 'primary', bad: 'my master' },
  REDIS_COMMAND_TIMEOUT_MS: { good: '2500', bad: '10' },
  REDIS_PREFIX: { good: 'run:1', bad: 'has space' },
  WORKER_CONCURRENCY: { good: '4', bad: '0' },
  MAX_QUEUE_LENGTH: { good: '100', bad: '-5' },
  DEFAULT_TIMEOUT: { good: '5', bad: '0' },
  MAX_TIMEOUT: { good: '60', bad: '301' },
  MEMORY_LIMIT_MB: { good: '512', bad: '8' },
  SCRATCH_MB: { good: '16', bad: '0' },
  MAX_OUTPUT_BYTES: { good: '2048', bad: '1MB' },
  MAX_CODE_BYTES: { good: '1000', bad: '0' },
  MAX_BODY_BYTES: { good: '5000', bad: 'lots' },
  MAX_INPUT_FILES: { good: '10', bad: '-1' },
  MAX_SESSIONS_PER_KEY: { good: '3', bad: '0' },
  SESSIONS_PER_WORKER: { good: '4', bad: '0' },
  SESSION_MAX_LIFETIME_SECONDS: { good: '3600', bad: '5' },
  MAX_INPUT_FILE_BYTES: { good: '1048576', bad: '8MB' },
  MAX_OUTPUT_FILE_BYTES: { good: '1048576', bad: 'x' },
  MAX_DISPLAY_BYTES: { good: '0', bad: '1.5' },
  JOB_RETENTION_SECONDS: { good: '60', bad: '0' },
  STALLED_CHECK_MS: { good: '2000', bad: '100' },
  SHUTDOWN_GRACE_MS: { good: '0', bad: '-1' },
  SANDBOX: { good: 'process', bad: 'docker' },
  SANDBOX_SERVERS: { good: '129', bad: '0' },
  SANDBOX_UID_BASE: { good: '700000', bad: '0' },
  SANDBOX_UID: { bad: '65534' },
  PYTHON_BIN: { good: '/opt/python/bin/python3', bad: 'python3' },
  SANDBOX_PYTHONPATH: { good: '/usr/lib', bad: '/tmp' },
  SANDBOX_PRELOAD: { good: 'numpy', bad: '1abc' },
  WEBHOOK_SECRET: { good: 's3cret', bad: 'whsec_abc' },
  WEBHOOK_TIMEOUT_MS: { good: '500', bad: '10s' },
  WEBHOOK_MAX_ATTEMPTS: { good: '1', bad: '0' },
  WEBHOOK_BACKOFF_BASE_MS: { good: '20', bad: '0' },
  WEBHOOK_CONCURRENCY: { good: '4', bad: '0' },
  WEBHOOK_ALLOW_PRIVATE: { good: 'true', bad: 'yes' },
  SANDBOX_ALLOW_UNBOUNDED_MEMORY: { good: 'true', bad: 'yes' },
  SANDBOX_START_TIMEOUT_MS: { good: '30000', bad: '10' },
  RATE_LIMIT_PER_MINUTE: { good: '60', bad: '-1' },
  BUILD_NUMBER: { good: '1.2.3+abc' },
  LOG_LEVEL: { good: 'debug', bad: 'info' },
  NODE_ENV: { good: 'production', with: { API_KEYS: 'k' }, bad: 'production' }, // bad: no key
};
const variables = variablesOf(AppConfig).map((spec) => spec.name);
const validate = (env: Record<string, string | undefined>) => readVariables(AppConfig, env);
const withGood = variables.filter((name) => samples[name]?.good !== undefined);
const withBad = variables.filter((name) => samples[name]?.bad !== undefined);

const word = (name: string) => new RegExp(`\\b${name}\\b`);

function failureOf(action: () => unknown): string {
  try {
    action();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('the @Variable declarations of AppConfig', () => {
  it('declare each variable once', () => {
    expect(variables.length).toBeGreaterThan(30);
    expect(new Set(variables).size).toBe(variables.length);
  });

  it('has samples for every variable (so the cases below cover them all)', () => {
    expect(Object.keys(samples).sort()).toEqual([...variables].sort());
  });

  it.each(withGood)('%s: a good value is read, with surrounding whitespace trimmed', (name) => {
    const { good, with: extra } = samples[name];
    const read = validate({ ...extra, [name]: good });
    expect(read).not.toEqual(validate({ ...extra }));
    expect(validate({ ...extra, [name]: ` \t${good}  ` })).toEqual(read);
  });

  it.each(variables)('%s: empty or blank is the same as unset', (name) => {
    const unset = validate({});
    expect(validate({ [name]: '' })).toEqual(unset);
    expect(validate({ [name]: ' \t ' })).toEqual(unset);
  });

  it.each(withBad)('%s: a bad value is refused with a message naming it', (name) => {
    expect(() => validate({ [name]: samples[name].bad })).toThrow(ConfigError);
    expect(() => validate({ [name]: samples[name].bad })).toThrow(word(name));
  });

  it('names the first bad variable in the documented order, whatever the order of the environment', () => {
    const env: Record<string, string | undefined> = Object.fromEntries(
      [...withBad].reverse().map((name) => [name, samples[name].bad]),
    );
    for (const name of withBad) {
      const message = failureOf(() => validate(env));
      expect(message).toMatch(word(name));
      for (const other of Object.keys(env).filter((key) => key !== name)) expect(message).not.toMatch(word(other));
      delete env[name];
    }
    expect(() => validate(env)).not.toThrow();
  });

  it('checks DEFAULT_TIMEOUT against MAX_TIMEOUT, which is checked first', () => {
    expect(() => validate({ DEFAULT_TIMEOUT: '60', MAX_TIMEOUT: '30' })).toThrow(
      'Invalid DEFAULT_TIMEOUT: "60" (expected an integer 1..30)',
    );
    expect(() => validate({ DEFAULT_TIMEOUT: '400', MAX_TIMEOUT: 'abc' })).toThrow(
      'Invalid MAX_TIMEOUT: "abc" (expected an integer 1..300)',
    );
    expect(() => validate({ DEFAULT_TIMEOUT: '400' })).toThrow(
      'Invalid DEFAULT_TIMEOUT: "400" (expected an integer 1..300)',
    );
  });

  it('reads only the declared variables, typed, into a new AppConfig', () => {
    const read = validate({ PATH: '/usr/bin', HOME: '/root', PORT: '8080', SANDBOX_PRELOAD: 'numpy' });
    expect(read).toBeInstanceOf(AppConfig);
    expect(Object.values(read)).not.toContain('/usr/bin');
    expect(read).toMatchObject({ port: 8080, role: 'all', sandboxPreload: ['numpy'] });
    expect(Object.isFrozen(read.sandboxPreload)).toBe(true);
  });

  it('applies a fallback only to a variable left unset', () => {
    expect(validate({ SANDBOX_SERVERS: '3' })).toMatchObject({ workerConcurrency: 3, defaultTimeoutSec: 30 });
    expect(validate({ SANDBOX_SERVERS: '3', WORKER_CONCURRENCY: '5' })).toMatchObject({ workerConcurrency: 5 });
    expect(validate({ MAX_TIMEOUT: '10' })).toMatchObject({ defaultTimeoutSec: 10 });
  });
});

describe('AppConfigModule', () => {
  it('provides the AppConfig given, by its class', async () => {
    const config = loadConfig({ API_KEYS: 'k', PORT: '8080', REDIS_PREFIX: 'spec', BUILD_NUMBER: 'test' });
    const moduleRef = await Test.createTestingModule({ imports: [AppConfigModule.forRoot(config)] }).compile();
    try {
      expect(moduleRef.get(AppConfig)).toBe(config);
      expect(moduleRef.get(AppConfig)).toMatchObject({ port: 8080, redisPrefix: 'spec', maxTimeoutSec: 300 });
    } finally {
      await moduleRef.close();
    }
  });
});
