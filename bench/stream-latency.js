// Live-output latency: from the program's print(..., flush=True) to the SSE client's receipt, with
// N concurrent streaming runs (POST /v1/code/execute/python, Accept: text/event-stream). The program
// prints its wall clock (time.time()); the client, on the same host, subtracts it from its own.
// Usage: API_KEY=... BASE_URL=http://localhost:3000 node bench/stream-latency.js [runs=8] [lines=40] [gap_ms=50]
'use strict';
const { createParser } = require('eventsource-parser');

const base = process.env.BASE_URL ?? 'http://localhost:3000';
const key = process.env.API_KEY;
const runs = Number(process.argv[2] ?? 8);
const lines = Number(process.argv[3] ?? 40);
const gapMs = Number(process.argv[4] ?? 50);

const code = [
  'import time',
  `for i in range(${lines}):`,
  '    print("T %.6f" % time.time(), flush=True)',
  `    time.sleep(${gapMs / 1000})`,
].join('\n');

/** One streaming run; resolves with the latency (ms) of each printed line. */
async function streamingRun() {
  const res = await fetch(`${base}/v1/code/execute/python`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': key },
    body: JSON.stringify({ code, timeout: 60 }),
  });
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) {
    throw new Error(`not a stream: ${res.status} ${await res.text()}`);
  }
  const latencies = [];
  let ended = false;
  const parser = createParser({
    onEvent: (event) => {
      const receivedMs = performance.timeOrigin + performance.now();
      if (event.event === 'end') ended = true;
      if (event.event !== 'stdout') return;
      for (const match of JSON.parse(event.data).matchAll(/T (\d+\.\d+)/g)) {
        latencies.push(receivedMs - Number(match[1]) * 1000);
      }
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of res.body) parser.feed(decoder.decode(chunk, { stream: true }));
  if (!ended) throw new Error('stream closed before its end event');
  if (latencies.length !== lines) throw new Error(`expected ${lines} lines, got ${latencies.length}`);
  return latencies;
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main() {
  if (!key) throw new Error('set API_KEY');
  await streamingRun(); // warm-up
  const all = (await Promise.all(Array.from({ length: runs }, streamingRun))).flat().sort((a, b) => a - b);
  const f = (ms) => `${ms.toFixed(1)} ms`;
  console.log(
    `print -> SSE receipt, ${runs} concurrent streaming runs x ${lines} lines (${gapMs} ms apart): ` +
      `p50 ${f(pct(all, 50))}, p90 ${f(pct(all, 90))}, p99 ${f(pct(all, 99))}, max ${f(all[all.length - 1])} (n=${all.length})`,
  );
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
