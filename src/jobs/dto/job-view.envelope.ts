import { ApiExtraModels, ApiProperty, getSchemaPath } from '@nestjs/swagger';
import { EnvelopeFieldsDto } from '../../common/envelope';

export class WebhookStateDto {
  @ApiProperty() url: string;
  @ApiProperty({ enum: ['pending', 'delivered', 'failed'] }) status: string;
  @ApiProperty() attempts: number;
  @ApiProperty({ type: Number, nullable: true }) last_status_code: number | null;
  @ApiProperty({ type: String, nullable: true }) last_error: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) delivered_at: string | null;
}

export class JobSummaryDto {
  @ApiProperty({ format: 'uuid' }) job_id: string;
  @ApiProperty({ type: String, nullable: true }) id: string | null;
  @ApiProperty({ enum: ['pending', 'running', 'completed', 'failed', 'cancelled'] }) status: string;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) started_at: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) ended_at: string | null;
}

@ApiExtraModels(WebhookStateDto)
export class JobDetailDto extends JobSummaryDto {
  @ApiProperty({ type: Number, nullable: true }) queue_time: number | null;
  @ApiProperty({ type: Number, nullable: true }) run_time: number | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The session the call ran in (POST /v1/sessions/{session_id}/execute); null outside a session',
  })
  session_id: string | null;
  @ApiProperty({ type: Object, nullable: true, description: 'The envelope the execution produced; null until it ends' })
  result: unknown;
  // OpenAPI 3.0 ignores `nullable` next to a $ref, so null is its own branch.
  @ApiProperty({
    oneOf: [{ $ref: getSchemaPath(WebhookStateDto) }, { type: 'object', nullable: true, enum: [null] }],
    description: 'null when the job has no webhook_url',
  })
  webhook: unknown; // WebhookStateDto | null, spelled out above: the plugin would add a conflicting type for it
}

export class JobListDto {
  @ApiProperty({ type: [JobSummaryDto] }) jobs: JobSummaryDto[];
  @ApiProperty({ type: String, nullable: true }) next_cursor: string | null;
}

export class JobEnvelopeDto extends EnvelopeFieldsDto {
  @ApiProperty({ type: JobDetailDto, description: 'The job' }) response: JobDetailDto;
}

export class JobListEnvelopeDto extends EnvelopeFieldsDto {
  @ApiProperty({ type: JobListDto, description: 'A page of jobs' }) response: JobListDto;
}
