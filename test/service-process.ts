import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { KEY, OTHER_KEY, SHARED_REDIS_URL } from './utils';

const root = join(__dirname, '..');
// Built by Jest's globalSetup: the same `nest build` as `npm start`, into a test-only outDir.
export const serviceMain = join(root, 'dist-test', 'main.js');

/** A real service process, built by Jest's globalSetup (test/support/build-service.js), as `npm start` would run it. */
export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** stdout and stderr, interleaved. */
  output(): string;
  stdout(): string;
  /** Resolves with how the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts one service process on the shared test Redis under `prefix`; resolves once it is serving.
 * `wrap`: a command the service runs under (e.g. `unshare --pid --fork`); `child` is then that command.
 */
export async function startServiceProcess(
  prefix: string,
  env: Record<string, string>,
  wrap: string[] = [],
): Promise<ServiceProcess> {
  const port = await freePort();
  const [file, ...args] = [...wrap, process.execPath, serviceMain];
  const child = spawn(file, args, {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      REDIS_URL: SHARED_REDIS_URL,
      REDIS_PREFIX: prefix,
      API_KEYS: `${KEY},${OTHER_KEY}`,
      SANDBOX_SERVERS: '1',
      LOG_LEVEL: 'log',
      BUILD_NUMBER: 'test',
      PORT: String(port),
      HEALTH_PORT: String(port), // a worker's health and metrics: `url` reaches them whatever the role
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => ((output += chunk.toString()), (stdout += chunk.toString())));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = /listening on http|worker started/;
  const deadline = Date.now() + 60_000;
  while (!ready.test(output)) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`service exited before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`service not ready after 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, port, url: `http://127.0.0.1:${port}`, output: () => output, stdout: () => stdout, exited };
}

/** Stops a process if it still runs (SIGKILL: tests that care about SIGTERM send it themselves). */
export async function killService(service: ServiceProcess | undefined): Promise<void> {
  if (!service || service.child.exitCode !== null || service.child.signalCode !== null) return;
  service.child.kill('SIGKILL');
  await service.exited;
}
