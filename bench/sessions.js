// Sessions against one-shot runs, over HTTP, in the same run: p50 of a session call of `x += 1; x`,
// of a one-shot run of the same size, and of creating a session (targets, issue 25: a session call
// <= 5 ms and <= 0.5x a one-shot run; a creation <= a one-shot run).
//
// Calls and runs are measured in alternating blocks of BLOCK (default 20): each kind in its own steady
// state, while load on the machine still weighs on both alike. A one-shot run's sandbox tears down its
// namespaces after it has answered (about a millisecond of CPU on this host); strictly interleaved, that
// teardown lands on the session call that follows, which is a one-shot run's cost, not a session's.
// The strictly interleaved figures are printed too (BLOCK=1), for comparison; the targets are read on
// the blocks. Creations are 0.5 s apart (unmeasured), so that the worker's warm spare is ready for each.
// The client is node:http with a keep-alive agent, as in bench/run.js.
// Usage: API_KEY=... BASE_URL=http://localhost:3000 node bench/sessions.js [n=200]
// Without BASE_URL it starts this checkout's built service (npm run build first) on a free port.
'use strict';
const http = require('node:http');
const path = require('node:path');
const { freePort, startBenchService } = require('./support');

const n = Number(process.argv[2] ?? 200);
const BLOCK = Number(process.env.BLOCK ?? 20);
const SPARE_READY_MS = 500;
const PAUSE_MS = 20;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function call(base, key, method, route, body) {
  const url = new URL(route, base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = { 'x-api-key': key };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, { method, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const ms = performance.now() - started;
        const json = JSON.parse(Buffer.concat(chunks).toString() || 'null');
        if (res.statusCode >= 300) reject(new Error(`${method} ${route}: ${res.statusCode} ${JSON.stringify(json)}`));
        else resolve({ ms, json });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

/** `n` session calls and `n` one-shot runs, in alternating blocks of `block`; `pauseMs` before each. */
async function callsAndRuns(base, key, sessionId, block, pauseMs = 0) {
  const sessionMs = [];
  const oneShotMs = [];
  const sessionCall = () => call(base, key, 'POST', `/v1/sessions/${sessionId}/execute`, { code: 'x += 1\nx' });
  const oneShot = () => call(base, key, 'POST', '/v1/code/execute/python', { code: 'x = 1\nx' });
  for (let i = 0; i < n; i += block) {
    const size = Math.min(block, n - i);
    for (const [times, send] of [
      [sessionMs, sessionCall],
      [oneShotMs, oneShot],
    ]) {
      for (let j = 0; j < size; j++) {
        if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
        times.push((await send()).ms);
      }
    }
  }
  return { sessionMs, oneShotMs };
}

async function measure(base, key) {
  const created = await call(base, key, 'POST', '/v1/sessions', {});
  const sessionId = created.json.response.session_id;
  await call(base, key, 'POST', `/v1/sessions/${sessionId}/execute`, { code: 'x = 0' });
  const blocks = await callsAndRuns(base, key, sessionId, BLOCK);
  const interleaved = await callsAndRuns(base, key, sessionId, 1);
  const paced = await callsAndRuns(base, key, sessionId, 1, PAUSE_MS);
  const last = await call(base, key, 'POST', `/v1/sessions/${sessionId}/execute`, { code: 'x' });
  if (last.json.response.result !== 3 * n)
    throw new Error(`the session lost its state: x = ${last.json.response.result}`);
  await call(base, key, 'DELETE', `/v1/sessions/${sessionId}`);
  const createMs = [];
  const createOneShotMs = [];
  for (let i = 0; i < Math.min(n, 30); i++) {
    // Steady state: the worker's warm spare (started after each creation) is ready, as it is unless
    // sessions are created back to back faster than a sandboxed interpreter starts.
    await new Promise((resolve) => setTimeout(resolve, SPARE_READY_MS));
    const session = await call(base, key, 'POST', '/v1/sessions', {});
    createMs.push(session.ms);
    await call(base, key, 'DELETE', `/v1/sessions/${session.json.response.session_id}`);
    createOneShotMs.push((await call(base, key, 'POST', '/v1/code/execute/python', { code: 'x = 1\nx' })).ms);
  }
  return { blocks, interleaved, paced, createMs, createOneShotMs };
}

async function main() {
  let base = process.env.BASE_URL;
  let key = process.env.API_KEY;
  let service;
  if (!base) {
    const port = await freePort();
    key = 'bench-key';
    base = `http://127.0.0.1:${port}`;
    service = startBenchService({ dir: path.join(__dirname, '..'), port, uidBase: 62000 });
    for (let i = 0; ; i++) {
      const ready = await fetch(`${base}/health/ready`).catch(() => null);
      if (ready?.ok) break;
      if (i > 300) throw new Error('the service did not get ready');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (!key) throw new Error('set API_KEY');
  try {
    const { blocks, interleaved, paced, createMs, createOneShotMs } = await measure(base, key);
    const f = (ms) => `${ms.toFixed(2)} ms`;
    const line = (label, values) =>
      `${label} p50 ${f(pct(values, 50))}, p90 ${f(pct(values, 90))} (n=${values.length})`;
    const ratio = ({ sessionMs, oneShotMs }) => (pct(sessionMs, 50) / pct(oneShotMs, 50)).toFixed(2);
    console.log(`in blocks of ${BLOCK} (the targets):`);
    console.log(line('  session call (x += 1; x):', blocks.sessionMs));
    console.log(line('  one-shot run (x = 1; x): ', blocks.oneShotMs));
    console.log(`  session/one-shot p50: ${ratio(blocks)}x (target <= 0.5x, <= 5 ms)`);
    console.log('strictly interleaved (each session call right after a one-shot run), for comparison:');
    console.log(line('  session call:', interleaved.sessionMs));
    console.log(line('  one-shot run:', interleaved.oneShotMs));
    console.log(`  session/one-shot p50: ${ratio(interleaved)}x`);
    console.log(
      `interleaved, each after a ${PAUSE_MS}-ms pause (no earlier run's teardown; every process wakes cold):`,
    );
    console.log(line('  session call:', paced.sessionMs));
    console.log(line('  one-shot run:', paced.oneShotMs));
    console.log(`  session/one-shot p50: ${ratio(paced)}x`);
    console.log(line('session creation (0.5 s apart):', createMs));
    console.log(line('one-shot run between them:     ', createOneShotMs));
    console.log(`creation/one-shot p50: ${(pct(createMs, 50) / pct(createOneShotMs, 50)).toFixed(2)}x (target <= 1x)`);
  } finally {
    service?.child.kill('SIGTERM');
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
