import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { EnvelopeDraft } from '../common/envelope';
import { AppConfig } from '../config/app-config';
import { ExecutionQueue } from '../jobs/execution.queue';
import { requestFingerprint } from '../jobs/idempotency';
import { v1Envelope } from '../jobs/job-envelope';
import { JobEventStream } from '../jobs/job-event-stream';
import type { JobRoute } from '../jobs/job-lifecycle';
import { ExecutePythonDto } from './dto/execute-python.dto';
import { ExecutionSubmitter } from './execution.submitter';
import { checkInputFiles } from './input-files';

/** Who sent an execute request, and its HTTP exchange. */
export interface ExecuteCaller {
  owner: string;
  idempotencyKey: string | undefined;
  request: Request;
  response: Response;
}

/** A session's call: its id on the job record, and the route to the worker that holds the session. */
export interface SessionTarget {
  sessionId: string;
  route: JobRoute;
}

/**
 * An execute request once validated, for POST /v1/code/execute/python and a session's execute alike:
 * submit the job, then answer with its event stream (Accept: text/event-stream), 202 (async or
 * webhook), or the ended job's envelope (sync).
 */
@Injectable()
export class ExecuteRequestHandler {
  constructor(
    private readonly submitter: ExecutionSubmitter,
    private readonly queue: ExecutionQueue,
    private readonly config: AppConfig,
    private readonly eventStream: JobEventStream,
  ) {}

  async handle(
    body: ExecutePythonDto,
    caller: ExecuteCaller,
    session?: SessionTarget,
  ): Promise<EnvelopeDraft | undefined> {
    const { owner, idempotencyKey, request, response } = caller;
    const sync = !(body.async || body.webhook_url);
    const streamed = sync && wantsEventStream(request);
    const submission = await this.submitter.submit(
      {
        owner,
        clientId: body.id ?? null,
        code: body.code,
        stdin: body.stdin ?? '',
        files: checkInputFiles(body.files, this.config),
        timeoutSec: body.timeout,
        webhookUrl: body.webhook_url ?? null,
        endpoint: request.path,
        idempotency: idempotencyKey?.trim()
          ? { key: idempotencyKey.trim(), requestHash: requestFingerprint(request.path, body) }
          : null,
        sessionId: session?.sessionId,
      },
      { sync, route: session?.route },
    );
    if (streamed) {
      submission.endWatch?.dispose(); // the stream follows the job's events instead
      await this.eventStream.serve(response, submission.record, { announceJobId: true });
      return undefined;
    }
    if (!sync) {
      return {
        code: 202,
        message: 'processing',
        job_id: submission.record.jobId,
        id: submission.record.clientId,
        queue_length: await this.queue.waitingCount(),
        max_queue_length: this.config.maxQueueLength,
      };
    }
    const ended = await this.submitter.waitForEnd(submission, body.timeout, response);
    return v1Envelope(ended, this.config.buildNumber)!;
  }
}

/** The caller asked for the job's events (Accept: text/event-stream) instead of one envelope. */
function wantsEventStream(request: Request): boolean {
  return /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(request.headers.accept ?? '');
}
