import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  HONEST_CHILDREN_PY,
  msgQueuePy,
  rawExitPy,
  SETSID_PY,
  SOCKET_BUFFERS_PY,
  SOCKET_FAMILIES_PY,
  SOCKET_FAMILIES_RESULT,
} from '../support/hardening-snippets';

/**
 * The image and compose.yaml end to end, as a user runs them: build, `compose up`, the seed example,
 * an async job that survives SIGKILL of the api and worker containers, and hostile code over HTTP.
 * Containers run as uid 1000 with compose.yaml's security options (the shipped seccomp profile
 * included). Docker or podman: CONTAINER_CLI (default: podman, else docker) and COMPOSE (default:
 * podman-compose with podman, `docker compose` with docker). Run by `npm run test:containers`.
 */
const root = join(__dirname, '..', '..');
const cli = process.env.CONTAINER_CLI ?? (onPath('podman') ? 'podman' : 'docker');
const compose = (process.env.COMPOSE ?? (cli === 'podman' ? 'podman-compose' : 'docker compose')).split(' ');
const suffix = randomBytes(4).toString('hex');
const project = `pyexec-e2e-${suffix}`;
const image = `localhost/pyexec-e2e:${suffix}`;
const apiKey = `e2e-${randomBytes(12).toString('hex')}`;
const timings: Record<string, number> = {};
let port = 0;
let base = '';

function onPath(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function run(file: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync(file, args, {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

function composeRun(...args: string[]): string {
  const env = { PYEXEC_IMAGE: image, API_KEYS: apiKey, PORT: String(port) };
  return run(compose[0], [...compose.slice(1), '-p', project, ...args], env);
}

/** Ids of the project's containers of one service (compose labels, set by docker compose and podman-compose). */
function containersOf(service: string): string[] {
  const filters = [`label=com.docker.compose.project=${project}`, `label=com.docker.compose.service=${service}`];
  return run(cli, ['ps', '-a', '-q', ...filters.flatMap((f) => ['--filter', f])])
    .split('\n')
    .filter(Boolean);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as { port: number };
      server.close(() => resolve(free));
    });
  });
}

async function until<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`${what}: not within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies */
async function execute(body: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}/v1/code/execute/python`, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  return { status: response.status, body: await response.json() };
}

async function job(id: string): Promise<any> {
  const response = await fetch(`${base}/v1/jobs/${id}`, { headers: { 'x-api-key': apiKey } });
  return response.ok ? ((await response.json()) as any).response : undefined;
}

const seed = { code: 'print("Hello, World!")', timeout: 10, id: 'seed-1' };

