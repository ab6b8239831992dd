import {
  DynamicModule,
  ExistingProvider,
  FactoryProvider,
  Module,
  ModuleMetadata,
  ValueProvider,
} from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { RedisHealthIndicator, SandboxHealthIndicator, WorkersHealthIndicator } from './health-indicators';
import { SANDBOX_HEALTH, SandboxHealth, WORKERS_SEEN, WorkersSeen } from './sandbox-health';

export interface HealthModuleOptions {
  /** Modules exporting what `sandboxHealth` needs. */
  imports?: ModuleMetadata['imports'];
  /** How readiness reaches the sandbox, e.g. `{ useExisting: PythonRunner }`. */
  sandboxHealth:
    | Omit<ExistingProvider<SandboxHealth>, 'provide'>
    | Omit<FactoryProvider<SandboxHealth>, 'provide'>
    | Omit<ValueProvider<SandboxHealth>, 'provide'>;
  /** API processes: the workers their readiness body lists (a worker process leaves it out). */
  workersSeen?: Omit<ExistingProvider<WorkersSeen>, 'provide'> | Omit<ValueProvider<WorkersSeen>, 'provide'>;
}

/** GET /health/live and /health/ready; needs RedisModule (global) and a SandboxHealth. */
@Module({})
export class HealthModule {
  static register(options: HealthModuleOptions): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), ...(options.imports ?? [])],
      controllers: [HealthController],
      providers: [
        RedisHealthIndicator,
        SandboxHealthIndicator,
        { provide: SANDBOX_HEALTH, ...options.sandboxHealth },
        ...(options.workersSeen ? [WorkersHealthIndicator, { provide: WORKERS_SEEN, ...options.workersSeen }] : []),
      ],
    };
  }
}
