import builtins
import errno
import io
import json
import sys
import textwrap
import unittest

import support  # noqa: F401
from pyexec_sandbox import result_rule
from pyexec_sandbox.result_rule import Return, compile_user_code, describe, encode_report, exit_status, to_jsonable

result_rule.install_builtins(builtins)
NO_RESULT = object()


def result_of(code):
    """What the harness would take as the run's result (NO_RESULT: none)."""
    try:
        exec(compile_user_code(textwrap.dedent(code)), {'__name__': '__main__'})
    except Return as ret:
        return ret.value
    return NO_RESULT


class ResultRuleTest(unittest.TestCase):
    def test_last_expression(self):
        self.assertEqual(result_of('x = 2\nx * 21'), 42)
        self.assertEqual(result_of('[i for i in range(3)]'), [0, 1, 2])

    def test_no_result_when_the_last_statement_is_not_an_expression(self):
        self.assertIs(result_of('x = 1'), NO_RESULT)
        self.assertIs(result_of(''), NO_RESULT)
        self.assertIs(result_of('def f():\n    return 3'), NO_RESULT)

    def test_top_level_return(self):
        self.assertEqual(result_of('return 5\nprint("unreached")'), 5)
        self.assertIsNone(result_of('return'))

    def test_return_inside_blocks(self):
        self.assertEqual(result_of('''
            for i in range(10):
                if i == 3:
                    return i
            '''), 3)
        self.assertEqual(result_of('''
            with open('/dev/null') as f:
                while True:
                    return 'w'
            '''), 'w')
        self.assertEqual(result_of('''
            match 2:
                case 2:
                    return 'matched'
            '''), 'matched')

    def test_except_blocks_cannot_swallow_a_return(self):
        self.assertEqual(result_of('''
            try:
                return 'kept'
            except BaseException:
                return 'swallowed'
            '''), 'kept')
        self.assertEqual(result_of('''
            try:
                1 / 0
            except ZeroDivisionError:
                return 'handled'
            '''), 'handled')

    def test_functions_and_classes_keep_their_own_return(self):
        self.assertEqual(result_of('''
            def f():
                return 1
            class C:
                def m(self):
                    return 2
            f() + C().m()
            '''), 3)

    def test_line_numbers_are_the_users(self):
        try:
            result_of('x = 1\n\n1 / 0')
            self.fail('no ZeroDivisionError')
        except ZeroDivisionError as exc:
            tb = exc.__traceback__
        while tb.tb_next:
            tb = tb.tb_next
        self.assertEqual((tb.tb_frame.f_code.co_filename, tb.tb_lineno), (result_rule.USER_FILENAME, 3))

    def test_syntax_error(self):
        with self.assertRaises(SyntaxError):
            compile_user_code('def (')


class JsonConversionTest(unittest.TestCase):
    def test_conversion(self):
        self.assertEqual(to_jsonable((1, 'a', None, True, 1.5)), [1, 'a', None, True, 1.5])
        self.assertEqual(to_jsonable({1: 'x', None: 'y', (1, 2): 'z'}), {'1': 'x', 'null': 'y', '(1, 2)': 'z'})
        self.assertEqual(to_jsonable(float('nan')), 'nan')
        self.assertEqual(to_jsonable({1, 2}), '{1, 2}')
        cyclic = []
        cyclic.append(cyclic)
        self.assertEqual(to_jsonable(cyclic), ['[[...]]'])
        json.dumps(to_jsonable(eval('[' * 200 + ']' * 200)), allow_nan=False)  # depth is bounded

    def test_report_is_bounded_and_serialisable(self):
        data, status = encode_report({'ok': True, 'result': 'x' * 100}, 0, 50)
        self.assertEqual(json.loads(data), {'ok': False, 'error': 'Result exceeds 50 bytes', 'limit': 'result'})
        self.assertEqual(status, 1)
        data, status = encode_report({'ok': True, 'result': float('inf')}, 0, 1000)
        self.assertTrue(json.loads(data)['error'].startswith('Result is not serialisable: '))
        self.assertEqual(status, 1)
        data, status = encode_report({'ok': True, 'result': '\udc80é'}, 0, 1000)
        self.assertEqual((data, status), ('{"ok": true, "result": "\udc80é"}'.encode('utf-8', 'surrogatepass'), 0))


class DescribeTest(unittest.TestCase):
    def test_plain_exceptions(self):
        self.assertEqual(describe(ValueError('bad')), ('ValueError: bad', None))
        self.assertEqual(describe(KeyError()), ('KeyError', None))
        self.assertEqual(describe(json.JSONDecodeError('m', 'd', 0)), ('json.decoder.JSONDecodeError: m: line 1 column 1 (char 0)', None))
        self.assertEqual(describe(SyntaxError('invalid syntax', ('<code>', 1, 1, 'x'))), ('SyntaxError: invalid syntax', None))

    def test_limits(self):
        self.assertEqual(describe(MemoryError()), ('Memory limit exceeded', 'memory'))
        self.assertEqual(describe(OSError(errno.EFBIG, 'File too large'))[1], 'disk')
        self.assertEqual(describe(OSError(errno.ENOSPC, 'No space'))[0], 'Scratch space limit exceeded (OSError: [Errno 28] No space)')
        self.assertEqual(describe(OSError(errno.EMFILE, 'Too many'))[1], 'files')
        self.assertEqual(describe(BlockingIOError(errno.EAGAIN, 'again'))[1], 'processes')
        self.assertEqual(describe(RuntimeError("can't start new thread"))[1], 'processes')

    def test_hostile_str(self):
        class Hostile(Exception):
            def __str__(self):
                raise RuntimeError('no')
        self.assertTrue(describe(Hostile())[0].endswith('Hostile'))

    def test_exit_status(self):
        self.assertEqual(exit_status(SystemExit()), (0, {'ok': True, 'result': None}))
        self.assertEqual(exit_status(SystemExit(0)), (0, {'ok': True, 'result': None}))
        self.assertEqual(exit_status(SystemExit(3)), (3, {'ok': False, 'error': 'SystemExit: 3'}))
        self.assertEqual(exit_status(SystemExit(256 + 2))[0], 2)
        stderr, sys.stderr = sys.stderr, io.StringIO()
        try:
            self.assertEqual(exit_status(SystemExit('bye')), (1, {'ok': False, 'error': 'SystemExit: bye'}))
            self.assertEqual(sys.stderr.getvalue(), 'bye\n')
        finally:
            sys.stderr = stderr


if __name__ == '__main__':
    unittest.main()
