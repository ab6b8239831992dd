import { KEY, startTestApp, TestApp } from './utils';

const EXEC = '/v1/code/execute/python';
const EDITOR = '/api/v1/python/execute';

/** superagent's serializer type says string; a Buffer is sent as it is. */
const sendBytesAsIs = ((bytes: Buffer) => bytes) as unknown as (body: unknown) => string;

/** `{"code":"1","x":[[[...]]]}` with `levels` levels of nesting in all. */
const deepBody = (levels: number) => `{"code":"1","x":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;

describe('bad input never makes a 500 (API.md "Request encoding")', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SANDBOX_SERVERS: '1' });
  });
  afterAll(() => t.close());

  const post = (path: string, raw: string | Buffer, headers: Record<string, string> = {}) => {
    const req = t.http.post(path).set('x-api-key', KEY).set('content-type', 'application/json');
    for (const [name, value] of Object.entries(headers)) req.set(name, value);
    // A Buffer goes out as its bytes (superagent would otherwise JSON-encode it).
    return typeof raw === 'string' ? req.send(raw) : req.serialize(sendBytesAsIs).send(raw);
  };

  it.each([5_000, 100_000])('%d levels of nesting → 400, before any recursive code', async (levels) => {
    const res = await post(EXEC, deepBody(levels));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 400, error: 'Missing or invalid parameters', job_id: null });
    expect(res.body.details).toEqual(['body: nested deeper than 32 levels']);
    const editor = await post(EDITOR, deepBody(levels));
    expect(editor.status).toBe(400);
    expect(editor.body).toMatchObject({ success: false, error: 'INVALID_REQUEST' });
  });

  it('invalid UTF-8 → 400', async () => {
    const raw = Buffer.concat([Buffer.from('{"code":"print(\''), Buffer.from([0xc3, 0x28]), Buffer.from('\')"}')]);
    const res = await post(EXEC, raw);
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual(['body: not valid UTF-8']);
  });

  it.each([
    ['a huge timeout', '{"code":"1","timeout":1e400}', 'timeout'],
    ['a 400-digit timeout', `{"code":"1","timeout":${'9'.repeat(400)}}`, 'timeout'],
    ['a negative zero timeout', '{"code":"1","timeout":-0}', 'timeout'],
    ['code as an object', '{"code":{"a":1}}', 'code'],
    ['code as an array', '{"code":["print(1)"]}', 'code'],
    ['code as null', '{"code":null}', 'code'],
    ['stdin as a number', '{"code":"1","stdin":5}', 'stdin'],
    ['id as a huge number', '{"code":"1","id":1e400}', 'id'],
    ['an unknown nested field', '{"code":"1","x":{"y":{"z":1}}}', 'x'],
    ['__proto__', '{"code":"1","__proto__":{"async":true}}', '__proto__'],
  ])('%s → 400 naming the field', async (_label, raw, field) => {
    const res = await post(EXEC, raw);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 400, job_id: null });
    expect((res.body.details as string[]).some((d) => d.startsWith(field))).toBe(true);
  });

  it.each(['null', '1e400', '[]', 'true'])('a bare %s body → 400', async (raw) => {
    expect((await post(EXEC, raw)).status).toBe(400);
    expect((await post(EDITOR, raw)).status).toBe(400);
  });

  it.each([
    ['charset=utf-16le', { 'content-type': 'application/json; charset=utf-16le' }],
    ['charset=iso-8859-1', { 'content-type': 'application/json; charset=iso-8859-1' }],
    ['Content-Encoding: gzip', { 'content-encoding': 'gzip' }],
    ['Content-Encoding: identity', { 'content-encoding': 'identity' }],
  ])('%s → 415 in both dialects', async (_label, headers) => {
    const res = await post(EXEC, '{"code":"1"}', headers);
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ code: 415, exit_code: 415, endpoint: EXEC });
    const editor = await post(EDITOR, '{"code":"1"}', headers);
    expect(editor.status).toBe(415);
    expect(editor.body).toMatchObject({ success: false, error: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it('charset=UTF-8 (any case, quoted) is accepted', async () => {
    const res = await post(EXEC, '{"code":"1"}', { 'content-type': 'application/json; charset="UTF-8"' });
    expect(res.status).toBe(200);
  });
});
