import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { distinct, Rule } from './environment.decorators';
import type { EnvironmentVariables } from './environment.schema';

// The rules of ours behind the schema's decorators: parsers for list-like variables and the checks
// that read the file system or depend on another variable.

export interface SentinelAddress {
  readonly host: string;
  readonly port: number;
}

/** API_KEYS_FILE: the path and the keys read from it, or why it could not be read. */
export type KeysFile = { readonly path: string; readonly keys: readonly string[]; readonly unreadable?: string };

// Unused by Linux distributions and systemd (its "unused" range is 1879048192..2147352575).
export const defaultSandboxUidBase = 2_000_000_000;
const maxSpawnUid = 2_147_483_647; // Node's spawn() takes an int32 uid
const nobodyUid = 65534;
export const maxSandboxServers = 256;

export function IsRedisUrl(): PropertyDecorator {
  return Rule('redisUrl', (value) => {
    const url = typeof value === 'string' && URL.canParse(value) ? new URL(value) : undefined;
    const valid = (url?.protocol === 'redis:' || url?.protocol === 'rediss:') && /^\/?\d*$/.test(url.pathname);
    // The value is not echoed: it may carry a password.
    return valid ? undefined : 'Invalid REDIS_URL (expected redis://[user:password@]host[:port][/db] or rediss://...)';
  });
}

/** `host:port,...` (IPv6 in brackets): the addresses, or the text of the first bad entry. */
export function parseSentinels(text: string): readonly SentinelAddress[] | string {
  const sentinels: SentinelAddress[] = [];
  for (const entry of text.split(',')) {
    const match = /^\s*(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\s*$/.exec(entry);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) return entry.trim();
    sentinels.push({ host: match[1].replace(/^\[(.*)\]$/, '$1'), port });
  }
  return sentinels;
}

export function IsSentinelList(): PropertyDecorator {
  return Rule('sentinelList', (value) =>
    Array.isArray(value)
      ? undefined
      : `Invalid REDIS_SENTINELS: ${JSON.stringify(value)} (expected host:port[,host:port...])`,
  );
}

/** A uid range of its own: not root, nobody or any real account's, and an int32 for Node's spawn(). */
export function IsSandboxUidBase(): PropertyDecorator {
  return Rule<EnvironmentVariables>('sandboxUidBase', (value, variables) => {
    const servers = typeof variables.SANDBOX_SERVERS === 'number' ? variables.SANDBOX_SERVERS : 1;
    const max = maxSpawnUid - servers + 1;
    if (typeof value !== 'number' || value < 1000 || value > max) {
      return `Invalid SANDBOX_UID_BASE: ${JSON.stringify(String(value))} (expected an integer 1000..${max})`;
    }
    const last = value + servers - 1;
    if (value <= nobodyUid + 1 && last >= nobodyUid) {
      return `Invalid SANDBOX_UID_BASE: ${value}..${last} would include nobody (65534) or 65535`;
    }
    return undefined;
  });
}

/** Colon-separated directories, trailing slashes dropped, without empties or duplicates. */
export function parsePythonPath(text: string): string[] {
  return distinct(text.split(':').map((dir) => dir.trim().replace(/(.)\/+$/, '$1')));
}

/** Directories only: absolute, existing, and not where the sandbox already has its own mounts. */
export function IsSandboxPythonPath(): PropertyDecorator {
  return Rule('sandboxPythonPath', (value) => {
    for (const dir of value as string[]) {
      const bad = (why: string) => `Invalid SANDBOX_PYTHONPATH: ${JSON.stringify(dir)} (${why})`;
      if (!isAbsolute(dir) || normalize(dir) !== dir) return bad('expected an absolute, normalised path');
      if (/^\/(proc|dev|tmp|sys)(\/|$)/.test(dir) || dir === '/') {
        return bad('under /, /proc, /dev, /sys or /tmp, which the sandbox mounts itself');
      }
      let isDir = false;
      try {
        isDir = statSync(dir).isDirectory();
      } catch {
        // reported below
      }
      if (!isDir) return bad('not an existing directory');
    }
    return undefined;
  });
}

export function IsModuleList(): PropertyDecorator {
  return Rule('moduleList', (value) => {
    const bad = (value as string[]).find((name) => !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name));
    return bad === undefined
      ? undefined
      : `Invalid SANDBOX_PRELOAD: ${JSON.stringify(bad)} (expected comma-separated module names)`;
  });
}

/** One key per line; lines starting with # are comments. */
export function readKeysFile(path: string): KeysFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { path, keys: [], unreadable: (err as NodeJS.ErrnoException).code ?? 'error' };
  }
  const lines = text.split('\n').filter((line) => !line.trimStart().startsWith('#'));
  return { path, keys: distinct(lines) };
}

export function IsReadableKeysFile(): PropertyDecorator {
  return Rule('readableKeysFile', (value) => {
    const { path, unreadable } = value as KeysFile;
    return unreadable === undefined
      ? undefined
      : `Invalid API_KEYS_FILE: cannot read ${JSON.stringify(path)} (${unreadable})`;
  });
}

/** Every configured key: API_KEYS, then API_KEYS_FILE's, without duplicates. */
export function apiKeysOf(variables: Pick<EnvironmentVariables, 'API_KEYS' | 'API_KEYS_FILE'>): string[] {
  return [...new Set([...variables.API_KEYS, ...(variables.API_KEYS_FILE?.keys ?? [])])];
}

/** NODE_ENV=production refuses the unsandboxed mode and a service without keys. */
export function IsProductionReady(): PropertyDecorator {
  return Rule<EnvironmentVariables>('productionReady', (value, variables) => {
    if (value !== 'production') return undefined;
    if (variables.SANDBOX !== 'bwrap') {
      return 'SANDBOX=process is not allowed when NODE_ENV=production (use SANDBOX=bwrap)';
    }
    if (apiKeysOf(variables).length === 0) return 'API_KEYS or API_KEYS_FILE must be set when NODE_ENV=production';
    return undefined;
  });
}
