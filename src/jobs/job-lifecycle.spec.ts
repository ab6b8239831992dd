import { AppConfig } from '../config/app-config';
import type { ExecutionQueue } from './execution.queue';
import { JobEvents } from './job-events';
import { JobLifecycle, SENTINEL_REPLICA_WAIT_MS, QueueFullException } from './job-lifecycle';
import { lostOutcome } from './job-outcomes';
import { IdempotencyClaim, IdempotencyKeyReusedException, parseClaim } from './idempotency';
import type { Ending, JobRepository, StartResult } from './job.repository';
import { ExecutionJobData, isEnded, JobOutcome, JobRecord, SubmitInput } from './job.types';

/** Redis, as the repository's scripts behave: one ending per job, times measured from the record. */
class FakeRepository {
  constructor(private readonly queue: FakeQueue) {}
  readonly records = new Map<string, JobRecord>();
  readonly idempotency = new Map<string, string>();
  readonly published: string[] = [];
  /** Runs while the finish script is "in flight" (e.g. its "ended" message overtaking the reply). */
  duringFinish?: (jobId: string) => void;

  async create(record: JobRecord, _via?: unknown, claim?: IdempotencyClaim): Promise<string | null> {
    if (claim) {
      const key = `${record.owner}:${claim.keyHash}`;
      const earlier = this.idempotency.get(key);
      if (earlier && this.records.has(parseClaim(earlier).jobId)) return earlier;
      this.idempotency.set(key, claim.value);
    }
    this.records.set(record.jobId, structuredClone(record));
    return null;
  }
  async abandon(jobId: string, owner: string): Promise<boolean> {
    const record = this.records.get(jobId);
    if (!record || record.status !== 'pending') return false;
    this.records.delete(jobId);
    for (const [key, value] of this.idempotency) {
      if (key.startsWith(`${owner}:`) && parseClaim(value).jobId === jobId) this.idempotency.delete(key);
    }
    return true;
  }
  async idempotencyClaim(owner: string, keyHash: string): Promise<string | null> {
    return this.idempotency.get(`${owner}:${keyHash}`) ?? null;
  }
  async get(jobId: string): Promise<JobRecord | null> {
    const record = this.records.get(jobId);
    return record ? structuredClone(record) : null;
  }
  async start(jobId: string, startedAtMs: number): Promise<StartResult> {
    const record = this.records.get(jobId);
    if (!record || isEnded(record.status)) return 'ended';
    if (record.cancelRequested) return 'cancel_requested';
    Object.assign(record, { status: 'running', startedAtMs });
    return 'started';
  }
  async requestCancel(jobId: string): Promise<boolean> {
    const record = this.records.get(jobId);
    if (!record || isEnded(record.status)) return false;
    record.cancelRequested = true;
    return true;
  }
  async finish(jobId: string, ending: Ending): Promise<JobRecord | null> {
    await Promise.resolve();
    this.duringFinish?.(jobId);
    const record = this.records.get(jobId);
    if (!record || isEnded(record.status)) return null;
    const started = record.startedAtMs;
    Object.assign(record, {
      status: ending.status,
      endedAtMs: ending.endedAtMs,
      queueTimeSec: ((started ?? ending.endedAtMs) - record.createdAtMs) / 1000,
      runTimeSec: (ending.outcome.runMs ?? (started === null ? 0 : ending.endedAtMs - started)) / 1000,
      queueLength: ending.queueLength,
      outcome: ending.outcome,
    });
    this.published.push(ending.endedMessage);
    return structuredClone(record);
  }
}

/** Bull's executions queue: waiting jobs by id. */
class FakeQueue {
  readonly waiting = new Map<string, ExecutionJobData>();
  readonly connection = { wait: jest.fn(async () => 1) };
  onAdd?: (jobId: string) => void;
  /** Set to make the next add fail, as a lost Redis would. */
  failNextAdd?: Error;
  async add(data: ExecutionJobData): Promise<void> {
    const failure = this.failNextAdd;
    this.failNextAdd = undefined;
    if (failure) throw failure;
    this.waiting.set(data.jobId, data);
    this.onAdd?.(data.jobId);
  }
  async remove(jobId: string): Promise<void> {
    this.waiting.delete(jobId);
  }
  async waitingCount(): Promise<number> {
    return this.waiting.size;
  }
}

