"""Without a memory cgroup: the server sums a run's memory every WATCHDOG_SEC and kills it over its
limit. It fails closed: a run whose memory cannot be read is over its limit."""
import os

from .protocol import log

WATCHDOG_SEC = 0.05  # how often the server sums the run's memory


def watchdog_bytes(isolate, pid, run_id):
    """The run's memory in bytes; infinity when it cannot be measured (pid 1 gone: 0, its run is ending)."""
    try:
        return run_memory_bytes(isolate, pid)
    except (FileNotFoundError, ProcessLookupError):
        return 0
    except Exception as exc:
        log('run %s: memory watchdog cannot measure it (%s: %s): killed as over its limit'
            % (run_id, type(exc).__name__, exc))
        return float('inf')


def run_memory_bytes(isolate, pid):
    """The run's PSS over all its processes, plus its tmpfs and memfd pages. The server reads them
    through pid 1's root: the run's own /proc and /tmp. (Such runs have no SysV shared memory, which
    lives in the run's ipc namespace: see seccomp.program().) Listing a process's descriptors also
    fails for one whose memory the server may not read (non-dumpable), where its smaps_rollup does not."""
    total = 0
    files = set()
    for proc in run_proc_dirs(isolate, pid):
        try:
            with open(proc + '/smaps_rollup', 'rb') as f:
                for line in f:
                    if line.startswith(b'Pss:'):
                        total += int(line.split()[1]) * 1024
                        break
            fd_dir = proc + '/fd/'
            for fd in os.listdir(fd_dir):
                if os.readlink(fd_dir + fd).startswith('/memfd:'):
                    st = os.stat(fd_dir + fd)
                    if (st.st_dev, st.st_ino) not in files:
                        files.add((st.st_dev, st.st_ino))
                        total += st.st_blocks * 512
        except (FileNotFoundError, ProcessLookupError):
            pass  # exited meanwhile (PermissionError is not: see watchdog_bytes)
    if isolate:
        st = os.statvfs('/proc/%d/root/tmp' % pid)
        total += (st.f_blocks - st.f_bfree) * st.f_frsize
    return total


def run_proc_dirs(isolate, pid):
    if isolate:  # the run's own /proc, which pid 1 mounted in its namespaces
        proc = '/proc/%d/root/proc/' % pid
        return [proc + name for name in os.listdir(proc) if name.isdigit()]
    out = []
    for name in os.listdir('/proc'):  # SANDBOX=process: the run's session
        try:
            with open('/proc/%s/stat' % name, 'rb') as f:
                if name.isdigit() and int(f.read().rsplit(b')', 1)[1].split()[3]) == pid:
                    out.append('/proc/' + name)
        except (OSError, ValueError, IndexError):
            pass
    return out
