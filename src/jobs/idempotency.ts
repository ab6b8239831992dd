import { ApiException, ErrorCode } from '../common/error-code';
import { createHash } from 'node:crypto';

/** An `Idempotency-Key` and what it was sent with: the route and the request body, as one hash. */
export interface IdempotencyRequest {
  key: string;
  /** requestFingerprint() of the request the key came with. */
  requestHash: string;
}

/** What the idempotency entry in Redis holds: the request's hash and the job it made. */
export interface IdempotencyClaim {
  keyHash: string;
  /** `<requestHash> <jobId>`. */
  value: string;
}

/** 422: the key was first used with another request; nothing is created. */
export class IdempotencyKeyReusedException extends ApiException {
  constructor() {
    super(ErrorCode.IDEMPOTENCY_KEY_REUSED, 'Idempotency-Key was already used with a different request body');
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The hash a repeat must match: the route, then the body as canonical JSON (keys sorted at every
 * level), so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request and `{"a":1}` is another.
 * Recursive, but only on a validated body, whose depth JsonBodyMiddleware has bounded.
 */
export function requestFingerprint(endpoint: string, body: unknown): string {
  return sha256Hex(`${endpoint}\n${canonicalJson(body)}`);
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function claimFor(request: IdempotencyRequest, jobId: string): IdempotencyClaim {
  // The owner is part of the Redis key (repository); the key itself is hashed so any header value fits.
  return { keyHash: sha256Hex(request.key), value: `${request.requestHash} ${jobId}` };
}

/** The parts of a stored claim value. */
export function parseClaim(value: string): { requestHash: string; jobId: string } {
  const space = value.indexOf(' ');
  return { requestHash: value.slice(0, space), jobId: value.slice(space + 1) };
}