describe(`the image with compose.yaml (${cli}, ${compose.join(' ')})`, () => {
  beforeAll(async () => {
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    let started = Date.now();
    run(cli, ['build', '--network=host', '-t', image, '.']);
    timings.buildSeconds = (Date.now() - started) / 1000;
    started = Date.now();
    composeRun('up', '-d');
    await until('/health/ready', 180_000, async () => {
      const response = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(2000) });
      return response.ok ? true : undefined;
    });
    timings.upToReadySeconds = (Date.now() - started) / 1000;
    // The API is ready before the worker: the seed example answers once a worker runs code.
    await until('a worker', 180_000, async () => ((await execute(seed)).status === 200 ? true : undefined));
    timings.upToFirstRunSeconds = (Date.now() - started) / 1000;
  }, 900_000);

  afterAll(() => {
    for (const step of [
      () => composeRun('down', '-v'),
      () => run(cli, ['network', 'rm', '-f', `${project}_default`]),
      () => run(cli, ['rmi', '-f', image]),
    ]) {
      try {
        step();
      } catch {
        // already gone (docker compose removes its network itself)
      }
    }
    console.log(`container e2e timings: ${JSON.stringify(timings)}`);
  }, 180_000);

  it('runs the seed example (200) as uid 1000, in a read-only container without capabilities', async () => {
    const { status, body } = await execute(seed);
    expect(status).toBe(200);
    expect(body.response.stdout).toBe('Hello, World!\n');
    for (const service of ['api', 'worker']) {
      const [id] = containersOf(service);
      const inspect = JSON.parse(run(cli, ['inspect', id]))[0];
      expect(inspect.Config.User).toBe('1000:1000');
      expect(inspect.HostConfig.ReadonlyRootfs).toBe(true);
      expect(inspect.HostConfig.Privileged).toBe(false);
    }
    const status1000 = run(cli, ['exec', containersOf('worker')[0], 'id', '-u']).trim();
    expect(status1000).toBe('1000');
  });

  it('completes an accepted async job after SIGKILL of the api and worker containers', async () => {
    const accepted = await execute({ code: 'import time\ntime.sleep(2)\nprint("survived")', async: true });
    expect(accepted.status).toBe(202);
    const jobId = accepted.body.job_id as string;
    const killed = [...containersOf('api'), ...containersOf('worker')];
    expect(killed).toHaveLength(2);
    run(cli, ['kill', '--signal', 'KILL', ...killed]);
    const started = Date.now();
    composeRun('up', '-d');
    const done = await until('the job to end', 180_000, async () => {
      const record = await job(jobId);
      return record && ['completed', 'failed', 'cancelled'].includes(record.status) ? record : undefined;
    });
    timings.killToJobDoneSeconds = (Date.now() - started) / 1000;
    expect(done.status).toBe('completed');
    expect(done.result.response.stdout).toBe('survived\n');
  }, 300_000);

  describe('hostile code is contained', () => {
    it('reaches no network: not the API, not Redis, no name resolution', async () => {
      const code = [
        'import socket',
        'out = []',
        'for host, port in [("127.0.0.1", 3000), ("127.0.0.1", 6379), ("redis", 6379), ("api", 3000)]:',
        '    try:',
        '        socket.create_connection((host, port), timeout=2).close()',
        '        out.append("open")',
        '    except OSError:',
        '        out.append("closed")',
        'return out',
      ].join('\n');
      const { status, body } = await execute({ code });
      expect(status).toBe(200);
      expect(body.response.result).toEqual(['closed', 'closed', 'closed', 'closed']);
    });

    it("sees none of the service's environment", async () => {
      const { body } = await execute({ code: 'import os\nreturn sorted(os.environ)' });
      expect(body.response.result).not.toEqual(expect.arrayContaining(['API_KEYS']));
      expect(JSON.stringify(body)).not.toContain(apiKey);
      expect(JSON.stringify(body)).not.toContain('redis://');
    });

    it('sees no other process', async () => {
      const code = [
        'import os',
        'cmds = []',
        'for pid in [p for p in os.listdir("/proc") if p.isdigit()]:',
        '    try:',
        '        cmds.append(open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace"))',
        '    except OSError:',
        '        pass',
        'return cmds',
      ].join('\n');
      const { body } = await execute({ code });
      // Program names only: the sandbox's own command line carries its source text, which names anything.
      const programs = (body.response.result as string[]).map((c) => c.split('\0')[0].split('/').pop());
      expect(programs.filter((p) => ['node', 'tini', 'redis-server', 'bwrap'].includes(p!))).toEqual([]);
      expect(programs.length).toBeLessThan(5);
    });

    it('is stopped by its limits: fork bomb, memory, disk, output flood; the service answers on', async () => {
      const forkBomb = await execute({ code: 'import os\nwhile True:\n    os.fork()', timeout: 5 });
      expect([400, 408]).toContain(forkBomb.status);
      const memory = await execute({ code: 'x = bytearray(2 * 1024**3)\nx[::4096] = b"y" * len(x[::4096])' });
      expect(memory.status).toBe(400);
      expect(memory.body.error).toMatch(/[Mm]emory limit exceeded/);
      const disk = await execute({
        code: 'with open("/tmp/fill", "wb") as f:\n    for _ in range(1024):\n        f.write(b"x" * 1024**2)',
      });
      expect(disk.status).toBe(400);
      expect(disk.body.error).toMatch(/limit exceeded/);
      const root = await execute({ code: 'open("/etc/owned", "w").write("x")' });
      expect(root.status).toBe(400);
      expect(root.body.error).toMatch(/Read-only file system|Permission denied|No such file/);
      const flood = await execute({ code: 'import sys\nfor _ in range(64):\n    sys.stdout.write("x" * 1024**2)' });
      expect(flood.status).toBe(200);
      expect(flood.body.response.stdout_truncated).toBe(true);
      expect((await execute(seed)).status).toBe(200);
    }, 180_000);

    it('holds the hardening attacks (issue 24) with the watchdog as its memory bound (read-only cgroupfs, uid 1000), 20 honest runs: 0 false kills', async () => {
      const runtime = await fetch(`${base}/v1/runtime`, { headers: { 'x-api-key': apiKey } });
      const { sandbox } = ((await runtime.json()) as any).response;
      expect(sandbox.memory_bound).toBe('watchdog');
      const memoryLimitMb = 256; // MEMORY_LIMIT_MB's default: compose.yaml does not set it
      const families = await execute({ code: SOCKET_FAMILIES_PY });
      expect([families.status, families.body.response?.result]).toEqual([200, SOCKET_FAMILIES_RESULT]);
      const setsid = await execute({ code: SETSID_PY });
      expect([setsid.status, setsid.body.response?.result]).toEqual([200, ['EPERM', 'EPERM', 0]]);
      const queues = await execute({ code: msgQueuePy(memoryLimitMb), timeout: 20 });
      expect([queues.status, queues.body.response?.result]).toEqual([200, [0, 'ENOSYS']]);
      const sockets = await execute({ code: SOCKET_BUFFERS_PY, timeout: 20 });
      expect([sockets.status, sockets.body.error]).toEqual([400, 'Memory limit exceeded']);
      expect(sockets.body.stdout).toMatch(/EPERM/);
      const rawExit = await execute({ code: rawExitPy(memoryLimitMb), timeout: 15 });
      expect([400, 200]).toContain(rawExit.status); // not 500, not 408: the run ended with pid 1
      const honest: string[] = [];
      for (let i = 0; i < 20; i += 2) {
        const pair = await Promise.all([1, 2].map(() => execute({ code: HONEST_CHILDREN_PY, timeout: 30 })));
        for (const res of pair)
          honest.push(res.status === 200 ? res.body.response.result : `${res.status} ${res.body.error}`);
      }
      expect(honest.filter((answer) => answer !== 'done')).toEqual([]); // 0 false "Memory limit exceeded"
      expect((await execute(seed)).status).toBe(200);
    }, 180_000);
  });
});
