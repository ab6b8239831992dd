import { checkInputFiles } from '../execution/input-files';
import { BadRequestException, Injectable } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';
import type { Envelope } from '../common/envelope';
import { HttpExceptionFilter } from '../common/http-exception.filter';
import { INVALID_PARAMETERS } from '../common/messages';
import { createValidationPipe } from '../common/validation.pipe';
import { ExecutePythonDto } from '../execution/dto/execute-python.dto';
import { ExecutionSubmitter } from '../execution/execution.submitter';
import { v1Envelope } from '../jobs/job-envelope';
import { jobAlreadyEnded, jobNotFound } from '../jobs/job-errors';
import { JobLifecycle } from '../jobs/job-lifecycle';
import { JobListing } from '../jobs/job-listing';
import { jobDetail } from '../jobs/job-view';
import { CreateSessionDto } from '../sessions/dto/create-session.dto';
import { sessionView } from '../sessions/session.types';
import { SessionsService } from '../sessions/sessions.service';
import { EXECUTE_TOOL_FIELDS } from './mcp-tools';

/** Whose call it is, and the HTTP exchange it came in (a closed connection stops a sync wait, as on HTTP). */
export interface McpCaller {
  owner: string;
  request: Request;
  response: Response;
}

/** What the MCP tools do: the HTTP routes' own services, answered as tool results (never a copy of their logic). */
@Injectable()
export class McpToolCalls {
  private readonly pipe = createValidationPipe();
  private readonly errors: HttpExceptionFilter;

  constructor(
    private readonly submitter: ExecutionSubmitter,
    private readonly listing: JobListing,
    private readonly lifecycle: JobLifecycle,
    private readonly config: AppConfig,
    private readonly sessions: SessionsService,
  ) {
    this.errors = new HttpExceptionFilter(config);
  }

  /** Runs the tool; any error becomes `isError` with the v1 error body the HTTP route would have sent. */
  async call(name: string, args: Record<string, unknown>, caller: McpCaller): Promise<CallToolResult> {
    try {
      if (name === 'execute_python') return await this.executePython(args, caller);
      if (name === 'create_session') return await this.createSession(args, caller.owner);
      if (name === 'execute_in_session') {
        const { session_id: sessionId, ...rest } = args;
        return await this.executePython(rest, caller, idOf(sessionId, 'session_id'));
      }
      if (name === 'close_session') {
        const record = await this.sessions.delete(caller.owner, idOf(onlyId(args, 'session_id'), 'session_id'));
        return jobResult(sessionView(record));
      }
      const jobId = jobIdOf(args);
      if (name === 'get_job') return await this.getJob(jobId, caller.owner);
      return await this.cancelJob(jobId, caller.owner);
    } catch (error) {
      const body = this.errors.v1ErrorBody(error, caller.request);
      return { isError: true, content: [{ type: 'text', text: body.error ?? body.message }], structuredContent: body };
    }
  }

  private async createSession(args: Record<string, unknown>, owner: string): Promise<CallToolResult> {
    const body = (await this.pipe.transform(args, { type: 'body', metatype: CreateSessionDto })) as CreateSessionDto;
    const record = await this.sessions.create(owner, { ttlSec: body.ttl ?? 600, clientId: null });
    return jobResult(sessionView(record));
  }

  /** execute_python, or execute_in_session with `sessionId`. */
  private async executePython(
    args: Record<string, unknown>,
    caller: McpCaller,
    sessionId?: string,
  ): Promise<CallToolResult> {
    const extra = Object.keys(args).filter((key) => !(EXECUTE_TOOL_FIELDS as readonly string[]).includes(key));
    const details = extra.map((key) => `property ${key} should not exist`);
    let body: ExecutePythonDto | undefined;
    try {
      // The HTTP body's own validation (class-validator rules, error details).
      body = (await this.pipe.transform(args, { type: 'body', metatype: ExecutePythonDto })) as ExecutePythonDto;
    } catch (error) {
      if (!(error instanceof BadRequestException)) throw error;
      details.push(...((error.getResponse() as { details?: string[] }).details ?? []));
    }
    if (!body || details.length > 0) throw new BadRequestException({ message: INVALID_PARAMETERS, details });
    const submission = await this.submitter.submit(
      {
        owner: caller.owner,
        clientId: null,
        code: body.code,
        stdin: body.stdin ?? '',
        timeoutSec: body.timeout,
        webhookUrl: null,
        endpoint: caller.request.path,
        idempotency: null,
        files: checkInputFiles(body.files, this.config),
        ...(sessionId && { sessionId }),
      },
      { sync: true, route: sessionId ? this.sessions.route(sessionId) : undefined },
    );
    const ended = await this.submitter.waitForEnd(submission, body.timeout, caller.response);
    return runResult(v1Envelope(ended, this.config.buildNumber)!);
  }

  private async getJob(jobId: string, owner: string): Promise<CallToolResult> {
    const record = await this.listing.get(jobId, owner);
    if (!record) throw jobNotFound(jobId);
    return jobResult(jobDetail(record, this.config.buildNumber));
  }

  private async cancelJob(jobId: string, owner: string): Promise<CallToolResult> {
    const { outcome, record } = await this.lifecycle.cancel(jobId, owner);
    if (outcome === 'missing' || !record) throw jobNotFound(jobId);
    if (outcome === 'ended') throw jobAlreadyEnded(record);
    return jobResult(jobDetail(record, this.config.buildNumber));
  }
}

/** `args` with only `key`: its value (checked by idOf). */
function onlyId(args: Record<string, unknown>, key: string): unknown {
  const extra = Object.keys(args).filter((name) => name !== key);
  if (extra.length > 0)
    throw new BadRequestException({
      message: INVALID_PARAMETERS,
      details: extra.map((name) => `property ${name} should not exist`),
    });
  return args[key];
}

function idOf(value: unknown, key: string): string {
  if (typeof value !== 'string')
    throw new BadRequestException({ message: INVALID_PARAMETERS, details: [`${key} must be a string`] });
  return value;
}

function jobIdOf(args: Record<string, unknown>): string {
  const extra = Object.keys(args).filter((key) => key !== 'job_id');
  const details = [
    ...(typeof args.job_id === 'string' ? [] : ['job_id must be a string']),
    ...extra.map((key) => `property ${key} should not exist`),
  ];
  if (details.length > 0) throw new BadRequestException({ message: INVALID_PARAMETERS, details });
  return args.job_id as string;
}

/** A run's envelope as a tool result: stdout, stderr and the result as text, each PNG of `display` as an image. */
export function runResult(envelope: Envelope): CallToolResult {
  const response = envelope.response as Record<string, unknown> | null;
  const source = (response ?? envelope) as Record<string, unknown>;
  const content: CallToolResult['content'] = [];
  if (!response) content.push({ type: 'text', text: String(envelope.error ?? envelope.message) });
  for (const stream of ['stdout', 'stderr'] as const) {
    const text = source[stream];
    if (typeof text === 'string' && text !== '') content.push({ type: 'text', text });
  }
  if (response) content.push({ type: 'text', text: JSON.stringify(response.result ?? null) });
  for (const item of Array.isArray(source.display) ? (source.display as Array<Record<string, unknown>>) : []) {
    if (item.mime_type === 'image/png' && typeof item.data === 'string')
      content.push({ type: 'image', data: item.data, mimeType: 'image/png' });
  }
  return response
    ? { content, structuredContent: response }
    : { isError: true, content, structuredContent: envelope as unknown as Record<string, unknown> };
}

function jobResult(detail: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(detail) }], structuredContent: detail };
}
