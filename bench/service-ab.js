#!/usr/bin/env node
// A/B of two checkouts' whole services (Node and Redis side), loaded at the same time so both see
// the same host load (on a shared machine the load moves more between minutes than the change):
//   node bench/service-ab.js <checkout A> <checkout B> [rounds=8] [seconds=5] [concurrency=4]
// (each checkout built first: npm run build). Each side: `node dist/main.js` with its own embedded
// Redis in a temporary DATA_DIR, LOG_LEVEL=warn (as npm run bench). After WARM_SECONDS (30) of load,
// which takes the JIT past its warm-up, each round drives sync `print('hi')` at both for `seconds`;
// prints Node's and Redis' CPU ms per run (utime+stime from /proc) per round and their medians, then
// the Redis commands of 200 sync jobs per job, from clients and inside scripts (redis-cli MONITOR).
'use strict';
const { spawn } = require('node:child_process');
const { mkdtempSync, readdirSync, readFileSync, rmSync } = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { freePort } = require('./support');

const dirs = process.argv.slice(2, 4).map((dir) => path.resolve(dir));
const [rounds, seconds, concurrency] = [4, 5, 6].map((i, k) => Number(process.argv[i] ?? [8, 5, 4][k]));
const warmSeconds = Number(process.env.WARM_SECONDS ?? 30);
if (dirs.length !== 2) {
  console.error('usage: node bench/service-ab.js <checkout A> <checkout B> [rounds] [seconds] [concurrency]');
  process.exit(2);
}
const API_KEY = 'bench-key-0123456789';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function post(side) {
  const payload = JSON.stringify({ code: "print('hi')", timeout: 10 });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: side.port,
        path: '/v1/code/execute/python',
        method: 'POST',
        agent: side.agent,
        headers: { 'content-type': 'application/json', 'content-length': payload.length, 'x-api-key': API_KEY },
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** utime+stime (s), parent pid and command name of a process, from /proc/<pid>/stat. */
function stat(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
  return { cpu: (Number(fields[11]) + Number(fields[12])) / 100, ppid: Number(fields[1]), comm };
}

/** The service's redis-server child. */
function redisPidOf(pid) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const s = stat(entry);
      if (s.ppid === pid && s.comm.startsWith('redis')) return Number(entry);
    } catch {
      // gone
    }
  }
  throw new Error(`no redis-server under pid ${pid}`);
}

/** CPU seconds of the service process itself and of its redis-server. */
function cpu(side) {
  side.redisPid ??= redisPidOf(side.child.pid);
  return { node: stat(side.child.pid).cpu, redis: stat(side.redisPid).cpu };
}

async function start(dir) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'service-ab-'));
  const port = await freePort();
  const env = { ...process.env, API_KEYS: API_KEY, PORT: String(port), LOG_LEVEL: 'warn', DATA_DIR: dataDir };
  delete env.REDIS_URL;
  const child = spawn(process.execPath, [path.join(dir, 'dist', 'main.js')], { cwd: dir, env, stdio: 'ignore' });
  const side = { dir, dataDir, port, child, agent: new http.Agent({ keepAlive: true, maxSockets: concurrency }) };
  for (let i = 0; i < 300; i++) {
    const ready = await new Promise((resolve) =>
      http
        .get({ host: '127.0.0.1', port, path: '/health/ready' }, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        })
        .on('error', () => resolve(false)),
    );
    if (ready) return side;
    await sleep(100);
  }
  throw new Error(`${dir}: not ready within 30 s`);
}

async function drive(side, ms) {
  let runs = 0;
  const until = Date.now() + ms;
  const loop = async () => {
    while (Date.now() < until) {
      await post(side);
      runs += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return runs;
}

/** Commands Redis received per job while `jobs` sync jobs ran: from clients, and inside scripts. */
async function commandsPerJob(side, jobs) {
  const monitor = spawn('redis-cli', ['-s', path.join(side.dataDir, 'redis.sock'), 'MONITOR']);
  let out = '';
  monitor.stdout.on('data', (chunk) => (out += chunk));
  await sleep(300);
  let left = jobs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await post(side);
    }),
  );
  await sleep(300);
  monitor.kill();
  const counts = { client: new Map(), lua: new Map() };
  for (const line of out.split('\n')) {
    const match = /^\S+ \[\d+ (\S+)\] "([^"]+)"/.exec(line);
    if (!match) continue;
    const map = match[1] === 'lua' ? counts.lua : counts.client;
    const command = match[2].toUpperCase();
    map.set(command, (map.get(command) ?? 0) + 1);
  }
  const describe = (map) => {
    const total = [...map.values()].reduce((a, b) => a + b, 0) / jobs;
    const parts = [...map].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${(n / jobs).toFixed(2)}`);
    return `${total.toFixed(2)} (${parts.join(', ')})`;
  };
  return `from clients ${describe(counts.client)}; inside scripts ${describe(counts.lua)}`;
}

async function main() {
  const sides = [];
  try {
    for (const dir of dirs) sides.push(await start(dir));
    await Promise.all(sides.map((side) => drive(side, warmSeconds * 1000)));
    const results = sides.map(() => ({ node: [], redis: [] }));
    for (let round = 0; round < rounds; round++) {
      const before = sides.map((side) => cpu(side));
      const runs = await Promise.all(sides.map((side) => drive(side, seconds * 1000)));
      sides.forEach((side, i) => {
        const after = cpu(side);
        results[i].node.push(((after.node - before[i].node) * 1000) / runs[i]);
        results[i].redis.push(((after.redis - before[i].redis) * 1000) / runs[i]);
      });
    }
    sides.forEach((side, i) => {
      const { node, redis } = results[i];
      console.log(
        `${side.dir}: node CPU ms per run median ${median(node).toFixed(2)} [${node.map((x) => x.toFixed(2)).join(' ')}], ` +
          `redis median ${median(redis).toFixed(2)} [${redis.map((x) => x.toFixed(2)).join(' ')}]`,
      );
    });
    for (const side of sides)
      console.log(`${side.dir}: Redis commands per sync job at c=${concurrency}: ${await commandsPerJob(side, 200)}`);
  } finally {
    for (const side of sides) {
      side.child.kill('SIGTERM');
      await new Promise((resolve) => (side.child.exitCode !== null ? resolve() : side.child.once('exit', resolve)));
      rmSync(side.dataDir, { recursive: true, force: true });
    }
  }
}

main().catch((err) => {
  console.error(`service-ab failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
