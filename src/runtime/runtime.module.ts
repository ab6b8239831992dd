import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { RuntimeController } from './runtime.controller';
import { RuntimeService } from './runtime.service';

@Module({ imports: [JobsModule], controllers: [RuntimeController], providers: [RuntimeService] })
export class RuntimeModule {}
