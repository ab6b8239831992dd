"""Pid 1 of a run, after it is prepared: wait for the code, run it as __main__ with captured
stdio, report on its own descriptor, exit with Python's status."""
import json
import os
import signal
import sys
import time

from . import limits, protocol, run_files
from .display import Display
from .result_rule import (USER_FILENAME, Return, compile_user_code, describe, encode_report, exit_status,
                          install_builtins, to_jsonable)


def run_user_code(max_result_bytes, joins_cgroup, rich=None):
    """Never returns: the process exits with the run's status. `rich`: the caps of files and display."""
    import builtins
    reseed_preloaded()
    rich = rich or RichCaps()
    display = Display(rich.max_display_bytes)
    cwd = os.getcwd()
    main = type(sys)('__main__')
    main.__builtins__ = builtins
    sys.modules['__main__'] = main
    sys.argv = [USER_FILENAME]
    open_stdio()
    install_builtins(builtins)
    display.install(builtins)
    code, files, deadline = receive_request(joins_cgroup)
    report = {'ok': True, 'result': None}
    status = 0
    try:
        if files:
            run_files.write_input_files(files)
            files = None
        compiled = compile_user_code(code)
        run_interruptibly(compiled, main, deadline)
    except Return as ret:
        display.show(ret.value, plain=False)
        try:
            report['result'] = to_jsonable(ret.value)
        except BaseException as exc:  # a hostile __repr__
            report = {'ok': False, 'error': describe(exc)[0]}
            status = 1
    except SystemExit as exc:
        status, report = exit_status(exc)
    except DeadlineReached:  # the server's SIGINT at the deadline: it answers 408 with what follows
        report, status = {'ok': False, 'error': 'Execution timed out', 'limit': None}, 124
    except BaseException as exc:
        report = report_exception(exc, code)
        status = 1
    try:
        display.open_figures()  # before atexit, where matplotlib closes them all
    except BaseException:
        pass
    finish(report, status, max_result_bytes, lambda: rich_output(display, cwd, rich.max_output_file_bytes))


class DeadlineReached(BaseException):
    """Raised in user code by the server's SIGINT at the run's deadline (not a KeyboardInterrupt, which
    the code may raise itself): output, files and display are then reported as after an error."""


def run_interruptibly(compiled, main, deadline):
    """exec() of the user's code, during which (only) the server's SIGINT at the deadline raises
    DeadlineReached; before the deadline a SIGINT is the user's own (a child's, interrupt_main()): the
    KeyboardInterrupt Python gives any program. The clock is CLOCK_MONOTONIC, the server's too."""
    def on_sigint(signum, frame):
        if time.monotonic() >= deadline:
            raise DeadlineReached()
        signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, on_sigint)
    try:
        exec(compiled, main.__dict__)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the harness's own reporting is not interrupted


class RichCaps:
    """MAX_OUTPUT_FILE_BYTES and MAX_DISPLAY_BYTES of a run."""

    def __init__(self, max_output_file_bytes=8 << 20, max_display_bytes=8 << 20):
        self.max_output_file_bytes = max_output_file_bytes
        self.max_display_bytes = max_display_bytes


def rich_output(display, cwd, max_output_file_bytes):
    """The report's files and display, after user code and atexit."""
    extra = {}
    files = run_files.collect_outputs(cwd, max_output_file_bytes)
    if files:
        extra['files'] = files
    extra.update(display.report_fields())
    return extra


def open_stdio():
    sys.stdin = sys.__stdin__ = open(0, 'r', encoding='utf-8', errors='surrogateescape', closefd=False)
    sys.stdout = sys.__stdout__ = open(1, 'w', encoding='utf-8', errors='backslashreplace', closefd=False,
                                       buffering=1)
    sys.stderr = sys.__stderr__ = open(2, 'w', encoding='utf-8', errors='backslashreplace', closefd=False,
                                       buffering=1)


def receive_request(joins_cgroup):
    """The run's code (with its files and deadline), read once; then the CPU limit, the cgroup, and STARTED on the report channel.
    A failure here is a setup error (exit 125): nothing of the user's has run."""
    request = protocol.read_to_end(protocol.REQUEST_FD)
    os.close(protocol.REQUEST_FD)
    if not request:
        os._exit(0)  # the server went away before this prepared run was used
    try:
        req = json.loads(request)
        limits.set_cpu_limit(req['cpu_sec'])
        code = req['code']
        files = req.get('files') or []
        deadline = float(req.get('deadline', float('inf')))
        if joins_cgroup:
            # Only now: a prepared pid 1 waits outside, so the OOM killer never picks it for the
            # running run's memory.
            join_cgroup()
        os.write(protocol.HARNESS_RESULT_FD, protocol.STARTED)
    except BaseException as exc:
        try:
            os.write(protocol.HARNESS_RESULT_FD, ('%s: %s' % (type(exc).__name__, exc)).encode('utf-8', 'replace')[:500])
        finally:
            os._exit(125)
    return code, files, deadline


def join_cgroup():
    """Into the run's memory cgroup (CGROUP_TASKS_FD, opened by the service as root; the kernel checks
    the opener). "0" moves this (single) thread: no global lock, no RCU grace period."""
    os.write(protocol.CGROUP_TASKS_FD, b'0')
    os.close(protocol.CGROUP_TASKS_FD)


def reseed_preloaded():
    """`random` reseeds itself in every forked or cloned child (Python's after-fork hook), but a
    preloaded numpy's global generator was seeded once, in the server: each run gets its own."""
    np_random = sys.modules.get('numpy.random')
    if np_random is not None:
        np_random.seed()


def report_exception(exc, code):
    error, limit = describe(exc)
    if limit == 'memory':
        exc.__traceback__ = None  # free what we can before formatting anything
    try:
        print_user_traceback(exc, code if isinstance(code, str) else '')
    except BaseException:
        pass
    return {'ok': False, 'error': error, 'limit': limit}


def print_user_traceback(exc, code):
    """The traceback as Python prints it, without the harness's own frames."""
    import linecache
    import traceback
    linecache.cache[USER_FILENAME] = (len(code), None, code.splitlines(True), USER_FILENAME)
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != USER_FILENAME:
        tb = tb.tb_next
    sys.stderr.write(''.join(traceback.format_exception(type(exc), exc, tb)))


def flushed_report(report, status, max_result_bytes, rich=None):
    """(report body, exit status) once the user's output is flushed (the server reads it up to the
    report); `rich()` adds files and display, and a failure there drops only them."""
    extra = {}
    try:
        extra = rich() if rich else {}
    except BaseException:  # e.g. MemoryError: the run's own report still goes out
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    return encode_report(report, status, max_result_bytes, extra)


def finish(report, status, max_result_bytes, rich=None):
    """Like interpreter exit: join threads, run atexit, flush; then one report frame, written after
    everything of the user's ran (but its daemon threads), on a descriptor exec'd programs never get."""
    try:
        if 'threading' in sys.modules:
            sys.modules['threading']._shutdown()
        import atexit
        atexit._run_exitfuncs()
    except BaseException:
        pass
    data, status = flushed_report(report, status, max_result_bytes, rich)
    try:
        protocol.write_all(protocol.HARNESS_RESULT_FD, protocol.encode_report(data))
        os.close(protocol.HARNESS_RESULT_FD)  # the end of the report: the server answers on it
    except BaseException:
        pass
    os._exit(status)
