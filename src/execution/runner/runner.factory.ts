import { readFileSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { findOnPath } from '../../common/find-on-path';
import { failedOutcome, PythonRunner, RunnerStats, RunOutcome } from './python-runner';
import { checkMemoryBound, MemoryBound, watchdogOrNone } from './memory-bound';
import { isCgroupV2, prepareCgroupV2Base } from './cgroup-v2';
import { cgroupBases, SlotCgroups, SlotCgroupSet } from './slot-cgroups';
import { SlotCgroupsV2 } from './slot-cgroups-v2';
import { SandboxPool } from './sandbox-pool';
import { ForkServer, ForkServerOptions } from './fork-server';
import { sandboxPackageDir } from './sandbox-package';
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
}

const MAX_PROCESSES_PER_RUN = 64;
const DEFAULT_RICH_OUTPUT_BYTES = 8 * 1024 * 1024;
/** A server's own tasks besides its run's: 2 bwrap, the server, its template, the prepared pid 1, slack. */
const SERVER_OVERHEAD_TASKS = 16;
const RECYCLE_AFTER_RUNS = 2000;
const RECYCLE_AFTER_MS = 30 * 60 * 1000;

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
  const made = isRoot ? createCgroups(settings, logger) : { whyNot: 'not root: no memory cgroup' };
  const cgroup = made.cgroups && made.setprivBin ? { cgroups: made.cgroups, setprivBin: made.setprivBin } : undefined;
  const memoryBound: MemoryBound = cgroupMemoryBound(cgroup?.cgroups) ?? watchdogOrNone(made.whyNot);
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
 * Starts sessions' servers: each its own process in the same sandbox as a run's, its interpreter's
 * memory bounded by the server's watchdog (no per-session cgroup). As root they run as host uid
 * SANDBOX_UID_BASE + SANDBOX_SERVERS, after the slots' ids.
 */
export class SessionSandbox {
  constructor(
    private readonly options: ForkServerOptions,
    readonly memoryBound: MemoryBound,
  ) {}

  get memoryLimitMb(): number {
    return this.options.limits.memoryMb;
  }

  async start(): Promise<ForkServer> {
    const server = new ForkServer(this.options);
    try {
      await server.start();
    } catch (error) {
      server.kill();
      throw error;
    }
    return server;
  }
}

export function createSessionSandbox(settings: RunnerSettings): SessionSandbox {
  const prerequisites = checkSandboxPrerequisites(settings);
  const isRoot = process.getuid?.() === 0;
  const uid = isRoot ? settings.sandboxUidBase + settings.sandboxServers : undefined;
  if (isRoot && settings.sandbox === 'bwrap') checkSlotIdsMapped(settings.sandboxUidBase, settings.sandboxServers + 1);
  const memoryBound = watchdogOrNone('sessions have no memory cgroup');
  checkMemoryBound(memoryBound, settings.sandboxAllowUnboundedMemory ?? false);
  return new SessionSandbox(
    { ...forkServerOptions(settings, prerequisites, isRoot), uid, gid: uid, session: true },
    memoryBound,
  );
}

function cgroupMemoryBound(cgroups: SlotCgroupSet | undefined): MemoryBound | undefined {
  if (!cgroups?.runCgroup(0)) return undefined;
  return cgroups.version === 2
    ? { kind: 'cgroup2', reason: 'a cgroup v2 cgroup per slot for its runs, each run in it alone (memory.oom.group)' }
    : { kind: 'cgroup1', reason: 'a cgroup v1 memory cgroup per slot, each run in it alone' };
}

interface MadeCgroups {
  cgroups?: SlotCgroupSet;
  setprivBin?: string;
  /** Why runs have no memory cgroup (when they have none). */
  whyNot: string;
}

/**
 * Root: RLIMIT_NPROC (per run, in its user namespace) already holds a fork bomb to
 * MAX_PROCESSES_PER_RUN; per server slot a pids cgroup adds a hard cap on the server's whole tree,
 * a cpu cgroup a fair share, and a memory cgroup bounds each run as a whole. cgroup v2 (a pure v2
 * host or container): the same under the service's own, delegated cgroup (SlotCgroupsV2).
 */
function createCgroups(settings: RunnerSettings, logger: Logger): MadeCgroups {
  const setprivBin = findOnPath('setpriv');
  const held = 'runs are held by RLIMIT_NPROC only';
  if (!setprivBin) {
    logger.warn(`no cgroups (setpriv not found): ${held}`);
    return { whyNot: 'no cgroups: setpriv not found' };
  }
  const limits = {
    pidsMax: MAX_PROCESSES_PER_RUN + SERVER_OVERHEAD_TASKS,
    runPidsMax: MAX_PROCESSES_PER_RUN,
    memoryBytes: settings.memoryLimitMb * 1024 * 1024,
  };
  if (isCgroupV2()) {
    const base = prepareCgroupV2Base();
    if (base.reason !== undefined) {
      logger.warn(`no cgroups (${base.reason}): ${held}`);
      return { whyNot: `no usable cgroup v2: ${base.reason}` };
    }
    try {
      return { cgroups: SlotCgroupsV2.create(base, settings.sandboxServers, limits), setprivBin, whyNot: '' };
    } catch (err) {
      logger.warn(`no cgroups (cgroup v2 under ${base.dir}: ${(err as Error).message}): ${held}`);
      return { whyNot: `cgroup v2 under ${base.dir} refused: ${(err as Error).message}` };
    }
  }
  const bases = cgroupBases();
  if (Object.keys(bases).length === 0) {
    logger.warn(`no cgroups (no writable cgroup controller): ${held}`);
    return { whyNot: 'no writable cgroup v1 memory controller' };
  }
  try {
    const cgroups = SlotCgroups.create(bases, settings.sandboxServers, limits);
    return { cgroups, setprivBin, whyNot: 'no writable cgroup v1 memory controller' };
  } catch (err) {
    logger.warn(`no cgroups (${(err as Error).message}): ${held}`);
    return { whyNot: 'no writable cgroup v1 memory controller' };
  }
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
