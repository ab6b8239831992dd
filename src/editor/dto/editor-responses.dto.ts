import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { jsonValueProperty } from '../../common/json-value.schema';
import { JOB_STATUSES, JobStatus } from '../../jobs/job.types';
import { EDITOR_ERROR_CODES } from '../editor.exception';

export class EditorErrorDto {
  @ApiProperty({ example: false })
  success: false;
  @ApiProperty({ example: 'JOB_NOT_FOUND', description: `The error code, one of: ${EDITOR_ERROR_CODES.join(', ')}` })
  error: string;
  @ApiProperty({ example: "Job '2f1c…' not found" })
  message: string;
  @ApiPropertyOptional({
    format: 'uuid',
    description:
      'Only with 503 SERVICE_UNAVAILABLE for a job that was accepted and whose outcome is not known yet: poll it',
  })
  job_id?: string;
}

export class EditorExecuteSuccessDto {
  @ApiProperty({ example: true })
  success: true;
  @ApiProperty({ format: 'uuid' })
  job_id: string;
  @ApiProperty({ example: 'completed' })
  status: 'completed';
  @ApiProperty({ example: 'Hello, World!\n', description: 'Captured stdout' })
  output: string;
  @ApiProperty({ type: [String], example: [], description: 'Captured stderr, one entry per line' })
  logs: string[];
  @ApiProperty({
    ...jsonValueProperty,
    example: 42,
    description: 'Value of a top-level `return` or of the trailing expression, or null',
  })
  result: unknown;
  @ApiProperty({ example: 7, description: 'Milliseconds the program ran' })
  duration_ms: number;
}

export class EditorExecuteFailureDto extends EditorErrorDto {
  @ApiProperty({
    enum: ['EXECUTION_FAILED', 'TIMEOUT', 'JOB_CANCELLED', 'INTERNAL_ERROR'],
    example: 'EXECUTION_FAILED',
  })
  declare error: string;
  @ApiProperty({ example: 'ZeroDivisionError: division by zero' })
  declare message: string;
  @ApiProperty({ format: 'uuid', required: true, description: 'The job that ran' })
  declare job_id: string;
  @ApiProperty({ example: 'before\n', description: 'stdout captured before the failure' })
  output: string;
  @ApiProperty({
    type: [String],
    example: ['Traceback (most recent call last):', '  File "<code>", line 1, in <module>'],
  })
  logs: string[];
  @ApiProperty({ example: 5 })
  duration_ms: number;
}

export class EditorExecuteAcceptedDto {
  @ApiProperty({ example: true })
  success: true;
  @ApiProperty({ format: 'uuid' })
  job_id: string;
  @ApiProperty({ enum: JOB_STATUSES, example: 'pending' })
  status: JobStatus;
}

export class EditorJobSummaryDto {
  @ApiProperty({ format: 'uuid', description: 'The job_id (the same id in both dialects)' })
  id: string;
  @ApiProperty({ enum: JOB_STATUSES })
  status: JobStatus;
  @ApiProperty({ type: String, nullable: true, format: 'date-time', description: 'null while pending' })
  started_at: string | null;
}

export class EditorJobDto extends EditorJobSummaryDto {
  @ApiProperty({ description: 'Captured stdout ("" until the job ends)' })
  output: string;
  @ApiProperty({ type: [String], description: 'Captured stderr, one entry per line ([] until the job ends)' })
  logs: string[];
  @ApiProperty({ ...jsonValueProperty, description: 'The result of a completed job; null otherwise' })
  result: unknown;
  @ApiProperty({ type: Number, nullable: true, description: 'Milliseconds the program ran; null until the job ends' })
  duration_ms: number | null;
  @ApiPropertyOptional({ format: 'date-time', description: 'Present only once the job has ended' })
  ended_at?: string;
  @ApiPropertyOptional({
    example: 'ZeroDivisionError: division by zero',
    description: 'Present only when the job failed',
  })
  error?: string;
}

export class EditorJobListDto {
  @ApiProperty({ example: true })
  success: true;
  @ApiProperty({ type: [EditorJobSummaryDto], description: "The caller's jobs, newest first (at most 1000)" })
  jobs: EditorJobSummaryDto[];
}

export class EditorJobResponseDto {
  @ApiProperty({ example: true })
  success: true;
  @ApiProperty({ type: EditorJobDto })
  job: EditorJobDto;
}

export class EditorCancelDto {
  @ApiProperty({ example: true })
  success: true;
  @ApiProperty({ example: "Job '2f1c…' has been cancelled" })
  message: string;
  @ApiProperty({ format: 'uuid' })
  job_id: string;
}
