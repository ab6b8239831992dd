#!/usr/bin/env node
// Fairness between API keys: key A queues a backlog of async jobs, then key B makes one sync call.
// Per trial, two rounds on one service, in alternating order: A alone (its backlog's throughput), and
// A's backlog with B's call sent once the backlog is queued (B's wait = the call's wall time; A's
// throughput again, from its first job's creation to its last job's end).
// Prints B's wait (p50/p95 over the trials), how many of A's jobs started before B's, and A's
// throughput with B / alone (per trial and median). Timing is reported, never pass/fail.
//
// Usage: node bench/fairness.js [trials=5] [backlog=200]
// Env: FAIR_CODE (A's job, default a 50 ms sleep), REDIS_URL (default redis://127.0.0.1:6379/0),
// SANDBOX_SERVERS (default 2); BASE_URL + API_KEY_A + API_KEY_B to measure a running service instead.
'use strict';
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { join } = require('node:path');
const Redis = require('ioredis');
const buildService = require('../test/support/build-service');
const { freePort } = require('./support');

const root = join(__dirname, '..');
const trials = Number(process.argv[2] ?? 5);
const backlog = Number(process.argv[3] ?? 200);
const codeA = process.env.FAIR_CODE ?? 'import time\ntime.sleep(0.05)';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const prefix = `pyexec-bench-fair-${randomBytes(4).toString('hex')}`;
const keyA = process.env.API_KEY_A ?? 'bench-key-a-0123456789';
const keyB = process.env.API_KEY_B ?? 'bench-key-b-0123456789';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const median = (xs) =>
  pct(
    [...xs].sort((a, b) => a - b),
    50,
  );

async function startService(port) {
  const child = spawn(process.execPath, [buildService.serviceMain], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      ROLE: 'all',
      PORT: String(port),
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      API_KEYS: `${keyA},${keyB}`,
      SANDBOX_SERVERS: process.env.SANDBOX_SERVERS ?? '2',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited:\n${out}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).ok) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`service not ready:\n${out}`);
    await sleep(100);
  }
}

async function api(base, key, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() };
}

/** Queues `count` async jobs of key A, 16 requests in flight; their ids in submit order. */
async function queueBacklog(base, count) {
  const ids = new Array(count);
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const i = next++;
      const res = await api(base, keyA, 'POST', '/v1/code/execute/python', { code: codeA, async: true });
      if (res.status !== 202) throw new Error(`A's submit answered ${res.status}: ${JSON.stringify(res.body)}`);
      ids[i] = res.body.job_id;
    }
  };
  await Promise.all(Array.from({ length: 16 }, loop));
  return ids;
}

/** Polls until every job has ended (oldest unfinished first); their records. */
async function untilEnded(base, ids) {
  const records = new Map();
  const deadline = Date.now() + 600_000;
  for (const id of ids) {
    for (;;) {
      const { body } = await api(base, keyA, 'GET', `/v1/jobs/${id}`);
      const job = body.response;
      if (job && !['pending', 'running'].includes(job.status)) {
        records.set(id, job);
        break;
      }
      if (Date.now() > deadline) throw new Error(`job ${id} did not end`);
      await sleep(50);
    }
  }
  return [...records.values()];
}

/** Jobs per second from the first job's creation to the last one's end. */
function throughput(records) {
  const lost = records.filter((r) => r.status !== 'completed');
  if (lost.length) throw new Error(`${lost.length} of A's jobs did not complete: ${JSON.stringify(lost[0])}`);
  const first = Math.min(...records.map((r) => Date.parse(r.created_at)));
  const last = Math.max(...records.map((r) => Date.parse(r.ended_at)));
  return records.length / ((last - first) / 1000);
}

/** A's backlog alone: its throughput. */
async function alone(base) {
  return throughput(await untilEnded(base, await queueBacklog(base, backlog)));
}

/** A's backlog with B's call: B's wait, how many of A's jobs started before B's, A's throughput. */
async function withB(base) {
  const ids = await queueBacklog(base, backlog);
  const t0 = performance.now();
  const b = await api(base, keyB, 'POST', '/v1/code/execute/python', { code: '1 + 1' });
  const waitMs = performance.now() - t0;
  if (b.status !== 200) throw new Error(`B's call answered ${b.status}: ${JSON.stringify(b.body)}`);
  const recordsA = await untilEnded(base, ids);
  const { body } = await api(base, keyB, 'GET', `/v1/jobs/${b.body.job_id}`);
  const bStarted = Date.parse(body.response.started_at);
  const aheadOfB = recordsA.filter((r) => Date.parse(r.started_at) < bStarted).length;
  return { waitMs, aheadOfB, throughput: throughput(recordsA) };
}

/** Both rounds, in alternating order from trial to trial, so a drift in the machine's load favours neither. */
async function trial(base, index) {
  if (index % 2 === 0) {
    const aloneRate = await alone(base);
    const contended = await withB(base);
    return { ...contended, alone: aloneRate, ratio: contended.throughput / aloneRate };
  }
  const contended = await withB(base);
  const aloneRate = await alone(base);
  return { ...contended, alone: aloneRate, ratio: contended.throughput / aloneRate };
}

(async () => {
  let child = null;
  let base = process.env.BASE_URL;
  if (!base) {
    buildService();
    const port = await freePort();
    child = await startService(port);
    base = `http://127.0.0.1:${port}`;
  }
  const results = [];
  try {
    await untilEnded(base, await queueBacklog(base, 20)); // warm up
    for (let i = 0; i < trials; i++) {
      const r = await trial(base, i);
      results.push(r);
      console.log(
        `trial ${i + 1}: B waited ${r.waitMs.toFixed(0)} ms (${r.aheadOfB} of A's ${backlog} jobs started before B's); ` +
          `A alone ${r.alone.toFixed(1)} jobs/s, with B ${(r.alone * r.ratio).toFixed(1)} jobs/s (ratio ${r.ratio.toFixed(3)})`,
      );
    }
  } finally {
    if (child) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(30_000).then(() => child.kill('SIGKILL'))]);
      const redis = new Redis(redisUrl);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    }
  }
  const waits = results.map((r) => r.waitMs).sort((a, b) => a - b);
  // Pooled: all of A's jobs over all the time they took, with B against alone (load drifts average out).
  const seconds = (rate) => backlog / rate;
  const pooled =
    results.reduce((sum, r) => sum + seconds(r.alone), 0) / results.reduce((sum, r) => sum + seconds(r.throughput), 0);
  console.log(
    `fairness x${trials} (backlog ${backlog}): B's sync call p50 ${pct(waits, 50).toFixed(0)} ms, ` +
      `p95 ${pct(waits, 95).toFixed(0)} ms (target < 2000); A's throughput with B / alone: median ` +
      `${median(results.map((r) => r.ratio)).toFixed(3)}, pooled ${pooled.toFixed(3)}, ` +
      `min ${Math.min(...results.map((r) => r.ratio)).toFixed(3)} (target >= 0.9)`,
  );
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
