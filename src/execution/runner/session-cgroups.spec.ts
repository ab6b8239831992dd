import { Logger } from '@nestjs/common';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fakeForkServerOptions } from '../../../test/support/fake-fork-server-options';
import type { ForkServer } from './fork-server';
import { memoryBoundOf, createServerCgroups } from './server-cgroups';
import { sessionServerOptions, SessionSandbox, RunnerSettings } from './runner.factory';
import { SessionCgroup, SessionCgroups, SessionServer } from './session-cgroups';
import { cgroupBases, RunCgroup, SlotCgroupSet } from './slot-cgroups';
import { isCgroupV2, prepareCgroupV2Base } from './cgroup-v2';

const call = (runId: string, code: string, timeoutMs = 10_000) => ({ runId, code, stdin: '', timeoutMs });
const MiB = 1024 * 1024;
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'session-cgroups-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A pool that records what is asked of it; its run cgroups' events file is a plain file the test writes. */
class RecordingPool implements SlotCgroupSet {
  readonly version = 1;
  readonly boundsMemory = true;
  readonly made: number[] = [];
  readonly removed: number[] = [];
  removable = true;
  poolRemoved = false;

  constructor(readonly eventsFile: string) {
    writeFileSync(eventsFile, 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n');
  }
  serverProcsFiles(slot: number): string[] {
    return [join(tmp, `server-${slot}.procs`)];
  }
  runCgroup(slot: number): RunCgroup {
    return { tasksFile: join(tmp, `run-${slot}.tasks`), eventsFile: this.eventsFile };
  }
  addSlot(slot: number): void {
    this.made.push(slot);
    writeFileSync(this.runCgroup(slot).tasksFile, '');
  }
  removeSlot(slot: number): Promise<boolean> {
    this.removed.push(slot);
    return Promise.resolve(this.removable);
  }
  remove(): Promise<void> {
    this.poolRemoved = true;
    return Promise.resolve();
  }
}

describe('SessionCgroups: a slot per session server', () => {
  let pool: RecordingPool;
  beforeEach(() => {
    pool = new RecordingPool(join(tmp, 'memory.oom_control'));
  });

  it('makes a free slot as a server is about to start, at most `slots` at once; one more waits until a slot is removed', async () => {
    const cgroups = new SessionCgroups(pool, '/usr/bin/setpriv', 2, 10_000);
    const [a, b] = [await cgroups.take(), await cgroups.take()];
    expect([a.slot, b.slot, pool.made]).toEqual([0, 1, [0, 1]]);
    expect(a.forServer).toEqual({
      procsFiles: [join(tmp, 'server-0.procs')],
      setprivBin: '/usr/bin/setpriv',
      run: pool.runCgroup(0),
    });
    let third: SessionCgroup | undefined;
    const waiting = cgroups.take().then((cgroup) => (third = cgroup));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(third).toBeUndefined();
    await b.release();
    await waiting;
    expect([pool.removed, third?.slot, pool.made]).toEqual([[1], 1, [0, 1, 1]]);
    await Promise.all([a.release(), a.release(), third!.release()]); // twice: once
    expect(pool.removed).toEqual([1, 0, 1]);
    await cgroups.close();
    expect(pool.poolRemoved).toBe(true);
    await expect(cgroups.take()).rejects.toThrow(/shutting down/);
  });

  it('a server that finds no slot free in time fails its start; a slot whose cgroups cannot be removed stays taken', async () => {
    const cgroups = new SessionCgroups(pool, '/usr/bin/setpriv', 1, 100);
    const only = await cgroups.take();
    await expect(cgroups.take()).rejects.toThrow('all 1 session cgroups are taken');
    pool.removable = false; // processes remain (tried again later)
    await only.release();
    await expect(cgroups.take()).rejects.toThrow('all 1 session cgroups are taken');
    await cgroups.close();
  });

  it('a start still waiting for a slot at shutdown fails at once', async () => {
    const cgroups = new SessionCgroups(pool, '/usr/bin/setpriv', 1, 10_000);
    await cgroups.take();
    const waiting = cgroups.take();
    const startedAt = Date.now();
    await cgroups.close();
    await expect(waiting).rejects.toThrow(/shutting down/);
    expect(Date.now() - startedAt).toBeLessThan(1_000);
  });

  it("counts the OOM kills of the interpreter's memory cgroup since it last asked; none once released", async () => {
    const cgroups = new SessionCgroups(pool, '/usr/bin/setpriv', 1, 100);
    const cgroup = await cgroups.take();
    expect(cgroup.newOomKills()).toBe(0);
    writeFileSync(pool.eventsFile, 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    expect([cgroup.newOomKills(), cgroup.newOomKills()]).toEqual([2, 0]);
    await cgroup.release();
    writeFileSync(pool.eventsFile, 'oom_kill_disable 0\nunder_oom 0\noom_kill 5\n');
    expect(cgroup.newOomKills()).toBe(0);
    await cgroups.close();
  });
});

describe('SessionServer: a call during which its memory cgroup OOM-killed a process', () => {
  // The stand-in server of fork-server.spec.ts (it answers every call `exited`, result 1), with a
  // plain file as its cgroup's OOM counter: what Node makes of the count, whatever killed what.
  it('ends the session (memory) with the memory limit, as the watchdog does; other calls are untouched', async () => {
    const pool = new RecordingPool(join(tmp, 'events'));
    const cgroups = new SessionCgroups(pool, '/usr/bin/setpriv', 1, 100);
    const cgroup = await cgroups.take();
    const server = new SessionServer(
      { ...fakeForkServerOptions(tmp), session: true, cgroup: cgroup.forServer },
      cgroup,
    );
    await server.start();
    try {
      expect(await server.run(call('a', 'ok'))).toMatchObject({ status: 'exited', result: 1, exitCode: 0 });
      writeFileSync(pool.eventsFile, 'oom_kill 1\n');
      expect(await server.run(call('b', 'ok'))).toMatchObject({
        status: 'exited',
        exitCode: 137,
        result: null,
        error: 'Memory limit exceeded',
        limit: 'memory',
        sessionEnded: 'memory',
      });
      expect(await server.run(call('c', 'ok'))).toMatchObject({ status: 'exited', result: 1 });
    } finally {
      server.kill();
      await cgroups.close();
    }
  });
});

// ------------------------------------------------------------- real bwrap, python3 and cgroups (root)

const SETTINGS: RunnerSettings = {
  sandbox: 'bwrap',
  sandboxServers: 2,
  sandboxUidBase: 2_000_000_100,
  pythonBin: '/usr/bin/python3',
  memoryLimitMb: 128,
  maxOutputBytes: 4096,
  scratchMb: 16,
};
const CGROUP_MB = 128;
/** The server's watchdog, here only, well above the cgroup: whatever ends a session here is the cgroup's. */
const WATCHDOG_MB = 320;
const SLOTS = 3;
const logger = new Logger('session-cgroups.spec');
const withCgroups =
  process.getuid?.() === 0 &&
  (isCgroupV2() ? prepareCgroupV2Base().dir !== undefined : cgroupBases().memory !== undefined);
const shape = { slots: SLOTS, slotsMade: 0, busyProcesses: 1, what: 'sessions' as const };

/** The files of a session server's cgroups, v1 or v2. */
function cgroupsOf(server: ForkServer) {
  const { run, procsFiles } = (server as SessionServer).cgroup.forServer;
  const memory = dirname(run!.eventsFile);
  const v2 = memory.endsWith('/run');
  const tree = v2 ? dirname(dirname(procsFiles[0])) : dirname(procsFiles.find((file) => file.includes('/pids/'))!);
  const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8').trim();
  return {
    memory,
    tree,
    pool: dirname(memory.replace(/\/run$/, '')),
    limits: () => ({
      memory: read(memory, v2 ? 'memory.max' : 'memory.limit_in_bytes'),
      pids: read(tree, 'pids.max'),
    }),
    /** Processes (v1: tasks) in the memory cgroup. */
    inMemory: () =>
      read(memory, v2 ? 'cgroup.procs' : 'tasks')
        .split('\n')
        .filter(Boolean)
        .map(Number),
    inTree: () => readFileSync(procsFiles[0], 'utf8').split('\n').filter(Boolean).map(Number),
    exist: () => [memory, tree].filter((dir) => existsSync(dir)),
  };
}

const exited = (server: ForkServer) =>
  server.alive ? new Promise((resolve) => server.once('exit', resolve)) : Promise.resolve();

async function until(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

(withCgroups ? describe : describe.skip)('session servers in their own cgroups (real bwrap + python3, root)', () => {
  let sandbox: SessionSandbox;
  let cgroups: SessionCgroups;
  beforeEach(() => {
    const pool = createServerCgroups({ memoryLimitMb: CGROUP_MB }, logger, shape);
    cgroups = new SessionCgroups(pool.cgroups!, pool.setprivBin!, SLOTS, 10_000);
    const options = sessionServerOptions({ ...SETTINGS, memoryLimitMb: WATCHDOG_MB });
    sandbox = new SessionSandbox(options, memoryBoundOf(pool.cgroups, 'sessions')!, cgroups);
  });
  afterEach(() => sandbox.onApplicationShutdown());

  it("made before its server starts, limits written: the server's whole tree in its pids (and cpu) cgroup, the interpreter alone in its memory cgroup", async () => {
    const server = await sandbox.start();
    const dirs = cgroupsOf(server);
    expect(dirs.limits()).toEqual({ memory: String(CGROUP_MB * MiB), pids: '80' });
    const [interpreter] = dirs.inMemory();
    expect(dirs.inMemory()).toEqual([interpreter]);
    // pid 1 of the session's namespace (bwrap's own pid namespace is between it and the host)
    expect(/^NSpid:.*\s1$/m.test(readFileSync(`/proc/${interpreter}/status`, 'utf8'))).toBe(true);
    expect(dirs.inTree().length).toBeGreaterThanOrEqual(2); // bwrap, the server
    expect((await server.run(call('a', 'x = 6\nx * 7'))).result).toBe(42);
  });

  it("an OOM kill in its memory cgroup ends the session (memory) as the watchdog's kill does; its cgroups go once its server exited", async () => {
    const server = await sandbox.start();
    const dirs = cgroupsOf(server);
    const outcome = await server.run(call('big', 'b = bytearray(200 << 20)\nimport time\ntime.sleep(5)'));
    expect(outcome).toMatchObject({
      status: 'signaled',
      signal: 9,
      exitCode: 137,
      error: 'Memory limit exceeded',
      limit: 'memory',
      sessionEnded: 'memory',
    });
    server.kill(); // as SessionHost does for a session that ended
    await exited(server);
    await until('its cgroups to be removed', () => dirs.exist().length === 0);
  });

  it('a child killed by it ends the session too, even though pid 1 lives on', async () => {
    const server = await sandbox.start();
    const code = [
      'import os',
      'pid = os.fork()',
      'if pid == 0:',
      '    b = bytearray(200 << 20)',
      '    os._exit(0)',
      'os.waitpid(pid, 0)[1]',
    ].join('\n');
    expect(await server.run(call('child', code))).toMatchObject({
      error: 'Memory limit exceeded',
      limit: 'memory',
      sessionEnded: 'memory',
    });
  });

  it('at most SESSIONS_PER_WORKER + 1 exist: one more start waits for a slot, a killed server frees its own; shutdown removes all', async () => {
    const servers = await Promise.all(Array.from({ length: SLOTS }, () => sandbox.start()));
    const dirs = servers.map(cgroupsOf);
    expect(new Set(dirs.map((d) => d.memory)).size).toBe(SLOTS);
    let extra: ForkServer | undefined;
    const waiting = sandbox.start().then((server) => (extra = server));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(extra).toBeUndefined();
    servers[1].kill();
    await waiting;
    expect(cgroupsOf(extra!).memory).toBe(dirs[1].memory); // made afresh in the freed slot
    expect((await extra!.run(call('next', '1 + 1'))).result).toBe(2);
    await sandbox.onApplicationShutdown();
    expect(existsSync(dirs[0].pool)).toBe(false);
  });
});
