import { readFileSync } from 'node:fs';
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
  inotify_instances: number;
  inotify_watches: number;
  /** Inherited descriptors of the run's memory cgroup (see ForkServer), or null: then a watchdog. */
  run_cgroup: { tasks_fd: number; events_fd: number } | null;
  memory_watchdog: boolean;
  python_path?: readonly string[];
  preload?: readonly string[];
}

let forkServerSource: string | undefined;

/** The fork server's text, passed with -c so the sandbox needs no access to our files. */
export function forkServerCode(): string {
  forkServerSource ??= readFileSync(join(__dirname, 'python', 'forkserver.py'), 'utf8');
  return forkServerSource;
}

/** argv for one long-lived fork server. bwrap: nothing of the host but a read-only /usr. */
export function sandboxCommand(
  options: SandboxCommandOptions,
  config: ServerRunConfig,
): { file: string; args: string[] } {
  const pythonPath = options.pythonPath ?? [];
  const serverConfig = { ...config, python_path: pythonPath, preload: options.preload ?? [] };
  const python = [options.pythonBin, '-I', '-S', '-B', '-c', forkServerCode(), JSON.stringify(serverConfig)];
  if (options.mode === 'process') {
    return { file: python[0], args: python.slice(1) };
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
    '--ro-bind',
    '/usr',
    '/usr',
    ...etc,
    ...extra,
    '--symlink',
    'usr/lib',
    '/lib',
    '--symlink',
    'usr/lib64',
    '/lib64',
    '--symlink',
    'usr/bin',
    '/bin',
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
    ...python,
  ];
  return { file: options.bwrapBin, args };
}
