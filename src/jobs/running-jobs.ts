import { Injectable } from '@nestjs/common';
import { JobEvents } from './job-events';

/** The jobs this process is running now; a cancel event for one of them aborts its run. */
@Injectable()
export class RunningJobs {
  private readonly running = new Map<string, AbortController>();

  constructor(events: JobEvents) {
    events.onCancel((jobId) => this.running.get(jobId)?.abort());
  }

  /** Runs `work` as job `jobId`; its signal aborts when someone, anywhere in the cluster, cancels the job. */
  async run<T>(jobId: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    this.running.set(jobId, controller);
    try {
      return await work(controller.signal);
    } finally {
      this.running.delete(jobId);
    }
  }

  ids(): string[] {
    return [...this.running.keys()];
  }
}
