import { readFileSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { failedOutcome, PythonRunner, RunnerStats, RunOutcome } from './python-runner';
import { checkMemoryBound, MemoryBound, watchdogOrNone } from './memory-bound';
import { createServerCgroups, MAX_PROCESSES_PER_RUN, memoryBoundOf } from './server-cgroups';
import { SandboxPool } from './sandbox-pool';
import { ForkServer, ForkServerOptions } from './fork-server';
import { sandboxPackageDir } from './sandbox-package';
import { SessionCgroups, SessionServer } from './session-cgroups';
import { checkSandboxPrerequisites, checkSlotIdsMapped } from './sandbox-prerequisites';

export interface RunnerSettings {
  sandbox: 'bwrap' | 'process';
  sandboxServers: number;
  /** Root only: slot n's server runs as host uid/gid sandboxUidBase + n. */
  sandboxUidBase: number;
  pythonBin: string;
  sandboxPythonPath?: readonly string[];
  sandboxPreload?: readonly string[];
  memoryLimitMb: number;
  maxOutputBytes: number;
  /** response.files content and response.display in all (default 8 MiB each). */
  maxOutputFileBytes?: number;
  maxDisplayBytes?: number;
  scratchMb: number;
  /** Start even when nothing bounds a run's memory as a whole (SANDBOX_ALLOW_UNBOUNDED_MEMORY). */
  sandboxAllowUnboundedMemory?: boolean;
  /** How long a fork server may take to start (SANDBOX_START_TIMEOUT_MS, default 10 s). */
  sandboxStartTimeoutMs?: number;
  /** Runs before a fork server is replaced (default 2000); lowered only by tests. */
  recycleAfterRuns?: number;
  /** Sessions one worker holds (SESSIONS_PER_WORKER, default 16): its session servers' cgroups, with the spare's. */
  sessionsPerWorker?: number;
}

const DEFAULT_RICH_OUTPUT_BYTES = 8 * 1024 * 1024;
const RECYCLE_AFTER_RUNS = 2000;
const RECYCLE_AFTER_MS = 30 * 60 * 1000;
const DEFAULT_SESSIONS_PER_WORKER = 16;

/** Builds the configured runner; throws with what to install or set when it cannot. */
export function createSandboxPool(settings: RunnerSettings): SandboxPool {
  const logger = new Logger('Sandbox');
  const { bwrapBin, hostname } = checkSandboxPrerequisites(settings);
  if (settings.sandbox === 'bwrap' && !hostname) {
    logger.log(
      'bwrap --hostname is refused here (sethostname is not allowed by the seccomp profile): sandboxes keep the inherited hostname',
    );
  }
  if (settings.sandbox !== 'bwrap') {
    logger.warn(
      'SANDBOX=process: user code runs WITHOUT namespaces (it can reach the network and read world-readable files). ' +
        'Use only on machines without bubblewrap, never in production.',
    );
  }
  const isRoot = process.getuid?.() === 0;
  if (isRoot && settings.sandbox === 'bwrap') checkSlotIdsMapped(settings.sandboxUidBase, settings.sandboxServers);
  const made = isRoot
    ? createServerCgroups(settings, logger, { slots: settings.sandboxServers, what: 'runs' })
    : { whyNot: 'not root: no memory cgroup' };
  const cgroup = made.cgroups && made.setprivBin ? { cgroups: made.cgroups, setprivBin: made.setprivBin } : undefined;
  const memoryBound: MemoryBound = memoryBoundOf(cgroup?.cgroups, 'runs') ?? watchdogOrNone(made.whyNot);
  checkMemoryBound(memoryBound, settings.sandboxAllowUnboundedMemory ?? false);
  (memoryBound.kind === 'none' ? logger.warn.bind(logger) : logger.log.bind(logger))(
    `memory bound: ${memoryBound.kind} (${memoryBound.reason})`,
  );
  return new SandboxPool({
    memoryBound,
    servers: settings.sandboxServers,
    cgroup,
    uidBase: isRoot ? settings.sandboxUidBase : undefined,
    maxRunsPerServer: settings.recycleAfterRuns ?? RECYCLE_AFTER_RUNS,
    maxServerAgeMs: RECYCLE_AFTER_MS,
    server: forkServerOptions(settings, { bwrapBin, hostname }, isRoot),
  });
}

/** What every server of this process starts with (its uid and cgroups aside). */
function forkServerOptions(
  settings: RunnerSettings,
  prerequisites: { bwrapBin: string; hostname: boolean },
  isRoot: boolean,
): ForkServerOptions {
  return {
    mode: settings.sandbox,
    pythonBin: settings.pythonBin,
    bwrapBin: prerequisites.bwrapBin,
    hostname: prerequisites.hostname,
    pythonPath: settings.sandboxPythonPath ?? [],
    preload: settings.sandboxPreload ?? [],
    packageDir: sandboxPackageDir(isRoot),
    startTimeoutMs: settings.sandboxStartTimeoutMs ?? 10_000,
    backstopMs: 1_000,
    limits: {
      memoryMb: settings.memoryLimitMb,
      maxOutputBytes: settings.maxOutputBytes,
      maxResultBytes: settings.maxOutputBytes,
      maxOutputFileBytes: settings.maxOutputFileBytes ?? DEFAULT_RICH_OUTPUT_BYTES,
      maxDisplayBytes: settings.maxDisplayBytes ?? DEFAULT_RICH_OUTPUT_BYTES,
      scratchMb: settings.scratchMb,
      maxProcesses: MAX_PROCESSES_PER_RUN,
      ...inotifyLimitsPerRun(settings.sandboxServers),
    },
  };
}

/**
 * Starts sessions' servers: each its own process in the same sandbox as a run's. As root with
 * cgroups, each server gets its own (SessionCgroups: made before it starts, removed after it exits):
 * its whole tree in a pids and a cpu cgroup, its interpreter in a memory cgroup of MEMORY_LIMIT_MB
 * whose OOM kill ends the session (`memory`); the server's watchdog measures the interpreter too,
 * and is the only bound without cgroups. As root they run as host uid SANDBOX_UID_BASE +
 * SANDBOX_SERVERS, after the slots' ids.
 */
export class SessionSandbox {
  /** Servers started and not yet exited. */
  private readonly live = new Set<ForkServer>();

  constructor(
    private readonly options: ForkServerOptions,
    readonly memoryBound: MemoryBound,
    private readonly cgroups?: SessionCgroups,
  ) {}

  get memoryLimitMb(): number {
    return this.options.limits.memoryMb;
  }

  async start(): Promise<ForkServer> {
    const cgroup = await this.cgroups?.take();
    const server = cgroup
      ? new SessionServer({ ...this.options, cgroup: cgroup.forServer }, cgroup)
      : new ForkServer(this.options);
    this.live.add(server);
    server.once('exit', () => {
      this.live.delete(server);
      void cgroup?.release();
    });
    try {
      await server.start();
    } catch (error) {
      server.kill();
      if (server.pid === undefined) {
        this.live.delete(server); // never spawned: no exit to wait for
        void cgroup?.release();
      }
      throw error;
    }
    return server;
  }

  /** Nest calls this at shutdown: every session server killed, then their cgroups and the pool's removed. */
  async onApplicationShutdown(): Promise<void> {
    const exits = [...this.live].map((server) => new Promise((resolve) => server.once('exit', resolve)));
    for (const server of this.live) server.kill();
    await Promise.all(exits);
    await this.cgroups?.close();
  }
}

export function createSessionSandbox(settings: RunnerSettings): SessionSandbox {
  const logger = new Logger('SessionSandbox');
  const options = sessionServerOptions(settings);
  const isRoot = process.getuid?.() === 0;
  const slots = (settings.sessionsPerWorker ?? DEFAULT_SESSIONS_PER_WORKER) + 1; // and the warm spare
  const made = isRoot
    ? createServerCgroups(settings, logger, { slots, slotsMade: 0, busyProcesses: 1, what: 'sessions' })
    : { whyNot: 'not root: no memory cgroup' };
  const cgroups =
    made.cgroups && made.setprivBin
      ? new SessionCgroups(made.cgroups, made.setprivBin, slots, options.startTimeoutMs)
      : undefined;
  const memoryBound = (cgroups && memoryBoundOf(made.cgroups, 'sessions')) ?? watchdogOrNone(made.whyNot);
  checkMemoryBound(memoryBound, settings.sandboxAllowUnboundedMemory ?? false);
  logger.log(`sessions' memory bound: ${memoryBound.kind} (${memoryBound.reason})`);
  return new SessionSandbox(options, memoryBound, cgroups);
}

/** What every session server of this process starts with (its cgroups aside). */
export function sessionServerOptions(settings: RunnerSettings): ForkServerOptions {
  const prerequisites = checkSandboxPrerequisites(settings);
  const isRoot = process.getuid?.() === 0;
  const uid = isRoot ? settings.sandboxUidBase + settings.sandboxServers : undefined;
  if (isRoot && settings.sandbox === 'bwrap') checkSlotIdsMapped(settings.sandboxUidBase, settings.sandboxServers + 1);
  return { ...forkServerOptions(settings, prerequisites, isRoot), uid, gid: uid, session: true };
}

/**
 * inotify instances and watches count per host uid (below every user namespace): each run gets at
 * most its share of the host's per-uid limit, so concurrent runs (which share a uid when the service
 * is not root) and the service itself always keep some.
 */
function inotifyLimitsPerRun(servers: number): { inotifyInstances: number; inotifyWatches: number } {
  const share = (name: string, fallback: number) => {
    let max = fallback;
    try {
      max = Number(readFileSync(`/proc/sys/fs/inotify/${name}`, 'utf8')) || fallback;
    } catch {
      // no inotify sysctls: keep the kernel's usual default
    }
    return Math.max(1, Math.floor(max / (servers + 1)));
  };
  return { inotifyInstances: share('max_user_instances', 128), inotifyWatches: share('max_user_watches', 8192) };
}

/** API-only processes run nothing themselves. */
export class NoLocalRunner extends PythonRunner {
  run(): Promise<RunOutcome> {
    return Promise.resolve(failedOutcome('crashed', 'this process has ROLE=api and runs no code'));
  }
  isHealthy(): Promise<boolean> {
    return Promise.resolve(true);
  }
  stats(): RunnerStats {
    return { servers: 0, busy: 0, waiting: 0, restarts: 0 };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The runner for this process's role; a worker refuses to boot if its sandbox cannot start. */
export async function createRunner(
  settings: RunnerSettings & { role: 'all' | 'api' | 'worker' },
): Promise<PythonRunner> {
  if (settings.role === 'api') return new NoLocalRunner();
  const pool = createSandboxPool(settings);
  try {
    await pool.start();
  } catch (error) {
    await pool.close(); // no replacement servers (or their cgroups) outlive a failed boot
    throw error;
  }
  return pool;
}
