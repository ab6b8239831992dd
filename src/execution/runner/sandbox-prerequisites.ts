import { accessSync, constants, readFileSync } from 'node:fs';
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

/** Ids `first`..`first + count - 1` all mapped in a /proc/<pid>/{uid,gid}_map text ("inside outside length" lines). */
export function idRangeMapped(mapText: string, first: number, count: number): boolean {
  return mapText
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .some(([inside, , length]) => length > 0 && first >= inside && first + count <= inside + length);
}

/**
 * As root, slot n's server runs as uid/gid SANDBOX_UID_BASE + n: in a container's user namespace (usually
 * 65,536 ids) an unmapped id would make every server fail at spawn, so the boot says so instead.
 */
export function checkSlotIdsMapped(uidBase: number, servers: number, readMap = readProcMap): void {
  for (const kind of ['uid', 'gid'] as const) {
    const text = readMap(kind);
    if (text !== undefined && !idRangeMapped(text, uidBase, servers)) {
      throw new Error(
        `SANDBOX_UID_BASE ${uidBase}..${uidBase + servers - 1} is outside this user namespace's ${kind} map ` +
          `(${text.trim().replace(/\s+/g, ' ')}): set SANDBOX_UID_BASE to a range inside it`,
      );
    }
  }
}

function readProcMap(kind: 'uid' | 'gid'): string | undefined {
  try {
    return readFileSync(`/proc/self/${kind}_map`, 'utf8');
  } catch {
    return undefined;
  }
}
