#!/usr/bin/env node
// `npm run chaos`: the service (ROLE=all), a second worker (ROLE=worker) and an external redis-server
// with its append-only file, all on loopback; a steady async + sync load; and, at random moments,
// SIGKILL of the service, of the worker, or of Redis (each restarted like a supervisor would: the
// processes after 1 s, Redis after 1-4 s on the same files). Then everything is left up until every
// accepted job has ended, and the script reports: jobs accepted / ended / lost / run twice, the longest
// wait and the 5xx counts. Not part of `npm test`: it takes CHAOS_SECONDS (60) plus the settling.
//
// "Accepted" = the caller holds a job_id (202, a sync answer, or a 503 that carries the job_id).
// "Lost" = accepted but 404, or not ended within CHAOS_SETTLE_SECONDS (90) after the chaos.
// "Run twice" = accepted jobs that Bull's stalled-job check put back in the queue, as the service logs
// them ("job <id>: its worker stopped mid-run; queued to run once more"): each ran its code again from
// the start (the first run may have been cut short). The sandbox cannot write anywhere that outlives a
// run, so the job itself cannot count its executions; this log line is the service's own record.
//
// Env: CHAOS_SECONDS (60), CHAOS_SETTLE_SECONDS (90), CHAOS_CONCURRENCY (4), CHAOS_SEED, CHAOS_NO_BUILD=1.
const { spawn, execFileSync } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { freePort } = require('./support');

