import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiGoneResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiRequestTimeoutResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiV1AuthAndInternalErrors } from '../common/api-error-responses';
import { ApiKeyAuth, CallerKeyId } from '../auth/auth.decorators';
import { RateLimited } from '../auth/rate-limit.guard';
import { EnvelopeDraft, ErrorEnvelopeDto } from '../common/envelope';
import { EnvelopeInterceptor } from '../common/envelope.interceptor';
import { ExecutePythonDto } from '../execution/dto/execute-python.dto';
import { ExecuteAcceptedEnvelopeDto, ExecuteSuccessEnvelopeDto } from '../execution/dto/execute-response.envelope';
import { ExecuteRequestHandler } from '../execution/execute-request.handler';
import { SERVICE_UNAVAILABLE_DOC } from '../execution/execution.submitter';
import { sessionNotFound } from './session-errors';
import { CreateSessionDto, ListSessionsQueryDto } from './dto/create-session.dto';
import { SessionEnvelopeDto, SessionGoneEnvelopeDto, SessionListEnvelopeDto } from './dto/session-view.envelope';
import { sessionExecuteExamples, sessionRequestExamples } from './dto/sessions.examples';
import { sessionView } from './session.types';
import { SessionsService } from './sessions.service';

const DEFAULT_TTL_SEC = 600;
const DEFAULT_LIST_LIMIT = 50;
const GONE = 'SESSION_GONE: the session has ended (ended_reason says why); an ended session stays readable for an hour';
const NOT_FOUND = 'Unknown session, or another API key’s';

/** A session id as the routes take it: not a UUID is just an unknown session (404). */
const sessionIdPipe = new ParseUUIDPipe({ exceptionFactory: () => sessionNotFound() });

