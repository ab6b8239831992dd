import { closeSync, openSync, readSync } from 'node:fs';
import { constants } from 'node:os';
import { Logger } from '@nestjs/common';
import { ForkServer, ForkServerOptions } from './fork-server';
import type { RunOutcome, RunRequest } from './python-runner';
import { oomKillsIn, SlotCgroupSet } from './slot-cgroups';

const logger = new Logger('SessionCgroups');
const RETRY_REMOVE_MS = 5_000;

/**
 * The cgroups of one worker's session servers: a pool (SlotCgroups or SlotCgroupsV2, made with no
 * slots) of SESSIONS_PER_WORKER + 1 slots, its sessions and the warm spare. A slot's cgroups are made
 * before its server starts and removed once that server has exited, however it ended; a server that
 * would be one too many (a session that ended elsewhere is still being killed here) waits for a slot.
 */
export class SessionCgroups {
  private readonly taken = new Set<number>();
  private readonly wakeups = new Set<() => void>();
  /** Removals under way: close() waits for them. */
  private readonly removals = new Set<Promise<void>>();
  private closed = false;

  constructor(
    readonly cgroups: SlotCgroupSet,
    readonly setprivBin: string,
    private readonly slots: number,
    /** How long a server waits for a free slot before its start fails. */
    private readonly waitMs: number,
  ) {}

  /** A free slot's cgroups, made now for a server about to start; throws when none frees up in time. */
  async take(): Promise<SessionCgroup> {
    const slot = await this.freeSlot();
    try {
      this.cgroups.addSlot(slot); // nothing of it is left when it throws
    } catch (error) {
      this.free(slot);
      throw error;
    }
    try {
      const { cgroups, setprivBin } = this;
      return new SessionCgroup(this, slot, {
        procsFiles: cgroups.serverProcsFiles(slot),
        setprivBin,
        run: cgroups.runCgroup(slot),
      });
    } catch (error) {
      void this.release(slot);
      throw error;
    }
  }

  /** Removes a slot's cgroups (its server has exited); the slot is free once they are gone. */
  release(slot: number): Promise<void> {
    const removal = this.cgroups.removeSlot(slot).then((removed) => {
      this.removals.delete(removal);
      if (removed) return this.free(slot);
      logger.warn(`session cgroups of slot ${slot}: processes remain after their server exited; trying again`);
      setTimeout(() => {
        if (!this.closed) void this.release(slot); // at shutdown, the pool's removal takes what is left
      }, RETRY_REMOVE_MS).unref();
    });
    this.removals.add(removal);
    return removal;
  }

  /** At shutdown, once every session server has exited: their cgroups and the pool's removed. */
  async close(): Promise<void> {
    this.closed = true;
    for (const wake of [...this.wakeups]) wake(); // a start waiting for a slot fails now
    await Promise.all(this.removals);
    await this.cgroups.remove();
  }

  private async freeSlot(): Promise<number> {
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      if (this.closed) throw new Error('session servers are shutting down');
      for (let slot = 0; slot < this.slots; slot++) {
        if (!this.taken.has(slot)) {
          this.taken.add(slot);
          return slot;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`all ${this.slots} session cgroups are taken`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.wakeups.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.wakeups.add(wake);
      });
    }
  }

  private free(slot: number): void {
    this.taken.delete(slot);
    for (const wake of [...this.wakeups]) wake();
  }
}

type ServerCgroup = NonNullable<ForkServerOptions['cgroup']>;

/** One session server's cgroups: its tree (pids, cpu) and its interpreter's memory cgroup (`run`). */
export class SessionCgroup {
  private eventsFd?: number;
  private readonly events = Buffer.alloc(4096);
  private oomKillsSeen = 0;
  private released?: Promise<void>;

  constructor(
    private readonly owner: SessionCgroups,
    readonly slot: number,
    /** What its server is started with (ForkServerOptions.cgroup). */
    readonly forServer: ServerCgroup,
  ) {
    // Held open: read after every call, one pread each.
    if (forServer.run) this.eventsFd = openSync(forServer.run.eventsFile, 'r');
  }

  /** OOM kills in the interpreter's memory cgroup since the last time this was asked. */
  newOomKills(): number {
    if (this.eventsFd === undefined) return 0;
    let kills: number;
    try {
      const read = readSync(this.eventsFd, this.events, 0, this.events.length, 0);
      kills = oomKillsIn(this.events.toString('utf8', 0, read));
    } catch (error) {
      // As the fork server's supervisor does: the call keeps its own outcome (the watchdog still holds).
      logger.warn(`session cgroups of slot ${this.slot}: cannot read its OOM kills: ${(error as Error).message}`);
      return 0;
    }
    const fresh = kills - this.oomKillsSeen;
    this.oomKillsSeen = kills;
    return fresh;
  }

  /** Once its server has exited (or never started): the cgroups go, the slot is freed. Idempotent. */
  release(): Promise<void> {
    if (!this.released) {
      if (this.eventsFd !== undefined) closeSync(this.eventsFd);
      this.eventsFd = undefined;
      this.released = this.owner.release(this.slot);
    }
    return this.released;
  }
}

/**
 * A session's server in its own cgroups. A call during which the interpreter's memory cgroup
 * OOM-killed a process (pid 1, or a child of it) ends the session as the watchdog's kill does:
 * `memory`, and that call a memory limit (as a one-shot run in a cgroup: supervisor.py).
 */
export class SessionServer extends ForkServer {
  /** Its cgroup OOM-killed a process after its last call (read as it exited, before the cgroup goes). */
  private oomKilledAtExit = false;

  constructor(
    options: ForkServerOptions,
    readonly cgroup: SessionCgroup,
  ) {
    super(options);
    // The first 'exit' listener: SessionSandbox's, which releases the cgroup, comes after it.
    this.once('exit', () => {
      this.oomKilledAtExit = this.cgroup.newOomKills() > 0;
    });
  }

  override endedByMemory(): boolean {
    return super.endedByMemory() || this.oomKilledAtExit;
  }

  override async run(request: RunRequest, signal?: AbortSignal): Promise<RunOutcome> {
    const outcome = await super.run(request, signal);
    const oomKilled = this.cgroup.newOomKills() > 0; // read after every call: counted against no later one
    const ran = outcome.status === 'exited' || outcome.status === 'signaled';
    return oomKilled && ran ? memoryLimitExceeded(outcome) : outcome;
  }
}

/** The outcome of a call the memory limit ended, as pyexec_sandbox's outcome.memory_limit_exceeded() makes it. */
export function memoryLimitExceeded(outcome: RunOutcome): RunOutcome {
  return {
    ...outcome,
    error: 'Memory limit exceeded',
    limit: 'memory',
    result: null,
    exitCode: outcome.exitCode === 0 ? 128 + constants.signals.SIGKILL : outcome.exitCode,
    sessionEnded: 'memory',
  };
}
