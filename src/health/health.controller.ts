import { Controller, Get, Header, HttpStatus, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/auth.decorators';
import { HealthIndicatorDto, LivenessDto, ReadinessDto } from './dto/health-report.dto';
import { HealthService } from './health.service';

/** Probes for orchestrators; plain bodies, not the v1 envelope. */
@ApiTags('health')
@ApiExtraModels(HealthIndicatorDto)
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('live')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ operationId: 'healthLive', summary: 'Liveness: 200 while the process runs' })
  @ApiOkResponse({ type: LivenessDto })
  live(): LivenessDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ operationId: 'healthReady', summary: 'Readiness: Redis answers and the sandbox can run code' })
  @ApiOkResponse({ type: ReadinessDto, description: 'Every check is up' })
  @ApiServiceUnavailableResponse({ type: ReadinessDto, description: 'At least one check is down' })
  async ready(@Res({ passthrough: true }) response: Response): Promise<ReadinessDto> {
    const report = await this.health.readiness();
    // Set directly rather than thrown, so the error filter does not wrap it in an envelope.
    if (report.status !== 'ok') response.status(HttpStatus.SERVICE_UNAVAILABLE);
    return report;
  }
}
