"""Both wire formats of the sandbox side, and nothing else parses them.

With the service (fd 0 in, fd 1 out): frames of a 4-byte big-endian length followed by UTF-8 JSON;
messages 'run' and 'cancel' in, 'ready', 'heartbeat' and 'done' out. With each run's pid 1 (its report channel):
one byte before user code (READY, then STARTED), then report frames written by the harness."""
import json
import os
import struct
from dataclasses import dataclass

SERVICE_FD = 0  # request and cancel frames from the service
RESPONSE_FD = 1  # ready and done frames to the service
READ_CHUNK = 65536

# pid 1's descriptors (see template.make_run)
RESULT_FD = 3  # pid 1's report channel while it is prepared; user code never sees it here
HARNESS_RESULT_FD = 255  # ...but here, close-on-exec, under RLIMIT_NOFILE: see harness.finish()
REQUEST_FD = 4  # pid 1 reads its run's code here, once
CGROUP_TASKS_FD = 254  # pid 1's handle on its run's memory cgroup, closed before user code runs

READY = b'R'  # pid 1 -> server on the report channel: prepared; anything else there is a setup error
STARTED = b'S'  # ...and, first after the request: in its cgroup, user code starts; anything else: setup error
# Frames on the report channel: MAGIC, the JSON's length in decimal, a newline, the JSON. The
# server takes the last well-formed one, so bytes user code writes there cannot erase a later report.
RESULT_MAGIC = b'\x00\x1ePYEXEC-REPORT\x1e'
REPORT_LIMITS = ('memory', 'cpu', 'disk', 'files', 'processes', 'result', None)
MAX_REPORT_FRAMES_TRIED = 16


def log(msg):
    # One line each, control characters escaped: the service logs these lines as they are.
    os.write(2, ('forkserver[%d]: %s\n' % (os.getpid(), json.dumps(str(msg))[1:-1])).encode())


# ---------------------------------------------------------------- frames with the service

def encode_frame(obj):
    data = json.dumps(obj, ensure_ascii=False, separators=(',', ':')).encode('utf-8', 'surrogatepass')
    return struct.pack('>I', len(data)) + data


def write_frame(fd, obj):
    write_all(fd, encode_frame(obj))


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_exact(fd, n):
    """n bytes, or None at end of file before them."""
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b''.join(chunks)


def read_frame(fd):
    """The next message, or None at end of file. The service is trusted: a malformed frame raises."""
    header = read_exact(fd, 4)
    body = header and read_exact(fd, struct.unpack('>I', header)[0])
    return json.loads(body) if body else None


def read_to_end(fd):
    chunks = []
    while True:
        chunk = os.read(fd, READ_CHUNK)
        if not chunk:
            return b''.join(chunks)
        chunks.append(chunk)


@dataclass
class RunRequest:
    """A 'run' frame: one program, its stdin and its limits."""
    id: str
    code: str
    stdin: str
    timeout_ms: int
    cpu_sec: int

    @classmethod
    def from_frame(cls, msg):
        return cls(msg['id'], msg['code'], msg['stdin'], msg['timeout_ms'], msg['cpu_sec'])


def ready_frame(pid, uid):
    return {'op': 'ready', 'pid': pid, 'uid': uid}


def heartbeat_frame(run_id):
    """Sent while a run is supervised: the service's backstop counts from the last one."""
    return {'op': 'heartbeat', 'id': run_id}


def setup_failed_frame(run_id, error):
    """A run that never ran user code to its end because of us: the service answers 500."""
    return {'op': 'done', 'id': run_id, 'status': 'setup_failed', 'error': error}


# ---------------------------------------------------------------- pid 1's report channel

def encode_report(report):
    """One report frame (the harness's last words), `report` already JSON text as bytes."""
    return RESULT_MAGIC + b'%d\n' % len(report) + report


def encode_pid1_request(code, cpu_sec):
    """What the server writes to a prepared pid 1's REQUEST_FD (then closes it)."""
    return json.dumps({'code': code, 'cpu_sec': cpu_sec}).encode('utf-8', 'surrogatepass')


def last_report(buf):
    """The last well-formed, valid report frame on pid 1's channel, or None. Any bytes at all may be
    there (user code can write to it): nothing here may raise, and a bad frame is just skipped."""
    end = len(buf)
    for _ in range(MAX_REPORT_FRAMES_TRIED):
        at = buf.rfind(RESULT_MAGIC, 0, end)
        if at < 0:
            return None
        end = at
        try:
            start = at + len(RESULT_MAGIC)
            newline = buf.index(b'\n', start, start + 12)
            size = int(bytes(buf[start:newline]))
            body = bytes(buf[newline + 1:newline + 1 + size])
            report = json.loads(body.decode('utf-8', 'surrogatepass')) if len(body) == size else None
        except Exception:  # ValueError, UnicodeError, RecursionError (b'[' * 100000), ...
            continue
        if valid_report(report):
            return report
    return None


def valid_report(report):
    if type(report) is not dict or type(report.get('ok')) is not bool:
        return False
    if report['ok']:
        return set(report) == {'ok', 'result'}
    return (set(report) <= {'ok', 'error', 'limit'} and type(report.get('error')) is str
            and report.get('limit') in REPORT_LIMITS)
