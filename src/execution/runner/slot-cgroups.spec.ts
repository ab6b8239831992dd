import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isCgroupV2 } from './cgroup-v2';
import { cgroupBases, oomKillsIn, SlotCgroups } from './slot-cgroups';

const bases = cgroupBases(); // {} unless root
const v1 = !isCgroupV2() && bases.memory !== undefined && bases.pids !== undefined;
const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8').trim();

describe('oomKillsIn', () => {
  it('reads the "oom_kill N" line of v1 memory.oom_control and v2 memory.events', () => {
    expect(oomKillsIn('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n')).toBe(3);
    expect(oomKillsIn('low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 1\n')).toBe(2);
    expect(oomKillsIn('oom_kill_disable 0\nunder_oom 0\n')).toBe(0); // before Linux 4.13
  });
});

(v1 ? describe : describe.skip)('SlotCgroups (cgroup v1, as root)', () => {
  it("makes a session pool's slots one at a time, with their limits, and removes each once its processes are gone", async () => {
    const limits = { pidsMax: 80, runPidsMax: 64, memoryBytes: 128 << 20, busyProcesses: 1 };
    const cgroups = SlotCgroups.create(bases, 3, limits, { slotsMade: 0 });
    const pidsSlot = () => dirname(cgroups.serverProcsFiles(2).find((file) => file.includes('/pids/'))!);
    const memorySlot = () => dirname(cgroups.runCgroup(2)!.tasksFile);
    const pools = [dirname(pidsSlot()), dirname(memorySlot())];
    try {
      expect(read(pools[0], 'pids.max')).toBe('240');
      expect(existsSync(pidsSlot()) || existsSync(memorySlot())).toBe(false);
      cgroups.addSlot(2);
      expect(read(pidsSlot(), 'pids.max')).toBe('80');
      expect(read(memorySlot(), 'memory.limit_in_bytes')).toBe(String(128 << 20));
      expect(read(memorySlot(), 'memory.swappiness')).toBe('0');
      if (bases.cpu) {
        const cpuSlot = dirname(cgroups.serverProcsFiles(2).find((file) => file.includes('/cpu'))!);
        // The pool weighs as the slots it has made: one busy session never outweighs the service.
        expect([read(dirname(cpuSlot), 'cpu.shares'), read(cpuSlot, 'cpu.shares')]).toEqual(['1024', '1024']);
        cgroups.addSlot(0);
        expect(read(dirname(cpuSlot), 'cpu.shares')).toBe('2048');
        await expect(cgroups.removeSlot(0)).resolves.toBe(true);
        expect(read(dirname(cpuSlot), 'cpu.shares')).toBe('1024');
      }
      // A process in it: rmdir waits for it to be gone.
      const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
      const gone = new Promise((resolve) => sleeper.once('exit', resolve));
      writeFileSync(cgroups.serverProcsFiles(2)[0], String(sleeper.pid));
      writeFileSync(cgroups.runCgroup(2)!.tasksFile, String(sleeper.pid));
      const removed = cgroups.removeSlot(2);
      setTimeout(() => sleeper.kill('SIGKILL'), 200);
      await gone;
      await expect(removed).resolves.toBe(true);
      expect(existsSync(pidsSlot()) || existsSync(memorySlot())).toBe(false);
    } finally {
      await cgroups.remove();
    }
    expect(pools.filter((dir) => existsSync(dir))).toEqual([]);
  });
});
