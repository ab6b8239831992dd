import {
  BadRequestException,
  NotFoundException,
  PayloadTooLargeException,
  UnauthorizedException,
} from '@nestjs/common';
import { ErrorCode } from '../common/error-code';
import { errorCodeOf, type EnvelopeErrorBody } from '../common/http-exception.filter';
import { INTERNAL_ERROR } from '../common/messages';
import { EditorErrorFormatter } from './editor-error.formatter';
import { EditorException, editorErrorCodeOf } from './editor.exception';
import { RateLimitedException } from '../auth/rate-limit.guard';
import { QueueFullException } from '../jobs/job-lifecycle';

const formatter = new EditorErrorFormatter();
/** As HttpExceptionFilter calls it: with the v1 code of the error. */
const format = (status: number, body: EnvelopeErrorBody, fallback: string) =>
  formatter.format(status, body, fallback, errorCodeOf(status, body));
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
    expect(format(400, bodyOf(e), 'Bad request')).toEqual({
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
    expect(format(400, bodyOf(e), 'Bad request')).toEqual({
      success: false,
      error: 'INVALID_REQUEST',
      message: 'code must be at most 10 bytes',
    });
  });

  it("Nest's own exceptions: the code from the status, the message kept (their `error` field is not a code)", () => {
    expect(format(401, bodyOf(new UnauthorizedException('Unauthorized')), 'Unauthorized')).toEqual({
      success: false,
      error: 'UNAUTHORIZED',
      message: 'Unauthorized',
    });
    expect(format(404, bodyOf(new NotFoundException('Cannot GET /api/v1/python/x')), 'Not found').error).toBe(
      'NOT_FOUND',
    );
    expect(format(413, bodyOf(new PayloadTooLargeException('Request body exceeds 5 bytes')), 'x')).toEqual({
      success: false,
      error: 'PAYLOAD_TOO_LARGE',
      message: 'Request body exceeds 5 bytes',
    });
    expect(format(415, { message: 'Content-Type must be application/json' }, 'x').error).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(format(503, {}, 'Service unavailable').error).toBe('SERVICE_UNAVAILABLE');
  });

  it('429: the code the thrower chose (QUEUE_FULL, RATE_LIMITED), QUEUE_FULL when none', () => {
    expect(format(429, bodyOf(new QueueFullException(3)), 'x')).toEqual({
      success: false,
      error: 'QUEUE_FULL',
      message: 'MAX_QUEUE_LENGTH (3) reached',
    });
    expect(format(429, bodyOf(new RateLimitedException(5, 12)), 'x').error).toBe('RATE_LIMITED');
    expect(format(429, { message: 'Too many' }, 'x').error).toBe('QUEUE_FULL');
  });

  it('v1 codes keep their name, except RESOURCE_LIMIT: the editor calls a run killed by a limit EXECUTION_FAILED', () => {
    expect(editorErrorCodeOf(ErrorCode.RESOURCE_LIMIT)).toBe('EXECUTION_FAILED');
    expect(editorErrorCodeOf(ErrorCode.TIMEOUT)).toBe('TIMEOUT');
    expect(editorErrorCodeOf(ErrorCode.JOB_CANCELLED)).toBe('JOB_CANCELLED');
    expect(formatter.format(400, { message: 'x' }, 'y', ErrorCode.RESOURCE_LIMIT).error).toBe('EXECUTION_FAILED');
  });

  it('500: INTERNAL_ERROR with the fallback text only (the filter has already dropped the body)', () => {
    expect(format(500, {}, INTERNAL_ERROR)).toEqual({
      success: false,
      error: 'INTERNAL_ERROR',
      message: INTERNAL_ERROR,
    });
  });

  it('an `errorCode` that is not an editor code is ignored', () => {
    expect(format(400, { message: 'x', errorCode: 'SOMETHING_ELSE' }, 'y').error).toBe('INVALID_REQUEST');
  });
});
