import type { JobRecord } from '../jobs/job.types';
import type { RedisConnection } from '../redis/redis-connection';
import { isRedisUnavailableError } from '../redis/redis-unavailable';

/** How long past its timeout a sync caller may wait once Redis has been unreachable during the wait. */
export const SYNC_WAIT_GRACE_MS = 3000;
const retryAfterErrorMs = 500;
const recheckAfterDeadlineMs = 1000;
// Abort reasons made once: abort() without one builds a DOMException (and its stack) every time.
const settledReason = new Error('the sync wait has settled');
const supersededReason = new Error('a newer attempt replaced this one');

export interface SyncWaitOptions {
  /** The job core's wait: resolves with the ended record, rejects when `signal` aborts. */
  wait: (signal: AbortSignal) => Promise<JobRecord>;
  connection: Pick<RedisConnection, 'isAvailable' | 'onAvailabilityChange'>;
  /** Epoch ms after which, once an outage was seen, the caller is answered without the result. */
  deadlineMs: number;
  callerGone: AbortSignal;
}

/**
 * The sync wait, bounded for Redis outages: the ended record, or 'unknown' when Redis was
 * unreachable at some point and the job had not ended by the deadline (the caller gets 503 with
 * the job_id to poll). Without an outage it waits as long as the job takes (a queued job is fine).
 * After Redis comes back the wait starts over, re-reading the record: an "ended" message published
 * while this process was disconnected is gone.
 */
export function waitBounded(options: SyncWaitOptions): Promise<JobRecord | 'unknown'> {
  const { wait, connection, deadlineMs, callerGone } = options;
  return new Promise((resolve, reject) => {
    let outageSeen = !connection.isAvailable();
    let attempt: AbortController | undefined; // the wait in progress, if any
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const unsubscribe = connection.onAvailabilityChange((available) => {
      if (available) return start();
      outageSeen = true;
      checkDeadline();
    });
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      unsubscribe();
      timers.forEach(clearTimeout);
      callerGone.removeEventListener('abort', onCallerGone);
      attempt?.abort(settledReason);
      settle();
    };
    const checkDeadline = () => {
      if (outageSeen && Date.now() >= deadlineMs) finish(() => resolve('unknown'));
    };
    const start = () => {
      if (settled) return;
      attempt?.abort(supersededReason);
      const current = (attempt = new AbortController());
      wait(current.signal).then(
        (record) => {
          if (attempt === current) attempt = undefined; // done: nothing to abort
          finish(() => resolve(record));
        },
        (error: unknown) => {
          if (current.signal.aborted || settled) return; // superseded by a newer attempt, or done
          if (!isRedisUnavailableError(error)) return finish(() => reject(error));
          outageSeen = true;
          checkDeadline();
          timers.push(setTimeout(start, retryAfterErrorMs));
        },
      );
    };
    const onCallerGone = () => finish(() => reject(new Error('aborted')));
    callerGone.addEventListener('abort', onCallerGone, { once: true });
    // Past the deadline, re-read every second: a Redis that hangs without dropping the connection
    // shows up as an error here.
    const afterDeadline = () => {
      checkDeadline();
      start();
      timers.push(setTimeout(afterDeadline, recheckAfterDeadlineMs));
    };
    timers.push(setTimeout(afterDeadline, Math.max(0, deadlineMs - Date.now())));
    if (callerGone.aborted) return onCallerGone();
    start();
  });
}
