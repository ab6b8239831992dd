import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  SANDBOX_PACKAGE_DIR,
  SANDBOX_PACKAGE_MOUNT,
  sandboxCommand,
  SERVER_CONFIG_ENV,
  ServerRunConfig,
} from './sandbox-command';

const CONFIG: ServerRunConfig = {
  isolate: true,
  memory_mb: 65536,
  scratch_mb: 65536,
  nproc: 4096,
  max_output_bytes: 104857600,
  max_result_bytes: 104857600,
  max_output_file_bytes: 8388608,
  max_display_bytes: 8388608,
  inotify_instances: 128,
  inotify_watches: 8192,
  run_cgroup: { tasks_fd: 3, events_fd: 4 },
  memory_watchdog: false,
};
/** Long configuration values: none of it may reach the command line. */
const OPTIONS = {
  pythonBin: '/usr/bin/python3',
  bwrapBin: '/usr/bin/bwrap',
  pythonPath: Array.from({ length: 20 }, (_, i) => `/opt/site-packages-number-${i}/lib/python3/dist-packages`),
  preload: Array.from({ length: 20 }, (_, i) => `some_long_module_name_${i}.submodule`),
};

/** The python3 command line inside a launch command: from PYTHON_BIN to the end. */
function pythonCommandLine(command: { file: string; args: string[] }): string[] {
  const argv = [command.file, ...command.args];
  return argv.slice(argv.lastIndexOf(OPTIONS.pythonBin));
}

describe('sandboxCommand', () => {
  it.each(['bwrap', 'process'] as const)('%s: python3 -I -S -B <package>, under 500 bytes, no source', (mode) => {
    const command = sandboxCommand({ ...OPTIONS, mode }, { ...CONFIG, isolate: mode === 'bwrap' });
    const python = pythonCommandLine(command);
    const packageDir = mode === 'bwrap' ? SANDBOX_PACKAGE_MOUNT : SANDBOX_PACKAGE_DIR;
    expect(python).toEqual([OPTIONS.pythonBin, '-I', '-S', '-B', packageDir]);
    expect(Buffer.byteLength(python.join(' '))).toBeLessThan(500);
    expect(python.join(' ')).not.toMatch(/\n|import|memory_mb/);
  });

  it('bwrap: the package is bound read-only; the configuration goes through --setenv', () => {
    const { args, env } = sandboxCommand({ ...OPTIONS, mode: 'bwrap' }, CONFIG);
    const bind = args.indexOf(SANDBOX_PACKAGE_DIR);
    expect(args.slice(bind - 1, bind + 2)).toEqual(['--ro-bind', SANDBOX_PACKAGE_DIR, SANDBOX_PACKAGE_MOUNT]);
    const setenv = args.indexOf(SERVER_CONFIG_ENV);
    expect(args[setenv - 1]).toBe('--setenv');
    expect(JSON.parse(args[setenv + 1])).toEqual({
      ...CONFIG,
      python_path: OPTIONS.pythonPath,
      preload: OPTIONS.preload,
    });
    expect(args.indexOf('--clearenv')).toBeLessThan(setenv);
    expect(env).toEqual({});
  });

  it('process: the configuration is the only environment variable', () => {
    const { env } = sandboxCommand({ ...OPTIONS, mode: 'process' }, { ...CONFIG, isolate: false });
    expect(Object.keys(env)).toEqual([SERVER_CONFIG_ENV]);
    expect(JSON.parse(env[SERVER_CONFIG_ENV]).preload).toEqual(OPTIONS.preload);
  });

  it('the package is shipped beside the runner', () => {
    expect(existsSync(join(SANDBOX_PACKAGE_DIR, '__main__.py'))).toBe(true);
  });
});
