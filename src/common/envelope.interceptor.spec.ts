import { CallHandler, ExecutionContext } from '@nestjs/common';
import { lastValueFrom, of } from 'rxjs';
import { AppConfig } from '../config/app-config';
import { EnvelopeInterceptor } from './envelope.interceptor';

function contextFor(path: string) {
  const response = {
    statusCode: 0,
    headers: {} as Record<string, string>,
    setHeader(name: string, value: string) {
      this.headers[name] = value;
    },
    status(code: number) {
      this.statusCode = code;
      return this;
    },
  };
  const context = {
    switchToHttp: () => ({ getRequest: () => ({ path }), getResponse: () => response }),
  } as unknown as ExecutionContext;
  return { context, response };
}

describe('EnvelopeInterceptor', () => {
  const interceptor = new EnvelopeInterceptor({ buildNumber: '1.2.3+abc' } as AppConfig);

  it('completes a draft into every envelope field and sets the status from code', async () => {
    const { context, response } = contextFor('/v1/code/execute/python');
    const handler: CallHandler = {
      handle: () => of({ code: 202, message: 'processing', job_id: 'j1', queue_time: 0.0014, run_time: 0.0021 }),
    };
    const envelope = await lastValueFrom(interceptor.intercept(context, handler));
    expect(response.statusCode).toBe(202);
    expect(response.headers).toEqual({ Location: '/v1/jobs/j1' });
    expect(envelope).toEqual({
      endpoint: '/v1/code/execute/python',
      code: 202,
      id: null,
      job_id: 'j1',
      response: null,
      message: 'processing',
      pid: process.pid,
      queue_id: 0,
      run_time: 0.002,
      queue_time: 0.001,
      total_time: 0.003,
      queue_length: 0,
      build_number: '1.2.3+abc',
    });
  });

  it('keeps a stored envelope as it is (endpoint, pid of the worker)', async () => {
    const { context, response } = contextFor('/v1/code/execute/python');
    const stored = { code: 400, endpoint: '/v1/code/execute/python', pid: 1234, error: 'ValueError: x', exit_code: 1 };
    const envelope = await lastValueFrom(interceptor.intercept(context, { handle: () => of(stored) }));
    expect(response.statusCode).toBe(400);
    expect(response.headers).toEqual({});
    expect(envelope).toMatchObject({ pid: 1234, error: 'ValueError: x', exit_code: 1, message: 'error' });
  });
});
