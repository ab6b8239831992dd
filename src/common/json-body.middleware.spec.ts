import { Readable } from 'node:stream';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import {
  Body,
  Controller,
  HttpStatus,
  INestApplication,
  MiddlewareConsumer,
  Module,
  NestModule,
  Post,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { ApiKeyMiddleware } from '../auth/api-key.middleware';
import { ApiKeyStore } from '../auth/api-key.store';
import { AuthModule } from '../auth/auth.module';
import { Public } from '../auth/auth.decorators';
import { loadConfig } from '../config/app-config';
import { AppConfigModule } from '../config/app-config.module';
import { JsonBodyMiddleware } from './json-body.middleware';
import type { ServiceRequest } from './service-request';

const apiKey = 'json-body-spec-key';
const maxBodyBytes = 64;
const config = loadConfig({ API_KEYS: apiKey, MAX_BODY_BYTES: String(maxBodyBytes), BUILD_NUMBER: 'test' });

function fakeRequest(method: string, headers: IncomingHttpHeaders, body?: string | Buffer): ServiceRequest {
  // A plain Readable: body-parser treats a finished Duplex as an already-consumed request.
  const stream = Readable.from(body === undefined ? [] : [Buffer.from(body)]);
  return Object.assign(stream, { method, headers, url: '/' }) as unknown as ServiceRequest;
}

describe('ApiKeyMiddleware + JsonBodyMiddleware', () => {
  const keys = new ApiKeyMiddleware(new ApiKeyStore(config));
  const bodies = new JsonBodyMiddleware(config);
  const response = {} as ServerResponse;
  const authed = { 'x-api-key': apiKey };
  // As the app applies them: the key is identified first, then the body is parsed (or not).
  const middleware = {
    use: async (req: ServiceRequest, res: ServerResponse, next: () => void) => {
      keys.use(req, res, () => undefined);
      await bodies.use(req, res, next);
    },
  };

  async function run(req: ServiceRequest): Promise<jest.Mock> {
    const next = jest.fn();
    await middleware.use(req, response, next);
    return next;
  }

  it('parses a JSON object for a caller with a valid key', async () => {
    const body = '{"code":"print(1)"}';
    const req = fakeRequest(
      'POST',
      { ...authed, 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) },
      body,
    );
    expect(await run(req)).toHaveBeenCalledTimes(1);
    expect(req.body).toEqual({ code: 'print(1)' });
    expect(req.apiKeyId).toMatch(/^[0-9a-f]{16}$/);
  });

  it.each<[string, IncomingHttpHeaders]>([
    ['no key', { 'content-type': 'text/plain', 'content-length': '3' }],
    ['a wrong key', { 'x-api-key': 'nope', 'content-type': 'text/plain', 'content-length': '3' }],
  ])('leaves the body unread for %s (the guard answers 401)', async (_label, headers) => {
    const req = fakeRequest('POST', headers, '{{{');
    expect(await run(req)).toHaveBeenCalledTimes(1);
    expect(req.body).toBeUndefined();
    expect(req.apiKeyId).toBeUndefined();
  });

  it.each([['GET'], ['DELETE'], ['HEAD']])('does not parse %s bodies', async (method) => {
    const req = fakeRequest(method, { ...authed, 'content-type': 'text/plain', 'content-length': '3' }, 'abc');
    expect(await run(req)).toHaveBeenCalledTimes(1);
    expect(req.body).toBeUndefined();
  });

  it('passes an empty POST through whatever its Content-Type', async () => {
    const req = fakeRequest('POST', { ...authed, 'content-length': '0' });
    expect(await run(req)).toHaveBeenCalledTimes(1);
    expect(req.body).toBeUndefined();
  });

  it.each<[string, IncomingHttpHeaders, string | Buffer, number, object]>([
    [
      'a non-JSON Content-Type',
      { 'content-type': 'text/plain' },
      '{}',
      415,
      { message: 'Content-Type must be application/json' },
    ],
    ['a missing Content-Type', {}, '{}', 415, { message: 'Content-Type must be application/json' }],
    [
      'application/jsonx',
      { 'content-type': 'application/jsonx' },
      '{}',
      415,
      { message: 'Content-Type must be application/json' },
    ],
    [
      'a non-utf-8 charset',
      { 'content-type': 'application/json; charset=latin1' },
      '{}',
      415,
      { message: 'Unsupported charset "latin1": use utf-8' },
    ],
    [
      'a UTF-16 charset (body-parser alone would decode it)',
      { 'content-type': 'application/json; charset=utf-16le' },
      '{}',
      415,
      { message: 'Unsupported charset "utf-16le": use utf-8' },
    ],
    [
      'a gzip Content-Encoding',
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      '{}',
      415,
      { message: 'Content-Encoding is not supported: send the JSON uncompressed' },
    ],
    [
      'invalid UTF-8',
      { 'content-type': 'application/json' },
      Buffer.concat([Buffer.from('{"code":"'), Buffer.from([0xff]), Buffer.from('"}')]),
      400,
      { details: ['body: not valid UTF-8'] },
    ],
    [
      'nesting past the depth limit',
      { 'content-type': 'application/json' },
      '['.repeat(33) + ']'.repeat(31),
      400,
      { details: ['body: nested deeper than 32 levels'] },
    ],
    [
      'malformed JSON',
      { 'content-type': 'application/json' },
      '{"code":',
      400,
      { message: 'Malformed JSON body', details: ['body: malformed JSON'] },
    ],
    [
      'a bare JSON string (strict)',
      { 'content-type': 'application/json' },
      '"print(1)"',
      400,
      { message: 'Malformed JSON body' },
    ],
    [
      'an oversized body',
      { 'content-type': 'application/json' },
      JSON.stringify({ code: 'x'.repeat(maxBodyBytes) }),
      413,
      { message: `Request body exceeds ${maxBodyBytes} bytes` },
    ],
  ])('rejects %s', async (_label, headers, body, status, expected) => {
    const req = fakeRequest('POST', { ...authed, 'content-length': String(Buffer.byteLength(body)), ...headers }, body);
    const next = jest.fn();
    const error = await middleware.use(req, response, next).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(next).not.toHaveBeenCalled();
    expect(error).toMatchObject({ status, response: expect.objectContaining(expected) });
  });
});

