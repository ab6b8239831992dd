import { CANCELLED_CODE, CANCELLED_ERROR, INTERNAL_ERROR } from '../common/messages';
import type { JobOutcome } from './job.types';

/** An ending without a sandbox run: exit_code is the envelope code, nothing was written. */
function unranOutcome(code: number, error: string): JobOutcome {
  return {
    code,
    exitCode: code,
    output: null,
    result: null,
    error,
    limit: null,
    runMs: null,
    pid: process.pid,
    serverPid: 0,
  };
}

/** Cancelled before it ran (or before its re-run after a dead worker). */
export const cancelledOutcome = (): JobOutcome => unranOutcome(CANCELLED_CODE, CANCELLED_ERROR);

/** Its worker died more often than Bull re-runs a stalled job, or Bull failed it: the documented 500. */
export const lostOutcome = (): JobOutcome => unranOutcome(500, INTERNAL_ERROR);