@ApiTags('sessions')
@ApiKeyAuth()
@UseInterceptors(EnvelopeInterceptor)
@ApiV1AuthAndInternalErrors()
@Controller('v1/sessions')
export class SessionsController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly handler: ExecuteRequestHandler,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    operationId: 'createSession',
    summary: 'Start a session: a sandboxed interpreter that keeps its globals, imports and files between calls',
  })
  @ApiBody({ type: CreateSessionDto, examples: sessionRequestExamples })
  @ApiCreatedResponse({ type: SessionEnvelopeDto, description: 'The new session, idle' })
  @ApiBadRequestResponse({ type: ErrorEnvelopeDto, description: 'Invalid body (ttl outside 10..3600, unknown field)' })
  @ApiTooManyRequestsResponse({
    type: ErrorEnvelopeDto,
    description:
      'SESSION_LIMIT: MAX_SESSIONS_PER_KEY sessions open for this key, or every worker is full (Retry-After)',
  })
  @ApiServiceUnavailableResponse({ type: ErrorEnvelopeDto, description: 'No live worker, or Redis unreachable' })
  async create(@Body() body: CreateSessionDto, @CallerKeyId() owner: string): Promise<EnvelopeDraft> {
    const record = await this.sessions.create(owner, {
      ttlSec: body.ttl ?? DEFAULT_TTL_SEC,
      clientId: body.id ?? null,
    });
    return { code: 201, id: record.clientId, response: sessionView(record) };
  }

  @Get()
  @ApiOperation({ operationId: 'listSessions', summary: "The caller's sessions, newest first" })
  @ApiOkResponse({ type: SessionListEnvelopeDto })
  @ApiBadRequestResponse({ type: ErrorEnvelopeDto, description: 'limit outside 1..100' })
  async list(@Query() query: ListSessionsQueryDto, @CallerKeyId() owner: string): Promise<EnvelopeDraft> {
    const page = await this.sessions.list(owner, query.limit ?? DEFAULT_LIST_LIMIT);
    return { code: 200, response: { sessions: page.sessions.map(sessionView), total: page.total } };
  }

  @Get(':session_id')
  @ApiOperation({ operationId: 'getSession', summary: 'One session: status, times, executions, ended_reason' })
  @ApiOkResponse({ type: SessionEnvelopeDto })
  @ApiNotFoundResponse({ type: ErrorEnvelopeDto, description: NOT_FOUND })
  async get(
    @Param('session_id', sessionIdPipe) sessionId: string,
    @CallerKeyId() owner: string,
  ): Promise<EnvelopeDraft> {
    const record = await this.sessions.get(owner, sessionId);
    return { code: 200, id: record.clientId, response: sessionView(record) };
  }

  @Post(':session_id/execute')
  @HttpCode(200)
  @RateLimited()
  @ApiOperation({
    operationId: 'executeInSession',
    summary: 'Run code in the session: its globals, imports and files are there from earlier calls',
    description:
      'The body and answers of POST /v1/code/execute/python (sync, `async`, `webhook_url`, `stdin`, `files`, ' +
      '`Accept: text/event-stream`); the job records its `session_id`. Calls in one session run one at a time, ' +
      'in arrival order (the wait counts as queue_time). A timeout interrupts the call (408; the session lives on ' +
      'unless the code ignores the interrupt for a second); a call over the memory limit ends the session (400 ' +
      'RESOURCE_LIMIT). A call waiting or running when the session ends is answered 410 SESSION_GONE.',
  })
  @ApiBody({ type: ExecutePythonDto, examples: sessionExecuteExamples })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'As for POST /v1/code/execute/python' })
  @ApiOkResponse({ type: ExecuteSuccessEnvelopeDto, description: 'The call ran to completion' })
  @ApiAcceptedResponse({ type: ExecuteAcceptedEnvelopeDto, description: 'Queued (async or webhook)' })
  @ApiBadRequestResponse({
    type: ErrorEnvelopeDto,
    description: 'Invalid body, or the call failed (exception, non-zero exit, limit)',
  })
  @ApiNotFoundResponse({ type: ErrorEnvelopeDto, description: NOT_FOUND })
  @ApiRequestTimeoutResponse({ type: ErrorEnvelopeDto, description: 'The call timed out (interrupted)' })
  @ApiGoneResponse({ type: SessionGoneEnvelopeDto, description: GONE })
  @ApiTooManyRequestsResponse({ type: ErrorEnvelopeDto, description: 'Per-key rate limit (Retry-After)' })
  @ApiServiceUnavailableResponse({ type: ErrorEnvelopeDto, description: SERVICE_UNAVAILABLE_DOC })
  async execute(
    @Param('session_id', sessionIdPipe) sessionId: string,
    @Body() body: ExecutePythonDto,
    @CallerKeyId() owner: string,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<EnvelopeDraft | undefined> {
    return this.handler.handle(
      body,
      { owner, idempotencyKey, request, response },
      { sessionId, route: this.sessions.route(sessionId) },
    );
  }

  @Post(':session_id/interrupt')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'interruptSession',
    summary: 'Raise KeyboardInterrupt in the running call; the session and its state stay',
  })
  @ApiOkResponse({ type: SessionEnvelopeDto, description: 'Interrupted (the call answers with its KeyboardInterrupt)' })
  @ApiNotFoundResponse({ type: ErrorEnvelopeDto, description: NOT_FOUND })
  @ApiConflictResponse({ type: ErrorEnvelopeDto, description: 'SESSION_IDLE: nothing is running' })
  @ApiGoneResponse({ type: SessionGoneEnvelopeDto, description: GONE })
  async interrupt(
    @Param('session_id', sessionIdPipe) sessionId: string,
    @CallerKeyId() owner: string,
  ): Promise<EnvelopeDraft> {
    const record = await this.sessions.interrupt(owner, sessionId);
    return { code: 200, id: record.clientId, response: sessionView(record) };
  }

  @Delete(':session_id')
  @ApiOperation({
    operationId: 'deleteSession',
    summary: 'End the session and free its memory; its waiting and running calls are answered 410',
  })
  @ApiOkResponse({ type: SessionEnvelopeDto, description: 'Ended (ended_reason: deleted)' })
  @ApiNotFoundResponse({ type: ErrorEnvelopeDto, description: NOT_FOUND })
  @ApiGoneResponse({ type: SessionGoneEnvelopeDto, description: GONE })
  async delete(
    @Param('session_id', sessionIdPipe) sessionId: string,
    @CallerKeyId() owner: string,
  ): Promise<EnvelopeDraft> {
    const record = await this.sessions.delete(owner, sessionId);
    return { code: 200, id: record.clientId, response: sessionView(record) };
  }
}
