import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOnPath } from '../common/find-on-path';
import { DataDirLock } from './data-dir-lock';
import { answersPing, socketCommand } from './redis-socket';

const startTimeoutMs = 60_000; // a large append-only file takes a while to load
const pingRetryMs = 20;
const stopTimeoutMs = 5_000;
const keptOutputBytes = 4096;
/** sockaddr_un holds 108 bytes; a longer DATA_DIR gets its socket in a private folder under the temp dir. */
const maxSocketPathLength = 100;

export const redisServerMissingMessage =
  'redis-server not found on PATH: install it (apt-get install redis-server) or set REDIS_URL';

/**
 * A private redis-server for one service process: data in `dataDir` as an append-only file
 * (every write reaches the file before Redis answers; fsync once a second), a unix socket only.
 */
export class EmbeddedRedisServer {
  private running = true;
  private spawnError?: Error;
  private readonly exited: Promise<void>;
  private readonly stopOnExit = () => this.stopNow();

  private constructor(
    private readonly child: ChildProcess,
    private readonly lock: DataDirLock,
    readonly socketPath: string,
    private readonly runDir: string | undefined,
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
    process.once('exit', this.stopOnExit);
  }

  /** Starts redis-server on `dataDir` and resolves once it answers PING; throws a one-line message when it cannot. */
  static async start(dataDir: string): Promise<EmbeddedRedisServer> {
    const redisServer = findOnPath('redis-server');
    if (!redisServer) throw new Error(redisServerMissingMessage);
    const lock = DataDirLock.acquire(dataDir);
    const inDataDir = join(dataDir, 'redis.sock');
    const runDir = inDataDir.length > maxSocketPathLength ? mkdtempSync(join(tmpdir(), 'pyexec-redis-')) : undefined;
    const socketPath = runDir ? join(runDir, 'redis.sock') : inDataDir;
    try {
      await shutDownLeftover(socketPath);
    } catch (error) {
      lock.release();
      throw error;
    }
    const args = [
      '--port',
      '0',
      '--unixsocket',
      socketPath,
      '--unixsocketperm',
      '700',
      '--dir',
      dataDir,
      '--appendonly',
      'yes',
      '--appenddirname',
      'appendonlydir',
      // A crash of the service (or SIGKILL of both processes) loses nothing Redis has answered;
      // only an OS crash loses up to ~1 s.
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ];
    // setpriv makes the kernel kill redis if this process dies without running any handler.
    const setpriv = findOnPath('setpriv');
    const [command, commandArgs] = setpriv
      ? [setpriv, ['--pdeathsig', 'KILL', '--', redisServer, ...args]]
      : [redisServer, args];
    // Its own process group, so a terminal's Ctrl-C reaches only us and we stop redis after the app.
    const child = spawn(command, commandArgs, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new EmbeddedRedisServer(child, lock, socketPath, runDir);
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

  /** SIGTERM: redis writes out its append-only file and exits; then the DATA_DIR is free for the next start. */
  async stop(): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), stopTimeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    process.removeListener('exit', this.stopOnExit);
    this.release();
  }

  private stopNow(): void {
    // SIGTERM, not SIGKILL: redis finishes writing its file on its own after we are gone.
    if (this.running) this.child.kill('SIGTERM');
    this.release();
  }

  private release(): void {
    if (this.runDir) rmSync(this.runDir, { recursive: true, force: true });
    this.lock.release();
  }

  private async waitUntilReady(output: () => string): Promise<void> {
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        const reason = this.spawnError?.message ?? `exited with ${this.child.exitCode ?? this.child.signalCode}`;
        throw new Error(`redis-server ${reason}: ${oneLine(output())}`);
      }
      if (await answersPing(this.socketPath)) return;
      await new Promise((resolve) => setTimeout(resolve, pingRetryMs));
    }
    throw new Error(
      `redis-server did not answer PING on ${this.socketPath} within ${startTimeoutMs} ms: ${oneLine(output())}`,
    );
  }
}

/**
 * A redis-server of an earlier run that outlived it (no setpriv, or killed between spawn and
 * pdeathsig) still holds the append-only file: shut it down cleanly before starting ours.
 */
async function shutDownLeftover(socketPath: string): Promise<void> {
  if (!(await answersPing(socketPath))) return;
  await socketCommand(socketPath, 'SHUTDOWN', stopTimeoutMs);
  const deadline = Date.now() + stopTimeoutMs;
  while (await answersPing(socketPath)) {
    if (Date.now() > deadline)
      throw new Error(`a redis-server left by an earlier run still answers on ${socketPath} and does not shut down`);
    await new Promise((resolve) => setTimeout(resolve, pingRetryMs));
  }
}

function oneLine(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ') || 'no output';
}
