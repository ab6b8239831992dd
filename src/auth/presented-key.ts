import type { IncomingHttpHeaders } from 'node:http';

const bearerPattern = /^Bearer\s+(\S+)\s*$/i;

/** The API key a request presents in `x-api-key` or `Authorization: Bearer`, or null. */
export function extractPresentedKey(headers: IncomingHttpHeaders): string | null {
  const header = headers['x-api-key'];
  const apiKey = (Array.isArray(header) ? header[0] : header)?.trim();
  if (apiKey) return apiKey;
  return bearerPattern.exec(headers.authorization ?? '')?.[1] ?? null;
}
