import { Injectable } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { AppConfig } from '../config/app-config';
import { MemoryBound, weakestMemoryBound } from '../execution/runner/memory-bound';
import { PythonRunner } from '../execution/runner/python-runner';
import { WorkerDirectory } from '../workers/worker-directory';
import { RuntimeDto, RuntimeSandboxDto } from './dto/runtime.envelope';

/** What code can count on here, from the configuration and the configured Python. */
@Injectable()
export class RuntimeService {
  private pythonVersion?: Promise<string | null>;

  constructor(
    private readonly config: AppConfig,
    private readonly runner: PythonRunner,
    private readonly workers: WorkerDirectory,
  ) {}

  async describe(): Promise<RuntimeDto> {
    const c = this.config;
    return {
      python_version: await this.version(),
      preloaded_modules: [...c.sandboxPreload],
      limits: {
        default_timeout: c.defaultTimeoutSec,
        max_timeout: c.maxTimeoutSec,
        memory_limit_mb: c.memoryLimitMb,
        max_output_bytes: c.maxOutputBytes,
        max_code_bytes: c.maxCodeBytes,
        scratch_mb: c.scratchMb,
      },
      sandbox: await this.sandbox(),
    };
  }

  /** The mode, and the weakest memory bound of this process's runner and the announced workers. */
  private async sandbox(): Promise<RuntimeSandboxDto> {
    const bounds: MemoryBound[] = [];
    const own = this.runner.memoryBound();
    if (own) bounds.push(own);
    for (const worker of await this.workers.list().catch(() => [])) {
      if (worker.memory_bound) bounds.push({ kind: worker.memory_bound, reason: worker.memory_bound_reason ?? '' });
    }
    const weakest = weakestMemoryBound(bounds);
    return {
      mode: this.config.sandbox,
      memory_bound: weakest?.kind ?? null,
      memory_bound_reason: weakest?.reason ?? 'no worker has announced itself',
    };
  }

  /** `PYTHON_BIN --version`, asked once (no user code: only the interpreter's own banner). */
  private version(): Promise<string | null> {
    this.pythonVersion ??= new Promise((resolve) => {
      execFile(this.config.pythonBin, ['--version'], { timeout: 5000, env: {} }, (error, stdout, stderr) => {
        const match = /Python (\d+\.\d+\.\d+\S*)/.exec(`${stdout}${stderr}`);
        resolve(error || !match ? null : match[1]);
      });
    });
    return this.pythonVersion;
  }
}
