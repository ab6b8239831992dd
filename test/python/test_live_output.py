import unittest

import support  # noqa: F401
from pyexec_sandbox import protocol
from pyexec_sandbox.live_output import CHUNK_BYTES, FLUSH_SEC, LiveOutput


class LiveOutputTest(unittest.TestCase):
    def setUp(self):
        self.frames = []
        self.live = LiveOutput('run-1', self.frames.append)

    def texts(self, stream='stdout'):
        return [f['data'] for f in self.frames if f['stream'] == stream]

    def test_a_line_is_sent_at_its_newline(self):
        self.live.add('stdout', b'hello\nwor', 0.0)
        self.assertEqual(self.frames, [protocol.output_frame('run-1', 'stdout', 'hello\n')])
        self.assertEqual(self.live.next_flush_at(), FLUSH_SEC)

    def test_a_partial_line_waits_for_the_flush_time(self):
        self.live.add('stderr', b'progress...', 1.0)
        self.live.flush_due(1.0 + FLUSH_SEC / 2)
        self.assertEqual(self.frames, [])
        self.live.flush_due(1.0 + FLUSH_SEC)
        self.assertEqual(self.texts('stderr'), ['progress...'])
        self.assertIsNone(self.live.next_flush_at())

    def test_chunks_are_at_most_chunk_bytes(self):
        self.live.add('stdout', b'x' * (CHUNK_BYTES * 2 + 10), 0.0)
        self.assertEqual([len(t) for t in self.texts()], [CHUNK_BYTES, CHUNK_BYTES, 10])

    def test_a_character_split_across_reads_is_sent_whole(self):
        snowman = '\u2603'.encode()
        self.live.add('stdout', b'a' + snowman[:1], 0.0)
        self.live.flush_due(FLUSH_SEC)
        self.live.add('stdout', snowman[1:] + b'\n', 0.1)
        self.assertEqual(''.join(self.texts()), 'a\u2603\n')

    def test_close_sends_what_is_left_and_bad_bytes_become_replacement_characters(self):
        self.live.add('stdout', b'tail\xff', 0.0)
        self.live.close(0.01)
        self.assertEqual(self.texts(), ['tail\ufffd'])
        self.assertEqual(self.frames[0]['op'], 'output')

    def test_streams_are_kept_apart(self):
        self.live.add('stdout', b'out\n', 0.0)
        self.live.add('stderr', b'err\n', 0.0)
        self.assertEqual([(f['stream'], f['data']) for f in self.frames], [('stdout', 'out\n'), ('stderr', 'err\n')])


class RunRequestStreamFlagTest(unittest.TestCase):
    def test_stream_defaults_to_off(self):
        frame = {'op': 'run', 'id': 'a', 'code': '', 'stdin': '', 'timeout_ms': 5, 'cpu_sec': 1}
        self.assertFalse(protocol.RunRequest.from_frame(frame).stream)
        self.assertTrue(protocol.RunRequest.from_frame(dict(frame, stream=True)).stream)


if __name__ == '__main__':
    unittest.main()
