import json
import os
import random
import struct
import threading
import unittest

import support  # noqa: F401
from pyexec_sandbox import protocol


def frames_through_pipe(data):
    """Writes `data` into a pipe from a thread (it may exceed the pipe's buffer); returns the read end."""
    r, w = os.pipe()

    def writer():
        try:
            protocol.write_all(w, data)
        finally:
            os.close(w)
    threading.Thread(target=writer, daemon=True).start()
    return r


class ServiceFramesTest(unittest.TestCase):
    def read_all(self, data):
        r = frames_through_pipe(data)
        try:
            out = []
            while True:
                msg = protocol.read_frame(r)
                if msg is None:
                    return out
                out.append(msg)
        finally:
            os.close(r)

    def test_round_trip_keeps_every_message(self):
        messages = [protocol.ready_frame(12, 1000), {'op': 'cancel', 'id': 'a'},
                    {'op': 'run', 'id': 'é', 'code': 'print("\u2603")\n' * 3, 'stdin': '', 'timeout_ms': 5, 'cpu_sec': 1},
                    protocol.setup_failed_frame('x', 'server busy')]
        data = b''.join(protocol.encode_frame(m) for m in messages)
        self.assertEqual(self.read_all(data), messages)

    def test_header_is_big_endian_length_of_compact_utf8_json(self):
        frame = protocol.encode_frame({'op': 'ready', 'a': 'é'})
        body = '{"op":"ready","a":"é"}'.encode()
        self.assertEqual(frame, struct.pack('>I', len(body)) + body)

    def test_lone_surrogate_survives(self):
        frame = protocol.encode_frame({'s': '\udcff'})
        self.assertIn(b'\xed\xb3\xbf', frame)  # surrogatepass: the service decodes it as U+FFFD

    def test_a_frame_larger_than_the_pipe_buffer(self):
        big = {'op': 'run', 'code': 'x' * (3 << 20)}
        self.assertEqual(self.read_all(protocol.encode_frame(big)), [big])

    def test_end_of_file_inside_a_frame_is_the_end(self):
        frame = protocol.encode_frame({'op': 'cancel', 'id': 'a'})
        for cut in (0, 2, 4, len(frame) - 1):
            self.assertEqual(self.read_all(frame[:cut]), [], cut)

    def test_garbage_body_raises(self):
        with self.assertRaises(ValueError):
            self.read_all(struct.pack('>I', 5) + b'{not}')
        with self.assertRaises(ValueError):  # UnicodeDecodeError or JSONDecodeError
            self.read_all(struct.pack('>I', 3) + b'\xff\xfe\xfd')

    def test_run_request_from_frame(self):
        req = protocol.RunRequest.from_frame({'op': 'run', 'id': 'r', 'code': 'c', 'stdin': 's', 'timeout_ms': 9,
                                              'cpu_sec': 2})
        self.assertEqual((req.id, req.code, req.stdin, req.timeout_ms, req.cpu_sec), ('r', 'c', 's', 9, 2))
        with self.assertRaises(KeyError):
            protocol.RunRequest.from_frame({'op': 'run', 'id': 'r', 'code': 'c'})

    def test_pid1_request(self):
        self.assertEqual(json.loads(protocol.encode_pid1_request('a\udc80', 3).decode('utf-8', 'surrogatepass')),
                         {'code': 'a\udc80', 'cpu_sec': 3})


def report_frame(report):
    return protocol.encode_report(json.dumps(report).encode())


class ReportChannelTest(unittest.TestCase):
    def test_round_trip(self):
        for report in ({'ok': True, 'result': [1, {'a': None}]}, {'ok': False, 'error': 'E', 'limit': 'memory'},
                       {'ok': False, 'error': 'E'}):
            self.assertEqual(protocol.last_report(bytearray(b'noise' + report_frame(report))), report)

    def test_last_valid_frame_wins(self):
        first, second = {'ok': True, 'result': 1}, {'ok': True, 'result': 2}
        buf = report_frame(first) + b'user bytes' + report_frame(second)
        self.assertEqual(protocol.last_report(buf), second)

    def test_invalid_later_frames_cannot_erase_a_report(self):
        good = {'ok': True, 'result': 'mine'}
        forged = [
            {'ok': 'yes', 'result': 1}, {'ok': True}, {'ok': True, 'result': 1, 'extra': 2},
            {'ok': False}, {'ok': False, 'error': 5}, {'ok': False, 'error': 'x', 'limit': 'root'},
            [1, 2], 'text', None,
        ]
        buf = report_frame(good) + b''.join(report_frame(f) for f in forged)
        self.assertEqual(protocol.last_report(buf), good)

    def test_malformed_frames_are_skipped(self):
        good = report_frame({'ok': True, 'result': 1})
        bad = [
            protocol.RESULT_MAGIC + b'99\n{"ok":true}',  # shorter than announced
            protocol.RESULT_MAGIC + b'abc\n{}',  # no length
            protocol.RESULT_MAGIC + b'1234567890123\n{}',  # length field too long
            protocol.RESULT_MAGIC + b'2\n\xff\xff',  # not UTF-8 JSON
            protocol.encode_report(b'[' * 100000),  # deep nesting
        ]
        for frame in bad:
            self.assertEqual(protocol.last_report(good + frame), {'ok': True, 'result': 1}, frame[:30])
            self.assertIsNone(protocol.last_report(frame))

    def test_only_the_last_frames_are_tried(self):
        buf = report_frame({'ok': True, 'result': 1}) + protocol.RESULT_MAGIC * protocol.MAX_REPORT_FRAMES_TRIED
        self.assertIsNone(protocol.last_report(buf))

    def test_random_bytes_never_raise(self):
        rng = random.Random(22)
        pieces = [protocol.RESULT_MAGIC, b'\n', b'5', b'{', b'}', b'"ok"', b':', b'true', b'\xff', b'[']
        for _ in range(2000):
            buf = b''.join(rng.choice(pieces) if rng.random() < 0.7 else bytes([rng.randrange(256)])
                           for _ in range(rng.randrange(40)))
            report = protocol.last_report(bytearray(buf))
            self.assertTrue(report is None or protocol.valid_report(report))


if __name__ == '__main__':
    unittest.main()
