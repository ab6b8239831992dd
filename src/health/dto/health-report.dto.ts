import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';

export class HealthIndicatorDto {
  @ApiProperty({ enum: ['up', 'down'] })
  status: 'up' | 'down';

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
