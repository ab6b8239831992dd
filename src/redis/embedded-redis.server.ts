import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOnPath } from '../common/find-on-path';

const startTimeoutMs = 10_000;
const pingRetryMs = 20;
const stopTimeoutMs = 5_000;
const keptOutputBytes = 4096;

export const redisServerMissingMessage =
  'redis-server not found on PATH: install it (apt-get install redis-server) or set REDIS_URL';

/** A private redis-server on a unix socket in a temporary folder, persistence off, for one process. */
export class EmbeddedRedisServer {
  private running = true;
  private spawnError?: Error;
  private readonly exited: Promise<void>;
  private readonly killOnExit = () => this.killNow();

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly socketPath: string,
  ) {
    this.exited = new Promise((resolve) => {
      const ended = (error?: unknown) => {
        this.running = false;
        if (error instanceof Error) this.spawnError = error;
        resolve();
      };
      child.once('exit', () => ended());
      child.once('error', ended);
    });
    // Backstop for exits that skip stop() (process.exit, uncaught exception); SIGKILL is covered by --pdeathsig.
    process.once('exit', this.killOnExit);
  }

  /** Starts redis-server and resolves once it answers PING; throws a one-line message when it cannot. */
  static async start(): Promise<EmbeddedRedisServer> {
    const redisServer = findOnPath('redis-server');
    if (!redisServer) throw new Error(redisServerMissingMessage);
    const dir = mkdtempSync(join(tmpdir(), 'pyexec-redis-'));
    const socketPath = join(dir, 'redis.sock');
    const args = [
      '--port', '0',
      '--unixsocket', socketPath,
      '--unixsocketperm', '700',
      '--save', '',
      '--appendonly', 'no',
      '--dir', dir,
      '--daemonize', 'no',
      '--loglevel', 'warning',
    ];
    // setpriv makes the kernel kill redis if this process dies without running any handler.
    const setpriv = findOnPath('setpriv');
    const [command, commandArgs] = setpriv
      ? [setpriv, ['--pdeathsig', 'KILL', '--', redisServer, ...args]]
      : [redisServer, args];
    // Its own process group, so a terminal's Ctrl-C reaches only us and we stop redis after the app.
    const child = spawn(command, commandArgs, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new EmbeddedRedisServer(child, dir, socketPath);
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-keptOutputBytes);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    try {
      await server.waitUntilReady(() => output);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  async stop(): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), stopTimeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    process.removeListener('exit', this.killOnExit);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private killNow(): void {
    if (this.running) this.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitUntilReady(output: () => string): Promise<void> {
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        const reason = this.spawnError?.message ?? `exited with ${this.child.exitCode ?? this.child.signalCode}`;
        throw new Error(`redis-server ${reason}: ${oneLine(output())}`);
      }
      if (await ping(this.socketPath)) return;
      await new Promise((resolve) => setTimeout(resolve, pingRetryMs));
    }
    throw new Error(`redis-server did not answer PING on ${this.socketPath} within ${startTimeoutMs} ms: ${oneLine(output())}`);
  }
}

function oneLine(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ') || 'no output';
}

/** One PING over the unix socket; false on any error (not listening yet). */
function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(socketPath);
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}
