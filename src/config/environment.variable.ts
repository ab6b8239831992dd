// The one declaration of an environment variable: `@Variable(name, type, description)` on the typed
// config property it fills, whose initializer is the default. readVariables() validates from it and
// configuration-table.ts documents from it, so the three cannot drift.

/** Thrown for any invalid environment variable; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A text a type refuses: why, and what to quote (the text by default; never for a secret). */
export class BadValue extends Error {
  constructor(
    readonly why: string,
    readonly shown?: string,
  ) {
    super(why);
  }
}

/** How a variable's trimmed, non-empty text becomes its value; throws BadValue (or a whole ConfigError). */
export interface VariableType<T, Config = never> {
  /** `config` holds the variables declared above this one, already read and valid. */
  read(text: string, config: Config): T;
}

export interface VariableOptions<Config> {
  /** Never quoted in an error message (passwords, keys). */
  secret?: boolean;
  /** The default column of the configuration table, when the initializer alone does not say it. */
  shownDefault?: string;
  /** The value when unset, computed from the whole config after every variable is read (no initializer then). */
  fallback?: (config: Config) => unknown;
}

export interface VariableSpec {
  readonly name: string;
  readonly property: string;
  readonly type: VariableType<unknown, object>;
  readonly description: string;
  readonly options: VariableOptions<object>;
}

const declared = new WeakMap<object, VariableSpec[]>();

/** The variables a config class declares, in declaration order (the order they are read and checked in). */
export function variablesOf(schema: abstract new () => object): readonly VariableSpec[] {
  return declared.get(schema.prototype as object) ?? [];
}

/**
 * Declares the property as filled from the environment variable `name`, read by `type`. The type
 * must produce what the property holds (checked by the compiler through `target`).
 */
export function Variable<T, Config extends object = never>(
  name: string,
  type: VariableType<T, Config>,
  description: string,
  options: VariableOptions<Config> = {},
) {
  return <K extends string>(target: { readonly [P in K]?: T }, property: K): void => {
    const specs = declared.get(target) ?? [];
    specs.push({ name, property, type, description, options } as unknown as VariableSpec);
    declared.set(target, specs);
  };
}

/** Trimmed text of a raw value; empty or blank means unset. */
function textOf(raw: string | undefined): string | undefined {
  const text = raw?.trim();
  return text === '' ? undefined : text;
}

/**
 * A new `schema` filled from `env`: each declared variable in order (unset keeps the initializer),
 * then the fallbacks of those still unset. Throws a ConfigError naming the first bad variable.
 */
export function readVariables<Config extends object>(
  schema: new () => Config,
  env: Readonly<Record<string, string | undefined>>,
): Config {
  const config = new schema();
  const values = config as Record<string, unknown>;
  const specs = variablesOf(schema);
  for (const { name, property, type, options } of specs) {
    const text = textOf(env[name]);
    if (text === undefined) continue;
    try {
      values[property] = type.read(text, config);
    } catch (err) {
      if (!(err instanceof BadValue)) throw err;
      const shown = options.secret ? '' : `: ${JSON.stringify(err.shown ?? text)}`;
      throw new ConfigError(`Invalid ${name}${shown} (${err.why})`);
    }
  }
  for (const { property, options } of specs) {
    if (options.fallback && values[property] === undefined) values[property] = options.fallback(config);
  }
  return config;
}
