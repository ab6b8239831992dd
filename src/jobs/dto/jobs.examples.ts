import { envelopeExample, exampleJobId, unranErrorExample } from '../../common/envelope.examples';
import { ErrorCode } from '../../common/error-code';

const created = '2026-01-15T09:30:00.000Z';
const started = '2026-01-15T09:30:00.002Z';
const ended = '2026-01-15T09:30:00.009Z';

const finalEnvelope = envelopeExample({
  code: 200,
  response: {
    result: null,
    stdout: 'Hello, World!\n',
    stderr: '',
    exit_code: 0,
    stdout_truncated: false,
    stderr_truncated: false,
  },
});

const summary = {
  job_id: exampleJobId,
  id: 'hello-1',
  status: 'completed',
  created_at: created,
  started_at: started,
  ended_at: ended,
};

export const jobListExample = envelopeExample({
  code: 200,
  endpoint: '/v1/jobs',
  id: null,
  job_id: null,
  run_time: 0,
  queue_time: 0,
  total_time: 0,
  response: { jobs: [summary], next_cursor: null },
});

export const jobExample = envelopeExample({
  code: 200,
  endpoint: `/v1/jobs/${exampleJobId}`,
  run_time: 0,
  queue_time: 0,
  total_time: 0,
  response: {
    ...summary,
    queue_time: 0.002,
    run_time: 0.007,
    session_id: null,
    result: finalEnvelope,
    webhook: null,
  },
});

export const cancelledJobExample = envelopeExample({
  code: 200,
  endpoint: `/v1/jobs/${exampleJobId}`,
  id: 'async-1',
  run_time: 0,
  queue_time: 0,
  total_time: 0,
  response: {
    ...summary,
    id: 'async-1',
    status: 'cancelled',
    queue_time: 0.002,
    run_time: 0.412,
    session_id: null,
    result: envelopeExample({
      code: 499,
      id: 'async-1',
      message: 'Job cancelled',
      error: 'Job cancelled',
      error_code: ErrorCode.JOB_CANCELLED,
      stdout: 'started\n',
      stderr: '',
      exit_code: 137,
      run_time: 0.412,
      total_time: 0.414,
      stdout_truncated: false,
      stderr_truncated: false,
    }),
    webhook: null,
  },
});

export const listBadRequestExample = unranErrorExample(400, 'Missing or invalid parameters', {
  endpoint: '/v1/jobs',
  id: null,
  details: ['limit must not be greater than 100'],
});

export const jobNotFoundExample = unranErrorExample(404, 'Job not found', {
  endpoint: `/v1/jobs/${exampleJobId}`,
  job_id: exampleJobId,
});

export const jobEndedExample = unranErrorExample(409, 'Job already completed', {
  endpoint: `/v1/jobs/${exampleJobId}`,
  job_id: exampleJobId,
  id: 'hello-1',
});
