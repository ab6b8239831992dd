"""A run's stdout and stderr as 'output' frames to the service while it runs (the service streams
them to clients). A chunk ends at a newline, at CHUNK_BYTES, or FLUSH_SEC after its first byte; the
caller passes only what the output cap keeps, so the stream never carries more than the envelope."""
import codecs

from . import protocol

CHUNK_BYTES = 4096
FLUSH_SEC = 0.05
STREAMS = ('stdout', 'stderr')


class LiveOutput:
    def __init__(self, run_id, send):
        self.run_id = run_id
        self.send = send  # takes one frame (a dict)
        self.pending = {name: bytearray() for name in STREAMS}
        self.first_byte_at = {name: 0.0 for name in STREAMS}
        # Incremental: a character split across two reads is sent whole, in the later chunk.
        self.decoders = {name: codecs.getincrementaldecoder('utf-8')('replace') for name in STREAMS}

    def add(self, name, data, now):
        if not data:
            return
        buf = self.pending[name]
        if not buf:
            self.first_byte_at[name] = now
        buf += data
        cut = len(buf) if len(buf) >= CHUNK_BYTES else buf.rfind(b'\n') + 1
        if cut:
            self.emit(name, cut, now)

    def next_flush_at(self):
        """When the oldest pending byte is due, or None when nothing waits."""
        due = [self.first_byte_at[name] + FLUSH_SEC for name in STREAMS if self.pending[name]]
        return min(due) if due else None

    def flush_due(self, now):
        for name in STREAMS:
            if self.pending[name] and now - self.first_byte_at[name] >= FLUSH_SEC:
                self.emit(name, len(self.pending[name]), now)

    def close(self, now):
        """The run is over: whatever is left, before its 'done' frame."""
        for name in STREAMS:
            self.emit(name, len(self.pending[name]), now, final=True)

    def emit(self, name, size, now, final=False):
        buf = self.pending[name]
        data = bytes(buf[:size])
        del buf[:size]
        if buf:
            self.first_byte_at[name] = now
        for start in range(0, max(len(data), 1), CHUNK_BYTES):
            piece = data[start:start + CHUNK_BYTES]
            last = start + CHUNK_BYTES >= len(data)
            text = self.decoders[name].decode(piece, final and last)
            if text:
                self.send(protocol.output_frame(self.run_id, name, text))
