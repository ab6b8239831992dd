import { Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { AppConfig } from '../config/app-config';
import { v1Envelope } from './job-envelope';
import { JobEventFollower } from './job-event-follower';
import { isEntryId, JobEventEntry, JobEventLog } from './job-event-log';
import { JobListing } from './job-listing';
import { isEnded, JobRecord } from './job.types';

/** A comment line this often keeps proxies from closing a quiet stream. */
export const SSE_KEEPALIVE_MS = 15_000;
/** Every job was pending once: its stream starts with this event (no Redis entry has an id this low). */
export const PENDING_EVENT_ID = '0-1';
/** Ids of the events of a job ended before its stream was recorded (none is in Redis). */
const UNRECORDED_STATUS_ID = '0-2';
const UNRECORDED_END_ID = '0-3';
/** A client this far behind is cut off (it may resume with Last-Event-ID): a slow reader holds little memory. */
export const MAX_UNSENT_BYTES = 8 * 1024 * 1024;

export interface StreamOptions {
  /** The client's Last-Event-ID: resume after it (anything but an event id: from the start). */
  lastEventId?: string;
  /** The first event names the job: `{ status, job_id }` (a streaming submit). */
  announceJobId?: boolean;
}

/** GET /v1/jobs/{id}/events and a streaming submit: a job's recorded and live events as Server-Sent Events. */
@Injectable()
export class JobEventStream {
  constructor(
    private readonly follower: JobEventFollower,
    private readonly log: JobEventLog,
    private readonly listing: JobListing,
    private readonly config: AppConfig,
  ) {}

  /** Writes `record`'s events to `response` until its `end` (then closes) or until the client goes; resolves then. */
  serve(response: Response, record: JobRecord, options: StreamOptions = {}): Promise<void> {
    response.status(200);
    response.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    response.setHeader('Cache-Control', 'no-cache, no-transform');
    response.setHeader('Connection', 'keep-alive');
    response.setHeader('X-Accel-Buffering', 'no'); // nginx: pass each event on at once
    response.flushHeaders();
    return new Promise<void>((resolve) => {
      let stop = () => undefined as void;
      const keepAlive = setInterval(() => send(response, ': keep-alive\n\n'), SSE_KEEPALIVE_MS);
      const finish = () => {
        stop();
        clearInterval(keepAlive);
        resolve();
      };
      response.once('close', finish);
      let afterId = isEntryId(options.lastEventId) ? options.lastEventId : undefined;
      if (afterId === undefined) {
        const first = options.announceJobId ? { status: 'pending', job_id: record.jobId } : { status: 'pending' };
        send(response, sseEvent(PENDING_EVENT_ID, 'status', JSON.stringify(first)));
        afterId = PENDING_EVENT_ID;
      }
      const deliver = (entries: JobEventEntry[]) => {
        for (const entry of entries) {
          if (entry.type === 'end') {
            stop();
            this.end(response, record, entry.id);
            return;
          }
          send(response, sseEvent(entry.id, entry.type, eventData(entry)));
        }
        if (response.writableLength > MAX_UNSENT_BYTES) response.destroy();
      };
      this.startFollowing(record, afterId, deliver, response).then(
        (unfollow) => {
          if (response.writableEnded || response.destroyed) unfollow();
          else stop = unfollow;
        },
        () => response.destroy(), // Redis away: the client reconnects (EventSource does) and resumes
      );
    });
  }

  private async startFollowing(
    record: JobRecord,
    afterId: string,
    deliver: (entries: JobEventEntry[]) => void,
    response: Response,
  ): Promise<() => void> {
    // A job that ended before streams were recorded (or whose stream is gone) still ends its stream.
    if (isEnded(record.status) && !(await this.log.exists(record.jobId))) {
      if (afterId === PENDING_EVENT_ID)
        send(response, sseEvent(UNRECORDED_STATUS_ID, 'status', statusData(record.status)));
      this.end(response, record, UNRECORDED_END_ID);
      return () => undefined;
    }
    return this.follower.follow(record.jobId, afterId, deliver);
  }

  /** The last event: the final envelope, read from the stored record (the one source of truth); then the close. */
  private end(response: Response, record: JobRecord, id: string): void {
    this.listing.get(record.jobId, record.owner).then(
      (ended) => {
        const envelope = ended && v1Envelope(ended, this.config.buildNumber);
        if (envelope) send(response, sseEvent(id, 'end', JSON.stringify(envelope)));
        response.end();
      },
      () => response.destroy(), // not an orderly end: the client reconnects and gets the end then
    );
  }
}

function eventData(entry: JobEventEntry): string {
  return entry.type === 'status' ? statusData(entry.data) : JSON.stringify(entry.data);
}

function statusData(status: string): string {
  return JSON.stringify({ status });
}

/** One event; `data` is one line of JSON (JSON.stringify escapes every newline). */
export function sseEvent(id: string, event: string, data: string): string {
  return `id: ${id}\nevent: ${event}\ndata: ${data}\n\n`;
}

function send(response: Response, text: string): void {
  if (!response.writableEnded && !response.destroyed) response.write(text);
}
