import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { PythonRunner } from './runner/python-runner';
import { createRunner } from './runner/runner.factory';

/** This process's PythonRunner: the sandbox pool in worker roles, a runner that runs nothing for ROLE=api. */
@Global()
@Module({
  providers: [{ provide: PythonRunner, inject: [AppConfig], useFactory: (config: AppConfig) => createRunner(config) }],
  exports: [PythonRunner],
})
export class SandboxModule {}
