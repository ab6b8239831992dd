#!/usr/bin/env node
// `npm run bench`: starts the service as a user would (node dist/main.js, embedded Redis, a fixed
// API key, a free port) and measures print('hi') both as bare `/usr/bin/python3 -c` spawns and
// through the service's sync endpoint over HTTP; prints a table, the ratios and the targets.
// Exits non-zero only when a run errs, never for a missed target (timing is not pass/fail).
//
// Then the numpy and pandas snippets (c=1) as bare spawns and through a second service started with
// SANDBOX_PRELOAD=numpy,pandas, when the system Python has them.
//
// Env: BENCH_SECONDS (per level, default 5), BENCH_NO_BUILD=1, PYTHON_BIN, and anything the
// service reads (SANDBOX_SERVERS, ...) is passed through.
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const { existsSync, readFileSync } = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { freePort, processTree } = require('./support');

const ROOT = path.join(__dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const PYTHON = process.env.PYTHON_BIN ?? '/usr/bin/python3';
const API_KEY = 'bench-key-0123456789';
const CODE = "print('hi')";
// Data snippets, measured against a second service started with SANDBOX_PRELOAD=numpy,pandas.
const LIBRARY_SNIPPETS = [
  { name: 'numpy', code: 'import numpy as np\nprint(int(np.arange(1000).sum()))', stdout: '499500\n' },
  {
    name: 'pandas',
    code: "import pandas as pd\nprint(int(pd.DataFrame({'a': range(100)}).a.sum()))",
    stdout: '4950\n',
  },
];
const LIBRARY_TARGET_RATIO = 0.2;
const TARGETS = { latencyRatio: 0.5, throughputRatio: 1.5, idleMiB: 150 };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Runs `once()` from `concurrency` loops for `seconds`; latency of each call and calls/s. */
async function load(concurrency, seconds, once) {
  const times = [];
  let errors = 0;
  let firstError = '';
  const started = performance.now();
  const until = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      try {
        await once();
        times.push(performance.now() - t0);
      } catch (err) {
        errors += 1;
        firstError ||= err.message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsedSec = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  return {
    concurrency,
    n: times.length,
    p50: pct(times, 50),
    p90: pct(times, 90),
    p99: pct(times, 99),
    perSec: times.length / elapsedSec,
    errors,
    firstError,
  };
}

function bareSpawn(code = CODE, stdout = 'hi\n') {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', code], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('close', (status) =>
      status === 0 && out === stdout ? resolve() : reject(new Error(`exit ${status}: ${out}`)),
    );
  });
}

function post(port, agent, body) {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/code/execute/python',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          'x-api-key': API_KEY,
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function serviceCall(port, agent, code = CODE, stdout = 'hi\n') {
  const res = await post(port, agent, { code, timeout: 10 });
  if (res.status !== 200 || res.body.response?.stdout !== stdout) {
    throw new Error(`HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`);
  }
}

/**
 * CPU seconds used so far by the service (node itself), its Redis, and the sandboxes (bwrap, fork
 * servers, and every run they reaped), from /proc/<pid>/stat: utime+stime, plus cutime+cstime for
 * the sandbox processes (finished runs are counted by whoever reaped them; live ones by themselves;
 * recycled fork servers by node, which reaped them).
 */
function cpuSeconds(rootPid) {
  const ticks = 100; // USER_HZ on Linux
  const out = { node: 0, redis: 0, sandbox: 0 };
  for (const pid of processTree(rootPid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat
        .slice(stat.lastIndexOf(')') + 2)
        .split(' ')
        .map(Number);
      const [utime, stime, cutime, cstime] = [f[11], f[12], f[13], f[14]];
      if (pid === rootPid) {
        out.node += (utime + stime) / ticks;
        out.sandbox += (cutime + cstime) / ticks; // fork servers that exited (recycled or replaced), reaped by node
      } else if (comm.startsWith('redis')) out.redis += (utime + stime) / ticks;
      else out.sandbox += (utime + stime + cutime + cstime) / ticks;
    } catch {
      // gone
    }
  }
  return out;
}

/** Sum of RSS and of PSS (shared pages split between sharers) over the tree, in MiB, and per command. */
function memory(rootPid) {
  let rssKiB = 0;
  let pssKiB = 0;
  const byName = new Map();
  for (const pid of processTree(rootPid)) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const rss = Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      const pss = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      const name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      rssKiB += rss;
      pssKiB += pss;
      const entry = byName.get(name) ?? { count: 0, rssKiB: 0, pssKiB: 0 };
      entry.count += 1;
      entry.rssKiB += rss;
      entry.pssKiB += pss;
      byName.set(name, entry);
    } catch {
      // gone, or a kernel thread without smaps
    }
  }
  return { rssMiB: rssKiB / 1024, pssMiB: pssKiB / 1024, byName };
}

