import { readFileSync } from 'node:fs';

/** What holds a run's memory as a whole, strongest first (API.md, GET /v1/runtime `sandbox.memory_bound`). */
export const MEMORY_BOUNDS = ['cgroup2', 'cgroup1', 'watchdog', 'none'] as const;
export type MemoryBoundKind = (typeof MEMORY_BOUNDS)[number];

export interface MemoryBound {
  kind: MemoryBoundKind;
  /** Why this bound and not a stronger one, for operators. */
  reason: string;
}

/** The weakest of several bounds (workers that differ): what every run can count on. */
export function weakestMemoryBound(bounds: readonly MemoryBound[]): MemoryBound | null {
  let weakest: MemoryBound | null = null;
  for (const bound of bounds) {
    if (!weakest || MEMORY_BOUNDS.indexOf(bound.kind) > MEMORY_BOUNDS.indexOf(weakest.kind)) weakest = bound;
  }
  return weakest;
}

/**
 * Without a run cgroup, the fork server's watchdog bounds memory when it can read a process's
 * smaps_rollup (Linux 4.14+, /proc not hidden from the service); otherwise nothing does.
 */
export function watchdogOrNone(whyNoCgroup: string, smapsRollup = '/proc/self/smaps_rollup'): MemoryBound {
  try {
    readFileSync(smapsRollup);
    return { kind: 'watchdog', reason: `${whyNoCgroup}: each fork server's watchdog sums its run's memory` };
  } catch (error) {
    return {
      kind: 'none',
      reason: `${whyNoCgroup}, and no watchdog (${smapsRollup}: ${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    };
  }
}

/** The boot refuses `none` unless the operator said so (SANDBOX_ALLOW_UNBOUNDED_MEMORY=true). */
export function checkMemoryBound(bound: MemoryBound, allowUnbounded: boolean): void {
  if (bound.kind === 'none' && !allowUnbounded) {
    throw new Error(
      `no memory bound for runs (${bound.reason}); set SANDBOX_ALLOW_UNBOUNDED_MEMORY=true to start anyway`,
    );
  }
}
