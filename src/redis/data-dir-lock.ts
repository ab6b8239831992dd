import { chmodSync, mkdirSync, openSync, readFileSync, closeSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const lockFileName = 'service.pid';

/**
 * One service per DATA_DIR: `<dir>/service.pid` holds the owner's pid. A file left by a process
 * that no longer runs (SIGKILL, crash, reboot) is taken over; a live owner makes start() throw.
 */
export class DataDirLock {
  private constructor(private readonly file: string) {}

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
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        const fd = openSync(file, 'wx', 0o600);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return new DataDirLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          const code = (error as NodeJS.ErrnoException).code ?? 'error';
          throw new Error(`DATA_DIR ${dir} is not writable (${code})`, { cause: error });
        }
      }
      const owner = readOwner(file);
      if (owner !== undefined && isServiceProcess(owner)) {
        throw new Error(
          `DATA_DIR ${dir} is in use by another running service (pid ${owner}): stop it, or give this one its own DATA_DIR`,
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
      if (readOwner(this.file) === process.pid) unlinkSync(this.file);
    } catch {
      // already gone
    }
  }
}

function readOwner(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A live process that is a Node service (a recycled pid of some other program does not count). */
function isServiceProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return /node/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true; // no /proc to ask: trust the live pid
  }
}
