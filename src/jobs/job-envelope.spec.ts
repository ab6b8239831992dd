import { INTERNAL_ERROR } from '../common/messages';
import { v1Envelope } from './job-envelope';
import { cancelledOutcome, lostOutcome } from './job-outcomes';
import { JobOutcome, JobRecord } from './job.types';

const output = { stdout: 'out\n', stderr: 'err\n', stdoutTruncated: true, stderrTruncated: false };
const ran = { output, result: null, error: null, runMs: 4.4, pid: 10, serverPid: 11 };

function ended(outcome: JobOutcome | null, over: Partial<JobRecord> = {}): JobRecord {
  return {
    jobId: 'job-1',
    endpoint: '/v1/code/execute/python',
    owner: 'k',
    clientId: 'mine',
    status: 'completed',
    cancelRequested: false,
    createdAtMs: 1000,
    startedAtMs: 1002,
    endedAtMs: 1010,
    queueTimeSec: 0.0024,
    runTimeSec: 0.0044,
    queueLength: 3,
    outcome,
    webhook: null,
    ...over,
  };
}

describe('v1Envelope', () => {
  it('is null until the job ends', () => {
    expect(v1Envelope(ended(null, { status: 'running' }), 'b')).toBeNull();
  });

  it('success: the result and output in `response`; times rounded once, total = the sum of the rounded parts', () => {
    expect(v1Envelope(ended({ ...ran, ending: { kind: 'completed' }, exitCode: 0, result: { a: 1 } }), 'b1')).toEqual({
      endpoint: '/v1/code/execute/python',
      code: 200,
      id: 'mine',
      job_id: 'job-1',
      pid: 10,
      queue_id: 11,
      queue_time: 0.002,
      run_time: 0.004,
      total_time: 0.006,
      queue_length: 3,
      build_number: 'b1',
      message: 'success',
      response: {
        result: { a: 1 },
        stdout: 'out\n',
        stderr: 'err\n',
        exit_code: 0,
        stdout_truncated: true,
        stderr_truncated: false,
        files: [],
        display: [],
        display_truncated: false,
      },
    });
  });

  it('files and display: in `response` on success, at the top level when the run failed', () => {
    const file = { path: 'a.txt', size: 1, sha256: 'c'.repeat(64), media_type: 'text/plain', content: 'YQ==' };
    const rich = { files: [file], display: [{ mime_type: 'text/html' as const, data: '<b>' }], displayTruncated: true };
    const wire = { files: [file], display: rich.display, display_truncated: true };
    const ok = v1Envelope(ended({ ...ran, ...rich, ending: { kind: 'completed' }, exitCode: 0, result: 1 }), 'b');
    expect(ok!.response).toMatchObject(wire);
    const failed = v1Envelope(
      ended({ ...ran, ...rich, ending: { kind: 'failed', failure: 'exception' }, exitCode: 1, error: 'E' }),
      'b',
    );
    expect(failed).toMatchObject({ ...wire, response: null, code: 400 });
  });

  it('a failed run: error, output and exit code at top level, response null', () => {
    const envelope = v1Envelope(
      ended(
        { ...ran, ending: { kind: 'failed', failure: 'exit' }, exitCode: 3, error: 'SystemExit: 3' },
        { status: 'failed' },
      ),
      'b',
    );
    expect(envelope).toMatchObject({
      code: 400,
      message: 'SystemExit: 3',
      error: 'SystemExit: 3',
      error_code: 'EXECUTION_FAILED',
      response: null,
      stdout: 'out\n',
      stderr: 'err\n',
      stdout_truncated: true,
      stderr_truncated: false,
      exit_code: 3,
    });
  });

  it.each([
    ['cancelled before it ran', cancelledOutcome(), 499, 'Job cancelled', 'JOB_CANCELLED'],
    ['lost with its worker', lostOutcome(), 500, INTERNAL_ERROR, 'INTERNAL_ERROR'],
  ])('%s: empty output, exit_code = code, no truncation flags', (_label, outcome, code, error, errorCode) => {
    const envelope = v1Envelope(
      ended(outcome, { status: code === 499 ? 'cancelled' : 'failed', startedAtMs: null }),
      'b',
    );
    expect(envelope).toMatchObject({
      code,
      error,
      error_code: errorCode,
      message: error,
      stdout: '',
      stderr: '',
      exit_code: code,
      response: null,
      queue_id: 0,
    });
    expect(envelope).not.toHaveProperty('stdout_truncated');
    expect(envelope).not.toHaveProperty('files');
  });

  it('a run killed by a limit: RESOURCE_LIMIT with the limit at top level', () => {
    const envelope = v1Envelope(
      ended(
        {
          ...ran,
          ending: { kind: 'failed', failure: 'limit', limit: 'memory' },
          exitCode: 1,
          error: 'Memory limit exceeded',
        },
        { status: 'failed' },
      ),
      'b',
    );
    expect(envelope).toMatchObject({ code: 400, error_code: 'RESOURCE_LIMIT', limit: 'memory', exit_code: 1 });
  });

  it('a timeout: 408 TIMEOUT, exit_code 124, no `limit`', () => {
    const envelope = v1Envelope(
      ended(
        {
          ...ran,
          ending: { kind: 'failed', failure: 'timeout' },
          exitCode: 124,
          error: 'Execution timed out after 1 seconds',
        },
        { status: 'failed' },
      ),
      'b',
    );
    expect(envelope).toMatchObject({ code: 408, error_code: 'TIMEOUT', exit_code: 124 });
    expect(envelope).not.toHaveProperty('limit');
  });

  it('a success has no error_code', () => {
    expect(v1Envelope(ended({ ...ran, ending: { kind: 'completed' }, exitCode: 0 }), 'b')).not.toHaveProperty(
      'error_code',
    );
  });
});
