import { ApiV1AuthAndInternalErrors } from '../common/api-error-responses';
import { Body, Controller, Headers, HttpCode, Post, Req, Res, UseInterceptors } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiRequestTimeoutResponse,
  ApiResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiServiceUnavailableResponse,
  ApiUnprocessableEntityResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiKeyAuth, CallerKeyId } from '../auth/auth.decorators';
import { RateLimited } from '../auth/rate-limit.guard';
import { EnvelopeDraft, ErrorEnvelopeDto } from '../common/envelope';
import { ERROR_CODE_STATUS } from '../common/error-code';
import { EnvelopeInterceptor } from '../common/envelope.interceptor';
import { ExecutePythonDto } from './dto/execute-python.dto';
import { ExecuteRequestHandler } from './execute-request.handler';
import { SERVICE_UNAVAILABLE_DOC } from './execution.submitter';
import { ExecuteAcceptedEnvelopeDto, ExecuteSuccessEnvelopeDto } from './dto/execute-response.envelope';
import {
  executeAcceptedExample,
  executeBadRequestExamples,
  executeCancelledExample,
  executeOkExamples,
  executeRequestExamples,
  executeTimeoutExample,
  idempotencyKeyReusedExample,
  payloadTooLargeExample,
  tooManyRequestsExamples,
  unsupportedMediaTypeExample,
} from './dto/execute.examples';

@ApiTags('execution')
@ApiKeyAuth()
@UseInterceptors(EnvelopeInterceptor)
@Controller('v1/code/execute')
export class ExecutionController {
  constructor(private readonly handler: ExecuteRequestHandler) {}

  @Post('python')
  @HttpCode(200)
  @RateLimited()
  @ApiOperation({
    operationId: 'executePython',
    summary: 'Run a Python snippet',
    description:
      'Synchronous by default: answers when the program ends. With `async: true` or `webhook_url`, answers 202 at once; ' +
      'poll GET /v1/jobs/{job_id} or receive the final envelope on the webhook. With `Accept: text/event-stream` (and ' +
      "neither): the job's events as Server-Sent Events, as GET /v1/jobs/{job_id}/events sends them, the first being " +
      '`status` with `{ status, job_id }`; errors before the job exists (400, 401, 413, 415, 429, 503) stay JSON.',
  })
  @ApiBody({ type: ExecutePythonDto, examples: executeRequestExamples })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Repeat-safe retries: a repeat of the key (per API key, within JOB_RETENTION_SECONDS) with the same body returns ' +
      'the original job, also while it runs; concurrent repeats make one job. With a different body: 422.',
  })
  @ApiOkResponse({
    type: ExecuteSuccessEnvelopeDto,
    description: 'The program ran to completion (exit status 0)',
    examples: executeOkExamples,
  })
  @ApiAcceptedResponse({
    type: ExecuteAcceptedEnvelopeDto,
    description: 'Queued (async or webhook)',
    example: executeAcceptedExample,
  })
  @ApiBadRequestResponse({
    type: ErrorEnvelopeDto,
    description: 'Invalid body, or the program failed (exception, SyntaxError, non-zero exit, limit)',
    examples: executeBadRequestExamples,
  })
  @ApiV1AuthAndInternalErrors()
  @ApiRequestTimeoutResponse({
    type: ErrorEnvelopeDto,
    description: 'Wall-clock timeout; partial stdout/stderr included',
    example: executeTimeoutExample,
  })
  @ApiResponse({
    status: ERROR_CODE_STATUS.JOB_CANCELLED,
    type: ErrorEnvelopeDto,
    description: 'JOB_CANCELLED: the job was cancelled (DELETE /v1/jobs/{job_id}) while the caller waited',
    example: executeCancelledExample,
  })
  @ApiPayloadTooLargeResponse({
    type: ErrorEnvelopeDto,
    description: 'Body over MAX_BODY_BYTES',
    example: payloadTooLargeExample,
  })
  @ApiUnsupportedMediaTypeResponse({
    type: ErrorEnvelopeDto,
    description: 'Content-Type is not JSON',
    example: unsupportedMediaTypeExample,
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorEnvelopeDto,
    description: 'IDEMPOTENCY_KEY_REUSED: the Idempotency-Key came earlier with a different body; nothing ran',
    example: idempotencyKeyReusedExample,
  })
  @ApiTooManyRequestsResponse({
    type: ErrorEnvelopeDto,
    description: 'Queue full, or per-key rate limit (Retry-After)',
    examples: tooManyRequestsExamples,
  })
  @ApiServiceUnavailableResponse({ type: ErrorEnvelopeDto, description: SERVICE_UNAVAILABLE_DOC })
  async execute(
    @Body() body: ExecutePythonDto,
    @CallerKeyId() owner: string,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<EnvelopeDraft | undefined> {
    return this.handler.handle(body, { owner, idempotencyKey, request, response });
  }
}
