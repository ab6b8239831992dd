import { Logger } from '@nestjs/common';
import { findOnPath } from '../../common/find-on-path';
import { isCgroupV2, prepareCgroupV2Base } from './cgroup-v2';
import type { MemoryBound } from './memory-bound';
import { cgroupBases, SlotCgroups, SlotCgroupSet } from './slot-cgroups';
import { SlotCgroupsV2 } from './slot-cgroups-v2';

/** Processes and threads one run (or a session's interpreter) may have. */
export const MAX_PROCESSES_PER_RUN = 64;
/** A server's own tasks besides its run's: 2 bwrap, the server, its template, the prepared pid 1, slack. */
const SERVER_OVERHEAD_TASKS = 16;

/** A pool of server slots: a fork server's each (all made now), or a session server's each (made as they start). */
export interface ServerPoolShape {
  slots: number;
  /** Slots made with the pool (default all); the others by addSlot. */
  slotsMade?: number;
  /** A slot's CPU weight in busy host processes (SlotLimits.busyProcesses). */
  busyProcesses?: number;
  what: 'runs' | 'sessions';
}

export interface MadeCgroups {
  cgroups?: SlotCgroupSet;
  setprivBin?: string;
  /** Why runs (or sessions) have no memory cgroup (when they have none). */
  whyNot: string;
}

/**
 * Root: RLIMIT_NPROC (per run, in its user namespace) already holds a fork bomb to
 * MAX_PROCESSES_PER_RUN; per server slot a pids cgroup adds a hard cap on the server's whole tree,
 * a cpu cgroup a fair share, and a memory cgroup bounds each run (or session) as a whole. cgroup v2
 * (a pure v2 host or container): the same under the service's own, delegated cgroup (SlotCgroupsV2).
 */
export function createServerCgroups(
  settings: { memoryLimitMb: number },
  logger: Logger,
  pool: ServerPoolShape,
): MadeCgroups {
  const setprivBin = findOnPath('setpriv');
  const held = `${pool.what} are held by RLIMIT_NPROC only`;
  if (!setprivBin) {
    logger.warn(`no cgroups (setpriv not found): ${held}`);
    return { whyNot: 'no cgroups: setpriv not found' };
  }
  const limits = {
    pidsMax: MAX_PROCESSES_PER_RUN + SERVER_OVERHEAD_TASKS,
    runPidsMax: MAX_PROCESSES_PER_RUN,
    memoryBytes: settings.memoryLimitMb * 1024 * 1024,
    busyProcesses: pool.busyProcesses,
  };
  const options = { slotsMade: pool.slotsMade };
  if (isCgroupV2()) {
    const base = prepareCgroupV2Base();
    if (base.reason !== undefined) {
      logger.warn(`no cgroups (${base.reason}): ${held}`);
      return { whyNot: `no usable cgroup v2: ${base.reason}` };
    }
    try {
      return { cgroups: SlotCgroupsV2.create(base, pool.slots, limits, undefined, options), setprivBin, whyNot: '' };
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
    const cgroups = SlotCgroups.create(bases, pool.slots, limits, options);
    return { cgroups, setprivBin, whyNot: 'no writable cgroup v1 memory controller' };
  } catch (err) {
    logger.warn(`no cgroups (${(err as Error).message}): ${held}`);
    return { whyNot: 'no writable cgroup v1 memory controller' };
  }
}

/** The memory bound a pool's cgroups give its runs (or sessions), if they have memory cgroups. */
export function memoryBoundOf(cgroups: SlotCgroupSet | undefined, what: 'runs' | 'sessions'): MemoryBound | undefined {
  if (!cgroups?.boundsMemory) return undefined;
  if (what === 'sessions') {
    return cgroups.version === 2
      ? {
          kind: 'cgroup2',
          reason: "a cgroup v2 cgroup per session for its interpreter (memory.oom.group), and its server's watchdog",
        }
      : {
          kind: 'cgroup1',
          reason: "a cgroup v1 memory cgroup per session for its interpreter, and its server's watchdog",
        };
  }
  return cgroups.version === 2
    ? { kind: 'cgroup2', reason: 'a cgroup v2 cgroup per slot for its runs, each run in it alone (memory.oom.group)' }
    : { kind: 'cgroup1', reason: 'a cgroup v1 memory cgroup per slot, each run in it alone' };
}
