import { readdirSync, readFileSync } from 'node:fs';
import { createSandboxPool, RunnerSettings } from './runner.factory';
import { SandboxPool } from './sandbox-pool';

/** Resolves once `condition` holds (checked every few ms); fails after `timeoutMs`. */
async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A started pool of real fork servers for one describe block, closed after it. */
function usePool(overrides: Partial<RunnerSettings>): () => SandboxPool {
  let pool: SandboxPool;
  beforeAll(async () => {
    pool = createSandboxPool({
      sandbox: 'bwrap',
      sandboxServers: 2,
      sandboxUidBase: 2_000_000_100,
      pythonBin: '/usr/bin/python3',
      memoryLimitMb: 256,
      maxOutputBytes: 1024,
      scratchMb: 16,
      ...overrides,
    });
    await pool.start();
  });
  afterAll(() => pool.close());
  return () => pool;
}

describe('SandboxPool (real bwrap + /usr/bin/python3)', () => {
  const pool = usePool({});
  const run = (code: string, timeoutMs = 5000, stdin = '') =>
    pool().run({ runId: Math.random().toString(36), code, stdin, timeoutMs });

  it('captures stdout and the last expression', async () => {
    const outcome = await run("print('hi')\n6 * 7");
    expect(outcome).toMatchObject({ status: 'exited', exitCode: 0, stdout: 'hi\n', result: 42, error: null });
  });

  it('runs two programs at once on two servers', async () => {
    // Each program reports when it started and ended (the host's clock): the two spans overlap.
    const span = 'import time\nstart = time.time()\ntime.sleep(0.5)\n(start, time.time())';
    const both = await Promise.all([run(span), run(span)]);
    expect(both.map((o) => o.status)).toEqual(['exited', 'exited']);
    expect(new Set(both.map((o) => o.serverPid)).size).toBe(2);
    const [[start1, end1], [start2, end2]] = both.map((o) => o.result as [number, number]);
    expect(start1 < end2 && start2 < end1).toBe(true);
  });

  it('truncates output at the cap', async () => {
    const outcome = await run("print('x' * 5000)");
    expect(outcome.stdout.length).toBe(1024);
    expect(outcome.stdoutTruncated).toBe(true);
  });

  it('cancels a running program through an AbortSignal', async () => {
    const controller = new AbortController();
    const running = pool().run(
      { runId: 'c1', code: 'import time; time.sleep(30)', stdin: '', timeoutMs: 10_000 },
      controller.signal,
    );
    await until('the run to be on a server', () => pool().stats().busy === 1);
    const abortedAt = Date.now();
    controller.abort();
    expect((await running).status).toBe('cancelled');
    expect(Date.now() - abortedAt).toBeLessThan(1000);
  }, 15_000);

  it('replaces a server that dies, and keeps answering', async () => {
    const before = pool().stats().restarts;
    // Kill every fork server from outside; runs afterwards must still work.
    for (const server of (pool() as unknown as { servers: Set<{ kill(): void }> }).servers) server.kill();
    await until('both servers to be replaced', () => pool().stats().restarts === before + 2);
    const outcome = await run('1 + 1');
    expect(outcome.result).toBe(2);
  });

  it('reports healthy', async () => {
    await expect(pool().isHealthy()).resolves.toBe(true);
  });
});

describe('SandboxPool health while every server is busy', () => {
  const pool = usePool({ sandboxServers: 1 });

  it('answers healthy at once instead of queueing a probe behind the running program', async () => {
    let runEnded = false;
    const long = pool()
      .run({ runId: 'long', code: 'import time; time.sleep(3)', stdin: '', timeoutMs: 10_000 })
      .then((outcome) => ((runEnded = true), outcome));
    await until('the run to be on the server', () => pool().stats().busy === 1);
    await expect(pool().isHealthy()).resolves.toBe(true);
    expect(runEnded).toBe(false);
    expect((await long).status).toBe('exited');
  }, 15_000);
});

describe('SandboxPool recycling under load', () => {
  const pool = usePool({ recycleAfterRuns: 5 });

  it('never hands a run to a server it is recycling: every run of a busy pool succeeds', async () => {
    // Regression: a server killed for recycling stayed "alive" until its exit event, and a run
    // dispatched in between failed with "fork server exited with SIGKILL" (a 500).
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        pool().run({ runId: `r${i}`, code: `${i} * 2`, stdin: '', timeoutMs: 10_000 }),
      ),
    );
    expect(outcomes.filter((o) => o.status !== 'exited').map((o) => o.error)).toEqual([]);
    expect(outcomes.map((o) => o.result)).toEqual(Array.from({ length: 60 }, (_, i) => i * 2));
    expect(pool().stats().restarts).toBeGreaterThanOrEqual(10);
  }, 60_000);
});

