import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirLock } from './data-dir-lock';

const startTicks = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
};
const bootId = () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

describe('DataDirLock', () => {
  let dir: string;
  let sleeper: ChildProcess | undefined;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'pyexec-lock-spec-'))));
  afterEach(() => {
    sleeper?.kill('SIGKILL');
    sleeper = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
  const lockFile = () => join(dir, 'service.pid');

  it('records pid, start time and boot id, and removes the file on release', () => {
    const lock = DataDirLock.acquire(dir);
    expect(readFileSync(lockFile(), 'utf8')).toBe(`${process.pid} ${startTicks(process.pid)} ${bootId()}\n`);
    lock.release();
    expect(existsSync(lockFile())).toBe(false);
  });

  it('takes over a lock written with our own pid (a container restarted after SIGKILL gets the same pid)', () => {
    writeFileSync(lockFile(), `${process.pid} 1 ${bootId()}\n`);
    DataDirLock.acquire(dir).release();
    writeFileSync(lockFile(), `${process.pid}\n`); // an older release's pid-only file
    DataDirLock.acquire(dir).release();
  });

  it('refuses while the process that wrote the lock runs, and takes over once its pid means another process', () => {
    sleeper = spawn('/usr/bin/sleep', ['30'], { stdio: 'ignore' });
    const pid = sleeper.pid!;
    writeFileSync(lockFile(), `${pid} ${startTicks(pid)} ${bootId()}\n`);
    expect(() => DataDirLock.acquire(dir)).toThrow(`DATA_DIR ${dir} is in use by another running service (pid ${pid})`);
    // Same pid, but started at another time or in another boot: not the owner.
    writeFileSync(lockFile(), `${pid} ${Number(startTicks(pid)) - 1} ${bootId()}\n`);
    DataDirLock.acquire(dir).release();
    writeFileSync(lockFile(), `${pid} ${startTicks(pid)} 00000000-0000-0000-0000-000000000000\n`);
    DataDirLock.acquire(dir).release();
  });
});
