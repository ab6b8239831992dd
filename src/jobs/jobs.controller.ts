import { ApiV1AuthAndInternalErrors, ApiV1ServiceUnavailable } from '../common/api-error-responses';
import { Controller, Delete, Get, Headers, Param, Query, Res, UseInterceptors } from '@nestjs/common';
import type { Response } from 'express';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiHeader,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { ApiKeyAuth, CallerKeyId } from '../auth/auth.decorators';
import { AppConfig } from '../config/app-config';
import { EnvelopeDraft, ErrorEnvelopeDto } from '../common/envelope';
import { EnvelopeInterceptor } from '../common/envelope.interceptor';
import {
  cancelledJobExample,
  jobEndedExample,
  jobExample,
  jobListExample,
  jobNotFoundExample,
  listBadRequestExample,
} from './dto/jobs.examples';
import { ListJobsQueryDto } from './dto/list-jobs.dto';
import { JobEnvelopeDto, JobListEnvelopeDto } from './dto/job-view.envelope';
import { ExecutionQueue } from './execution.queue';
import { JOB_EVENTS_DESCRIPTION } from './dto/job-events.doc';
import { JobEventStream } from './job-event-stream';
import { jobAlreadyEnded, jobNotFound } from './job-errors';
import { JobLifecycle } from './job-lifecycle';
import { JobListing } from './job-listing';
import { jobDetail, jobSummary } from './job-view';
import type { JobRecord } from './job.types';

@ApiTags('jobs')
@ApiKeyAuth()
@UseInterceptors(EnvelopeInterceptor)
@ApiV1AuthAndInternalErrors()
@ApiV1ServiceUnavailable()
@Controller('v1/jobs')
export class JobsController {
  constructor(
    private readonly listing: JobListing,
    private readonly lifecycle: JobLifecycle,
    private readonly queue: ExecutionQueue,
    private readonly config: AppConfig,
    private readonly eventStream: JobEventStream,
  ) {}

  @Get()
  @ApiOperation({ operationId: 'listJobs', summary: "The caller's jobs, newest first" })
  @ApiOkResponse({ type: JobListEnvelopeDto, example: jobListExample })
  @ApiBadRequestResponse({
    type: ErrorEnvelopeDto,
    description: 'Unknown status, limit outside 1..100, or a bad cursor',
    example: listBadRequestExample,
  })
  async list(@Query() query: ListJobsQueryDto, @CallerKeyId() owner: string): Promise<EnvelopeDraft> {
    const page = await this.listing.list(owner, query.status ?? null, query.limit ?? 20, query.cursor ?? null);
    return {
      code: 200,
      response: { jobs: page.records.map(jobSummary), next_cursor: page.nextCursor },
      queue_length: await this.queue.waitingCount(),
    };
  }

  @Get(':job_id')
  @ApiOperation({ operationId: 'getJob', summary: 'One job: status, times, final envelope, webhook delivery state' })
  @ApiOkResponse({ type: JobEnvelopeDto, example: jobExample })
  @ApiNotFoundResponse({
    type: ErrorEnvelopeDto,
    description: 'Unknown, expired, or not yours',
    example: jobNotFoundExample,
  })
  async get(@Param('job_id') jobId: string, @CallerKeyId() owner: string): Promise<EnvelopeDraft> {
    const record = await this.listing.get(jobId, owner);
    if (!record) throw jobNotFound(jobId);
    return this.detail(record);
  }

  @Get(':job_id/events')
  @ApiOperation({
    operationId: 'getJobEvents',
    summary: "A job's live output and status as Server-Sent Events, ending with its final envelope",
    description: JOB_EVENTS_DESCRIPTION,
  })
  @ApiProduces('text/event-stream')
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'Resume after this event id (sent by EventSource clients on reconnect)',
  })
  @ApiOkResponse({
    description: 'The event stream (text/event-stream); the server closes it after the `end` event',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiNotFoundResponse({
    type: ErrorEnvelopeDto,
    description: 'Unknown, expired, or not yours',
    example: jobNotFoundExample,
  })
  async events(
    @Param('job_id') jobId: string,
    @CallerKeyId() owner: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    const record = await this.listing.get(jobId, owner);
    if (!record) throw jobNotFound(jobId);
    await this.eventStream.serve(response, record, { lastEventId });
  }

  @Delete(':job_id')
  @ApiOperation({
    operationId: 'cancelJob',
    summary: 'Cancel a pending or running job (a running program is killed within a second)',
  })
  @ApiOkResponse({ type: JobEnvelopeDto, description: 'The job, now cancelled', example: cancelledJobExample })
  @ApiNotFoundResponse({
    type: ErrorEnvelopeDto,
    description: 'Unknown, expired, or not yours',
    example: jobNotFoundExample,
  })
  @ApiConflictResponse({ type: ErrorEnvelopeDto, description: 'The job had already ended', example: jobEndedExample })
  async cancel(@Param('job_id') jobId: string, @CallerKeyId() owner: string): Promise<EnvelopeDraft> {
    const { outcome, record } = await this.lifecycle.cancel(jobId, owner);
    if (outcome === 'missing' || !record) throw jobNotFound(jobId);
    if (outcome === 'ended') throw jobAlreadyEnded(record);
    return this.detail(record);
  }

  private async detail(record: JobRecord): Promise<EnvelopeDraft> {
    return {
      code: 200,
      job_id: record.jobId,
      id: record.clientId,
      response: jobDetail(record, this.config.buildNumber),
      queue_length: await this.queue.waitingCount(),
    };
  }
}
