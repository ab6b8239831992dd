import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const V1_BASE = '/sys/fs/cgroup/pids';
const V2_BASE = '/sys/fs/cgroup';
const NAME_PREFIX = 'pyexec-';
const REMOVE_TRIES = 20;
const REMOVE_RETRY_MS = 50;

/** Where a pids controller can be written (root only): cgroup v1's pids hierarchy, or v2 with pids delegated. */
export function pidsCgroupBase(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if (existsSync(join(V1_BASE, 'cgroup.procs'))) return V1_BASE;
  try {
    if (readFileSync(join(V2_BASE, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('pids')) return V2_BASE;
  } catch {
    // no cgroup v2 at the root
  }
  return undefined;
}

/**
 * One pids cgroup per fork server slot, under `pyexec-<pid>-<n>`: whatever a run does, its
 * server's whole tree (bwrap, server, monitors, every run's processes and threads) stays under
 * `pids.max`, so a fork bomb cannot starve the host or the other servers' runs.
 */
export class PidsCgroup {
  private constructor(
    readonly dir: string,
    private readonly slots: number,
  ) {}

  /** Creates the cgroups; throws if the kernel refuses (the caller decides whether that is fatal). */
  static create(base: string, slots: number, pidsMaxPerSlot: number): PidsCgroup {
    removeStale(base);
    const dir = join(base, `${NAME_PREFIX}${process.pid}-${Date.now().toString(36)}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'pids.max'), String(slots * pidsMaxPerSlot));
    for (let slot = 0; slot < slots; slot++) {
      mkdirSync(join(dir, `server-${slot}`));
      writeFileSync(join(dir, `server-${slot}`, 'pids.max'), String(pidsMaxPerSlot));
    }
    return new PidsCgroup(dir, slots);
  }

  /** The file a process writes its own pid to, to enter slot `slot`. */
  procsFile(slot: number): string {
    return join(this.dir, `server-${slot}`, 'cgroup.procs');
  }

  /** rmdir once the killed servers' processes are gone (the kernel refuses while any remain). */
  async remove(): Promise<void> {
    for (let attempt = 0; attempt < REMOVE_TRIES; attempt++) {
      if (tryRemove(this.dir, this.slots)) return;
      await new Promise((resolve) => setTimeout(resolve, REMOVE_RETRY_MS));
    }
  }
}

function tryRemove(dir: string, slots: number): boolean {
  try {
    for (let slot = 0; slot < slots; slot++) {
      const child = join(dir, `server-${slot}`);
      if (existsSync(child)) rmdirSync(child);
    }
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/** Cgroups left by a service that was killed before it could remove them. */
function removeStale(base: string): void {
  for (const name of readdirSync(base)) {
    const match = /^pyexec-(\d+)-/.exec(name);
    if (!match || isAlive(Number(match[1]))) continue;
    const dir = join(base, name);
    const slots = readdirSync(dir).filter((entry) => entry.startsWith('server-')).length;
    tryRemove(dir, slots);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
