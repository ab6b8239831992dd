"""The package as the service starts it (SANDBOX=process: no namespaces, so it runs anywhere):
python3 -I -S -B <package dir>, configuration in the environment, frames on stdin/stdout."""
import json
import os
import struct
import subprocess
import time
import unittest

import support
from pyexec_sandbox import protocol
from pyexec_sandbox.config import CONFIG_ENV, RunCgroup, ServerConfig

CONFIG = {'isolate': False, 'memory_mb': 256, 'scratch_mb': 16, 'nproc': 64, 'max_output_bytes': 1000,
          'max_result_bytes': 10000, 'inotify_instances': 8, 'inotify_watches': 64, 'run_cgroup': None,
          'memory_watchdog': True, 'python_path': [], 'preload': [], 'max_output_file_bytes': 1 << 20,
          'max_display_bytes': 1 << 20, 'a_field_from_a_newer_service': 1}
PYTHON_BIN = os.environ.get('PYTHON_BIN', '/usr/bin/python3')


def pids_with(marker, until):
    """Processes whose command line holds `marker`, polled until there are none or `until` passes."""
    while True:
        found = []
        for name in filter(str.isdigit, os.listdir('/proc')):
            try:
                with open('/proc/%s/cmdline' % name, 'rb') as f:
                    if marker.encode() in f.read():
                        found.append(int(name))
            except OSError:
                pass
        if not found or time.monotonic() > until:
            return found
        time.sleep(0.02)


class ConfigTest(unittest.TestCase):
    def test_from_json(self):
        config = ServerConfig.from_json(json.dumps(dict(CONFIG, run_cgroup={'tasks_fd': 3, 'events_fd': 4},
                                                        preload=['json'])))
        self.assertEqual(config.run_cgroup, RunCgroup(3, 4))
        self.assertEqual((config.preload, config.isolate, config.memory_mb), (('json',), False, 256))

    def test_a_v2_run_cgroup_has_its_kill_descriptor(self):
        cgroup = {'tasks_fd': 3, 'events_fd': 4, 'kill_fd': 5}
        self.assertEqual(ServerConfig.from_json(json.dumps(dict(CONFIG, run_cgroup=cgroup))).run_cgroup,
                         RunCgroup(3, 4, 5))
        cgroup['kill_fd'] = None  # v1, or a kernel without cgroup.kill
        self.assertEqual(ServerConfig.from_json(json.dumps(dict(CONFIG, run_cgroup=cgroup))).run_cgroup.kill_fd, None)

    def test_a_missing_field_raises(self):
        with self.assertRaises(KeyError):
            ServerConfig.from_json(json.dumps({k: v for k, v in CONFIG.items() if k != 'memory_mb'}))


class ServerProcessCase(unittest.TestCase):
    """A server started as the service starts it, with `config`; frames in and out (no tests of its own)."""
    config = CONFIG

    def setUp(self):
        self.proc = subprocess.Popen([PYTHON_BIN, '-I', '-S', '-B', support.PACKAGE_DIR], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd='/',
                                     env={CONFIG_ENV: json.dumps(self.config)})
        self.addCleanup(self.stop)
        self.heartbeats = {}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()

    def send(self, message):
        self.proc.stdin.write(protocol.encode_frame(message))
        self.proc.stdin.flush()

    def receive(self):
        """The next frame but heartbeats, which are counted per run id in self.heartbeats."""
        while True:
            header = self.proc.stdout.read(4)
            self.assertEqual(len(header), 4, self.proc.stderr.read1(4096) if self.proc.poll() is not None else '')
            message = json.loads(self.proc.stdout.read(struct.unpack('>I', header)[0]))
            if message['op'] != 'heartbeat':
                return message
            self.assertEqual(set(message), {'op', 'id'})
            self.heartbeats[message['id']] = self.heartbeats.get(message['id'], 0) + 1


