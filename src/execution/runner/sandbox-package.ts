import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SANDBOX_PACKAGE_DIR } from './sandbox-command';

let staged: string | undefined;

/** True when any uid can read `dir`: every ancestor searchable by others, `dir` listable, its files readable. */
export function readableByAnyUid(dir: string): boolean {
  try {
    for (let at = dirname(dir); ; at = dirname(at)) {
      if ((statSync(at).mode & 0o001) === 0) return false;
      if (at === dirname(at)) break;
    }
    if ((statSync(dir).mode & 0o005) !== 0o005) return false;
    return readdirSync(dir).every((name) => (statSync(join(dir, name)).mode & 0o004) !== 0);
  } catch {
    return false;
  }
}

/**
 * The sandbox package's directory as a fork server running under another uid (the service is root,
 * the server runs as SANDBOX_UID_BASE + slot) can read it: in place when it can (the usual case),
 * else a root-owned read-only copy in the temp directory, made once per process and removed at exit
 * (a checkout under /root, mode 0700, would otherwise make every server fail to start).
 */
export function sandboxPackageDir(forOtherUids: boolean, source = SANDBOX_PACKAGE_DIR): string {
  if (!forOtherUids || readableByAnyUid(source)) return source;
  if (staged) return staged;
  const parent = mkdtempSync(join(tmpdir(), 'pyexec-sandbox-'));
  const copy = join(parent, basename(source));
  cpSync(source, copy, { recursive: true, filter: (path) => !/(__pycache__|\.pyc)$/.test(path) });
  for (const name of readdirSync(copy)) chmodSync(join(copy, name), 0o444);
  chmodSync(copy, 0o555);
  chmodSync(parent, 0o755);
  process.once('exit', removeStagedPackage);
  staged = copy;
  return copy;
}

/** Removes the copy sandboxPackageDir() made, if any (at exit; tests call it themselves). */
export function removeStagedPackage(): void {
  if (staged) rmSync(dirname(staged), { recursive: true, force: true });
  staged = undefined;
}
