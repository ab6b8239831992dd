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
  it('exit 0: 200 with the result, output, sandbox time and fork server', () => {
    expect(outcomeOfRun(run({}), 5)).toEqual({
      code: 200,
      exitCode: 0,
      result: 42,
      error: null,
      limit: null,
      runMs: 3.5,
      pid: process.pid,
      serverPid: 77,
      output: { stdout: 'o', stderr: 'e', stdoutTruncated: false, stderrTruncated: true },
    });
  });

  it.each<[string, Partial<RunOutcome>, object]>([
    [
      'an exception',
      { exitCode: 1, error: 'ValueError: x', result: null },
      { code: 400, exitCode: 1, error: 'ValueError: x', result: null },
    ],
    ['sys.exit(3)', { exitCode: 3, error: null }, { code: 400, exitCode: 3, error: 'Process exited with status 3' }],
    [
      'a limit',
      { status: 'signaled', exitCode: 137, error: 'Memory limit exceeded', limit: 'memory' },
      { code: 400, exitCode: 137, limit: 'memory' },
    ],
    [
      'a timeout',
      { status: 'timeout', exitCode: 137 },
      { code: 408, exitCode: 124, error: 'Execution timed out after 5 seconds' },
    ],
    ['a cancel', { status: 'cancelled', exitCode: 137 }, { code: 499, exitCode: 137, error: 'Job cancelled' }],
  ])('%s', (_label, over, expected) => {
    expect(outcomeOfRun(run(over), 5)).toMatchObject({ ...expected, output: { stdout: 'o' } });
  });

  it('a crashed sandbox: 500 without the program output or internals', () => {
    expect(outcomeOfRun(run({ status: 'crashed', error: 'fork server died: ENOENT /secret/path' }), 5)).toMatchObject({
      code: 500,
      exitCode: 500,
      error: INTERNAL_ERROR,
      result: null,
      output: { stdout: '', stderr: '' },
    });
  });
});
