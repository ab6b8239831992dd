// Cross-process cancel: one ROLE=api and one ROLE=worker process (built into dist-test/) on one Redis.
// For each of N running jobs: DELETE on the API process, then
//   answer  = when the DELETE answered (the worker killed the sandbox and wrote the final state),
//   gone    = when the sandboxed process had disappeared from the host's /proc.
// Usage: node bench/cross-process-cancel.js [runs]   (REDIS_URL defaults to redis://127.0.0.1:6379/0)
const { spawn } = require('node:child_process');
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { createServer } = require('node:net');
const { randomBytes } = require('node:crypto');
const Redis = require('ioredis');
const buildService = require('../test/support/build-service');

const root = join(__dirname, '..');
const runs = Number(process.argv[2] ?? 20);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const prefix = `pyexec-bench-${randomBytes(4).toString('hex')}`;
const key = 'bench-key';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startService(role, port) {
  const child = spawn(process.execPath, [buildService.serviceMain], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      ROLE: role,
      PORT: String(port),
      HEALTH_PORT: String(port), // a worker's health endpoints (0: any free port)
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      API_KEYS: key,
      SANDBOX_SERVERS: '1',
      LOG_LEVEL: 'log',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  while (!/listening on http|worker started/.test(out)) {
    if (child.exitCode !== null) throw new Error(`${role} exited:\n${out}`);
    await sleep(50);
  }
  return child;
}

function hostHas(marker) {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) return true;
    } catch {
      // gone already
    }
  }
  return false;
}

async function api(base, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return res.json();
}

(async () => {
  buildService();
  const port = await freePort();
  const children = [await startService('api', port), await startService('worker', 0)];
  const base = `http://127.0.0.1:${port}`;
  const answers = [];
  const gone = [];
  try {
    for (let i = 0; i < runs; i++) {
      const marker = `77.${String(i).padStart(4, '0')}${process.pid}`;
      const code = `import subprocess\nsubprocess.run(['/usr/bin/sleep', '${marker}'])`;
      const { job_id: jobId } = await api(base, 'POST', '/v1/code/execute/python', { code, async: true });
      while (!hostHas(`sleep\0${marker}`)) await sleep(5);
      const t0 = performance.now();
      const res = await api(base, 'DELETE', `/v1/jobs/${jobId}`);
      answers.push(performance.now() - t0);
      if (res.response?.status !== 'cancelled') throw new Error(`not cancelled: ${JSON.stringify(res)}`);
      while (hostHas(`sleep\0${marker}`)) await sleep(1);
      gone.push(performance.now() - t0);
    }
  } finally {
    for (const c of children) c.kill('SIGKILL');
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
  answers.sort((a, b) => a - b);
  gone.sort((a, b) => a - b);
  const fmt = (xs) =>
    `p50 ${pct(xs, 50).toFixed(1)} ms, p90 ${pct(xs, 90).toFixed(1)} ms, max ${xs[xs.length - 1].toFixed(1)} ms`;
  console.log(
    `cross-process cancel x${runs}: DELETE answered ${fmt(answers)}; sandbox gone from the host ${fmt(gone)}`,
  );
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
