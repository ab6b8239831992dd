#!/usr/bin/env node
// Cost of files and a plot: sync runs at c=1 on one service, interleaved: a plain print('hi'), and a
// run that reads a 1 MiB CSV sent in `files` with pandas and returns one PNG plot; prints p50/p90 of
// each. Needs python3-pandas and python3-matplotlib.
//   node bench/files-plot.js [checkout=.] [runs=30] [SANDBOX_PRELOAD, e.g. numpy,pandas,matplotlib.pyplot]
// The service: `node dist/main.js` (npm run build first) with its own embedded Redis in a temporary
// DATA_DIR, SANDBOX_SERVERS=2, LOG_LEVEL=warn; 5 warm-up rounds. Loopback only.
'use strict';
const http = require('node:http');
const { rmSync } = require('node:fs');
const path = require('node:path');
const { freePort, startBenchService } = require('./support');

const dir = path.resolve(process.argv[2] ?? '.');
const runs = Number(process.argv[3] ?? 30);
const preload = process.argv[4] ?? '';
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** About 1 MiB of CSV: a day number and a value per row. */
function csv() {
  const lines = ['day,value'];
  let bytes = 10;
  for (let i = 0; bytes < 1024 * 1024; i++) {
    const line = `${i},${Math.sin(i / 500).toFixed(6)}`;
    lines.push(line);
    bytes += line.length + 1;
  }
  return lines.join('\n') + '\n';
}

const PLAIN = { code: "print('hi')" };
const PLOT = {
  code: [
    'import pandas as pd',
    'import matplotlib.pyplot as plt',
    "df = pd.read_csv('data.csv')",
    "df.plot(x='day', y='value')",
    'plt.show()',
    'len(df)',
  ].join('\n'),
  timeout: 60,
  files: [{ path: 'data.csv', content: csv() }],
};

function post(port, body) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const headers = { 'x-api-key': 'bench-key', 'content-type': 'application/json' };
    const req = http.request(
      { host: '127.0.0.1', port, path: '/v1/code/execute/python', method: 'POST', agent, headers },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks)}`));
          const display = JSON.parse(Buffer.concat(chunks).toString()).response.display ?? [];
          resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, display: display.length });
        });
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function main() {
  const port = await freePort();
  const { child, dataDir } = startBenchService({
    dir,
    port,
    uidBase: 2_000_001_300,
    env: preload ? { SANDBOX_PRELOAD: preload } : {},
  });
  try {
    for (let i = 0; ; i++) {
      try {
        await post(port, PLAIN);
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
    for (let i = 0; i < 5; i++) for (const body of [PLAIN, PLOT]) await post(port, body);
    const times = { plain: [], plot: [] };
    for (let i = 0; i < runs; i++) {
      times.plain.push((await post(port, PLAIN)).ms);
      const plot = await post(port, PLOT);
      if (plot.display !== 1) throw new Error(`the plot run showed ${plot.display} entries`);
      times.plot.push(plot.ms);
    }
    for (const [name, list] of Object.entries(times)) {
      const sorted = list.sort((a, b) => a - b);
      const at = (q) => sorted[Math.floor(q * (sorted.length - 1))].toFixed(1);
      console.log(
        `${name}: p50 ${at(0.5)} ms, p90 ${at(0.9)} ms (${sorted.length} runs${preload ? `, preload ${preload}` : ''})`,
      );
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
