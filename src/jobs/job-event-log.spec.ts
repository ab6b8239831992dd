import { compareEntryIds, isEntryId, JobEventLog, JobEventType, toEntries } from './job-event-log';

/** A JobEventLog whose appends wait until the test releases them. */
function slowLog() {
  const batches: Array<Array<{ type: JobEventType; data: string }>> = [];
  const releases: Array<() => void> = [];
  const log = {
    append: (_jobId: string, events: Array<{ type: JobEventType; data: string }>) => {
      batches.push(events.map((e) => ({ ...e })));
      return new Promise<void>((resolve) => releases.push(resolve));
    },
  } as unknown as JobEventLog;
  return { log, batches, releases };
}

describe('JobEventRecorder', () => {
  it('writes one batch at a time and merges what comes meanwhile (adjacent chunks of one stream)', async () => {
    const { log, batches, releases } = slowLog();
    const recorder = JobEventLog.prototype.recorder.call(log, 'job-1');
    recorder.add('status', 'running');
    recorder.add('stdout', 'a\n');
    recorder.add('stdout', 'b\n');
    recorder.add('stderr', 'e');
    recorder.add('stdout', 'c\n');
    expect(batches).toEqual([[{ type: 'status', data: 'running' }]]);
    const flushed = recorder.flush();
    releases[0]();
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches[1]).toEqual([
      { type: 'stdout', data: 'a\nb\n' },
      { type: 'stderr', data: 'e' },
      { type: 'stdout', data: 'c\n' },
    ]);
    releases[1]();
    await flushed;
  });

  it('a failed write is logged, not thrown: the run goes on and flush() still resolves', async () => {
    const log = { append: () => Promise.reject(new Error('redis away')) } as unknown as JobEventLog;
    const recorder = JobEventLog.prototype.recorder.call(log, 'job-2');
    recorder.add('stdout', 'x');
    await expect(recorder.flush()).resolves.toBeUndefined();
  });
});

describe('entry ids', () => {
  it('are compared as numbers, not strings', () => {
    expect(compareEntryIds('9-0', '10-0')).toBe(-1);
    expect(compareEntryIds('10-2', '10-10')).toBe(-1);
    expect(compareEntryIds('10-10', '10-10')).toBe(0);
    expect(compareEntryIds('11-0', '10-99')).toBe(1);
  });

  it('only "<ms>-<seq>" is an id a client may resume after', () => {
    expect(isEntryId('1733486400000-3')).toBe(true);
    for (const bad of ['', '0', '$', '+', '1-2-3', 'abc-1', undefined, ' 1-2']) expect(isEntryId(bad)).toBe(false);
  });

  it('entries of unknown type are skipped', () => {
    expect(
      toEntries([
        ['1-0', ['t', 'stdout', 'd', 'hi']],
        ['2-0', ['t', 'bogus', 'd', 'x']],
        ['3-0', ['t', 'end']],
      ]),
    ).toEqual([
      { id: '1-0', type: 'stdout', data: 'hi' },
      { id: '3-0', type: 'end', data: '' },
    ]);
  });
});
