import { Module } from '@nestjs/common';
import { RuntimeController } from './runtime.controller';
import { RuntimeService } from './runtime.service';

// No imports on purpose: the controller looks ExecutionQueue up at request time, so this module never
// reorders the job core's initialisation (an import once exposed a since-fixed race in the jobs-events subscriber).
@Module({ controllers: [RuntimeController], providers: [RuntimeService] })
export class RuntimeModule {}
