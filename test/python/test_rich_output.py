"""Files in and out, and display, through the package as the service starts it (SANDBOX=process)."""
import base64
import hashlib
import struct
import time
import unittest

import support  # noqa: F401 (puts the package on sys.path)
from pyexec_sandbox import protocol, run_files, supervisor
from pyexec_sandbox.display import Display
from test_server import CONFIG, ServerProcessCase


class RichRunTest(ServerProcessCase):
    config = dict(CONFIG, max_output_bytes=100000)

    def setUp(self):
        super().setUp()
        self.assertEqual(self.receive()['op'], 'ready')

    def run_code(self, code, files=None, timeout_ms=60000):
        message = {'op': 'run', 'id': 'r', 'code': code, 'stdin': '', 'timeout_ms': timeout_ms, 'cpu_sec': timeout_ms // 1000 + 1}
        if files:
            message['files'] = files
        self.send(message)
        return self.receive()

    def test_input_files_are_written_and_outputs_come_back(self):
        data = bytes(range(256))
        done = self.run_code(
            "import os\n"
            "os.makedirs('outputs/sub', exist_ok=True)\n"
            "open('outputs/sub/copy.bin', 'wb').write(open('in/data.bin', 'rb').read())\n"
            "open('outputs/note.txt', 'w').write(open('a.txt').read().upper())\n",
            files=[{'path': 'in/data.bin', 'content': base64.b64encode(data).decode()},
                   {'path': 'a.txt', 'content': base64.b64encode(b'hello').decode()}])
        self.assertEqual(done['exit_code'], 0, done)
        files = {f['path']: f for f in done['files']}
        self.assertEqual(sorted(files), ['note.txt', 'sub/copy.bin'])
        self.assertEqual(base64.b64decode(files['sub/copy.bin']['content']), data)
        self.assertEqual(files['sub/copy.bin']['sha256'], hashlib.sha256(data).hexdigest())
        self.assertEqual((files['note.txt']['size'], files['note.txt']['media_type']), (5, 'text/plain'))

    def test_a_hostile_outputs_folder(self):
        done = self.run_code(
            "import os\n"
            "os.makedirs('outputs', exist_ok=True)\n"
            "os.symlink('/etc/passwd', 'outputs/passwd')\n"
            "os.mkfifo('outputs/fifo')\n"
            "d = 'outputs'\n"
            "for i in range(50):\n"
            "    d += '/d'\n"
            "    os.mkdir(d)\n"
            "open(d + '/deep.txt', 'w').write('x')\n"
            "open('outputs/ok.txt', 'w').write('ok')\n")
        self.assertEqual(done['exit_code'], 0, done)
        self.assertEqual([f['path'] for f in done['files']], ['ok.txt'])

    def test_display_and_a_failing_repr(self):
        done = self.run_code(
            "class H:\n"
            "    def _repr_html_(self): return '<b>hi</b>'\n"
            "class Bad:\n"
            "    def _repr_png_(self): raise ValueError('no png')\n"
            "    def _repr_markdown_(self): return '*md*'\n"
            "display(H(), Bad(), {'a': 1})\n"
            "raise RuntimeError('after')\n")
        self.assertEqual(done['error'], 'RuntimeError: after')
        self.assertEqual(done['display'], [{'mime_type': 'text/html', 'data': '<b>hi</b>'},
                                           {'mime_type': 'text/markdown', 'data': '*md*'},
                                           {'mime_type': 'text/plain', 'data': "{'a': 1}"}])
        self.assertIn('ValueError: no png', done['stderr'])

    def test_matplotlib_figures_shown_and_left_open(self):
        done = self.run_code(
            "import matplotlib.pyplot as plt\n"
            "plt.plot([1, 2, 3])\n"
            "plt.show()\n"
            "plt.figure()\n"
            "plt.bar([1], [2])\n"
            "raise ValueError('late')\n")
        self.assertEqual(done['error'], 'ValueError: late', done)
        self.assertEqual([entry['mime_type'] for entry in done['display']], ['image/png', 'image/png'], done['stderr'])
        png = base64.b64decode(done['display'][0]['data'])
        self.assertEqual(png[:8], b'\x89PNG\r\n\x1a\n')
        self.assertEqual(struct.unpack('>II', png[16:24]), (640, 480))
        self.assertNotIn('Warning', done['stderr'])

    def test_at_its_deadline_a_run_still_reports_its_output_files_and_display(self):
        done = self.run_code(
            "import os, time\nos.makedirs('outputs')\nopen('outputs/partial.csv', 'w').write('a,b\\n')\n"
            "display({'rows': 1})\nprint('before', end='')\ntime.sleep(30)", timeout_ms=500)
        self.assertEqual((done['status'], done['exit_code'], done['stdout']), ('timeout', 124, 'before'))
        self.assertEqual([f['path'] for f in done['files']], ['partial.csv'])
        self.assertEqual(done['display'], [{'mime_type': 'text/plain', 'data': "{'rows': 1}"}])
        self.assertNotIn('Traceback', done['stderr'])

    def test_code_that_ignores_the_deadline_signal_is_killed_after_the_grace(self):
        started = time.monotonic()
        done = self.run_code("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                             "display(1)\ntime.sleep(30)", timeout_ms=300)
        self.assertGreaterEqual(time.monotonic() - started, 0.3 + supervisor.INTERRUPT_GRACE_SEC)
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual((done['status'], done['exit_code'], done.get('display', [])), ('timeout', 124, []))

    def test_a_run_with_other_processes_at_its_deadline_is_killed_at_once(self):
        done = self.run_code("import subprocess, time\nsubprocess.Popen(['/usr/bin/sleep', '30'])\ndisplay(1)\n"
                             "time.sleep(30)", timeout_ms=300)
        self.assertEqual((done['status'], done.get('display', [])), ('timeout', []))  # no SIGINT, no report

    def test_memory_is_still_bounded_during_the_grace(self):
        # 224 MiB held before the deadline (the limit is 256), more at once when interrupted: the watchdog,
        # not the grace's SIGKILL, ends it.
        done = self.run_code("import time\nheld = b'x' * (224 << 20)\ntry:\n    time.sleep(30)\n"
                             "except BaseException:\n    chunks = []\n    while True:\n"
                             "        chunks.append(b'x' * (64 << 20))", timeout_ms=2000)
        self.assertEqual((done['error'], done['limit']), ('Memory limit exceeded', 'memory'))

    def test_a_sigint_of_the_users_own_before_the_deadline_is_a_keyboardinterrupt(self):
        done = self.run_code("import _thread, time\ntry:\n    _thread.interrupt_main()\n    time.sleep(5)\n"
                             "    r = 'slept'\nexcept KeyboardInterrupt:\n    r = 'caught'\nr")
        self.assertEqual((done['status'], done['result']), ('exited', 'caught'))
        done = self.run_code("import os, signal\nos.kill(os.getpid(), signal.SIGINT)")
        self.assertEqual((done['status'], done['error']), ('exited', 'KeyboardInterrupt'))

    def test_a_plain_run_has_no_rich_fields(self):
        done = self.run_code("print('hi')")
        self.assertEqual((done['stdout'], 'files' in done, 'display' in done), ('hi\n', False, False))


class DisplayBudgetTest(unittest.TestCase):
    def test_later_entries_are_dropped(self):
        display = Display(40)
        display.add('text/plain', 'x' * 20)
        display.add('text/plain', 'y' * 20)
        display.add('text/plain', 'z')
        self.assertEqual((len(display.entries), display.truncated), (1, True))


class ReportTest(unittest.TestCase):
    def test_a_report_with_rich_fields_is_valid(self):
        report = {'ok': True, 'result': None, 'files': [{'path': 'a', 'size': 1, 'sha256': '0' * 64,
                                                          'media_type': 'text/plain', 'content': 'YQ=='}],
                  'display': [{'mime_type': 'text/html', 'data': '<b>'}], 'display_truncated': False}
        self.assertTrue(protocol.valid_report(report))
        self.assertFalse(protocol.valid_report(dict(report, display=[{'mime_type': 'text/x', 'data': ''}])))
        self.assertFalse(protocol.valid_report(dict(report, files=[{'path': 'a'}])))

    def test_a_forged_report_over_the_caps_loses_its_rich_fields(self):
        report = {'ok': True, 'result': 1, 'display': [{'mime_type': 'text/html', 'data': 'x' * 100}]}
        self.assertEqual(protocol.within_rich_caps(report, 10, 50), {'ok': True, 'result': 1})
        self.assertIs(protocol.within_rich_caps(report, 10, 500), report)

    def test_bad_input_paths_are_refused_in_the_sandbox_too(self):
        for path in ('/etc/x', '../x', 'a/../b', 'a//b', '', 'a\x00b', 'x' * 256):
            with self.assertRaises(run_files.InputFileError, msg=path):
                run_files.safe_relative_path(path)


if __name__ == '__main__':
    unittest.main()
