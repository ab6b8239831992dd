import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { oomKillsIn } from './slot-cgroups';

/** Where cgroup2 is mounted on a pure cgroup v2 system (also a container with its own cgroup namespace). */
export const CGROUP2_ROOT = '/sys/fs/cgroup';
/** The leaf the service's own processes move into, so that its cgroup can enable controllers for children. */
export const SERVICE_LEAF = 'pyexec-service';
/** Controllers a run cgroup needs (memory) or uses when delegated (pids, cpu). */
const REQUIRED_CONTROLLERS = ['memory'] as const;
const WANTED_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
/** Moving a cgroup's processes: processes it forks meanwhile arrive late; a few rounds take them too. */
const MOVE_ROUNDS = 10;

/** The file operations cgroup v2 code needs: the real ones, or a fake kernel in unit tests. */
export interface CgroupFs {
  read(path: string): string;
  write(path: string, data: string): void;
  exists(path: string): boolean;
  mkdir(path: string): void;
  rmdir(path: string): void;
  readdir(path: string): string[];
}

export const REAL_CGROUP_FS: CgroupFs = {
  read: (path) => readFileSync(path, 'utf8'),
  write: (path, data) => writeFileSync(path, data),
  exists: (path) => existsSync(path),
  mkdir: (path) => mkdirSync(path),
  rmdir: (path) => rmdirSync(path),
  readdir: (path) => readdirSync(path),
};

/** Where this process may make cgroup v2 children (its delegated subtree), or why not. */
export type CgroupV2Base =
  | { dir: string; controllers: string[]; reason?: undefined }
  | { dir?: undefined; controllers?: undefined; reason: string };

export interface CgroupV2Paths {
  root: string;
  /** This process's /proc/<pid>/cgroup. */
  procSelfCgroup: string;
}

const REAL_PATHS: CgroupV2Paths = { root: CGROUP2_ROOT, procSelfCgroup: '/proc/self/cgroup' };

/** True when `root` is a cgroup2 mount (a pure v2 system), not v1 or the hybrid layout (v2 without controllers). */
export function isCgroupV2(root = CGROUP2_ROOT, fs: CgroupFs = REAL_CGROUP_FS): boolean {
  return fs.exists(join(root, 'cgroup.controllers'));
}

/**
 * Makes the service's own cgroup (from /proc/self/cgroup "0::/path") a parent of run cgroups:
 * its processes move into the leaf SERVICE_LEAF (a cgroup with children may hold no processes of
 * its own unless it is the real root: the no-internal-processes rule), then `memory pids cpu` are
 * enabled in its cgroup.subtree_control. Idempotent: a process already in SERVICE_LEAF uses its
 * parent. Needs a delegated, writable subtree (root on the host, systemd Delegate=yes, a container
 * with a writable cgroup namespace); otherwise returns the reason.
 */
export function prepareCgroupV2Base(paths: CgroupV2Paths = REAL_PATHS, fs: CgroupFs = REAL_CGROUP_FS): CgroupV2Base {
  let own: string | undefined;
  try {
    own = /^0::(\/.*)$/m.exec(fs.read(paths.procSelfCgroup))?.[1];
  } catch (error) {
    return { reason: `cannot read ${paths.procSelfCgroup}: ${errorText(error)}` };
  }
  if (own === undefined) return { reason: `no cgroup v2 entry ("0::") in ${paths.procSelfCgroup}` };
  let dir = resolve(paths.root, `.${own}`); // the root itself for "/"
  if (basename(dir) === SERVICE_LEAF) dir = dirname(dir);
  if (!fs.exists(join(dir, 'cgroup.procs'))) {
    return { reason: `this process's cgroup ${own} is not under ${paths.root} (another cgroup namespace?)` };
  }
  const available = fs.read(join(dir, 'cgroup.controllers')).split(/\s+/);
  const missing = REQUIRED_CONTROLLERS.filter((name) => !available.includes(name));
  if (missing.length > 0) {
    return { reason: `cgroup v2 ${dir} has no ${missing.join(', ')} controller delegated` };
  }
  const controllers = WANTED_CONTROLLERS.filter((name) => available.includes(name));
  try {
    // The real root cgroup (no cgroup.type) may hold processes; any other may not, the root of a
    // container's cgroup namespace included.
    if (fs.exists(join(dir, 'cgroup.type'))) moveProcessesToLeaf(dir, fs);
    enableControllers(dir, controllers, fs);
  } catch (error) {
    return { reason: `cgroup v2 ${dir} is not delegated to this service (${errorText(error)})` };
  }
  return { dir, controllers };
}

