import {
  ArgumentsHost,
  BadRequestException,
  HttpException,
  MethodNotAllowedException,
  NotFoundException,
  PayloadTooLargeException,
  UnauthorizedException,
} from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { EditorErrorFormatter } from '../editor/editor-error.formatter';
import { REDIS_UNAVAILABLE_MESSAGE, ServiceUnavailableError } from '../redis/redis-unavailable';
import { RateLimitedException } from '../auth/rate-limit.guard';
import { QueueFullException } from '../jobs/job-lifecycle';
import { ApiException, ERROR_CODES, ErrorCode } from './error-code';
import { HttpExceptionFilter } from './http-exception.filter';
import { INTERNAL_ERROR } from './messages';

function hostFor(path: string) {
  const sent: { status?: number; body?: Record<string, unknown>; headers: Record<string, string> } = { headers: {} };
  const response = {
    headersSent: false,
    setHeader: (k: string, v: string) => {
      sent.headers[k] = v;
    },
    status(code: number) {
      sent.status = code;
      return this;
    },
    json(body: Record<string, unknown>) {
      sent.body = body;
    },
  };
  const host = {
    switchToHttp: () => ({ getRequest: () => ({ path }), getResponse: () => response }),
  } as unknown as ArgumentsHost;
  return { host, sent };
}