describe('SandboxPool: a run whose output never closes after the kill', () => {
  // SANDBOX=process has no pid namespace, so a daemon that leaves the run's session survives the
  // kill and keeps stdout open: the stand-in for a task the kernel has not finished killing.
  const pool = usePool({ sandbox: 'process', sandboxServers: 1 });

  it('is reported (timeout) shortly after the kill, without losing the fork server', async () => {
    const daemon = [
      'import os, time',
      'if os.fork() == 0:',
      '    os.setsid()',
      '    if os.fork() == 0:',
      '        time.sleep(4)', // holds the run's stdout, outside its session
      '    os._exit(0)',
      'time.sleep(30)',
    ].join('\n');
    const before = pool().stats().restarts;
    const started = Date.now();
    const outcome = await pool().run({ runId: 'stuck', code: daemon, stdin: '', timeoutMs: 1000 });
    expect(outcome.status).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1900); // deadline + 0.5 s grace, under the 1 s backstop
    expect(pool().stats().restarts).toBe(before);
    expect((await pool().run({ runId: 'next', code: '2 + 2', stdin: '', timeoutMs: 5000 })).result).toBe(4);
  });
  it('still gets the seccomp filter and a memory bound for the whole run (cgroup as root, else the watchdog)', async () => {
    const keyctl = await pool().run({
      runId: 'seccomp',
      stdin: '',
      timeoutMs: 5000,
      code: "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nnr = {'x86_64': 250, 'aarch64': 219}[os.uname().machine]\n(libc.syscall(nr, 0, 0, 0, 0, 0), ctypes.get_errno())",
    });
    expect(keyctl.result).toEqual([-1, 1]); // EPERM
    const hogs = await pool().run({
      runId: 'memory',
      stdin: '',
      timeoutMs: 10_000,
      code: 'import os, time\nfor _ in range(4):\n    if os.fork() == 0:\n        block = b"x" * (160 << 20)\n        time.sleep(2)\n        os._exit(0)\ntime.sleep(3)',
    });
    expect(hogs).toMatchObject({ error: 'Memory limit exceeded', limit: 'memory' });
  });
});

describe('SandboxPool: the fork server supervises its runs itself', () => {
  const pool = usePool({ sandboxServers: 1 });
  const run = (runId: string, code: string, timeoutMs = 5000, stdin = '', signal?: AbortSignal) =>
    pool().run({ runId, code, stdin, timeoutMs }, signal);

  /** The fork server's python process (under bwrap's two processes) and what it holds. */
  function serverState(bwrapPid: number): { fds: number; children: number[] } {
    const children = (pid: number) =>
      readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    let pid = bwrapPid;
    while (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/usr/bin/python3')) pid = children(pid)[0];
    return { fds: readdirSync(`/proc/${pid}/fd`).length, children: children(pid) };
  }
  /**
   * Once the next run is prepared: right after the server answered, so a moment after we have the
   * answer (the template clones it, then hands its pipes to the server): two children, and the same
   * descriptors for 100 ms.
   */
  async function settledState(bwrapPid: number): Promise<{ fds: number; children: number[] }> {
    const seen: string[] = [];
    for (let i = 0; i < 150; i++) {
      const state = serverState(bwrapPid);
      seen.push(JSON.stringify(state));
      if (state.children.length === 2 && seen.length >= 5 && new Set(seen.slice(-5)).size === 1) return state;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return serverState(bwrapPid);
  }

  it('keeps no descriptor or process of an ended run, however it ended: its template and one prepared run are all it holds', async () => {
    const first = await run('first', '1');
    const before = await settledState(first.serverPid!);
    expect(before.children).toHaveLength(2); // the template runs are cloned from, and the next run, prepared
    const cancelled = async () => {
      const controller = new AbortController();
      const running = run('cancel', 'import time; time.sleep(30)', 10_000, '', controller.signal);
      await until('the run to be on the server', () => pool().stats().busy === 1);
      controller.abort();
      return running;
    };
    const outcomes = [
      await run('stdin', 'input()', 5000, 'line\n'),
      await run('lone-surrogate', 'len(input())', 5000, 'a\ud800b\n'),
      await run('big-stdin', 'len(open(0).read(10))', 5000, 'x'.repeat(1 << 20)),
      await run('timeout', 'while True:\n    pass', 300),
      await cancelled(),
      await run('crash', 'import os; os._exit(3)'),
      await run('daemon', 'import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(30)\n"left"'),
      await run('output', "print('x' * 100000)"),
    ];
    expect(outcomes.map((o) => o.status)).toEqual([
      'exited',
      'exited',
      'exited',
      'timeout',
      'cancelled',
      'exited',
      'exited',
      'exited',
    ]);
    expect(outcomes[0].result).toBe('line');
    expect(outcomes[1].result).toBe(5); // a, the surrogate's three bytes (escaped), b
    expect(outcomes[5].exitCode).toBe(3);
    const after = await settledState(first.serverPid!);
    expect(after.fds).toBe(before.fds);
    expect(after.children).toHaveLength(2);
    expect(after.children[0]).toBe(before.children[0]); // the same template
    expect(after.children[1]).not.toBe(before.children[1]); // a new prepared run
  }, 30_000);
});
