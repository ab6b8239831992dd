'use strict';
// Helpers the bench scripts share.
const { spawn } = require('node:child_process');
const { mkdtempSync, readdirSync, readFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');

/** A TCP port free on loopback right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** `rootPid` and every descendant (for the service: embedded redis, bwrap, fork servers, runs). */
function processTree(rootPid) {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // gone
    }
  }
  const tree = [rootPid];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

/**
 * A checkout's built service (`dir`/dist/main.js) on `port` with the bench key `bench-key`, two sandbox
 * servers, its own embedded Redis in a fresh DATA_DIR and sandbox uids from `uidBase`; `env` adds to that.
 */
function startBenchService({ dir, port, uidBase, env = {} }) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pyexec-bench-'));
  const child = spawn(process.execPath, [path.join(dir, 'dist/main.js')], {
    env: {
      ...process.env,
      PORT: String(port),
      API_KEYS: 'bench-key',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      SANDBOX_SERVERS: '2',
      SANDBOX_UID_BASE: String(uidBase),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { child, dataDir };
}

module.exports = { freePort, processTree, startBenchService };