describe('HttpExceptionFilter', () => {
  const filter = new HttpExceptionFilter({ buildNumber: 'b' } as AppConfig);
  jest
    .spyOn((filter as unknown as { logger: { error: () => void } }).logger, 'error')
    .mockImplementation(() => undefined);
  jest
    .spyOn((filter as unknown as { logger: { warn: () => void } }).logger, 'warn')
    .mockImplementation(() => undefined);

  it('validation errors: 400 envelope with details, exit_code 400, job_id null', () => {
    const { host, sent } = hostFor('/v1/code/execute/python');
    filter.catch(
      new BadRequestException({ message: 'Missing or invalid parameters', details: ['code must be a string'] }),
      host,
    );
    expect(sent.status).toBe(400);
    expect(sent.body).toMatchObject({
      code: 400,
      error: 'Missing or invalid parameters',
      details: ['code must be a string'],
      stdout: '',
      stderr: '',
      exit_code: 400,
      job_id: null,
      response: null,
      endpoint: '/v1/code/execute/python',
      build_number: 'b',
    });
  });

  it('401 says Unauthorized, UNAUTHORIZED, with WWW-Authenticate: Bearer', () => {
    const { host, sent } = hostFor('/v1/jobs');
    filter.catch(new UnauthorizedException('Unauthorized'), host);
    expect(sent.status).toBe(401);
    expect(sent.body).toMatchObject({
      code: 401,
      message: 'Unauthorized',
      error: 'Unauthorized',
      error_code: 'UNAUTHORIZED',
    });
    expect(sent.headers['WWW-Authenticate']).toBe('Bearer');
  });

  it.each([
    ['BadRequestException', 'INVALID_REQUEST', new BadRequestException('x')],
    ['NotFoundException', 'NOT_FOUND', new NotFoundException('Cannot GET /v1/x')],
    ['PayloadTooLargeException', 'PAYLOAD_TOO_LARGE', new PayloadTooLargeException('x')],
    ['MethodNotAllowedException', 'INVALID_REQUEST', new MethodNotAllowedException()],
    ['HttpException 422', 'IDEMPOTENCY_KEY_REUSED', new HttpException('x', 422)],
    ['QueueFullException', 'QUEUE_FULL', new QueueFullException(5)],
    ['RateLimitedException', 'RATE_LIMITED', new RateLimitedException(5, 30)],
    ['ServiceUnavailableError', 'SERVICE_UNAVAILABLE', new ServiceUnavailableError()],
    ['Error', 'INTERNAL_ERROR', new Error('boom')],
    [
      'body-parser error',
      'INVALID_REQUEST',
      Object.assign(new Error('aborted'), { status: 400, type: 'request.aborted' }),
    ],
  ])('%s: error_code %s, from the enum', (_label, errorCode, error) => {
    const { host, sent } = hostFor('/v1/code/execute/python');
    filter.catch(error, host);
    expect(sent.body?.error_code).toBe(errorCode);
    expect(ERROR_CODES).toContain(sent.body?.error_code);
  });

  it("every 429 and 503 carries Retry-After: the thrower's value, else 1", () => {
    const limited = hostFor('/v1/code/execute/python');
    filter.catch(new RateLimitedException(5, 30), limited.host);
    expect(limited.sent.headers['Retry-After']).toBe('30');
    const bare = hostFor('/v1/code/execute/python');
    filter.catch(new HttpException('Too many', 429), bare.host);
    expect(bare.sent.headers['Retry-After']).toBe('1');
    const other = hostFor('/v1/code/execute/python');
    filter.catch(new BadRequestException('x'), other.host);
    expect(other.sent.headers).toEqual({});
  });

  it('an ApiException: its status from its code, its fields at the top level (v1)', () => {
    const { host, sent } = hostFor('/v1/sessions/s-1/execute');
    filter.catch(
      new ApiException(ErrorCode.SESSION_GONE, 'Session ended', { fields: { ended_reason: 'expired' } }),
      host,
    );
    expect(sent.status).toBe(410);
    expect(sent.body).toMatchObject({
      code: 410,
      error_code: 'SESSION_GONE',
      ended_reason: 'expired',
      error: 'Session ended',
      exit_code: 410,
    });
  });

  it('404 for a job echoes the asked-for job_id', () => {
    const { host, sent } = hostFor('/v1/jobs/abc');
    filter.catch(new NotFoundException({ message: 'Job not found', job_id: 'abc' }), host);
    expect(sent.body).toMatchObject({ code: 404, job_id: 'abc', error: 'Job not found', endpoint: '/v1/jobs/abc' });
  });

  it('413 keeps its message', () => {
    const { host, sent } = hostFor('/v1/code/execute/python');
    filter.catch(new PayloadTooLargeException('Request body exceeds 10 bytes'), host);
    expect(sent.body).toMatchObject({ code: 413, error: 'Request body exceeds 10 bytes' });
  });

  it('anything unexpected: 500 with no internals', () => {
    const { host, sent } = hostFor('/v1/code/execute/python');
    filter.catch(new Error('ECONNREFUSED 10.0.0.1:6379 at /srv/app/secret.ts'), host);
    expect(sent.status).toBe(500);
    expect(sent.body).toMatchObject({ code: 500, error: INTERNAL_ERROR });
    expect(JSON.stringify(sent.body)).not.toContain('ECONNREFUSED');
  });

  it.each([
    ['a command that timed out', new Error('Command timed out')],
    [
      'a command flushed after the reconnect attempts',
      Object.assign(new Error('Reached the max retries per request limit (which is 1).'), {
        name: 'MaxRetriesPerRequestError',
      }),
    ],
    ['a write during a failover', new Error("READONLY You can't write against a read only replica.")],
  ])('Redis unavailable (%s): 503 with Retry-After, no job', (_what, error) => {
    const { host, sent } = hostFor('/v1/code/execute/python');
    filter.catch(error, host);
    expect(sent.status).toBe(503);
    expect(sent.headers['Retry-After']).toBe('1');
    expect(sent.body).toMatchObject({
      code: 503,
      error: REDIS_UNAVAILABLE_MESSAGE,
      message: REDIS_UNAVAILABLE_MESSAGE,
      job_id: null,
      exit_code: 503,
    });
  });

  it('an accepted sync job whose outcome is unknown: 503 carrying the job_id to poll, in both dialects', () => {
    const v1 = hostFor('/v1/code/execute/python');
    filter.catch(new ServiceUnavailableError('outcome not known yet', 'job-1'), v1.host);
    expect(v1.sent.status).toBe(503);
    expect(v1.sent.headers['Retry-After']).toBe('1');
    expect(v1.sent.body).toMatchObject({ code: 503, job_id: 'job-1', error: 'outcome not known yet' });

    const editorFilter = new HttpExceptionFilter({ buildNumber: 'b' } as AppConfig, [new EditorErrorFormatter()]);
    const editor = hostFor('/api/v1/python/execute');
    editorFilter.catch(new ServiceUnavailableError('outcome not known yet', 'job-2'), editor.host);
    expect(editor.sent.status).toBe(503);
    expect(editor.sent.body).toEqual({
      success: false,
      error: 'SERVICE_UNAVAILABLE',
      message: 'outcome not known yet',
      job_id: 'job-2',
    });
  });
});
