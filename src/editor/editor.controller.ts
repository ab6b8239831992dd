import { Body, Controller, Delete, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiInternalServerErrorResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiExtraModels,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiQuery,
  ApiRequestTimeoutResponse,
  ApiResponse,
  ApiTags,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnsupportedMediaTypeResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiKeyAuth, CallerKeyId } from '../auth/auth.decorators';
import { jobLocation } from '../common/envelope.interceptor';
import { ExecutionSubmitter, SERVICE_UNAVAILABLE_DOC } from '../execution/execution.submitter';
import { ERROR_CODE_STATUS } from '../common/error-code';
import { JobLifecycle } from '../jobs/job-lifecycle';
import { JobListing } from '../jobs/job-listing';
import { isEnded } from '../jobs/job.types';
import { EditorExecuteDto } from './dto/editor-execute.dto';
import {
  EditorCancelDto,
  EditorErrorDto,
  EditorExecuteAcceptedDto,
  EditorExecuteFailureDto,
  EditorExecuteSuccessDto,
  EditorJobListDto,
  EditorJobResponseDto,
} from './dto/editor-responses.dto';
import { EditorExecuteBodyPipe } from './editor-execute.pipe';
import { exampleJobId } from '../common/envelope.examples';
import {
  editorCancelExample,
  editorCancelledExample,
  editorError,
  editorExecuteAcceptedExample,
  editorExecuteBadRequestExamples,
  editorExecuteOkExample,
  editorExecuteRequestExamples,
  editorJobExample,
  editorJobListExample,
  editorTimeoutExample,
} from './dto/editor.examples';
import { editorExecuteOutcome, editorJob, editorJobSummary } from './editor-job.view';
import { EditorException, jobNotFound } from './editor.exception';
import { RateLimited } from '../auth/rate-limit.guard';

/** GET /jobs answers with at most this many of the caller's newest jobs (GET /v1/jobs pages through all). */
export const EDITOR_JOBS_LIMIT = 1000;

/** Declared as an interface, not the DTO class, so the global v1 ValidationPipe leaves it to EditorExecuteBodyPipe. */
interface EditorExecuteRequest {
  code: string;
  timeout?: number;
  async?: boolean;
}

const idQuery = ApiQuery({
  name: 'id',
  type: String,
  required: true,
  description: 'The job_id (from either dialect)',
  example: exampleJobId,
});
/** What the editor dialect's runs never have: a client id, stdin, a webhook, an Idempotency-Key. */
const editorRunDefaults = { clientId: null, stdin: '', webhookUrl: null, idempotency: null };
const missingIdExample = editorError('MISSING_PARAMETER', "Query parameter 'id' is required");
const notFoundExample = editorError('JOB_NOT_FOUND', `Job '${exampleJobId}' not found`);
/** The 503 of the editor's reads when Redis cannot be reached. */
const readUnavailable = ApiServiceUnavailableResponse({
  type: EditorErrorDto,
  description: 'SERVICE_UNAVAILABLE: Redis is unreachable; retry after Retry-After seconds',
  example: editorError('SERVICE_UNAVAILABLE', 'Service unavailable: Redis cannot be reached, retry later'),
});

/** The editor-automation dialect: `{ success: ... }` bodies and `?id=` parameters, on the v1 engine and job store. */
@ApiTags('editor')
@ApiKeyAuth()
@ApiExtraModels(EditorErrorDto, EditorExecuteFailureDto)
@ApiUnauthorizedResponse({
  type: EditorErrorDto,
  description: 'Missing or wrong API key: UNAUTHORIZED',
  example: editorError('UNAUTHORIZED', 'Unauthorized'),
})
@ApiInternalServerErrorResponse({
  type: EditorErrorDto,
  description: 'INTERNAL_ERROR; no internals in the body',
  example: editorError('INTERNAL_ERROR', 'An internal server error occurred'),
})
@Controller('api/v1/python')
export class EditorController {
  constructor(
    private readonly submitter: ExecutionSubmitter,
    private readonly listing: JobListing,
    private readonly lifecycle: JobLifecycle,
  ) {}

