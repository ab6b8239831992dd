import { Expose, Transform } from 'class-transformer';
import { IsBoolean, IsIn, ValidateBy, ValidationArguments } from 'class-validator';

// The building blocks of the EnvironmentVariables schema. Convention: a variable's text is parsed
// into its typed value by class-transformer; a text that does not parse stays text, and the
// property's validator rejects it with a message that names the variable (and quotes the text,
// unless it is a secret).

const declaredVariables = new WeakMap<object, string[]>();

/** The variables a schema class declares, in declaration order (the order they are validated in). */
export function variablesOf(schema: abstract new () => object): readonly string[] {
  return declaredVariables.get(schema.prototype as object) ?? [];
}

/** Trimmed text of a raw value; empty or blank means unset. */
function textOf(raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  const text = String(raw).trim();
  return text === '' ? undefined : text;
}

/**
 * An environment variable of the same name as the property. Its text is trimmed; empty or blank
 * is unset, which keeps the property's initializer (the default). Otherwise `parse` gives the value.
 */
export function EnvironmentVariable(parse: (text: string) => unknown = (text) => text): PropertyDecorator {
  const expose = Expose();
  const transform = Transform(
    ({ value }: { value: unknown }) => {
      const text = textOf(value);
      return text === undefined ? undefined : parse(text);
    },
    { toClassOnly: true },
  );
  return (target, property) => {
    const names = declaredVariables.get(target) ?? [];
    names.push(String(property));
    declaredVariables.set(target, names);
    expose(target, property);
    transform(target, property);
  };
}

/** A constraint of ours: `problem` returns the whole message for a bad value, or undefined for a good one. */
export function Rule<Schema extends object>(
  name: string,
  problem: (value: unknown, variables: Schema, variable: string) => string | undefined,
): PropertyDecorator {
  const check = (value: unknown, args?: ValidationArguments) =>
    problem(value, args?.object as Schema, args?.property ?? '');
  return ValidateBy({
    name,
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => check(value, args) === undefined,
      defaultMessage: (args?: ValidationArguments) => check(args?.value, args) ?? '',
    },
  });
}

/** Decimal digits only (no sign, exponent or hex) within a safe integer; anything else stays text. */
export function parseInteger(text: string): number | string {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(value) ? value : text;
}

/** An integer min..max; `max` may depend on other variables (then it is checked after parsing). */
export function IntegerIn<Schema extends object>(
  min: number,
  max: number | ((variables: Schema) => number),
): PropertyDecorator {
  return Rule<Schema>('integerIn', (value, variables, variable) => {
    const upper = typeof max === 'number' ? max : max(variables);
    if (typeof value === 'number' && value >= min && value <= upper) return undefined;
    return `Invalid ${variable}: ${JSON.stringify(String(value))} (expected an integer ${min}..${upper})`;
  });
}

/** The message of a built-in constraint: the variable, its text, and what was expected. */
export function invalid(expected: string): (args: ValidationArguments) => string {
  return ({ property, value }) => `Invalid ${property}: ${JSON.stringify(value)} (${expected})`;
}

/** One of a fixed list of words. */
export function OneOf(allowed: readonly string[]): PropertyDecorator {
  return IsIn([...allowed], { message: invalid(`expected one of ${allowed.join(', ')}`) });
}

/** `true`/`1` and `false`/`0`; anything else stays text. */
export function parseBoolean(text: string): boolean | string {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  return text;
}

export function IsBooleanWord(): PropertyDecorator {
  return IsBoolean({ message: invalid('expected true, false, 1 or 0') });
}

/** Entries trimmed, without empties or duplicates. */
export function distinct(entries: readonly string[]): string[] {
  return [...new Set(entries.map((entry) => entry.trim()).filter((entry) => entry !== ''))];
}

/** Comma-separated entries, trimmed, without empties or duplicates. */
export function parseList(text: string): string[] {
  return distinct(text.split(','));
}
