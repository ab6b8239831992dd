import { isResourceLimit } from '../common/error-code';
import { CANCELLED_ERROR, INTERNAL_ERROR } from '../common/messages';
import type { JobEnding, JobOutcome } from './job.types';

/** An ending without a sandbox run: no exit code, nothing was written. */
function unranOutcome(ending: JobEnding, error: string): JobOutcome {
  return {
    ending,
    exitCode: null,
    output: null,
    result: null,
    error,
    runMs: null,
    pid: process.pid,
    serverPid: 0,
  };
}

/** Cancelled before it ran (or before its re-run after a dead worker). */
export const cancelledOutcome = (): JobOutcome => unranOutcome({ kind: 'cancelled' }, CANCELLED_ERROR);

/** Its worker died more often than Bull re-runs a stalled job, or Bull failed it: the documented 500. */
export const lostOutcome = (): JobOutcome => unranOutcome({ kind: 'failed', failure: 'internal' }, INTERNAL_ERROR);

/** The error texts of a program that exited (sys.exit(n), os._exit(n)) or died by a signal no limit explains. */
const exitErrors = /^(SystemExit\b|Process exited with status |Killed by signal |Segmentation fault)/;

/**
 * A run that ended by itself, not with status 0: a limit (the runner names it; a MemoryError is `memory`),
 * an exit, or an uncaught exception.
 */
export function failureOf(run: { signaled: boolean; limit: string | null; error: string | null }): JobEnding {
  if (isResourceLimit(run.limit)) return { kind: 'failed', failure: 'limit', limit: run.limit };
  const error = run.error ?? '';
  if (/^MemoryError\b/.test(error)) return { kind: 'failed', failure: 'limit', limit: 'memory' };
  const exited = run.signaled || !error || exitErrors.test(error);
  return { kind: 'failed', failure: exited ? 'exit' : 'exception' };
}

/** The outcome as the previous version stored it: an HTTP status in `code`, the limit beside it. */
interface StatusCodedOutcome extends Omit<JobOutcome, 'ending' | 'exitCode'> {
  code: number;
  exitCode: number;
  limit?: string | null;
}

/** A stored outcome, whichever version wrote it (records outlive an upgrade by JOB_RETENTION_SECONDS). */
export function readOutcome(stored: JobOutcome | StatusCodedOutcome): JobOutcome {
  if ('ending' in stored && stored.ending) return stored;
  const { code, limit, ...rest } = stored as StatusCodedOutcome;
  // An ending without a run stored the HTTP status as its exit code.
  const exitCode = rest.output === null || code === 500 ? null : rest.exitCode;
  return { ...rest, ending: endingOfStatus(code, limit ?? null, rest.error), exitCode };
}

function endingOfStatus(code: number, limit: string | null, error: string | null): JobEnding {
  switch (code) {
    case 200:
      return { kind: 'completed' };
    case 499:
      return { kind: 'cancelled' };
    case 408:
      return { kind: 'failed', failure: 'timeout' };
    case 400:
      return failureOf({ signaled: false, limit, error });
    default:
      return { kind: 'failed', failure: 'internal' };
  }
}
