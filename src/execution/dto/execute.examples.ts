import { envelopeExample, ExampleSet, unranErrorExample } from '../../common/envelope.examples';
import { ErrorCode } from '../../common/error-code';

/** Request bodies that run as they are in Swagger UI; the first one is what "Try it out" prefills. */
export const executeRequestExamples: ExampleSet = {
  hello: {
    summary: 'Synchronous: print Hello, World!',
    value: { code: 'print("Hello, World!")', timeout: 10, id: 'hello-1' },
  },
  async: {
    summary: 'Asynchronous: answer 202 at once, then poll GET /v1/jobs/{job_id}',
    value: { code: 'import time\ntime.sleep(2)\nprint("done")\n21 * 2', timeout: 10, id: 'async-1', async: true },
  },
  webhook: {
    summary: 'Asynchronous with a webhook: the final envelope is POSTed to webhook_url',
    value: { code: 'sum(range(10))', timeout: 10, id: 'webhook-1', webhook_url: 'https://example.com/hooks/pyexec' },
  },
  stdin: {
    summary: 'Standard input: the program reads what `stdin` holds',
    value: { code: 'name = input()\nprint(f"Hello, {name}!")', timeout: 10, id: 'stdin-1', stdin: 'Ada\n' },
  },
  chart: {
    summary: 'Files and a chart: read a CSV sent in `files`, plot it; the PNG comes back in `display` and `files`',
    value: {
      code: [
        'import csv, os',
        'import matplotlib.pyplot as plt',
        'rows = list(csv.DictReader(open("sales.csv")))',
        'plt.figure(figsize=(4, 3))',
        'plt.bar([r["month"] for r in rows], [float(r["total"]) for r in rows])',
        'plt.title("Sales")',
        'os.makedirs("outputs", exist_ok=True)',
        'plt.savefig("outputs/sales.png")',
        'plt.show()',
        'len(rows)',
      ].join('\n'),
      timeout: 30,
      id: 'chart-1',
      files: [{ path: 'sales.csv', content: 'month,total\nJan,10\nFeb,14\nMar,9\n' }],
    },
  },
};

const output = { stdout_truncated: false, stderr_truncated: false, files: [], display: [], display_truncated: false };
/** The first 24 bytes of a 400x300 PNG, as base64: the examples shorten the data. */
const PNG_BASE64_START = 'iVBORw0KGgoAAAANSUhEUgAAAZAAAAEs';

export const executeOkExamples: ExampleSet = {
  hello: {
    summary: 'print("Hello, World!")',
    value: envelopeExample({
      code: 200,
      response: { result: null, stdout: 'Hello, World!\n', stderr: '', exit_code: 0, ...output },
    }),
  },
  result: {
    summary: 'A trailing expression is the result',
    value: envelopeExample({
      code: 200,
      id: 'result-1',
      response: { result: { answer: 42 }, stdout: '', stderr: '', exit_code: 0, ...output },
    }),
  },
  chart: {
    summary: 'The chart example: the plot in `display` (PNG, base64, shortened here), the saved file in `files`',
    value: envelopeExample({
      code: 200,
      id: 'chart-1',
      response: {
        result: 3,
        stdout: '',
        stderr: '',
        exit_code: 0,
        ...output,
        files: [
          {
            path: 'sales.png',
            size: 11546,
            sha256: '5b0f4ac52d5bb7b8e0b7f1a4ea7bd4e1b1b2f8d2b0a5c6e1f3d9a8c7b6e5d4c3',
            media_type: 'image/png',
            content: PNG_BASE64_START,
          },
        ],
        display: [{ mime_type: 'image/png', data: PNG_BASE64_START }],
      },
    }),
  },
};

export const executeAcceptedExample = envelopeExample({
  code: 202,
  id: 'async-1',
  message: 'processing',
  run_time: 0,
  queue_time: 0,
  total_time: 0,
  max_queue_length: 0,
});

const traceback =
  'Traceback (most recent call last):\n  File "<code>", line 1, in <module>\nZeroDivisionError: division by zero\n';

export const executeBadRequestExamples: ExampleSet = {
  exception: {
    summary: 'The program raised an exception',
    value: envelopeExample({
      code: 400,
      message: 'ZeroDivisionError: division by zero',
      error: 'ZeroDivisionError: division by zero',
      error_code: ErrorCode.EXECUTION_FAILED,
      stdout: 'before\n',
      stderr: traceback,
      exit_code: 1,
      ...output,
    }),
  },
  limit: {
    summary: 'The program was killed by a limit (here: memory; a MemoryError counts too)',
    value: envelopeExample({
      code: 400,
      message: 'Memory limit exceeded',
      error: 'Memory limit exceeded',
      error_code: ErrorCode.RESOURCE_LIMIT,
      limit: 'memory',
      stdout: '',
      stderr: 'Traceback (most recent call last):\n  File "<code>", line 1, in <module>\nMemoryError\n',
      exit_code: 1,
      ...output,
    }),
  },
  invalid: {
    summary: 'Invalid body: nothing ran',
    value: unranErrorExample(400, 'Missing or invalid parameters', {
      id: 'hello-1',
      details: ['timeout must not be greater than 300'],
    }),
  },
};

export const executeTimeoutExample = envelopeExample({
  code: 408,
  message: 'Execution timed out after 1 seconds',
  error: 'Execution timed out after 1 seconds',
  error_code: ErrorCode.TIMEOUT,
  stdout: 'started\n',
  stderr: '',
  exit_code: 124,
  run_time: 1.004,
  total_time: 1.006,
  ...output,
});

export const payloadTooLargeExample = unranErrorExample(413, 'Request body exceeds 1048576 bytes');
export const idempotencyKeyReusedExample = unranErrorExample(
  422,
  'Idempotency-Key was already used with a different request body',
);
export const unsupportedMediaTypeExample = unranErrorExample(415, 'Content-Type must be application/json');

export const tooManyRequestsExamples: ExampleSet = {
  queueFull: {
    summary: 'MAX_QUEUE_LENGTH waiting jobs',
    value: unranErrorExample(429, 'MAX_QUEUE_LENGTH (100) reached'),
  },
  rateLimited: {
    summary: 'Per-key rate limit (see Retry-After)',
    value: unranErrorExample(429, 'Rate limit exceeded (60 requests per minute)', {
      error_code: ErrorCode.RATE_LIMITED,
    }),
  },
};

export const executeCancelledExample = envelopeExample({
  code: 499,
  message: 'Job cancelled',
  error: 'Job cancelled',
  error_code: ErrorCode.JOB_CANCELLED,
  stdout: 'started\n',
  stderr: '',
  exit_code: 137,
  run_time: 0.412,
  total_time: 0.414,
  ...output,
});
