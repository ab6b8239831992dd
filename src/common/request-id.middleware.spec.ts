import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { RequestIdMiddleware } from './request-id.middleware';
import type { ServiceRequest } from './service-request';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function run(headers: IncomingHttpHeaders, request: Partial<ServiceRequest> = {}) {
  const req = { ...request, headers } as ServiceRequest;
  const responseHeaders = new Map<string, unknown>();
  const res = {
    setHeader: (name: string, value: unknown) => responseHeaders.set(name, value),
  } as unknown as ServerResponse;
  const next = jest.fn();
  new RequestIdMiddleware().use(req, res, next);
  expect(next).toHaveBeenCalledTimes(1);
  expect(responseHeaders.get('x-request-id')).toBe(req.requestId);
  return req.requestId;
}

describe('RequestIdMiddleware', () => {
  it.each([['abc-123'], ['trace.id_42'], ['x'.repeat(128)], ['0f8fad5b-d9cb-469f-a165-70867728950e']])(
    'keeps a sane caller id %s',
    (id) => {
      expect(run({ 'x-request-id': id })).toBe(id);
    },
  );

  it.each([[undefined], [''], ['x'.repeat(129)], ['has space'], ['semi;colon'], ['ünïcode'], ['new\nline']])(
    'replaces %p with a fresh UUID',
    (id) => {
      expect(run(id === undefined ? {} : { 'x-request-id': id })).toMatch(uuidPattern);
    },
  );

  it('generates a different id for each request', () => {
    expect(run({})).not.toBe(run({}));
  });

  it('keeps the id an earlier pass assigned', () => {
    expect(run({}, { requestId: 'assigned-earlier' })).toBe('assigned-earlier');
  });
});
