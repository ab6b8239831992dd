import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { EnvironmentVariables } from './environment.schema';

/** Thrown for any invalid environment variable; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * The `validate` of @nestjs/config's ConfigModule: parses `env` into EnvironmentVariables
 * (class-transformer: trim, blank = unset, defaults) and checks it (class-validator). Throws a
 * ConfigError with the message of the first bad variable in the schema's order.
 */
export function validate(env: Record<string, unknown>): EnvironmentVariables {
  const variables = plainToInstance(EnvironmentVariables, env, {
    excludeExtraneousValues: true, // only the declared variables, not PATH, HOME…
    exposeDefaultValues: true, // unset: the property's initializer
    exposeUnsetFields: false, // blank: likewise
  });
  const [first] = validateSync(variables, {
    stopAtFirstError: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: false }, // no value (it may be a secret) rides on the error
  });
  if (first) throw new ConfigError(Object.values(first.constraints ?? {})[0] ?? `Invalid ${first.property}`);
  return deepFreeze(variables);
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const item of Object.values(value)) {
    if (typeof item === 'object' && item !== null) deepFreeze(item as object);
  }
  return Object.freeze(value);
}
