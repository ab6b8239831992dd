import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ExecutionQueue } from './execution.queue';
import { JobRepository } from './job.repository';

/** A job's record is written, then it is queued: a record this old without a queue entry never got one. */
export const UNQUEUED_GRACE_MS = 15_000;
/** How often every process looks; with the grace, an orphan record is gone within 30 s (+ one pass). */
export const UNQUEUED_CHECK_INTERVAL_MS = 15_000;
const CHECK_BATCH = 200;

/**
 * Removes job records whose queue entry never came: the submitting process died (or lost Redis)
 * between writing the record and the Bull add, and could not undo the record itself. Every record
 * starts in an "unqueued" set that a worker taking the job, the job's ending, or a pass here (which
 * finds it in Bull) empties; what is still pending and not in Bull after UNQUEUED_GRACE_MS was never
 * acknowledged to a caller, and goes with its index entry and Idempotency-Key.
 */
@Injectable()
export class UnqueuedJobReconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Jobs');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly repository: JobRepository,
    private readonly queue: ExecutionQueue,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.reconcileLogged(), UNQUEUED_CHECK_INTERVAL_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /**
   * One pass over records created before `nowMs - UNQUEUED_GRACE_MS`; answers how many it removed.
   * Racing another process's pass is harmless: the removal is one atomic, pending-only step.
   */
  async reconcile(nowMs = Date.now()): Promise<number> {
    const queued: string[] = [];
    let removed = 0;
    for (const jobId of await this.repository.unqueuedBefore(nowMs - UNQUEUED_GRACE_MS, CHECK_BATCH)) {
      const record = await this.repository.get(jobId);
      // A session's call is routed to its session's worker, never through Bull (see src/sessions/).
      if (record?.status === 'pending' && !record.sessionId && !(await this.queue.has(jobId))) {
        if (await this.repository.abandon(jobId, record.owner)) removed += 1;
      } else {
        queued.push(jobId); // queued after all, taken, ended, or expired
      }
    }
    await this.repository.seenQueued(queued);
    return removed;
  }

  private async reconcileLogged(): Promise<void> {
    try {
      const removed = await this.reconcile();
      if (removed) this.logger.warn(`removed ${removed} job record(s) whose queue entry never came`);
    } catch (err) {
      this.logger.warn(`unqueued-job check failed: ${(err as Error).message}`);
    }
  }
}
