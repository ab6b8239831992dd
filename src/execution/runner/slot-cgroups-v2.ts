import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CgroupFs, REAL_CGROUP_FS, removeTree, RunCgroupV2 } from './cgroup-v2';
import { unweighSlot } from './slot-cgroups';
import type { PoolOptions, RunCgroup, SlotCgroupSet, SlotLimits } from './slot-cgroups';

const NAME_PREFIX = 'pyexec-';
const REMOVE_TRIES = 20;
const REMOVE_RETRY_MS = 50;
/** cgroup v2's cpu.weight of a busy host process (the default), as v1's 1024 cpu.shares (SlotLimits.busyProcesses). */
const CPU_WEIGHT_PER_BUSY_PROCESS = 100;
const MAX_CPU_WEIGHT = 10_000;

/**
 * cgroup v2, per pool `pyexec-<pid>-<id>` under the service's delegated cgroup (prepareCgroupV2Base):
 *
 *     pyexec-<pid>-<id>/   pids.max = slots × the slot's, cpu.weight = a slot's × the slots made
 *       slot-<n>/          the server's whole tree: pids.max, cpu.weight (a fork bomb or 32 busy
 *                          processes stay inside the slot's share; setsid autogroups count only
 *                          in the root cgroup)
 *         server/          the server, its template and the prepared pid 1 (no memory limit: the
 *                          OOM killer never picks them for a run's memory)
 *         run/             RunCgroupV2: the run alone (its pid 1 moves itself in when its request
 *                          comes; a session's interpreter as soon as it is prepared, for its whole
 *                          life): memory.max, memory.swap.max=0, memory.oom.group=1, pids.max
 *
 * A slot needs the two leaves: in v2 a cgroup whose children have controllers holds no processes.
 * A fork server pool makes its slots with it; a session pool (`slotsMade: 0`) makes one before each
 * session server starts and removes it once that server has exited (SessionCgroups).
 */
export class SlotCgroupsV2 implements SlotCgroupSet {
  readonly version = 2;
  readonly boundsMemory = true;
  private readonly runs: Array<RunCgroupV2 | undefined> = [];
  /** Slots whose cgroups exist. */
  private readonly made = new Set<number>();

  private constructor(
    private readonly dir: string,
    private readonly limits: SlotLimits,
    private readonly enable: string,
    private readonly fs: CgroupFs,
  ) {}

  /** Creates the cgroups under `base` (delegated, its controllers enabled); throws if the kernel refuses. */
  static create(
    base: { dir: string; controllers: readonly string[] },
    slots: number,
    limits: SlotLimits,
    fs: CgroupFs = REAL_CGROUP_FS,
    options: PoolOptions = {},
  ): SlotCgroupsV2 {
    removeStale(base.dir, fs);
    const name = `${NAME_PREFIX}${process.pid}-${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    const dir = join(base.dir, name);
    const enable = base.controllers.map((controller) => `+${controller}`).join(' ');
    const made = new SlotCgroupsV2(dir, limits, enable, fs);
    try {
      fs.mkdir(dir);
      writeIfPresent(fs, join(dir, 'pids.max'), String(slots * limits.pidsMax));
      made.weighPool(); // as one slot's until its slots are made
      fs.write(join(dir, 'cgroup.subtree_control'), enable);
      for (let slot = 0; slot < (options.slotsMade ?? slots); slot++) made.addSlot(slot);
    } catch (error) {
      made.removeNow();
      throw error;
    }
    return made;
  }

  addSlot(slot: number): void {
    const slotDir = join(this.dir, slotName(slot));
    try {
      this.fs.mkdir(slotDir);
      writeIfPresent(this.fs, join(slotDir, 'pids.max'), String(this.limits.pidsMax));
      writeIfPresent(this.fs, join(slotDir, 'cpu.weight'), String(this.cpuWeight));
      this.fs.write(join(slotDir, 'cgroup.subtree_control'), this.enable);
      this.fs.mkdir(join(slotDir, 'server'));
      this.runs[slot] = RunCgroupV2.create(
        join(slotDir, 'run'),
        { memoryBytes: this.limits.memoryBytes, pidsMax: this.limits.runPidsMax, cpuWeight: 100 },
        this.fs,
      );
    } catch (error) {
      removeTree(slotDir, this.fs);
      throw error;
    }
    this.made.add(slot);
    this.weighPool();
  }

  /**
   * The pool weighs as its slots that exist: a session pool (slots made one at a time) then weighs as
   * its live sessions, not as all it may ever hold (that let one busy session outweigh the API process
   * and every fork server).
   */
  private weighPool(): void {
    const weight = Math.min(MAX_CPU_WEIGHT, Math.max(1, this.made.size) * this.cpuWeight);
    writeIfPresent(this.fs, join(this.dir, 'cpu.weight'), String(weight));
  }

  serverProcsFiles(slot: number): string[] {
    return [join(this.dir, slotName(slot), 'server', 'cgroup.procs')];
  }

  runCgroup(slot: number): RunCgroup | undefined {
    const run = this.runs[slot];
    return run && { tasksFile: run.procsFile, eventsFile: run.eventsFile, killFile: run.killFile };
  }

  /** The run cgroup of a slot itself (tests). */
  runCgroupV2(slot: number): RunCgroupV2 | undefined {
    return this.runs[slot];
  }

  get poolDir(): string {
    return this.dir;
  }

  /** rmdir once the slot's processes are gone; what is left of them is killed first (cgroup.kill). */
  async removeSlot(slot: number): Promise<boolean> {
    const slotDir = join(this.dir, slotName(slot));
    const removed = await retry(
      () => removeTree(slotDir, this.fs),
      () => killAll(join(slotDir, 'cgroup.kill'), this.fs),
    );
    if (removed) {
      this.runs[slot] = undefined;
      unweighSlot(this.made, slot, () => this.weighPool());
    }
    return removed;
  }

  async remove(): Promise<void> {
    await retry(
      () => this.removeNow(),
      () => killAll(join(this.dir, 'cgroup.kill'), this.fs), // what is left of killed servers and their runs
    );
  }

  private get cpuWeight(): number {
    return (this.limits.busyProcesses ?? 2) * CPU_WEIGHT_PER_BUSY_PROCESS;
  }

  private removeNow(): boolean {
    return removeTree(this.dir, this.fs);
  }
}

/** Calls `attempt` until it succeeds, REMOVE_TRIES times REMOVE_RETRY_MS apart (`afterFirst` once between). */
async function retry(attempt: () => boolean, afterFirst: () => void): Promise<boolean> {
  for (let tries = 0; tries < REMOVE_TRIES; tries++) {
    if (attempt()) return true;
    if (tries === 0) afterFirst();
    await new Promise((resolve) => setTimeout(resolve, REMOVE_RETRY_MS));
  }
  return false;
}

/** cgroup.kill of a cgroup and everything below it. */
function killAll(killFile: string, fs: CgroupFs): void {
  try {
    if (fs.exists(killFile)) fs.write(killFile, '1');
  } catch {
    // gone already
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
