import { ArgumentMetadata, BadRequestException } from '@nestjs/common';
import { createValidationPipe } from '../../common/validation.pipe';
import { ExecutePythonDto } from './execute-python.dto';

const pipe = createValidationPipe();
const meta: ArgumentMetadata = { type: 'body', metatype: ExecutePythonDto };

async function details(body: unknown): Promise<string[] | 'ok'> {
  try {
    await pipe.transform(body, meta);
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestException);
    return ((err as BadRequestException).getResponse() as { details: string[] }).details;
  }
}

describe('ExecutePythonDto validation', () => {
  it.each([
    [{ code: 'print(1)' }],
    [{ code: 'x', timeout: 1 }],
    [{ code: 'x', timeout: 300 }],
    [{ code: 'x', webhook_url: 'https://example.com/hook' }],
    [{ code: 'x', webhook_url: 'http://localhost:8080/cb' }],
    [{ code: 'x', webhook_url: 'http://[::1]:8080/cb' }],
    [{ code: 'x', webhook_url: 'HTTPS://Example.com/Hook?token=a%20b' }],
    [{ code: 'x', id: 'a'.repeat(256), async: true, stdin: 'in' }],
  ])('accepts %j', async (body) => {
    expect(await details(body)).toBe('ok');
  });

  it.each([
    [{}, 'code'],
    [{ code: '' }, 'code'],
    [{ code: '   \n\t' }, 'code'],
    [{ code: 5 }, 'code'],
    [{ code: 'x', timeout: 0 }, 'timeout'],
    [{ code: 'x', timeout: 301 }, 'timeout'],
    [{ code: 'x', timeout: 1.5 }, 'timeout'],
    [{ code: 'x', timeout: '10' }, 'timeout'],
    [{ code: 'x', webhook_url: 'ftp://example.com/x' }, 'webhook_url'],
    [{ code: 'x', webhook_url: 'not a url' }, 'webhook_url'],
    [{ code: 'x', webhook_url: '/relative' }, 'webhook_url'],
    [{ code: 'x', webhook_url: 'javascript:alert(1)' }, 'webhook_url'],
    [{ code: 'x', webhook_url: 'file:///etc/passwd' }, 'webhook_url'],
    [{ code: 'x', webhook_url: 'data:text/plain,hi' }, 'webhook_url'],
    [{ code: 'x', webhook_url: 'example.com/hook' }, 'webhook_url'],
    [{ code: 'x', webhook_url: '//example.com/hook' }, 'webhook_url'],
    [{ code: 'x', webhook_url: 'http://' }, 'webhook_url'],
    [{ code: 'x', webhook_url: 'https://example.com:99999/' }, 'webhook_url'],
    [{ code: 'x', webhook_url: 42 }, 'webhook_url'],
    [{ code: 'x', webhook_url: `https://example.com/${'a'.repeat(2048)}` }, 'webhook_url'],
    [{ code: 'x', id: 'a'.repeat(257) }, 'id'],
    [{ code: 'x', id: 7 }, 'id'],
    [{ code: 'x', async: 'yes' }, 'async'],
    [{ code: 'x', stdin: 1 }, 'stdin'],
    [{ code: 'x', unknown_field: 1 }, 'unknown_field'],
  ])('rejects %j naming %s', async (body, field) => {
    const result = await details(body);
    expect(result).not.toBe('ok');
    expect((result as string[]).some((d) => d.startsWith(field))).toBe(true);
  });
});
