import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, normalize } from 'node:path';
import { defaultBuildNumber } from './build-info';
import { readRedisConfig, RedisConfig } from './redis-config';

export type Role = 'all' | 'api' | 'worker';
export type SandboxKind = 'bwrap' | 'process';
export type ConfigLogLevel = 'error' | 'warn' | 'log' | 'debug' | 'verbose';

const roles: readonly Role[] = ['all', 'api', 'worker'];
const sandboxKinds: readonly SandboxKind[] = ['bwrap', 'process'];
const logLevels: readonly ConfigLogLevel[] = ['error', 'warn', 'log', 'debug', 'verbose'];

const kib = 1024;
const mib = 1024 * kib;
const gib = 1024 * mib;
const maxTimeoutCapSec = 300;
const documentedDefaultTimeoutSec = 30;
// Unused by Linux distributions and systemd (its "unused" range is 1879048192..2147352575).
const defaultSandboxUidBase = 2_000_000_000;
const maxSpawnUid = 2_147_483_647; // Node's spawn() takes an int32 uid
const nobodyUid = 65534;

/** Thrown for any invalid environment variable; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Validated, immutable service configuration. Injected by type (`constructor(config: AppConfig)`). */
export class AppConfig implements RedisConfig {
  readonly port: number;
  readonly role: Role;
  /** Every accepted API key (from API_KEYS, API_KEYS_FILE, or generated). */
  readonly apiKeys: readonly string[];
  /** Set only when no keys were configured outside production; main.ts prints it once. */
  readonly generatedApiKey?: string;
  /** Unset (and no sentinels): the service starts a private redis-server in dataDir (see RedisConnection). */
  readonly redisUrl?: string;
  readonly redisPrefix: string;
  readonly redisSentinels?: ReadonlyArray<{ host: string; port: number }>;
  readonly redisSentinelName: string;
  readonly redisCommandTimeoutMs: number;
  readonly dataDir: string;
  readonly workerConcurrency: number;
  /** 0 = unlimited. */
  readonly maxQueueLength: number;
  readonly defaultTimeoutSec: number;
  readonly maxTimeoutSec: number;
  readonly memoryLimitMb: number;
  readonly maxOutputBytes: number;
  readonly maxCodeBytes: number;
  readonly maxBodyBytes: number;
  readonly scratchMb: number;
  readonly jobRetentionSec: number;
  /** Bull lock duration and stalled-job check interval: how soon a dead worker's job is recovered. */
  readonly stalledCheckMs: number;
  /** On SIGTERM: how long running jobs and in-flight requests may take before the process exits. */
  readonly shutdownGraceMs: number;
  /** `whsec_<base64>` (the key is the decoded bytes) or any other string (the key is its UTF-8 bytes). */
  readonly webhookSecret?: string;
  readonly webhookTimeoutMs: number;
  readonly webhookMaxAttempts: number;
  /** Delay before the first retry; doubles per attempt (with jitter), at most 5 minutes. */
  readonly webhookBackoffBaseMs: number;
  /** Deliveries in flight at once per worker process. */
  readonly webhookConcurrency: number;
  readonly webhookAllowPrivate: boolean;
  readonly sandbox: SandboxKind;
  readonly sandboxServers: number;
  /** When the service runs as root, slot n's sandbox runs as host uid and gid sandboxUidBase + n. */
  readonly sandboxUidBase: number;
  readonly pythonBin: string;
  /** Extra read-only directories mounted into the sandbox and put on sys.path (SANDBOX_PYTHONPATH). */
  readonly sandboxPythonPath: readonly string[];
  /** Modules every fork server imports before its first run (SANDBOX_PRELOAD). */
  readonly sandboxPreload: readonly string[];
  /** Requests per key per minute; 0 = off. */
  readonly rateLimitPerMinute: number;
  readonly buildNumber: string;
  readonly logLevel: ConfigLogLevel;
  readonly production: boolean;

  constructor(values: AppConfigValues) {
    Object.assign(this, values);
    Object.freeze(this);
  }
}

export type AppConfigValues = { -readonly [K in keyof AppConfig]: AppConfig[K] };

