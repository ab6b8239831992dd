import { Injectable } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { AppConfig } from '../config/app-config';
import { RuntimeDto } from './dto/runtime.envelope';

/** What code can count on here, from the configuration and the configured Python. */
@Injectable()
export class RuntimeService {
  private pythonVersion?: Promise<string | null>;

  constructor(private readonly config: AppConfig) {}

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
      sandbox: c.sandbox,
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
