import { Logger } from '@nestjs/common';
import { ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { failedOutcome, RunOutcome, RunRequest } from './python-runner';
import { sandboxCommand, SandboxCommandOptions } from './sandbox-command';
import {
  cancelFrame,
  interruptFrame,
  maxServerFrameBytes,
  outcomeFromDone,
  ProtocolError,
  runFrame,
  ServerMessage,
  ServerMessageReader,
} from './sandbox-protocol';
import type { RunCgroup } from './slot-cgroups';

const logger = new Logger('ForkServer');
const DEFAULT_RICH_OUTPUT_BYTES = 8 * 1024 * 1024;

export interface RunLimits {
  memoryMb: number;
  maxOutputBytes: number;
  maxResultBytes: number;
  /** Caps of a run's response.files content and response.display (the sandbox side keeps them). */
  maxOutputFileBytes?: number;
  maxDisplayBytes?: number;
  scratchMb: number;
  /** Processes/threads one run may have (enforced per run's user namespace). */
  maxProcesses: number;
  inotifyInstances: number;
  inotifyWatches: number;
}

/** Where the server finds its run cgroup's files: descriptors Node opens as root and hands down. */
const RUN_CGROUP_FDS = { tasks_fd: 3, events_fd: 4 };
/** cgroup v2's cgroup.kill, when the run cgroup has one. */
const RUN_CGROUP_KILL_FD = 5;

export interface ForkServerOptions extends SandboxCommandOptions {
  /** Host uid/gid the server runs as when the service is root (RLIMIT_NPROC does not bind root). */
  uid?: number;
  gid?: number;
  /**
   * Root only: enter these cgroups (SlotCgroupSet.serverProcsFiles: "0" written to each) before
   * becoming uid/gid, through `sh` and `setpriv`, so that nothing the server starts is ever outside
   * them; and the memory cgroup each run's pid 1 moves itself into.
   */
  cgroup?: { procsFiles: string[]; setprivBin: string; run?: RunCgroup };
  limits: RunLimits;
  startTimeoutMs: number;
  /**
   * How long Node waits past a run's deadline, and past the server's last sign of life (its
   * heartbeat while it supervises the run), before it gives up on the server and kills it.
   */
  backstopMs: number;
  /**
   * A session's server (one interpreter, call after call), not a fork server: always with the memory
   * watchdog, its interpreter in `cgroup.run` (if any) from its start to its end.
   */
  session?: boolean;
}

/** A server that keeps its heartbeat this long past a run's deadline is broken all the same. */
const MAX_OVERRUN_MS = 30_000;

interface InFlight {
  runId: string;
  onOutput?: RunRequest['onOutput'];
  resolve: (outcome: RunOutcome) => void;
  backstop: NodeJS.Timeout;
  /** Date.now() of the deadline, and of the server's last frame for this run. */
  deadlineAtMs: number;
  lastSignOfLifeMs: number;
  detachAbort: () => void;
}

/**
 * One warm Python fork server in its sandbox, running one program at a time.
 * Emits 'exit' when the process is gone (the pool replaces it).
 */
export class ForkServer extends EventEmitter {
  runsServed = 0;
  /** The server said 'ready': it can take runs until it exits. */
  ready = false;
  readonly startedAtMs = Date.now();
  pid: number | undefined;
  /** Its exit status once it has exited (null when a signal ended it). */
  exitCode: number | null = null;
  private child?: ChildProcess;
  private readonly reader: ServerMessageReader;
  /** The server broke the protocol: nothing more it sends is read. */
  private broken = false;
  private inFlight?: InFlight;
  private stderrTail = '';
  private exited = false;
  /** kill() was called: the exit event is still to come, but no run may be given to it meanwhile. */
  private killed = false;
  private readyWaiter?: { resolve: () => void; reject: (err: Error) => void };

  constructor(private readonly options: ForkServerOptions) {
    super();
    this.reader = new ServerMessageReader(maxServerFrameBytes(options.limits));
  }

  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  get alive(): boolean {
    return !this.exited && !this.killed;
  }

  start(): Promise<void> {
    const { limits, cgroup, uid, gid } = this.options;
    const { file, args, env } = sandboxCommand(this.options, {
      isolate: this.options.mode === 'bwrap',
      memory_mb: limits.memoryMb,
      scratch_mb: limits.scratchMb,
      nproc: limits.maxProcesses,
      max_output_bytes: limits.maxOutputBytes,
      max_result_bytes: limits.maxResultBytes,
      max_output_file_bytes: limits.maxOutputFileBytes ?? DEFAULT_RICH_OUTPUT_BYTES,
      max_display_bytes: limits.maxDisplayBytes ?? DEFAULT_RICH_OUTPUT_BYTES,
      inotify_instances: limits.inotifyInstances,
      inotify_watches: limits.inotifyWatches,
      run_cgroup: cgroup?.run ? { ...RUN_CGROUP_FDS, kill_fd: cgroup.run.killFile ? RUN_CGROUP_KILL_FD : null } : null,
      memory_watchdog: !cgroup?.run || !!this.options.session,
      ...(this.options.session && { session: true }),
    });
    // Opened as root: the kernel checks the opener's credentials when pid 1 moves itself.
    const runFds = cgroup?.run ? openRunCgroup(cgroup.run) : [];
    const stdio = ['pipe', 'pipe', 'pipe', ...runFds] as Array<'pipe' | number>;
    let child: ChildProcess;
    try {
      child =
        cgroup && uid !== undefined && gid !== undefined
          ? spawn(
              '/bin/sh',
              [
                '-c',
                'IFS=:; for f in $0; do echo 0 > "$f" || exit 1; done; exec "$@"',
                cgroup.procsFiles.join(':'),
                cgroup.setprivBin,
                `--reuid=${uid}`,
                `--regid=${gid}`,
                '--clear-groups',
                '--',
                file,
                ...args,
              ],
              { cwd: '/', env, stdio },
            )
          : spawn(file, args, { cwd: '/', env, stdio, uid, gid });
    } finally {
      for (const fd of runFds) closeSync(fd);
    }
    this.child = child;
    this.pid = child.pid;
    child.stdout!.on('data', (chunk: Buffer) => this.onData(chunk));
    child.stderr!.on('data', (chunk: Buffer) => {
      // The server writes here only about itself and its runs (never user output).
      // Escaped, one log line per line: no line of theirs can pass for another log line.
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logger.warn(JSON.stringify(line.trim()));
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000);
    });
    child.stdin!.on('error', () => undefined); // EPIPE after the server died; 'exit' reports it
    child.on('error', (err) => this.onExit(`spawn failed: ${err.message}`));
    child.on('exit', (code, signal) => {
      this.exitCode = code;
      this.onExit(`exited with ${signal ?? code}`);
    });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`fork server did not start within ${this.options.startTimeoutMs} ms`));
        this.kill();
      }, this.options.startTimeoutMs);
      this.readyWaiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  run(request: RunRequest, signal?: AbortSignal): Promise<RunOutcome> {
    if (this.inFlight || !this.alive || !this.child) {
      return Promise.resolve(failedOutcome('crashed', 'fork server not available'));
    }
    this.runsServed += 1;
    return new Promise<RunOutcome>((resolve) => {
      const onAbort = () => this.send(cancelFrame(request.runId));
      signal?.addEventListener('abort', onAbort, { once: true });
      const now = Date.now();
      this.inFlight = {
        runId: request.runId,
        onOutput: request.onOutput,
        resolve,
        backstop: setTimeout(() => this.checkBackstop(), request.timeoutMs + this.options.backstopMs),
        deadlineAtMs: now + request.timeoutMs,
        lastSignOfLifeMs: now,
        detachAbort: () => signal?.removeEventListener('abort', onAbort),
      };
      this.send(runFrame(request));
      if (signal?.aborted) onAbort();
    });
  }

  /**
   * The server missed its run's deadline and went silent (no heartbeat for backstopMs), or overran
   * it by MAX_OVERRUN_MS: it is not trustworthy any more. A slow server that still beats gets more time.
   */
  private checkBackstop(): void {
    const inFlight = this.inFlight;
    if (!inFlight) return;
    const { backstopMs } = this.options;
    const firesAtMs = Math.min(
      Math.max(inFlight.deadlineAtMs, inFlight.lastSignOfLifeMs) + backstopMs,
      inFlight.deadlineAtMs + MAX_OVERRUN_MS,
    );
    const waitMs = firesAtMs - Date.now();
    if (waitMs > 0) {
      inFlight.backstop = setTimeout(() => this.checkBackstop(), waitMs);
      return;
    }
    logger.warn(
      `fork server ${this.pid}: no answer for run ${inFlight.runId}, silent for ${Date.now() - inFlight.lastSignOfLifeMs} ms`,
    );
    this.kill(); // first: finish() frees the slot, and a dying server must not get the next run
    this.finish(failedOutcome('crashed', 'fork server did not answer after the deadline'));
  }

  /**
   * A session's server that has exited between calls: whether its memory bound ended it (its watchdog:
   * SESSION_MEMORY_EXIT; SessionServer adds its cgroup's OOM kills), rather than a crash.
   */
  endedByMemory(): boolean {
    return this.exitCode === SESSION_MEMORY_EXIT;
  }

  /** A session's server: KeyboardInterrupt in the running call; false when nothing runs. */
  interrupt(): boolean {
    if (!this.inFlight) return false;
    this.send(interruptFrame(this.inFlight.runId));
    return true;
  }

  kill(): void {
    this.killed = true;
    if (this.child && !this.exited) this.child.kill('SIGKILL');
  }

  private send(frame: Buffer): void {
    if (!this.exited) this.child?.stdin?.write(frame);
  }

  private onData(chunk: Buffer): void {
    if (this.broken) return;
    let messages: ServerMessage[];
    try {
      messages = this.reader.push(chunk);
    } catch (error) {
      this.onProtocolError(error);
      return;
    }
    for (const message of messages) {
      if (message.op === 'ready') {
        this.ready = true;
        this.readyWaiter?.resolve();
        this.readyWaiter = undefined;
      } else if (this.inFlight?.runId !== message.id) {
        continue; // a late frame of a run already answered
      } else if (message.op === 'heartbeat') {
        this.inFlight.lastSignOfLifeMs = Date.now();
      } else if (message.op === 'output') {
        this.inFlight.lastSignOfLifeMs = Date.now();
        this.inFlight.onOutput?.(message.stream, message.data);
      } else {
        this.finish({ ...outcomeFromDone(message), serverPid: this.pid });
      }
    }
  }

  /** A server that breaks the protocol may be compromised: its run is a 500 and it is replaced (as if it died). */
  private onProtocolError(error: unknown): void {
    this.broken = true;
    const what = error instanceof ProtocolError ? error.message : `reading its frames failed: ${String(error)}`;
    logger.warn(`fork server ${this.pid} broke the protocol (${what}); replacing it`);
    this.readyWaiter?.reject(new Error(`fork server broke the protocol: ${what}`));
    this.readyWaiter = undefined;
    this.kill();
    this.finish(failedOutcome('crashed', 'fork server sent a malformed frame'));
  }

  private finish(outcome: RunOutcome): void {
    const inFlight = this.inFlight;
    if (!inFlight) return;
    this.inFlight = undefined;
    clearTimeout(inFlight.backstop);
    inFlight.detachAbort();
    inFlight.resolve(outcome);
    this.emit('idle');
  }

  private onExit(reason: string): void {
    if (this.exited) return;
    this.exited = true;
    const cut = this.reader.pendingBytes > 0 && !this.broken ? ' in the middle of a frame' : '';
    const detail = this.stderrTail.trim() ? `${reason}${cut}: ${this.stderrTail.trim()}` : `${reason}${cut}`;
    this.readyWaiter?.reject(new Error(`fork server ${detail}`));
    this.readyWaiter = undefined;
    this.finish(failedOutcome('crashed', `fork server ${reason}`));
    this.emit('exit', detail);
  }
}

/** A session server's exit status when its memory watchdog ended the session between calls (session.py). */
export const SESSION_MEMORY_EXIT = 86;

/** The run cgroup's files, opened here as root, in RUN_CGROUP_FDS order (and RUN_CGROUP_KILL_FD). */
function openRunCgroup(run: RunCgroup): number[] {
  const fds: number[] = [];
  try {
    fds.push(openSync(run.tasksFile, 'w'), openSync(run.eventsFile, 'r'));
    if (run.killFile) fds.push(openSync(run.killFile, 'w'));
  } catch (error) {
    for (const fd of fds) closeSync(fd);
    throw error;
  }
  return fds;
}
