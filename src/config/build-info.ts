import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// src/config and dist/config are both two levels below the project root.
const projectRoot = join(__dirname, '..', '..');
const gitTimeoutMs = 2000;

let cachedVersion: string | undefined;
let cachedBuildNumber: string | undefined;

/** The `version` field of package.json. */
export function packageVersion(): string {
  cachedVersion ??= (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string })
    .version;
  return cachedVersion;
}

/** `<version>+<short sha>`, or `<version>` outside a git checkout; computed once because it spawns git. */
export function defaultBuildNumber(): string {
  if (cachedBuildNumber !== undefined) return cachedBuildNumber;
  let sha = '';
  try {
    sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: projectRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: gitTimeoutMs,
    }).trim();
  } catch {
    // No git or not a checkout (e.g. a container image): the version alone identifies the build.
  }
  cachedBuildNumber = sha ? `${packageVersion()}+${sha}` : packageVersion();
  return cachedBuildNumber;
}
