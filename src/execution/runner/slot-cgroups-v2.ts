import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CgroupFs, REAL_CGROUP_FS, removeTree, RunCgroupV2 } from './cgroup-v2';
import type { RunCgroup, SlotCgroupSet, SlotLimits } from './slot-cgroups';

const NAME_PREFIX = 'pyexec-';
const REMOVE_TRIES = 20;
const REMOVE_RETRY_MS = 50;
/**
 * cgroup v2's cpu.weight (default 100) for a slot: as v1's 2048 cpu.shares (2 × the default 1024),
 * its run and the next run its server prepares meanwhile.
 */
const CPU_WEIGHT_PER_SLOT = 200;
const MAX_CPU_WEIGHT = 10_000;

/**
 * cgroup v2, per pool `pyexec-<pid>-<id>` under the service's delegated cgroup (prepareCgroupV2Base):
 *
 *     pyexec-<pid>-<id>/   pids.max = slots × the slot's, cpu.weight = slots × a slot's
 *       slot-<n>/          the server's whole tree: pids.max, cpu.weight (a fork bomb or 32 busy
 *                          processes stay inside the slot's share; setsid autogroups count only
 *                          in the root cgroup)
 *         server/          the server, its template and the prepared pid 1 (no memory limit: the
 *                          OOM killer never picks them for a run's memory)
 *         run/             RunCgroupV2: the run alone (its pid 1 moves itself in when its request
 *                          comes): memory.max, memory.swap.max=0, memory.oom.group=1, pids.max
 *
 * A slot needs the two leaves: in v2 a cgroup whose children have controllers holds no processes.
 */
export class SlotCgroupsV2 implements SlotCgroupSet {
  readonly version = 2;

  private constructor(
    private readonly dir: string,
    private readonly runs: RunCgroupV2[],
    private readonly fs: CgroupFs,
  ) {}

  /** Creates the cgroups under `base` (delegated, its controllers enabled); throws if the kernel refuses. */
  static create(
    base: { dir: string; controllers: readonly string[] },
    slots: number,
    limits: SlotLimits,
    fs: CgroupFs = REAL_CGROUP_FS,
  ): SlotCgroupsV2 {
    removeStale(base.dir, fs);
    const name = `${NAME_PREFIX}${process.pid}-${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    const dir = join(base.dir, name);
    const runs: RunCgroupV2[] = [];
    const made = new SlotCgroupsV2(dir, runs, fs);
    const enable = base.controllers.map((controller) => `+${controller}`).join(' ');
    try {
      fs.mkdir(dir);
      writeIfPresent(fs, join(dir, 'pids.max'), String(slots * limits.pidsMax));
      writeIfPresent(fs, join(dir, 'cpu.weight'), String(Math.min(MAX_CPU_WEIGHT, slots * CPU_WEIGHT_PER_SLOT)));
      fs.write(join(dir, 'cgroup.subtree_control'), enable);
      for (let slot = 0; slot < slots; slot++) {
        const slotDir = join(dir, slotName(slot));
        fs.mkdir(slotDir);
        writeIfPresent(fs, join(slotDir, 'pids.max'), String(limits.pidsMax));
        writeIfPresent(fs, join(slotDir, 'cpu.weight'), String(CPU_WEIGHT_PER_SLOT));
        fs.write(join(slotDir, 'cgroup.subtree_control'), enable);
        fs.mkdir(join(slotDir, 'server'));
        runs.push(
          RunCgroupV2.create(
            join(slotDir, 'run'),
            { memoryBytes: limits.memoryBytes, pidsMax: limits.runPidsMax, cpuWeight: 100 },
            fs,
          ),
        );
      }
    } catch (error) {
      made.removeNow();
      throw error;
    }
    return made;
  }

  serverProcsFiles(slot: number): string[] {
    return [join(this.dir, slotName(slot), 'server', 'cgroup.procs')];
  }

  runCgroup(slot: number): RunCgroup | undefined {
    const run = this.runs[slot];
    return run && { tasksFile: run.procsFile, eventsFile: run.eventsFile, killFile: run.killFile };
  }

  /** The run cgroup of a slot itself (tests, and sessions later: each its own RunCgroupV2 beside it). */
  runCgroupV2(slot: number): RunCgroupV2 | undefined {
    return this.runs[slot];
  }

  get poolDir(): string {
    return this.dir;
  }

  async remove(): Promise<void> {
    for (let attempt = 0; attempt < REMOVE_TRIES; attempt++) {
      if (this.removeNow()) return;
      if (attempt === 0) this.killAll();
      await new Promise((resolve) => setTimeout(resolve, REMOVE_RETRY_MS));
    }
  }

  /** cgroup.kill of the whole pool: what is left of killed servers and their runs. */
  private killAll(): void {
    try {
      if (this.fs.exists(join(this.dir, 'cgroup.kill'))) this.fs.write(join(this.dir, 'cgroup.kill'), '1');
    } catch {
      // gone already
    }
  }

  private removeNow(): boolean {
    return removeTree(this.dir, this.fs);
  }
}

function slotName(slot: number): string {
  return `slot-${slot}`;
}

function writeIfPresent(fs: CgroupFs, file: string, value: string): void {
  if (fs.exists(file)) fs.write(file, value);
}

/** Pools left by a service that was killed before it could remove them (their processes killed first). */
function removeStale(base: string, fs: CgroupFs): void {
  for (const name of fs.readdir(base)) {
    const match = /^pyexec-(\d+)-/.exec(name);
    if (!match || isAlive(Number(match[1]))) continue;
    const dir = join(base, name);
    try {
      if (fs.exists(join(dir, 'cgroup.kill'))) fs.write(join(dir, 'cgroup.kill'), '1');
    } catch {
      // best effort: rmdir below fails while processes remain, and the pool is left for later
    }
    removeTree(dir, fs);
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
