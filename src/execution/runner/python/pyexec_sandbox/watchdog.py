"""Without a memory cgroup: the server sums a run's memory every WATCHDOG_SEC and kills it over its
limit. It fails closed: a run whose memory cannot be read is over its limit; but a process that is
going away (exiting, a zombie, gone) is not unmeasurable, its memory is being freed."""
import os
import time

from .protocol import log

WATCHDOG_SEC = 0.05  # how often the server sums the run's memory
PASS_BUDGET_SEC = 0.1  # one pass reads processes until this; the next pass goes on from there
PF_EXITING = 0x4  # task flag: in do_exit, its memory released or being released
DEFAULT_SOCKET_BUFFER_BYTES = 212992


def socket_charge_bytes():
    """What one socket can hold in kernel buffers the watchdog cannot read: its default send and
    receive buffers (seccomp refuses such runs larger ones: seccomp.SOCKET_BUFFER_OPTIONS)."""
    total = 0
    for name in ('wmem_default', 'rmem_default'):
        try:
            with open('/proc/sys/net/core/' + name) as f:
                total += int(f.read())
        except (OSError, ValueError):
            total += DEFAULT_SOCKET_BUFFER_BYTES
    return total


class RunGone(Exception):
    """pid 1 has no root any more: its main thread exited (the run is ending, or hides behind threads)."""


class Watchdog:
    """One run's measure. A pass reads processes for at most PASS_BUDGET_SEC (a pass that overran the
    service's backstop once made a 500); processes it did not reach count with their last reading,
    and are read first next time, so a run with many processes is still measured whole, a bit later."""

    def __init__(self, isolate, pid, run_id, socket_bytes):
        self.isolate, self.pid, self.run_id, self.socket_bytes = isolate, pid, run_id, socket_bytes
        self.last = {}  # proc dir -> (bytes of its own, {memfd (dev, ino): bytes}, {socket names})

    def run_bytes(self):
        """The run's memory in bytes; infinity when it cannot be measured. Raises RunGone."""
        try:
            return self.measure()
        except (FileNotFoundError, ProcessLookupError) as exc:
            raise RunGone() from exc
        except Exception as exc:
            log('run %s: memory watchdog cannot measure it (%s: %s): killed as over its limit'
                % (self.run_id, type(exc).__name__, exc))
            return float('inf')

    def measure(self):
        until = time.monotonic() + PASS_BUDGET_SEC
        procs = set(run_proc_dirs(self.isolate, self.pid))
        readings = {p: self.last[p] for p in self.last if p in procs}
        # never read first, then the oldest readings; those not reached this time count as last read
        for proc in [p for p in procs if p not in readings] + list(readings):
            if time.monotonic() > until:
                break
            reading = read_process(proc)
            if reading is None:
                readings.pop(proc, None)
                continue
            readings[proc] = reading
            self.last.pop(proc, None)
            self.last[proc] = reading  # most recently read last
        for proc in list(self.last):
            if proc not in readings:
                del self.last[proc]
        return self.total(readings)

    def total(self, readings):
        total, files, sockets = 0, {}, set()
        for own, memfds, socks in readings.values():
            total += own
            files.update(memfds)
            sockets |= socks
        total += sum(files.values()) + len(sockets) * self.socket_bytes
        if self.isolate:
            st = os.statvfs('/proc/%d/root/tmp' % self.pid)
            total += (st.f_blocks - st.f_bfree) * st.f_frsize
        return total


def read_process(proc):
    """(PSS, its memfd files, its sockets) of one process; None when it is going away. Raises
    PermissionError for one whose memory the server may not read (see Watchdog.run_bytes)."""
    try:
        with open(proc + '/smaps_rollup', 'rb') as f:
            pss = 0
            for line in f:
                if line.startswith(b'Pss:'):
                    pss = int(line.split()[1]) * 1024
                    break
        memfds, sockets = {}, set()
        fd_dir = proc + '/fd/'
        for fd in os.listdir(fd_dir):
            target = os.readlink(fd_dir + fd)
            if target.startswith('socket:'):
                sockets.add(target)
            elif target.startswith('/memfd:'):
                st = os.stat(fd_dir + fd)
                memfds[(st.st_dev, st.st_ino)] = st.st_blocks * 512
        return pss, memfds, sockets
    except (FileNotFoundError, ProcessLookupError):
        return None  # exited meanwhile
    except PermissionError:
        # Listing a process's descriptors fails for one whose memory the server may not read, and
        # also for one that is exiting (its memory is already gone): only the first is unmeasurable.
        if going_away(proc):
            return None
        raise


def going_away(proc):
    """A zombie, a dead task, one in do_exit (PF_EXITING), or gone: /proc/<pid>/stat is readable for any."""
    try:
        with open(proc + '/stat', 'rb') as f:
            fields = f.read().rsplit(b')', 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return True
    state, flags = fields[0], int(fields[6])
    return state in (b'Z', b'X', b'x') or bool(flags & PF_EXITING)


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
