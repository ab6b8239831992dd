import { Injectable } from '@nestjs/common';
import { EndWatch, JobEvents } from './job-events';
import { JobRepository } from './job.repository';
import { isEnded, JobRecord } from './job.types';

/** Sync callers wait here for their job's ending, whichever process in the cluster records it. */
@Injectable()
export class JobWaiters {
  constructor(
    private readonly repository: JobRepository,
    private readonly events: JobEvents,
  ) {}

  /**
   * Resolves with the ended record; rejects if `signal` aborts first (the caller went away).
   * `registered`: a watch made before the job was queued (JobLifecycle.submit), so no ending can
   * have been missed and the record need not be read first; it is disposed here.
   */
  async waitForEnd(jobId: string, signal?: AbortSignal, registered?: EndWatch): Promise<JobRecord> {
    let fresh = registered;
    for (;;) {
      const waiter = fresh ?? this.events.whenEnded(jobId);
      // A watch made before the job was queued needs no read, unless the subscriber dropped since.
      const mustRead = !fresh || this.events.mayHaveMissed(fresh);
      fresh = undefined;
      try {
        if (mustRead) {
          const record = await this.repository.get(jobId);
          if (!record) throw new Error(`job ${jobId} vanished`);
          if (isEnded(record.status)) return record;
        }
        const ended = await endedOrAborted(waiter.promise, signal);
        if (ended) return ended; // this process ended it: no need to read it back
      } finally {
        waiter.dispose();
      }
    }
  }
}

/** `ended`, or a rejection when `signal` aborts first; the abort listener goes when either happens. */
function endedOrAborted(
  ended: Promise<JobRecord | undefined>,
  signal: AbortSignal | undefined,
): Promise<JobRecord | undefined> {
  if (!signal) return ended;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    void ended.then((record) => {
      signal.removeEventListener('abort', onAbort);
      resolve(record);
    });
  });
}
