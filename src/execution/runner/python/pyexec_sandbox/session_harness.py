"""Pid 1 of a session: one interpreter that runs call after call in one __main__ namespace (globals,
imports and the working directory persist). Each call comes as a frame on REQUEST_FD; its report goes
out as one report frame (protocol.encode_report) on HARNESS_RESULT_FD, after its output is flushed.
SIGINT raises KeyboardInterrupt in the running call (an interrupt, or the call's timeout)."""
import io
import os
import signal
import sys

from . import protocol, run_files
from .display import Display
from .harness import flushed_report, open_stdio, print_user_traceback, reseed_preloaded
from .result_rule import Return, compile_user_code, describe, exit_status, install_builtins, to_jsonable

PENDING_INTERRUPT = set()  # not empty: SIGINT came outside user code


def note_interrupt(signum, frame):
    PENDING_INTERRUPT.add(signum)


def serve_calls(max_result_bytes, rich):
    """Never returns: reads calls until the server closes the request pipe, then exits 0."""
    import builtins
    reseed_preloaded()
    display = Display(rich.max_display_bytes)
    cwd = os.getcwd()
    main = type(sys)('__main__')
    main.__builtins__ = builtins
    sys.modules['__main__'] = main
    sys.argv = ['<code>']
    open_stdio()
    install_builtins(builtins)
    display.install(builtins)
    signal.signal(signal.SIGINT, note_interrupt)  # outside user code an interrupt is only noted
    while True:
        request = protocol.read_frame(protocol.REQUEST_FD)
        if request is None:
            os._exit(0)
        PENDING_INTERRUPT.clear()  # one that came before this call was for an earlier one
        try:
            report, status = run_call(request, main, display, cwd)
        except KeyboardInterrupt as exc:  # came after the code ended, before the handler was reset
            signal.signal(signal.SIGINT, note_interrupt)
            report, status = {'ok': False, 'error': describe(exc)[0], 'limit': None}, 1
        request = None
        report['exit_code'] = status
        write_report(report, status, max_result_bytes, lambda: rich_output(display, cwd, rich, report))


def run_call(request, main, display, cwd):
    """(report, exit status) of one call; the interpreter lives on whatever the code did."""
    Display.__init__(display, display_cap(display))
    code = request.get('code', '')
    report = {'ok': True, 'result': None}
    status = 0
    try:
        sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.BytesIO(request.get('stdin', '').encode(
            'utf-8', 'surrogateescape')), encoding='utf-8', errors='surrogateescape')
        report['_before'] = outputs_snapshot(cwd)
        if request.get('files'):
            replace_input_files(request['files'])
        compiled = compile_user_code(code)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            if PENDING_INTERRUPT:  # came while the call was being prepared
                raise KeyboardInterrupt
            exec(compiled, main.__dict__)
        finally:
            signal.signal(signal.SIGINT, note_interrupt)
    except Return as ret:
        display.show(ret.value, plain=False)
        try:
            report['result'] = to_jsonable(ret.value)
        except BaseException as exc:  # a hostile __repr__
            report = {'ok': False, 'error': describe(exc)[0], '_before': report.get('_before')}
            status = 1
    except SystemExit as exc:
        status, ended = exit_status(exc)
        report = {**ended, '_before': report.get('_before')}
    except BaseException as exc:
        before = report.get('_before')
        report = report_call_exception(exc, code)
        report['_before'] = before
        status = 1
    try:
        display.open_figures()
    except BaseException:
        pass
    return report, status


def replace_input_files(files):
    """Input files of a call replace files of the same path an earlier call left (a symlink there is
    removed, never followed)."""
    for item in files:
        try:
            if not os.path.isdir(item['path']) or os.path.islink(item['path']):
                os.unlink(item['path'])
        except (FileNotFoundError, NotADirectoryError):
            pass
    run_files.write_input_files(files)


def display_cap(display):
    """The display cap the session started with (kept on the object across calls)."""
    cap = getattr(display, 'cap', None)
    if cap is None:
        cap = display.room
        display.cap = cap
    return cap


def report_call_exception(exc, code):
    error, limit = describe(exc)
    try:
        print_user_traceback(exc, code if isinstance(code, str) else '')
    except BaseException:
        pass
    return {'ok': False, 'error': error, 'limit': limit}


def outputs_snapshot(cwd):
    """(size, mtime_ns) of each file under ./outputs/ before a call: its response.files lists only what changed."""
    snapshot = {}
    top = os.path.join(cwd, run_files.OUTPUTS_DIR)
    try:
        for root, _dirs, names in os.walk(top):
            for name in names:
                path = os.path.join(root, name)
                st = os.lstat(path)
                snapshot[os.path.relpath(path, top)] = (st.st_size, st.st_mtime_ns)
                if len(snapshot) > run_files.MAX_SCANNED_ENTRIES:
                    return snapshot
    except OSError:
        pass
    return snapshot


def rich_output(display, cwd, rich, report):
    """The call's files (created or changed under ./outputs/ by this call) and display."""
    extra = {}
    before = report.pop('_before', None) or {}
    files = run_files.collect_outputs(cwd, rich.max_output_file_bytes)
    changed = []
    for entry in files:
        try:
            st = os.lstat(os.path.join(cwd, run_files.OUTPUTS_DIR, entry['path']))
            if before.get(entry['path']) == (st.st_size, st.st_mtime_ns):
                continue
        except OSError:
            pass
        changed.append(entry)
    if changed:
        extra['files'] = changed
    extra.update(display.report_fields())
    return extra


def write_report(report, status, max_result_bytes, rich):
    """Flush the call's output, then its report frame (the server reads the output up to it)."""
    exit_code = report.pop('exit_code', status)

    def rich_then_forget_before():
        try:
            return rich()
        finally:
            report.pop('_before', None)  # the outputs snapshot is the harness's own, never reported

    data, status = flushed_report(report, status, max_result_bytes, rich_then_forget_before)
    data = data[:-1] + b',"exit_code":%d}' % (status if status else exit_code)
    protocol.write_all(protocol.HARNESS_RESULT_FD, protocol.encode_report(data))
