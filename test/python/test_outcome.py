import signal
import unittest

import support  # noqa: F401
from pyexec_sandbox.outcome import Captured, describe_outcome

EXIT = lambda code: code << 8  # noqa: E731  (wait status of a normal exit)
OK = {'ok': True, 'result': [1]}


def outcome(wait_status, ended_by=None, report=None):
    captured = Captured(b'out\xff', b'err', False, True, report, 12.34567)
    return describe_outcome('r1', wait_status, ended_by, captured).to_frame()


class DescribeOutcomeTest(unittest.TestCase):
    def test_frame_fields_in_wire_order(self):
        self.assertEqual(list(outcome(EXIT(0), report=OK)), [
            'op', 'id', 'run_ms', 'stdout', 'stderr', 'stdout_truncated', 'stderr_truncated', 'result', 'error',
            'limit', 'exit_code', 'signal', 'status'])

    def test_success_carries_the_result(self):
        frame = outcome(EXIT(0), report=OK)
        self.assertEqual((frame['result'], frame['exit_code'], frame['status'], frame['error']), ([1], 0, 'exited', None))
        self.assertEqual((frame['stdout'], frame['stderr_truncated'], frame['run_ms']), ('out\ufffd', True, 12.346))

    def test_a_result_needs_exit_status_zero(self):
        frame = outcome(EXIT(3), report=OK)
        self.assertEqual((frame['result'], frame['exit_code'], frame['error']), (None, 3, 'Process exited with status 3'))

    def test_error_report(self):
        frame = outcome(EXIT(1), report={'ok': False, 'error': 'MemoryError', 'limit': 'memory'})
        self.assertEqual((frame['error'], frame['limit'], frame['exit_code']), ('MemoryError', 'memory', 1))

    def test_no_report(self):
        self.assertEqual(outcome(EXIT(0))['error'], None)
        self.assertEqual(outcome(EXIT(0))['exit_code'], 0)

    def test_signals(self):
        for sig, limit in ((signal.SIGXCPU, 'cpu'), (signal.SIGXFSZ, 'disk'), (signal.SIGKILL, 'memory'),
                           (signal.SIGSEGV, None), (signal.SIGTERM, None)):
            frame = outcome(sig, report=OK)
            self.assertEqual((frame['status'], frame['signal'], frame['exit_code'], frame['limit'], frame['result']),
                             ('signaled', sig, 128 + sig, limit, None), sig)
        self.assertEqual(outcome(signal.SIGTERM)['error'], 'Killed by signal 15')

    def test_ended_by_the_server(self):
        frame = outcome(signal.SIGKILL, 'timeout', OK)
        self.assertEqual((frame['status'], frame['exit_code'], frame['result'], frame['error']), ('timeout', 124, None, None))
        frame = outcome(signal.SIGKILL, 'cancelled')
        self.assertEqual((frame['status'], frame['exit_code']), ('cancelled', 137))
        frame = outcome(EXIT(0), 'memory', OK)
        self.assertEqual((frame['status'], frame['signal'], frame['exit_code'], frame['limit'], frame['error'], frame['result']),
                         ('signaled', 9, 137, 'memory', 'Memory limit exceeded', None))


if __name__ == '__main__':
    unittest.main()
