import { cancelledOutcome, failureOf, lostOutcome, readOutcome } from './job-outcomes';
import type { JobOutcome } from './job.types';

const output = { stdout: 'o', stderr: 'e', stdoutTruncated: false, stderrTruncated: false };
/** An outcome as the previous version stored it: the HTTP status in `code`, the limit beside it. */
const legacy = (code: number, over: Record<string, unknown> = {}) => ({
  code,
  exitCode: 1,
  output,
  result: null,
  error: 'ValueError: x',
  limit: null,
  runMs: 3,
  pid: 10,
  serverPid: 11,
  ...over,
});

describe('failureOf', () => {
  it.each([
    [
      { signaled: false, limit: null, error: 'ValueError: x' },
      { kind: 'failed', failure: 'exception' },
    ],
    [
      { signaled: false, limit: null, error: 'SyntaxError: invalid syntax' },
      { kind: 'failed', failure: 'exception' },
    ],
    [
      { signaled: false, limit: null, error: 'SystemExit: 3' },
      { kind: 'failed', failure: 'exit' },
    ],
    [
      { signaled: false, limit: null, error: 'Process exited with status 3' },
      { kind: 'failed', failure: 'exit' },
    ],
    [
      { signaled: true, limit: null, error: 'Killed by signal 6' },
      { kind: 'failed', failure: 'exit' },
    ],
    [
      { signaled: false, limit: null, error: null },
      { kind: 'failed', failure: 'exit' },
    ],
    [
      { signaled: false, limit: 'files', error: 'Open files limit exceeded' },
      { kind: 'failed', failure: 'limit', limit: 'files' },
    ],
    [
      { signaled: false, limit: null, error: 'MemoryError' },
      { kind: 'failed', failure: 'limit', limit: 'memory' },
    ],
    [
      { signaled: false, limit: 'bogus', error: 'ValueError: x' },
      { kind: 'failed', failure: 'exception' },
    ],
  ])('%j is %j', (run, ending) => {
    expect(failureOf(run)).toEqual(ending);
  });
});

describe('readOutcome: stored outcomes of either version', () => {
  it('an outcome of this version is returned as it is', () => {
    for (const outcome of [cancelledOutcome(), lostOutcome()]) expect(readOutcome(outcome)).toBe(outcome);
  });

  it.each([
    ['success', legacy(200, { exitCode: 0, error: null, result: [1] }), { kind: 'completed' }, 0],
    ['exception', legacy(400), { kind: 'failed', failure: 'exception' }, 1],
    ['sys.exit(3)', legacy(400, { exitCode: 3, error: 'SystemExit: 3' }), { kind: 'failed', failure: 'exit' }, 3],
    [
      'limit',
      legacy(400, { exitCode: 137, error: 'Memory limit exceeded', limit: 'memory' }),
      { kind: 'failed', failure: 'limit', limit: 'memory' },
      137,
    ],
    ['timeout', legacy(408, { exitCode: 124 }), { kind: 'failed', failure: 'timeout' }, 124],
    ['cancelled while running', legacy(499, { exitCode: 137 }), { kind: 'cancelled' }, 137],
    ['cancelled before it ran', legacy(499, { exitCode: 499, output: null }), { kind: 'cancelled' }, null],
    ['crashed sandbox', legacy(500, { exitCode: 500 }), { kind: 'failed', failure: 'internal' }, null],
    [
      'lost with its worker',
      legacy(500, { exitCode: 500, output: null }),
      { kind: 'failed', failure: 'internal' },
      null,
    ],
  ])('%s', (_label, stored, ending, exitCode) => {
    const outcome = readOutcome(stored as unknown as JobOutcome);
    expect(outcome).toEqual({
      ending,
      exitCode,
      output: stored.output,
      result: stored.result,
      error: stored.error,
      runMs: 3,
      pid: 10,
      serverPid: 11,
    });
    expect(outcome).not.toHaveProperty('code');
    expect(outcome).not.toHaveProperty('limit');
  });
});
