import type { MemoryBoundKind } from '../execution/runner/memory-bound';

/** How a worker announces itself in Redis, and how long an announcement lasts. */

/** A worker refreshes its announcement this often. */
export const HEARTBEAT_INTERVAL_MS = 2000;
/** An announcement not refreshed for this long is gone (a SIGKILLed worker stops counting within it). */
export const WORKER_TTL_MS = 3 * HEARTBEAT_INTERVAL_MS;
/** What a sync submit refused for lack of a worker tells the caller to wait: about a worker's restart. */
export const NO_WORKER_RETRY_AFTER_SEC = 5;

/** One worker process as it announces itself (also the readiness body's entry, hence snake_case). */
export interface WorkerSeen {
  id: string;
  hostname: string;
  pid: number;
  role: 'all' | 'worker';
  concurrency: number;
  /** The sandbox could take runs at the last heartbeat. */
  sandbox_ready: boolean;
  /** What bounds each run's memory in this worker (absent from workers of earlier releases). */
  memory_bound?: MemoryBoundKind;
  memory_bound_reason?: string;
  started_at: string;
  seen_at: string;
}

/** `<prefix>:workers`: the set of announced ids; `<prefix>:worker:<id>`: each one's announcement, with a TTL. */
export function workerKeys(prefix: string): { ids: string; worker: (id: string) => string } {
  return { ids: `${prefix}:workers`, worker: (id) => `${prefix}:worker:${id}` };
}
