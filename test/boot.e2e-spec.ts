import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { serviceMain } from './service-process';
import { KEY } from './utils';

const root = join(__dirname, '..');

/** Runs the built service (see service-process.ts) with `env` only; resolves with its exit code and output. */
function boot(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [serviceMain], {
    cwd: root,
    env: { API_KEYS: KEY, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 50_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    }),
  );
}

// A missing prerequisite or a bad value stops the boot with one line naming it: no stack trace.
describe('boot errors are one line and a non-zero exit', () => {
  it.each([
    [
      'bubblewrap missing from PATH',
      { PATH: '/nonexistent' },
      /^Cannot start: bwrap not found on PATH: install bubblewrap/,
    ],
    [
      'a PYTHON_BIN that does not exist',
      { PYTHON_BIN: '/usr/bin/no-such-python' },
      /^Cannot start: PYTHON_BIN \/usr\/bin\/no-such-python is not executable/,
    ],
    [
      'a sandbox that fails inside Nest (PYTHON_BIN=/usr/bin/false)',
      { PYTHON_BIN: '/usr/bin/false', SANDBOX_SERVERS: '1' },
      /^Cannot start: fork server exited/,
    ],
    [
      'a SANDBOX_PRELOAD module that does not import',
      { SANDBOX_PRELOAD: 'no_such_module_here', SANDBOX_SERVERS: '1' },
      /^Cannot start: .*SANDBOX_PRELOAD: cannot import no_such_module_here in the sandbox/,
    ],
    ['a bad PORT', { PORT: 'abc' }, /^Cannot start: Invalid PORT: "abc"/],
    ['a bad MAX_TIMEOUT', { MAX_TIMEOUT: '-5' }, /^Cannot start: .*MAX_TIMEOUT/],
    ['no REDIS_URL and no redis-server', { PATH: '/nonexistent', ROLE: 'api' }, /^Cannot start: .*redis-server/],
  ])('%s', async (_label, env, message) => {
    const { code, stdout, stderr } = await boot({ PATH: process.env.PATH ?? '/usr/bin:/bin', ...env });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const lines = stderr.split('\n').filter((line) => line.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(stdout + stderr).not.toMatch(/\n\s+at /);
  });
});
