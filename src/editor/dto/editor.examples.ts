import { exampleJobId, type ExampleSet } from '../../common/envelope.examples';

/** Request bodies that run as they are in Swagger UI; the first one is what "Try it out" prefills. */
export const editorExecuteRequestExamples: ExampleSet = {
  hello: { summary: 'Synchronous: print Hello, World!', value: { code: 'print("Hello, World!")', timeout: 10 } },
  async: {
    summary: 'Asynchronous: answer 202 at once, then poll GET /api/v1/python/job?id=',
    value: { code: 'import time\ntime.sleep(2)\nprint("done")', timeout: 10, async: true },
  },
};

export const editorExecuteOkExample = {
  success: true,
  job_id: exampleJobId,
  status: 'completed',
  output: 'Hello, World!\n',
  logs: [],
  result: null,
  duration_ms: 7,
};

export const editorExecuteAcceptedExample = { success: true, job_id: exampleJobId, status: 'pending' };

const logs = [
  'Traceback (most recent call last):',
  '  File "<code>", line 1, in <module>',
  'ZeroDivisionError: division by zero',
];

export const editorExecuteBadRequestExamples: ExampleSet = {
  failed: {
    summary: 'The program raised an exception',
    value: {
      success: false,
      error: 'EXECUTION_FAILED',
      message: 'ZeroDivisionError: division by zero',
      job_id: exampleJobId,
      output: 'before\n',
      logs,
      duration_ms: 5,
    },
  },
  missingField: {
    summary: '`code` absent or empty',
    value: { success: false, error: 'MISSING_FIELD', message: "Field 'code' is required and must not be empty" },
  },
};

export const editorTimeoutExample = {
  success: false,
  error: 'TIMEOUT',
  message: 'Execution timed out after 1 seconds',
  job_id: exampleJobId,
  output: 'started\n',
  logs: [],
  duration_ms: 1004,
};

export const editorCancelledExample = {
  success: false,
  error: 'JOB_CANCELLED',
  message: 'Job cancelled',
  job_id: exampleJobId,
  output: '',
  logs: [],
  duration_ms: 412,
};

export const editorJobListExample = {
  success: true,
  jobs: [{ id: exampleJobId, status: 'completed', started_at: '2026-01-15T09:30:00.002Z' }],
};

export const editorJobExample = {
  success: true,
  job: {
    id: exampleJobId,
    status: 'completed',
    started_at: '2026-01-15T09:30:00.002Z',
    output: 'Hello, World!\n',
    logs: [],
    result: null,
    duration_ms: 7,
    ended_at: '2026-01-15T09:30:00.009Z',
  },
};

export const editorCancelExample = {
  success: true,
  message: `Job '${exampleJobId}' has been cancelled`,
  job_id: exampleJobId,
};

export const editorError = (error: string, message: string) => ({ success: false, error, message });
