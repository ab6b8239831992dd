import { chmodSync, mkdirSync, openSync, readFileSync, closeSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const lockFileName = 'service.pid';

/** Who holds the lock: a pid alone is not enough (in a container every start has the same pid). */
interface Owner {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: the process's start, in clock ticks since boot. */
  startTicks?: string;
  /** /proc/sys/kernel/random/boot_id: start ticks only compare within one boot. */
  bootId?: string;
}

/**
 * One service per DATA_DIR: `<dir>/service.pid` holds the owner's pid, start time and boot id.
 * A file left by a process that no longer runs (SIGKILL, crash, reboot, a container restarted with
 * the same pid) is taken over; a live owner makes start() throw.
 */
export class DataDirLock {
  private constructor(
    private readonly file: string,
    private readonly self: Owner,
  ) {}

  /** Creates `dir` (mode 0700) if needed and takes it; throws a one-line reason when another live process owns it. */
  static acquire(dir: string): DataDirLock {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // Job records and results live here: nobody else may read them, even in a folder made earlier.
      chmodSync(dir, 0o700);
    } catch (error) {
      throw new Error(
        `DATA_DIR ${dir} cannot be created or made private (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        { cause: error },
      );
    }
    const file = join(dir, lockFileName);
    const self = ownerOf(process.pid);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        const fd = openSync(file, 'wx', 0o600);
        writeSync(fd, `${formatOwner(self)}\n`);
        closeSync(fd);
        return new DataDirLock(file, self);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          const code = (error as NodeJS.ErrnoException).code ?? 'error';
          throw new Error(`DATA_DIR ${dir} is not writable (${code})`, { cause: error });
        }
      }
      const owner = readOwner(file);
      if (owner !== undefined && isLiveService(owner)) {
        throw new Error(
          `DATA_DIR ${dir} is in use by another running service (pid ${owner.pid}): stop it, or give this one its own DATA_DIR`,
        );
      }
      // Left by a process that is gone: take it over (the second attempt fails only if another starter won the race).
      try {
        unlinkSync(file);
      } catch {
        // removed by a concurrent starter
      }
    }
    throw new Error(`DATA_DIR ${dir} is being taken by another service starting at the same time`);
  }

  release(): void {
    try {
      if (readOwner(this.file)?.pid === this.self.pid) unlinkSync(this.file);
    } catch {
      // already gone
    }
  }
}

/** `pid startTicks bootId`, one line. */
function formatOwner(owner: Owner): string {
  return [owner.pid, owner.startTicks, owner.bootId].filter((part) => part !== undefined).join(' ');
}

/** Reads the lock file; a file of an older release holds the pid alone. */
function readOwner(file: string): Owner | undefined {
  try {
    const [pidText, startTicks, bootId] = readFileSync(file, 'utf8').trim().split(/\s+/);
    const pid = Number(pidText);
    return Number.isSafeInteger(pid) && pid > 0 ? { pid, startTicks, bootId } : undefined;
  } catch {
    return undefined;
  }
}

/** What /proc says about `pid` now; fields are missing where there is no /proc to ask. */
function ownerOf(pid: number): Owner {
  return { pid, startTicks: startTicksOf(pid), bootId: readTrimmed('/proc/sys/kernel/random/boot_id') };
}

function startTicksOf(pid: number): string | undefined {
  const stat = readTrimmed(`/proc/${pid}/stat`);
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The process that wrote the lock still runs: same pid, same start time, same boot. A container
 * restarted after SIGKILL gets the same pid, but not the same start time.
 */
function isLiveService(owner: Owner): boolean {
  const now = ownerOf(owner.pid);
  if (owner.startTicks !== undefined && now.startTicks !== undefined) {
    return owner.startTicks === now.startTicks && owner.bootId === now.bootId;
  }
  // A pid-only file (an older release, or no /proc): ours cannot have written it.
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A live Node process counts, a recycled pid of another program does not; no /proc to ask: trust the live pid.
  const cmdline = readTrimmed(`/proc/${owner.pid}/cmdline`);
  return cmdline === undefined || /node/.test(cmdline);
}
