import { join } from 'node:path';

export interface SandboxCommandOptions {
  mode: 'bwrap' | 'process';
  pythonBin: string;
  bwrapBin: string;
  /** Name the sandbox's UTS namespace (needs sethostname; see sandbox-probe.ts). Default true. */
  hostname?: boolean;
  /** Extra read-only directories, mounted at the same path and appended to sys.path. */
  pythonPath?: readonly string[];
  /** Modules the server imports before its first run. */
  preload?: readonly string[];
  /** The sandbox package's directory on the host (default SANDBOX_PACKAGE_DIR; see sandbox-package.ts). */
  packageDir?: string;
}

/**
 * The part of /etc that Debian's python3-* packages need to load (native libraries resolve
 * through ld.so.cache and /etc/alternatives), plus harmless locale and type data. Never
 * passwd, shadow, hosts or any service configuration. Entries missing on a host are skipped.
 */
export const SANDBOX_ETC_FILES: readonly string[] = [
  'alternatives',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'localtime',
  'timezone',
  'os-release',
  'mime.types',
  'matplotlibrc',
  'fonts', // fontconfig's configuration: matplotlib lists fonts with fc-list (else an error on every first import)
  'python3',
  'python3.11',
];

/** What every run of one server gets; fixed per server so it can prepare the next run ahead. */
export interface ServerRunConfig {
  isolate: boolean;
  memory_mb: number;
  scratch_mb: number;
  nproc: number;
  max_output_bytes: number;
  max_result_bytes: number;
  max_output_file_bytes: number;
  max_display_bytes: number;
  inotify_instances: number;
  inotify_watches: number;
  /**
   * Inherited descriptors of the run's memory cgroup (see ForkServer), or null: then a watchdog.
   * kill_fd: cgroup v2's cgroup.kill, or null (v1, or a kernel before 5.14).
   */
  run_cgroup: { tasks_fd: number; events_fd: number; kill_fd?: number | null } | null;
  memory_watchdog: boolean;
  python_path?: readonly string[];
  preload?: readonly string[];
  /** A session's server: one interpreter for call after call (pyexec_sandbox/session.py). */
  session?: boolean;
}

/** The sandbox side's Python package (a directory with __main__.py), shipped beside this file. */
export const SANDBOX_PACKAGE_DIR = join(__dirname, 'python', 'pyexec_sandbox');
/** Where bwrap binds it, read-only; the parent holds nothing else (the package imports itself from there). */
export const SANDBOX_PACKAGE_MOUNT = '/pyexec/pyexec_sandbox';
/** The environment variable that carries the server's configuration (JSON): never on a command line. */
export const SERVER_CONFIG_ENV = 'PYEXEC_SERVER_CONFIG';

/** The fork server's own command line: no source and no configuration on it (short, and nothing to read in ps). */
/** Debian's merged /usr: the top-level links a sandbox needs beside its read-only /usr (also the boot probe's). */
export const USR_MERGED_LINKS = [
  '--symlink',
  'usr/lib',
  '/lib',
  '--symlink',
  'usr/lib64',
  '/lib64',
  '--symlink',
  'usr/bin',
  '/bin',
];

export function forkServerArgv(pythonBin: string, packageDir: string): string[] {
  return [pythonBin, '-I', '-S', '-B', packageDir];
}

/**
 * argv and environment for one long-lived fork server. bwrap: nothing of the host but a read-only
 * /usr and the package; the configuration goes in through bwrap's --setenv (bwrap clears the rest).
 */
export function sandboxCommand(
  options: SandboxCommandOptions,
  config: ServerRunConfig,
): { file: string; args: string[]; env: Record<string, string> } {
  const pythonPath = options.pythonPath ?? [];
  const serverConfig = JSON.stringify({ ...config, python_path: pythonPath, preload: options.preload ?? [] });
  if (options.mode === 'process') {
    const python = forkServerArgv(options.pythonBin, options.packageDir ?? SANDBOX_PACKAGE_DIR);
    return { file: python[0], args: python.slice(1), env: { [SERVER_CONFIG_ENV]: serverConfig } };
  }
  const etc = SANDBOX_ETC_FILES.flatMap((name) => ['--ro-bind-try', `/etc/${name}`, `/etc/${name}`]);
  const extra = pythonPath.filter((dir) => !dir.startsWith('/usr/')).flatMap((dir) => ['--ro-bind', dir, dir]);
  const args = [
    '--unshare-all',
    '--die-with-parent',
    '--new-session',
    '--clearenv',
    '--setenv',
    'PATH',
    '/usr/local/bin:/usr/bin:/bin',
    '--setenv',
    'LANG',
    'C.UTF-8',
    '--setenv',
    SERVER_CONFIG_ENV,
    serverConfig,
    '--ro-bind',
    '/usr',
    '/usr',
    '--ro-bind',
    options.packageDir ?? SANDBOX_PACKAGE_DIR,
    SANDBOX_PACKAGE_MOUNT,
    ...etc,
    ...extra,
    ...USR_MERGED_LINKS,
    '--symlink',
    'usr/sbin',
    '/sbin',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--remount-ro',
    '/dev', // shared by the server's runs: each mounts its own /dev/shm and /dev/pts
    '--tmpfs',
    '/tmp',
    ...(options.hostname === false ? [] : ['--hostname', 'sandbox']),
    '--remount-ro',
    '/',
    '--cap-drop',
    'ALL',
    ...forkServerArgv(options.pythonBin, SANDBOX_PACKAGE_MOUNT),
  ];
  return { file: options.bwrapBin, args, env: {} };
}
