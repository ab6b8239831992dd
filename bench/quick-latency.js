// Sequential latency of the seed example and of a 1 s timeout, against a running service.
// Usage: API_KEY=... BASE_URL=http://localhost:3000 node bench/quick-latency.js [runs]
const base = process.env.BASE_URL ?? 'http://localhost:3000';
const key = process.env.API_KEY;
const runs = Number(process.argv[2] ?? 200);

async function call(body) {
  const started = performance.now();
  const res = await fetch(`${base}/v1/code/execute/python`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  return { ms: performance.now() - started, status: res.status, json };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

(async () => {
  for (let i = 0; i < 20; i++) await call({ code: "print('hi')" }); // warm-up
  const times = [];
  let errors = 0;
  for (let i = 0; i < runs; i++) {
    const r = await call({ code: "print('Hello, World!')", timeout: 10, id: `b${i}` });
    if (r.status !== 200) errors++;
    times.push(r.ms);
  }
  times.sort((a, b) => a - b);
  console.log(`seed example x${runs}: p50 ${pct(times, 50).toFixed(2)} ms, p90 ${pct(times, 90).toFixed(2)} ms, p99 ${pct(times, 99).toFixed(2)} ms, errors ${errors}`);
  const kills = [];
  for (let i = 0; i < 5; i++) {
    const r = await call({ code: 'while True: pass', timeout: 1 });
    kills.push(r.ms - 1000);
  }
  console.log(`timeout 1 s: HTTP answer ${kills.map((k) => `+${k.toFixed(0)}`).join(', ')} ms after the deadline`);
})();
