import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { ExecutionProcessor } from './execution.processor';
import { ExecutionService } from './execution.service';
import { SandboxModule } from './sandbox.module';

/** The consumer of the executions queue: composed in the worker and all roles. */
@Module({
  imports: [JobsModule, SandboxModule],
  providers: [ExecutionService, ExecutionProcessor],
})
export class ExecutionWorkerModule {}
