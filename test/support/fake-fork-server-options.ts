import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ForkServerOptions } from '../../src/execution/runner/fork-server';

const FAKE_SERVER = join(__dirname, 'fake-fork-server.js');

/**
 * A fork server's options (SANDBOX=process) whose "python" is an executable written into `binDir` that
 * starts the stand-in fork server (fake-fork-server.js) in `start` mode, whatever arguments the runner
 * passes: what Node does with a real child process and real pipes, without a sandbox.
 */
export function fakeForkServerOptions(binDir: string, start: 'ready' | 'garbage' = 'ready'): ForkServerOptions {
  const python = join(binDir, `python-${start}`);
  writeFileSync(
    python,
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(FAKE_SERVER)} ${start}\n`,
  );
  chmodSync(python, 0o755);
  return {
    mode: 'process',
    pythonBin: python,
    bwrapBin: '/nonexistent/bwrap',
    startTimeoutMs: 10_000,
    backstopMs: 1_000,
    limits: {
      memoryMb: 64,
      maxOutputBytes: 1024,
      maxResultBytes: 1024,
      scratchMb: 1,
      maxProcesses: 8,
      inotifyInstances: 1,
      inotifyWatches: 1,
    },
  };
}
