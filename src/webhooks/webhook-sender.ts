import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, LookupFunction } from 'node:net';
import { forbiddenAddressReason } from './webhook-address-policy';

/** What one POST attempt came to (not yet judged: see webhook-retry-policy.ts). */
export type SendOutcome =
  | { kind: 'response'; statusCode: number; location: string | null }
  | { kind: 'refused'; error: string }
  | { kind: 'network'; error: string }
  | { kind: 'timeout'; error: string };

export interface WebhookSenderOptions {
  timeoutMs: number;
  /** WEBHOOK_ALLOW_PRIVATE: skip the address policy. */
  allowPrivate: boolean;
}

const allowPrivateHint = 'set WEBHOOK_ALLOW_PRIVATE=true to allow private destinations';

/** Thrown from the guarded lookup; the request fails before any socket connects. */
class ForbiddenDestinationError extends Error {
  readonly code = 'ERR_WEBHOOK_FORBIDDEN_DESTINATION';
}

/**
 * POSTs one webhook. Redirects are not followed. Unless private destinations are allowed, the
 * host's addresses are resolved and checked by the lookup the socket itself uses, so the address
 * connected to is always one that passed (no gap for DNS rebinding). IP-literal hosts never reach
 * a lookup function, so they are checked before the request.
 */
export class WebhookSender {
  constructor(private readonly options: WebhookSenderOptions) {}

  post(url: string, headers: Record<string, string>, body: string): Promise<SendOutcome> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return Promise.resolve({ kind: 'refused', error: 'Refused: webhook_url is not a valid URL' });
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      return Promise.resolve({ kind: 'refused', error: `Refused: ${target.protocol} is not http or https` });
    }
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!this.options.allowPrivate && isIP(host)) {
      const reason = forbiddenAddressReason(host);
      if (reason)
        return Promise.resolve({ kind: 'refused', error: `Refused: ${host} is ${reason} (${allowPrivateHint})` });
    }
    return this.send(target, headers, body);
  }

  private send(target: URL, headers: Record<string, string>, body: string): Promise<SendOutcome> {
    const payload = Buffer.from(body, 'utf8');
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<SendOutcome>((resolve) => {
      let settled = false;
      const settle = (outcome: SendOutcome) => {
        if (!settled) resolve(outcome);
        settled = true;
      };
      const req = request(target, {
        method: 'POST',
        headers: { ...headers, 'content-length': String(payload.length) },
        agent: false,
        lookup: this.options.allowPrivate ? undefined : guardedLookup,
      });
      // One deadline for the whole attempt: DNS, connect, TLS, and the answer's status line.
      const timer = setTimeout(() => {
        settle({ kind: 'timeout', error: `No response within ${this.options.timeoutMs} ms` });
        req.destroy();
      }, this.options.timeoutMs);
      req.on('response', (res) => {
        const location = typeof res.headers.location === 'string' ? res.headers.location.slice(0, 200) : null;
        settle({ kind: 'response', statusCode: res.statusCode ?? 0, location });
        res.resume(); // the answer's body is not needed; drain it within the same deadline
        res.on('close', () => clearTimeout(timer));
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (err instanceof ForbiddenDestinationError) settle({ kind: 'refused', error: err.message });
        else settle({ kind: 'network', error: describeNetworkError(err) });
      });
      req.end(payload);
    });
  }
}

/** dns.lookup, then refuses the host if any of its addresses is forbidden (all are candidates to connect to). */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    for (const { address } of addresses) {
      const reason = forbiddenAddressReason(address);
      if (reason) {
        const error = new ForbiddenDestinationError(
          `Refused: ${hostname} resolves to ${address}, ${reason} (${allowPrivateHint})`,
        );
        return callback(error, '', 0);
      }
    }
    if (addresses.length === 0)
      return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
    if (options.all) return callback(null, addresses);
    return callback(null, addresses[0].address, addresses[0].family);
  });
};

function describeNetworkError(err: NodeJS.ErrnoException): string {
  const aggregate = err as NodeJS.ErrnoException & { errors?: Error[] };
  // Happy-eyeballs connects report an AggregateError with an empty message: name the first cause.
  if (!err.message && aggregate.errors?.length) return aggregate.errors[0].message;
  return err.message || err.code || 'Network error';
}
