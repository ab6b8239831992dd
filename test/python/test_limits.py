import os
import resource
import tempfile
import unittest

import support  # noqa: F401
from pyexec_sandbox import limits
from pyexec_sandbox.config import RunCgroup, ServerConfig

CONFIG = ServerConfig(isolate=True, memory_mb=256, scratch_mb=64, nproc=32, max_output_bytes=1000,
                      max_result_bytes=1000, inotify_instances=8, inotify_watches=512, run_cgroup=None,
                      memory_watchdog=True)


class RlimitsTest(unittest.TestCase):
    def test_values(self):
        got = {limit.resource: limit.value for limit in limits.run_rlimits(CONFIG, preload_vm_bytes=4096)}
        self.assertEqual(got, {
            resource.RLIMIT_AS: 256 * 1024 * 1024 + 4096 + limits.RESERVED_ADDRESS_SPACE_BYTES,
            resource.RLIMIT_FSIZE: 64 * 1024 * 1024,
            resource.RLIMIT_NOFILE: 256,
            resource.RLIMIT_NPROC: 32,
            resource.RLIMIT_CORE: 0,
            resource.RLIMIT_MSGQUEUE: 0,
            resource.RLIMIT_SIGPENDING: 1024,
        })

    def test_applied_as_soft_and_hard_limits(self):
        """In a child: limits only go down, and this process keeps its own."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                limits.apply_rlimits(limits.run_rlimits(CONFIG, 0))
                limits.set_cpu_limit(7)
                got = [resource.getrlimit(which) for which in (resource.RLIMIT_NOFILE, resource.RLIMIT_FSIZE,
                                                               resource.RLIMIT_CPU)]
                os.write(w, repr(got).encode())
            finally:
                os._exit(0)
        os.close(w)
        got = os.read(r, 4096).decode()
        os.close(r)
        os.waitpid(pid, 0)
        self.assertEqual(got, repr([(256, 256), (64 << 20, 64 << 20), (7, 7)]))

    def test_user_namespace_caps(self):
        self.assertEqual(dict(limits.user_namespace_caps(CONFIG)),
                         {'max_user_namespaces': 0, 'max_inotify_instances': 8, 'max_inotify_watches': 512})


class OomKillsTest(unittest.TestCase):
    def test_parse_v1_and_v2(self):
        self.assertEqual(limits.parse_oom_kills(b'oom_kill_disable 0\nunder_oom 0\noom_kill 3\n'), 3)  # v1
        self.assertEqual(limits.parse_oom_kills(b'low 0\nhigh 0\nmax 2\noom 2\noom_kill 2\noom_group_kill 0\n'), 2)
        self.assertEqual(limits.parse_oom_kills(b''), 0)

    def test_read_from_the_events_descriptor_each_time(self):
        with tempfile.TemporaryFile() as f:
            f.write(b'oom 1\noom_kill 1\n')
            f.flush()
            cgroup = RunCgroup(tasks_fd=-1, events_fd=f.fileno())
            self.assertEqual(limits.oom_kills(cgroup), 1)
            os.pwrite(f.fileno(), b'oom 5\noom_kill 5\n', 0)
            self.assertEqual(limits.oom_kills(cgroup), 5)

    def test_kill_cgroup_writes_1_to_cgroup_kill(self):
        with tempfile.TemporaryFile() as f:
            self.assertTrue(limits.kill_cgroup(RunCgroup(tasks_fd=-1, events_fd=-1, kill_fd=f.fileno())))
            f.seek(0)
            self.assertEqual(f.read(), b'1')
        self.assertFalse(limits.kill_cgroup(RunCgroup(tasks_fd=-1, events_fd=-1)))  # v1: none
        self.assertFalse(limits.kill_cgroup(None))

    def test_vm_size(self):
        self.assertGreater(limits.vm_size_bytes(), 1 << 20)


if __name__ == '__main__':
    unittest.main()
