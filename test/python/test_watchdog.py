"""The memory watchdog (no memory cgroup) and pid 1's liveness check, on real processes of this test."""
import os
import socket
import time
import unittest
from unittest import mock

import support  # noqa: F401
from pyexec_sandbox import reaper, watchdog

SYS_EXIT = {'x86_64': 60, 'aarch64': 93}[os.uname().machine]


def session_child(body):
    """A child in a session of its own (a SANDBOX=process run: the watchdog finds it by its session)
    that runs body() then waits on a pipe; returns (pid, release)."""
    ready_r, ready_w = os.pipe()
    hold_r, hold_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_r)
            os.close(hold_w)
            os.setsid()
            kept = body()  # noqa: F841 (held until released)
            os.write(ready_w, b'r')
            os.read(hold_r, 1)
        finally:
            os._exit(0)
    for fd in (ready_w, hold_r):
        os.close(fd)
    started = os.read(ready_r, 1)
    os.close(ready_r)
    if started != b'r':
        raise AssertionError('the child failed')

    def release():
        os.close(hold_w)
        os.waitpid(pid, 0)
    return pid, release


class WatchdogTest(unittest.TestCase):
    def test_sockets_are_charged_at_their_buffers(self):
        pid, release = session_child(lambda: [socket.socketpair() for _ in range(3)])
        self.addCleanup(release)
        charged = watchdog.Watchdog(False, pid, 'r', socket_bytes=64 << 20).run_bytes()
        uncharged = watchdog.Watchdog(False, pid, 'r', socket_bytes=0).run_bytes()
        self.assertLess(abs(charged - uncharged - 6 * (64 << 20)), 4 << 20)  # 6 sockets at 64 MiB each

    def test_a_zombie_or_gone_process_is_going_away_a_live_one_is_not(self):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        deadline = time.monotonic() + 5
        while not watchdog.going_away('/proc/%d' % pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertTrue(watchdog.going_away('/proc/%d' % pid))  # a zombie until reaped
        os.waitpid(pid, 0)
        self.assertTrue(watchdog.going_away('/proc/%d' % pid))  # gone
        self.assertFalse(watchdog.going_away('/proc/self'))

    def test_an_unreadable_live_process_fails_closed_an_exiting_one_does_not(self):
        pid, release = session_child(lambda: None)
        self.addCleanup(release)
        dog = watchdog.Watchdog(False, pid, 'r', socket_bytes=0)
        denied = PermissionError(13, 'Permission denied')
        with mock.patch('os.listdir', side_effect=lambda path: (_ for _ in ()).throw(denied)
                        if path.endswith('/fd/') else LISTDIR(path)):
            with mock.patch.object(watchdog, 'going_away', return_value=False):
                self.assertEqual(dog.run_bytes(), float('inf'))
            with mock.patch.object(watchdog, 'going_away', return_value=True):
                self.assertLess(dog.run_bytes(), float('inf'))

    def test_a_pass_over_its_budget_stops_and_the_next_goes_on(self):
        pids = [session_child(lambda: bytearray(8 << 20)) for _ in range(1)]
        for _, release in pids:
            self.addCleanup(release)
        dog = watchdog.Watchdog(False, pids[0][0], 'r', socket_bytes=0)
        with mock.patch.object(watchdog, 'PASS_BUDGET_SEC', -1):  # over budget before the first read
            self.assertEqual(dog.run_bytes(), 0)
        self.assertGreater(dog.run_bytes(), 8 << 20)  # read this time
        with mock.patch.object(watchdog, 'PASS_BUDGET_SEC', -1):
            self.assertGreater(dog.run_bytes(), 8 << 20)  # not reached: its last reading counts


class MainThreadGoneTest(unittest.TestCase):
    def test_a_raw_exit_of_the_main_thread_is_seen(self):
        pid = os.fork()
        if pid == 0:
            import ctypes
            import threading
            threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
            ctypes.CDLL(None).syscall(SYS_EXIT, 0)  # this thread only: the process lives on
            os._exit(1)
        self.addCleanup(lambda: (os.kill(pid, 9), os.waitpid(pid, 0)))
        deadline = time.monotonic() + 5
        while not reaper.main_thread_gone(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertTrue(reaper.main_thread_gone(pid))
        self.assertEqual(os.waitpid(pid, os.WNOHANG), (0, 0))  # yet the process is not over
        self.assertFalse(reaper.main_thread_gone(os.getpid()))


LISTDIR = os.listdir

if __name__ == '__main__':
    unittest.main()
