#!/usr/bin/env node
// Where Node's CPU goes for one sync run: starts a built checkout's service (`node --cpu-prof
// dist/main.js`, embedded Redis, LOG_LEVEL=warn), warms it up, then sends `runs` sync `print('hi')`
// requests one after another and, from the CPU profile's samples taken in that window only, prints
// the main thread's CPU microseconds per run by component (self time of the sampled function; a V8
// builtin counts toward the library that called it, JSON.parse/stringify toward "JSON"); and the whole
// process's CPU per run from /proc (main thread + GC, libuv and compiler threads).
//   node bench/node-cpu-profile.js [checkout=.] [runs=2000] [warmup=1500] [target=one-shot|session]
// target session: the runs are calls of `x += 1; x` into one session (POST /v1/sessions/{id}/execute).
// CPU time, not wall time: on a shared machine it moves much less with the load.
'use strict';
const { spawn } = require('node:child_process');
const { mkdtempSync, readdirSync, readFileSync, rmSync } = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { freePort } = require('./support');

const dir = path.resolve(process.argv[2] ?? '.');
const runs = Number(process.argv[3] ?? 2000);
const warmup = Number(process.argv[4] ?? 1500);
const target = process.argv[5] ?? 'one-shot';
if (!['one-shot', 'session'].includes(target)) throw new Error(`target: one-shot or session, not ${target}`);
const API_KEY = 'bench-key-0123456789';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

let sessionPath;

