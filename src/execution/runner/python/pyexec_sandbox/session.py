"""A session's server: one long-lived pid 1 (prepared by a template like any run: same namespaces,
limits and seccomp) that runs call after call (session_harness.py). Same frames with the service as a
fork server ('run', 'cancel' in; 'ready', 'output', 'heartbeat', 'done' out) plus 'interrupt' in; a
'done' frame that ends the session carries `session_ended` (timeout, memory, crashed) and the server
exits after it. Memory: the watchdog measures the interpreter between and during calls."""
import json
import os
import select
import signal
import time
from dataclasses import dataclass, field
from typing import Optional

from . import protocol, server, template
from .live_output import LiveOutput
from .outcome import Captured, describe_outcome
from .protocol import READ_CHUNK, RESULT_MAGIC, SERVICE_FD, log
from .supervisor import HEARTBEAT_SEC, report_bytes, send_frame, wait_ready
from .watchdog import WATCHDOG_SEC, RunGone, Watchdog, socket_charge_bytes

INTERRUPT_GRACE_SEC = 1.0  # a call that ignores its timeout's interrupt this long ends the session
INTERRUPT_RESEND_SEC = 0.1
IDLE_WATCHDOG_SEC = 0.25  # between calls only threads of earlier calls can grow it: measured less often
MAX_REPORT_HEADER = 12
MAX_DRAIN_READS = 64  # reads of each stream after a report: the pipe's buffer, and more
# The server's exit status when its memory watchdog ended the session and no call's 'done' frame told
# (between calls): SESSION_MEMORY_EXIT in fork-server.ts.
MEMORY_ENDED_EXIT = 86


def serve(config):
    template_sock = server.start(config, b'pyexec-session')
    try:
        run = template.prepare_run(template_sock)
    except OSError as exc:
        log('session: cannot prepare its interpreter: %s' % exc)
        os._exit(1)
    template_sock.close()  # the template exits: a session has one interpreter
    error = wait_ready(run.res_r)
    if error is not None:
        log('session: %s' % error)
        os._exit(1)
    protocol.write_frame(protocol.RESPONSE_FD, protocol.ready_frame(os.getpid(), os.getuid()))
    Session(config, run).serve()


@dataclass
class Call:
    """The call in progress."""
    id: str
    started: float
    deadline: float
    live: Optional[LiveOutput]
    out: dict = field(default_factory=dict)  # fd -> bytearray, bounded by MAX_OUTPUT_BYTES
    truncated: dict = field(default_factory=dict)
    ended_by: Optional[str] = None  # 'timeout', 'cancelled', 'memory': the server stopped it
    kill_at: float = float('inf')  # after its interrupt: the session ends if the call still runs
    resend_at: float = float('inf')  # the timeout's or cancel's interrupt is sent again until it ends


