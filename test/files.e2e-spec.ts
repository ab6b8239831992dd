import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KEY, startTestApp, TestApp } from './utils';

// Files in, files and rich output out (API.md), through the real service, Redis and sandbox.
const PATH = '/v1/code/execute/python';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface OutputFile {
  path: string;
  size: number;
  sha256: string;
  media_type: string;
  content?: string;
  truncated?: boolean;
}

describe('files and display (real sandbox)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      MAX_INPUT_FILES: '5',
      MAX_INPUT_FILE_BYTES: '100000',
      MAX_OUTPUT_FILE_BYTES: '50000',
      MAX_DISPLAY_BYTES: '300000',
      SANDBOX_SERVERS: '2',
    });
  });
  afterAll(() => t.close());

  const exec = (body: object) => t.http.post(PATH).set('x-api-key', KEY).send(body);
  const byPath = (files: OutputFile[]) => Object.fromEntries(files.map((file) => [file.path, file]));

  it('text and binary files go in and come back from outputs/ and its subfolders, with sha256', async () => {
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const res = await exec({
      code: [
        'import os, shutil',
        "os.makedirs('outputs/sub/deeper')",
        "shutil.copy('in/data.bin', 'outputs/sub/deeper/copy.bin')",
        "open('outputs/notes.txt', 'w').write(open('notes.txt').read().upper())",
        "len(open('in/data.bin', 'rb').read())",
      ].join('\n'),
      files: [
        { path: 'in/data.bin', content: binary.toString('base64'), encoding: 'base64' },
        { path: 'notes.txt', content: 'héllo' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.response.result).toBe(256);
    const files = byPath(res.body.response.files);
    expect(Object.keys(files).sort()).toEqual(['notes.txt', 'sub/deeper/copy.bin']);
    const copy = files['sub/deeper/copy.bin'];
    expect(Buffer.from(copy.content!, 'base64')).toEqual(binary);
    expect(copy).toMatchObject({ size: 256, sha256: sha256(binary), media_type: 'application/octet-stream' });
    const upper = Buffer.from('HÉLLO');
    expect(files['notes.txt']).toEqual({
      path: 'notes.txt',
      size: upper.length,
      sha256: sha256(upper),
      media_type: 'text/plain',
      content: upper.toString('base64'),
    });
    expect(res.body.response.display).toEqual([]);
    expect(res.body.response.display_truncated).toBe(false);
    const job = await t.http.get(`/v1/jobs/${res.body.job_id}`).set('x-api-key', KEY);
    expect(job.body.response.result.response.files).toEqual(res.body.response.files); // the stored result
  });

  it.each([
    ['an absolute path', [{ path: '/etc/x', content: '' }], /files\[0\]\.path must be relative/],
    ['a .. segment', [{ path: 'a/../../x', content: '' }], /files\[0\]\.path must not contain a \.\. segment/],
    ['a NUL', [{ path: 'a\u0000b', content: '' }], /files\[0\]\.path must not contain NUL/],
    ['a path over 255 bytes', [{ path: 'é'.repeat(128), content: '' }], /at most 255 bytes/],
    ['an empty path', [{ path: '', content: '' }], /must not be empty/],
    [
      'a duplicate',
      [
        { path: 'a.txt', content: '1' },
        { path: 'a.txt', content: '2' },
      ],
      /files\[1\]\.path duplicates/,
    ],
    [
      'a file under another file',
      [
        { path: 'a', content: '1' },
        { path: 'a/b', content: '2' },
      ],
      /"a\/b" is under "a", which is a file/,
    ],
    [
      'bad base64',
      [{ path: 'a', content: 'not base64!', encoding: 'base64' }],
      /files\[0\]\.content is not valid base64/,
    ],
    ['an unknown encoding', [{ path: 'a', content: 'x', encoding: 'latin-1' }], /files\.0\.encoding/],
    ['an unknown field', [{ path: 'a', content: 'x', mode: 0o755 }], /mode should not exist/],
    [
      'more than MAX_INPUT_FILES',
      Array.from({ length: 6 }, (_, i) => ({ path: `f${i}`, content: '' })),
      /at most 5 files/,
    ],
  ])('%s is a 400 INVALID_REQUEST naming it', async (_name, files, detail) => {
    const res = await exec({ code: 'print(1)', files });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error_code: 'INVALID_REQUEST', job_id: null, exit_code: 400 });
    expect((res.body.details as string[]).join('\n')).toMatch(detail);
  });

  it('input files over MAX_INPUT_FILE_BYTES decoded are a 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await exec({
      code: 'print(1)',
      files: [
        { path: 'a', content: 'x'.repeat(60_000) },
        { path: 'b', content: Buffer.alloc(40_001).toString('base64'), encoding: 'base64' },
      ],
    });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error_code: 'PAYLOAD_TOO_LARGE', job_id: null });
    expect(res.body.error).toMatch(/MAX_INPUT_FILE_BYTES/);
  });

  it('outputs past MAX_OUTPUT_FILE_BYTES come without content, truncated, with size and sha256', async () => {
    const res = await exec({
      code: [
        'import os',
        "os.mkdir('outputs')",
        "open('outputs/a.bin', 'wb').write(b'a' * 30000)",
        "open('outputs/b.bin', 'wb').write(b'b' * 30000)",
        "open('outputs/c.txt', 'w').write('small')",
      ].join('\n'),
    });
    expect(res.status).toBe(200);
    const files = byPath(res.body.response.files);
    expect(files['a.bin'].content).toBeDefined();
    expect(files['b.bin']).toEqual({
      path: 'b.bin',
      size: 30000,
      sha256: sha256(Buffer.alloc(30000, 'b')),
      media_type: 'application/octet-stream',
      truncated: true,
    });
    expect(files['c.txt'].content).toBe(Buffer.from('small').toString('base64'));
  });

  it('a hostile outputs/ folder: a symlink out, a FIFO, a socket, a 50-level tree and 3,000 files stay bounded', async () => {
    const started = Date.now();
    const res = await exec({
      code: [
        'import os, socket',
        "os.makedirs('outputs/many')",
        "os.symlink('/etc/passwd', 'outputs/passwd')",
        "os.symlink('/etc', 'outputs/etc')",
        "os.mkfifo('outputs/fifo')",
        "s = socket.socket(socket.AF_UNIX); s.bind('outputs/sock')",
        "d = 'outputs/deep'",
        'for _ in range(50):',
        "    d += '/d'",
        '    os.makedirs(d)',
        "open(d + '/bottom.txt', 'w').write('x')",
        'for i in range(3000):',
        "    open('outputs/many/%04d' % i, 'w').close()",
        "open('outputs/real.txt', 'w').write('ok')",
      ].join('\n'),
      timeout: 30,
    });
    expect(res.status).toBe(200);
    const paths = (res.body.response.files as OutputFile[]).map((file) => file.path);
    expect(paths.length).toBeLessThanOrEqual(1000);
    expect(paths).not.toEqual(expect.arrayContaining(['passwd']));
    expect(paths.some((path) => /^(passwd|etc|fifo|sock)/.test(path))).toBe(false);
    expect(paths.some((path) => path.endsWith('bottom.txt'))).toBe(false);
    expect(JSON.stringify(res.body)).not.toContain('root:x:0');
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('a matplotlib figure comes back as a PNG, and one that plots then raises keeps its plot in the 400 body', async () => {
    const ok = await exec({
      code: 'import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title("ok")\nplt.show()',
      timeout: 60,
    });
    expect(ok.status).toBe(200);
    expect(ok.body.response.display).toHaveLength(1);
    const png = Buffer.from(ok.body.response.display[0].data, 'base64');
    expect(ok.body.response.display[0].mime_type).toBe('image/png');
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([640, 480]);
    expect(ok.body.response.stderr).toBe(''); // no warning from matplotlib or fontconfig

    const failed = await exec({
      code: 'import matplotlib.pyplot as plt\nplt.bar([1, 2], [3, 4])\nraise ValueError("after the plot")',
      timeout: 60,
    });
    expect(failed.status).toBe(400);
    expect(failed.body).toMatchObject({ error: 'ValueError: after the plot', error_code: 'EXECUTION_FAILED' });
    expect(failed.body.display).toHaveLength(1);
    expect(Buffer.from(failed.body.display[0].data, 'base64').subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(failed.body.files).toEqual([]);
    expect(failed.body.display_truncated).toBe(false);
  });

  it('the Swagger chart example runs as committed: its plot in display, its saved PNG in files', async () => {
    const spec = JSON.parse(readFileSync(join(__dirname, '..', 'openapi', 'openapi.json'), 'utf8'));
    const example = spec.paths[PATH].post.requestBody.content['application/json'].examples.chart.value;
    const res = await exec(example);
    expect(res.status).toBe(200);
    expect(res.body.response.result).toBe(3);
    expect(res.body.response.display.map((item: { mime_type: string }) => item.mime_type)).toEqual(['image/png']);
    const [saved] = res.body.response.files as OutputFile[];
    expect(saved).toMatchObject({ path: 'sales.png', media_type: 'image/png' });
    expect(Buffer.from(saved.content!, 'base64').subarray(0, 8)).toEqual(PNG_SIGNATURE);
  });

  it('each _repr_*_ kind, display() of a plain object, and a failing _repr_ reported in stderr', async () => {
    const res = await exec({
      code: [
        'class P:',
        "    def _repr_png_(self): return b'\\x89PNG fake'",
        'class S:',
        "    def _repr_svg_(self): return '<svg/>'",
        'class H:',
        "    def _repr_html_(self): return '<b>h</b>'",
        'class M:',
        "    def _repr_markdown_(self): return '*m*'",
        'class J:',
        "    def _repr_json_(self): return {'j': [1]}",
        'class Broken:',
        "    def _repr_html_(self): raise RuntimeError('no html')",
        'display(P(), S(), H(), M(), J(), Broken(), [1, 2])',
        'H()',
      ].join('\n'),
    });
    expect(res.status).toBe(200);
    expect(res.body.response.display).toEqual([
      { mime_type: 'image/png', data: Buffer.from('\x89PNG fake', 'latin1').toString('base64') },
      { mime_type: 'image/svg+xml', data: '<svg/>' },
      { mime_type: 'text/html', data: '<b>h</b>' },
      { mime_type: 'text/markdown', data: '*m*' },
      { mime_type: 'application/json', data: '{"j": [1]}' },
      { mime_type: 'text/plain', data: expect.stringMatching(/^<__main__\.Broken object at/) },
      { mime_type: 'text/plain', data: '[1, 2]' },
      { mime_type: 'text/html', data: '<b>h</b>' },
    ]);
    expect(res.body.response.result).toMatch(/^<__main__\.H object at/);
    expect(res.body.response.stderr).toMatch(/RuntimeError: no html/);
  });

  it('display past MAX_DISPLAY_BYTES: later entries dropped, display_truncated', async () => {
    const res = await exec({ code: "for i in range(5):\n    display('x' * 100000)" });
    expect(res.status).toBe(200);
    expect(res.body.response.display).toHaveLength(2);
    expect(res.body.response.display_truncated).toBe(true);
  });

  it('a timeout answers 408 with what the run had made: files and display at the top level, partial output', async () => {
    const code = [
      'import os, time',
      "os.makedirs('outputs')",
      "open('outputs/partial.csv', 'w').write('a,b\\n1,2\\n')",
      "display({'rows': 1})",
      "print('started')",
      'time.sleep(30)',
    ].join('\n');
    const res = await exec({ code, timeout: 1 });
    expect(res.status).toBe(408);
    expect(res.body).toMatchObject({
      error_code: 'TIMEOUT',
      stdout: 'started\n',
      display: [{ mime_type: 'text/plain', data: "{'rows': 1}" }],
      display_truncated: false,
    });
    expect(res.body.files.map((f: { path: string; size: number }) => [f.path, f.size])).toEqual([['partial.csv', 8]]);
    expect(res.body.stderr).not.toContain('Traceback');
  });

  it('a timeout of code that ignores the interrupt still answers 408 (killed after the grace), without rich output', async () => {
    const code = 'import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ndisplay(1)\nwhile True: pass';
    const res = await exec({ code, timeout: 1 });
    expect(res.status).toBe(408);
    expect(res.body).toMatchObject({ error_code: 'TIMEOUT', files: [], display: [] });
  });
});
