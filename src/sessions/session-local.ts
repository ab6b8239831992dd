import { Injectable } from '@nestjs/common';
import type { HostMessage } from './session.repository';

/** What a worker in this process takes a message with (SessionHost). */
export interface LocalHost {
  readonly workerId: string;
  /** False when it no longer takes messages (stopping): the sender then uses the worker's stream. */
  deliver(message: HostMessage): boolean;
}

/**
 * The session worker in this process, if any (role `all`, or a worker that serves MCP). A session held
 * here gets its creation and calls handed over in-process, with no trip through its worker's stream;
 * the Redis step that checks and records them is the same (session.scripts.ts). Calls from other API
 * processes still come through the stream.
 */
@Injectable()
export class LocalSessionHost {
  private host?: LocalHost;

  attach(host: LocalHost): void {
    this.host = host;
  }

  detach(host: LocalHost): void {
    if (this.host === host) this.host = undefined;
  }

  /** This process' worker id ('' when none: every message then goes through the stream). */
  get workerId(): string {
    return this.host?.workerId ?? '';
  }

  deliver(message: HostMessage): boolean {
    return this.host?.deliver(message) ?? false;
  }
}
