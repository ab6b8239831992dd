import { Module } from '@nestjs/common';
import { ExecutionModule } from '../execution/execution.module';
import { JobsModule } from '../jobs/jobs.module';
import { EditorController } from './editor.controller';
import { EditorExecuteBodyPipe } from './editor-execute.pipe';

/** The editor dialect (/api/v1/python): its own controller and error bodies, the v1 engine underneath. */
@Module({
  imports: [JobsModule, ExecutionModule],
  controllers: [EditorController],
  providers: [EditorExecuteBodyPipe],
})
export class EditorModule {}
