import { Injectable, Logger } from '@nestjs/common';
import { JobLifecycle } from '../jobs/job-lifecycle';
import type { JobOutcome, SessionEndedReason } from '../jobs/job.types';
import { EndResult, SessionRepository } from './session.repository';

/** The error text of a call answered 410 because its session ended. */
export function sessionGoneMessage(reason: string): string {
  return `Session ended (${reason})`;
}

/** A call that did not run (or did not finish) because its session ended: 410 SESSION_GONE. */
export function goneOutcome(reason: SessionEndedReason): JobOutcome {
  return {
    ending: { kind: 'failed', failure: 'session_gone', endedReason: reason },
    exitCode: null,
    output: null,
    result: null,
    error: sessionGoneMessage(reason),
    runMs: null,
    pid: process.pid,
    serverPid: 0,
  };
}

export type SessionEndedListener = (reason: SessionEndedReason) => void;

/** The one way a session ends, from any process: recorded once, its open calls answered 410 at once. */
@Injectable()
export class SessionEndings {
  private readonly logger = new Logger('Sessions');
  private readonly listeners: SessionEndedListener[] = [];

  constructor(
    private readonly repository: SessionRepository,
    private readonly lifecycle: JobLifecycle,
  ) {}

  /**
   * `causedBy`: the call that ended it (its worker records its own outcome: 408, 400 RESOURCE_LIMIT...).
   * `tellWorker`: the ending comes from elsewhere than its worker, which then stops the interpreter.
   */
  async end(
    sessionId: string,
    reason: SessionEndedReason,
    options: { causedBy?: string; tellWorker?: boolean } = {},
  ): Promise<EndResult> {
    const result = await this.repository.end(sessionId, reason);
    if (!result.ended) return result;
    for (const listener of this.listeners) listener(reason);
    await Promise.all(
      result.openCalls
        .filter((jobId) => jobId !== options.causedBy)
        .map((jobId) =>
          this.lifecycle
            .finish(jobId, goneOutcome(reason))
            .catch((err: Error) => this.logger.warn({ job_id: jobId }, `could not answer 410: ${err.message}`)),
        ),
    );
    if (options.tellWorker) {
      await this.repository
        .send(result.worker, { type: 'end', sessionId })
        .catch((err: Error) => this.logger.warn(`could not tell worker ${result.worker}: ${err.message}`));
    }
    return result;
  }

  /** Called in the process that ended a session (metrics). */
  onEnded(listener: SessionEndedListener): void {
    this.listeners.push(listener);
  }
}
