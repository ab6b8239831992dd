import { Global, Module } from '@nestjs/common';
import { WorkerDirectory } from './worker-directory';
import { WorkerHeartbeat } from './worker-heartbeat';

/** What every role knows of the workers: the directory API processes read. */
@Global()
@Module({ providers: [WorkerDirectory], exports: [WorkerDirectory] })
export class WorkersModule {}

/** Worker roles announce themselves (needs the global SandboxModule's PythonRunner). */
@Module({ providers: [WorkerHeartbeat], exports: [WorkerHeartbeat] })
export class WorkerHeartbeatModule {}
