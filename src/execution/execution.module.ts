import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { JobsModule } from '../jobs/jobs.module';
import { ExecutionController } from './execution.controller';
import { ExecutionProcessor } from './execution.processor';
import { ExecutionService } from './execution.service';
import { ExecutionSubmitter } from './execution.submitter';
import { PythonRunner } from './runner/python-runner';
import { createRunner } from './runner/runner.factory';
import { traced } from '../tracing/traced-runner';

@Module({
  imports: [JobsModule],
  controllers: [ExecutionController],
  providers: [
    {
      provide: PythonRunner,
      inject: [AppConfig],
      useFactory: async (config: AppConfig) => traced(await createRunner(config)),
    },
    ExecutionService,
    ExecutionProcessor,
    ExecutionSubmitter,
  ],
  exports: [PythonRunner, ExecutionService, ExecutionSubmitter],
})
export class ExecutionModule {}
