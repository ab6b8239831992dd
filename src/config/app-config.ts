import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { defaultBuildNumber } from './build-info';
import {
  ConfigError,
  parseInteger,
  oneOf,
  parseBoolean,
  parseWebhookSecret,
  parseUidBase,
  parsePythonBin,
  parseSandboxPythonPath,
  parseSandboxPreload,
  readApiKeys,
} from './config-parsers';
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

export { ConfigError };

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
