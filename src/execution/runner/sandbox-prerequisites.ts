import { accessSync, constants } from 'node:fs';
import { findOnPath } from '../../common/find-on-path';

export interface SandboxPrerequisiteSettings {
  sandbox: 'bwrap' | 'process';
  pythonBin: string;
}

/**
 * What the sandbox needs on this machine, checked before Nest boots so a missing package is one
 * line at exit, not a stack trace. Returns the bwrap path ('' with SANDBOX=process).
 */
export function checkSandboxPrerequisites(settings: SandboxPrerequisiteSettings): string {
  try {
    accessSync(settings.pythonBin, constants.X_OK);
  } catch {
    throw new Error(`PYTHON_BIN ${settings.pythonBin} is not executable: install python3 or set PYTHON_BIN`);
  }
  if (settings.sandbox !== 'bwrap') return '';
  const bwrapBin = findOnPath('bwrap');
  if (!bwrapBin) {
    throw new Error('bwrap not found on PATH: install bubblewrap (apt-get install bubblewrap) or set SANDBOX=process');
  }
  if (!settings.pythonBin.startsWith('/usr/')) {
    throw new Error(`PYTHON_BIN must live under /usr with SANDBOX=bwrap (only /usr is mounted): ${settings.pythonBin}`);
  }
  return bwrapBin;
}
