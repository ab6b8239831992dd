import { Injectable } from '@nestjs/common';
import { JobRepository } from './job.repository';
import type { JobRecord, WebhookState } from './job.types';

/** What the webhooks module may read and write of a job: its record, its webhook state, the delivery outbox. */
@Injectable()
export class JobWebhooks {
  constructor(private readonly repository: JobRepository) {}

  record(jobId: string): Promise<JobRecord | null> {
    return this.repository.get(jobId);
  }

  /** False when the record no longer exists (retention). */
  setState(jobId: string, state: WebhookState): Promise<boolean> {
    return this.repository.setWebhook(jobId, state);
  }

  /** Ended jobs (before `endedBeforeMs`) whose delivery finish() put in the outbox and nobody has queued yet. */
  undelivered(endedBeforeMs: number, count: number): Promise<string[]> {
    return this.repository.undeliveredWebhooks(endedBeforeMs, count);
  }

  /** The delivery is in the webhooks queue, or not needed any more. */
  queued(jobId: string): Promise<void> {
    return this.repository.webhookQueued(jobId);
  }
}
