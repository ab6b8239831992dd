import { accessSync, constants } from 'node:fs';
import { findOnPath } from '../../common/find-on-path';
import { probeSandbox } from './sandbox-probe';

export interface SandboxPrerequisiteSettings {
  sandbox: 'bwrap' | 'process';
  pythonBin: string;
}

/** How this machine's sandbox is started: the bwrap path ('' with SANDBOX=process) and what it may do. */
export interface SandboxSupport {
  bwrapBin: string;
  /** bwrap may set the sandbox's hostname (sethostname allowed); otherwise the inherited one is kept. */
  hostname: boolean;
}

/** One trial sandbox per process and configuration (main.ts checks before Nest boots, the runner again). */
const probed = new Map<string, SandboxSupport>();

/**
 * What the sandbox needs on this machine, checked before Nest boots so a missing package or
 * permission is one line at exit, not a stack trace.
 */
export function checkSandboxPrerequisites(settings: SandboxPrerequisiteSettings): SandboxSupport {
  try {
    accessSync(settings.pythonBin, constants.X_OK);
  } catch {
    throw new Error(`PYTHON_BIN ${settings.pythonBin} is not executable: install python3 or set PYTHON_BIN`);
  }
  if (settings.sandbox !== 'bwrap') return { bwrapBin: '', hostname: false };
  const bwrapBin = findOnPath('bwrap');
  if (!bwrapBin) {
    throw new Error('bwrap not found on PATH: install bubblewrap (apt-get install bubblewrap) or set SANDBOX=process');
  }
  if (!settings.pythonBin.startsWith('/usr/')) {
    throw new Error(`PYTHON_BIN must live under /usr with SANDBOX=bwrap (only /usr is mounted): ${settings.pythonBin}`);
  }
  const key = `${bwrapBin}\0${settings.pythonBin}`;
  let support = probed.get(key);
  if (!support) {
    support = { bwrapBin, ...probeSandbox(bwrapBin, settings.pythonBin) };
    probed.set(key, support);
  }
  return support;
}
