import {
  HONEST_CHILDREN_PY,
  msgQueuePy,
  rawExitPy,
  SETSID_PY,
  SOCKET_BUFFERS_PY,
  SOCKET_FAMILIES_PY,
  SOCKET_FAMILIES_RESULT,
} from './support/hardening-snippets';
import { hostPidsWith, KEY, scaledMs, scaledTimeoutSec, startTestApp, TestApp } from './utils';

const PATH = '/v1/code/execute/python';
const isRoot = process.getuid?.() === 0;

/**
 * Hardening (issue 24): attacks that got past the sandbox in some mode (root or unprivileged, cgroup
 * v1 or v2, or the watchdog), and honest code the watchdog once killed. `npm test` runs this file as
 * root and, when root, again as an unprivileged user (scripts/test-unprivileged.js); so does
 * `npm run test:hostile`.
 */
describe(`sandbox hardening (service uid ${process.getuid?.()})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SANDBOX_SERVERS: '2', WORKER_CONCURRENCY: '2' });
  });
  afterAll(() => t.close());

  const run = (code: string, timeout = 10) => t.http.post(PATH).set('x-api-key', KEY).send({ code, timeout });
  afterEach(async () => {
    const next = await run('6 * 7');
    expect(next.body.response?.result).toBe(42);
  });

  it('cannot create AF_VSOCK (stream, seqpacket), AF_NETLINK or AF_PACKET sockets; unix and IP sockets still work', async () => {
    const res = await run(SOCKET_FAMILIES_PY);
    expect(res.status).toBe(200);
    expect(res.body.response.result).toEqual(SOCKET_FAMILIES_RESULT);
  });

  it('sees /proc as Docker masks it: kcore, keys, timer_list, sched_debug empty; /proc/sys read-only', async () => {
    const res = await run(`
import errno, os
def size(name):
    path = '/proc/' + name
    if not os.path.exists(path):
        return 'absent'
    if os.path.isdir(path):
        return len(os.listdir(path))
    with open(path, 'rb') as f:
        return len(f.read(4096))
def write_sys():
    try:
        with open('/proc/sys/kernel/msgmnb', 'w') as f:
            f.write('1')
        return 'written'
    except OSError as e:
        return errno.errorcode[e.errno]
[[size(n) for n in ('kcore', 'keys', 'timer_list', 'sched_debug', 'interrupts', 'scsi', 'acpi')], write_sys(),
 len(open('/proc/meminfo').read()) > 0]`);
    expect(res.status).toBe(200);
    const [sizes, write, meminfo] = res.body.response.result as [Array<number | string>, string, boolean];
    for (const size of sizes) expect([0, 'absent']).toContain(size);
    expect(write).toBe('EROFS');
    expect(meminfo).toBe(true); // an ordinary /proc file still reads
  });

  it('setsid is refused (each session would be a scheduler autogroup of its own)', async () => {
    const res = await run(SETSID_PY);
    expect(res.status).toBe(200);
    expect(res.body.response.result).toEqual(['EPERM', 'EPERM', 0]);
  });

  it("slot B's short job ends while slot A spins 32 processes that loop setsid", async () => {
    const marker = `${Math.floor(Math.random() * 1e6) + 1000}.25`; // a sleep the spinner starts first, seen on the host
    const spinner = run(
      `
import os, subprocess
subprocess.Popen(['/usr/bin/sleep', '${marker}'])
for _ in range(31):
    if os.fork() == 0:
        break
while True:
    try:
        os.setsid()
    except OSError:
        pass`,
      8,
    );
    const spinning = spinner.then((r) => r); // sent now
    await waitFor(() => hostPidsWith(`sleep ${marker}`).length > 0);
    const startedAt = Date.now();
    const short = await run('sum(range(200000))');
    const shortMs = Date.now() - startedAt;
    expect(short.status).toBe(200);
    expect(short.body.response.result).toBe(19999900000);
    expect(shortMs).toBeLessThan(scaledMs(5_000)); // generous: the bench (bench/cpu-starvation.js) has the figure
    const spun = await spinning;
    expect(spun.status).toBe(408); // A still ran to its timeout: B ended meanwhile
  });

  it('SysV message queues cannot hold kernel memory past the limit (refused under the watchdog, charged to the cgroup)', async () => {
    const res = await run(msgQueuePy(t.config.memoryLimitMb), 20);
    if (res.status === 200) {
      const [queued, error] = res.body.response.result as [number, string];
      expect(queued).toBeLessThan(t.config.memoryLimitMb * 1024 * 1024);
      if (!isRoot) expect([queued, error]).toEqual([0, 'ENOSYS']);
    } else {
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/Memory limit exceeded|most likely by the memory limit/);
    }
  });

  it('socket buffers cannot hold memory past the limit (sizes cannot be raised, full sockets are counted)', async () => {
    const res = await run(SOCKET_BUFFERS_PY, 20);
    if (isRoot) {
      expect([200, 400]).toContain(res.status); // the cgroup counts what its kernel charges
    } else {
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('Memory limit exceeded');
      expect(res.body.response?.stdout ?? res.body.stdout ?? '').toMatch(/EPERM/);
    }
  });

  it("pid 1's main thread leaving with a raw exit ends the run: its children cannot keep allocating unmeasured", async () => {
    const startedAt = Date.now();
    const res = await run(rawExitPy(t.config.memoryLimitMb), 15);
    expect(res.status).not.toBe(500);
    expect(res.status).not.toBe(408); // the old watchdog saw nothing and let it run to its timeout
    expect(Date.now() - startedAt).toBeLessThan(scaledMs(12_000));
  });

  it(
    'honest runs whose children exit while allocating and freeing memory: 50 runs, 0 false "Memory limit exceeded"',
    async () => {
      const code = HONEST_CHILDREN_PY;
      const answers: string[] = [];
      for (let i = 0; i < 50; i += 2) {
        // An honest run's own timeout is only about time: scaled where everything is slow (at most MAX_TIMEOUT).
        const pair = await Promise.all([run(code, scaledTimeoutSec(20)), run(code, scaledTimeoutSec(20))]);
        for (const res of pair)
          answers.push(res.status === 200 ? res.body.response.result : `${res.status} ${res.body.error}`);
      }
      expect(answers.filter((answer) => answer !== 'done')).toEqual([]);
    },
    scaledMs(300_000),
  );

  async function waitFor(condition: () => boolean): Promise<void> {
    const deadline = Date.now() + scaledMs(10_000);
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
});
