import { ApiProperty } from '@nestjs/swagger';
import { EnvelopeFieldsDto } from '../../common/envelope';

export class RuntimeLimitsDto {
  @ApiProperty({ example: 30, description: 'Seconds a run gets when the request names no timeout (DEFAULT_TIMEOUT)' })
  default_timeout: number;
  @ApiProperty({
    example: 300,
    description: 'The largest timeout a request may ask for; larger ones are lowered to it (MAX_TIMEOUT)',
  })
  max_timeout: number;
  @ApiProperty({ example: 256, description: 'Address space per process of a run, in MiB (MEMORY_LIMIT_MB)' })
  memory_limit_mb: number;
  @ApiProperty({
    example: 1048576,
    description: 'stdout, stderr and the result are each cut at this many bytes (MAX_OUTPUT_BYTES)',
  })
  max_output_bytes: number;
  @ApiProperty({ example: 262144, description: 'Largest `code`, in UTF-8 bytes (MAX_CODE_BYTES)' })
  max_code_bytes: number;
  @ApiProperty({ example: 64, description: 'Size of the private /tmp a run may write, in MiB (SCRATCH_MB)' })
  scratch_mb: number;
}

export class RuntimeDto {
  @ApiProperty({
    type: String,
    nullable: true,
    example: '3.11.2',
    description:
      'Version of PYTHON_BIN as this process sees it (null if it cannot be run here, e.g. an API-only host without it)',
  })
  python_version: string | null;
  @ApiProperty({
    type: [String],
    example: [],
    description: 'Modules imported once per sandbox server, so importing them costs a run nothing',
  })
  preloaded_modules: string[];
  @ApiProperty({ type: RuntimeLimitsDto })
  limits: RuntimeLimitsDto;
  @ApiProperty({
    enum: ['bwrap', 'process'],
    example: 'bwrap',
    description: 'bwrap: bubblewrap namespaces (production); process: rlimits only',
  })
  sandbox: 'bwrap' | 'process';
}

export class RuntimeEnvelopeDto extends EnvelopeFieldsDto {
  @ApiProperty({ type: RuntimeDto, description: 'What code can count on here' })
  response: RuntimeDto;
}
