import {
  cancelFrame,
  encodeFrame,
  interruptFrame,
  FrameDecoder,
  MAX_RESULT_DEPTH,
  MAX_SERVER_FRAME_BYTES,
  maxServerFrameBytes,
  outcomeFromDone,
  parseServerMessage,
  ProtocolError,
  runFrame,
  ServerMessageReader,
} from '.';

/** A frame as the fork server writes it: 4-byte big-endian length, then the body bytes as given. */
function rawFrame(body: string | Buffer): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const header = Buffer.alloc(4);
  header.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([header, bytes]);
}

const parse = (value: unknown) => parseServerMessage(Buffer.from(JSON.stringify(value), 'utf8'));
const done = (fields: Record<string, unknown> = {}) => ({ op: 'done', id: 'r1', status: 'exited', ...fields });

describe('frames', () => {
  it('encodes a 4-byte big-endian byte length, then the UTF-8 JSON', () => {
    const frame = encodeFrame({ text: 'é€😀' });
    const body = '{"text":"é€😀"}';
    expect(frame.readUInt32BE(0)).toBe(Buffer.byteLength(body));
    expect(frame.subarray(4).toString('utf8')).toBe(body);
  });

  it('round-trips through the decoder', () => {
    const message = { op: 'done', nested: [1, { a: 'b' }], text: 'line\n\u0001"quoted"' };
    const bodies = new FrameDecoder(1024).push(encodeFrame(message));
    expect(bodies.map((body) => JSON.parse(body.toString('utf8')) as unknown)).toEqual([message]);
  });

  it('decodes frames split at every byte', () => {
    const stream = Buffer.concat([encodeFrame({ n: 1 }), encodeFrame({ n: 2, s: 'x'.repeat(300) })]);
    const decoder = new FrameDecoder(1024);
    const bodies = [...stream].flatMap((byte) => decoder.push(Buffer.from([byte])));
    expect(bodies.map((body) => JSON.parse(body.toString()) as { n: number }).map((m) => m.n)).toEqual([1, 2]);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('decodes coalesced frames, and a frame that starts in the chunk that ends another', () => {
    const frames = [1, 2, 3, 4].map((n) => encodeFrame({ n }));
    const decoder = new FrameDecoder(1024);
    const firstChunk = Buffer.concat([frames[0], frames[1], frames[2].subarray(0, 6)]);
    const secondChunk = Buffer.concat([frames[2].subarray(6), frames[3]]);
    expect(decoder.push(firstChunk)).toHaveLength(2);
    expect(decoder.pendingBytes).toBe(6);
    expect(decoder.push(secondChunk).map((body) => body.toString())).toEqual(['{"n":3}', '{"n":4}']);
  });

  it('keeps every chunk after a frame that fitted in the first one', () => {
    const decoder = new FrameDecoder(1024);
    const second = encodeFrame({ n: 2 });
    expect(decoder.push(Buffer.from([0, 0]))).toEqual([]);
    // header completed; body, then the next frame in three more chunks
    const first = encodeFrame({ n: 1 });
    expect(decoder.push(first.subarray(2))).toHaveLength(1);
    expect(decoder.push(second.subarray(0, 3))).toEqual([]);
    expect(decoder.push(second.subarray(3, 5))).toEqual([]);
    expect(decoder.push(second.subarray(5)).map((body) => body.toString())).toEqual(['{"n":2}']);
  });

  it('waits on a header cut in the middle, and says bytes are pending', () => {
    const decoder = new FrameDecoder(1024);
    expect(decoder.push(Buffer.from([0, 0]))).toEqual([]);
    expect(decoder.pendingBytes).toBe(2);
    expect(decoder.push(Buffer.from([0, 2, 0x7b]))).toEqual([]);
    expect(decoder.push(Buffer.from([0x7d])).map((body) => body.toString())).toEqual(['{}']);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('refuses an oversized length as soon as its header is in, before any body', () => {
    const decoder = new FrameDecoder(1000);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1001, 0);
    expect(() => decoder.push(header)).toThrow(ProtocolError);
    expect(() => new FrameDecoder(1000).push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(/4294967295 bytes/);
  });

  it('accepts a frame of exactly the maximum', () => {
    const body = `"${'x'.repeat(998)}"`;
    expect(new FrameDecoder(1000).push(rawFrame(body))).toHaveLength(1);
  });

  it('builds the run and cancel frames with the fields and order the fork server reads', () => {
    const run = runFrame({ runId: 'r1', code: 'print(1)', stdin: 'in', timeoutMs: 2500 });
    expect(run.subarray(4).toString()).toBe(
      '{"op":"run","id":"r1","code":"print(1)","stdin":"in","timeout_ms":2500,"cpu_sec":4}',
    );
    expect(cancelFrame('r1').subarray(4).toString()).toBe('{"op":"cancel","id":"r1"}');
  });

  it('asks for live output only when the run has a listener for it', () => {
    const request = { runId: 'r1', code: '', stdin: '', timeoutMs: 1000 };
    expect(runFrame(request).subarray(4).toString()).not.toContain('stream');
    expect(
      JSON.parse(
        runFrame({ ...request, onOutput: () => undefined })
          .subarray(4)
          .toString(),
      ),
    ).toMatchObject({
      stream: true,
    });
  });
});

describe('messages from the fork server', () => {
  it('reads a ready frame and a full done frame', () => {
    expect(parse({ op: 'ready', pid: 7, uid: 1000 })).toEqual({ op: 'ready', pid: 7, uid: 1000 });
    expect(parse({ op: 'heartbeat', id: 'r1' })).toEqual({ op: 'heartbeat', id: 'r1' });
    const full = done({
      run_ms: 1.25,
      stdout: 'hi\n',
      stderr: '',
      stdout_truncated: false,
      stderr_truncated: true,
      result: { a: [1, null] },
      error: null,
      limit: null,
      exit_code: 0,
      signal: null,
    });
    expect(parse(full)).toEqual(full);
  });

  it('reads an output frame', () => {
    const output = { op: 'output', id: 'r1', stream: 'stderr', data: 'line\n' };
    expect(parse(output)).toEqual(output);
  });

  it('gives what a setup failure leaves out the safe defaults', () => {
    const outcome = outcomeFromDone(parse(done({ status: 'setup_failed', error: 'no memory' })) as never);
    expect(outcome).toEqual({
      status: 'setup_failed',
      exitCode: 1,
      signal: null,
      stdout: '',
      stderr: '',
      stdoutTruncated: false,
      stderrTruncated: false,
      result: null,
      error: 'no memory',
      limit: null,
      runMs: 0,
      files: [],
      display: [],
      displayTruncated: false,
    });
  });

  it('takes files, display and display_truncated', () => {
    const file = { path: 'sub/a.png', size: 3, sha256: 'a'.repeat(64), media_type: 'image/png', content: 'YWJj' };
    const cut = {
      path: 'big.bin',
      size: 9,
      sha256: 'b'.repeat(64),
      media_type: 'application/octet-stream',
      truncated: true,
    };
    const display = [{ mime_type: 'text/html', data: '<b>' }];
    const outcome = outcomeFromDone(parse(done({ files: [file, cut], display, display_truncated: true })) as never);
    expect(outcome).toMatchObject({ files: [file, cut], display, displayTruncated: true });
  });

  it("a session server's done frame may say the call ended the session; an unknown ending is refused", () => {
    expect(outcomeFromDone(parse(done({ status: 'timeout', session_ended: 'timeout' })) as never)).toMatchObject({
      status: 'timeout',
      sessionEnded: 'timeout',
    });
    expect(outcomeFromDone(parse(done()) as never).sessionEnded).toBeUndefined();
    expect(() => parse(done({ session_ended: 'deleted' }))).toThrow(ProtocolError);
    expect(JSON.parse(interruptFrame('c1').subarray(4).toString())).toEqual({ op: 'interrupt', id: 'c1' });
  });

  it('maps a limit kill field by field', () => {
    const wire = done({
      status: 'signaled',
      exit_code: 137,
      signal: 9,
      error: 'Memory limit exceeded',
      limit: 'memory',
    });
    expect(outcomeFromDone(parse(wire) as never)).toMatchObject({
      status: 'signaled',
      exitCode: 137,
      signal: 9,
      error: 'Memory limit exceeded',
      limit: 'memory',
    });
  });

  it('turns bytes that are not UTF-8 (a lone surrogate Python let through) into U+FFFD, not an error', () => {
    const body = Buffer.concat([
      Buffer.from('{"op":"done","id":"r1","status":"exited","stdout":"a'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from('"}'),
    ]);
    const message = parseServerMessage(body);
    expect(message).toMatchObject({ stdout: 'a\ufffd\ufffd\ufffd' });
  });

  it.each([
    ['malformed JSON', '{"op": "done", oops'],
    ['an empty body', ''],
    ['JSON that is not an object', '[1, 2]'],
    ['null', 'null'],
    ['a number', '42'],
    ['no op', '{"id": "r1"}'],
    ['an unknown op', '{"op": "heartbeat"}'],
    ['an op that is not a string', '{"op": 1}'],
    ['an op inherited from Object.prototype', '{"op": "toString"}'],
  ])('refuses %s', (_label, body) => {
    expect(() => parseServerMessage(Buffer.from(body, 'utf8'))).toThrow(ProtocolError);
  });

  it.each<[string, Record<string, unknown>]>([
    ['a done frame without id', { op: 'done', status: 'exited' }],
    ['a done frame without status', { op: 'done', id: 'r1' }],
    ['an id that is not a string', done({ id: 5 })],
    ['a status Node keeps for itself', done({ status: 'crashed' })],
    ['an unknown status', done({ status: 'fine' })],
    ['an exit code as a string', done({ exit_code: '0' })],
    ['a fractional exit code', done({ exit_code: 1.5 })],
    ['a negative exit code', done({ exit_code: -1 })],
    ['an exit code over 255', done({ exit_code: 256 })],
    ['signal 0', done({ signal: 0 })],
    ['a signal over 64', done({ signal: 65 })],
    ['stdout that is not a string', done({ stdout: ['a'] })],
    ['stderr as null', done({ stderr: null })],
    ['a truncation flag that is not a boolean', done({ stdout_truncated: 'yes' })],
    ['an error that is not a string', done({ error: { message: 'x' } })],
    ['an unknown limit', done({ limit: 'gpu' })],
    ['a negative run time', done({ run_ms: -1 })],
    ['a run time as a string', done({ run_ms: '3' })],
    ['an unknown field', done({ outputs: [] })],
    ['files not a list', done({ files: {} })],
    [
      'a file with content and truncated',
      done({ files: [{ path: 'a', size: 1, sha256: 'a'.repeat(64), media_type: 'x', content: '', truncated: true }] }),
    ],
    [
      'a file with neither content nor truncated',
      done({ files: [{ path: 'a', size: 1, sha256: 'a'.repeat(64), media_type: 'x' }] }),
    ],
    [
      'a file with an upper-case sha256',
      done({ files: [{ path: 'a', size: 1, sha256: 'A'.repeat(64), media_type: 'x', content: '' }] }),
    ],
    [
      'a file with an unknown field',
      done({ files: [{ path: 'a', size: 1, sha256: 'a'.repeat(64), media_type: 'x', content: '', mode: 1 }] }),
    ],
    [
      'more than 1,000 files',
      done({
        files: Array.from({ length: 1001 }, () => ({
          path: 'a',
          size: 0,
          sha256: 'a'.repeat(64),
          media_type: 'x',
          content: '',
        })),
      }),
    ],
    ['a display item of an unknown type', done({ display: [{ mime_type: 'text/x-script', data: '' }] })],
    ['display data that is not text', done({ display: [{ mime_type: 'text/html', data: 1 }] })],
    ['display_truncated as a string', done({ display_truncated: 'true' })],
    ['a ready frame without pid', { op: 'ready', uid: 0 }],
    ['an output frame of an unknown stream', { op: 'output', id: 'r1', stream: 'stdin', data: '' }],
    ['an output frame without data', { op: 'output', id: 'r1', stream: 'stdout' }],
    ['output data that is not a string', { op: 'output', id: 'r1', stream: 'stdout', data: [1] }],
    ['an output frame with an unknown field', { op: 'output', id: 'r1', stream: 'stdout', data: '', fd: 1 }],
    ['a ready frame with a pid as a string', { op: 'ready', pid: '7', uid: 0 }],
    ['a heartbeat without id', { op: 'heartbeat' }],
    ['a heartbeat with an id that is not a string', { op: 'heartbeat', id: 7 }],
    ['a heartbeat with an unknown field', { op: 'heartbeat', id: 'r1', memory: 1 }],
  ])('refuses %s', (_label, message) => {
    expect(() => parse(message)).toThrow(ProtocolError);
  });

  it('refuses a __proto__ field instead of looking it up on the prototype', () => {
    const body = Buffer.from('{"op":"done","id":"r1","status":"exited","__proto__":{"exit_code":"x"}}');
    expect(() => parseServerMessage(body)).toThrow(/unknown field/);
  });

  it('never echoes the bad value in its error', () => {
    expect(() => parse(done({ stdout: 12345678 }))).toThrow('done frame has a bad stdout');
  });

  it(`takes a result nested ${MAX_RESULT_DEPTH} deep and refuses one deeper, without recursing`, () => {
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const frame = (depth: number) =>
      Buffer.from(`{"op":"done","id":"r1","status":"exited","result":${nested(depth)}}`, 'utf8');
    expect(parseServerMessage(frame(MAX_RESULT_DEPTH))).toMatchObject({ op: 'done' });
    expect(() => parseServerMessage(frame(MAX_RESULT_DEPTH + 1))).toThrow(/bad result/);
    expect(() => parseServerMessage(frame(200_000))).toThrow(/bad result/);
  });
});

describe('ServerMessageReader', () => {
  it('reads checked messages from split and coalesced chunks', () => {
    const reader = new ServerMessageReader(1024);
    const stream = Buffer.concat([encodeFrame({ op: 'ready', pid: 3, uid: 0 }), encodeFrame(done())]);
    expect(reader.push(stream.subarray(0, 10))).toEqual([]);
    expect(reader.push(stream.subarray(10)).map((message) => message.op)).toEqual(['ready', 'done']);
  });

  it('throws ProtocolError for a bad message in a chunk', () => {
    const reader = new ServerMessageReader(1024);
    expect(() => reader.push(rawFrame('{"op":"done"'))).toThrow(ProtocolError);
  });
});

describe('maximum frame size', () => {
  const MIB = 1024 * 1024;

  it('is the documented sum for the default caps', () => {
    expect(MAX_SERVER_FRAME_BYTES).toBe(77_261_484);
    expect(maxServerFrameBytes({ maxOutputBytes: MIB, maxResultBytes: MIB })).toBe(MAX_SERVER_FRAME_BYTES);
  });

  it('grows with the configured caps and never passes what a 4-byte header can state', () => {
    const larger = maxServerFrameBytes({ maxOutputBytes: 2 * MIB, maxResultBytes: MIB });
    expect(larger - MAX_SERVER_FRAME_BYTES).toBe(12 * MIB);
    expect(maxServerFrameBytes({ maxOutputBytes: 1024 * MIB, maxResultBytes: 1024 * MIB })).toBe(0xffff_ffff);
  });

  it('holds the worst legitimate answer for the default caps: control bytes escaped sixfold', () => {
    const worst = JSON.stringify(
      done({ stdout: '\u0001'.repeat(MIB), stderr: '\u0002'.repeat(MIB), result: 'x'.repeat(MIB - 32) }),
    );
    expect(Buffer.byteLength(worst)).toBeGreaterThan(13 * MIB);
    expect(new FrameDecoder(MAX_SERVER_FRAME_BYTES).push(rawFrame(worst))).toHaveLength(1);
  });
});