async function waitReady(port, child) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}`);
    const ok = await new Promise((resolve) => {
      http
        .get({ host: '127.0.0.1', port, path: '/health/ready' }, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        })
        .on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error('service not ready within 30 s');
}

function machine() {
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const distro = /^PRETTY_NAME="?([^"\n]*)/m.exec(osRelease)?.[1] ?? os.type();
  const python = execFileSync(PYTHON, ['-V']).toString().trim();
  return (
    `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
    `Linux ${os.release()}, ${distro}, Node ${process.version}, ${python}, uid ${process.getuid()}, loadavg ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`
  );
}

const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const row = (what, r) =>
  `| ${what.padEnd(34)} | ${String(r.concurrency).padStart(3)} | ${fmt(r.p50, 2).padStart(7)} | ${fmt(r.p90, 2).padStart(7)} | ` +
  `${fmt(r.p99, 2).padStart(7)} | ${fmt(r.perSec).padStart(7)} | ${String(r.errors).padStart(6)} |`;

async function main() {
  if (!process.env.BENCH_NO_BUILD) {
    execFileSync('npx', ['nest', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  console.log(`machine: ${machine()}`);
  const { port, service, stop: stopService } = await startService();
  const results = { bare: [], service: [] };
  let errors = 0;
  try {
    // Bare spawns first, with the service idle beside them (as in real life).
    await load(2, 1, bareSpawn); // warm the page cache
    for (const c of [1, 2, 8]) {
      const r = await load(c, SECONDS, bareSpawn);
      results.bare.push(r);
      console.log(row(`bare ${PYTHON} -c`, r));
    }

    const agents = new Map();
    const agentFor = (c) => agents.get(c) ?? agents.set(c, new http.Agent({ keepAlive: true, maxSockets: c })).get(c);
    await load(2, 1, () => serviceCall(port, agentFor(2))); // warm-up
    await sleep(1000);
    const idle = memory(service.pid);

    let loaded = { rssMiB: 0, pssMiB: 0, byName: new Map() };
    for (const c of [1, 2, 8, 32]) {
      let sampler;
      if (c === 32) {
        sampler = setInterval(() => {
          const m = memory(service.pid);
          if (m.rssMiB > loaded.rssMiB) loaded = m;
        }, 500);
      }
      const cpuBefore = cpuSeconds(service.pid);
      const r = await load(c, SECONDS, () => serviceCall(port, agentFor(c)));
      const cpuAfter = cpuSeconds(service.pid);
      if (sampler) clearInterval(sampler);
      r.cpuMsPerRun = Object.fromEntries(
        Object.keys(cpuAfter).map((k) => [k, ((cpuAfter[k] - cpuBefore[k]) * 1000) / r.n]),
      );
      results.service.push(r);
      console.log(row('service POST (sync) over HTTP', r));
      if (r.errors) console.log(`  first error: ${r.firstError}`);
    }

    // Timeout precision: the HTTP answer of a busy loop with timeout 1 s, minus 1 s.
    const lags = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const res = await post(port, agentFor(1), { code: 'while True: pass', timeout: 1 });
      lags.push(performance.now() - t0 - 1000);
      if (res.status !== 408) {
        errors += 1;
        console.log(`timeout probe answered ${res.status}`);
      }
    }

    errors += [...results.bare, ...results.service].reduce((sum, r) => sum + r.errors, 0);
    const bare1 = results.bare[0];
    const bare8 = results.bare[2];
    const svc1 = results.service[0];
    const svc8 = results.service[2];
    const latencyRatio = svc1.p50 / bare1.p50;
    const throughputRatio = svc8.perSec / bare8.perSec;
    const best = (rs) => rs.reduce((a, b) => (b.perSec > a.perSec ? b : a));
    const bestBare = best(results.bare);
    const bestService = best(results.service);
    const bestRatio = bestService.perSec / bestBare.perSec;
    const describeMem = (m) =>
      [...m.byName]
        .sort((a, b) => b[1].pssKiB - a[1].pssKiB)
        .map(([name, e]) => `${name}×${e.count} ${fmt(e.pssKiB / 1024)}/${fmt(e.rssKiB / 1024)}`)
        .join(', ');

    console.log('');
    console.log(`| ${'what'.padEnd(34)} |   c |     p50 |     p90 |     p99 |  runs/s | errors |`);
    console.log(`|${'-'.repeat(36)}|----:|--------:|--------:|--------:|--------:|-------:|`);
    for (const r of results.bare) console.log(row(`bare \`${PYTHON} -c\``, r));
    for (const r of results.service) console.log(row('service, sync POST over HTTP', r));
    console.log('');
    console.log(
      `memory of the service tree, PSS/RSS MiB: idle ${fmt(idle.pssMiB)} / ${fmt(idle.rssMiB)}; under c=32 load ${fmt(loaded.pssMiB)} / ${fmt(loaded.rssMiB)}`,
    );
    console.log(`  idle by process (PSS/RSS MiB): ${describeMem(idle)}`);
    console.log(
      'CPU ms per run (node / redis / sandboxes): ' +
        results.service
          .map(
            (r) =>
              `c=${r.concurrency} ${fmt(r.cpuMsPerRun.node, 2)} / ${fmt(r.cpuMsPerRun.redis, 2)} / ${r.cpuMsPerRun.sandbox >= 0 ? fmt(r.cpuMsPerRun.sandbox, 2) : 'n/a'}`,
          )
          .join('; ') +
        '\n  (sandbox CPU is read from the process tree; a fork server recycled mid-measurement (every 2000 runs) takes its CPU out of the tree: n/a)',
    );
    console.log(`timeout 1 s: HTTP answer ${lags.map((l) => `+${l.toFixed(0)}`).join(', ')} ms after the deadline`);
    console.log('');
    const verdict = (ok) => (ok ? 'met' : 'MISSED');
    console.log(
      `service p50 c=1 / bare p50 c=1   = ${latencyRatio.toFixed(3)}  (target <= ${TARGETS.latencyRatio}: ${verdict(latencyRatio <= TARGETS.latencyRatio)})`,
    );
    console.log(`service runs/s c=8 / bare c=8    = ${throughputRatio.toFixed(3)}`);
    console.log(
      `best runs/s, service / bare      = ${bestRatio.toFixed(3)}  (${fmt(bestService.perSec)} at c=${bestService.concurrency} / ${fmt(bestBare.perSec)} at c=${bestBare.concurrency}; target >= ${TARGETS.throughputRatio}: ${verdict(bestRatio >= TARGETS.throughputRatio)})`,
    );
    console.log(
      `idle memory (PSS, whole tree)    = ${fmt(idle.pssMiB)} MiB (target <= ${TARGETS.idleMiB}: ${verdict(idle.pssMiB <= TARGETS.idleMiB)}; RSS sum ${fmt(idle.rssMiB)} MiB: ${verdict(idle.rssMiB <= TARGETS.idleMiB)})`,
    );
    console.log(`errors                           = ${errors}  (target 0: ${verdict(errors === 0)})`);
  } finally {
    await stopService();
  }
  errors += await benchLibraries();
  process.exitCode = errors === 0 ? 0 : 1;
}

/** Starts `node dist/main.js` on a free port with the embedded Redis; resolves once it is ready. */
async function startService(extraEnv = {}) {
  const port = await freePort();
  const env = {
    ...process.env,
    API_KEYS: API_KEY,
    PORT: String(port),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...extraEnv,
  };
  delete env.REDIS_URL; // the embedded Redis, as a first-time user gets it
  const service = spawn(process.execPath, [path.join(ROOT, 'dist', 'main.js')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const kill = () => {
    if (service.exitCode === null) service.kill('SIGTERM');
  };
  process.on('exit', kill);
  const stop = async () => {
    kill();
    await new Promise((resolve) => (service.exitCode !== null ? resolve() : service.once('exit', resolve)));
    process.off('exit', kill);
  };
  const bootStarted = Date.now();
  try {
    await waitReady(port, service);
  } catch (err) {
    await stop();
    throw err;
  }
  console.log(
    `service ready on :${port} in ${Date.now() - bootStarted} ms (pid ${service.pid})${extraEnv.SANDBOX_PRELOAD ? ` with SANDBOX_PRELOAD=${extraEnv.SANDBOX_PRELOAD}` : ''}`,
  );
  return { port, service, stop };
}

/** numpy and pandas snippets at c=1: bare `python3 -c` vs a service that preloads them. */
async function benchLibraries() {
  const missing = LIBRARY_SNIPPETS.filter((s) => spawnSync(PYTHON, ['-c', `import ${s.name}`]).status !== 0).map(
    (s) => s.name,
  );
  if (missing.length) {
    console.log(
      `\nlibrary snippets: not measured (${missing.join(', ')} not importable by ${PYTHON}: apt-get install python3-numpy python3-pandas)`,
    );
    return 0;
  }
  console.log('');
  const { port, stop } = await startService({ SANDBOX_PRELOAD: LIBRARY_SNIPPETS.map((s) => s.name).join(',') });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const rows = [];
  let errors = 0;
  try {
    for (const snippet of LIBRARY_SNIPPETS) {
      await load(1, 1, () => bareSpawn(snippet.code, snippet.stdout)); // warm the page cache
      const bare = await load(1, SECONDS, () => bareSpawn(snippet.code, snippet.stdout));
      await load(1, 1, () => serviceCall(port, agent, snippet.code, snippet.stdout));
      const svc = await load(1, SECONDS, () => serviceCall(port, agent, snippet.code, snippet.stdout));
      errors += bare.errors + svc.errors;
      if (svc.errors) console.log(`  first error: ${svc.firstError}`);
      rows.push({ snippet, bare, svc });
    }
  } finally {
    await stop();
  }
  console.log(`| ${'snippet (c=1)'.padEnd(34)} |   c |     p50 |     p90 |     p99 |  runs/s | errors |`);
  console.log(`|${'-'.repeat(36)}|----:|--------:|--------:|--------:|--------:|-------:|`);
  for (const { snippet, bare, svc } of rows) {
    console.log(row(`bare: import ${snippet.name}`, bare));
    console.log(row(`service, preloaded: ${snippet.name}`, svc));
  }
  for (const { snippet, bare, svc } of rows) {
    const ratio = svc.p50 / bare.p50;
    console.log(
      `${snippet.name} snippet p50, service / bare  = ${ratio.toFixed(3)}  (target <= ${LIBRARY_TARGET_RATIO}: ${ratio <= LIBRARY_TARGET_RATIO ? 'met' : 'MISSED'})`,
    );
  }
  return errors;
}

main().catch((err) => {
  console.error(`bench failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