  @Post('execute')
  @HttpCode(200)
  @RateLimited()
  @ApiOperation({
    operationId: 'editorExecute',
    summary: 'Run a Python snippet (editor dialect)',
    description:
      'Synchronous by default: answers when the program ends. With `async: true`, answers 202 at once; poll GET /api/v1/python/job?id=.',
  })
  @ApiBody({ type: EditorExecuteDto, examples: editorExecuteRequestExamples })
  @ApiOkResponse({
    type: EditorExecuteSuccessDto,
    description: 'The program ran to completion (exit status 0)',
    example: editorExecuteOkExample,
  })
  @ApiAcceptedResponse({
    type: EditorExecuteAcceptedDto,
    description: '`async: true`: queued',
    example: editorExecuteAcceptedExample,
  })
  @ApiBadRequestResponse({
    // anyOf, not oneOf: a failure body is also a valid EditorErrorDto.
    schema: { anyOf: [{ $ref: getSchemaPath(EditorExecuteFailureDto) }, { $ref: getSchemaPath(EditorErrorDto) }] },
    examples: editorExecuteBadRequestExamples,
    description:
      'EXECUTION_FAILED (exception, SyntaxError, non-zero exit, limit; with job_id, output, logs, duration_ms), ' +
      'or MISSING_FIELD (`code` absent or empty) / INVALID_REQUEST (malformed JSON, bad type, bad timeout, unknown field): ' +
      'these two carry only success, error and message',
  })
  @ApiRequestTimeoutResponse({
    type: EditorExecuteFailureDto,
    description: 'TIMEOUT: the wall-clock timeout; partial output and logs',
    example: editorTimeoutExample,
  })
  @ApiResponse({
    status: ERROR_CODE_STATUS.JOB_CANCELLED,
    type: EditorExecuteFailureDto,
    description: 'JOB_CANCELLED: cancelled while the caller waited',
    example: editorCancelledExample,
  })
  @ApiPayloadTooLargeResponse({
    type: EditorErrorDto,
    description: 'PAYLOAD_TOO_LARGE: body over MAX_BODY_BYTES',
    example: editorError('PAYLOAD_TOO_LARGE', 'Request body exceeds 1048576 bytes'),
  })
  @ApiUnsupportedMediaTypeResponse({
    type: EditorErrorDto,
    description: 'UNSUPPORTED_MEDIA_TYPE: Content-Type is not JSON',
    example: editorError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json'),
  })
  @ApiTooManyRequestsResponse({
    type: EditorErrorDto,
    description: 'QUEUE_FULL (MAX_QUEUE_LENGTH reached), or RATE_LIMITED with Retry-After',
    example: editorError('QUEUE_FULL', 'MAX_QUEUE_LENGTH (100) reached'),
  })
  @ApiServiceUnavailableResponse({
    type: EditorErrorDto,
    description: `SERVICE_UNAVAILABLE: ${SERVICE_UNAVAILABLE_DOC}`,
  })
  async execute(
    @Body(EditorExecuteBodyPipe) body: EditorExecuteRequest,
    @CallerKeyId() owner: string,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<EditorExecuteSuccessDto | EditorExecuteFailureDto | EditorExecuteAcceptedDto> {
    const submission = await this.submitter.submit(
      { ...editorRunDefaults, owner, code: body.code, timeoutSec: body.timeout, endpoint: request.path },
      { sync: !body.async },
    );
    if (body.async) {
      response.status(202).setHeader('Location', jobLocation(submission.record.jobId));
      return { success: true, job_id: submission.record.jobId, status: submission.record.status };
    }
    const outcome = editorExecuteOutcome(await this.submitter.waitForEnd(submission, body.timeout, response));
    response.status(outcome.status);
    return outcome.body;
  }

  @Get('jobs')
  @ApiOperation({ operationId: 'editorListJobs', summary: "The caller's jobs, newest first (editor dialect)" })
  @ApiOkResponse({ type: EditorJobListDto, example: editorJobListExample })
  @readUnavailable
  async list(@CallerKeyId() owner: string): Promise<EditorJobListDto> {
    const page = await this.listing.list(owner, null, EDITOR_JOBS_LIMIT, null);
    return { success: true, jobs: page.records.map(editorJobSummary) };
  }

  @Get('job')
  @ApiOperation({ operationId: 'editorGetJob', summary: 'One job: status, output, logs, result (editor dialect)' })
  @idQuery
  @ApiOkResponse({ type: EditorJobResponseDto, example: editorJobExample })
  @readUnavailable
  @ApiBadRequestResponse({
    type: EditorErrorDto,
    description: 'MISSING_PARAMETER: no `id`; INVALID_REQUEST: `id` given more than once',
    example: missingIdExample,
  })
  @ApiNotFoundResponse({
    type: EditorErrorDto,
    description: 'JOB_NOT_FOUND: unknown, expired, or not yours',
    example: notFoundExample,
  })
  async get(@Query('id') id: unknown, @CallerKeyId() owner: string): Promise<EditorJobResponseDto> {
    const jobId = requiredJobId(id);
    const record = await this.listing.get(jobId, owner);
    if (!record) throw jobNotFound(jobId);
    return { success: true, job: editorJob(record) };
  }

  @Delete('job')
  @ApiOperation({
    operationId: 'editorCancelJob',
    summary: 'Cancel a pending or running job; a running program is killed (editor dialect)',
  })
  @idQuery
  @ApiOkResponse({ type: EditorCancelDto, example: editorCancelExample })
  @readUnavailable
  @ApiBadRequestResponse({
    type: EditorErrorDto,
    description:
      'JOB_ALREADY_FINISHED: it had ended; MISSING_PARAMETER: no `id`; INVALID_REQUEST: `id` given more than once',
    example: editorError('JOB_ALREADY_FINISHED', `Job '${exampleJobId}' has already finished (completed)`),
  })
  @ApiNotFoundResponse({
    type: EditorErrorDto,
    description: 'JOB_NOT_FOUND: unknown, expired, or not yours',
    example: notFoundExample,
  })
  async cancel(@Query('id') id: unknown, @CallerKeyId() owner: string): Promise<EditorCancelDto> {
    const jobId = requiredJobId(id);
    const { outcome, record } = await this.lifecycle.cancel(jobId, owner);
    if (outcome === 'missing' || !record) throw jobNotFound(jobId);
    // 'cancelled' with another final status: the program ended by itself before the kill reached it.
    if (outcome === 'ended' || (isEnded(record.status) && record.status !== 'cancelled')) {
      throw new EditorException(400, 'JOB_ALREADY_FINISHED', `Job '${jobId}' has already finished (${record.status})`);
    }
    return { success: true, message: `Job '${jobId}' has been cancelled`, job_id: jobId };
  }
}

function requiredJobId(id: unknown): string {
  if (id === undefined || (typeof id === 'string' && id.trim() === '')) {
    throw new EditorException(400, 'MISSING_PARAMETER', "Query parameter 'id' is required");
  }
  if (typeof id !== 'string')
    throw new EditorException(400, 'INVALID_REQUEST', "Query parameter 'id' must be given once");
  return id.trim();
}
