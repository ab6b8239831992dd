import { INTERNAL_ERROR } from '../common/messages';
import { cancelledOutcome } from '../jobs/job-outcomes';
import { JobEnding, JobOutcome, JobRecord } from '../jobs/job.types';
import { editorExecuteOutcome, editorJob, editorJobSummary, splitLines } from './editor-job.view';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 6);

function record(over: Partial<JobRecord>): JobRecord {
  return {
    jobId: 'job-1',
    endpoint: '/api/v1/python/execute',
    owner: 'k',
    clientId: null,
    status: 'pending',
    cancelRequested: false,
    createdAtMs: T0,
    startedAtMs: null,
    endedAtMs: null,
    runTimeSec: null,
    queueTimeSec: null,
    queueLength: null,
    outcome: null,
    webhook: null,
    ...over,
  };
}

const ran = { runMs: 12.3, pid: 1, serverPid: 2 };
const success: JobOutcome = {
  ...ran,
  ending: { kind: 'completed' },
  exitCode: 0,
  result: [1, 2],
  error: null,
  output: { stdout: 'hi\n', stderr: 'w1\r\nw2\n', stdoutTruncated: false, stderrTruncated: false },
};
const failure = (ending: JobEnding, error: string): JobOutcome => ({
  ...ran,
  ending,
  exitCode: 1,
  result: null,
  error,
  output: {
    stdout: 'partial',
    stderr: 'Traceback (most recent call last):\nValueError: no\n',
    stdoutTruncated: false,
    stderrTruncated: false,
  },
});
const ended = { startedAtMs: T0 + 5, endedAtMs: T0 + 20, runTimeSec: 0.0123, queueTimeSec: 0.005 };

describe('editor job view', () => {
  it('splitLines: no empty entry for a trailing newline; CRLF too; "" is []', () => {
    expect(splitLines('')).toEqual([]);
    expect(splitLines('a\n')).toEqual(['a']);
    expect(splitLines('a\r\nb')).toEqual(['a', 'b']);
    expect(splitLines('a\n\nb\n')).toEqual(['a', '', 'b']);
  });

  it('pending: nothing ran yet; no ended_at, no error', () => {
    const job = editorJob(record({}));
    expect(job).toEqual({
      id: 'job-1',
      status: 'pending',
      output: '',
      logs: [],
      result: null,
      duration_ms: null,
      started_at: null,
    });
    expect(editorJobSummary(record({}))).toEqual({ id: 'job-1', status: 'pending', started_at: null });
  });

  it('running: started_at (ISO, like v1), still no ended_at', () => {
    const job = editorJob(record({ status: 'running', startedAtMs: T0 }));
    expect(job.started_at).toBe('2026-01-02T03:04:05.006Z');
    expect(job).not.toHaveProperty('ended_at');
  });

  it('completed: stdout, stderr lines, result, duration from run time; no error', () => {
    const job = editorJob(record({ status: 'completed', outcome: success, ...ended }));
    expect(job).toEqual({
      id: 'job-1',
      status: 'completed',
      output: 'hi\n',
      logs: ['w1', 'w2'],
      result: [1, 2],
      duration_ms: 12,
      started_at: '2026-01-02T03:04:05.011Z',
      ended_at: '2026-01-02T03:04:05.026Z',
    });
  });

  it('failed: error is the envelope error, output and logs from top level', () => {
    const job = editorJob(
      record({
        status: 'failed',
        outcome: failure({ kind: 'failed', failure: 'exception' }, 'ValueError: no'),
        ...ended,
      }),
    );
    expect(job).toMatchObject({
      status: 'failed',
      error: 'ValueError: no',
      output: 'partial',
      result: null,
      ended_at: expect.any(String),
    });
    expect(job.logs).toEqual(['Traceback (most recent call last):', 'ValueError: no']);
  });

  it('cancelled: ended_at but no error', () => {
    const job = editorJob(
      record({ status: 'cancelled', outcome: failure({ kind: 'cancelled' }, 'Job cancelled'), ...ended }),
    );
    expect(job.ended_at).toBeDefined();
    expect(job).not.toHaveProperty('error');
  });

  it('cancelled before it ran: nothing written, no error, duration 0', () => {
    const job = editorJob(
      record({
        status: 'cancelled',
        outcome: cancelledOutcome(),
        endedAtMs: T0 + 9,
        runTimeSec: 0,
        queueTimeSec: 0.009,
      }),
    );
    expect(job).toEqual({
      id: 'job-1',
      status: 'cancelled',
      output: '',
      logs: [],
      result: null,
      duration_ms: 0,
      started_at: null,
      ended_at: '2026-01-02T03:04:05.015Z',
    });
    expect(
      editorExecuteOutcome(record({ status: 'cancelled', outcome: cancelledOutcome(), runTimeSec: 0 })).body,
    ).toMatchObject({
      success: false,
      error: 'JOB_CANCELLED',
      message: 'Job cancelled',
      output: '',
      logs: [],
      duration_ms: 0,
    });
  });

  it.each<[JobEnding, number, string, string]>([
    [{ kind: 'failed', failure: 'exception' }, 400, 'ValueError: no', 'EXECUTION_FAILED'],
    [{ kind: 'failed', failure: 'exit' }, 400, 'SystemExit: 3', 'EXECUTION_FAILED'],
    [{ kind: 'failed', failure: 'limit', limit: 'memory' }, 400, 'Memory limit exceeded', 'EXECUTION_FAILED'],
    [{ kind: 'failed', failure: 'timeout' }, 408, 'Execution timed out after 1 seconds', 'TIMEOUT'],
    [{ kind: 'cancelled' }, 499, 'Job cancelled', 'JOB_CANCELLED'],
    [{ kind: 'failed', failure: 'internal' }, 500, INTERNAL_ERROR, 'INTERNAL_ERROR'],
  ])('sync outcome of %j: status %i, its error, code %s', (ending, status, error, editorCode) => {
    const outcome = editorExecuteOutcome(record({ status: ending.kind, outcome: failure(ending, error), ...ended }));
    expect(outcome).toEqual({
      status,
      body: {
        success: false,
        error: editorCode,
        message: error,
        job_id: 'job-1',
        output: 'partial',
        logs: expect.any(Array),
        duration_ms: 12,
      },
    });
  });

  it('sync outcome of a success', () => {
    expect(editorExecuteOutcome(record({ status: 'completed', outcome: success, ...ended }))).toEqual({
      status: 200,
      body: {
        success: true,
        job_id: 'job-1',
        status: 'completed',
        output: 'hi\n',
        logs: ['w1', 'w2'],
        result: [1, 2],
        duration_ms: 12,
      },
    });
  });
});
