import type { Job } from 'bull';
import { AppConfig } from '../config/app-config';
import { RUN_JOB } from '../jobs/execution.queue';
import { JobEvents } from '../jobs/job-events';
import type { JobLifecycle } from '../jobs/job-lifecycle';
import type { ExecutionJobData } from '../jobs/job.types';
import { RunningJobs } from '../jobs/running-jobs';
import { ExecutionProcessor } from './execution.processor';

// @nestjs/bull's metadata key for @Process (its package "exports" keeps dist/bull.constants private).
const BULL_MODULE_QUEUE_PROCESS = 'bull:module_queue_process';
import type { ExecutionService } from './execution.service';

const data: ExecutionJobData = {
  jobId: 'job-1',
  owner: 'k',
  clientId: null,
  code: '1',
  stdin: '',
  timeoutSec: 5,
  endpoint: '/v1/code/execute/python',
};

/** What Bull hands a processor: only the fields it reads. */
function fakeJob(over: Partial<Job<ExecutionJobData>> = {}): Job<ExecutionJobData> {
  return {
    id: data.jobId,
    data,
    processedOn: 1_700_000_000_123,
    failedReason: undefined,
    ...over,
  } as Job<ExecutionJobData>;
}

function setup() {
  const execute = jest.fn<Promise<void>, [ExecutionJobData, number, AbortSignal]>(async () => undefined);
  const endLost = jest.fn<Promise<void>, [string, string]>(async () => undefined);
  const events = new JobEvents({} as never, {} as never, { redisPrefix: 'spec' } as AppConfig);
  const running = new RunningJobs(events);
  const processor = new ExecutionProcessor(
    { execute } as unknown as ExecutionService,
    { endLost } as unknown as JobLifecycle,
    running,
    { workerConcurrency: 3 } as AppConfig,
  );
  return { processor, execute, endLost, events, running };
}

describe('ExecutionProcessor', () => {
  it('hands the job to ExecutionService with the time Bull gave it to this worker', async () => {
    const { processor, execute } = setup();
    await processor.run(fakeJob());
    expect(execute).toHaveBeenCalledWith(data, 1_700_000_000_123, expect.any(AbortSignal));
  });

  it('the job counts as running here while it runs, and a cancel event for it aborts its signal', async () => {
    const { processor, execute, events, running } = setup();
    let signal: AbortSignal | undefined;
    let release = () => undefined as void;
    execute.mockImplementation((_data, _started, s) => {
      signal = s;
      return new Promise<void>((resolve) => (release = resolve));
    });
    const run = processor.run(fakeJob());
    expect(running.ids()).toEqual(['job-1']);
    events.dispatch(JobEvents.message('cancel', 'job-1')); // as if any process published it
    expect(signal?.aborted).toBe(true);
    release();
    await run;
    expect(running.ids()).toEqual([]);
  });

  it('registers its handler with the configured concurrency', () => {
    const { processor } = setup();
    expect(Reflect.getMetadata(BULL_MODULE_QUEUE_PROCESS, processor.run)).toEqual({ name: RUN_JOB, concurrency: 3 });
  });

  it("a job Bull failed (stalled twice, or the handler threw) is ended as lost, with Bull's reason in the log only", async () => {
    const { processor, endLost } = setup();
    await processor.onFailed(fakeJob({ failedReason: 'whatever Bull says' }));
    expect(endLost).toHaveBeenCalledWith('job-1', expect.stringContaining('whatever Bull says'));
  });

  it("a failure to record the lost job is logged, never thrown into Bull's event emitter", async () => {
    const { processor, endLost } = setup();
    endLost.mockRejectedValueOnce(new Error('Redis down'));
    await expect(processor.onFailed(fakeJob())).resolves.toBeUndefined();
    await expect(processor.onFailed(null)).resolves.toBeUndefined();
  });
});