/** Parses and validates the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const int = (name: string, fallback: number, min: number, max: number): number =>
    parseInteger(name, read(name), fallback, min, max);
  const production = read('NODE_ENV') === 'production';

  const maxTimeoutSec = int('MAX_TIMEOUT', maxTimeoutCapSec, 1, maxTimeoutCapSec);
  // The documented default is capped by MAX_TIMEOUT; an explicit DEFAULT_TIMEOUT above it is an error.
  const defaultTimeoutSec = int(
    'DEFAULT_TIMEOUT',
    Math.min(documentedDefaultTimeoutSec, maxTimeoutSec),
    1,
    maxTimeoutSec,
  );
  const sandboxServers = int('SANDBOX_SERVERS', availableParallelism(), 1, 256);
  const sandbox = oneOf('SANDBOX', read('SANDBOX'), sandboxKinds, 'bwrap');
  if (production && sandbox !== 'bwrap') {
    throw new ConfigError('SANDBOX=process is not allowed when NODE_ENV=production (use SANDBOX=bwrap)');
  }

  const apiKeys = readApiKeys(read('API_KEYS'), read('API_KEYS_FILE'));
  let generatedApiKey: string | undefined;
  if (apiKeys.length === 0) {
    if (production) throw new ConfigError('API_KEYS or API_KEYS_FILE must be set when NODE_ENV=production');
    generatedApiKey = randomBytes(24).toString('base64url');
    apiKeys.push(generatedApiKey);
  }

  return new AppConfig({
    port: int('PORT', 3000, 0, 65535),
    role: oneOf('ROLE', read('ROLE'), roles, 'all'),
    apiKeys: Object.freeze(apiKeys),
    generatedApiKey,
    ...readRedisConfig(read, int, (message) => new ConfigError(message)),
    workerConcurrency: int('WORKER_CONCURRENCY', sandboxServers, 1, 1024),
    maxQueueLength: int('MAX_QUEUE_LENGTH', 0, 0, 10_000_000),
    defaultTimeoutSec,
    maxTimeoutSec,
    memoryLimitMb: int('MEMORY_LIMIT_MB', 256, 32, 1024 * 1024),
    maxOutputBytes: int('MAX_OUTPUT_BYTES', mib, 1, gib),
    maxCodeBytes: int('MAX_CODE_BYTES', 256 * kib, 1, gib),
    maxBodyBytes: int('MAX_BODY_BYTES', mib, 1, gib),
    scratchMb: int('SCRATCH_MB', 64, 1, 1024 * 1024),
    jobRetentionSec: int('JOB_RETENTION_SECONDS', 3600, 1, 366 * 24 * 3600),
    stalledCheckMs: int('STALLED_CHECK_MS', 10_000, 500, 600_000),
    shutdownGraceMs: int('SHUTDOWN_GRACE_MS', 25_000, 0, 3_600_000),
    webhookSecret: parseWebhookSecret(read('WEBHOOK_SECRET')),
    webhookTimeoutMs: int('WEBHOOK_TIMEOUT_MS', 10_000, 1, 300_000),
    webhookMaxAttempts: int('WEBHOOK_MAX_ATTEMPTS', 8, 1, 100),
    webhookBackoffBaseMs: int('WEBHOOK_BACKOFF_BASE_MS', 1000, 1, 300_000),
    webhookConcurrency: int('WEBHOOK_CONCURRENCY', 16, 1, 1000),
    webhookAllowPrivate: parseBoolean('WEBHOOK_ALLOW_PRIVATE', read('WEBHOOK_ALLOW_PRIVATE'), false),
    sandbox,
    sandboxServers,
    sandboxUidBase: parseUidBase(read, sandboxServers),
    pythonBin: parsePythonBin(read('PYTHON_BIN')),
    sandboxPythonPath: parseSandboxPythonPath(read('SANDBOX_PYTHONPATH')),
    sandboxPreload: parseSandboxPreload(read('SANDBOX_PRELOAD')),
    rateLimitPerMinute: int('RATE_LIMIT_PER_MINUTE', 0, 0, 1_000_000),
    buildNumber: read('BUILD_NUMBER') ?? defaultBuildNumber(),
    logLevel: oneOf('LOG_LEVEL', read('LOG_LEVEL'), logLevels, 'log'),
    production,
  });
}

function parseInteger(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`Invalid ${name}: ${JSON.stringify(raw)} (expected an integer ${min}..${max})`);
  }
  return value;
}

function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], fallback: T): T {
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`Invalid ${name}: ${JSON.stringify(raw)} (expected one of ${allowed.join(', ')})`);
  }
  return raw as T;
}

function parseBoolean(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`Invalid ${name}: ${JSON.stringify(raw)} (expected true, false, 1 or 0)`);
}

function parseWebhookSecret(raw: string | undefined): string | undefined {
  if (raw === undefined || !raw.startsWith('whsec_')) return raw;
  const base64 = raw.slice('whsec_'.length);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/.test(base64)) {
    // The value is not echoed: it is a secret.
    throw new ConfigError(
      'Invalid WEBHOOK_SECRET (whsec_ must be followed by standard base64, e.g. whsec_$(openssl rand -base64 32))',
    );
  }
  return raw;
}

/** A uid range of its own: not root, nobody or any real account's, and an int32 for Node's spawn(). */
function parseUidBase(read: (name: string) => string | undefined, servers: number): number {
  if (read('SANDBOX_UID') !== undefined) {
    throw new ConfigError(
      'SANDBOX_UID is no longer used: each sandbox slot has its own uid, SANDBOX_UID_BASE + slot (default 2000000000)',
    );
  }
  const base = parseInteger(
    'SANDBOX_UID_BASE',
    read('SANDBOX_UID_BASE'),
    defaultSandboxUidBase,
    1000,
    maxSpawnUid - servers + 1,
  );
  const last = base + servers - 1;
  if (base <= nobodyUid + 1 && last >= nobodyUid) {
    throw new ConfigError(`Invalid SANDBOX_UID_BASE: ${base}..${last} would include nobody (65534) or 65535`);
  }
  return base;
}

