"""Both wire formats of the sandbox side, and nothing else parses them.

With the service (fd 0 in, fd 1 out): frames of a 4-byte big-endian length followed by UTF-8 JSON;
messages 'run' and 'cancel' in, 'ready', 'output' (live stdout/stderr, when the run asks), 'heartbeat' and 'done' out. With each run's pid 1 (its report channel):
one byte before user code (READY, then STARTED), then report frames written by the harness."""
import json
import os
import struct
from dataclasses import dataclass
from typing import Optional

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
    stream: bool = False  # send its output as 'output' frames while it runs
    files: Optional[list] = None  # input files [{path, content (base64)}], written by pid 1

    @classmethod
    def from_frame(cls, msg):
        return cls(msg['id'], msg['code'], msg['stdin'], msg['timeout_ms'], msg['cpu_sec'],
                   stream=msg.get('stream', False), files=msg.get('files'))


def ready_frame(pid, uid):
    return {'op': 'ready', 'pid': pid, 'uid': uid}


def output_frame(run_id, stream, data):
    """A chunk of a run's stdout or stderr (text), sent while it runs."""
    return {'op': 'output', 'id': run_id, 'stream': stream, 'data': data}


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


def encode_pid1_request(code, cpu_sec, files=None, deadline=None):
    """What the server writes to a prepared pid 1's REQUEST_FD (then closes it). `deadline`: the run's
    end on CLOCK_MONOTONIC (shared with pid 1: no time namespace), after which a SIGINT is the server's."""
    request = {'code': code, 'cpu_sec': cpu_sec}
    if files:
        request['files'] = files
    if deadline is not None:
        request['deadline'] = deadline
    return json.dumps(request).encode('utf-8', 'surrogatepass')


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
            body_at = newline + 1
            # Cheap refusals before any copy or parse: the body must fit, be an object, and hold no
            # magic (the harness's JSON escapes control bytes): crafted channels stay linear to scan.
            if (size <= 0 or body_at + size > len(buf) or buf[body_at:body_at + 1] != b'{'
                    or buf.find(RESULT_MAGIC, body_at, body_at + size) >= 0):
                continue
            report = json.loads(bytes(buf[body_at:body_at + size]).decode('utf-8', 'surrogatepass'))
        except Exception:  # ValueError, UnicodeError, RecursionError (b'[' * 100000), ...
            continue
        if valid_report(report):
            return report
    return None


RICH_FIELDS = {'files', 'display', 'display_truncated'}
DISPLAY_TYPES = ('image/png', 'image/svg+xml', 'text/html', 'text/markdown', 'application/json', 'text/plain')


def valid_report(report):
    if type(report) is not dict or type(report.get('ok')) is not bool:
        return False
    if not valid_rich_fields(report):
        return False
    if report['ok']:
        return set(report) - RICH_FIELDS == {'ok', 'result'}
    return (set(report) - RICH_FIELDS <= {'ok', 'error', 'limit'} and type(report.get('error')) is str
            and report.get('limit') in REPORT_LIMITS)


def within_rich_caps(report, max_file_bytes, max_display_bytes):
    """The report, without its files and display if they are over the caps the service sized its
    frame limit for (only a forged report can be: the harness keeps them)."""
    if report is None:
        return None
    content = sum(len(entry.get('content', '')) for entry in report.get('files', ()))
    paths = max((len(entry['path'].encode('utf-8', 'surrogatepass')) for entry in report.get('files', ())), default=0)
    shown = sum(len(entry['mime_type']) + len(entry['data'].encode('utf-8', 'surrogatepass'))
                for entry in report.get('display', ()))
    if content > (max_file_bytes + 2) // 3 * 4 or paths > 255 or shown > max_display_bytes:
        return {key: value for key, value in report.items() if key not in RICH_FIELDS}
    return report


def valid_rich_fields(report):
    """files and display as the harness writes them (user code can write on the channel too)."""
    files = report.get('files', [])
    display = report.get('display', [])
    if type(files) is not list or type(display) is not list or len(files) > 1000:
        return False
    if type(report.get('display_truncated', False)) is not bool:
        return False
    for entry in files:
        if (type(entry) is not dict or type(entry.get('path')) is not str or type(entry.get('size')) is not int
                or type(entry.get('sha256')) is not str or len(entry['sha256']) != 64
                or type(entry.get('media_type')) is not str
                or set(entry) - {'content', 'truncated'} != {'path', 'size', 'sha256', 'media_type'}
                or ('content' in entry) == ('truncated' in entry)
                or type(entry.get('content', '')) is not str or entry.get('truncated', True) is not True):
            return False
    for entry in display:
        if (type(entry) is not dict or set(entry) != {'mime_type', 'data'} or entry['mime_type'] not in DISPLAY_TYPES
                or type(entry['data']) is not str):
            return False
    return True
