import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import { ERROR_CODES, ErrorCode, RESOURCE_LIMITS, ResourceLimit } from './error-code';
import { DisplayItemDto, OutputFileDto, richOutputProperties } from '../execution/dto/rich-output.dto';
import { envelopeTimes } from './time';

/**
 * The v1 envelope's fields besides `response`. Success envelopes extend this with their own non-null
 * `response` model (inheriting the nullable one would keep `nullable` on it in OpenAPI).
 */
export class EnvelopeFieldsDto {
  @ApiProperty({ example: '/v1/code/execute/python', description: 'The route path' })
  endpoint: string;
  @ApiProperty({ example: 200, description: 'Equals the HTTP status' })
  code: number;
  @ApiProperty({ type: String, nullable: true, example: 'my-request-1', description: "The caller's id, echoed" })
  id: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'uuid', description: 'The job (null when none was created)' })
  job_id: string | null;
  @ApiProperty({ example: 'success', description: '"success", "processing" (202) or a short error text' })
  message: string;
  @ApiProperty({ example: 4242, description: 'pid of the process that ran the job (or that answered)' })
  pid: number;
  @ApiProperty({ example: 0, description: 'Identifies the queue / sandbox server that handled the job' })
  queue_id: number;
  @ApiProperty({ example: 0.006, description: 'Seconds spent executing' })
  run_time: number;
  @ApiProperty({ example: 0.001, description: 'Seconds spent waiting in the queue' })
  queue_time: number;
  @ApiProperty({ example: 0.007, description: 'queue_time + run_time' })
  total_time: number;
  @ApiProperty({ example: 0, description: 'Jobs waiting when the response was produced' })
  queue_length: number;
  @ApiProperty({ example: '0.1.0+abc1234', description: 'Service version + commit' })
  build_number: string;
}

/** Every v1 body, success or error (API.md, "The v1 envelope"). */
export class EnvelopeDto extends EnvelopeFieldsDto {
  @ApiProperty({ type: Object, nullable: true, description: 'The payload on success; null on error' })
  response: unknown;
}

/** Error bodies carry these at top level as well. */
/** A rich-output field as it stands at the top level of a failed run's body. */
function failedRunProperty(property: ApiPropertyOptions): ApiPropertyOptions {
  return { ...property, description: `A run that failed (400, 408): ${property.description}` } as ApiPropertyOptions;
}

export class ErrorEnvelopeDto extends EnvelopeDto {
  @ApiProperty({ example: 'ZeroDivisionError: division by zero' })
  error: string;
  @ApiProperty({
    enum: ERROR_CODES,
    enumName: 'ErrorCode',
    example: ErrorCode.EXECUTION_FAILED,
    description: 'A stable code to switch on; the text fields are for people',
  })
  error_code: ErrorCode;
  @ApiPropertyOptional({
    enum: RESOURCE_LIMITS,
    enumName: 'ResourceLimit',
    example: 'memory',
    description: 'With RESOURCE_LIMIT only: the limit that ended the run (a MemoryError counts as memory)',
  })
  limit?: ResourceLimit;
  @ApiProperty({ example: '', description: 'Output captured before the failure' })
  stdout: string;
  @ApiProperty({ example: 'Traceback (most recent call last): ...' })
  stderr: string;
  @ApiProperty({
    example: 1,
    description:
      '1 for an exception, n for sys.exit(n), 124 for a timeout, 128+n for signal n; the HTTP status when nothing ran',
  })
  exit_code: number;
  @ApiPropertyOptional({
    example: false,
    description: 'A run that failed: stdout exceeded MAX_OUTPUT_BYTES and was cut',
  })
  stdout_truncated?: boolean;
  @ApiPropertyOptional({
    example: false,
    description: 'A run that failed: stderr exceeded MAX_OUTPUT_BYTES and was cut',
  })
  stderr_truncated?: boolean;
  @ApiPropertyOptional(failedRunProperty(richOutputProperties.files))
  files?: OutputFileDto[];
  @ApiPropertyOptional(failedRunProperty(richOutputProperties.display))
  display?: DisplayItemDto[];
  @ApiPropertyOptional(failedRunProperty(richOutputProperties.display_truncated))
  display_truncated?: boolean;
  @ApiPropertyOptional({
    type: [String],
    example: ['timeout must not be less than 1'],
    description: 'One entry per invalid field',
  })
  details?: string[];
}

export type Envelope = EnvelopeDto &
  Partial<Omit<ErrorEnvelopeDto, keyof EnvelopeDto>> & { max_queue_length?: number; [extra: string]: unknown };

/** What handlers return: the interceptor completes it and sets the HTTP status from `code`. */
export type EnvelopeDraft = Partial<Envelope> & { code: number };

export interface EnvelopeContext {
  endpoint: string;
  buildNumber: string;
}

export function completeEnvelope(draft: EnvelopeDraft, context: EnvelopeContext): Envelope {
  const times = envelopeTimes(draft.queue_time ?? 0, draft.run_time ?? 0);
  return {
    ...draft,
    endpoint: draft.endpoint ?? context.endpoint,
    code: draft.code,
    id: draft.id ?? null,
    job_id: draft.job_id ?? null,
    response: draft.response ?? null,
    message: draft.message ?? (draft.code < 400 ? 'success' : 'error'),
    pid: draft.pid ?? process.pid,
    queue_id: draft.queue_id ?? 0,
    run_time: times.run_time,
    queue_time: times.queue_time,
    total_time: draft.total_time ?? times.total_time,
    queue_length: draft.queue_length ?? 0,
    build_number: draft.build_number ?? context.buildNumber,
  };
}

/** The body of a request that never ran (validation, auth, limits): exit_code is the HTTP status. */
export function errorDraft(
  code: number,
  errorCode: ErrorCode,
  error: string,
  extra: Partial<Envelope> = {},
): EnvelopeDraft {
  return {
    code,
    message: error,
    error,
    error_code: errorCode,
    stdout: '',
    stderr: '',
    exit_code: code,
    job_id: null,
    response: null,
    ...extra,
  };
}
