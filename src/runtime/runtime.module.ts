import { Module } from '@nestjs/common';
import { RuntimeController } from './runtime.controller';
import { RuntimeService } from './runtime.service';

// No imports on purpose: importing JobsModule here reorders module initialisation, and that exposes
// a race on main in the jobs-events subscriber (README, "Known issue"); the controller looks JobsService up instead.
@Module({ controllers: [RuntimeController], providers: [RuntimeService] })
export class RuntimeModule {}