class Session:
    def __init__(self, config, run):
        self.config, self.run = config, run
        self.pid = run.pid
        os.close(run.in_w)  # each call's stdin comes with its request
        for fd in (run.out_r, run.err_r, run.res_r):
            os.set_blocking(fd, False)
        self.pidfd = os.pidfd_open(self.pid)
        self.reports = bytearray()
        self.report_cap = report_bytes(config)
        self.call = None
        self.session_end = None  # why the server ended the session: 'timeout', 'memory'
        self.ending_told = False  # a call's 'done' frame carried the ending
        self.watchdog = Watchdog(config.isolate, self.pid, 'session',
                                 socket_charge_bytes() if config.memory_watchdog else 0)
        self.watchdog_at = time.monotonic() + WATCHDOG_SEC
        self.heartbeat_at = 0.0

    def serve(self):
        while True:
            now = time.monotonic()
            self.on_timers(now)
            readable = self.wait(now)
            for fd in readable:
                if fd == SERVICE_FD:
                    self.on_service_frame()
                elif fd == self.pidfd:
                    self.on_interpreter_gone(os.waitpid(self.pid, 0)[1])
                elif fd == self.run.res_r:
                    self.on_report_bytes()
                else:
                    self.on_output(fd)

    def wait(self, now):
        call = self.call
        wake = [self.watchdog_at]
        if call:
            wake += [self.heartbeat_at, call.deadline, call.kill_at, call.resend_at]
            flush_at = call.live.next_flush_at() if call.live else None
            if flush_at is not None:
                wake.append(flush_at)
        fds = [SERVICE_FD, self.pidfd, self.run.out_r, self.run.err_r, self.run.res_r]
        return select.select(fds, [], [], max(0.0, min(wake) - now))[0]

    def on_timers(self, now):
        call = self.call
        if now >= self.watchdog_at:
            self.watchdog_at = now + (WATCHDOG_SEC if call else IDLE_WATCHDOG_SEC)
            self.check_memory()
        if call is None:
            return
        if now >= self.heartbeat_at:
            send_frame(protocol.heartbeat_frame(call.id))
            self.heartbeat_at = now + HEARTBEAT_SEC
        if call.ended_by is None and now >= call.deadline:
            self.interrupt(call, 'timeout')
        if call.ended_by in ('timeout', 'cancelled') and now >= call.resend_at:
            call.resend_at = now + INTERRUPT_RESEND_SEC  # one that came before the code started is only noted
            self.signal(signal.SIGINT)
        if now >= call.kill_at:
            self.session_end = self.session_end or 'timeout'
            self.kill()
            call.kill_at = float('inf')
        if call.live:
            flush_at = call.live.next_flush_at()
            if flush_at is not None and now >= flush_at:
                call.live.flush_due(now)

    def check_memory(self):
        if not self.config.memory_watchdog:
            return
        try:
            if self.watchdog.run_bytes() > self.config.memory_mb * 1024 * 1024:
                self.session_end = 'memory'
                if self.call:
                    self.call.ended_by = 'memory'
                self.kill()
        except RunGone:
            self.kill()

    def interrupt(self, call, why):
        call.ended_by = why
        call.kill_at = time.monotonic() + INTERRUPT_GRACE_SEC
        call.resend_at = time.monotonic() + INTERRUPT_RESEND_SEC
        self.signal(signal.SIGINT)

    def signal(self, signum):
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self):
        self.signal(signal.SIGKILL)  # pid 1 of its namespace: everything of the session goes with it

    def on_service_frame(self):
        msg = protocol.read_frame(SERVICE_FD)
        if msg is None:  # the service is gone: the interpreter dies with us
            self.kill()
            os._exit(0)
        op = msg.get('op')
        if op == 'run':
            self.start_call(msg)
        elif self.call is not None and msg.get('id') == self.call.id:
            if op == 'cancel' and self.call.ended_by is None:
                self.interrupt(self.call, 'cancelled')
            elif op == 'interrupt' and self.call.ended_by is None:
                self.signal(signal.SIGINT)

    def start_call(self, msg):
        if self.call is not None:  # one call at a time: the service never does this
            send_frame(protocol.setup_failed_frame(msg['id'], 'session busy'))
            return
        now = time.monotonic()
        live = LiveOutput(msg['id'], send_frame) if msg.get('stream') else None
        call = Call(msg['id'], now, now + msg['timeout_ms'] / 1000.0, live)
        call.out = {self.run.out_r: bytearray(), self.run.err_r: bytearray()}
        call.truncated = {self.run.out_r: False, self.run.err_r: False}
        self.call = call
        self.heartbeat_at = now + HEARTBEAT_SEC
        self.watchdog_at = min(self.watchdog_at, now + WATCHDOG_SEC)
        request = {'code': msg['code'], 'stdin': msg.get('stdin', '')}
        if msg.get('files'):
            request['files'] = msg['files']
        del msg
        try:
            protocol.write_frame(self.run.req_w, request)
        except OSError:
            pass  # the interpreter is gone: its pidfd tells

    def on_output(self, fd):
        try:
            chunk = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return
        if not chunk:
            return  # only when the interpreter is gone: its pidfd tells
        self.keep_output(fd, chunk)

    def keep_output(self, fd, chunk):
        call = self.call
        if call is None:
            return  # written between calls (a thread of an earlier call): nobody's output
        buf = call.out[fd]
        room = self.config.max_output_bytes - len(buf)
        if room > 0:
            buf += chunk[:room]
            if call.live:
                call.live.add('stdout' if fd == self.run.out_r else 'stderr', chunk[:room], time.monotonic())
        if len(chunk) > room:
            call.truncated[fd] = True

    def drain_output(self):
        """What the call wrote before its report (flushed first); bounded, as a thread may write on."""
        for fd in (self.run.out_r, self.run.err_r):
            for _ in range(MAX_DRAIN_READS):
                try:
                    chunk = os.read(fd, READ_CHUNK)
                except (BlockingIOError, OSError):
                    break
                if not chunk:
                    break
                self.keep_output(fd, chunk)

    def on_report_bytes(self):
        try:
            chunk = os.read(self.run.res_r, READ_CHUNK)
        except BlockingIOError:
            return
        if not chunk:
            return
        self.reports += chunk
        while True:
            report = self.next_report()
            if report is None:
                break
            if self.call is not None:
                self.end_call(report, None)
        if len(self.reports) > self.report_cap * 2:
            at = self.reports.rfind(RESULT_MAGIC)
            del self.reports[:at if at >= 0 else len(self.reports)]

    def next_report(self):
        """The first complete report frame on the channel (taken off it), or None. Bytes before a frame
        (user code can write there too) are skipped; a frame that does not parse counts as no report."""
        buf = self.reports
        at = buf.find(RESULT_MAGIC)
        if at < 0:
            del buf[:max(0, len(buf) - len(RESULT_MAGIC))]
            return None
        start = at + len(RESULT_MAGIC)
        newline = buf.find(b'\n', start, start + MAX_REPORT_HEADER)
        if newline < 0:
            if len(buf) - start >= MAX_REPORT_HEADER:
                del buf[:start]
            return None
        try:
            size = int(bytes(buf[start:newline]))
        except ValueError:
            del buf[:start]
            return self.next_report()
        if len(buf) < newline + 1 + size:
            return None
        body = bytes(buf[newline + 1:newline + 1 + size])
        del buf[:newline + 1 + size]
        try:
            report = json.loads(body.decode('utf-8', 'surrogatepass'))
        except Exception:
            return {}
        return report if type(report) is dict else {}

    def end_call(self, report, wait_status):
        """The call's 'done' frame; the session ends with it when the interpreter is gone (wait_status)."""
        call, self.call = self.call, None
        self.drain_output()
        if call.live:
            call.live.close(time.monotonic())
        exit_code = report.pop('exit_code', 1) if report else 1
        if type(exit_code) is not int or not 0 <= exit_code <= 255:
            exit_code = 1
        report = report if report and protocol.valid_report(report) else None
        report = protocol.within_rich_caps(report, self.config.max_output_file_bytes, self.config.max_display_bytes)
        run_ms = (time.monotonic() - call.started) * 1000.0
        out, err = self.run.out_r, self.run.err_r
        captured = Captured(call.out[out], call.out[err], call.truncated[out], call.truncated[err], report, run_ms)
        status = wait_status if wait_status is not None else exit_code << 8
        frame = describe_outcome(call.id, status, call.ended_by, captured).to_frame()
        if frame['limit'] == 'memory' and wait_status is None:  # a MemoryError: the session's memory is over too
            self.session_end = 'memory'
            self.kill()
        if wait_status is not None or self.session_end:
            frame['session_ended'] = self.session_end or 'crashed'
            self.ending_told = True
        send_frame(frame)

    def on_interpreter_gone(self, wait_status):
        """pid 1 exited or was killed: the session is over (its running call answered first)."""
        if self.call is not None:
            self.on_report_bytes_to_end()
            if self.call is not None:
                report = self.next_report()
                self.end_call(report, wait_status)
        untold_memory_end = self.session_end == 'memory' and not self.ending_told
        os._exit(MEMORY_ENDED_EXIT if untold_memory_end else 0)

    def on_report_bytes_to_end(self):
        while True:
            try:
                chunk = os.read(self.run.res_r, READ_CHUNK)
            except (BlockingIOError, OSError):
                return
            if not chunk:
                return
            self.reports += chunk
