// Sessions against one-shot runs, over HTTP, in the same run: p50 of a session call of `x += 1; x`,
// of a one-shot run of the same size, and of creating a session (targets, issue 25: a session call
// <= 5 ms and <= 0.5x a one-shot run; a creation <= a one-shot run).
// Creations are 0.5 s apart (unmeasured), so that the worker's warm spare is ready for each.
// Usage: API_KEY=... BASE_URL=http://localhost:3000 node bench/sessions.js [n=200]
// Without BASE_URL it starts this checkout's built service (npm run build first) on a free port.
'use strict';
const path = require('node:path');
const { freePort, startBenchService } = require('./support');

const n = Number(process.argv[2] ?? 200);
const SPARE_READY_MS = 500;

async function call(base, key, method, route, body) {
  const started = performance.now();
  const res = await fetch(`${base}${route}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  const ms = performance.now() - started;
  if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return { ms, json };
}

const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

async function measure(base, key) {
  const created = await call(base, key, 'POST', '/v1/sessions', {});
  const sessionId = created.json.response.session_id;
  await call(base, key, 'POST', `/v1/sessions/${sessionId}/execute`, { code: 'x = 0' });
  const sessionMs = [];
  const oneShotMs = [];
  const createMs = [];
  // Interleaved, so load on the machine weighs on both alike.
  for (let i = 0; i < n; i++) {
    sessionMs.push((await call(base, key, 'POST', `/v1/sessions/${sessionId}/execute`, { code: 'x += 1\nx' })).ms);
    oneShotMs.push((await call(base, key, 'POST', '/v1/code/execute/python', { code: 'x = 1\nx' })).ms);
  }
  const last = await call(base, key, 'POST', `/v1/sessions/${sessionId}/execute`, { code: 'x' });
  if (last.json.response.result !== n) throw new Error(`the session lost its state: x = ${last.json.response.result}`);
  await call(base, key, 'DELETE', `/v1/sessions/${sessionId}`);
  for (let i = 0; i < Math.min(n, 30); i++) {
    // Steady state: the worker's warm spare (started after each creation) is ready, as it is unless
    // sessions are created back to back faster than a sandboxed interpreter starts.
    await new Promise((resolve) => setTimeout(resolve, SPARE_READY_MS));
    const session = await call(base, key, 'POST', '/v1/sessions', {});
    createMs.push(session.ms);
    await call(base, key, 'DELETE', `/v1/sessions/${session.json.response.session_id}`);
    oneShotMs.push((await call(base, key, 'POST', '/v1/code/execute/python', { code: 'x = 1\nx' })).ms);
  }
  return { sessionMs, oneShotMs, createMs };
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
    const { sessionMs, oneShotMs, createMs } = await measure(base, key);
    const f = (ms) => `${ms.toFixed(2)} ms`;
    const p50 = { session: pct(sessionMs, 50), oneShot: pct(oneShotMs, 50), create: pct(createMs, 50) };
    console.log(
      `session call (x += 1; x): p50 ${f(p50.session)}, p90 ${f(pct(sessionMs, 90))} (n=${sessionMs.length})`,
    );
    console.log(
      `one-shot run (x = 1; x):  p50 ${f(p50.oneShot)}, p90 ${f(pct(oneShotMs, 90))} (n=${oneShotMs.length})`,
    );
    console.log(`session creation:         p50 ${f(p50.create)}, p90 ${f(pct(createMs, 90))} (n=${createMs.length})`);
    console.log(
      `session/one-shot p50: ${(p50.session / p50.oneShot).toFixed(2)}x (target <= 0.5x, <= 5 ms); ` +
        `creation/one-shot p50: ${(p50.create / p50.oneShot).toFixed(2)}x (target <= 1x)`,
    );
  } finally {
    service?.child.kill('SIGTERM');
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
