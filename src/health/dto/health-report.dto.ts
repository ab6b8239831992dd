import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';

/** A worker process as it announced itself in Redis (heartbeat every 2 s, gone 6 s after its last one). */
export class WorkerSeenDto {
  @ApiProperty({ example: 'pyexec-worker-7d9f-1-a1b2c3', description: 'host name, pid and a random suffix' })
  id: string;
  @ApiProperty({ example: 'pyexec-worker-7d9f' })
  hostname: string;
  @ApiProperty({ example: 1 })
  pid: number;
  @ApiProperty({ enum: ['all', 'worker'] })
  role: 'all' | 'worker';
  @ApiProperty({ example: 2, description: 'Jobs it runs at once' })
  concurrency: number;
  @ApiProperty({ description: 'Its sandbox could take runs at its last heartbeat' })
  sandbox_ready: boolean;
  @ApiProperty({ format: 'date-time' })
  started_at: string;
  @ApiProperty({ format: 'date-time', description: 'Its last heartbeat' })
  seen_at: string;
}

export class HealthIndicatorDto {
  @ApiProperty({ enum: ['up', 'down'] })
  status: 'up' | 'down';

  @ApiPropertyOptional({ description: 'The `workers` check of an API process: how many workers it sees', example: 1 })
  count?: number;

  @ApiPropertyOptional({
    type: [WorkerSeenDto],
    description: 'The `workers` check of an API process: the live workers (none: sync calls get 503, async ones queue)',
  })
  workers?: WorkerSeenDto[];

  @ApiPropertyOptional({
    description: 'Why the check is down (never internal details)',
    example: 'no answer within 2000 ms',
  })
  message?: string;
}

export class LivenessDto {
  @ApiProperty({ enum: ['ok'] })
  status: 'ok';
}

const indicatorsByName = (description: string, example: Record<string, HealthIndicatorDto>) =>
  ApiProperty({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(HealthIndicatorDto) },
    description,
    example,
  });

/** @nestjs/terminus's readiness body. */
export class ReadinessDto {
  @ApiProperty({ enum: ['ok', 'error'] })
  status: 'ok' | 'error';

  @indicatorsByName('Checks that are up', { redis: { status: 'up' }, sandbox: { status: 'up' } })
  info: Record<string, HealthIndicatorDto>;

  @indicatorsByName('Checks that are down', {})
  error: Record<string, HealthIndicatorDto>;

  @indicatorsByName('Every check', { redis: { status: 'up' }, sandbox: { status: 'up' } })
  details: Record<string, HealthIndicatorDto>;
}
