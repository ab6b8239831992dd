"""One run, from the server: hand the request to a prepared pid 1, feed its stdin, collect its
output (bounded) and report, enforce its deadline, cancel and (without a cgroup) the memory
watchdog, and build its 'done' frame. Cancel frames for this run arrive on fd 0 meanwhile (the
service sends one run at a time)."""
import os
import select
import signal
import time

from . import limits, protocol
from .live_output import LiveOutput
from .outcome import Captured, describe_outcome
from .protocol import READ_CHUNK, RESULT_MAGIC, SERVICE_FD, STARTED, log, setup_failed_frame
from .reaper import (EXITING, KILL_GRACE_SEC, STRAGGLERS, kill_and_reap, kill_cgroup, kill_run, main_thread_gone,
                     task_state)
from .watchdog import WATCHDOG_SEC, RunGone, Watchdog, run_proc_dirs, socket_charge_bytes

# At its deadline a run gets SIGINT first (the harness then reports its output, files and display, as
# for a 400), and SIGKILL this much later if it has not ended by then.
INTERRUPT_GRACE_SEC = 0.3
TRIM_SLACK_BYTES = 8 << 20  # the report channel's buffer may pass its kept tail by this much between trims
DRAIN_MAX_BYTES = 2 << 20  # read from each output pipe when a run is answered on its report
HEARTBEAT_SEC = 0.25  # while a run is supervised, the service hears from the server this often
SOCKET_CHARGE = []  # socket_charge_bytes(), read once per server
UNPARSED = object()


def run_one(config, request, run):
    """The response frame for `request`, run by `run` (a PreparedRun, or the OSError of preparing one)."""
    started = time.monotonic()
    if isinstance(run, OSError):
        return setup_failed_frame(request.id, 'cannot prepare a run: %s' % run)
    held = set(run.output_fds())  # closed when the run is over, however it ended
    try:
        return Supervision(config, request, run, held, started).run()
    finally:
        for fd in held:
            os.close(fd)
        if run.scratch_dir:  # SANDBOX=process only: no server of a real sandbox loads shutil
            import shutil
            shutil.rmtree(run.scratch_dir, ignore_errors=True)


