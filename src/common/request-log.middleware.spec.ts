import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { createPino } from './app-logger';
import { RequestLogMiddleware } from './request-log.middleware';
import type { ServiceRequest } from './service-request';

function setup(logLevel: 'log' | 'warn') {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createPino({ logLevel, production: true }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const request = {
    method: 'POST',
    url: '/v1/code/execute/python',
    headers: { 'x-request-id': 'rid-1', 'x-api-key': 'secret-key', authorization: 'Bearer secret-key' },
    socket: { remoteAddress: '127.0.0.1', remotePort: 4242 },
  } as unknown as ServiceRequest;
  const response = Object.assign(new EventEmitter(), {
    statusCode: 200,
    headersSent: true,
    setHeader: jest.fn(),
    getHeaders: () => ({ 'x-request-id': 'rid-1' }),
  }) as unknown as ServerResponse;
  return { lines, logger, request, response, middleware: new RequestLogMiddleware(logger) };
}

describe('RequestLogMiddleware', () => {
  it('one line per request when it ends, with request_id, req and res; credentials redacted', () => {
    const { lines, logger, request, response, middleware } = setup('log');
    middleware.use(request, response, () => logger.warn({ job_id: 'j' }, 'while serving'));
    response.statusCode = 201;
    response.emit('close');
    response.emit('close');
    expect(lines).toHaveLength(2);
    // Lines logged while serving the request carry its id.
    expect(lines[0]).toMatchObject({ request_id: 'rid-1', job_id: 'j', msg: 'while serving' });
    expect(lines[1]).toMatchObject({
      level: 30,
      request_id: 'rid-1',
      req: { id: 'rid-1', method: 'POST', url: '/v1/code/execute/python', remoteAddress: '127.0.0.1' },
      res: { statusCode: 201 },
      msg: 'POST /v1/code/execute/python 201',
    });
    expect(typeof lines[1].responseTime).toBe('number');
    expect(JSON.stringify(lines)).not.toContain('secret-key');
    logger.warn('outside any request');
    expect(lines[2]).not.toHaveProperty('request_id');
  });

  it('a 5xx line carries an err', () => {
    const { lines, request, response, middleware } = setup('log');
    middleware.use(request, response, () => undefined);
    response.statusCode = 503;
    response.emit('close');
    expect(lines[0]).toMatchObject({ res: { statusCode: 503 }, err: { message: 'failed with status code 503' } });
  });

  it('above info (LOG_LEVEL=warn) writes no request line and keeps the id for other lines', () => {
    const { lines, logger, request, response, middleware } = setup('warn');
    middleware.use(request, response, () => logger.error('failed while serving'));
    response.emit('close');
    expect(lines).toEqual([expect.objectContaining({ request_id: 'rid-1', msg: 'failed while serving' })]);
    expect(response.listenerCount('close')).toBe(0);
  });
});
