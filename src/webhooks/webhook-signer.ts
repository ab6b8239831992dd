import { Webhook } from 'standardwebhooks';

const standardSecretPrefix = 'whsec_';

/**
 * The HMAC key a WEBHOOK_SECRET stands for: `whsec_<base64>` (the Standard Webhooks format) is the
 * decoded bytes; any other value is used as its UTF-8 bytes.
 */
export function webhookSigningKey(secret: string): Uint8Array {
  return secret.startsWith(standardSecretPrefix)
    ? Buffer.from(secret.slice(standardSecretPrefix.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/** Standard Webhooks headers: `webhook-id`, `webhook-timestamp`, and `webhook-signature` when a secret is set. */
export class WebhookSigner {
  private readonly webhook: Webhook | null;

  constructor(secret: string | undefined) {
    this.webhook = secret ? new Webhook(webhookSigningKey(secret), { format: 'raw' }) : null;
  }

  get signs(): boolean {
    return this.webhook !== null;
  }

  /** Signs `${msgId}.${unix seconds of now}.${body}`; `body` must be exactly the bytes sent. */
  headers(msgId: string, body: string, now: Date): Record<string, string> {
    const headers: Record<string, string> = {
      'webhook-id': msgId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    };
    if (this.webhook) headers['webhook-signature'] = this.webhook.sign(msgId, now, body);
    return headers;
  }
}
