#!/usr/bin/env node
// CPU fairness between sandbox slots without cgroups (issue 24, point 3): slot A spins 32 processes
// that loop setsid() (each new session was a scheduler autogroup of its own, weighted like a whole
// slot); meanwhile slot B runs a short job again and again. Prints B's job time (wall, as the
// caller sees it) idle and under A's load. Run as an ordinary user for the no-cgroup case:
//   npm run build && node bench/cpu-starvation.js [jobs]
'use strict';
const path = require('node:path');

const jobs = Number(process.argv[2] ?? 20);
const SHORT = 'sum(range(300000))';
const SPINNER = `
import os
for _ in range(31):
    if os.fork() == 0:
        break
while True:
    try:
        os.setsid()
    except OSError:
        pass`;

const { createSandboxPool } = require(path.join(__dirname, '..', 'dist', 'execution', 'runner', 'runner.factory'));

async function shortJobs(pool, label) {
  const times = [];
  for (let i = 0; i < jobs; i += 1) {
    const startedAt = process.hrtime.bigint();
    const outcome = await pool.run({ runId: `${label}-${i}`, code: SHORT, stdin: '', timeoutMs: 30_000 });
    if (outcome.status !== 'exited') throw new Error(`short job: ${outcome.status} ${outcome.error}`);
    times.push(Number(process.hrtime.bigint() - startedAt) / 1e6);
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(0);
  console.log(`${label}: B's job p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms (${jobs} jobs)`);
}

async function main() {
  const pool = createSandboxPool({
    sandbox: 'bwrap',
    sandboxServers: 2,
    sandboxUidBase: 200000,
    pythonBin: '/usr/bin/python3',
    memoryLimitMb: 256,
    maxOutputBytes: 1 << 20,
    scratchMb: 64,
  });
  await pool.start();
  try {
    await shortJobs(pool, 'idle');
    const spinner = pool.run({ runId: 'spinner', code: SPINNER, stdin: '', timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 1000)); // A's 32 processes are spinning
    await shortJobs(pool, 'A spinning 32 setsid loops');
    void spinner; // still spinning: ended when the pool closes
  } finally {
    await pool.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
