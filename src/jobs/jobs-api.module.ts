import { Module } from '@nestjs/common';
import { JobsController } from './jobs.controller';
import { JobsModule } from './jobs.module';

/** GET/DELETE /v1/jobs: composed in the api and all roles. */
@Module({
  imports: [JobsModule],
  controllers: [JobsController],
})
export class JobsApiModule {}
