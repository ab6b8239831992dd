import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { CgroupFs, isCgroupV2, prepareCgroupV2Base, REAL_CGROUP_FS, RunCgroupV2, SERVICE_LEAF } from './cgroup-v2';
import { SlotCgroupsV2 } from './slot-cgroups-v2';

function errno(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: fake cgroupfs, ${path}`), { code });
}

/**
 * A cgroup2 file system in a temporary directory, with the kernel's rules that the code must
 * respect: interface files exist only for controllers the parent enables; a controller can be
 * enabled only where the parent offers it, and (but in the root) only in a cgroup without processes
 * of its own; no process joins a (non-root) cgroup whose children have controllers; rmdir only
 * of an empty cgroup without children; read-only when not delegated.
 */
class FakeCgroup2 implements CgroupFs {
  readonly root = mkdtempSync(join(tmpdir(), 'fake-cgroup2-'));
  readonly kills: string[] = [];
  readOnly = false;

  constructor(controllers = 'cpuset cpu io memory pids') {
    writeFileSync(join(this.root, 'cgroup.controllers'), controllers);
    writeFileSync(join(this.root, 'cgroup.subtree_control'), '');
    writeFileSync(join(this.root, 'cgroup.procs'), '1\n');
  }

  /** A cgroup as systemd or a container runtime makes it (controllers enabled down to it), with processes in it. */
  cgroup(path: string, pids: number[] = []): string {
    const dir = join(this.root, path);
    if (!existsSync(dir)) {
      const parent = this.cgroup(dirname(path));
      if (parent !== this.root) {
        const offered = this.read(join(parent, 'cgroup.controllers')).split(/\s+/).filter(Boolean);
        writeFileSync(join(parent, 'cgroup.subtree_control'), offered.join(' '));
      }
      this.mkdir(dir);
    }
    if (pids.length > 0) writeFileSync(join(dir, 'cgroup.procs'), pids.map((pid) => `${pid}\n`).join(''));
    return dir;
  }

  procSelfCgroup(path: string): string {
    const file = join(this.root, '..', `${basename(this.root)}-self-cgroup`);
    writeFileSync(file, `0::${path}\n`);
    return file;
  }

  read(path: string): string {
    return readFileSync(path, 'utf8');
  }

  exists(path: string): boolean {
    return existsSync(path);
  }

  readdir(path: string): string[] {
    return readdirSync(path);
  }

  mkdir(path: string): void {
    if (this.readOnly) throw errno('EROFS', path);
    mkdirSync(path);
    const offered = this.read(join(dirname(path), 'cgroup.subtree_control'))
      .split(/\s+/)
      .filter(Boolean);
    const files: Record<string, string> = {
      'cgroup.controllers': offered.join(' '),
      'cgroup.subtree_control': '',
      'cgroup.procs': '',
      'cgroup.kill': '',
      'cgroup.type': 'domain', // every cgroup but the real root
    };
    if (offered.includes('memory')) {
      Object.assign(files, {
        'memory.max': 'max',
        'memory.swap.max': 'max',
        'memory.oom.group': '0',
        'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n',
      });
    }
    if (offered.includes('pids')) files['pids.max'] = 'max';
    if (offered.includes('cpu')) files['cpu.weight'] = '100';
    for (const [name, value] of Object.entries(files)) writeFileSync(join(path, name), value);
  }

  write(path: string, data: string): void {
    if (this.readOnly) throw errno('EACCES', path);
    if (!existsSync(path)) throw errno('ENOENT', path); // no file is ever created in cgroupfs
    const dir = dirname(path);
    const isRoot = dir === this.root;
    switch (basename(path)) {
      case 'cgroup.procs':
        if (!isRoot && this.read(join(dir, 'cgroup.subtree_control')).trim()) throw errno('EBUSY', path);
        for (const other of this.cgroups()) this.removePid(other, data.trim());
        writeFileSync(path, this.read(path) + `${data.trim()}\n`);
        return;
      case 'cgroup.subtree_control': {
        const offered = this.read(join(dir, 'cgroup.controllers')).split(/\s+/);
        const enabled = new Set(this.read(path).split(/\s+/).filter(Boolean));
        for (const word of data.split(/\s+/).filter(Boolean)) {
          if (!offered.includes(word.slice(1))) throw errno('ENOENT', path);
          if (!isRoot && this.read(join(dir, 'cgroup.procs')).trim()) throw errno('EBUSY', path);
          if (word.startsWith('+')) enabled.add(word.slice(1));
          else enabled.delete(word.slice(1));
        }
        writeFileSync(path, [...enabled].join(' '));
        return;
      }
      case 'cgroup.kill': // every process below, too
        this.kills.push(relative(this.root, dir));
        for (const cgroup of this.cgroups(dir)) writeFileSync(join(cgroup, 'cgroup.procs'), '');
        return;
      default:
        writeFileSync(path, data);
    }
  }

  rmdir(path: string): void {
    if (this.readOnly) throw errno('EROFS', path);
    const hasChildren = this.readdir(path).some((entry) => existsSync(join(path, entry, 'cgroup.procs')));
    if (hasChildren || this.read(join(path, 'cgroup.procs')).trim()) throw errno('EBUSY', path);
    rmSync(path, { recursive: true });
  }

  value(path: string, file: string): string {
    return this.read(join(this.root, path, file)).trim();
  }

  private cgroups(dir = this.root): string[] {
    const children = this.readdir(dir).filter((entry) => existsSync(join(dir, entry, 'cgroup.procs')));
    return [dir, ...children.flatMap((entry) => this.cgroups(join(dir, entry)))];
  }

  private removePid(dir: string, pid: string): void {
    const file = join(dir, 'cgroup.procs');
    const pids = this.read(file).split('\n').filter(Boolean);
    if (pids.includes(pid))
      writeFileSync(
        file,
        pids
          .filter((p) => p !== pid)
          .map((p) => `${p}\n`)
          .join(''),
      );
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
    rmSync(join(this.root, '..', `${basename(this.root)}-self-cgroup`), { force: true });
  }
}

const LIMITS = { pidsMax: 80, runPidsMax: 64, memoryBytes: 256 << 20 };

describe('cgroup v2', () => {
  let fake: FakeCgroup2;
  beforeEach(() => {
    fake = new FakeCgroup2();
    fake.write(join(fake.root, 'cgroup.subtree_control'), '+memory +pids +cpu'); // as systemd does
  });
  afterEach(() => fake.cleanup());

  it('is told from v1 and the hybrid layout by cgroup.controllers at the mount point', () => {
    expect(isCgroupV2(fake.root, fake)).toBe(true);
    expect(isCgroupV2(join(fake.root, 'nothing-here'), fake)).toBe(false);
  });

  it("moves the service's processes into a leaf, then enables memory, pids and cpu for children", () => {
    const service = fake.cgroup('system.slice/pyexec.service', [100, 101]);
    const paths = { root: fake.root, procSelfCgroup: fake.procSelfCgroup('/system.slice/pyexec.service') };
    expect(prepareCgroupV2Base(paths, fake)).toEqual({ dir: service, controllers: ['memory', 'pids', 'cpu'] });
    expect(fake.value('system.slice/pyexec.service', 'cgroup.procs')).toBe('');
    expect(fake.value(`system.slice/pyexec.service/${SERVICE_LEAF}`, 'cgroup.procs')).toBe('100\n101');
    expect(fake.value('system.slice/pyexec.service', 'cgroup.subtree_control')).toBe('memory pids cpu');
    // Again (a second pool, or the next boot of a process that is in the leaf): the same parent, nothing moves.
    const again = {
      root: fake.root,
      procSelfCgroup: fake.procSelfCgroup(`/system.slice/pyexec.service/${SERVICE_LEAF}`),
    };
    expect(prepareCgroupV2Base(again, fake)).toEqual({ dir: service, controllers: ['memory', 'pids', 'cpu'] });
    expect(fake.value(`system.slice/pyexec.service/${SERVICE_LEAF}`, 'cgroup.procs')).toBe('100\n101');
  });

  it('in the root cgroup (a VM) makes no leaf: the real root may hold processes', () => {
    const paths = { root: fake.root, procSelfCgroup: fake.procSelfCgroup('/') };
    expect(prepareCgroupV2Base(paths, fake)).toEqual({ dir: fake.root, controllers: ['memory', 'pids', 'cpu'] });
    expect(fake.exists(join(fake.root, SERVICE_LEAF))).toBe(false);
  });

  it('in a container\'s cgroup namespace its root ("0::/") is an ordinary cgroup: its processes move to the leaf', () => {
    const container = fake.cgroup('kubepods/pod1/ctr', [1, 7]);
    const paths = { root: container, procSelfCgroup: fake.procSelfCgroup('/') };
    expect(prepareCgroupV2Base(paths, fake)).toEqual({ dir: container, controllers: ['memory', 'pids', 'cpu'] });
    expect(fake.value(`kubepods/pod1/ctr/${SERVICE_LEAF}`, 'cgroup.procs')).toBe('1\n7');
    fake.cgroup('kubepods/pod2/ctr', [0, 7]); // "0": a process of another pid namespace
    const other = { root: join(fake.root, 'kubepods/pod2/ctr'), procSelfCgroup: paths.procSelfCgroup };
    expect(prepareCgroupV2Base(other, fake).reason).toMatch(/outside this pid namespace/);
  });

  it('says why not: read-only cgroupfs, memory not delegated, another cgroup namespace', () => {
    fake.cgroup('kubepods/pod1', [100]);
    fake.readOnly = true;
    const paths = { root: fake.root, procSelfCgroup: fake.procSelfCgroup('/kubepods/pod1') };
    expect(prepareCgroupV2Base(paths, fake).reason).toMatch(/kubepods\/pod1 is not delegated to this service \(EROFS/);
    fake.readOnly = false;

    const noMemory = new FakeCgroup2('cpu pids');
    try {
      noMemory.write(join(noMemory.root, 'cgroup.subtree_control'), '+pids +cpu');
      noMemory.cgroup('user.slice', [100]);
      const user = { root: noMemory.root, procSelfCgroup: noMemory.procSelfCgroup('/user.slice') };
      expect(prepareCgroupV2Base(user, noMemory).reason).toMatch(/has no memory controller delegated/);
    } finally {
      noMemory.cleanup();
    }
    const elsewhere = { root: fake.root, procSelfCgroup: fake.procSelfCgroup('/not/here') };
    expect(prepareCgroupV2Base(elsewhere, fake).reason).toMatch(/is not under/);
    expect(prepareCgroupV2Base({ root: fake.root, procSelfCgroup: '/nonexistent' }, fake).reason).toMatch(/ENOENT/);
  });

  it('makes per slot a server leaf and a run cgroup with its limits, and removes them all', async () => {
    fake.cgroup('svc', [100]);
    const base = prepareCgroupV2Base({ root: fake.root, procSelfCgroup: fake.procSelfCgroup('/svc') }, fake);
    if (!base.dir) throw new Error(base.reason);
    const cgroups = SlotCgroupsV2.create(base, 2, LIMITS, fake);
    const pool = relative(fake.root, cgroups.poolDir);
    expect(pool).toMatch(new RegExp(`^svc/pyexec-${process.pid}-\\w+$`));
    expect([fake.value(pool, 'pids.max'), fake.value(pool, 'cpu.weight')]).toEqual(['160', '400']);
    for (const slot of [0, 1]) {
      expect([
        fake.value(`${pool}/slot-${slot}`, 'pids.max'),
        fake.value(`${pool}/slot-${slot}`, 'cpu.weight'),
      ]).toEqual(['80', '200']);
      const run = `${pool}/slot-${slot}/run`;
      expect(['memory.max', 'memory.swap.max', 'memory.oom.group', 'pids.max'].map((f) => fake.value(run, f))).toEqual([
        String(256 << 20),
        '0',
        '1',
        '64',
      ]);
      expect(cgroups.serverProcsFiles(slot)).toEqual([join(fake.root, pool, `slot-${slot}`, 'server', 'cgroup.procs')]);
      expect(cgroups.runCgroup(slot)).toEqual({
        tasksFile: join(fake.root, run, 'cgroup.procs'),
        eventsFile: join(fake.root, run, 'memory.events'),
        killFile: join(fake.root, run, 'cgroup.kill'),
      });
    }
    // A server and its run join their cgroups as the kernel allows (leaves only).
    fake.write(cgroups.serverProcsFiles(0)[0], '200');
    fake.write(cgroups.runCgroup(0)!.tasksFile, '201');
    await cgroups.remove(); // processes remain: it kills the pool (cgroup.kill) and then removes it
    expect(fake.kills).toEqual([pool]);
    expect(fake.readdir(join(fake.root, 'svc')).filter((e) => /^pyexec-\d/.test(e))).toEqual([]);
  });

  it("makes a session pool's slots one at a time (a session server's each) and removes each on its own", async () => {
    const base = { dir: fake.root, controllers: ['memory', 'pids', 'cpu'] };
    const limits = { ...LIMITS, busyProcesses: 1 };
    const cgroups = SlotCgroupsV2.create(base, 3, limits, fake, { slotsMade: 0 });
    const pool = relative(fake.root, cgroups.poolDir);
    // It weighs as the slots it has made (one slot's before any): a busy session never outweighs the service.
    expect([fake.value(pool, 'pids.max'), fake.value(pool, 'cpu.weight')]).toEqual(['240', '100']);
    expect(fake.readdir(cgroups.poolDir).filter((e) => e.startsWith('slot-'))).toEqual([]);
    expect(cgroups.runCgroup(1)).toBeUndefined();
    cgroups.addSlot(1);
    expect([fake.value(`${pool}/slot-1`, 'pids.max'), fake.value(`${pool}/slot-1`, 'cpu.weight')]).toEqual([
      '80',
      '100',
    ]);
    cgroups.addSlot(2);
    expect(fake.value(pool, 'cpu.weight')).toBe('200');
    await expect(cgroups.removeSlot(2)).resolves.toBe(true);
    expect(fake.value(pool, 'cpu.weight')).toBe('100');
    expect(fake.value(`${pool}/slot-1/run`, 'memory.max')).toBe(String(256 << 20));
    expect(cgroups.runCgroup(1)?.tasksFile).toBe(join(fake.root, pool, 'slot-1', 'run', 'cgroup.procs'));
    // Its server and interpreter joined; once they are gone (here: cgroup.kill takes what is left), it is removed.
    fake.write(cgroups.serverProcsFiles(1)[0], '300');
    fake.write(cgroups.runCgroup(1)!.tasksFile, '301');
    await expect(cgroups.removeSlot(1)).resolves.toBe(true);
    expect(fake.kills).toEqual([`${pool}/slot-1`]);
    expect(fake.exists(join(cgroups.poolDir, 'slot-1'))).toBe(false);
    expect(cgroups.runCgroup(1)).toBeUndefined();
    cgroups.addSlot(1); // made afresh: new counters
    expect(fake.value(`${pool}/slot-1/run`, 'cgroup.procs')).toBe('');
    await cgroups.remove();
    expect(fake.exists(cgroups.poolDir)).toBe(false);
  });

  it('a slot is not left half made when the kernel refuses one of its limits', () => {
    const base = { dir: fake.root, controllers: ['memory', 'pids', 'cpu'] };
    const cgroups = SlotCgroupsV2.create(base, 2, LIMITS, fake, { slotsMade: 0 });
    const write = fake.write.bind(fake);
    fake.write = (path, data) => {
      if (path.endsWith('memory.oom.group')) throw new Error('EINVAL: refused');
      write(path, data);
    };
    expect(() => cgroups.addSlot(0)).toThrow(/EINVAL/);
    expect(fake.readdir(cgroups.poolDir).filter((e) => e.startsWith('slot-'))).toEqual([]);
  });

  it('removes pools of a service that died (its pid gone), not those of live ones', () => {
    const base = { dir: fake.root, controllers: ['memory', 'pids', 'cpu'] };
    const dead = SlotCgroupsV2.create(base, 1, LIMITS, fake).poolDir.replace(
      `pyexec-${process.pid}-`,
      'pyexec-999999999-',
    );
    fake.mkdir(dead);
    fake.write(join(dead, 'cgroup.subtree_control'), '+memory');
    fake.mkdir(join(dead, 'slot-0'));
    SlotCgroupsV2.create(base, 1, LIMITS, fake);
    const pools = fake.readdir(fake.root).filter((e) => e.startsWith('pyexec-'));
    expect(pools).toHaveLength(2);
    expect(pools.every((name) => name.startsWith(`pyexec-${process.pid}-`))).toBe(true);
  });

  it('a run cgroup: OOM kills from memory.events, cgroup.kill, rmdir', () => {
    const run = RunCgroupV2.create(join(fake.root, 'run-1'), { memoryBytes: 1 << 20, pidsMax: 8, cpuWeight: 50 }, fake);
    expect(fake.value('run-1', 'cpu.weight')).toBe('50');
    expect(run.oomKills()).toBe(0);
    writeFileSync(run.eventsFile, 'oom 2\noom_kill 3\noom_group_kill 1\n');
    expect(run.oomKills()).toBe(3);
    expect(run.kill()).toBe(true);
    expect(fake.kills).toEqual(['run-1']);
    expect(run.remove()).toBe(true);
    expect(fake.exists(run.dir)).toBe(false);
  });

  it('a run cgroup is not left half made when a limit is refused', () => {
    const parent = fake.cgroup('p');
    fake.write(join(parent, 'cgroup.subtree_control'), '+pids'); // no memory for its children
    expect(() => RunCgroupV2.create(join(parent, 'run'), { memoryBytes: 1, pidsMax: 1, cpuWeight: 1 }, fake)).toThrow(
      /ENOENT/,
    );
    expect(fake.exists(join(parent, 'run'))).toBe(false);
  });

  it('uses the real file system by default', () => {
    expect(REAL_CGROUP_FS.exists('/proc/self/cgroup')).toBe(true);
  });
});
