import { applyDecorators } from '@nestjs/common';
import { ApiInternalServerErrorResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ErrorEnvelopeDto } from './envelope';
import { internalErrorExample, unauthorizedExample } from './envelope.examples';

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