class Supervision:
    def __init__(self, config, request, run, held, started):
        self.config, self.request, self.run_, self.held, self.started = config, request, run, held, started
        self.pid = run.pid
        self.ended_by = None  # 'timeout', 'cancelled', 'memory': the server ended it
        self.killed_at = None
        self.kill_at = None  # when an interrupted run gets its SIGKILL
        self.pidfd = None  # pid 1's, while supervised: signals go through it, never to a reused pid
        self.wait_status = None
        self.start_marker = None  # the first bytes on the report channel after the request: trusted
        self.live = LiveOutput(request.id, send_frame) if request.stream else None
        self.report_tail = report_bytes(config)  # the last frame always fits
        self.bufs = self.truncated = None  # per fd: what was read (bounded), and whether any was dropped
        self.report = UNPARSED  # the last report, once answerable_early() parsed it (the channel was closed)
        self.early_checked = False

    def run(self):
        run, config, cgroup = self.run_, self.config, self.config.run_cgroup
        setup_error = wait_ready(run.res_r)
        oom_kills_before = 0
        if setup_error is None and cgroup:
            try:
                oom_kills_before = limits.oom_kills(cgroup)
            except BaseException as exc:  # fail closed: no run without its memory bound
                setup_error = 'run cgroup: %s' % exc
        if setup_error is not None:
            os.close(run.req_w)
            kill_and_reap(config.isolate, self.pid)
            return setup_failed_frame(self.request.id, setup_error)
        try:
            deadline = self.started + self.request.timeout_ms / 1000.0
            protocol.write_all(run.req_w, protocol.encode_pid1_request(self.request.code, self.request.cpu_sec,
                                                                      self.request.files, deadline))
        except OSError:
            pass  # pid 1 died while being prepared: its exit status and setup error tell
        os.close(run.req_w)
        self.request.code = self.request.files = None  # the server holds no more of it than it must
        try:
            outcome = self.supervise()
        except BaseException as exc:  # a bug of ours: still answer (a 500), never leave the run to the backstop
            log('run %s: supervision failed: %s: %s' % (self.request.id, type(exc).__name__, exc))
            if (config.isolate, self.pid) in EXITING:
                EXITING.remove((config.isolate, self.pid))  # reaped here, so never signalled later
            if self.wait_status is None or not config.isolate:
                kill_and_reap(config.isolate, self.pid)
            return setup_failed_frame(self.request.id, 'supervision failed: %s' % type(exc).__name__)
        kill_cgroup(cgroup)  # what a run left (SANDBOX=process: a daemon in its own session) ends with it
        if isinstance(outcome, dict):
            return outcome
        if cgroup and outcome.status in ('exited', 'signaled') and oom_killed_since(cgroup, oom_kills_before):
            outcome.memory_limit_exceeded()
        return outcome.to_frame()

    def close(self, fd):
        self.held.discard(fd)
        os.close(fd)

    def kill(self, why):
        self.ended_by = why
        self.kill_at = None
        self.kill_now()

    def kill_now(self):
        """SIGKILL to the run: pid 1 (its pid namespace dies with it) through its pidfd while it is not
        reaped; without a pid namespace, its process group (children outlive pid 1 there)."""
        if not self.config.isolate:
            kill_run(False, self.pid)
        elif self.wait_status is None:
            self.send_signal(signal.SIGKILL)
        kill_cgroup(self.config.run_cgroup)  # cgroup v2: every process of the run, wherever it is

    def send_signal(self, sig):
        try:
            signal.pidfd_send_signal(self.pidfd, sig)
        except ProcessLookupError:
            pass

    def interrupt(self, why, now):
        """SIGINT to pid 1, whose harness ends the user's code and reports what it has; SIGKILL at the
        end of the grace (code that ignores the signal, or is stuck in C, ends then)."""
        if self.wait_status is not None or not alone(self.config.isolate, self.pid):
            # pid 1 is gone (no pid namespace: its children hold the pipes), or it has company: other
            # processes would go on using the CPU through a grace (a fork bomb could starve the server).
            return self.kill(why)
        self.ended_by = why
        self.kill_at = now + INTERRUPT_GRACE_SEC
        self.send_signal(signal.SIGINT)

    def supervise(self):
        run = self.run_
        try:
            stdin = memoryview(self.request.stdin.encode('utf-8', 'surrogateescape'))
        except UnicodeEncodeError:  # a lone surrogate JSON can carry but no byte stands for
            stdin = memoryview(self.request.stdin.encode('utf-8', 'surrogatepass'))
        os.set_blocking(run.in_w, False)
        in_w = run.in_w
        if not stdin:
            self.close(in_w)
            in_w = None
        pidfd = self.pidfd = os.pidfd_open(self.pid)
        try:
            return self.loop(pidfd, in_w, stdin)
        finally:
            self.pidfd = None
            os.close(pidfd)
            if self.live:  # the rest of its output goes before its 'done' frame
                self.live.close(time.monotonic())

    def loop(self, pidfd, in_w, stdin):
        run, config = self.run_, self.config
        deadline = self.started + self.request.timeout_ms / 1000.0
        bufs = self.bufs = {run.out_r: bytearray(), run.err_r: bytearray(), run.res_r: bytearray()}
        truncated = self.truncated = {run.out_r: False, run.err_r: False}
        open_fds = set(bufs)
        watchdog_at = self.started + WATCHDOG_SEC  # pid 1's liveness every time, its memory without a cgroup
        if config.memory_watchdog and not SOCKET_CHARGE:
            SOCKET_CHARGE.append(socket_charge_bytes())
        watchdog = Watchdog(config.isolate, self.pid, self.request.id, SOCKET_CHARGE[0] if SOCKET_CHARGE else 0)
        heartbeat_at = self.started + HEARTBEAT_SEC
        while open_fds or self.wait_status is None:
            now = time.monotonic()
            if now >= heartbeat_at:
                protocol.write_frame(protocol.RESPONSE_FD, protocol.heartbeat_frame(self.request.id))
                heartbeat_at = now + HEARTBEAT_SEC
            if self.ended_by is None and now >= deadline:
                self.interrupt('timeout', now)
            if self.kill_at is not None and now >= self.kill_at:
                self.kill(self.ended_by)
            interrupted = self.kill_at is not None  # still measured: the grace is no time to grow
            if (self.ended_by is None or interrupted) and now >= watchdog_at:
                watchdog_at = now + WATCHDOG_SEC
                try:
                    if main_thread_gone(self.pid):
                        raise RunGone()
                    if config.memory_watchdog and watchdog.run_bytes() > config.memory_mb * 1024 * 1024:
                        self.kill('memory')
                except RunGone:
                    # pid 1's main thread is gone (a raw exit) but the run is not: its threads or
                    # children are. The run ended with pid 1: nothing of it goes on unmeasured.
                    watchdog_at = float('inf')
                    self.kill_now()
                now = time.monotonic()
            if self.ended_by is not None and self.kill_at is None and self.past_kill_grace(now):
                break
            flush_at = self.live.next_flush_at() if self.live else None
            if flush_at is not None and now >= flush_at:
                self.live.flush_due(now)
                flush_at = self.live.next_flush_at()
            rlist = (list(open_fds) + ([pidfd] if self.wait_status is None else [])
                     + ([SERVICE_FD] if self.ended_by is None else []))
            wlist = [in_w] if in_w is not None else []
            if self.ended_by is None:
                wake_at = min(deadline, watchdog_at, heartbeat_at)
            elif self.kill_at is not None:  # interrupted: its SIGKILL, and the watchdog meanwhile
                wake_at = min(self.kill_at, watchdog_at, heartbeat_at)
            else:
                wake_at = min(now + 0.25, heartbeat_at)
            timeout = max(0.0, wake_at - now)
            if flush_at is not None:
                timeout = max(0.0, min(timeout, flush_at - now))
            readable, writable, _ = select.select(rlist, wlist, [], timeout)
            if writable:
                try:
                    stdin = stdin[os.write(in_w, stdin[:READ_CHUNK]):]
                except OSError:  # user code closed its stdin
                    stdin = stdin[:0]
                if not stdin:
                    self.close(in_w)
                    in_w = None
            for fd in readable:
                if fd == SERVICE_FD:
                    if self.ended_by is None and control_frame(self.request.id) == 'cancel':
                        self.kill('cancelled')
                    continue
                if fd == pidfd:
                    self.wait_status = os.waitpid(self.pid, 0)[1]
                    continue
                chunk = os.read(fd, READ_CHUNK)
                if chunk:
                    self.take(fd, chunk)
                    continue
                open_fds.discard(fd)
                self.close(fd)
            if run.res_r not in open_fds and self.answerable_early():
                # The harness closes the report channel once its final report is written, then exits:
                # answer now, with what the output pipes hold, and let the server reap pid 1 (and the
                # teardown of its namespaces) after the answer, before its next run.
                # SIGKILL at once (nothing for a pid 1 already exiting): a run that forged its report and
                # closed the channel gets no moment unsupervised; what it wrote stays in the pipes.
                self.kill_now()
                self.drain(open_fds)
                if self.wait_status is None:
                    EXITING.append((config.isolate, self.pid))
                    self.wait_status = 0
                break
        run_ms = (time.monotonic() - self.started) * 1000.0
        if self.ended_by is None and (self.start_marker or b'')[:1] != STARTED:
            # pid 1 failed between its request and user code (nothing of the user's ran): ours, a 500.
            text = (self.start_marker or b'').decode('utf-8', 'replace') or 'it exited'
            return setup_failed_frame(self.request.id, 'pid 1 did not start the run: %s' % text)
        del bufs[run.res_r][:-self.report_tail]
        if self.report is UNPARSED:
            protocol.write_frame(protocol.RESPONSE_FD, protocol.heartbeat_frame(self.request.id))  # before a parse
            self.report = protocol.last_report(bufs[run.res_r])
        report = self.report
        report = protocol.within_rich_caps(report, config.max_output_file_bytes, config.max_display_bytes)
        captured = Captured(bufs[run.out_r], bufs[run.err_r], truncated[run.out_r], truncated[run.err_r],
                            report, run_ms)
        return describe_outcome(self.request.id, self.wait_status, self.ended_by, captured)

    def take(self, fd, chunk):
        """A chunk read from one of the run's pipes: stdout and stderr up to the cap (and live), the report
        channel's tail."""
        run, buf = self.run_, self.bufs[fd]
        if fd == run.res_r:  # untrusted: keep its tail, where the harness's report comes last
            if self.start_marker is None:  # written by pid 1 before user code: trusted
                self.start_marker = bytes(chunk[:200])
            buf += chunk
            if len(buf) > self.report_tail + TRIM_SLACK_BYTES:  # trimmed now and then, not per chunk
                del buf[:-self.report_tail]
            return
        room = self.config.max_output_bytes - len(buf)
        if room > 0:
            buf += chunk[:room]
            if self.live:
                self.live.add('stdout' if fd == run.out_r else 'stderr', chunk[:room], time.monotonic())
        if len(chunk) > room:
            self.truncated[fd] = True

    def answerable_early(self):
        """The report channel is closed, pid 1 not reaped yet (or exited 0), and its last report says the
        run succeeded (the harness exits 0 after such a report). A report forged by user code that then closed the
        channel ends the run the same way, as if it had exited: it is killed in reap_exiting()."""
        if self.early_checked:  # once: the channel is closed, its bytes do not change
            return False
        self.early_checked = True
        if self.ended_by is not None or (self.start_marker or b'')[:1] != STARTED:
            return False
        if self.wait_status is not None and not (os.WIFEXITED(self.wait_status) and os.WEXITSTATUS(self.wait_status) == 0):
            return False
        protocol.write_frame(protocol.RESPONSE_FD, protocol.heartbeat_frame(self.request.id))  # before a parse
        del self.bufs[self.run_.res_r][:-self.report_tail]
        self.report = protocol.last_report(self.bufs[self.run_.res_r])
        return self.report is not None and self.report['ok']

    def drain(self, open_fds):
        """What the output pipes hold now, without waiting for their writers to close them: the harness
        flushed stdout and stderr before its report. Bounded: a child that goes on writing (it dies with
        pid 1) cannot keep the server here; a pipe holds at most pipe-max-size (1 MiB by default)."""
        budget = {fd: DRAIN_MAX_BYTES for fd in open_fds}
        while open_fds:
            readable = [fd for fd in select.select(list(open_fds), [], [], 0)[0] if budget[fd] > 0]
            if not readable:
                return
            for fd in readable:
                chunk = os.read(fd, READ_CHUNK)
                budget[fd] -= len(chunk)
                if chunk:
                    self.take(fd, chunk)
                else:
                    open_fds.discard(fd)
                    self.close(fd)

    def past_kill_grace(self, now):
        """SIGKILLed but not gone (a task stuck in the kernel keeps the namespace alive): after the
        grace, report now so the run's slot is not held; the kernel finishes the kill later."""
        self.killed_at = self.killed_at or now
        if now - self.killed_at <= KILL_GRACE_SEC:
            return False
        log('run %s: pid %d not gone %.1f s after SIGKILL (%s); reporting it %s' % (
            self.request.id, self.pid, now - self.killed_at, task_state(self.pid), self.ended_by))
        if self.wait_status is None:
            STRAGGLERS.add(self.pid)  # reaped by the server loop once the kernel lets it go
            self.wait_status = signal.SIGKILL
        return True


