import { createHmac } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { WebhookSigner, webhookSigningKey } from './webhook-signer';

const standardSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const body = JSON.stringify({ code: 200, message: 'success', response: { result: 'héllo ✓' } });

describe('WebhookSigner', () => {
  it('signs id.timestamp.body so a receiver verifies with the whsec_ secret as is', () => {
    const now = new Date();
    const headers = new WebhookSigner(standardSecret).headers('job-1', body, now);
    expect(headers['webhook-id']).toBe('job-1');
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(now.getTime() / 1000)));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(standardSecret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('matches a plain HMAC-SHA256 over "id.timestamp.body" (for receivers without the library)', () => {
    const now = new Date(1_700_000_000_123);
    const raw = 'a plain shared secret';
    const headers = new WebhookSigner(raw).headers('job-2', body, now);
    const expected = createHmac('sha256', Buffer.from(raw, 'utf8')).update(`job-2.1700000000.${body}`).digest('base64');
    expect(headers['webhook-signature']).toBe(`v1,${expected}`);
    const standard = new WebhookSigner(standardSecret).headers('job-2', body, now);
    const key = Buffer.from(standardSecret.slice('whsec_'.length), 'base64');
    expect(standard['webhook-signature']).toBe(
      `v1,${createHmac('sha256', key).update(`job-2.1700000000.${body}`).digest('base64')}`,
    );
  });

  it('a raw secret verifies with the library in raw format', () => {
    const raw = 'another-secret';
    const headers = new WebhookSigner(raw).headers('job-3', body, new Date());
    expect(new Webhook(Buffer.from(raw, 'utf8'), { format: 'raw' }).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('a changed body, id or secret fails verification', () => {
    const headers = new WebhookSigner(standardSecret).headers('job-4', body, new Date());
    const receiver = new Webhook(standardSecret);
    expect(() => receiver.verify(body.replace('success', 'succe55'), headers)).toThrow(WebhookVerificationError);
    expect(() => receiver.verify(body, { ...headers, 'webhook-id': 'job-5' })).toThrow(WebhookVerificationError);
    expect(() => new Webhook('whsec_' + Buffer.from('other').toString('base64')).verify(body, headers)).toThrow(
      WebhookVerificationError,
    );
  });

  it('without a secret: id and timestamp only, no signature', () => {
    const signer = new WebhookSigner(undefined);
    expect(signer.signs).toBe(false);
    expect(Object.keys(signer.headers('job-6', body, new Date())).sort()).toEqual(['webhook-id', 'webhook-timestamp']);
  });

  it('derives the key from whsec_ base64 or from the UTF-8 bytes of anything else', () => {
    expect(Buffer.from(webhookSigningKey('whsec_AAEC')).toString('hex')).toBe('000102');
    expect(Buffer.from(webhookSigningKey('s3cret')).toString()).toBe('s3cret');
  });
});
