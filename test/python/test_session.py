"""A session's server as the service starts it (SANDBOX=process here: no namespaces, so it runs
anywhere): one interpreter, call after call, its state kept; interrupts, timeouts and endings."""
import os
import time
import unittest

import support  # noqa: F401 (puts the package on sys.path)
from pyexec_sandbox import session
from test_server import CONFIG, ServerProcessCase

SESSION_CONFIG = dict(CONFIG, session=True)


class SessionTest(ServerProcessCase):
    config = SESSION_CONFIG

    def setUp(self):
        super().setUp()
        self.ready = self.receive()

    def call(self, code, call_id='c', stdin='', timeout_ms=10000, **extra):
        self.send({'op': 'run', 'id': call_id, 'code': code, 'stdin': stdin, 'timeout_ms': timeout_ms,
                   'cpu_sec': 11, **extra})
        return self.receive()

    def test_globals_imports_and_files_persist_between_calls(self):
        self.assertEqual(self.ready['op'], 'ready')
        self.assertEqual(self.call('import json\nx = 1\nopen("f.txt", "w").write("kept")\nx')['result'], 1)
        done = self.call('x += 1\n[x, json.dumps([1]), open("f.txt").read()]', call_id='c2')
        self.assertEqual((done['id'], done['result'], done['status']), ('c2', [2, '[1]', 'kept'], 'exited'))
        self.assertNotIn('session_ended', done)

    def test_each_call_has_its_own_output_stdin_result_rule_and_exit_code(self):
        first = self.call('print("one")\nreturn 5')
        self.assertEqual((first['stdout'], first['result']), ('one\n', 5))
        second = self.call('import sys\nprint(sys.stdin.read())\nsys.exit(3)', stdin='in')
        self.assertEqual((second['stdout'], second['exit_code'], second['error']), ('in\n', 3, 'SystemExit: 3'))
        third = self.call('raise ValueError("no")')
        self.assertEqual((third['exit_code'], third['error'], third['stdout']), (1, 'ValueError: no', ''))
        self.assertIn('ValueError', third['stderr'])
        self.assertEqual(self.call('1 + 1')['result'], 2)  # the session lives on after all of them

    def test_interrupt_raises_keyboard_interrupt_and_state_survives(self):
        self.call('y = 41')
        self.send({'op': 'run', 'id': 'i', 'code': 'import time\nprint("go", flush=True)\ntime.sleep(30)',
                   'stdin': '', 'timeout_ms': 20000, 'cpu_sec': 21, 'stream': True})
        self.assertEqual(self.receive()['data'], 'go\n')
        self.send({'op': 'interrupt', 'id': 'i'})
        done = self.receive()
        while done['op'] == 'output':
            done = self.receive()
        self.assertEqual((done['error'], done['exit_code']), ('KeyboardInterrupt', 1))
        self.assertEqual(self.call('y + 1')['result'], 42)

    def test_a_timeout_interrupts_the_call_and_the_session_survives(self):
        done = self.call('import time\ntime.sleep(30)', timeout_ms=300)
        self.assertEqual((done['status'], done['exit_code']), ('timeout', 124))
        self.assertNotIn('session_ended', done)
        self.assertEqual(self.call('"alive"')['result'], 'alive')

    def test_a_call_that_ignores_its_interrupt_ends_the_session(self):
        code = 'import time\nwhile True:\n    try:\n        time.sleep(5)\n    except KeyboardInterrupt:\n        pass'
        done = self.call(code, timeout_ms=300)
        self.assertEqual((done['status'], done['session_ended']), ('timeout', 'timeout'))
        self.assertEqual(self.proc.wait(5), 0)

    def test_a_crash_of_the_interpreter_ends_the_session(self):
        done = self.call('import os\nos._exit(7)')
        self.assertEqual((done['exit_code'], done['session_ended']), (7, 'crashed'))
        self.assertEqual(self.proc.wait(5), 0)

    def test_over_the_memory_limit_ends_the_session(self):
        done = self.call('b = bytearray(400 << 20)')  # RLIMIT_AS here: a MemoryError ends the session too
        self.assertEqual((done['limit'], done['session_ended']), ('memory', 'memory'))
        self.assertEqual(self.proc.wait(5), 0)

    def test_over_the_watchdog_limit_ends_the_session(self):
        done = self.call('import mmap\nm = mmap.mmap(-1, 300 << 20)\nfor i in range(0, len(m), 4096): m[i] = 1\n'
                         'import time\ntime.sleep(5)')
        self.assertEqual((done['limit'], done['session_ended']), ('memory', 'memory'))

    def test_over_the_watchdog_limit_between_calls_ends_the_session_with_its_own_exit_status(self):
        # A thread the call left running grows past the limit after the call has answered: no call is
        # there to carry the ending, so the server's exit status tells it (SESSION_MEMORY_EXIT).
        code = ('import mmap, threading, time\n'
                'def grow():\n'
                '    time.sleep(0.3)\n'
                '    m = mmap.mmap(-1, 264 << 20)\n'
                '    for i in range(0, len(m), 4096): m[i] = 1\n'
                '    time.sleep(30)\n'
                'threading.Thread(target=grow, daemon=True).start()\n'
                '"left running"')
        done = self.call(code)
        self.assertEqual((done['result'], done.get('session_ended')), ('left running', None))
        self.assertEqual(self.proc.wait(10), session.MEMORY_ENDED_EXIT)

    def test_cancel_stops_the_call(self):
        self.send({'op': 'run', 'id': 'k', 'code': 'import time\ntime.sleep(30)', 'stdin': '', 'timeout_ms': 20000,
                   'cpu_sec': 21})
        self.send({'op': 'cancel', 'id': 'k'})
        self.assertEqual(self.receive()['status'], 'cancelled')
        self.assertEqual(self.call('2')['result'], 2)

    def test_outputs_lists_only_what_the_call_changed(self):
        self.call('import os\nos.makedirs("outputs", exist_ok=True)\nopen("outputs/a.txt", "w").write("a")')
        done = self.call('open("outputs/b.txt", "w").write("b")')
        self.assertEqual([f['path'] for f in done['files']], ['b.txt'])

    def test_input_files_replace_those_of_earlier_calls(self):
        import base64
        content = base64.b64encode(b'v1').decode()
        self.call('open("data.txt").read()', files=[{'path': 'data.txt', 'content': content}])
        self.call('import os\nos.symlink("/etc/os-release", "link.txt")')
        content2 = base64.b64encode(b'v2').decode()
        done = self.call('[open("data.txt").read(), open("link.txt").read()]',
                         files=[{'path': 'data.txt', 'content': content2}, {'path': 'link.txt', 'content': content2}])
        self.assertEqual(done['result'], ['v2', 'v2'])

    def test_end_of_input_ends_the_interpreter(self):
        pid = self.call('import os\nos.getpid()')['result']
        self.proc.stdin.close()
        self.assertEqual(self.proc.wait(5), 0)
        with self.assertRaises(ProcessLookupError):
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.02)


if __name__ == '__main__':
    unittest.main()