const ROOT = path.join(__dirname, '..');
const SECONDS = Number(process.env.CHAOS_SECONDS ?? 60);
const SETTLE_SECONDS = Number(process.env.CHAOS_SETTLE_SECONDS ?? 90);
const CONCURRENCY = Number(process.env.CHAOS_CONCURRENCY ?? 4);
const API_KEY = 'chaos-key-0123456789';
const STALLED_CHECK_MS = 2000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const firstSeed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
/** A small seeded generator (mulberry32), so a run's kill schedule can be repeated. */
function generator(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
// Separate streams: how much load ran must not change which process is killed when.
const killRandom = generator(firstSeed);
const loadRandom = generator(firstSeed + 1);
const between = (lo, hi, random = loadRandom) => lo + random() * (hi - lo);

/** A process the script supervises: started again `restartDelayMs()` after it dies, until stopped. */
class Supervised {
  constructor(name, command, args, env, restartDelayMs) {
    Object.assign(this, { name, command, args, env, restartDelayMs, kills: 0, starts: 0, log: '', stopped: false });
  }
  start() {
    this.starts += 1;
    const child = spawn(this.command, this.args, { cwd: ROOT, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (chunk) => (this.log += chunk.toString());
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('exit', () => {
      if (!this.stopped) setTimeout(() => !this.stopped && this.start(), this.restartDelayMs());
    });
  }
  kill() {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.kills += 1;
      this.child.kill('SIGKILL');
    }
  }
  async stop() {
    this.stopped = true;
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  }
}

function call(port, method, urlPath, body, timeoutMs = 120_000) {
  const payload = body ? JSON.stringify(body) : undefined;
  return new Promise((resolve) => {
    const started = Date.now();
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method,
        timeout: timeoutMs,
        headers: {
          'x-api-key': API_KEY,
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          let json = null;
          try {
            json = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode, body: json, ms: Date.now() - started });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer')));
    req.on('error', (err) =>
      resolve({ status: err.message === 'no answer' ? 'hung' : 'refused', body: null, ms: Date.now() - started }),
    );
    req.end(payload);
  });
}

async function main() {
  if (!process.env.CHAOS_NO_BUILD) execFileSync('npx', ['nest', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pyexec-chaos-'));
  const [redisPort, port, healthPort] = [await freePort(), await freePort(), await freePort()];
  const redisArgs = [
    '--port',
    String(redisPort),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
  ];
  const redis = new Supervised('redis', 'redis-server', redisArgs, process.env, () => between(1000, 4000, killRandom));
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    API_KEYS: API_KEY,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    REDIS_PREFIX: 'pyexec-chaos',
    SANDBOX_SERVERS: '1',
    STALLED_CHECK_MS: String(STALLED_CHECK_MS),
    LOG_LEVEL: 'warn',
    BUILD_NUMBER: 'chaos',
  };
  const main = path.join(ROOT, 'dist', 'main.js');
  const service = new Supervised('service', process.execPath, [main], { ...env, PORT: String(port) }, () => 1000);
  const worker = new Supervised(
    'worker',
    process.execPath,
    [main],
    { ...env, ROLE: 'worker', HEALTH_PORT: String(healthPort) },
    () => 1000,
  );
  const targets = [service, worker, redis];
  redis.start();
  await sleep(300);
  service.start();
  worker.start();
  const ready = async (timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await call(port, 'GET', '/health/ready', undefined, 2000)).status === 200) return true;
      await sleep(200);
    }
    return false;
  };
  if (!(await ready(60_000))) throw new Error(`service not ready:\n${service.log.slice(-2000)}`);
  console.log(
    `seed ${firstSeed}; ${SECONDS} s of chaos at c=${CONCURRENCY} (half sync, half async); redis :${redisPort}, service :${port}`,
  );

  const accepted = new Map(); // job_id -> marker
  const statuses = new Map();
  let longestMs = 0;
  let requests = 0;
  let seq = 0;
  let chaosOver = false;
  const count = (status) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
  const ENDED = ['completed', 'failed', 'cancelled'];
  // Each loop keeps one job in flight: a sync call, or an async submit followed by polling until it ends
  // (so the load stays within what two sandboxes can run, and the queue does not grow without bound).
  const loop = async (sync) => {
    while (!chaosOver) {
      const marker = `chaos-${(seq += 1)}`;
      const sleepSec = between(0, sync ? 1 : 2).toFixed(2);
      const res = await call(port, 'POST', '/v1/code/execute/python', {
        code: `import time\ntime.sleep(${sleepSec})\n${JSON.stringify(marker)}`,
        timeout: 5,
        ...(sync ? {} : { async: true }),
      });
      requests += 1;
      count(res.status);
      if (typeof res.status === 'number') longestMs = Math.max(longestMs, res.ms);
      if (res.body?.job_id) accepted.set(res.body.job_id, marker);
      if (res.status === 'refused') await sleep(200); // the service is restarting
      if (res.status === 503) await sleep(1000); // Retry-After: 1
      if (sync || res.status !== 202) continue;
      while (!chaosOver) {
        await sleep(250);
        const poll = await call(port, 'GET', `/v1/jobs/${res.body.job_id}`, undefined, 10_000);
        if (poll.status === 200 && ENDED.includes(poll.body.response.status)) break;
      }
    }
  };
  const loops = Array.from({ length: CONCURRENCY }, (_, i) => loop(i % 2 === 0));
  const events = [];
  const chaosStart = Date.now();
  while (Date.now() - chaosStart < SECONDS * 1000) {
    await sleep(between(5000, 12_000, killRandom));
    if (Date.now() - chaosStart >= SECONDS * 1000) break;
    const target = targets[Math.floor(killRandom() * targets.length)];
    events.push(`${((Date.now() - chaosStart) / 1000).toFixed(1)}s kill ${target.name}`);
    target.kill();
  }
  chaosOver = true;
  await Promise.all(loops);

  // Settle: everything back up, then every accepted job must end.
  const settleStart = Date.now();
  await ready(60_000);
  const ended = new Map();
  const lost404 = new Set();
  while (Date.now() - settleStart < SETTLE_SECONDS * 1000 && ended.size + lost404.size < accepted.size) {
    for (const jobId of accepted.keys()) {
      if (ended.has(jobId) || lost404.has(jobId)) continue;
      const res = await call(port, 'GET', `/v1/jobs/${jobId}`, undefined, 5000);
      if (res.status === 404) lost404.add(jobId);
      const job = res.body?.response;
      if (res.status === 200 && ['completed', 'failed', 'cancelled'].includes(job.status)) ended.set(jobId, job);
    }
    if (ended.size + lost404.size < accepted.size) await sleep(500);
  }
  const ownResult = [...ended].filter(
    ([id, job]) => job.status === 'completed' && job.result?.response?.result === accepted.get(id),
  ).length;
  const notCompleted = [...ended.values()].filter((job) => job.status !== 'completed');
  const rerunIds = new Set();
  for (const supervised of [service, worker]) {
    for (const match of supervised.log.matchAll(/job ([0-9a-f-]{36}): its worker stopped mid-run/g))
      rerunIds.add(match[1]);
  }
  const runTwice = [...rerunIds].filter((id) => accepted.has(id)).length;
  const fiveXx =
    [...statuses]
      .filter(([s]) => typeof s === 'number' && s >= 500)
      .map(([s, n]) => `${s}: ${n}`)
      .join(', ') || 'none';
  const byStatus = [...statuses].map(([s, n]) => `${s}: ${n}`).join(', ');
  const settledMs = Date.now() - settleStart;
  for (const target of targets) await target.stop();
  rmSync(dir, { recursive: true, force: true });

  console.log(`events: ${events.join('; ') || 'none'}`);
  console.log(`kills: service ${service.kills}, worker ${worker.kills}, redis ${redis.kills}`);
  console.log(
    `requests ${requests} (${byStatus}); 5xx: ${fiveXx}; longest answered wait ${(longestMs / 1000).toFixed(2)} s`,
  );
  console.log(
    `settled (every accepted job ended, or CHAOS_SETTLE_SECONDS passed) in ${(settledMs / 1000).toFixed(1)} s`,
  );
  console.log(
    `jobs accepted ${accepted.size}, ended ${ended.size} (completed with their own result ${ownResult}, ` +
      `other endings ${notCompleted.length}${notCompleted.length ? `: ${notCompleted.map((j) => j.result?.error ?? j.status).join('; ')}` : ''}), ` +
      `lost ${accepted.size - ended.size} (404 ${lost404.size}), run twice ${runTwice}`,
  );
  if (accepted.size - ended.size > 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
