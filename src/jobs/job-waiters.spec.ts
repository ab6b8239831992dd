import { EventEmitter } from 'node:events';
import { JobEvents } from './job-events';
import type { JobRepository } from './job.repository';
import type { JobRecord } from './job.types';
import { JobWaiters } from './job-waiters';
import type { AppConfig } from '../config/app-config';

const pending = { jobId: 'j', status: 'pending' } as JobRecord;
const ended = { jobId: 'j', status: 'completed' } as JobRecord;

function setup(stored: JobRecord | null = pending) {
  const repository = { get: jest.fn(async () => stored) };
  const events = new JobEvents({} as never, {} as never, { redisPrefix: 'spec' } as AppConfig);
  const waiters = new JobWaiters(repository as unknown as JobRepository, events);
  return { repository, events, waiters, setStored: (r: JobRecord) => (stored = r) };
}

describe('JobWaiters.waitForEnd', () => {
  it('without a watch: reads the record first and answers an ended one at once', async () => {
    const { repository, waiters } = setup(ended);
    await expect(waiters.waitForEnd('j')).resolves.toBe(ended);
    expect(repository.get).toHaveBeenCalledTimes(1);
  });

  it('with a watch registered before the job was queued: no read; the local ending is the answer', async () => {
    const { repository, events, waiters } = setup();
    const watch = events.whenEnded('j');
    const result = waiters.waitForEnd('j', undefined, watch);
    events.wakeEnded('j', ended);
    await expect(result).resolves.toBe(ended);
    expect(repository.get).not.toHaveBeenCalled();
  });

  it('a watch made before the subscriber lost its connection reads the record: its "ended" may be gone', async () => {
    const subscriber = Object.assign(new EventEmitter(), { subscribe: jest.fn(async () => 1) });
    const connection = { createWaitingClient: () => subscriber };
    const events = new JobEvents({} as never, connection as never, { redisPrefix: 'spec' } as AppConfig);
    await events.onModuleInit();
    const repository = { get: jest.fn(async () => ended) };
    const waiters = new JobWaiters(repository as unknown as JobRepository, events);
    const watch = events.whenEnded('j');
    subscriber.emit('close'); // the job's "ended" was published while it was away
    await expect(waiters.waitForEnd('j', undefined, watch)).resolves.toBe(ended);
    expect(repository.get).toHaveBeenCalledTimes(1);
  });

  it('an ending announced by another process (no record in the message) is read back', async () => {
    const { repository, events, waiters, setStored } = setup();
    const result = waiters.waitForEnd('j', undefined, events.whenEnded('j'));
    setStored(ended);
    events.dispatch('ended:j');
    await expect(result).resolves.toEqual(ended);
    expect(repository.get).toHaveBeenCalledTimes(1);
  });

  it('rejects when the signal aborts, and leaves no waiter behind', async () => {
    const { events, waiters } = setup();
    const controller = new AbortController();
    const result = waiters.waitForEnd('j', controller.signal, events.whenEnded('j'));
    controller.abort(new Error('gone'));
    await expect(result).rejects.toThrow('aborted');
    const wake = jest.fn();
    events.whenEnded('j').promise.then(wake, wake);
    events.wakeEnded('j', ended);
    await Promise.resolve();
    expect(wake).toHaveBeenCalledTimes(1); // only the new one: the aborted wait's was disposed
  });
});
