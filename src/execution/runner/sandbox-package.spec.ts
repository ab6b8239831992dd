import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SANDBOX_PACKAGE_DIR } from './sandbox-command';
import { readableByAnyUid, removeStagedPackage, sandboxPackageDir } from './sandbox-package';

describe('sandboxPackageDir', () => {
  let home: string;
  let hidden: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'pyexec-package-spec-'));
    hidden = join(home, 'pyexec_sandbox');
    cpSync(SANDBOX_PACKAGE_DIR, hidden, { recursive: true });
    chmodSync(home, 0o700); // like a checkout under /root
  });
  afterAll(() => {
    removeStagedPackage();
    rmSync(home, { recursive: true, force: true });
  });

  it('uses the package in place when the server runs as the service itself', () => {
    expect(sandboxPackageDir(false, hidden)).toBe(hidden);
  });

  it('copies a package other uids cannot reach into a read-only directory they can read', () => {
    expect(readableByAnyUid(hidden)).toBe(false);
    const copy = sandboxPackageDir(true, hidden);
    expect(copy).not.toBe(hidden);
    expect(readableByAnyUid(copy)).toBe(true);
    expect(readdirSync(copy).sort()).toEqual(readdirSync(hidden).sort());
    expect(statSync(copy).mode & 0o777).toBe(0o555);
    expect(sandboxPackageDir(true, hidden)).toBe(copy); // once per process
    expect(copy.startsWith(tmpdir())).toBe(true);
    if (process.getuid?.() === 0) {
      // As root: a sandbox uid really reads it (and could not read the original).
      const read = (dir: string) =>
        spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', join(dir, '__main__.py')]);
      expect(read(copy).status).toBe(0);
      expect(read(hidden).status).not.toBe(0);
    }
  });
});
