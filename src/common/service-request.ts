import type { IncomingMessage } from 'node:http';

/** The incoming request with what this service's middleware and guard attach to it. */
export interface ServiceRequest extends IncomingMessage {
  /** Set by RequestIdMiddleware; echoed in the `x-request-id` response header. */
  requestId?: string;
  /** Set by ApiKeyMiddleware when the presented API key is recognised. */
  apiKeyId?: string;
  /** Parsed JSON body; set by JsonBodyMiddleware. */
  body?: unknown;
}
