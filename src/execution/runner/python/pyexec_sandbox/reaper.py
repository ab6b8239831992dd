"""Ending a run's processes: SIGKILL (the whole pid namespace dies with its pid 1), reaping within a
grace, and the pids the kernel held past it (stragglers), reaped later by the server loop."""
import os
import select
import signal
import time

from . import limits
from .protocol import log

# After SIGKILL, how long to wait for the run's pid namespace to die before reporting anyway.
KILL_GRACE_SEC = 0.5  # under the service's 1 s backstop, which would kill the whole server
STRAGGLERS = set()  # pids of killed runs reported before the kernel let them go; reaped later
EXITING = []  # (isolate, pid) of runs answered on their final report, reaped before the next run


def kill_run(isolate, pid):
    # Isolated runs die with their pid namespace's init; unisolated ones with their session.
    try:
        (os.kill if isolate else os.killpg)(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def kill_cgroup(cgroup):
    """cgroup v2: every process of the run, also those its pid 1 no longer holds (cgroup.kill)."""
    try:
        limits.kill_cgroup(cgroup)
    except OSError as exc:
        log('run cgroup: cgroup.kill failed: %s' % exc)


def kill_and_reap(isolate, pid):
    """For a run that is not supervised to its end: killed, and reaped now or, if the kernel holds
    it, by the server loop later (never a zombie per failed run)."""
    kill_run(isolate, pid)
    until = time.monotonic() + KILL_GRACE_SEC
    while True:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            return
        if time.monotonic() > until:
            STRAGGLERS.add(pid)
            return
        time.sleep(0.005)


def reap_exiting():
    """Runs answered before their pid 1 was reaped: killed (nothing for one already exiting; a run
    that forged a report and closed its descriptors is stopped here) and reaped, as kill_and_reap."""
    while EXITING:
        isolate, pid = EXITING.pop()
        kill_run(isolate, pid)
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            pidfd = None
        if pidfd is not None:
            try:
                select.select([pidfd], [], [], KILL_GRACE_SEC)
            finally:
                os.close(pidfd)
        try:
            if not os.waitpid(pid, os.WNOHANG)[0]:
                STRAGGLERS.add(pid)
        except ChildProcessError:
            pass


def reap_stragglers():
    for pid in list(STRAGGLERS):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            STRAGGLERS.discard(pid)


def main_thread_gone(pid):
    """pid 1's main thread has exited (a zombie leader: its other threads may live on); False if unknown."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            return f.read().rsplit(b')', 1)[1].split()[0] in (b'Z', b'X')
    except (OSError, IndexError):
        return False


def task_state(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            state = [line.split(':', 1)[1].strip() for line in f if line.startswith('State:')]
        with open('/proc/%d/wchan' % pid) as f:
            return '%s, wchan %s' % (state[0] if state else '?', f.read().strip() or '-')
    except OSError as exc:
        return 'unknown: %s' % exc
