import { ArgumentsHost, BadRequestException, NotFoundException, PayloadTooLargeException, UnauthorizedException } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { HttpExceptionFilter } from './http-exception.filter';
import { INTERNAL_ERROR } from './messages';

function hostFor(path: string) {
  const sent: { status?: number; body?: Record<string, unknown>; headers: Record<string, string> } = { headers: {} };
  const response = {
    headersSent: false,
    setHeader: (k: string, v: string) => { sent.headers[k] = v; },
    status(code: number) { sent.status = code; return this; },
    json(body: Record<string, unknown>) { sent.body = body; },
  };
  const host = { switchToHttp: () => ({ getRequest: () => ({ path }), getResponse: () => response }) } as unknown as ArgumentsHost;
  return { host, sent };
}

describe('HttpExceptionFilter', () => {
  const filter = new HttpExceptionFilter({ buildNumber: 'b' } as AppConfig);
  jest.spyOn((filter as unknown as { logger: { error: () => void } }).logger, 'error').mockImplementation(() => undefined);

  it('validation errors: 400 envelope with details, exit_code 400, job_id null', () => {
    const { host, sent } = hostFor('/v1/code/execute/python');
    filter.catch(new BadRequestException({ message: 'Missing or invalid parameters', details: ['code must be a string'] }), host);
    expect(sent.status).toBe(400);
    expect(sent.body).toMatchObject({
      code: 400, error: 'Missing or invalid parameters', details: ['code must be a string'], stdout: '', stderr: '',
      exit_code: 400, job_id: null, response: null, endpoint: '/v1/code/execute/python', build_number: 'b',
    });
  });

  it('401 says Unauthorized', () => {
    const { host, sent } = hostFor('/v1/jobs');
    filter.catch(new UnauthorizedException('Unauthorized'), host);
    expect(sent.status).toBe(401);
    expect(sent.body).toMatchObject({ code: 401, message: 'Unauthorized', error: 'Unauthorized' });
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
});
