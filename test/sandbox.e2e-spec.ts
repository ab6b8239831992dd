import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidsCgroupBase } from '../src/execution/runner/pids-cgroup';
import { hostPidsWith, KEY, SHARED_REDIS_URL, sleep, startTestApp, TestApp } from './utils';

const REDIS_PORT = Number(new URL(SHARED_REDIS_URL).port || 6379);

const PATH = '/v1/code/execute/python';
const SECRET_KEY = 'super-secret-key-123';
const isRoot = process.getuid?.() === 0;

/**
 * Hostile code: each attack must fail, and the next run must still work. `npm test` runs this
 * file twice when started as root: as root, and as an unprivileged user (scripts/test-unprivileged.js).
 */
describe(`sandbox: hostile code (service uid ${process.getuid?.()})`, () => {
  let t: TestApp;
  let servicePort: number;
  let configDir: string;
  beforeAll(async () => {
    // A keys file, as an operator would configure it: the sandbox must not be able to read it.
    configDir = mkdtempSync(join(tmpdir(), 'pyexec-hostile-'));
    writeFileSync(join(configDir, 'keys'), `${SECRET_KEY}\n`);
    t = await startTestApp({ API_KEYS: KEY, API_KEYS_FILE: join(configDir, 'keys'), SCRATCH_MB: '8' });
    await t.app.listen(0, '127.0.0.1');
    servicePort = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(async () => {
    await t.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  const run = (code: string, timeout = 10) => t.http.post(PATH).set('x-api-key', KEY).send({ code, timeout });
  afterEach(async () => {
    const next = await run('6 * 7');
    expect(next.body.response?.result).toBe(42);
  });

  it('cannot connect to Redis on 127.0.0.1 or ::1, nor the service port', async () => {
    const code = `
import socket
results = []
for host, port in [('127.0.0.1', ${REDIS_PORT}), ('127.0.0.1', ${servicePort}), ('::1', ${REDIS_PORT}), ('::1', ${servicePort})]:
    s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET)
    s.settimeout(1)
    try:
        s.connect((host, port))
        results.append('connected')
    except OSError as e:
        results.append(type(e).__name__)
results`;
    const res = await run(code);
    expect(res.status).toBe(200);
    expect(res.body.response.result).not.toContain('connected');
    expect(res.body.response.result).toHaveLength(4);
  });

  // No packet to any address off this machine, not even one expected to be blocked: the run's
  // network namespace has no interface but lo and no route anywhere (its own routing tables).
  it('has no network interface but lo and no route off the machine', async () => {
    const code = `
import socket
def routes(path):
    with open(path) as f:
        return [line.split() for line in f.read().splitlines()]
v4 = routes('/proc/net/route')[1:]
v6 = [r for r in routes('/proc/net/ipv6_route') if r[-1] != 'lo']
{'interfaces': [name for _, name in socket.if_nameindex()], 'v4': v4, 'v6': v6}`;
    const res = await run(code);
    expect(res.status).toBe(200);
    expect(res.body.response.result).toEqual({ interfaces: ['lo'], v4: [], v6: [] });
  });

  it("cannot read the service's environment or API keys", async () => {
    const code = `
import os
seen = dict(os.environ)
for path in ['/proc/1/environ', '/proc/self/environ']:
    try:
        seen[path] = open(path, 'rb').read().decode('latin-1')
    except OSError as e:
        seen[path] = str(e)
seen`;
    const res = await run(code);
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(SECRET_KEY);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('REDIS');
    expect(text).not.toContain(t.prefix);
  });

  it('sees no other processes and cannot signal its parent or everyone', async () => {
    const res = await run(`
import os, signal
pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
errors = []
for target in (os.getppid(), -1):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError as e:
        errors.append(type(e).__name__)
{'pids': pids, 'me': os.getpid(), 'errors': errors}`);
    expect(res.status).toBe(200);
    expect(res.body.response.result.pids).toEqual([1]);
    expect(res.body.response.result.me).toBe(1);
  });

  it('cannot write to /, /usr, /etc, and cannot read service files', async () => {
    const res = await run(`
import os
out = {}
for path in ['/evil', '/usr/evil', '/etc/evil', '/bin/evil']:
    try:
        open(path, 'w').write('x')
        out[path] = 'written'
    except OSError as e:
        out[path] = type(e).__name__
out['cwd'] = os.getcwd()
out['listing'] = sorted(os.listdir('/'))
out['service'] = os.path.exists(${JSON.stringify(process.cwd())})
out`);
    const result = res.body.response.result;
    for (const path of ['/evil', '/usr/evil', '/etc/evil', '/bin/evil']) expect(result[path]).not.toBe('written');
    expect(result.cwd).toBe('/tmp');
    expect(result.service).toBe(false);
    expect(result.listing).not.toContain('work');
    expect(result.listing).not.toContain('root');
  });

  it("cannot read other processes' command lines (the service's, the test runner's)", async () => {
    const res = await run(`
import os
out = {}
for pid in [p for p in os.listdir('/proc') if p.isdigit()] + ['${process.pid}', '${process.ppid}']:
    try:
        out[pid] = open('/proc/%s/cmdline' % pid, 'rb').read().decode('latin-1')
    except OSError as e:
        out[pid] = type(e).__name__
out`);
    expect(res.status).toBe(200);
    const result = res.body.response.result as Record<string, string>;
    expect(result['1']).toContain('python3');
    expect(result[String(process.pid)]).toBe('FileNotFoundError');
    expect(result[String(process.ppid)]).toBe('FileNotFoundError');
    // The only process it can see is its own pid 1.
    expect(Object.keys(result).filter((pid) => result[pid] !== 'FileNotFoundError')).toEqual(['1']);
  });

  it("cannot read the service's source, build, config or keys file", async () => {
    const paths = [
      join(process.cwd(), 'package.json'),
      join(__dirname, '..', 'src', 'main.ts'),
      join(__dirname, '..', 'src', 'execution', 'runner', 'python', 'forkserver.py'),
      join(configDir, 'keys'),
      '/etc/passwd',
      '/root/.bashrc',
      '/proc/1/root/etc/passwd',
    ];
    const res = await run(`
out = {}
for path in ${JSON.stringify(paths)}:
    try:
        out[path] = open(path, 'rb').read(64).decode('latin-1')
    except OSError as e:
        out[path] = type(e).__name__
out`);
    expect(res.status).toBe(200);
    for (const path of paths) expect(res.body.response.result[path]).toMatch(/^(FileNotFoundError|PermissionError)$/);
    expect(JSON.stringify(res.body)).not.toContain(SECRET_KEY);
  });

  it('a memory bomb (one big block, or many small ones) hits the memory limit: 400 naming it', async () => {
    const big = await run('x = bytearray(1024 * 1024 * 1024)');
    expect(big.status).toBe(400);
    expect(big.body.error).toMatch(/Memory limit exceeded/);
    const many = await run('chunks = []\nwhile True:\n    chunks.append(bytearray(8 * 1024 * 1024))');
    expect(many.status).toBe(400);
    expect(many.body.error).toMatch(/[Mm]emory limit/);
  });

  it('an output flood is capped (stdout and stderr) and ends by the timeout at the latest', async () => {
    const res = await run("import sys\nwhile True:\n    print('x' * 65536)\n    print('e' * 65536, file=sys.stderr)", 2);
    expect(res.status).toBe(408);
    expect(res.body.stdout_truncated).toBe(true);
    expect(res.body.stderr_truncated).toBe(true);
    expect(JSON.stringify(res.body).length).toBeLessThan(3 * t.config.maxOutputBytes);
  });

  it('a timeout kills the whole run and answers soon after the deadline', async () => {
    const started = Date.now();
    const res = await run("import os\nfor _ in range(4):\n    os.fork()\nwhile True:\n    pass", 1);
    expect(res.status).toBe(408);
    expect(Date.now() - started).toBeLessThan(2000); // timing lives in bench/; this bound is generous
  });

  it('filling the scratch dir hits the scratch limit (400 naming it)', async () => {
    const res = await run("f = open('big', 'wb')\nwhile True:\n    f.write(b'x' * 1048576)");
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/limit exceeded/);
  });

  it('a fork bomb is contained (processes limit), does not starve the host or other runs, and ends by the timeout at the latest', async () => {
    const bomb = run("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass", 3);
    await sleep(1000);
    // Meanwhile: the host can still start processes, and another run works.
    expect(execFileSync('/bin/echo', ['host ok']).toString()).toBe('host ok\n');
    const other = await run('6 * 7');
    expect(other.body.response?.result).toBe(42);
    const res = await bomb;
    expect([400, 408]).toContain(res.status);
  });

  it('the fork server runs as an unprivileged uid: 65534 in a pids cgroup as root, else the service\'s own uid', async () => {
    const res = await run('6 * 7');
    const serverPid = res.body.queue_id as number;
    const status = readFileSync(`/proc/${serverPid}/status`, 'utf8');
    if (isRoot) {
      expect(status).toMatch(/^Uid:\s+65534\s/m);
      // cgroup v1 pids is mounted here and in CI; where it is missing the service logs that and relies on RLIMIT_NPROC.
      if (pidsCgroupBase()) expect(readFileSync(`/proc/${serverPid}/cgroup`, 'utf8')).toMatch(/pids:\/pyexec-\d+-\w+\/server-\d+/);
    } else {
      expect(status).toMatch(new RegExp(`^Uid:\\s+${process.getuid?.()}\\s`, 'm'));
    }
  });

  it('a thread bomb is contained', async () => {
    const res = await run("import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()", 3);
    expect([400, 408]).toContain(res.status);
    expect(res.body.error).toMatch(/limit exceeded|timed out/);
  });

  it('cannot raise its own hard limits through ctypes', async () => {
    const res = await run(`
import ctypes, resource
libc = ctypes.CDLL(None, use_errno=True)
class RLimit(ctypes.Structure):
    _fields_ = [('cur', ctypes.c_ulong), ('max', ctypes.c_ulong)]
big = RLimit(2**62, 2**62)
rc = libc.setrlimit(resource.RLIMIT_AS, ctypes.byref(big))
(rc, ctypes.get_errno(), resource.getrlimit(resource.RLIMIT_AS)[1] < 2**40)`);
    expect(res.body.response.result[0]).toBe(-1);
    expect(res.body.response.result[2]).toBe(true);
  });

  it('a session-leader grandchild does not survive the timeout on the host', async () => {
    const marker = `${Math.floor(Math.random() * 1e6) + 1000}.25`;
    const res = await run(`
import os, subprocess, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        subprocess.Popen(['sleep', '${marker}'], start_new_session=True)
    os._exit(0)
time.sleep(30)`, 1);
    expect(res.status).toBe(408);
    await sleep(200);
    expect(hostPidsWith(`sleep ${marker}`)).toEqual([]);
  });

  it('two concurrent runs cannot see each other’s files or processes', async () => {
    const writer = run("import time\nopen('/tmp/mine.txt', 'w').write('secret')\ntime.sleep(1.5)\n'done'").then((r) => r); // sent now
    await sleep(300);
    const reader = await run("import os\n(os.listdir('/tmp'), sorted(p for p in os.listdir('/proc') if p.isdigit()))");
    expect(reader.body.response.result).toEqual([[], ['1']]);
    expect((await writer).body.response.result).toBe('done');
  });
});