const config = { maxQueueLength: 0, redisPrefix: 'spec' } as AppConfig;
const input = (over: Partial<SubmitInput> = {}): SubmitInput => ({
  owner: 'owner-a',
  clientId: 'c-1',
  code: 'print(1)',
  stdin: '',
  timeoutSec: 5,
  webhookUrl: null,
  endpoint: '/v1/code/execute/python',
  idempotency: null,
  ...over,
});
const success = (runMs = 12): JobOutcome => ({
  ending: { kind: 'completed' },
  exitCode: 0,
  output: { stdout: '1\n', stderr: '', stdoutTruncated: false, stderrTruncated: false },
  result: null,
  error: null,
  runMs,
  pid: 42,
  serverPid: 43,
});

function setup(overrides: Partial<AppConfig> = {}) {
  const queue = new FakeQueue();
  const repository = new FakeRepository(queue);
  const publisher = { publish: jest.fn(async () => 1) };
  const events = new JobEvents(publisher as never, {} as never, config);
  const lifecycle = new JobLifecycle(
    repository as unknown as JobRepository,
    queue as unknown as ExecutionQueue,
    events,
    { ...config, ...overrides } as AppConfig,
  );
  return { repository, queue, publisher, events, lifecycle };
}

describe('JobLifecycle', () => {
  it('submit: a pending record and a Bull job with the same id; the webhook starts pending', async () => {
    const { repository, queue, lifecycle } = setup();
    const { record, replayed } = await lifecycle.submit(input({ webhookUrl: 'https://example.com/h' }));
    expect(replayed).toBe(false);
    expect(repository.records.get(record.jobId)).toMatchObject({
      status: 'pending',
      owner: 'owner-a',
      clientId: 'c-1',
      outcome: null,
    });
    expect(record.webhook).toMatchObject({ url: 'https://example.com/h', status: 'pending', attempts: 0 });
    expect(queue.waiting.get(record.jobId)).toMatchObject({ jobId: record.jobId, code: 'print(1)', timeoutSec: 5 });
  });

  it('submit: with Sentinel, waits for a replica to have the record and the job; without, does not', async () => {
    const plain = setup();
    await plain.lifecycle.submit(input());
    expect(plain.queue.connection.wait).not.toHaveBeenCalled();
    const sentinel = setup({ redisSentinels: [{ host: '127.0.0.1', port: 26379 }] });
    let queuedBeforeWait = false;
    sentinel.queue.connection.wait.mockImplementation(async () => {
      queuedBeforeWait = sentinel.queue.waiting.size === 1;
      return 1;
    });
    await sentinel.lifecycle.submit(input());
    expect(sentinel.queue.connection.wait).toHaveBeenCalledWith(1, SENTINEL_REPLICA_WAIT_MS);
    expect(queuedBeforeWait).toBe(true);
  });

  it('submit: the same Idempotency-Key and body of the same owner returns the first job and queues nothing more', async () => {
    const { queue, lifecycle } = setup();
    const idempotency = { key: 'k', requestHash: 'h1' };
    const first = await lifecycle.submit(input({ idempotency }));
    const again = await lifecycle.submit(input({ idempotency }));
    const other = await lifecycle.submit(input({ idempotency, owner: 'owner-b' }));
    expect(again).toEqual({ record: first.record, replayed: true });
    expect(other.record.jobId).not.toBe(first.record.jobId);
    expect(queue.waiting.size).toBe(2);
  });

  it('submit: the same Idempotency-Key with another body is a 422 and creates nothing', async () => {
    const { repository, queue, lifecycle } = setup();
    await lifecycle.submit(input({ idempotency: { key: 'k', requestHash: 'h1' } }));
    await expect(lifecycle.submit(input({ idempotency: { key: 'k', requestHash: 'h2' } }))).rejects.toBeInstanceOf(
      IdempotencyKeyReusedException,
    );
    expect(repository.records.size).toBe(1);
    expect(queue.waiting.size).toBe(1);
  });

  it('submit: concurrent repeats of one Idempotency-Key make one job, and all answer with it', async () => {
    const { repository, lifecycle } = setup();
    const idempotency = { key: 'k', requestHash: 'h1' };
    const answers = await Promise.all(Array.from({ length: 5 }, () => lifecycle.submit(input({ idempotency }))));
    expect(new Set(answers.map((a) => a.record.jobId)).size).toBe(1);
    expect(answers.filter((a) => !a.replayed)).toHaveLength(1);
    expect(repository.records.size).toBe(1);
  });

  it('submit: a failed queue add removes the record and frees its Idempotency-Key before the error reaches the caller', async () => {
    const { repository, queue, lifecycle } = setup();
    const idempotency = { key: 'k', requestHash: 'h1' };
    queue.failNextAdd = new Error('Connection is closed.');
    await expect(lifecycle.submit(input({ idempotency }))).rejects.toThrow('Connection is closed.');
    expect(repository.records.size).toBe(0);
    expect(repository.idempotency.size).toBe(0);
    const retry = await lifecycle.submit(input({ idempotency }));
    expect(retry.replayed).toBe(false);
    expect(queue.waiting.has(retry.record.jobId)).toBe(true);
  });

  it('submit with watchEnd: the watch, registered before queueing, sees an ending that beats the reply', async () => {
    const { queue, lifecycle } = setup();
    let finished: Promise<unknown> | undefined;
    queue.onAdd = (jobId) => (finished = lifecycle.finish(jobId, success())); // a worker faster than Redis' answer
    const { record, endWatch } = await lifecycle.submit(input(), { watchEnd: true });
    await finished;
    await expect(endWatch?.promise).resolves.toMatchObject({ jobId: record.jobId, status: 'completed' });
    expect((await lifecycle.submit(input())).endWatch).toBeUndefined();
  });

  it('submit: a full queue is a 429 and creates nothing', async () => {
    const { repository, lifecycle } = setup({ maxQueueLength: 1 });
    await lifecycle.submit(input());
    await expect(lifecycle.submit(input())).rejects.toBeInstanceOf(QueueFullException);
    expect(repository.records.size).toBe(1);
  });

  it('start, then finish: status from the outcome, times, queue length, one "ended", local waiters and listeners', async () => {
    const { repository, queue, events, lifecycle } = setup();
    const { record } = await lifecycle.submit(input());
    await lifecycle.submit(input()); // one job left waiting
    queue.waiting.delete(record.jobId); // a worker took it
    expect(await lifecycle.start(record.jobId, record.createdAtMs + 30)).toBe(true);
    expect(repository.records.get(record.jobId)).toMatchObject({
      status: 'running',
      startedAtMs: record.createdAtMs + 30,
    });
    const listener = jest.fn();
    lifecycle.onEnded(listener);
    const waiter = events.whenEnded(record.jobId);

    const ended = await lifecycle.finish(record.jobId, success(12));
    expect(ended).toMatchObject({
      status: 'completed',
      queueTimeSec: 0.03,
      runTimeSec: 0.012,
      queueLength: 1,
      outcome: success(12),
    });
    expect(await waiter.promise).toEqual(ended);
    expect(listener).toHaveBeenCalledWith(ended);
    expect(repository.published).toEqual([`ended:${record.jobId}`]);
  });

  it('finish: an "ended" message that overtakes the reply is held, so local waiters still get the record', async () => {
    const { repository, events, lifecycle } = setup();
    const { record } = await lifecycle.submit(input());
    const waiter = events.whenEnded(record.jobId);
    repository.duringFinish = (jobId) => events.dispatch(`ended:${jobId}`);
    const ended = await lifecycle.finish(record.jobId, success());
    expect(ended).toMatchObject({ status: 'completed' });
    expect(await waiter.promise).toEqual(ended);
  });

  it('finish that loses to another ending: a held "ended" message still wakes the waiters (to read)', async () => {
    const { repository, events, lifecycle } = setup();
    const { record } = await lifecycle.submit(input());
    await lifecycle.finish(record.jobId, success()); // ended elsewhere first
    const heard = events.whenEnded(record.jobId);
    repository.duringFinish = (jobId) => events.dispatch(`ended:${jobId}`);
    expect(await lifecycle.finish(record.jobId, lostOutcome())).toBeNull();
    expect(await heard.promise).toBeUndefined();
    // Without a message meanwhile, a finish that recorded nothing wakes nobody.
    const untouched = jest.fn();
    void events.whenEnded(record.jobId).promise.then(untouched);
    repository.duringFinish = undefined;
    expect(await lifecycle.finish(record.jobId, lostOutcome())).toBeNull();
    await Promise.resolve();
    expect(untouched).not.toHaveBeenCalled();
  });

  it('finish: the first ending wins; a second one changes nothing and tells nobody', async () => {
    const { repository, lifecycle } = setup();
    const { record } = await lifecycle.submit(input());
    const listener = jest.fn();
    lifecycle.onEnded(listener);
    await lifecycle.finish(record.jobId, success());
    expect(await lifecycle.finish(record.jobId, lostOutcome())).toBeNull();
    expect(listener).toHaveBeenCalledTimes(1);
    expect(repository.records.get(record.jobId)?.status).toBe('completed');
  });

  it('finish: a failing listener is logged and does not keep the others from running', async () => {
    const { lifecycle } = setup();
    const { record } = await lifecycle.submit(input());
    const second = jest.fn();
    lifecycle.onEnded(() => Promise.reject(new Error('webhooks queue unreachable')));
    lifecycle.onEnded(second);
    await expect(lifecycle.finish(record.jobId, success())).resolves.toMatchObject({ status: 'completed' });
    expect(second).toHaveBeenCalledTimes(1);
  });

  it('cancel of a pending job: out of the queue, ended cancelled (499, no run), cancel published', async () => {
    const { repository, queue, publisher, lifecycle } = setup();
    const { record } = await lifecycle.submit(input());
    const result = await lifecycle.cancel(record.jobId, 'owner-a');
    expect(result.outcome).toBe('cancelled');
    expect(result.record).toMatchObject({
      status: 'cancelled',
      startedAtMs: null,
      runTimeSec: 0,
      outcome: { ending: { kind: 'cancelled' }, output: null },
    });
    expect(queue.waiting.has(record.jobId)).toBe(false);
    expect(publisher.publish).toHaveBeenCalledWith('spec:job-events', `cancel:${record.jobId}`);
    expect(await lifecycle.start(record.jobId, Date.now())).toBe(false); // a worker that took it anyway does not run it
    expect(repository.records.get(record.jobId)?.status).toBe('cancelled');
  });

  it('cancel of a running job: asks its worker, and answers with the ending the worker records', async () => {
    const { publisher, lifecycle } = setup();
    const { record } = await lifecycle.submit(input());
    await lifecycle.start(record.jobId, Date.now());
    // The worker: on the cancel message it kills the run, which ends as cancelled.
    publisher.publish.mockImplementation(async () => {
      void lifecycle.finish(record.jobId, {
        ...success(),
        ending: { kind: 'cancelled' },
        exitCode: 137,
        error: 'Job cancelled',
      });
      return 1;
    });
    const result = await lifecycle.cancel(record.jobId, 'owner-a');
    expect(result).toMatchObject({ outcome: 'cancelled', record: { status: 'cancelled', outcome: { exitCode: 137 } } });
  });

  it('cancel: another owner gets "missing"; an ended job "ended"', async () => {
    const { lifecycle } = setup();
    const { record } = await lifecycle.submit(input());
    expect(await lifecycle.cancel(record.jobId, 'owner-b')).toEqual({ outcome: 'missing', record: null });
    await lifecycle.finish(record.jobId, success());
    expect(await lifecycle.cancel(record.jobId, 'owner-a')).toMatchObject({
      outcome: 'ended',
      record: { status: 'completed' },
    });
  });

  it('start of a job whose cancel was requested (its worker died): ends it cancelled instead of running it', async () => {
    const { repository, lifecycle } = setup();
    const { record } = await lifecycle.submit(input());
    await repository.requestCancel(record.jobId);
    expect(await lifecycle.start(record.jobId, Date.now())).toBe(false);
    expect(repository.records.get(record.jobId)).toMatchObject({
      status: 'cancelled',
      outcome: { ending: { kind: 'cancelled' } },
    });
  });

  it('endLost: a running job Bull gave up on fails with the documented 500; a cancelled one ends cancelled', async () => {
    const { repository, queue, lifecycle } = setup();
    const lost = (await lifecycle.submit(input())).record;
    const cancelled = (await lifecycle.submit(input())).record;
    for (const job of [lost, cancelled]) await lifecycle.start(job.jobId, Date.now());
    await repository.requestCancel(cancelled.jobId);
    await lifecycle.endLost(lost.jobId, 'stalled twice');
    await lifecycle.endLost(cancelled.jobId, 'stalled twice');
    expect(repository.records.get(lost.jobId)).toMatchObject({
      status: 'failed',
      outcome: { ending: { kind: 'failed', failure: 'internal' }, error: 'An internal server error occurred' },
    });
    expect(repository.records.get(cancelled.jobId)).toMatchObject({ status: 'cancelled' });
    expect(queue.waiting.size).toBe(0);
  });

  it('endLost of a job that had ended keeps its ending', async () => {
    const { repository, lifecycle } = setup();
    const { record } = await lifecycle.submit(input());
    await lifecycle.finish(record.jobId, success());
    await lifecycle.endLost(record.jobId, 'handler threw after finishing');
    expect(repository.records.get(record.jobId)?.status).toBe('completed');
  });
});