def alone(isolate, pid):
    """pid 1 is the run's only process (its threads aside); False when that cannot be read."""
    try:
        return len(run_proc_dirs(isolate, pid)) <= 1
    except OSError:
        return False


def send_frame(frame):
    protocol.write_frame(protocol.RESPONSE_FD, frame)


def control_frame(run_id):
    """A frame from the service while a run is supervised: its cancel, or nothing to act on."""
    msg = protocol.read_frame(SERVICE_FD)
    if msg is None:
        os._exit(0)  # the service is gone: the run dies with us (its parent-death signal)
    if msg['op'] == 'run':  # one run at a time: the service never does this
        protocol.write_frame(protocol.RESPONSE_FD, setup_failed_frame(msg['id'], 'server busy'))
        return None
    return msg['op'] if msg.get('id') == run_id else None


def report_bytes(config):
    """The largest report frame the harness writes: result, files as base64 with their entries
    (paths escaped), display escaped; user bytes before it on the channel are dropped."""
    files = (config.max_output_file_bytes + 2) // 3 * 4 + 1000 * 2048
    return config.max_result_bytes + files + 6 * config.max_display_bytes + len(RESULT_MAGIC) + 4096


def wait_ready(res_r):
    """Blocks until pid 1 is prepared (None) or failed (its error). Only this, before any user code
    ran, can make a setup error: nothing on the channel later is read as one."""
    data = os.read(res_r, 4096)
    if data == protocol.READY:
        return None
    while data and len(data) < 4096:
        chunk = os.read(res_r, 4096)
        if not chunk:
            break
        data += chunk
    return 'pid 1 was not prepared: %s' % (data.decode('utf-8', 'replace').strip() or 'it exited')


def oom_killed_since(cgroup, before):
    try:
        return limits.oom_kills(cgroup) > before
    except Exception as exc:
        log('run cgroup: cannot read its OOM kills: %s: %s' % (type(exc).__name__, exc))
        return False
