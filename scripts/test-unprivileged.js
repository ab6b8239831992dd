#!/usr/bin/env node
// Second pass of `npm test` when it runs as root (as CI does): the hostile-code suite again, with
// the service under test (the Jest process that boots it) running as an unprivileged user, so the
// sandbox's limits are shown to hold in both modes. Not root: the first pass already was
// unprivileged, and this does nothing.
//
// The user is `pyexec-test` (created with useradd as a system user when missing), or
// nobody (65534) when it cannot be created. HOME and Jest's cache go to a private temporary
// folder; when that user cannot read the checkout (say, under /root), a copy is tested.
const { execFileSync, spawnSync } = require('node:child_process');
const { chmodSync, chownSync, cpSync, mkdtempSync, readdirSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const USER = 'pyexec-test';
const { HOSTILE_SUITES } = require('./hostile-suites');
const NOT_COPIED = new Set(['.git', 'dist', 'coverage']);

function say(message) {
  console.log(`test-unprivileged: ${message}`);
}

function run(file, args) {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** uid and gid of the test user, creating it if needed. */
function testUser() {
  try {
    return { name: USER, uid: Number(run('id', ['-u', USER])), gid: Number(run('id', ['-g', USER])) };
  } catch {
    // not there yet
  }
  try {
    run('useradd', [
      '--system',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      USER,
    ]);
    say(`created system user ${USER}`);
    return { name: USER, uid: Number(run('id', ['-u', USER])), gid: Number(run('id', ['-g', USER])) };
  } catch (err) {
    say(`cannot create ${USER} (${err.message.split('\n')[0]}); using nobody (65534)`);
    return { name: 'nobody', uid: 65534, gid: 65534 };
  }
}

function asUser(user, args, options = {}) {
  return spawnSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', ...args], options);
}

function canRead(user, dir) {
  const files = ['package.json', 'node_modules/jest/bin/jest.js', ...HOSTILE_SUITES];
  const probe = `const fs = require('fs'); for (const f of ${JSON.stringify(files)}) fs.accessSync(f, fs.constants.R_OK);`;
  return asUser(user, [process.execPath, '-e', probe], { cwd: dir, stdio: 'ignore' }).status === 0;
}

function main() {
  if (process.getuid() !== 0) {
    say(`running as uid ${process.getuid()}: the first pass was already unprivileged; nothing more to run`);
    return 0;
  }
  const user = testUser();
  const work = mkdtempSync(join(tmpdir(), 'pyexec-unprivileged-'));
  try {
    chownSync(work, user.uid, user.gid);
    let cwd = ROOT;
    if (!canRead(user, ROOT)) {
      cwd = join(work, 'checkout');
      say(`${user.name} cannot read ${ROOT}; testing a copy in ${cwd}`);
      for (const entry of readdirSync(ROOT)) {
        if (!NOT_COPIED.has(entry))
          cpSync(join(ROOT, entry), join(cwd, entry), { recursive: true, verbatimSymlinks: true });
      }
      chmodSync(cwd, 0o755); // it took the checkout's own mode
    }
    say(`hostile-code suite as ${user.name} (uid ${user.uid}, gid ${user.gid}, no capabilities)`);
    const jest = join(cwd, 'node_modules', 'jest', 'bin', 'jest.js');
    const result = asUser(
      user,
      [
        process.execPath,
        jest,
        '--runInBand',
        '--ci',
        `--cacheDirectory=${join(work, 'jest-cache')}`,
        ...process.argv.slice(2), // more Jest options (scripts/test-hostile-cgroup2.sh: --testTimeout)
        ...HOSTILE_SUITES,
      ],
      {
        cwd,
        stdio: 'inherit',
        env: { ...process.env, HOME: work },
      },
    );
    if (result.error) throw result.error;
    return result.status ?? 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = main();
