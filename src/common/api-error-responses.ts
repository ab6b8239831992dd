import { applyDecorators } from '@nestjs/common';
import {
  ApiInternalServerErrorResponse,
  ApiServiceUnavailableResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorEnvelopeDto } from './envelope';
import { internalErrorExample, serviceUnavailableExample, unauthorizedExample } from './envelope.examples';

/** The 401 and 500 every authenticated v1 route can answer, in the v1 error envelope. */
export function ApiV1AuthAndInternalErrors(): ReturnType<typeof applyDecorators> {
  return applyDecorators(
    ApiUnauthorizedResponse({
      type: ErrorEnvelopeDto,
      description: 'Missing or wrong API key',
      example: unauthorizedExample,
    }),
    ApiInternalServerErrorResponse({
      type: ErrorEnvelopeDto,
      description: 'Unexpected; no internals in the body',
      example: internalErrorExample,
    }),
  );
}

/** The 503 of a v1 read when Redis cannot be reached (the execute route documents its own). */
export function ApiV1ServiceUnavailable(): ReturnType<typeof applyDecorators> {
  return ApiServiceUnavailableResponse({
    type: ErrorEnvelopeDto,
    description: 'Redis is unreachable: retry after Retry-After seconds',
    example: serviceUnavailableExample,
  });
}
