import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeForkServerOptions } from '../../../test/support/fake-fork-server-options';
import { ForkServer } from './fork-server';
import { SandboxPool } from './sandbox-pool';

// A fork server that breaks the protocol on request (test/support/fake-fork-server.js): what Node does
// with bad frames from the untrusted side, with a real child process and real pipes.
let binDir: string;

const serverOptions = (start: 'ready' | 'garbage' = 'ready') => fakeForkServerOptions(binDir, start);

const request = (code: string) => ({ runId: `run-${code}`, code, stdin: '', timeoutMs: 10_000 });

/** Resolves with the 'exit' event's detail. */
const exited = (server: ForkServer) => new Promise<string>((resolve) => server.once('exit', resolve));

beforeAll(() => {
  binDir = mkdtempSync(join(tmpdir(), 'fake-fork-server-'));
});
afterAll(() => rmSync(binDir, { recursive: true, force: true }));

describe('ForkServer with a server that breaks the protocol', () => {
  const servers: ForkServer[] = [];
  const started = async (start: 'ready' | 'garbage' = 'ready') => {
    const server = new ForkServer(serverOptions(start));
    servers.push(server);
    await server.start();
    return server;
  };
  afterEach(() => servers.splice(0).forEach((server) => server.kill()));

  it('answers a well-formed frame, even one written a byte at a time', async () => {
    const server = await started();
    await expect(server.run(request('ok'))).resolves.toMatchObject({ status: 'exited', stdout: 'fake\n', result: 1 });
    await expect(server.run(request('one-byte-at-a-time'))).resolves.toMatchObject({ stdout: 'slow\n' });
    expect(server.alive).toBe(true);
  });

  it("hands its run's output frames to onOutput, in order, before the outcome; another run's are ignored", async () => {
    const server = await started();
    const chunks: string[] = [];
    const outcome = await server.run({
      ...request('with-output'),
      onOutput: (stream, data) => chunks.push(`${stream}:${data}`),
    });
    expect(chunks).toEqual(['stdout:a\n', 'stdout:b']);
    expect(outcome).toMatchObject({ status: 'exited', stdout: 'a\nb' });
  });

  it.each(['not-json', 'bad-shape', 'huge-length'])(
    'ends the run as crashed and kills the server on %s',
    async (code) => {
      const server = await started();
      const exit = exited(server);
      const startedAt = Date.now();
      const outcome = await server.run(request(code));
      expect(outcome).toMatchObject({ status: 'crashed', error: 'fork server sent a malformed frame' });
      // Well before the 10 s deadline and its backstop: nothing waited for a body that never comes.
      expect(Date.now() - startedAt).toBeLessThan(5_000);
      expect(server.alive).toBe(false);
      await expect(exit).resolves.toMatch(/SIGKILL/);
    },
  );

  it('waits for a slow server while it beats, past the deadline and the backstop', async () => {
    const server = await started();
    const slow = { runId: 'run-slow', code: 'slow-with-heartbeats', stdin: '', timeoutMs: 200 };
    // deadline 200 ms + backstop 1 s < the answer at 1.5 s: a fixed backstop would have made a 500
    await expect(server.run(slow)).resolves.toMatchObject({ status: 'exited', stdout: 'late\n' });
    expect(server.alive).toBe(true);
  });

  it('gives up on a silent server a backstop after the deadline, and kills it', async () => {
    const server = await started();
    const exit = exited(server);
    const startedAt = Date.now();
    const outcome = await server.run({ runId: 'run-silent', code: 'silent', stdin: '', timeoutMs: 200 });
    expect(outcome).toMatchObject({ status: 'crashed', error: 'fork server did not answer after the deadline' });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_150);
    await expect(exit).resolves.toMatch(/SIGKILL/);
  });

  it('says when the server died in the middle of a frame', async () => {
    const server = await started();
    const exit = exited(server);
    await expect(server.run(request('cut-header'))).resolves.toMatchObject({ status: 'crashed' });
    await expect(exit).resolves.toMatch(/exited with 3 in the middle of a frame/);
  });

  it('fails its start on a malformed frame instead of the ready message', async () => {
    await expect(started('garbage')).rejects.toThrow(/broke the protocol: frame is not JSON/);
  });
});

describe('SandboxPool with a server that breaks the protocol', () => {
  let pool: SandboxPool;
  beforeAll(async () => {
    pool = new SandboxPool({ servers: 1, server: serverOptions(), maxRunsPerServer: 100, maxServerAgeMs: 60_000 });
    await pool.start();
  });
  afterAll(() => pool.close());

  it('replaces the server and the next run is answered', async () => {
    await expect(pool.run(request('not-json'))).resolves.toMatchObject({ status: 'crashed' });
    await expect(pool.run(request('ok'))).resolves.toMatchObject({ status: 'exited', result: 1 });
    expect(pool.stats().restarts).toBe(1);
  });
});
