import { Logger } from '@nestjs/common';
import { findOnPath } from '../../common/find-on-path';
import { failedOutcome, PythonRunner, RunnerStats, RunOutcome } from './python-runner';
import { PidsCgroup, pidsCgroupBase } from './pids-cgroup';
import { SandboxPool } from './sandbox-pool';
import { checkSandboxPrerequisites } from './sandbox-prerequisites';

export interface RunnerSettings {
  sandbox: 'bwrap' | 'process';
  sandboxServers: number;
  sandboxUid: number;
  pythonBin: string;
  sandboxPythonPath?: readonly string[];
  sandboxPreload?: readonly string[];
  memoryLimitMb: number;
  maxOutputBytes: number;
  scratchMb: number;
  /** Runs before a fork server is replaced (default 2000); lowered only by tests. */
  recycleAfterRuns?: number;
}

const MAX_PROCESSES_PER_RUN = 64;
/** A server's own tasks besides its run's: 2 bwrap, the server, 2 monitors, the prepared pid 1, slack. */
const SERVER_OVERHEAD_TASKS = 16;
const RECYCLE_AFTER_RUNS = 2000;
const RECYCLE_AFTER_MS = 30 * 60 * 1000;

/** Builds the configured runner; throws with what to install or set when it cannot. */
export function createSandboxPool(settings: RunnerSettings): SandboxPool {
  const logger = new Logger('Sandbox');
  const bwrapBin = checkSandboxPrerequisites(settings);
  if (settings.sandbox !== 'bwrap') {
    logger.warn(
      'SANDBOX=process: user code runs WITHOUT namespaces (it can reach the network and read world-readable files). ' +
        'Use only on machines without bubblewrap, never in production.',
    );
  }
  const isRoot = process.getuid?.() === 0;
  const cgroup = isRoot ? createCgroup(settings.sandboxServers, logger) : undefined;
  return new SandboxPool({
    servers: settings.sandboxServers,
    cgroup,
    maxRunsPerServer: settings.recycleAfterRuns ?? RECYCLE_AFTER_RUNS,
    maxServerAgeMs: RECYCLE_AFTER_MS,
    server: {
      mode: settings.sandbox,
      pythonBin: settings.pythonBin,
      bwrapBin,
      pythonPath: settings.sandboxPythonPath ?? [],
      preload: settings.sandboxPreload ?? [],
      uid: isRoot ? settings.sandboxUid : undefined,
      gid: isRoot ? settings.sandboxUid : undefined,
      startTimeoutMs: 10_000,
      backstopMs: 1_000,
      limits: {
        memoryMb: settings.memoryLimitMb,
        maxOutputBytes: settings.maxOutputBytes,
        maxResultBytes: settings.maxOutputBytes,
        scratchMb: settings.scratchMb,
        maxProcesses: MAX_PROCESSES_PER_RUN,
      },
    },
  });
}

/**
 * Root: RLIMIT_NPROC (per run, in its user namespace) already holds a fork bomb to
 * MAX_PROCESSES_PER_RUN; a pids cgroup per server adds a hard cap on each server's whole tree.
 */
function createCgroup(servers: number, logger: Logger): { cgroup: PidsCgroup; setprivBin: string } | undefined {
  const base = pidsCgroupBase();
  const setprivBin = findOnPath('setpriv');
  if (!base || !setprivBin) {
    logger.warn(`no pids cgroup (${base ? 'setpriv not found' : 'no writable pids controller'}): runs are held by RLIMIT_NPROC only`);
    return undefined;
  }
  try {
    return { cgroup: PidsCgroup.create(base, servers, MAX_PROCESSES_PER_RUN + SERVER_OVERHEAD_TASKS), setprivBin };
  } catch (err) {
    logger.warn(`no pids cgroup (${(err as Error).message}): runs are held by RLIMIT_NPROC only`);
    return undefined;
  }
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
export async function createRunner(settings: RunnerSettings & { role: 'all' | 'api' | 'worker' }): Promise<PythonRunner> {
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
