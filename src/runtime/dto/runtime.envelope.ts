import { ApiProperty } from '@nestjs/swagger';
import { EnvelopeFieldsDto } from '../../common/envelope';
import { MEMORY_BOUNDS, MemoryBoundKind } from '../../execution/runner/memory-bound';

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

export class RuntimeSandboxDto {
  @ApiProperty({
    enum: ['bwrap', 'process'],
    example: 'bwrap',
    description: 'bwrap: bubblewrap namespaces (production); process: rlimits only',
  })
  mode: 'bwrap' | 'process';
  @ApiProperty({
    enum: MEMORY_BOUNDS,
    nullable: true,
    example: 'cgroup1',
    description:
      "What holds each run's memory as a whole (processes, tmpfs, kernel buffers): a per-run cgroup (v2 or v1), the fork server's watchdog (fails closed), or nothing (only with SANDBOX_ALLOW_UNBOUNDED_MEMORY=true); the weakest of the workers. null: no worker has announced itself",
  })
  memory_bound: MemoryBoundKind | null;
  @ApiProperty({
    example: 'a cgroup v1 memory cgroup per slot, each run in it alone',
    description: 'Why this bound and not a stronger one',
  })
  memory_bound_reason: string;
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
  @ApiProperty({ type: RuntimeSandboxDto, description: 'How runs are isolated and bounded' })
  sandbox: RuntimeSandboxDto;
}

export class RuntimeEnvelopeDto extends EnvelopeFieldsDto {
  @ApiProperty({ type: RuntimeDto, description: 'What code can count on here' })
  response: RuntimeDto;
}
