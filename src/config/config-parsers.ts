import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';

// The parsers behind loadConfig(): each reads one variable's raw text and names it in its error.

/** Thrown for any invalid environment variable; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

// Unused by Linux distributions and systemd (its "unused" range is 1879048192..2147352575).
const defaultSandboxUidBase = 2_000_000_000;
const maxSpawnUid = 2_147_483_647; // Node's spawn() takes an int32 uid
const nobodyUid = 65534;

export function parseInteger(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`Invalid ${name}: ${JSON.stringify(raw)} (expected an integer ${min}..${max})`);
  }
  return value;
}

export function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], fallback: T): T {
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`Invalid ${name}: ${JSON.stringify(raw)} (expected one of ${allowed.join(', ')})`);
  }
  return raw as T;
}

export function parseBoolean(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`Invalid ${name}: ${JSON.stringify(raw)} (expected true, false, 1 or 0)`);
}

export function parseWebhookSecret(raw: string | undefined): string | undefined {
  if (raw === undefined || !raw.startsWith('whsec_')) return raw;
  const base64 = raw.slice('whsec_'.length);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/.test(base64)) {
    // The value is not echoed: it is a secret.
    throw new ConfigError(
      'Invalid WEBHOOK_SECRET (whsec_ must be followed by standard base64, e.g. whsec_$(openssl rand -base64 32))',
    );
  }
  return raw;
}

/** A uid range of its own: not root, nobody or any real account's, and an int32 for Node's spawn(). */
export function parseUidBase(read: (name: string) => string | undefined, servers: number): number {
  if (read('SANDBOX_UID') !== undefined) {
    throw new ConfigError(
      'SANDBOX_UID is no longer used: each sandbox slot has its own uid, SANDBOX_UID_BASE + slot (default 2000000000)',
    );
  }
  const base = parseInteger(
    'SANDBOX_UID_BASE',
    read('SANDBOX_UID_BASE'),
    defaultSandboxUidBase,
    1000,
    maxSpawnUid - servers + 1,
  );
  const last = base + servers - 1;
  if (base <= nobodyUid + 1 && last >= nobodyUid) {
    throw new ConfigError(`Invalid SANDBOX_UID_BASE: ${base}..${last} would include nobody (65534) or 65535`);
  }
  return base;
}

export function parsePythonBin(raw: string | undefined): string {
  if (raw === undefined) return '/usr/bin/python3';
  if (!isAbsolute(raw)) {
    throw new ConfigError(`Invalid PYTHON_BIN: ${JSON.stringify(raw)} (expected an absolute path)`);
  }
  return raw;
}

/** Directories only: absolute, existing, and not where the sandbox already has its own mounts. */
export function parseSandboxPythonPath(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const dirs = [
    ...new Set(
      raw
        .split(':')
        .map((dir) => dir.trim().replace(/(.)\/+$/, '$1'))
        .filter((dir) => dir !== ''),
    ),
  ];
  for (const dir of dirs) {
    const bad = (why: string) => new ConfigError(`Invalid SANDBOX_PYTHONPATH: ${JSON.stringify(dir)} (${why})`);
    if (!isAbsolute(dir) || normalize(dir) !== dir) throw bad('expected an absolute, normalised path');
    if (/^\/(proc|dev|tmp|sys)(\/|$)/.test(dir) || dir === '/')
      throw bad('under /, /proc, /dev, /sys or /tmp, which the sandbox mounts itself');
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      // reported below
    }
    if (!isDir) throw bad('not an existing directory');
  }
  return dirs;
}

export function parseSandboxPreload(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const modules = [
    ...new Set(
      raw
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== ''),
    ),
  ];
  for (const name of modules) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name)) {
      throw new ConfigError(`Invalid SANDBOX_PRELOAD: ${JSON.stringify(name)} (expected comma-separated module names)`);
    }
  }
  return modules;
}

export function readApiKeys(list: string | undefined, file: string | undefined): string[] {
  const keys = (list ?? '').split(',');
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `Invalid API_KEYS_FILE: cannot read ${JSON.stringify(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    keys.push(...text.split('\n').filter((line) => !line.trimStart().startsWith('#')));
  }
  return [...new Set(keys.map((key) => key.trim()).filter((key) => key !== ''))];
}