function parsePythonBin(raw: string | undefined): string {
  if (raw === undefined) return '/usr/bin/python3';
  if (!isAbsolute(raw)) {
    throw new ConfigError(`Invalid PYTHON_BIN: ${JSON.stringify(raw)} (expected an absolute path)`);
  }
  return raw;
}

/** Directories only: absolute, existing, and not where the sandbox already has its own mounts. */
function parseSandboxPythonPath(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const dirs = [
    ...new Set(
      raw
        .split(':')
        .map((dir) => dir.trim().replace(/(.)\/+$/, '$1'))
        .filter((dir) => dir !== ''),
    ),
  ];
  for (const dir of dirs) {
    const bad = (why: string) => new ConfigError(`Invalid SANDBOX_PYTHONPATH: ${JSON.stringify(dir)} (${why})`);
    if (!isAbsolute(dir) || normalize(dir) !== dir) throw bad('expected an absolute, normalised path');
    if (/^\/(proc|dev|tmp|sys)(\/|$)/.test(dir) || dir === '/')
      throw bad('under /, /proc, /dev, /sys or /tmp, which the sandbox mounts itself');
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      // reported below
    }
    if (!isDir) throw bad('not an existing directory');
  }
  return dirs;
}

function parseSandboxPreload(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const modules = [
    ...new Set(
      raw
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== ''),
    ),
  ];
  for (const name of modules) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name)) {
      throw new ConfigError(`Invalid SANDBOX_PRELOAD: ${JSON.stringify(name)} (expected comma-separated module names)`);
    }
  }
  return modules;
}

function readApiKeys(list: string | undefined, file: string | undefined): string[] {
  const keys = (list ?? '').split(',');
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `Invalid API_KEYS_FILE: cannot read ${JSON.stringify(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    keys.push(...text.split('\n').filter((line) => !line.trimStart().startsWith('#')));
  }
  return [...new Set(keys.map((key) => key.trim()).filter((key) => key !== ''))];
}
