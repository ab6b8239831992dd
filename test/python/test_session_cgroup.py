"""A session's server with a memory cgroup (SANDBOX=process; a pipe stands in for the cgroup's tasks
file, as the service hands it down): the interpreter joins it once, while it is prepared, before any
call, and no call finds a handle on it."""
import json
import os
import subprocess
import tempfile
import unittest

import support
from pyexec_sandbox import protocol
from pyexec_sandbox.config import CONFIG_ENV
from test_server import PYTHON_BIN, ServerProcessCase
from test_session import SESSION_CONFIG


class SessionCgroupTest(ServerProcessCase):
    def setUp(self):
        self.tasks_r, tasks_w = os.pipe()
        events = tempfile.TemporaryFile()
        events.write(b'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n')
        events.flush()
        self.addCleanup(events.close)
        self.addCleanup(os.close, self.tasks_r)
        config = dict(SESSION_CONFIG, run_cgroup={'tasks_fd': tasks_w, 'events_fd': events.fileno()})
        self.proc = subprocess.Popen([PYTHON_BIN, '-I', '-S', '-B', support.PACKAGE_DIR], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd='/',
                                     env={CONFIG_ENV: json.dumps(config)}, pass_fds=(tasks_w, events.fileno()))
        os.close(tasks_w)
        self.addCleanup(self.stop)
        self.heartbeats = {}

    def call(self, code):
        self.send({'op': 'run', 'id': 'c', 'code': code, 'stdin': '', 'timeout_ms': 10000, 'cpu_sec': 11})
        return self.receive()

    def test_the_interpreter_joins_its_cgroup_before_the_first_call_and_keeps_no_handle_on_it(self):
        self.assertEqual(self.receive()['op'], 'ready')
        os.set_blocking(self.tasks_r, False)  # already written when the server says ready
        self.assertEqual(os.read(self.tasks_r, 16), b'0')  # "0": the writer itself, pid 1 of the session
        done = self.call('import os\nos.path.exists("/proc/self/fd/%d")' % protocol.CGROUP_TASKS_FD)
        self.assertEqual(done['result'], False)
        self.assertEqual(self.call('1 + 1')['result'], 2)


if __name__ == '__main__':
    unittest.main()
