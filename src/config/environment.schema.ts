import { IsEmpty, IsOptional, Matches } from 'class-validator';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import {
  EnvironmentVariable,
  IntegerIn,
  invalid,
  IsBooleanWord,
  OneOf,
  parseBoolean,
  parseInteger,
  parseList,
} from './environment.decorators';
import {
  defaultSandboxUidBase,
  IsModuleList,
  IsProductionReady,
  IsReadableKeysFile,
  IsRedisUrl,
  IsSandboxPythonPath,
  IsSandboxUidBase,
  IsSentinelList,
  KeysFile,
  maxSandboxServers,
  parsePythonPath,
  parseSentinels,
  readKeysFile,
  SentinelAddress,
} from './environment.rules';

export type Role = 'all' | 'api' | 'worker';
export type SandboxKind = 'bwrap' | 'process';
export type ConfigLogLevel = 'error' | 'warn' | 'log' | 'debug' | 'verbose';

const kib = 1024;
const mib = 1024 * kib;
const gib = 1024 * mib;
const maxTimeoutCapSec = 300;
// whsec_ must be followed by standard base64; any other text is a key as it is.
const webhookSecretPattern =
  /^(?!whsec_)|^whsec_(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/;

/** DEFAULT_TIMEOUT may not exceed MAX_TIMEOUT (the cap when MAX_TIMEOUT is itself bad). */
const maxTimeoutOf = (env: EnvironmentVariables) =>
  typeof env.MAX_TIMEOUT === 'number' ? Math.min(env.MAX_TIMEOUT, maxTimeoutCapSec) : maxTimeoutCapSec;

/**
 * The environment the service reads, validated by @nestjs/config (see validate() in
 * environment.validate.ts): one property per variable, named as the variable, in the README's
 * order, which is the order they are checked in, so a boot error names the first bad one.
 * Initializers are the defaults; WORKER_CONCURRENCY, DEFAULT_TIMEOUT and BUILD_NUMBER get theirs in
 * toAppConfig() (they depend on another variable, or run git).
 */
export class EnvironmentVariables {
  /** Unset: every interface, as Node's listen() does. */
  @EnvironmentVariable()
  @IsOptional()
  @Matches(/^[A-Za-z0-9._:%-]{1,255}$/, { message: invalid('expected an IP address or a host name') })
  HOST?: string;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(0, 65535)
  PORT = 3000;

  /** ROLE=worker only: its /health/* and /metrics (a worker serves no API). */
  @EnvironmentVariable(parseInteger)
  @IntegerIn(0, 65535)
  HEALTH_PORT = 3001;

  @EnvironmentVariable()
  @OneOf(['all', 'api', 'worker'])
  ROLE: Role = 'all';

  /** Secrets: never echoed. */
  @EnvironmentVariable(parseList)
  API_KEYS: readonly string[] = [];

  @EnvironmentVariable(readKeysFile)
  @IsOptional()
  @IsReadableKeysFile()
  API_KEYS_FILE?: KeysFile;

  /** Unset (and no sentinels): a private redis-server in DATA_DIR. May hold a password: never echoed. */
  @EnvironmentVariable()
  @IsOptional()
  @IsRedisUrl()
  REDIS_URL?: string;

  @EnvironmentVariable(resolve)
  DATA_DIR = resolve('data');

  @EnvironmentVariable(parseSentinels)
  @IsOptional()
  @IsSentinelList()
  REDIS_SENTINELS?: readonly SentinelAddress[];

  @EnvironmentVariable()
  @Matches(/^[A-Za-z0-9._-]{1,128}$/, { message: invalid('expected 1..128 characters of A-Z a-z 0-9 . _ -') })
  REDIS_SENTINEL_NAME = 'mymaster';

  // Generous: a slow but alive Redis (load, a CLIENT PAUSE during a switchover) must not fail a running job's writes.
  @EnvironmentVariable(parseInteger)
  @IntegerIn(50, 60_000)
  REDIS_COMMAND_TIMEOUT_MS = 5000;

  @EnvironmentVariable()
  @Matches(/^[A-Za-z0-9._:-]{1,64}$/, { message: invalid('expected 1..64 characters of A-Z a-z 0-9 . _ : -') })
  REDIS_PREFIX = 'pyexec';

  /** Unset: SANDBOX_SERVERS. */
  @EnvironmentVariable(parseInteger)
  @IsOptional()
  @IntegerIn(1, 1024)
  WORKER_CONCURRENCY?: number;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(0, 10_000_000)
  MAX_QUEUE_LENGTH = 0;

  /** Unset: 30, or MAX_TIMEOUT if that is lower. */
  @EnvironmentVariable(parseInteger)
  @IsOptional()
  @IntegerIn(1, maxTimeoutOf)
  DEFAULT_TIMEOUT?: number;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(1, maxTimeoutCapSec)
  MAX_TIMEOUT = maxTimeoutCapSec;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(32, 1024 * 1024)
  MEMORY_LIMIT_MB = 256;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(1, 1024 * 1024)
  SCRATCH_MB = 64;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(1, gib)
  MAX_OUTPUT_BYTES = mib;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(1, gib)
  MAX_CODE_BYTES = 256 * kib;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(1, gib)
  MAX_BODY_BYTES = mib;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(1, 366 * 24 * 3600)
  JOB_RETENTION_SECONDS = 3600;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(500, 600_000)
  STALLED_CHECK_MS = 10_000;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(0, 3_600_000)
  SHUTDOWN_GRACE_MS = 25_000;

  @EnvironmentVariable()
  @OneOf(['bwrap', 'process'])
  SANDBOX: SandboxKind = 'bwrap';

  @EnvironmentVariable(parseInteger)
  @IntegerIn(1, maxSandboxServers)
  SANDBOX_SERVERS = Math.min(availableParallelism(), maxSandboxServers);

  @EnvironmentVariable(parseInteger)
  @IsSandboxUidBase()
  SANDBOX_UID_BASE = defaultSandboxUidBase;

  /** Gone (one uid shared by every slot): setting it stops the boot. */
  @EnvironmentVariable()
  @IsEmpty({
    message:
      'SANDBOX_UID is no longer used: each sandbox slot has its own uid, SANDBOX_UID_BASE + slot (default 2000000000)',
  })
  SANDBOX_UID?: string;

  @EnvironmentVariable()
  @Matches(/^\//, { message: invalid('expected an absolute path') })
  PYTHON_BIN = '/usr/bin/python3';

  @EnvironmentVariable(parsePythonPath)
  @IsSandboxPythonPath()
  SANDBOX_PYTHONPATH: readonly string[] = [];

  @EnvironmentVariable(parseList)
  @IsModuleList()
  SANDBOX_PRELOAD: readonly string[] = [];

  /** Never echoed. */
  @EnvironmentVariable()
  @IsOptional()
  @Matches(webhookSecretPattern, {
    message:
      'Invalid WEBHOOK_SECRET (whsec_ must be followed by standard base64, e.g. whsec_$(openssl rand -base64 32))',
  })
  WEBHOOK_SECRET?: string;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(1, 300_000)
  WEBHOOK_TIMEOUT_MS = 10_000;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(1, 100)
  WEBHOOK_MAX_ATTEMPTS = 8;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(1, 300_000)
  WEBHOOK_BACKOFF_BASE_MS = 1000;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(1, 1000)
  WEBHOOK_CONCURRENCY = 16;

  @EnvironmentVariable(parseBoolean)
  @IsBooleanWord()
  WEBHOOK_ALLOW_PRIVATE = false;

  @EnvironmentVariable(parseInteger)
  @IntegerIn(0, 1_000_000)
  RATE_LIMIT_PER_MINUTE = 0;

  /** Unset: `<version>+<git sha>` (computed only then: it runs git). */
  @EnvironmentVariable()
  BUILD_NUMBER?: string;

  @EnvironmentVariable()
  @OneOf(['error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: ConfigLogLevel = 'log';

  /** `production` also requires SANDBOX=bwrap and at least one API key. */
  @EnvironmentVariable()
  @IsOptional()
  @IsProductionReady()
  NODE_ENV?: string;
}
