import { ApiException } from '../common/error-code';
import { checkInputFiles } from './input-files';

const limits = { maxInputFiles: 3, maxInputFileBytes: 10 };

function refusal(files: Parameters<typeof checkInputFiles>[0]): { status: number; body: Record<string, unknown> } {
  try {
    checkInputFiles(files, limits);
  } catch (error) {
    const api = error as ApiException;
    return { status: api.getStatus(), body: api.getResponse() as Record<string, unknown> };
  }
  throw new Error('accepted');
}

describe('checkInputFiles', () => {
  it('gives base64 content for the sandbox, whatever the encoding', () => {
    expect(
      checkInputFiles(
        [
          { path: 'a/b.txt', content: 'hé' },
          { path: 'c.bin', content: 'AAE=', encoding: 'base64' },
        ],
        limits,
      ),
    ).toEqual([
      { path: 'a/b.txt', content: Buffer.from('hé').toString('base64') },
      { path: 'c.bin', content: 'AAE=' },
    ]);
    expect(checkInputFiles(undefined, limits)).toEqual([]);
  });

  it('counts decoded bytes: exactly the cap passes, one more is a 413', () => {
    expect(
      checkInputFiles([{ path: 'a', content: Buffer.alloc(10).toString('base64'), encoding: 'base64' }], limits),
    ).toHaveLength(1);
    const over = refusal([
      { path: 'a', content: '12345' },
      { path: 'b', content: Buffer.alloc(6).toString('base64'), encoding: 'base64' },
    ]);
    expect(over.status).toBe(413);
    expect(over.body.error_code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('lists every problem in one 400, before any size check', () => {
    const bad = refusal([
      { path: './a', content: 'x'.repeat(100) },
      { path: 'b', content: '@@@@', encoding: 'base64' },
      { path: 'b', content: '' },
      { path: 'c/', content: '' },
    ]);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error_code: 'INVALID_REQUEST' });
    expect(bad.body.details).toEqual([
      'files must contain at most 3 files',
      'files[0].path must not contain an empty or . segment',
      'files[1].content is not valid base64',
      "files[2].path duplicates another file's path",
      'files[3].path must not contain an empty or . segment',
    ]);
  });
});
