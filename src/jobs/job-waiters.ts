import { Injectable } from '@nestjs/common';
import { JobEvents } from './job-events';
import { JobRepository } from './job.repository';
import { isEnded, JobRecord } from './job.types';

/** Sync callers wait here for their job's ending, whichever process in the cluster records it. */
@Injectable()
export class JobWaiters {
  constructor(
    private readonly repository: JobRepository,
    private readonly events: JobEvents,
  ) {}

  /** Resolves with the ended record; rejects if `signal` aborts first (the caller went away). */
  async waitForEnd(jobId: string, signal?: AbortSignal): Promise<JobRecord> {
    for (;;) {
      const waiter = this.events.whenEnded(jobId);
      try {
        const record = await this.repository.get(jobId);
        if (!record) throw new Error(`job ${jobId} vanished`);
        if (isEnded(record.status)) return record;
        const ended = await new Promise<JobRecord | undefined>((resolve, reject) => {
          if (signal?.aborted) return reject(new Error('aborted'));
          signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
          void waiter.promise.then(resolve);
        });
        if (ended) return ended; // this process ended it: no need to read it back
      } finally {
        waiter.dispose();
      }
    }
  }
}
