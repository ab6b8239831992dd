#!/usr/bin/env node
// A/B of two checkouts' latency: both services up at once (same host load), sync `print('hi')` at c=1,
// requests interleaved A, B, B, A, ...; prints p50/p90 per side. Target `session`: calls of `x += 1; x`
// into one session on each side instead.
//   node bench/latency-ab.js <checkout A> <checkout B> [requests=600] [target=one-shot|session]
//   (each built first: npm run build)
// Each side: `node dist/main.js` with its own embedded Redis in a temporary DATA_DIR, SANDBOX_SERVERS=2,
// LOG_LEVEL=warn; 200 warm-up pairs first. Loopback only.
'use strict';
const http = require('node:http');
const { rmSync } = require('node:fs');
const path = require('node:path');
const { freePort, startBenchService } = require('./support');

const [dirA, dirB] = process.argv.slice(2, 4).map((dir) => dir && path.resolve(dir));
const requests = Number(process.argv[4] ?? 600);
const target = process.argv[5] ?? 'one-shot';
if (!['one-shot', 'session'].includes(target)) throw new Error(`target: one-shot or session, not ${target}`);
if (!dirA || !dirB) {
  console.error('usage: node bench/latency-ab.js <checkout A> <checkout B> [requests]');
  process.exit(2);
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function start(dir, port, uidBase) {
  return { dir, port, ...startBenchService({ dir, port, uidBase }), times: [] };
}

const ONE_SHOT = { route: '/v1/code/execute/python', body: { code: "print('hi')" } };

/** One sync call; resolves with its time in ms and its parsed body. */
function call(port, { route, body }) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const headers = { 'x-api-key': 'bench-key', 'content-type': 'application/json' };
    const req = http.request({ host: '127.0.0.1', port, path: route, method: 'POST', agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () =>
        res.statusCode < 300
          ? resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, json: JSON.parse(Buffer.concat(chunks)) })
          : reject(new Error(`HTTP ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const post = async (side) => (await call(side.port, side.request ?? ONE_SHOT)).ms;

/** Target session: the side's calls go into a new session of its own. */
async function openSession(side) {
  const created = await call(side.port, { route: '/v1/sessions', body: {} });
  const route = `/v1/sessions/${created.json.response.session_id}/execute`;
  await call(side.port, { route, body: { code: 'x = 0' } });
  side.request = { route, body: { code: 'x += 1\nx' } };
}

async function main() {
  const sides = [start(dirA, await freePort(), 2_000_001_100), start(dirB, await freePort(), 2_000_001_200)];
  for (let i = 0; ; i++) {
    try {
      await Promise.all(sides.map((side) => post(side)));
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  if (target === 'session') for (const side of sides) await openSession(side);
  for (let i = 0; i < 200; i++) for (const side of sides) await post(side);
  for (let i = 0; i < requests; i++) {
    for (const side of i % 2 ? sides : [...sides].reverse()) side.times.push(await post(side));
  }
  for (const side of sides) {
    const sorted = side.times.sort((a, b) => a - b);
    const at = (q) => sorted[Math.floor(q * (sorted.length - 1))].toFixed(2);
    console.log(`${side.dir}: ${target} p50 ${at(0.5)} ms, p90 ${at(0.9)} ms (${sorted.length} requests)`);
  }
  for (const side of sides) side.child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 3000));
  for (const side of sides) rmSync(side.dataDir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
