import { Controller, Get, Header, HttpStatus, Optional, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService } from '@nestjs/terminus';
import type { Response } from 'express';
import { Public } from '../auth/auth.decorators';
import { DEFAULT_RETRY_AFTER_SEC } from '../common/error-code';
import { HealthIndicatorDto, LivenessDto, ReadinessDto } from './dto/health-report.dto';
import { RedisHealthIndicator, SandboxHealthIndicator, WorkersHealthIndicator } from './health-indicators';

/** Probes for orchestrators; plain bodies, not the v1 envelope. */
@ApiTags('health')
@ApiExtraModels(HealthIndicatorDto)
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly redis: RedisHealthIndicator,
    private readonly sandbox: SandboxHealthIndicator,
    @Optional() private readonly workers?: WorkersHealthIndicator,
  ) {}

  @Get('live')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ operationId: 'healthLive', summary: 'Liveness: 200 while the process runs' })
  @ApiOkResponse({ type: LivenessDto })
  live(): LivenessDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    operationId: 'healthReady',
    summary: 'Readiness: Redis answers and the sandbox can run code',
    description:
      'An API process (ROLE=api) stays ready with no live worker and lists the workers it sees under `workers`; ' +
      'a worker (ROLE=worker) serves this on its HEALTH_PORT.',
  })
  @ApiOkResponse({ type: ReadinessDto, description: 'Every check is up' })
  @ApiServiceUnavailableResponse({ type: ReadinessDto, description: 'At least one check is down' })
  async ready(@Res({ passthrough: true }) response: Response): Promise<ReadinessDto> {
    try {
      const checks = [() => this.redis.check(), () => this.sandbox.check()];
      const workers = this.workers;
      return (await this.health.check(workers ? [...checks, () => workers.check()] : checks)) as ReadinessDto;
    } catch (error) {
      // Terminus throws its report as a 503; answered as is, so the error filter does not wrap it in an envelope.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      response.status(HttpStatus.SERVICE_UNAVAILABLE).setHeader('Retry-After', String(DEFAULT_RETRY_AFTER_SEC));
      return error.getResponse() as ReadinessDto;
    }
  }
}
