import type { OpenAPIObject } from '@nestjs/swagger';
import type {
  HeaderObject,
  OperationObject,
  ReferenceObject,
  ResponseObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/** The operation extension RateLimited() leaves for declareResponseHeaders (removed from the published document). */
export const RATE_LIMITED_EXTENSION = 'x-rate-limited';

/** Every response header the service sends, declared once under components.headers. */
const headers: Record<string, HeaderObject> = {
  RequestId: {
    description:
      'The request id: the caller’s `x-request-id` when it sent a sane one (1-128 of A-Za-z0-9._-), else a new UUID',
    schema: { type: 'string', example: '7c0c5a8e-8a55-4a4a-9f57-1f5c3a6b2d10' },
  },
  Location: {
    description: 'The accepted job: poll it (`/v1/jobs/{job_id}`)',
    schema: { type: 'string', example: '/v1/jobs/3fa85f64-5717-4562-b3fc-2c963f66afa6' },
  },
  RetryAfter: {
    description: 'Seconds to wait before retrying',
    schema: { type: 'integer', minimum: 1, example: 1 },
  },
  WWWAuthenticate: {
    description: 'The authentication scheme: an API key as a bearer token (or in `x-api-key`)',
    schema: { type: 'string', example: 'Bearer' },
  },
  RateLimitPolicy: {
    description:
      'When RATE_LIMIT_PER_MINUTE is set (IETF draft-ietf-httpapi-ratelimit-headers): the quota `q` per window `w` seconds',
    schema: { type: 'string', example: '"execute";q=60;w=60' },
  },
  RateLimit: {
    description: 'When RATE_LIMIT_PER_MINUTE is set: requests remaining `r` and seconds `t` until the quota resets',
    schema: { type: 'string', example: '"execute";r=59;t=60' },
  },
};

const ref = (name: string): ReferenceObject => ({ $ref: `#/components/headers/${name}` });

/** Statuses answered before the rate-limit guard runs (auth, body parsing): they never carry RateLimit headers. */
const beforeRateLimit = new Set(['401', '413', '415']);

/** The headers a response with this status of this operation can carry. */
function headersOf(status: string, rateLimited: boolean): Record<string, ReferenceObject> {
  const declared: Record<string, ReferenceObject> = { 'x-request-id': ref('RequestId') };
  if (status === '202') declared.Location = ref('Location');
  if (status === '429' || status === '503') declared['Retry-After'] = ref('RetryAfter');
  if (status === '401') declared['WWW-Authenticate'] = ref('WWWAuthenticate');
  if (rateLimited && !beforeRateLimit.has(status)) {
    declared['RateLimit-Policy'] = ref('RateLimitPolicy');
    declared.RateLimit = ref('RateLimit');
  }
  return declared;
}

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Declares on every response of every operation the headers the service sends with it (API.md, "Response headers"). */
export function declareResponseHeaders(document: OpenAPIObject): OpenAPIObject {
  for (const path of Object.values(document.paths)) {
    for (const method of methods) {
      const operation = path[method] as (OperationObject & { [RATE_LIMITED_EXTENSION]?: unknown }) | undefined;
      if (!operation) continue;
      const rateLimited = operation[RATE_LIMITED_EXTENSION] !== undefined;
      delete operation[RATE_LIMITED_EXTENSION];
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (!response || '$ref' in response) continue;
        // A copy: class-level responses are one object shared by every operation of the controller.
        const object = response as ResponseObject;
        operation.responses[status] = { ...object, headers: { ...object.headers, ...headersOf(status, rateLimited) } };
      }
    }
  }
  document.components = { ...document.components, headers: { ...document.components?.headers, ...headers } };
  return document;
}
