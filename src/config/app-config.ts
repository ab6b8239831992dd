import { randomBytes } from 'node:crypto';
import { defaultBuildNumber } from './build-info';
import { apiKeysOf } from './environment.rules';
import { ConfigLogLevel, EnvironmentVariables, Role, SandboxKind } from './environment.schema';
import { ConfigError, validate } from './environment.validate';
import { RedisConfig } from './redis-config';

export type { ConfigLogLevel, Role, SandboxKind };
export { ConfigError };

const documentedDefaultTimeoutSec = 30;

/** Validated, immutable service configuration. Injected by type (`constructor(config: AppConfig)`). */
export class AppConfig implements RedisConfig {
  /** Unset: every interface. */
  readonly host?: string;
  readonly port: number;
  /** ROLE=worker: the port of its health and metrics endpoints. */
  readonly healthPort: number;
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
  /** The validated variables this config was mapped from; @nestjs/config's ConfigService serves them. */
  readonly environment: Readonly<EnvironmentVariables>;

  constructor(values: AppConfigValues) {
    Object.assign(this, values);
    Object.freeze(this);
  }
}

export type AppConfigValues = { -readonly [K in keyof AppConfig]: AppConfig[K] };

/** Validates the environment (the same validate() @nestjs/config is given) and maps it; throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  return toAppConfig(validate(env));
}

/** The one mapping from the validated variables to the typed config; derived defaults are applied here. */
export function toAppConfig(env: Readonly<EnvironmentVariables>): AppConfig {
  const apiKeys = apiKeysOf(env);
  // Only outside production (validate() refuses production without keys): printed once by main.ts.
  const generatedApiKey = apiKeys.length === 0 ? randomBytes(24).toString('base64url') : undefined;
  if (generatedApiKey) apiKeys.push(generatedApiKey);
  return new AppConfig({
    host: env.HOST,
    port: env.PORT,
    healthPort: env.HEALTH_PORT,
    role: env.ROLE,
    apiKeys: Object.freeze(apiKeys),
    generatedApiKey,
    redisUrl: env.REDIS_URL,
    redisPrefix: env.REDIS_PREFIX,
    redisSentinels: env.REDIS_SENTINELS,
    redisSentinelName: env.REDIS_SENTINEL_NAME,
    redisCommandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
    dataDir: env.DATA_DIR,
    workerConcurrency: env.WORKER_CONCURRENCY ?? env.SANDBOX_SERVERS,
    maxQueueLength: env.MAX_QUEUE_LENGTH,
    defaultTimeoutSec: env.DEFAULT_TIMEOUT ?? Math.min(documentedDefaultTimeoutSec, env.MAX_TIMEOUT),
    maxTimeoutSec: env.MAX_TIMEOUT,
    memoryLimitMb: env.MEMORY_LIMIT_MB,
    maxOutputBytes: env.MAX_OUTPUT_BYTES,
    maxCodeBytes: env.MAX_CODE_BYTES,
    maxBodyBytes: env.MAX_BODY_BYTES,
    scratchMb: env.SCRATCH_MB,
    jobRetentionSec: env.JOB_RETENTION_SECONDS,
    stalledCheckMs: env.STALLED_CHECK_MS,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    webhookSecret: env.WEBHOOK_SECRET,
    webhookTimeoutMs: env.WEBHOOK_TIMEOUT_MS,
    webhookMaxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
    webhookBackoffBaseMs: env.WEBHOOK_BACKOFF_BASE_MS,
    webhookConcurrency: env.WEBHOOK_CONCURRENCY,
    webhookAllowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
    sandbox: env.SANDBOX,
    sandboxServers: env.SANDBOX_SERVERS,
    sandboxUidBase: env.SANDBOX_UID_BASE,
    pythonBin: env.PYTHON_BIN,
    sandboxPythonPath: env.SANDBOX_PYTHONPATH,
    sandboxPreload: env.SANDBOX_PRELOAD,
    rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
    buildNumber: env.BUILD_NUMBER ?? defaultBuildNumber(),
    logLevel: env.LOG_LEVEL,
    production: env.NODE_ENV === 'production',
    environment: env,
  });
}
