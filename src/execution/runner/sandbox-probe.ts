import { spawnSync } from 'node:child_process';
import { USR_MERGED_LINKS } from './sandbox-command';

/** What one trial sandbox showed this machine allows. */
export interface SandboxProbe {
  /** bwrap may name the sandbox's UTS namespace (`--hostname`, the sethostname call). */
  hostname: boolean;
}

const PROBE_TIMEOUT_MS = 10_000;

/** The namespaces and mounts of a real fork server's bwrap (see sandbox-command.ts), around `python3 -c ''`. */
function probeArgs(pythonBin: string, hostname: boolean): string[] {
  return [
    '--unshare-all',
    '--die-with-parent',
    '--new-session',
    '--ro-bind',
    '/usr',
    '/usr',
    ...USR_MERGED_LINKS,
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    ...(hostname ? ['--hostname', 'sandbox'] : []),
    '--remount-ro',
    '/',
    '--cap-drop',
    'ALL',
    pythonBin,
    '-I',
    '-S',
    '-c',
    '',
  ];
}

/**
 * bwrap's own complaint (its lines start with "bwrap:"), or undefined once the sandbox was built:
 * then the program's own failure, if any, is the fork server's to report.
 */
function tryOnce(bwrapBin: string, pythonBin: string, hostname: boolean): string | undefined {
  const result = spawnSync(bwrapBin, probeArgs(pythonBin, hostname), {
    cwd: '/',
    env: {},
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: PROBE_TIMEOUT_MS,
  });
  if (result.error) return result.error.message;
  if (result.status === 0) return undefined;
  return (result.stderr ?? '')
    .split('\n')
    .reverse()
    .find((line) => line.startsWith('bwrap:'));
}

/**
 * Starts one trial sandbox before the service boots. Without sethostname (refused by every default
 * seccomp profile) the sandbox keeps the inherited hostname; any other refusal stops the boot with
 * the missing permission and the option that grants it.
 */
export function probeSandbox(bwrapBin: string, pythonBin: string): SandboxProbe {
  const withHostname = tryOnce(bwrapBin, pythonBin, true);
  if (withHostname === undefined) return { hostname: true };
  const plain = tryOnce(bwrapBin, pythonBin, false);
  if (plain === undefined) return { hostname: false };
  throw new Error(explainSandboxFailure(plain));
}

/** Which permission bwrap's complaint shows missing, and what grants it (README "Deployment"). */
export function explainSandboxFailure(complaint: string): string {
  const said = `bubblewrap cannot start a sandbox ("${complaint}")`;
  if (/Unexpected capabilities but not setuid/.test(complaint)) {
    return `${said}: the process has capabilities; bwrap as a non-root user refuses them. Drop them all (compose cap_drop: [ALL], Kubernetes capabilities.drop: [ALL]) and never add SYS_ADMIN`;
  }
  if (/proc/.test(complaint) && /Operation not permitted|Permission denied/.test(complaint)) {
    return `${said}: a new /proc may be mounted only where the container's /proc is fully visible. Unmask it: compose/docker security_opt systempaths=unconfined (podman: unmask=/proc/*), Kubernetes securityContext.procMount: Unmasked with hostUsers: false`;
  }
  if (/namespace|uid map|setting up uid|No space left/i.test(complaint)) {
    return `${said}: user namespaces are not allowed. In a container use the seccomp profile deploy/seccomp/pyexec-bwrap.json (compose security_opt seccomp=..., Kubernetes seccompProfile type Localhost; podman's and CRI-O's default profiles also allow them); on a host allow unprivileged user namespaces (sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone=1, Ubuntu: kernel.apparmor_restrict_unprivileged_userns=0)`;
  }
  if (/mount|pivot_root|Operation not permitted/.test(complaint)) {
    return `${said}: unshare, mount, umount2 or pivot_root is refused, as Docker's and containerd's default seccomp profiles do. Use the seccomp profile deploy/seccomp/pyexec-bwrap.json (compose security_opt seccomp=..., Kubernetes seccompProfile type Localhost)`;
  }
  return `${said}: see README "Deployment" for the container options bubblewrap needs, or set SANDBOX=process (no isolation)`;
}
