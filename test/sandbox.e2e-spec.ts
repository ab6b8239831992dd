import { hostPidsWith, KEY, sleep, startTestApp, TestApp } from './utils';

const PATH = '/v1/code/execute/python';

/** Hostile code: each attack must fail, and the next run must still work. */
describe('sandbox: hostile code', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ API_KEYS: `${KEY},super-secret-key-123`, SCRATCH_MB: '8' });
  });
  afterAll(() => t.close());

  const run = (code: string, timeout = 10) => t.http.post(PATH).set('x-api-key', KEY).send({ code, timeout });
  afterEach(async () => {
    const next = await run('6 * 7');
    expect(next.body.response?.result).toBe(42);
  });

  it('cannot connect to Redis on 127.0.0.1, the service port, or outside', async () => {
    const code = `
import socket
results = []
for host, port in [('127.0.0.1', 6379), ('127.0.0.1', 3000), ('1.1.1.1', 53)]:
    s = socket.socket()
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
    expect(res.body.response.result).toHaveLength(3);
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
    expect(text).not.toContain('super-secret-key-123');
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

  it('filling the scratch dir hits the scratch limit (400 naming it)', async () => {
    const res = await run("f = open('big', 'wb')\nwhile True:\n    f.write(b'x' * 1048576)");
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/limit exceeded/);
  });

  it('a fork bomb is contained (processes limit) and ends by the timeout at the latest', async () => {
    const res = await run("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass", 2);
    expect([400, 408]).toContain(res.status);
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