@Controller('echo')
class EchoController {
  @Post()
  echo(@Body() body: unknown): unknown {
    return { body };
  }

  @Public()
  @Post('public')
  open(@Body() body: unknown): unknown {
    return { body: body ?? null };
  }
}

@Module({ imports: [AppConfigModule.forRoot(config), AuthModule], controllers: [EchoController] })
class EchoModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ApiKeyMiddleware, JsonBodyMiddleware).forRoutes('{*path}');
  }
}

describe('JsonBodyMiddleware in an app with bodyParser: false', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [EchoModule] }).compile();
    app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
    await app.init();
  });
  afterAll(() => app.close());

  it('parses the body of an authenticated request', async () => {
    await request(app.getHttpServer())
      .post('/echo')
      .set('authorization', `Bearer ${apiKey}`)
      .send({ code: 'print(1)' })
      .expect(HttpStatus.CREATED, { body: { code: 'print(1)' } });
  });

  it.each<[string, string, string]>([
    ['malformed', 'application/json', '{"code":'],
    ['oversized', 'application/json', JSON.stringify({ code: 'x'.repeat(10 * maxBodyBytes) })],
    ['non-JSON', 'text/plain', 'print(1)'],
  ])('answers 401, not a body error, to an unauthenticated %s body', async (_label, contentType, body) => {
    await request(app.getHttpServer())
      .post('/echo')
      .set('content-type', contentType)
      .send(body)
      .expect(HttpStatus.UNAUTHORIZED);
  });

  it.each<[string, string, string, number]>([
    ['malformed', 'application/json', '{"code":', HttpStatus.BAD_REQUEST],
    [
      'oversized',
      'application/json',
      JSON.stringify({ code: 'x'.repeat(10 * maxBodyBytes) }),
      HttpStatus.PAYLOAD_TOO_LARGE,
    ],
    ['non-JSON', 'text/plain', 'print(1)', HttpStatus.UNSUPPORTED_MEDIA_TYPE],
  ])('answers an authenticated %s body with its own error status', async (_label, contentType, body, status) => {
    await request(app.getHttpServer())
      .post('/echo')
      .set('x-api-key', apiKey)
      .set('content-type', contentType)
      .send(body)
      .expect(status);
  });

  it('does not parse bodies sent to public routes without a key', async () => {
    await request(app.getHttpServer()).post('/echo/public').send({ a: 1 }).expect(HttpStatus.CREATED, { body: null });
  });
});
