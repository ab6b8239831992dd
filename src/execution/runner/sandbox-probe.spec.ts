import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOnPath } from '../../common/find-on-path';
import { explainSandboxFailure, probeSandbox } from './sandbox-probe';

const python = '/usr/bin/python3';

describe('sandbox probe', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-probe-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A bwrap stand-in that says what a container's refusal says, else runs the real one. */
  function fakeBwrap(name: string, script: string): string {
    const file = join(dir, name);
    writeFileSync(file, `#!/bin/sh\n${script}\n`);
    chmodSync(file, 0o755);
    return file;
  }

  it('runs a real sandbox here, hostname included', () => {
    const bwrap = findOnPath('bwrap');
    expect(bwrap).toBeTruthy();
    expect(probeSandbox(bwrap!, python)).toEqual({ hostname: true });
  });

  it("leaves a program's own failure to the fork server's start (only bwrap's complaints count)", () => {
    expect(probeSandbox(findOnPath('bwrap')!, '/usr/bin/false')).toEqual({ hostname: true });
  });

  it('drops --hostname when only sethostname is refused', () => {
    const bwrap = fakeBwrap(
      'no-sethostname',
      `for a in "$@"; do [ "$a" = --hostname ] && { echo "bwrap: Can't set hostname to sandbox: Operation not permitted" >&2; exit 1; }; done
exec ${findOnPath('bwrap')} "$@"`,
    );
    expect(probeSandbox(bwrap, python)).toEqual({ hostname: false });
  });

  it('stops the boot naming the permission and the option when the sandbox cannot start at all', () => {
    const bwrap = fakeBwrap(
      'masked-proc',
      `echo "bwrap: Can't mount proc on /newroot/proc: Operation not permitted" >&2; exit 1`,
    );
    expect(() => probeSandbox(bwrap, python)).toThrow(/systempaths=unconfined.*procMount: Unmasked/);
  });

  it.each([
    ['bwrap: Creating new namespace failed: Operation not permitted', /pyexec-bwrap\.json.*Localhost/],
    [
      'bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces.',
      /user namespaces are not allowed/,
    ],
    ['bwrap: setting up uid map: Permission denied', /user namespaces are not allowed/],
    ['bwrap: Creating new namespace failed: No space left on device', /max_user_namespaces/],
    ["bwrap: Can't mount proc on /newroot/proc: Operation not permitted", /unmask=\/proc\/\*/],
    ['bwrap: Unexpected capabilities but not setuid, old file caps config?', /cap_drop: \[ALL\].*SYS_ADMIN/],
    [
      'bwrap: Failed to make / slave: Operation not permitted',
      /unshare, mount, umount2 or pivot_root.*pyexec-bwrap\.json/,
    ],
    ['bwrap: pivot_root: Operation not permitted', /pyexec-bwrap\.json/],
    ['bwrap: something new', /README "Deployment"/],
  ])('explains %j', (complaint, explanation) => {
    const message = explainSandboxFailure(complaint);
    expect(message).toContain(complaint);
    expect(message).toMatch(explanation);
  });
});
