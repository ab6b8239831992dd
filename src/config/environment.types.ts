import { resolve } from 'node:path';
import { BadValue, VariableType } from './environment.variable';

// The general types of environment variables; the ones particular to this service are in environment.rules.ts.

/** Any text. */
export const text = (): VariableType<string> => ({ read: (value) => value });

/** A text matching `pattern`; `expected` says what that is. */
export function matching(pattern: RegExp, expected: string): VariableType<string> {
  return {
    read(value) {
      if (!pattern.test(value)) throw new BadValue(expected);
      return value;
    },
  };
}

/** Decimal digits only (no sign, exponent or hex), min..max; `max` may depend on a variable declared above. */
export function integer<Config = never>(
  min: number,
  max: number | ((config: Config) => number),
): VariableType<number, Config> {
  return {
    read(value, config) {
      const upper = typeof max === 'number' ? max : max(config);
      const parsed = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(parsed) || parsed < min || parsed > upper) {
        throw new BadValue(`expected an integer ${min}..${upper}`);
      }
      return parsed;
    },
  };
}

/** One of a fixed list of words. */
export function oneOf<const Word extends string>(words: readonly Word[]): VariableType<Word> {
  return {
    read(value) {
      if (!(words as readonly string[]).includes(value)) throw new BadValue(`expected one of ${words.join(', ')}`);
      return value as Word;
    },
  };
}

/** `true`/`1` or `false`/`0`. */
export function flag(): VariableType<boolean> {
  return {
    read(value) {
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      throw new BadValue('expected true, false, 1 or 0');
    },
  };
}

/** Entries trimmed, without empties or duplicates. */
export function distinct(entries: readonly string[]): string[] {
  return [...new Set(entries.map((entry) => entry.trim()).filter((entry) => entry !== ''))];
}

/** Comma-separated entries, trimmed, without empties or duplicates. */
export const list = (): VariableType<readonly string[]> => ({
  read: (value) => Object.freeze(distinct(value.split(','))),
});

/** A path, made absolute against the working directory. */
export const path = (): VariableType<string> => ({ read: (value) => resolve(value) });
