#!/usr/bin/env node
// A/B of two checkouts' sandboxes in one process, runs interleaved, so both sides see the same
// host load (on a shared machine the load moves more between minutes than the change under test):
//   node bench/sandbox-ab.js <checkout A> <checkout B> [runs]   (each checkout built first: npm run build)
// Each side: one fork server (createSandboxPool from its src/), `print('hi')` runs one at a time.
// Prints p50/p90 of a run's round trip and the sandbox CPU per run (the fork server tree's
// utime+stime including reaped monitors and runs). Root gives each side its cgroups, as in service.
'use strict';
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { processTree } = require('./support');

const [dirA, dirB] = process.argv.slice(2, 4).map((dir) => path.resolve(dir));
const runs = Number(process.argv[4] ?? 1000);
if (!dirA || !dirB) {
  console.error(
    'usage: node bench/sandbox-ab.js <checkout A> <checkout B> [runs] (run npm run build in each checkout first)',
  );
  process.exit(2);
}

function makePool(dir, uidBase) {
  const { createSandboxPool } = require(path.join(dir, 'dist/execution/runner/runner.factory'));
  // Both setting names: a checkout before SANDBOX_UID_BASE reads sandboxUid.
  return createSandboxPool({
    sandbox: 'bwrap',
    sandboxServers: 1,
    sandboxUid: 65534,
    sandboxUidBase: uidBase,
    pythonBin: '/usr/bin/python3',
    memoryLimitMb: 256,
    maxOutputBytes: 1 << 20,
    scratchMb: 64,
    recycleAfterRuns: 1e9,
  });
}

const stat = (pid) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');

/** CPU ms of the long-lived processes of a server (bwrap, the server), reaped children included. */
function serverCpuMs(serverPid) {
  let ms = 0;
  for (const pid of processTree(serverPid)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!/bwrap|python3 -I -S -B (-c|\/)/.test(cmd.slice(0, 200)) || stat(pid)[0] === 'Z') continue;
      ms += [11, 12, 13, 14].reduce((sum, i) => sum + Number(stat(pid)[i]), 0) * 10; // ticks of 10 ms
    } catch {
      // exited meanwhile
    }
  }
  return ms;
}

async function main() {
  const sides = [
    { name: 'A', dir: dirA, pool: makePool(dirA, 2_000_000_500), times: [] },
    { name: 'B', dir: dirB, pool: makePool(dirB, 2_000_000_600), times: [] },
  ];
  await Promise.all(sides.map((side) => side.pool.start()));
  const run = (side, id) =>
    side.pool.run({ runId: `${side.name}${id}`, code: "print('hi')", stdin: '', timeoutMs: 5000 });
  for (const side of sides) {
    side.serverPid = (await run(side, 'warm')).serverPid;
    for (let i = 0; i < 100; i++) await run(side, `warm${i}`);
    side.cpu0 = serverCpuMs(side.serverPid);
  }
  for (let i = 0; i < runs; i++) {
    for (const side of i % 2 ? sides : [...sides].reverse()) {
      const started = process.hrtime.bigint();
      const outcome = await run(side, i);
      if (outcome.stdout !== 'hi\n') throw new Error(`${side.name}: ${JSON.stringify(outcome)}`);
      side.times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  }
  for (const side of sides) {
    const sorted = side.times.sort((a, b) => a - b);
    const cpuPerRun = (serverCpuMs(side.serverPid) - side.cpu0) / runs;
    console.log(
      `${side.name} ${side.dir}: p50 ${sorted[runs >> 1].toFixed(2)} ms, p90 ${sorted[Math.floor(runs * 0.9)].toFixed(2)} ms, sandbox CPU ${cpuPerRun.toFixed(2)} ms/run`,
    );
  }
  console.log(`loadavg ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  await Promise.all(sides.map((side) => side.pool.close()));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
