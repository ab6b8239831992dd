import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { ExecutionController } from './execution.controller';
import { ExecuteRequestHandler } from './execute-request.handler';
import { ExecutionSubmitter } from './execution.submitter';

/** POST /v1/code/execute/python and what both dialects share to submit a run: composed in the api and all roles. */
@Module({
  imports: [JobsModule],
  controllers: [ExecutionController],
  providers: [ExecutionSubmitter, ExecuteRequestHandler],
  exports: [ExecutionSubmitter, ExecuteRequestHandler],
})
export class ExecutionModule {}
