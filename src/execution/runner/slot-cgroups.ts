import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';
const NAME_PREFIX = 'pyexec-';
const REMOVE_TRIES = 20;
const REMOVE_RETRY_MS = 50;
/**
 * A busy host process's cpu.shares (the default). A fork server's slot weighs as two: its run, and
 * the next run its server prepares meanwhile. Measured: with 1024 a loaded host slowed ordinary runs by half.
 */
const CPU_SHARES_PER_BUSY_PROCESS = 1024;

/** Which cgroup v1 controllers a root service can write here (cgroup v2: see slot-cgroups-v2.ts). */
export interface CgroupBases {
  pids?: string;
  /** v1: our own memory cgroup (from /proc/self/cgroup), where children may be made. */
  memory?: string;
  cpu?: string;
}

export function cgroupBases(): CgroupBases {
  if (process.getuid?.() !== 0) return {};
  const bases: CgroupBases = {};
  const pidsV1 = join(CGROUP_ROOT, 'pids');
  if (existsSync(join(pidsV1, 'cgroup.procs'))) bases.pids = pidsV1;
  const memory = ownV1Cgroup('memory');
  if (memory && existsSync(join(memory, 'memory.limit_in_bytes'))) bases.memory = memory;
  const cpu = ownV1Cgroup('cpu');
  if (cpu && existsSync(join(cpu, 'cpu.shares'))) bases.cpu = cpu;
  return bases;
}

/** The directory of this process's cgroup in the v1 hierarchy that has `controller`, if mounted. */
function ownV1Cgroup(controller: string): string | undefined {
  let lines: string[];
  try {
    lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  } catch {
    return undefined;
  }
  for (const line of lines) {
    const [, list, path] = line.split(':');
    if (!list?.split(',').includes(controller) || path === undefined) continue;
    for (const mount of [controller, list]) {
      const dir = join(CGROUP_ROOT, mount, path);
      if (existsSync(join(dir, 'cgroup.procs'))) return dir;
    }
  }
  return undefined;
}

export interface SlotLimits {
  /** Tasks of a slot's whole tree: its server and its run. */
  pidsMax: number;
  /** Tasks of the run alone (cgroup v2, where the run has a cgroup of its own for every controller). */
  runPidsMax: number;
  memoryBytes: number;
  /**
   * A slot's CPU weight, in busy host processes (default 2: a fork server's run, and the next run it
   * prepares meanwhile; a session's server runs one call at a time: 1).
   */
  busyProcesses?: number;
}

/** The memory cgroup a slot's runs move into, one at a time, when their request comes. */
export interface RunCgroup {
  /**
   * v1 `tasks`: pid 1 writes "0" to move itself, which skips the global lock a pid move takes;
   * v2 `cgroup.procs` ("0" moves the writer's process).
   */
  tasksFile: string;
  /** Its "oom_kill N" counter (v1 memory.oom_control, v2 memory.events). */
  eventsFile: string;
  /** v2 `cgroup.kill`: the server kills the run's every process with it (where the kernel has it). */
  killFile?: string;
}

/** The "oom_kill N" count of a memory cgroup's v1 memory.oom_control or v2 memory.events text. */
export function oomKillsIn(events: string): number {
  return Number(/^oom_kill (\d+)$/m.exec(events)?.[1] ?? 0);
}

/**
 * Per-slot cgroups of one pool, v1 (SlotCgroups) or v2 (SlotCgroupsV2). A slot is one server's:
 * a fork server's (every slot made with the pool), or a session's (made before its server starts,
 * removed once it has exited: addSlot, removeSlot).
 */
export interface SlotCgroupSet {
  readonly version: 1 | 2;
  /** Whether each slot has a memory cgroup for its runs (v2 always; v1 where the memory controller is writable). */
  readonly boundsMemory: boolean;
  /**
   * The files a slot's server writes "0" to (itself) before it drops root: v1 `tasks`, v2 `cgroup.procs`.
   * In v1 a thread that moves itself alone takes no global lock: moving a whole process takes the
   * kernel's threadgroup lock and waits out an RCU grace period, stalling every fork and exit on the
   * host meanwhile (a session's server starts at each creation: a one-shot run just after one took about 10 ms more).
   */
  serverProcsFiles(slot: number): string[];
  /** The cgroup each run of a slot joins alone, when memory is bounded by a cgroup. */
  runCgroup(slot: number): RunCgroup | undefined;
  /** Makes slot n's cgroups (a pool created with `slotsMade: 0`); throws if the kernel refuses. */
  addSlot(slot: number): void;
  /** Removes slot n's cgroups once its processes are gone: false if some remain after a while. */
  removeSlot(slot: number): Promise<boolean>;
  /** Removes the cgroups once the pool's servers are killed. */
  remove(): Promise<void>;
}

/** How many of a pool's slots are made with it: all (fork servers), or none (sessions: addSlot). */
export interface PoolOptions {
  slotsMade?: number;
}

/**
 * Per server slot, under `pyexec-<pid>-<id>` in each writable hierarchy: a pids cgroup and a cpu
 * cgroup the server's whole tree lives in (a fork bomb or 32 busy processes stay inside the slot's
 * share), and a memory cgroup for the run alone (the server and the next prepared run stay outside,
 * so the OOM killer only ever picks the run's processes). The pool's own cgroups cap all its slots.
 */
export class SlotCgroups implements SlotCgroupSet {
  readonly version = 1;

  /** Slots whose cgroups exist. */
  private readonly made = new Set<number>();

  private constructor(
    private readonly dirs: Partial<Record<keyof CgroupBases, string>>,
    private readonly slots: number,
    private readonly limits: SlotLimits,
  ) {}

  get boundsMemory(): boolean {
    return this.dirs.memory !== undefined;
  }

