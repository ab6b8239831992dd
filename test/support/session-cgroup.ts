// Where a session's interpreter has its memory cgroup on the host (as root with cgroups), found from
// its server's pid (a call's queue_id) and the layout of slot-cgroups.ts / slot-cgroups-v2.ts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CGROUP2_ROOT, isCgroupV2 } from '../../src/execution/runner/cgroup-v2';
import { cgroupBases } from '../../src/execution/runner/slot-cgroups';

export interface SessionMemoryCgroup {
  dir: string;
  /** Its memory limit in bytes (v1 memory.limit_in_bytes, v2 memory.max). */
  limitBytes(): number;
  /** Processes in it (v1: its tasks). */
  processes(): number[];
  exists(): boolean;
}

/** The memory cgroup of the session whose server has host pid `serverPid`; undefined without one. */
export function sessionMemoryCgroup(serverPid: number): SessionMemoryCgroup | undefined {
  const own = readFileSync(`/proc/${serverPid}/cgroup`, 'utf8');
  let dir: string | undefined;
  let limitFile: string;
  let procsFile: string;
  if (isCgroupV2()) {
    // 0::/<service>/pyexec-<pid>-<id>/slot-<n>/server: its interpreter is in slot-<n>/run
    const server = /^0::(.*\/pyexec-\d+-\w+\/slot-\d+)\/server$/m.exec(own)?.[1];
    dir = server && join(CGROUP2_ROOT, server, 'run');
    limitFile = 'memory.max';
    procsFile = 'cgroup.procs';
  } else {
    // pids:/pyexec-<pid>-<id>/server-<n>; the memory hierarchy has pyexec-<pid>-<id>/run-<n>, below
    // the service's own memory cgroup
    const server = /^\d+:pids:.*\/(pyexec-\d+-\w+)\/server-(\d+)$/m.exec(own);
    const memory = cgroupBases().memory;
    dir = server && memory ? join(memory, server[1], `run-${server[2]}`) : undefined;
    limitFile = 'memory.limit_in_bytes';
    procsFile = 'tasks';
  }
  if (!dir || !existsSync(dir)) return undefined;
  const found = dir;
  return {
    dir: found,
    limitBytes: () => Number(readFileSync(join(found, limitFile), 'utf8')),
    processes: () => readFileSync(join(found, procsFile), 'utf8').split('\n').filter(Boolean).map(Number),
    exists: () => existsSync(found),
  };
}