class ServerTest(ServerProcessCase):
    def run_code(self, code, run_id='r', stdin='', timeout_ms=10000):
        self.send({'op': 'run', 'id': run_id, 'code': code, 'stdin': stdin, 'timeout_ms': timeout_ms, 'cpu_sec': 11})
        return self.receive()

    def test_ready_then_runs(self):
        ready = self.receive()
        self.assertEqual((ready['op'], ready['pid']), ('ready', self.proc.pid))
        done = self.run_code('print("hi")\nimport sys\nsys.stdin.read() * 2', stdin='ab')
        self.assertEqual((done['op'], done['id'], done['stdout'], done['result'], done['status']),
                         ('done', 'r', 'hi\n', 'abab', 'exited'))
        done = self.run_code('raise ValueError("no")', run_id='r2')
        self.assertEqual((done['id'], done['error'], done['exit_code']), ('r2', 'ValueError: no', 1))
        self.assertNotIn('pyexec_sandbox', done['stderr'])

    def test_runs_see_neither_the_configuration_nor_the_package_path(self):
        self.receive()
        done = self.run_code('import os, sys\n[sorted(os.environ), [p for p in sys.path if "runner" in p]]')
        self.assertNotIn(CONFIG_ENV, done['result'][0])
        self.assertIn('PATH', done['result'][0])
        self.assertEqual(done['result'][1], [])

    def test_timeout_and_cancel(self):
        self.receive()
        done = self.run_code('import time\ntime.sleep(30)', timeout_ms=300)
        self.assertEqual((done['status'], done['exit_code']), ('timeout', 124))
        self.send({'op': 'run', 'id': 'c', 'code': 'import time\nprint("started", flush=True)\ntime.sleep(30)',
                   'stdin': '', 'timeout_ms': 20000, 'cpu_sec': 21})
        self.send({'op': 'cancel', 'id': 'c'})
        self.assertEqual(self.receive()['status'], 'cancelled')

    def test_a_streamed_run_sends_its_output_as_it_comes_then_done(self):
        self.receive()
        code = 'import sys, time\nprint("one", flush=True)\ntime.sleep(0.2)\nprint("x" * 2000)\nsys.stderr.write("e")'
        self.send({'op': 'run', 'id': 's', 'code': code, 'stdin': '', 'timeout_ms': 10000, 'cpu_sec': 11,
                   'stream': True})
        first = self.receive()
        self.assertEqual(first, protocol.output_frame('s', 'stdout', 'one\n'))
        frames = [first]
        while frames[-1]['op'] == 'output':
            frames.append(self.receive())
        done = frames[-1]
        self.assertEqual((done['op'], done['stdout_truncated']), ('done', True))  # the cap is 1000 bytes
        streamed = ''.join(f['data'] for f in frames if f['op'] == 'output' and f['stream'] == 'stdout')
        self.assertEqual(streamed, done['stdout'])  # the cap applies to the stream as to the answer
        self.assertEqual(''.join(f['data'] for f in frames if f.get('stream') == 'stderr'), 'e')

    def test_heartbeats_while_a_run_is_supervised(self):
        self.receive()
        done = self.run_code('import time\ntime.sleep(1.2)', run_id='slow')
        self.assertEqual(done['status'], 'exited')
        self.assertGreaterEqual(self.heartbeats.get('slow', 0), 3)  # every 0.25 s

    def test_answered_on_its_final_report_then_reaped_before_the_next_run(self):
        self.receive()
        # A report forged by user code, every descriptor closed, then it goes on: answered on the
        # report, as if it had exited, and killed and reaped before the next run starts.
        code = ('import json, os, time\nprint(os.getpid(), flush=True)\n'
                'body = json.dumps({"ok": True, "result": "forged"}).encode()\n'
                'os.write(%d, %r + b"%%d\\n" %% len(body) + body)\n'
                'os.closerange(0, 1024)\ntime.sleep(30)' % (protocol.HARNESS_RESULT_FD, protocol.RESULT_MAGIC))
        started = time.monotonic()
        done = self.run_code(code, run_id='forger')
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual((done['status'], done['exit_code'], done['result']), ('exited', 0, 'forged'))
        pid = int(done['stdout'])
        self.assertEqual(self.run_code('6 * 7', run_id='next')['result'], 42)
        with self.assertRaises(ProcessLookupError):
            os.kill(pid, 0)

    def test_a_child_that_goes_on_writing_does_not_hold_the_answer(self):
        self.receive()
        started = time.monotonic()
        marker = 'writer-%d' % os.getpid()
        done = self.run_code('import subprocess\nprint("main", flush=True)\nsubprocess.Popen(["/usr/bin/yes", "%s"])\n7'
                             % marker, run_id='writer')
        self.assertLess(time.monotonic() - started, 5)  # not its 10 s timeout
        self.assertEqual((done['status'], done['result'], done['stdout'][:5]), ('exited', 7, 'main\n'))
        self.assertEqual(pids_with(marker, until=time.monotonic() + 2), [])
        self.assertEqual(self.run_code('1 + 1', run_id='after')['result'], 2)

    def test_end_of_input_stops_the_server(self):
        self.receive()
        self.proc.stdin.close()
        self.assertEqual(self.proc.wait(timeout=10), 0)

    def test_bad_configuration_is_one_log_line_and_exit_1(self):
        proc = subprocess.run([PYTHON_BIN, '-I', '-S', '-B', support.PACKAGE_DIR], capture_output=True, cwd='/',
                              env={CONFIG_ENV: '{"isolate": false}'}, timeout=30)
        self.assertEqual(proc.returncode, 1)
        self.assertRegex(proc.stderr.decode(), r"^forkserver\[\d+\]: fatal: KeyError: 'memory_mb'\n$")


if __name__ == '__main__':
    unittest.main()
