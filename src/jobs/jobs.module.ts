import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { JobsController } from './jobs.controller';
import { EXECUTIONS_QUEUE, JobsService } from './jobs.service';

@Module({
  imports: [BullModule.registerQueue({ name: EXECUTIONS_QUEUE })],
  controllers: [JobsController],
  providers: [JobsService],
  exports: [JobsService],
})
export class JobsModule {}
