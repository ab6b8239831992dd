import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { INVALID_PARAMETERS } from './messages';

/** Strict validation for every body and query: unknown fields rejected, no implicit type coercion. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: (errors) =>
      new BadRequestException({ message: INVALID_PARAMETERS, details: flattenErrors(errors) }),
  });
}

export function flattenErrors(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((text) =>
      text.startsWith(error.property) ? `${path}${text.slice(error.property.length)}` : `${path}: ${text}`,
    );
    return [...own, ...flattenErrors(error.children ?? [], path)];
  });
}
