import type { MemoryBound } from './memory-bound';
import { Logger } from '@nestjs/common';
import { ForkServer, ForkServerOptions } from './fork-server';
import type { SlotCgroupSet } from './slot-cgroups';
import { failedOutcome, PythonRunner, RunnerStats, RunOutcome, RunRequest } from './python-runner';

export interface SandboxPoolOptions {
  servers: number;
  server: ForkServerOptions;
  /** Recycle a server after this many runs or this age, whichever comes first. */
  maxRunsPerServer: number;
  maxServerAgeMs: number;
  /** Root only: cgroups per server slot (see SlotCgroups, SlotCgroupsV2); removed on close. */
  cgroup?: { cgroups: SlotCgroupSet; setprivBin: string };
  /** Root only: slot n's server runs as host uid and gid uidBase + n, shared with nothing else. */
  uidBase?: number;
  /** What bounds each run's memory (reported, not enforced, here: the cgroup or the servers' watchdog do). */
  memoryBound?: MemoryBound;
}

interface Waiter {
  request: RunRequest;
  signal?: AbortSignal;
  resolve: (outcome: RunOutcome) => void;
}

const RESTART_DELAY_MS = 200;

/** N warm fork servers; each run goes to an idle one, in arrival order. */
export class SandboxPool extends PythonRunner {
  private readonly logger = new Logger('SandboxPool');
  private readonly servers = new Set<ForkServer>();
  /** Server slot (its pids cgroup) of each live server. */
  private readonly slots = new Map<ForkServer, number>();
  private readonly waiting: Waiter[] = [];
  private restarts = 0;
  private closed = false;
  /** Starts that failed since the last one that succeeded. */
  private startFailures = 0;

  constructor(private readonly options: SandboxPoolOptions) {
    super();
  }

  /** Starts every server; rejects (and the service refuses to boot) if one cannot start. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.options.servers }, () => this.spawnServer()));
  }

  run(request: RunRequest, signal?: AbortSignal): Promise<RunOutcome> {
    if (this.closed) return Promise.resolve(failedOutcome('crashed', 'sandbox pool is closed'));
    if (signal?.aborted) return Promise.resolve(cancelledBeforeStart());
    return new Promise<RunOutcome>((resolve) => {
      const waiter: Waiter = { request, signal, resolve };
      signal?.addEventListener(
        'abort',
        () => {
          const index = this.waiting.indexOf(waiter);
          if (index >= 0) {
            this.waiting.splice(index, 1);
            resolve(cancelledBeforeStart());
          }
        },
        { once: true },
      );
      this.waiting.push(waiter);
      this.dispatch();
    });
  }

  /**
   * Healthy while a server is up, or while servers are being replaced after a good start. Answered from
   * the servers' state: a probe run would wait behind user runs and fail readiness exactly when busy.
   */
  isHealthy(): Promise<boolean> {
    const anyReady = [...this.servers].some((s) => s.alive && s.ready);
    return Promise.resolve(!this.closed && (anyReady || this.startFailures === 0));
  }

  override memoryBound(): MemoryBound | null {
    return this.options.memoryBound ?? null;
  }

  stats(): RunnerStats {
    const servers = [...this.servers];
    return {
      servers: servers.filter((s) => s.alive).length,
      busy: servers.filter((s) => s.busy).length,
      waiting: this.waiting.length,
      restarts: this.restarts,
    };
  }

  /** Nest calls this on shutdown. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) {
      waiter.resolve(failedOutcome('crashed', 'sandbox pool is shutting down'));
    }
    for (const server of this.servers) server.kill();
    this.servers.clear();
    await this.options.cgroup?.cgroups.remove();
  }

  private async spawnServer(): Promise<void> {
    const slot = this.freeSlot();
    const { cgroup, uidBase } = this.options;
    const uid = uidBase === undefined ? undefined : uidBase + slot;
    const server = new ForkServer({
      ...this.options.server,
      uid,
      gid: uid,
      cgroup: cgroup && {
        procsFiles: cgroup.cgroups.serverProcsFiles(slot),
        setprivBin: cgroup.setprivBin,
        run: cgroup.cgroups.runCgroup(slot),
      },
    });
    this.slots.set(server, slot);
    server.on('idle', () => this.onIdle(server));
    server.on('exit', (detail: string) => this.onExit(server, detail));
    this.servers.add(server);
    try {
      await server.start();
    } catch (error) {
      this.startFailures += 1;
      throw error;
    }
    this.startFailures = 0;
    this.dispatch();
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      const server = [...this.servers].find((s) => s.alive && !s.busy && s.pid !== undefined);
      if (!server) return;
      const waiter = this.waiting.shift()!;
      void server.run(waiter.request, waiter.signal).then(waiter.resolve);
    }
  }

  private onIdle(server: ForkServer): void {
    const tooOld = Date.now() - server.startedAtMs > this.options.maxServerAgeMs;
    if (server.runsServed >= this.options.maxRunsPerServer || tooOld) {
      // Recycling: kill it; onExit starts the replacement.
      server.kill();
      return;
    }
    this.dispatch();
  }

  private freeSlot(): number {
    const taken = new Set(this.slots.values());
    let slot = 0;
    while (taken.has(slot)) slot += 1;
    return slot;
  }

  private onExit(server: ForkServer, detail: string): void {
    this.servers.delete(server);
    this.slots.delete(server);
    // A server that never got ready failed its start, and whoever started it handles that (once):
    // restarting here too doubled the restart loops on every failed start.
    if (this.closed || !server.ready) return;
    this.restarts += 1;
    this.logger.debug(`fork server ${server.pid} ended (${detail}); starting a replacement`);
    const restart = () => {
      if (this.closed) return;
      this.spawnServer().catch((err: Error) => {
        this.logger.error(`fork server failed to start: ${err.message}`);
        setTimeout(restart, RESTART_DELAY_MS * 5).unref();
      });
    };
    setTimeout(restart, server.runsServed > 0 ? 0 : RESTART_DELAY_MS).unref();
  }
}

function cancelledBeforeStart(): RunOutcome {
  return { ...failedOutcome('crashed', 'Job cancelled'), status: 'cancelled', exitCode: 499 };
}
