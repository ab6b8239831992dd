#!/usr/bin/env node
// A/B of two checkouts' latency: both services up at once (same host load), sync `print('hi')` at c=1,
// requests interleaved A, B, B, A, ...; prints p50/p90 per side.
//   node bench/latency-ab.js <checkout A> <checkout B> [requests=600]   (each built first: npm run build)
// Each side: `node dist/main.js` with its own embedded Redis in a temporary DATA_DIR, SANDBOX_SERVERS=2,
// LOG_LEVEL=warn; 200 warm-up pairs first. Loopback only.
'use strict';
const http = require('node:http');
const { rmSync } = require('node:fs');
const path = require('node:path');
const { freePort, startBenchService } = require('./support');

const [dirA, dirB] = process.argv.slice(2, 4).map((dir) => dir && path.resolve(dir));
const requests = Number(process.argv[4] ?? 600);
if (!dirA || !dirB) {
  console.error('usage: node bench/latency-ab.js <checkout A> <checkout B> [requests]');
  process.exit(2);
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function start(dir, port, uidBase) {
  return { dir, port, ...startBenchService({ dir, port, uidBase }), times: [] };
}

function post(port) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const headers = { 'x-api-key': 'bench-key', 'content-type': 'application/json' };
    const req = http.request(
      { host: '127.0.0.1', port, path: '/v1/code/execute/python', method: 'POST', agent, headers },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Number(process.hrtime.bigint() - started) / 1e6)
            : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ code: "print('hi')" }));
  });
}

async function main() {
  const sides = [start(dirA, await freePort(), 2_000_001_100), start(dirB, await freePort(), 2_000_001_200)];
  for (let i = 0; ; i++) {
    try {
      await Promise.all(sides.map((side) => post(side.port)));
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  for (let i = 0; i < 200; i++) for (const side of sides) await post(side.port);
  for (let i = 0; i < requests; i++) {
    for (const side of i % 2 ? sides : [...sides].reverse()) side.times.push(await post(side.port));
  }
  for (const side of sides) {
    const sorted = side.times.sort((a, b) => a - b);
    const at = (q) => sorted[Math.floor(q * (sorted.length - 1))].toFixed(2);
    console.log(`${side.dir}: p50 ${at(0.5)} ms, p90 ${at(0.9)} ms (${sorted.length} requests)`);
  }
  for (const side of sides) side.child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 3000));
  for (const side of sides) rmSync(side.dataDir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
