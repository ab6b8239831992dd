import { INTERNAL_ERROR } from '../common/messages';
import { outcomeOfRun } from './execution.service';
import { RunOutcome } from './runner/python-runner';

const run = (over: Partial<RunOutcome>): RunOutcome => ({
  status: 'exited',
  exitCode: 0,
  signal: null,
  stdout: 'o',
  stderr: 'e',
  stdoutTruncated: false,
  stderrTruncated: true,
  result: 42,
  error: null,
  limit: null,
  runMs: 3.5,
  serverPid: 77,
  ...over,
});

describe('outcomeOfRun', () => {
  it('exit 0: completed, with the result, output, sandbox time and fork server', () => {
    expect(outcomeOfRun(run({}), 5)).toEqual({
      ending: { kind: 'completed' },
      exitCode: 0,
      result: 42,
      error: null,
      runMs: 3.5,
      pid: process.pid,
      serverPid: 77,
      output: { stdout: 'o', stderr: 'e', stdoutTruncated: false, stderrTruncated: true },
      files: [],
      display: [],
      displayTruncated: false,
    });
  });

  it.each<[string, Partial<RunOutcome>, object]>([
    [
      'an exception',
      { exitCode: 1, error: 'ValueError: x', result: null },
      { ending: { kind: 'failed', failure: 'exception' }, exitCode: 1, error: 'ValueError: x', result: null },
    ],
    [
      'a SyntaxError',
      { exitCode: 1, error: 'SyntaxError: invalid syntax' },
      { ending: { kind: 'failed', failure: 'exception' }, exitCode: 1 },
    ],
    [
      'sys.exit(3)',
      { exitCode: 3, error: 'SystemExit: 3' },
      { ending: { kind: 'failed', failure: 'exit' }, exitCode: 3, error: 'SystemExit: 3' },
    ],
    [
      'os._exit(3) (no report)',
      { exitCode: 3, error: null },
      { ending: { kind: 'failed', failure: 'exit' }, exitCode: 3, error: 'Process exited with status 3' },
    ],
    [
      'a signal no limit explains',
      { status: 'signaled', exitCode: 139, error: 'Segmentation fault (SIGSEGV)' },
      { ending: { kind: 'failed', failure: 'exit' }, exitCode: 139 },
    ],
    [
      'a limit',
      { status: 'signaled', exitCode: 137, error: 'Memory limit exceeded', limit: 'memory' },
      { ending: { kind: 'failed', failure: 'limit', limit: 'memory' }, exitCode: 137 },
    ],
    [
      'a MemoryError that ended the program',
      { exitCode: 1, error: 'MemoryError', limit: null },
      { ending: { kind: 'failed', failure: 'limit', limit: 'memory' }, exitCode: 1 },
    ],
    [
      'a CPU limit',
      { status: 'signaled', exitCode: 152, error: 'CPU time limit exceeded', limit: 'cpu' },
      { ending: { kind: 'failed', failure: 'limit', limit: 'cpu' } },
    ],
    [
      'a timeout',
      { status: 'timeout', exitCode: 137 },
      { ending: { kind: 'failed', failure: 'timeout' }, exitCode: 124, error: 'Execution timed out after 5 seconds' },
    ],
    [
      'a cancel',
      { status: 'cancelled', exitCode: 137 },
      { ending: { kind: 'cancelled' }, exitCode: 137, error: 'Job cancelled' },
    ],
  ])('%s', (_label, over, expected) => {
    expect(outcomeOfRun(run(over), 5)).toMatchObject({ ...expected, output: { stdout: 'o' } });
  });

  it('a crashed sandbox: internal, without an exit code, the program output or internals', () => {
    expect(outcomeOfRun(run({ status: 'crashed', error: 'fork server died: ENOENT /secret/path' }), 5)).toMatchObject({
      ending: { kind: 'failed', failure: 'internal' },
      exitCode: null,
      error: INTERNAL_ERROR,
      result: null,
      output: { stdout: '', stderr: '' },
    });
  });
});