/** Every process of `dir` into dir/SERVICE_LEAF (made if missing). */
function moveProcessesToLeaf(dir: string, fs: CgroupFs): void {
  const leaf = join(dir, SERVICE_LEAF);
  for (let round = 0; round < MOVE_ROUNDS; round++) {
    // "0": a process outside this pid namespace, which no one here can move.
    const pids = fs.read(join(dir, 'cgroup.procs')).split('\n').filter(Boolean);
    if (pids.length === 0) return;
    if (pids.includes('0')) throw new Error(`${dir} holds processes outside this pid namespace`);
    if (!fs.exists(leaf)) fs.mkdir(leaf);
    for (const pid of pids) {
      try {
        fs.write(join(leaf, 'cgroup.procs'), pid);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; // it exited meanwhile
      }
    }
  }
  throw new Error(`${dir} kept getting new processes`);
}

function enableControllers(dir: string, controllers: readonly string[], fs: CgroupFs): void {
  const enabled = fs.read(join(dir, 'cgroup.subtree_control')).split(/\s+/);
  const wanted = controllers.filter((name) => !enabled.includes(name));
  if (wanted.length > 0) fs.write(join(dir, 'cgroup.subtree_control'), wanted.map((name) => `+${name}`).join(' '));
}

/** Limits of one run cgroup (a slot's runs, or a session's interpreter). */
export interface RunCgroupLimits {
  memoryBytes: number;
  pidsMax: number;
  cpuWeight: number;
}

/**
 * One cgroup v2 leaf that holds one run (or one session) at a time: its memory as a whole
 * (memory.max, no swap), its OOM kill taking all its processes (memory.oom.group), its tasks
 * (pids.max), its CPU weight among its siblings; killed as a whole with cgroup.kill. Processes
 * join it by writing to `procsFile` (pid 1 writes "0": itself).
 */
export class RunCgroupV2 {
  private constructor(
    readonly dir: string,
    private readonly fs: CgroupFs,
  ) {}

  /** Makes `dir` (its parent must have memory, pids and cpu enabled for children) with these limits. */
  static create(dir: string, limits: RunCgroupLimits, fs: CgroupFs = REAL_CGROUP_FS): RunCgroupV2 {
    fs.mkdir(dir);
    const made = new RunCgroupV2(dir, fs);
    try {
      fs.write(join(dir, 'memory.max'), String(limits.memoryBytes));
      // Only where swap is accounted (CONFIG_MEMCG_SWAP, not swapaccount=0): else there is no swap to use.
      if (fs.exists(join(dir, 'memory.swap.max'))) fs.write(join(dir, 'memory.swap.max'), '0');
      fs.write(join(dir, 'memory.oom.group'), '1');
      writeIfPresent(fs, join(dir, 'pids.max'), String(limits.pidsMax));
      writeIfPresent(fs, join(dir, 'cpu.weight'), String(limits.cpuWeight));
    } catch (error) {
      made.remove();
      throw error;
    }
    return made;
  }

  get procsFile(): string {
    return join(this.dir, 'cgroup.procs');
  }

  /** Its "oom_kill N" counter. */
  get eventsFile(): string {
    return join(this.dir, 'memory.events');
  }

  /** cgroup.kill (Linux 5.14+), or undefined on older kernels. */
  get killFile(): string | undefined {
    const file = join(this.dir, 'cgroup.kill');
    return this.fs.exists(file) ? file : undefined;
  }

  /** Processes killed by OOM in it so far. */
  oomKills(): number {
    return oomKillsIn(this.fs.read(this.eventsFile));
  }

  /** SIGKILL to every process in it, where the kernel has cgroup.kill. */
  kill(): boolean {
    const file = this.killFile;
    if (!file) return false;
    this.fs.write(file, '1');
    return true;
  }

  /** rmdir; false while processes remain (the kernel refuses). */
  remove(): boolean {
    return removeTree(this.dir, this.fs);
  }
}

function writeIfPresent(fs: CgroupFs, file: string, value: string): void {
  if (fs.exists(file)) fs.write(file, value);
}

/** rmdir of a cgroup and its child cgroups, deepest first; false when any remains. */
export function removeTree(dir: string, fs: CgroupFs = REAL_CGROUP_FS): boolean {
  if (!fs.exists(dir)) return true;
  let all = true;
  try {
    for (const entry of fs.readdir(dir)) {
      const child = join(dir, entry);
      if (fs.exists(join(child, 'cgroup.procs'))) all = removeTree(child, fs) && all;
    }
    fs.rmdir(dir);
    return all;
  } catch {
    return false;
  }
}

export function errorText(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code ? `${code} ${message.replace(/^[A-Z]+: /, '')}` : String(message ?? error);
}
