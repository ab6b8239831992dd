import {
  BadRequestException,
  NotFoundException,
  PayloadTooLargeException,
  UnauthorizedException,
} from '@nestjs/common';
import type { EnvelopeErrorBody } from '../common/http-exception.filter';
import { INTERNAL_ERROR } from '../common/messages';
import { EditorErrorFormatter } from './editor-error.formatter';
import { EditorException } from './editor.exception';

const formatter = new EditorErrorFormatter();
const bodyOf = (e: { getResponse(): unknown }) => e.getResponse() as EnvelopeErrorBody;

describe('EditorErrorFormatter', () => {
  it.each([
    ['/api/v1/python/execute', true],
    ['/api/v1/python', true],
    ['/API/V1/Python/jobs', true],
    ['/api/v1/pythonic', false],
    ['/v1/code/execute/python', false],
    ['/v1/jobs', false],
  ])('matches(%s) is %s', (path, expected) => {
    expect(formatter.matches(path)).toBe(expected);
  });

  it('honours the code an EditorException carries', () => {
    const e = new EditorException(400, 'MISSING_FIELD', "Field 'code' is required and must not be empty");
    expect(formatter.format(400, bodyOf(e), 'Bad request')).toEqual({
      success: false,
      error: 'MISSING_FIELD',
      message: "Field 'code' is required and must not be empty",
    });
  });

  it('a v1-style validation error: INVALID_REQUEST, its details as the message', () => {
    const e = new BadRequestException({
      message: 'Missing or invalid parameters',
      details: ['code must be at most 10 bytes'],
    });
    expect(formatter.format(400, bodyOf(e), 'Bad request')).toEqual({
      success: false,
      error: 'INVALID_REQUEST',
      message: 'code must be at most 10 bytes',
    });
  });

  it("Nest's own exceptions: the code from the status, the message kept (their `error` field is not a code)", () => {
    expect(formatter.format(401, bodyOf(new UnauthorizedException('Unauthorized')), 'Unauthorized')).toEqual({
      success: false,
      error: 'UNAUTHORIZED',
      message: 'Unauthorized',
    });
    expect(formatter.format(404, bodyOf(new NotFoundException('Cannot GET /api/v1/python/x')), 'Not found').error).toBe(
      'NOT_FOUND',
    );
    expect(formatter.format(413, bodyOf(new PayloadTooLargeException('Request body exceeds 5 bytes')), 'x')).toEqual({
      success: false,
      error: 'PAYLOAD_TOO_LARGE',
      message: 'Request body exceeds 5 bytes',
    });
    expect(formatter.format(415, { message: 'Content-Type must be application/json' }, 'x').error).toBe(
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expect(formatter.format(503, {}, 'Service unavailable').error).toBe('SERVICE_UNAVAILABLE');
  });

  it('429: QUEUE_FULL for a full queue, RATE_LIMITED when the caller is told when to retry', () => {
    expect(formatter.format(429, { message: 'MAX_QUEUE_LENGTH (3) reached' }, 'x')).toEqual({
      success: false,
      error: 'QUEUE_FULL',
      message: 'MAX_QUEUE_LENGTH (3) reached',
    });
    expect(formatter.format(429, { message: 'Rate limit exceeded', retryAfterSec: 12 }, 'x').error).toBe(
      'RATE_LIMITED',
    );
  });

  it('500: INTERNAL_ERROR with the fallback text only (the filter has already dropped the body)', () => {
    expect(formatter.format(500, {}, INTERNAL_ERROR)).toEqual({
      success: false,
      error: 'INTERNAL_ERROR',
      message: INTERNAL_ERROR,
    });
  });

  it('an `errorCode` that is not an editor code is ignored', () => {
    expect(formatter.format(400, { message: 'x', errorCode: 'SOMETHING_ELSE' }, 'y').error).toBe('INVALID_REQUEST');
  });
});