  /** Creates the cgroups; throws if the kernel refuses (the caller decides whether that is fatal). */
  static create(bases: CgroupBases, slots: number, limits: SlotLimits, options: PoolOptions = {}): SlotCgroups {
    const name = `${NAME_PREFIX}${process.pid}-${Date.now().toString(36)}${randomBytes(3).toString('hex')}`; // unique per pool
    const dirs: Partial<Record<keyof CgroupBases, string>> = {};
    const made = new SlotCgroups(dirs, slots, limits);
    try {
      for (const kind of ['pids', 'cpu', 'memory'] as const) {
        const base = bases[kind];
        if (!base) continue;
        removeStale(base);
        dirs[kind] = join(base, name);
        mkdirSync(dirs[kind]);
        if (kind === 'pids') writeFileSync(join(dirs[kind], 'pids.max'), String(slots * limits.pidsMax));
      }
      made.weighPool(); // as one slot's until its slots are made
      for (let slot = 0; slot < (options.slotsMade ?? slots); slot++) made.addSlot(slot);
    } catch (err) {
      made.removeNow();
      throw err;
    }
    return made;
  }

  addSlot(slot: number): void {
    try {
      for (const kind of Object.keys(this.dirs) as Array<keyof CgroupBases>) {
        const dir = join(this.dirs[kind]!, slotName(kind, slot));
        mkdirSync(dir);
        if (kind === 'pids') writeFileSync(join(dir, 'pids.max'), String(this.limits.pidsMax));
        if (kind === 'cpu') writeFileSync(join(dir, 'cpu.shares'), String(this.cpuShares));
        if (kind === 'memory') limitMemory(dir, this.limits.memoryBytes);
      }
    } catch (err) {
      this.removeSlotNow(slot);
      throw err;
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
    if (this.dirs.cpu) {
      writeFileSync(join(this.dirs.cpu, 'cpu.shares'), String(Math.max(1, this.made.size) * this.cpuShares));
    }
  }

  /** The `tasks` files a slot's server (`sh`, one thread) writes "0" to: itself alone, no global lock. */
  serverProcsFiles(slot: number): string[] {
    return (['pids', 'cpu'] as const)
      .filter((kind) => this.dirs[kind])
      .map((kind) => join(this.dirs[kind]!, slotName(kind, slot), 'tasks'));
  }

  runCgroup(slot: number): RunCgroup | undefined {
    if (!this.dirs.memory) return undefined;
    const dir = join(this.dirs.memory, slotName('memory', slot));
    return { tasksFile: join(dir, 'tasks'), eventsFile: join(dir, 'memory.oom_control') };
  }

  /** rmdir once the slot's processes are gone (a killed server's take a moment). */
  async removeSlot(slot: number): Promise<boolean> {
    const removed = await retry(() => this.removeSlotNow(slot));
    if (removed) unweighSlot(this.made, slot, () => this.weighPool());
    return removed;
  }

  /** rmdir once the killed servers' processes are gone (the kernel refuses while any remain). */
  async remove(): Promise<void> {
    await retry(() => this.removeNow());
  }

  private get cpuShares(): number {
    return (this.limits.busyProcesses ?? 2) * CPU_SHARES_PER_BUSY_PROCESS;
  }

  private removeSlotNow(slot: number): boolean {
    let all = true;
    for (const kind of Object.keys(this.dirs) as Array<keyof CgroupBases>) {
      all = tryRemove(this.dirs[kind]!, [slotName(kind, slot)], false) && all;
    }
    return all;
  }

  private removeNow(): boolean {
    let all = true;
    for (const kind of Object.keys(this.dirs) as Array<keyof CgroupBases>) {
      const children = Array.from({ length: this.slots }, (_, slot) => slotName(kind, slot));
      all = tryRemove(this.dirs[kind]!, children) && all;
    }
    return all;
  }
}

/** A removed slot no longer weighs in its pool (`made`: the slots that exist; `weighPool` writes the weight). */
export function unweighSlot(made: Set<number>, slot: number, weighPool: () => void): void {
  if (!made.delete(slot)) return;
  try {
    weighPool();
  } catch {
    // the pool is being removed
  }
}

/** Calls `attempt` until it succeeds, REMOVE_TRIES times REMOVE_RETRY_MS apart; whether it did. */
async function retry(attempt: () => boolean): Promise<boolean> {
  for (let tries = 0; tries < REMOVE_TRIES; tries++) {
    if (attempt()) return true;
    await new Promise((resolve) => setTimeout(resolve, REMOVE_RETRY_MS));
  }
  return false;
}

function slotName(kind: keyof CgroupBases, slot: number): string {
  return kind === 'memory' ? `run-${slot}` : `server-${slot}`;
}

/** memory.limit_in_bytes and, where swap is accounted, the same for memory+swap: no swap at all. */
function limitMemory(dir: string, bytes: number): void {
  writeFileSync(join(dir, 'memory.limit_in_bytes'), String(bytes));
  if (existsSync(join(dir, 'memory.memsw.limit_in_bytes')))
    writeFileSync(join(dir, 'memory.memsw.limit_in_bytes'), String(bytes));
  writeFileSync(join(dir, 'memory.swappiness'), '0');
}

/** rmdir of `dir`'s `children` (and of `dir` itself unless told not to); false when any remains. */
function tryRemove(dir: string, children: string[], andDir = true): boolean {
  try {
    for (const child of children) if (existsSync(join(dir, child))) rmdirSync(join(dir, child));
    if (andDir && existsSync(dir)) rmdirSync(dir);
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
    tryRemove(
      dir,
      readdirSync(dir).filter((entry) => /^(server|run)-\d+$/.test(entry)),
    );
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
