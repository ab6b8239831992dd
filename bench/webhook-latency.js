// Webhook delivery latency after job end: receiver's receive time minus the job's ended_at.
// Needs a running service that may reach 127.0.0.1 (WEBHOOK_ALLOW_PRIVATE=true).
// Usage: API_KEY=... BASE_URL=http://localhost:3000 node bench/webhook-latency.js [jobs]
const { createServer } = require('node:http');

const base = process.env.BASE_URL ?? 'http://localhost:3000';
const key = process.env.API_KEY;
const jobs = Number(process.argv[2] ?? 50);
const received = new Map(); // job id -> receive time (ms)

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received.set(req.headers['webhook-id'], Date.now());
    res.writeHead(204).end();
  });
});

async function api(method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: body && JSON.stringify(body),
  });
  return res.json();
}

async function submit(hook, i) {
  return (await api('POST', '/v1/code/execute/python', { code: `${i} + 1`, webhook_url: hook })).job_id;
}

async function latencies(ids) {
  while (ids.some((id) => !received.has(id))) await new Promise((r) => setTimeout(r, 10));
  const out = [];
  for (const id of ids) {
    const job = (await api('GET', `/v1/jobs/${id}`)).response;
    out.push(received.get(id) - Date.parse(job.ended_at));
  }
  return out.sort((a, b) => a - b);
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const report = (label, ms) =>
  console.log(`${label}: p50 ${pct(ms, 50)} ms, p90 ${pct(ms, 90)} ms, max ${ms[ms.length - 1]} ms (n=${ms.length})`);

server.listen(0, '127.0.0.1', async () => {
  const hook = `http://127.0.0.1:${server.address().port}/hook`;
  try {
    await latencies(await Promise.all(Array.from({ length: 5 }, (_, i) => submit(hook, i)))); // warm-up
    const sequential = [];
    for (let i = 0; i < jobs; i++) sequential.push(...(await latencies([await submit(hook, i)])));
    report(
      `one at a time x${jobs}`,
      sequential.sort((a, b) => a - b),
    );
    const burst = await Promise.all(Array.from({ length: jobs }, (_, i) => submit(hook, i)));
    report(`burst of ${jobs} concurrent`, await latencies(burst));
  } finally {
    server.close();
  }
});
