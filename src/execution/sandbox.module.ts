import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { PythonRunner } from './runner/python-runner';
import { createRunner } from './runner/runner.factory';
import { traced } from '../tracing/traced-runner';

/** This process's PythonRunner: the sandbox pool in worker roles, a runner that runs nothing for ROLE=api. */
@Global()
@Module({
  providers: [
    {
      provide: PythonRunner,
      inject: [AppConfig],
      useFactory: async (config: AppConfig) => traced(await createRunner(config)),
    },
  ],
  exports: [PythonRunner],
})
export class SandboxModule {}