/** One sync call of the target; resolves with the parsed body. */
function post(
  port,
  route = sessionPath ?? '/v1/code/execute/python',
  body = sessionPath ? { code: 'x += 1\nx' } : undefined,
) {
  const payload = JSON.stringify(body ?? { code: "print('hi')", timeout: 10 });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: route,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': payload.length, 'x-api-key': API_KEY },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () =>
          res.statusCode === 200 || res.statusCode === 201
            ? resolve(JSON.parse(Buffer.concat(chunks).toString()))
            : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** utime+stime of a process (or, with tid, of one of its threads), in seconds. */
function cpuSeconds(pid, tid) {
  const text = readFileSync(tid ? `/proc/${pid}/task/${tid}/stat` : `/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const LIBRARIES = [
  [
    /^(express|body-parser|router|raw-body|iconv-lite|content-type|type-is|qs|finalhandler|send|path-to-regexp|etag|fresh|on-finished|on-headers|depd|mime-types|accepts|negotiator|statuses|http-errors|media-typer|vary|proxy-addr|cookie|serve-static|parseurl|encodeurl|merge-descriptors|setprototypeof|safe-buffer)$/,
    'Express, router, body parsing',
  ],
  [
    /^(@nestjs\/core|@nestjs\/common|@nestjs\/platform-express|rxjs|reflect-metadata|tslib|iterare)$/,
    'Nest (middleware, guards, pipes, interceptors, rxjs)',
  ],
  [/^(class-validator|class-transformer|validator|libphonenumber-js)$/, 'validation (class-validator/transformer)'],
  [
    /^(pino|pino-http|nestjs-pino|pino-std-serializers|sonic-boom|fast-redact|@pinojs\/redact|quick-format-unescaped|thread-stream|atomic-sleep|on-exit-leak-free|safe-stable-stringify|fast-safe-stringify|pino-abstract-transport)$/,
    'logging (pino, pino-http)',
  ],
  [
    /^(bull|@nestjs\/bull|@nestjs\/bull-shared|lodash|cron-parser|get-port|semver|p-timeout|uuid|msgpackr)$/,
    'Bull (add, events, completion)',
  ],
  [
    /^(ioredis|redis-parser|denque|cluster-key-slot|standard-as-callback|redis-errors|debug|ms|lodash\.\w+)$/,
    'ioredis (commands, replies)',
  ],
  [/^(@nestjs\/throttler|@nest-lab\/throttler-storage-redis)$/, 'rate limiting'],
  [/^prom-client$/, 'metrics'],
  [/^@opentelemetry\//, 'tracing hooks'],
];

/** The component a profile node's own code belongs to, or undefined for a V8 builtin (no URL). */
function componentOf(node) {
  const { url, functionName } = node.callFrame;
  if (functionName === '(garbage collector)') return 'GC (main thread)';
  if (functionName === '(program)') return 'V8/native, unattributed ((program))';
  if (!url) return functionName === 'stringify' || functionName === 'parse' ? 'JSON' : undefined;
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    const name = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    const library = LIBRARIES.find(([pattern]) => pattern.test(name));
    return library ? library[1] : `other library (${name})`;
  }
  const ours = /\/dist\/(.*)$/.exec(url);
  if (ours) {
    const parts = ours[1].split('/');
    return `our code: ${parts.length > 1 ? parts.slice(0, -1).join('/') : parts[0]}`;
  }
  if (/node:_http|node:internal\/http|node:http/.test(url)) return 'Node http (parse, write)';
  if (/node:net|node:internal\/stream|node:stream|node:internal\/net|node:_stream/.test(url))
    return 'Node net and streams (sockets, pipes)';
  if (/async_hooks|async_context|node:internal\/process\/task_queues|promise/.test(url))
    return 'Node promises and async context';
  if (/timers/.test(url)) return 'Node timers';
  if (/child_process|node:internal\/child_process/.test(url)) return 'Node child_process (fork server pipes)';
  return 'Node core, other';
}

function breakdown(profile, fromUs, toUs) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const componentCache = new Map();
  /** A socket or pipe write (its syscall included) counts toward whoever wrote: Redis, HTTP or the fork server. */
  const writer = (id) => {
    for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
      const { url } = byId.get(at).callFrame;
      if (!url || url.startsWith('node:')) continue;
      if (url.includes('/node_modules/ioredis/')) return 'writes of Redis commands (syscalls)';
      if (url.includes('/fork-server.js')) return 'write of the run frame to the fork server (syscall)';
      if (url.includes('/node_modules/express/') || url.includes('/node_modules/@nestjs/'))
        return 'write of the HTTP response (syscall)';
      return undefined;
    }
    return undefined;
  };
  const resolve = (id) => {
    if (componentCache.has(id)) return componentCache.get(id);
    const { functionName } = byId.get(id).callFrame;
    let component = /^(writeUtf8String|writeBuffer|writev|writeLatin1String)$/.test(functionName)
      ? writer(id)
      : undefined;
    component ??= componentOf(byId.get(id));
    if (component === undefined) component = parent.has(id) ? resolve(parent.get(id)) : 'V8 builtins, unattributed';
    componentCache.set(id, component);
    return component;
  };
  const totals = new Map();
  const functions = new Map();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i];
    const next = i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1] : 0;
    if (at < fromUs || at > toUs || byId.get(id).callFrame.functionName === '(idle)') return;
    const component = resolve(id);
    totals.set(component, (totals.get(component) ?? 0) + next);
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const where = `${functionName || '(anonymous)'} ${url.replace(/^.*\/node_modules\//, '')}:${lineNumber + 1}`;
    functions.set(where, (functions.get(where) ?? 0) + next);
  });
  return { totals, functions };
}

async function main() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'node-cpu-profile-'));
  const profDir = path.join(dataDir, 'prof');
  const port = await freePort();
  const env = { ...process.env, API_KEYS: API_KEY, PORT: String(port), LOG_LEVEL: 'warn', DATA_DIR: dataDir };
  delete env.REDIS_URL;
  const child = spawn(
    process.execPath,
    ['--cpu-prof', `--cpu-prof-dir=${profDir}`, path.join(dir, 'dist', 'main.js')],
    {
      cwd: dir,
      env,
      stdio: 'ignore',
    },
  );
  try {
    for (let i = 0; ; i++) {
      try {
        await post(port);
        break;
      } catch (err) {
        if (i > 300) throw err;
        await sleep(100);
      }
    }
    if (target === 'session') {
      const created = await post(port, '/v1/sessions', {});
      sessionPath = `/v1/sessions/${created.response.session_id}/execute`;
      await post(port, sessionPath, { code: 'x = 0' });
    }
    for (let i = 0; i < warmup; i++) await post(port);
    const cpuBefore = cpuSeconds(child.pid);
    const mainBefore = cpuSeconds(child.pid, child.pid);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    for (let i = 0; i < runs; i++) await post(port);
    const toUs = Number(process.hrtime.bigint() / 1000n);
    const processUs = ((cpuSeconds(child.pid) - cpuBefore) * 1e6) / runs;
    const mainUs = ((cpuSeconds(child.pid, child.pid) - mainBefore) * 1e6) / runs;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    const file = readdirSync(profDir).find((name) => name.endsWith('.cpuprofile'));
    const { totals, functions } = breakdown(JSON.parse(readFileSync(path.join(profDir, file), 'utf8')), fromUs, toUs);
    const sampled = [...totals.values()].reduce((a, b) => a + b, 0);
    console.log(
      `${dir}: ${runs} sequential sync ${target === 'session' ? 'session calls' : 'runs'} after ${warmup} of warm-up`,
    );
    console.log(`whole process CPU per run (/proc utime+stime): ${processUs.toFixed(0)} us`);
    console.log(`main thread CPU per run (/proc/<pid>/task/<pid>): ${mainUs.toFixed(0)} us`);
    // Samples also fall where the thread was runnable but not running (a loaded host): their shares
    // are spread over the main thread's measured CPU.
    console.log(
      `main thread, by component (share of ${(sampled / runs).toFixed(0)} us sampled per run, scaled to its CPU):`,
    );
    for (const [component, us] of [...totals].sort((a, b) => b[1] - a[1]))
      console.log(
        `${((us / sampled) * mainUs).toFixed(0).padStart(6)} us  ${((100 * us) / sampled).toFixed(1).padStart(5)} %  ${component}`,
      );
    const top = Number(process.env.TOP_FUNCTIONS ?? 0);
    for (const [where, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`  ${((us / sampled) * mainUs).toFixed(0).padStart(5)} us  ${where}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`node-cpu-profile failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
