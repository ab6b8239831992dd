import type { JobRecord } from '../jobs/job.types';
import { waitBounded } from './sync-wait';

/** A fake of RedisConnection's availability: flip it with set(). */
function fakeConnection(available = true) {
  const listeners = new Set<(available: boolean) => void>();
  return {
    isAvailable: () => available,
    onAvailabilityChange(listener: (available: boolean) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(next: boolean) {
      available = next;
      listeners.forEach((listener) => listener(next));
    },
    listeners,
  };
}

/** The job core's wait as a fake: each call is one attempt the test settles by hand. */
function fakeWait() {
  const attempts: Array<{ resolve: (r: JobRecord) => void; reject: (e: Error) => void; signal: AbortSignal }> = [];
  const wait = (signal: AbortSignal) =>
    new Promise<JobRecord>((resolve, reject) => {
      attempts.push({ resolve, reject, signal });
      signal.addEventListener('abort', () => reject(new Error('aborted')));
    });
  return { wait, attempts };
}

const ended = { jobId: 'j', status: 'completed' } as JobRecord;

describe('waitBounded (the sync wait, bounded for Redis outages)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('without an outage, waits past the deadline for as long as the job takes (a queued job is fine)', async () => {
    const connection = fakeConnection();
    const { wait, attempts } = fakeWait();
    const result = waitBounded({
      wait,
      connection,
      deadlineMs: Date.now() + 5000,
      callerGone: new AbortController().signal,
    });
    await jest.advanceTimersByTimeAsync(20_000);
    attempts[attempts.length - 1].resolve(ended);
    expect(await result).toBe(ended);
    expect(connection.listeners.size).toBe(0);
  });

  it('once Redis was unreachable, answers "unknown" at the deadline if the job has not ended', async () => {
    const connection = fakeConnection();
    const { wait } = fakeWait();
    let settled: unknown;
    void waitBounded({
      wait,
      connection,
      deadlineMs: Date.now() + 5000,
      callerGone: new AbortController().signal,
    }).then((r) => (settled = r));
    connection.set(false);
    await jest.advanceTimersByTimeAsync(1000);
    connection.set(true); // back, but the job has still not ended by the deadline
    await jest.advanceTimersByTimeAsync(3900);
    expect(settled).toBeUndefined();
    await jest.advanceTimersByTimeAsync(200);
    expect(settled).toBe('unknown');
  });

  it('an outage that starts after the deadline answers at once', async () => {
    const connection = fakeConnection();
    const { wait } = fakeWait();
    const result = waitBounded({
      wait,
      connection,
      deadlineMs: Date.now() + 1000,
      callerGone: new AbortController().signal,
    });
    await jest.advanceTimersByTimeAsync(3000);
    connection.set(false);
    expect(await result).toBe('unknown');
  });

  it('starts the wait over when Redis is back (an "ended" message sent meanwhile was missed)', async () => {
    const connection = fakeConnection();
    const { wait, attempts } = fakeWait();
    const result = waitBounded({
      wait,
      connection,
      deadlineMs: Date.now() + 5000,
      callerGone: new AbortController().signal,
    });
    connection.set(false);
    connection.set(true);
    expect(attempts).toHaveLength(2);
    expect(attempts[0].signal.aborted).toBe(true);
    attempts[1].resolve(ended);
    expect(await result).toBe(ended);
  });

  it('retries a read that failed because Redis was unavailable, and rejects other errors', async () => {
    const connection = fakeConnection();
    const { wait, attempts } = fakeWait();
    const result = waitBounded({
      wait,
      connection,
      deadlineMs: Date.now() + 5000,
      callerGone: new AbortController().signal,
    });
    attempts[0].reject(new Error('Command timed out'));
    await jest.advanceTimersByTimeAsync(500);
    expect(attempts).toHaveLength(2);
    attempts[1].reject(new Error('job j vanished'));
    await expect(result).rejects.toThrow('job j vanished');
  });

  it('rejects when the caller goes away', async () => {
    const connection = fakeConnection();
    const { wait, attempts } = fakeWait();
    const callerGone = new AbortController();
    const result = waitBounded({ wait, connection, deadlineMs: Date.now() + 5000, callerGone: callerGone.signal });
    callerGone.abort();
    await expect(result).rejects.toThrow('aborted');
    expect(attempts[0].signal.aborted).toBe(true);
  });
});
