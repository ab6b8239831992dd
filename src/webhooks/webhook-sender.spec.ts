import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { guardedLookup, WebhookSender } from './webhook-sender';

describe('guardedLookup', () => {
  it.each([true, false])(
    'refuses a name that resolves to loopback (all: %s)',
    (all) =>
      new Promise<void>((done) => {
        guardedLookup('localhost', { all }, (err) => {
          expect(err?.message).toMatch(/^Refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
          done();
        });
      }),
  );

  it('passes DNS errors through (retried as network errors)', () =>
    new Promise<void>((done) => {
      guardedLookup('does-not-exist.invalid', { all: true }, (err) => {
        expect(err?.code).toMatch(/ENOTFOUND|EAI_AGAIN/);
        done();
      });
    }));
});

describe('WebhookSender', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits++;
      res.writeHead(301, { location: 'http://169.254.169.254/' }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const guarded = new WebhookSender({ timeoutMs: 1000, allowPrivate: false });
  const open = new WebhookSender({ timeoutMs: 1000, allowPrivate: true });

  it('refuses loopback by name and by literal without connecting', async () => {
    for (const host of ['localhost', '127.0.0.1', '[::ffff:127.0.0.1]']) {
      expect(await guarded.post(`http://${host}:${port}/`, {}, '{}')).toMatchObject({ kind: 'refused' });
    }
    expect(hits).toBe(0);
  });

  it('reports a redirect without following it', async () => {
    expect(await open.post(`http://localhost:${port}/`, {}, '{}')).toEqual({
      kind: 'response',
      statusCode: 301,
      location: 'http://169.254.169.254/',
    });
    expect(hits).toBe(1);
  });

  it('refuses what is not an http(s) URL', async () => {
    expect(await open.post('not a url', {}, '{}')).toEqual({
      kind: 'refused',
      error: 'Refused: webhook_url is not a valid URL',
    });
    expect(await open.post('file:///etc/passwd', {}, '{}')).toEqual({
      kind: 'refused',
      error: 'Refused: file: is not http or https',
    });
  });
});
