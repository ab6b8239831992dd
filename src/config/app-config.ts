import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { defaultBuildNumber } from './build-info';
import {
  configuredKeys,
  defaultSandboxUidBase,
  keysFile,
  KeysFile,
  maxSandboxServers,
  moduleList,
  productionFlag,
  redisUrl,
  retired,
  sandboxPythonPath,
  sandboxUidBase,
  SentinelAddress,
  sentinelList,
} from './environment.rules';
import { flag, integer, list, matching, oneOf, path, text } from './environment.types';
import { ConfigError, readVariables, Variable } from './environment.variable';

export { ConfigError };

const roles = ['all', 'api', 'worker'] as const;
const sandboxKinds = ['bwrap', 'process'] as const;
const logLevels = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type Role = (typeof roles)[number];
export type SandboxKind = (typeof sandboxKinds)[number];
export type ConfigLogLevel = (typeof logLevels)[number];

const kib = 1024;
const mib = 1024 * kib;
const gib = 1024 * mib;
const maxTimeoutCapSec = 300;
const documentedDefaultTimeoutSec = 30;
// whsec_ must be followed by standard base64; any other text is a key as it is.
const webhookSecretPattern =
  /^(?!whsec_)|^whsec_(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/;

/**
 * Validated, immutable service configuration, injected by type (`constructor(config: AppConfig)`).
 * Each `@Variable` property is the one declaration of its environment variable: name, type and rule,
 * description, and default (the initializer). They are read and checked in this order, so a boot error
 * names the first bad one, and a rule may read the variables above it. The configuration table of
 * docs/configuration.md is generated from them (`npm run config-table`; a spec fails when it drifts).
 */
export class AppConfig {
  @Variable(
    'HOST',
    matching(/^[A-Za-z0-9._:%-]{1,255}$/, 'an IP address or a host name'),
    "address the HTTP port (and a worker's `HEALTH_PORT`) binds, e.g. `127.0.0.1` or `::`; unset: every interface",
  )
  readonly host?: string;

  @Variable('PORT', integer(0, 65535), 'HTTP port (role `all`/`api`)')
  readonly port: number = 3000;

  @Variable(
    'HEALTH_PORT',
    integer(0, 65535),
    'role `worker` only: the port of its `/health/live`, `/health/ready` and `/metrics` (no auth, no API routes); an `all`/`api` process serves them on `PORT`',
  )
  readonly healthPort: number = 3001;

  @Variable('ROLE', oneOf(roles), '`all` (API + worker), `api`, or `worker`')
  readonly role: Role = 'all';

  @Variable(
    'API_KEYS',
    list(),
    'comma-separated keys. None here nor in `API_KEYS_FILE`, and not production: a key is generated and printed once. `NODE_ENV=production` refuses to start without keys',
    { secret: true },
  )
  readonly listedApiKeys: readonly string[] = [];

  @Variable('API_KEYS_FILE', keysFile(), 'a file of keys, one per line (`#` starts a comment), added to `API_KEYS`')
  readonly apiKeysFile?: KeysFile;

  @Variable(
    'REDIS_URL',
    redisUrl(),
    'unset (and no `REDIS_SENTINELS`): a private `redis-server` on a unix socket with its data in `DATA_DIR`, stopped on exit. Run your own Redis with `appendonly yes` (see [Durability](operations.md#durability-redis-outages-and-high-availability))',
    { secret: true },
  )
  readonly redisUrl?: string;

  @Variable(
    'DATA_DIR',
    path(),
    "the embedded Redis's folder (created mode 0700): its append-only file `appendonlydir/`, its socket `redis.sock`, and `service.pid` (one service per folder). Unused with `REDIS_URL` or `REDIS_SENTINELS`",
    { shownDefault: '`./data`' },
  )
  readonly dataDir: string = resolve('data');

  @Variable(
    'REDIS_SENTINELS',
    sentinelList(),
    '`host:port,host:port,…` of Redis Sentinels: the service asks them for the primary named `REDIS_SENTINEL_NAME` and follows failovers. `REDIS_URL`, if also set, supplies only the password, user, db and TLS of the Redis nodes (its host is not used)',
  )
  readonly redisSentinels?: readonly SentinelAddress[];

  @Variable(
    'REDIS_SENTINEL_NAME',
    matching(/^[A-Za-z0-9._-]{1,128}$/, 'expected 1..128 characters of A-Z a-z 0-9 . _ -'),
    "the primary's name in the sentinels' `sentinel monitor` line",
  )
  readonly redisSentinelName: string = 'mymaster';

  // Generous: a slow but alive Redis (load, a CLIENT PAUSE during a switchover) must not fail a running job's writes.
  @Variable(
    'REDIS_COMMAND_TIMEOUT_MS',
    integer(50, 60_000),
    "a command that a connected Redis does not answer within this fails (a request gets 503): the bound for a Redis that hangs without closing the connection. A Redis that is down fails commands within about a second whatever this is. Not lower than your Redis's worst pause: a running job's writes fail too",
  )
  readonly redisCommandTimeoutMs: number = 5000;

  @Variable(
    'REDIS_PREFIX',
    matching(/^[A-Za-z0-9._:-]{1,64}$/, 'expected 1..64 characters of A-Z a-z 0-9 . _ : -'),
    'prefix of every Redis key (Bull queues under `<prefix>:bull`)',
  )
  readonly redisPrefix: string = 'pyexec';

  @Variable('WORKER_CONCURRENCY', integer(1, 1024), 'jobs run at once by one worker process', {
    shownDefault: '= `SANDBOX_SERVERS`',
    fallback: (config: AppConfig) => config.sandboxServers,
  })
  readonly workerConcurrency: number;

  @Variable('MAX_QUEUE_LENGTH', integer(0, 10_000_000), 'waiting jobs before 429 (0 = unlimited)')
  readonly maxQueueLength: number = 0;

  @Variable('MAX_TIMEOUT', integer(1, maxTimeoutCapSec), 'the largest `timeout` a request may ask for, in seconds')
  readonly maxTimeoutSec: number = maxTimeoutCapSec;

  @Variable(
    'DEFAULT_TIMEOUT',
    integer(1, (config: AppConfig) => config.maxTimeoutSec),
    'the `timeout` of a request that gives none, in seconds (at most `MAX_TIMEOUT`)',
    {
      shownDefault: `${documentedDefaultTimeoutSec}, or \`MAX_TIMEOUT\` if lower`,
      fallback: (config: AppConfig) => Math.min(documentedDefaultTimeoutSec, config.maxTimeoutSec),
    },
  )
  readonly defaultTimeoutSec: number;

  @Variable(
    'MEMORY_LIMIT_MB',
    integer(32, 1024 * 1024),
    'memory of a whole run: all its processes, tmpfs and memfd pages (a memory cgroup per run as root, else a watchdog), and `RLIMIT_AS` of each of its processes',
  )
  readonly memoryLimitMb: number = 256;

  @Variable('SCRATCH_MB', integer(1, 1024 * 1024), "size of the run's private `/tmp` and its `RLIMIT_FSIZE`")
  readonly scratchMb: number = 64;

  @Variable('MAX_OUTPUT_BYTES', integer(1, gib), "cap of stdout, of stderr, and of the result's JSON")
  readonly maxOutputBytes: number = mib;

  @Variable('MAX_CODE_BYTES', integer(1, gib), 'largest `code` of a request, in UTF-8 bytes (larger: 400)')
  readonly maxCodeBytes: number = 256 * kib;

  @Variable('MAX_BODY_BYTES', integer(1, gib), 'largest request body (larger: 413); room for `files`')
  readonly maxBodyBytes: number = 12 * mib;

  @Variable('MAX_SESSIONS_PER_KEY', integer(1, 100_000), 'sessions one API key may have open at once (more: 429)')
  readonly maxSessionsPerKey: number = 10;

  @Variable('SESSIONS_PER_WORKER', integer(1, 10_000), 'sessions one worker process holds at once (all full: 429)')
  readonly sessionsPerWorker: number = 16;

  @Variable(
    'SESSION_MAX_LIFETIME_SECONDS',
    integer(10, 30 * 24 * 3600),
    "a session's longest life, busy or not; then it ends (`lifetime`)",
  )
  readonly sessionMaxLifetimeSec: number = 86_400;

  @Variable('MAX_INPUT_FILES', integer(0, 10_000), 'most input `files` of one request (more: 400)')
  readonly maxInputFiles: number = 100;

  @Variable('MAX_INPUT_FILE_BYTES', integer(0, gib), 'decoded size of all input `files` of one request (more: 413)')
  readonly maxInputFileBytes: number = 8 * mib;

  @Variable(
    'MAX_OUTPUT_FILE_BYTES',
    integer(0, gib),
    'content of `response.files` (what a run left under `./outputs/`) in all; files past it come without content, `truncated: true`',
  )
  readonly maxOutputFileBytes: number = 8 * mib;

  @Variable(
    'MAX_DISPLAY_BYTES',
    integer(0, gib),
    '`response.display` (plots, `display()`, rich results) in all; later entries are dropped, `display_truncated: true`',
  )
  readonly maxDisplayBytes: number = 8 * mib;

  @Variable(
    'JOB_RETENTION_SECONDS',
    integer(1, 366 * 24 * 3600),
    'ended jobs (and idempotency keys) are removed after this',
  )
  readonly jobRetentionSec: number = 3600;

  @Variable(
    'STALLED_CHECK_MS',
    integer(500, 600_000),
    "Bull lock duration and stalled-job check interval: a dead worker's job is re-queued within about 2× this",
  )
  readonly stalledCheckMs: number = 10_000;

  @Variable(
    'SHUTDOWN_GRACE_MS',
    integer(0, 3_600_000),
    'on SIGTERM, how long running jobs and in-flight requests may take before the process exits anyway',
  )
  readonly shutdownGraceMs: number = 25_000;

  @Variable(
    'SANDBOX',
    oneOf(sandboxKinds),
    '`process` = no namespaces (rlimits, new session, clean env, scratch dir only); logs a loud warning; refused in production',
  )
  readonly sandbox: SandboxKind = 'bwrap';

  @Variable(
    'SANDBOX_ALLOW_UNBOUNDED_MEMORY',
    flag(),
    '`true` lets a worker start when nothing bounds a run\'s memory as a whole (no memory cgroup and no watchdog: `GET /v1/runtime` says `memory_bound: "none"`); otherwise such a worker refuses to boot',
  )
  readonly sandboxAllowUnboundedMemory: boolean = false;

  @Variable(
    'SANDBOX_SERVERS',
    integer(1, maxSandboxServers),
    `warm fork servers per worker process (1..${maxSandboxServers})`,
    { shownDefault: `cores (at most ${maxSandboxServers})` },
  )
  readonly sandboxServers: number = Math.min(availableParallelism(), maxSandboxServers);

  @Variable(
    'SANDBOX_START_TIMEOUT_MS',
    integer(1000, 600_000),
    'how long a fork server may take to start (to its `ready`) before its start fails; raise it only on a slow machine (an emulated VM needs minutes)',
  )
  readonly sandboxStartTimeoutMs: number = 10_000;

  @Variable(
    'SANDBOX_UID_BASE',
    sandboxUidBase((config: AppConfig) => config.sandboxServers),
    "when the service runs as root, sandbox slot *n* runs as host uid and gid `SANDBOX_UID_BASE + n` (a range no account uses; 1000..2147483647, the range may not contain 65534/65535; the default fits the 65,536 ids a container's user namespace usually maps, and a range outside the service's own uid/gid map stops the boot)",
  )
  readonly sandboxUidBase: number = defaultSandboxUidBase;

  /** Gone: never holds a value. */
  @Variable(
    'SANDBOX_UID',
    retired(
      `SANDBOX_UID is no longer used: each sandbox slot has its own uid, SANDBOX_UID_BASE + slot (default ${defaultSandboxUidBase})`,
    ),
    'gone (it was one uid shared by every slot; see `SANDBOX_UID_BASE`): setting it stops the boot',
  )
  readonly retiredSandboxUid?: never;

  @Variable(
    'PYTHON_BIN',
    matching(/^\//, 'expected an absolute path'),
    'must live under `/usr` with `SANDBOX=bwrap`; never a version-manager shim',
  )
  readonly pythonBin: string = '/usr/bin/python3';

  /** Extra read-only directories mounted into the sandbox and put on sys.path. */
  @Variable(
    'SANDBOX_PYTHONPATH',
    sandboxPythonPath(),
    "colon-separated absolute directories (e.g. a venv's `site-packages`), mounted read-only at the same path in the sandbox and appended to `sys.path`. Not under `/tmp`, `/proc`, `/dev`, `/sys` (the sandbox mounts its own); as root they must be readable by the sandbox uid. Put nothing there you would not show the code",
  )
  readonly sandboxPythonPath: readonly string[] = [];

  @Variable(
    'SANDBOX_PRELOAD',
    moduleList(),
    'comma-separated modules each fork server imports once at start (e.g. `numpy,pandas`), so runs that import them pay nothing; a module that fails to import stops the boot with one line naming it. BLAS/OpenMP threads are pinned to 1. The address space they take does not count against `MEMORY_LIMIT_MB`',
  )
  readonly sandboxPreload: readonly string[] = [];

  @Variable(
    'WEBHOOK_SECRET',
    matching(webhookSecretPattern, 'whsec_ must be followed by standard base64, e.g. whsec_$(openssl rand -base64 32)'),
    'signing secret: `whsec_<base64>` (HMAC key = the decoded bytes) or any other string (key = its UTF-8 bytes); unset = deliveries carry no `webhook-signature` (a warning at boot). See [Webhooks](webhooks.md)',
    { secret: true },
  )
  readonly webhookSecret?: string;

  @Variable(
    'WEBHOOK_TIMEOUT_MS',
    integer(1, 300_000),
    "one delivery attempt: DNS, connect, TLS and the receiver's status line",
  )
  readonly webhookTimeoutMs: number = 10_000;

  @Variable('WEBHOOK_MAX_ATTEMPTS', integer(1, 100), 'attempts per delivery, the first included')
  readonly webhookMaxAttempts: number = 8;

  @Variable(
    'WEBHOOK_BACKOFF_BASE_MS',
    integer(1, 300_000),
    'delay before the first retry; doubles per retry, ±20 % jitter, at most 5 minutes',
  )
  readonly webhookBackoffBaseMs: number = 1000;

  @Variable('WEBHOOK_CONCURRENCY', integer(1, 1000), 'deliveries in flight at once per worker process')
  readonly webhookConcurrency: number = 16;

  @Variable(
    'WEBHOOK_ALLOW_PRIVATE',
    flag(),
    '`true` lifts the SSRF policy (loopback, private, link-local, metadata… destinations allowed; logs a warning)',
  )
  readonly webhookAllowPrivate: boolean = false;

  @Variable(
    'RATE_LIMIT_PER_MINUTE',
    integer(0, 1_000_000),
    "runs (execute calls of both dialects) per API key per minute (`@nestjs/throttler`, counted in Redis under `REDIS_PREFIX` across API processes: the minute starts at a key's first run, and a key over the limit is refused for one minute); over it: 429 with `Retry-After`. 0 = off. Reads (`/v1/jobs`) are not counted",
  )
  readonly rateLimitPerMinute: number = 0;

  @Variable('BUILD_NUMBER', text(), 'shown in every envelope', {
    shownDefault: '`<version>+<git sha>`',
    fallback: () => defaultBuildNumber(), // computed only when unset: it runs git
  })
  readonly buildNumber: string;

  @Variable('LOG_LEVEL', oneOf(logLevels), '`error`, `warn`, `log` (pino `info`), `debug`, `verbose` (pino `trace`)')
  readonly logLevel: ConfigLogLevel = 'log';

  @Variable(
    'NODE_ENV',
    productionFlag(
      (config: AppConfig) => config.sandbox,
      (config: AppConfig) => configuredKeys(config.listedApiKeys, config.apiKeysFile),
    ),
    '`production`: logs are JSON lines (else pino-pretty text); refuses `SANDBOX=process` and a missing `API_KEYS`',
    { shownDefault: '–' },
  )
  readonly production: boolean = false;

  /** Every accepted API key: API_KEYS, API_KEYS_FILE's, or the generated one. */
  readonly apiKeys: readonly string[] = [];
  /** Set only when no keys were configured outside production; main.ts prints it once. */
  readonly generatedApiKey?: string;
}

/** Reads and checks the environment; throws a ConfigError whose one-line message names the bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): AppConfig {
  const config = readVariables(AppConfig, env);
  const apiKeys = configuredKeys(config.listedApiKeys, config.apiKeysFile);
  // Only outside production (NODE_ENV=production refuses to start without keys).
  const generatedApiKey = apiKeys.length === 0 ? randomBytes(24).toString('base64url') : undefined;
  if (generatedApiKey) apiKeys.push(generatedApiKey);
  Object.assign(config, { apiKeys: Object.freeze(apiKeys), generatedApiKey });
  return Object.freeze(config);
}
