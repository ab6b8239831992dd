import { ApiV1AuthAndInternalErrors, ApiV1ServiceUnavailable } from '../common/api-error-responses';
import { Controller, Get, UseInterceptors } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth } from '../auth/auth.decorators';
import { EnvelopeDraft } from '../common/envelope';
import { envelopeExample } from '../common/envelope.examples';
import { EnvelopeInterceptor } from '../common/envelope.interceptor';
import { ExecutionQueue } from '../jobs/execution.queue';
import { RuntimeEnvelopeDto } from './dto/runtime.envelope';
import { RuntimeService } from './runtime.service';

const runtimeExample = envelopeExample({
  code: 200,
  endpoint: '/v1/runtime',
  id: null,
  job_id: null,
  run_time: 0,
  queue_time: 0,
  total_time: 0,
  response: {
    python_version: '3.11.2',
    preloaded_modules: [],
    limits: {
      default_timeout: 30,
      max_timeout: 300,
      memory_limit_mb: 256,
      max_output_bytes: 1048576,
      max_code_bytes: 262144,
      scratch_mb: 64,
    },
    sandbox: {
      mode: 'bwrap',
      memory_bound: 'cgroup1',
      memory_bound_reason: 'a cgroup v1 memory cgroup per slot, each run in it alone',
    },
  },
});

@ApiTags('runtime')
@ApiKeyAuth()
@UseInterceptors(EnvelopeInterceptor)
@Controller('v1/runtime')
export class RuntimeController {
  constructor(
    private readonly runtime: RuntimeService,
    private readonly moduleRef: ModuleRef,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'getRuntime',
    summary: 'What code can count on here: Python version, preloaded modules, limits, sandbox mode',
  })
  @ApiOkResponse({ type: RuntimeEnvelopeDto, example: runtimeExample })
  @ApiV1AuthAndInternalErrors()
  @ApiV1ServiceUnavailable()
  async get(): Promise<EnvelopeDraft> {
    const queue = this.moduleRef.get(ExecutionQueue, { strict: false });
    const [response, queueLength] = await Promise.all([this.runtime.describe(), queue.waitingCount()]);
    return { code: 200, response, queue_length: queueLength };
  }
}
