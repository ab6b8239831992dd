import type { Envelope } from './envelope';
import { ErrorCode, errorCodeForStatus } from './error-code';

/** OpenAPI examples of v1 bodies; each is a body the service really sends (checked by redocly against its schema). */
export type ExampleSet = Record<string, { summary: string; value: unknown }>;

const exampleJobId = '3fa85f64-5717-4562-b3fc-2c963f66afa6';

/** A complete v1 envelope as the service sends it, with `overrides` applied. */
export function envelopeExample(overrides: Partial<Envelope> & { code: number }): Envelope {
  // Assigned over a complete base, so every example lists its fields in the same order as the service.
  const base: Envelope = {
    endpoint: '/v1/code/execute/python',
    code: overrides.code,
    id: 'hello-1',
    job_id: exampleJobId,
    response: null,
    message: 'success',
    pid: 4242,
    queue_id: 4250,
    run_time: 0.007,
    queue_time: 0.002,
    total_time: 0.009,
    queue_length: 0,
    build_number: '0.1.0+abc1234',
  };
  return Object.assign(base, overrides);
}

/** An error envelope of a request that never ran: no job, exit_code = the HTTP status. */
export function unranErrorExample(code: number, error: string, overrides: Partial<Envelope> = {}): Envelope {
  return envelopeExample({
    code,
    id: null,
    job_id: null,
    message: error,
    error,
    error_code: errorCodeForStatus(code),
    stdout: '',
    stderr: '',
    exit_code: code,
    run_time: 0,
    queue_time: 0,
    total_time: 0,
    ...overrides,
  });
}

export const unauthorizedExample = unranErrorExample(401, 'Unauthorized');
export const internalErrorExample = unranErrorExample(500, 'An internal server error occurred');
export const serviceUnavailableExample = unranErrorExample(
  503,
  'Service unavailable: Redis cannot be reached, retry later',
  { error_code: ErrorCode.SERVICE_UNAVAILABLE },
);

export { exampleJobId };
