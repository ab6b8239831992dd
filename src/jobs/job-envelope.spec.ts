import { INTERNAL_ERROR } from '../common/messages';
import { v1Envelope } from './job-envelope';
import { cancelledOutcome, lostOutcome } from './job-outcomes';
import { JobOutcome, JobRecord } from './job.types';

const output = { stdout: 'out\n', stderr: 'err\n', stdoutTruncated: true, stderrTruncated: false };
const ran = { output, result: null, error: null, limit: null, runMs: 4.4, pid: 10, serverPid: 11 };

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
    expect(v1Envelope(ended({ ...ran, code: 200, exitCode: 0, result: { a: 1 } }), 'b1')).toEqual({
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
      },
    });
  });

  it('a failed run: error, output and exit code at top level, response null', () => {
    const envelope = v1Envelope(
      ended({ ...ran, code: 400, exitCode: 3, error: 'SystemExit: 3' }, { status: 'failed' }),
      'b',
    );
    expect(envelope).toMatchObject({
      code: 400,
      message: 'SystemExit: 3',
      error: 'SystemExit: 3',
      response: null,
      stdout: 'out\n',
      stderr: 'err\n',
      stdout_truncated: true,
      stderr_truncated: false,
      exit_code: 3,
    });
  });

  it.each([
    ['cancelled before it ran', cancelledOutcome(), 499, 'Job cancelled'],
    ['lost with its worker', lostOutcome(), 500, INTERNAL_ERROR],
  ])('%s: empty output, exit_code = code, no truncation flags', (_label, outcome, code, error) => {
    const envelope = v1Envelope(
      ended(outcome, { status: code === 499 ? 'cancelled' : 'failed', startedAtMs: null }),
      'b',
    );
    expect(envelope).toMatchObject({
      code,
      error,
      message: error,
      stdout: '',
      stderr: '',
      exit_code: code,
      response: null,
      queue_id: 0,
    });
    expect(envelope).not.toHaveProperty('stdout_truncated');
  });
});
