import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { distinct } from './environment.types';
import { BadValue, ConfigError, VariableType } from './environment.variable';

// The types particular to this service: list-like variables, and checks that read the file system or
// another variable (given as an accessor by app-config.ts, so this file needs nothing from it).

export interface SentinelAddress {
  readonly host: string;
  readonly port: number;
}

/** API_KEYS_FILE: the path and the keys read from it. */
export type KeysFile = { readonly path: string; readonly keys: readonly string[] };

// Unused by Linux distributions and systemd (its "unused" range is 1879048192..2147352575).
// Inside the 65,536 ids a container's user namespace usually maps, above Debian's ordinary accounts
// (1000-59999) and below systemd's dynamic users (61184-65519).
export const defaultSandboxUidBase = 60_000;
const maxSpawnUid = 2_147_483_647; // Node's spawn() takes an int32 uid
const nobodyUid = 65534;
export const maxSandboxServers = 256;

/** redis:// or rediss:// with at most a db number as path; the text is never quoted (it may hold a password). */
export function redisUrl(): VariableType<string> {
  return {
    read(value) {
      const url = URL.canParse(value) ? new URL(value) : undefined;
      const valid = (url?.protocol === 'redis:' || url?.protocol === 'rediss:') && /^\/?\d*$/.test(url.pathname);
      if (!valid) throw new BadValue('expected redis://[user:password@]host[:port][/db] or rediss://...');
      return value;
    },
  };
}

/** `host:port,...` (IPv6 in brackets). */
export function sentinelList(): VariableType<readonly SentinelAddress[]> {
  return {
    read(value) {
      const sentinels: SentinelAddress[] = [];
      for (const entry of value.split(',')) {
        const match = /^\s*(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\s*$/.exec(entry);
        const port = match ? Number(match[2]) : 0;
        if (!match || port < 1 || port > 65535) throw new BadValue('expected host:port[,host:port...]', entry.trim());
        sentinels.push(Object.freeze({ host: match[1].replace(/^\[(.*)\]$/, '$1'), port }));
      }
      return Object.freeze(sentinels);
    },
  };
}

/** A uid range of its own: not root, nobody or any real account's, and an int32 for Node's spawn(). */
export function sandboxUidBase<Config>(serversOf: (config: Config) => number): VariableType<number, Config> {
  return {
    read(value, config) {
      const servers = serversOf(config);
      const max = maxSpawnUid - servers + 1;
      const base = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!(base >= 1000 && base <= max)) throw new BadValue(`expected an integer 1000..${max}`);
      const last = base + servers - 1;
      if (base <= nobodyUid + 1 && last >= nobodyUid) {
        throw new BadValue(`${base}..${last} would include nobody (65534) or 65535`);
      }
      return base;
    },
  };
}

/** Setting a variable that is gone stops the boot with `message`. */
export function retired(message: string): VariableType<never> {
  return {
    read() {
      throw new ConfigError(message);
    },
  };
}

/** Colon-separated directories: absolute, existing, and not where the sandbox already has its own mounts. */
export function sandboxPythonPath(): VariableType<readonly string[]> {
  return {
    read(value) {
      const dirs = distinct(value.split(':').map((dir) => dir.trim().replace(/(.)\/+$/, '$1')));
      for (const dir of dirs) {
        const bad = (why: string) => new BadValue(why, dir);
        if (!isAbsolute(dir) || normalize(dir) !== dir) throw bad('expected an absolute, normalised path');
        if (/^\/(proc|dev|tmp|sys)(\/|$)/.test(dir) || dir === '/') {
          throw bad('under /, /proc, /dev, /sys or /tmp, which the sandbox mounts itself');
        }
        if (!isDirectory(dir)) throw bad('not an existing directory');
      }
      return Object.freeze(dirs);
    },
  };
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** Comma-separated Python module names. */
export function moduleList(): VariableType<readonly string[]> {
  return {
    read(value) {
      const names = distinct(value.split(','));
      const bad = names.find((name) => !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name));
      if (bad !== undefined) throw new BadValue('expected comma-separated module names', bad);
      return Object.freeze(names);
    },
  };
}

/** A file of keys, one per line; lines starting with # are comments. */
export function keysFile(): VariableType<KeysFile> {
  return {
    read(path) {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        throw new BadValue(`cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      const lines = text.split('\n').filter((line) => !line.trimStart().startsWith('#'));
      return Object.freeze({ path, keys: Object.freeze(distinct(lines)) });
    },
  };
}

/** Every configured key: API_KEYS, then API_KEYS_FILE's, without duplicates. */
export function configuredKeys(listed: readonly string[], file: KeysFile | undefined): string[] {
  return [...new Set([...listed, ...(file?.keys ?? [])])];
}

/** NODE_ENV: `production` (true) refuses the unsandboxed mode and a service without keys; any other text is false. */
export function productionFlag<Config>(
  sandboxOf: (config: Config) => string,
  keysOf: (config: Config) => readonly string[],
): VariableType<boolean, Config> {
  return {
    read(value, config) {
      if (value !== 'production') return false;
      if (sandboxOf(config) !== 'bwrap') {
        throw new ConfigError('SANDBOX=process is not allowed when NODE_ENV=production (use SANDBOX=bwrap)');
      }
      if (keysOf(config).length === 0) {
        throw new ConfigError('API_KEYS or API_KEYS_FILE must be set when NODE_ENV=production');
      }
      return true;
    },
  };
}
