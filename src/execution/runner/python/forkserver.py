# Warm fork server for untrusted Python runs. Started by the service inside bubblewrap as
#   python3 -I -S -B -c <this file's text> <limits as JSON>
# It talks to the service over fd 0 (requests) and fd 1 (responses): frames of a 4-byte
# big-endian length followed by UTF-8 JSON. It holds no secrets and no job data between runs.
# Per run it forks a monitor that unshares user/pid/mount/net/ipc/uts namespaces and forks
# the run itself as pid 1 of the new pid namespace: killing that pid kills every process the
# run started, including daemonised grandchildren.
# The next run's monitor and pid 1 are prepared ahead (namespaces, mounts, limits, no
# capabilities; no job data), so a request only pays for its own code: the namespaces are
# still fresh for every run and never reused.
import _ast  # every run's prepare() needs it: loading it per run cost ~1 ms of CPU
import ctypes
import json
import os
import resource  # every run sets limits: a shared library, ~0.4 ms of CPU to load per run
import select
import signal
import site
import struct
import sys
import time

site.main()  # once, here: sys.path with dist-packages and the exit()/quit() builtins, inherited by every run

LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
SYS_CAPSET = {'x86_64': 126, 'aarch64': 91}.get(os.uname().machine, 126)
SANDBOX_UID = 1000  # the uid user code sees inside its namespace
USER_FILENAME = '<code>'
RESULT_FD = 3
REQUEST_FD = 4  # pid 1 reads its run's code here, once
READ_CHUNK = 65536
# After SIGKILL, how long to wait for the run's pid namespace to die before reporting anyway.
KILL_GRACE_SEC = 0.5  # under the service's 1 s backstop, which would kill the whole server


def log(msg):
    os.write(2, ('forkserver[%d]: %s\n' % (os.getpid(), msg)).encode())


def write_frame(fd, obj):
    data = json.dumps(obj, ensure_ascii=False, separators=(',', ':')).encode('utf-8', 'surrogatepass')
    buf = memoryview(struct.pack('>I', len(data)) + data)
    while buf:
        buf = buf[os.write(fd, buf):]


def read_exact(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b''.join(chunks)


def check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, '%s: %s' % (what, os.strerror(err)))


def write_file(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def last_capability():
    try:
        with open('/proc/sys/kernel/cap_last_cap') as f:
            return int(f.read())
    except (OSError, ValueError):
        return 63


# ---------------------------------------------------------------- inside the run (pid 1)

def enter_sandbox(req):
    """Runs in the new namespaces, before user code (and before its request): mounts, limits, no capabilities."""
    if req['isolate']:
        check(LIBC.mount(b'none', b'/', None, MS_REC | MS_PRIVATE, None), 'make mounts private')
        check(LIBC.mount(b'proc', b'/proc', b'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC, None), 'mount /proc')
        opts = ('size=%dm,nr_inodes=4096,mode=0700,uid=%d,gid=%d' % (req['scratch_mb'], SANDBOX_UID, SANDBOX_UID)).encode()
        check(LIBC.mount(b'tmpfs', b'/tmp', b'tmpfs', MS_NOSUID | MS_NODEV, opts), 'mount scratch /tmp')
        if os.path.isdir('/dev/shm'):
            LIBC.mount(b'tmpfs', b'/dev/shm', b'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, b'size=1m,nr_inodes=16')
        os.chdir('/tmp')
        # No further user namespaces from user code: limit this namespace's count to zero.
        try:
            write_file('/proc/sys/user/max_user_namespaces', '0')
        except OSError:
            pass
    else:
        os.chdir(req['scratch_dir'])
    # Address space preloaded modules took in the server is not the run's: it gets its full limit.
    mem = req['memory_mb'] * 1024 * 1024 + req.get('preload_vm_bytes', 0)
    limits = [
        (resource.RLIMIT_AS, mem),
        (resource.RLIMIT_FSIZE, req['scratch_mb'] * 1024 * 1024),
        (resource.RLIMIT_NOFILE, 256),
        (resource.RLIMIT_NPROC, req['nproc']),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_MSGQUEUE, 0),
    ]
    for which, value in limits:
        resource.setrlimit(which, (value, value))
    if req['isolate']:
        LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        prctl = LIBC.prctl
        for cap in range(req['cap_last_cap'] + 1):
            prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
        data = (ctypes.c_uint32 * 6)()  # effective/permitted/inheritable, 2 words each, all zero
        check(LIBC.syscall(SYS_CAPSET, header, data), 'drop capabilities')
    if not req['isolate']:  # isolated runs inherit the server's, set once (run_environment)
        run_environment(os.getcwd())


SINGLE_THREAD_ENV = {'OPENBLAS_NUM_THREADS': '1', 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1',
                     'NUMEXPR_NUM_THREADS': '1'}


def run_environment(cwd):
    os.environ.clear()
    os.environ.update({'PATH': '/usr/local/bin:/usr/bin:/bin', 'HOME': cwd, 'TMPDIR': cwd,
                       'LANG': 'C.UTF-8', 'PYTHONIOENCODING': 'utf-8'})
    os.environ.update(SINGLE_THREAD_ENV)


def load_libraries(config):
    """SANDBOX_PYTHONPATH on sys.path, then SANDBOX_PRELOAD imported once, before any run:
    every run forks from here, so it pays nothing for them and sees only its own changes."""
    for path in config.get('python_path') or ():
        if path not in sys.path:
            sys.path.append(path)
    os.environ.update(SINGLE_THREAD_ENV)  # before a BLAS starts its threads
    import importlib
    before = vm_size_bytes()
    for name in config.get('preload') or ():
        try:
            importlib.import_module(name)
        except BaseException as exc:
            raise PreloadError('SANDBOX_PRELOAD: cannot import %s in the sandbox: %s: %s'
                               % (name, type(exc).__name__, exc)) from None
    config['preload_vm_bytes'] = max(0, vm_size_bytes() - before) if config.get('preload') else 0


def vm_size_bytes():
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmSize:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class PreloadError(Exception):
    pass


class _Return(BaseException):
    """Carries a top-level `return` value out of the user's module."""

    def __init__(self, value):
        self.value = value


def _guard_return():
    # Prepended to top-level `except` blocks so they cannot swallow a top-level `return`.
    err = sys.exc_info()[1]
    if isinstance(err, _Return):
        raise err


def prepare(code):
    """Compile user code: top-level `return x` and a trailing expression both become the result."""
    A = _ast
    tree = compile(code, USER_FILENAME, 'exec', A.PyCF_ONLY_AST)

    def located(node, like):
        for attr in ('lineno', 'col_offset', 'end_lineno', 'end_col_offset'):
            setattr(node, attr, getattr(like, attr))
        return node

    def raise_return(value, like):
        call = located(A.Call(located(A.Name('__pyexec_return__', A.Load()), like),
                              [value if value is not None else located(A.Constant(None), like)], []), like)
        return located(A.Raise(call, None), like)

    def rewrite(body):
        out = []
        for stmt in body:
            if isinstance(stmt, A.Return):
                stmt = raise_return(stmt.value, stmt)
            elif not isinstance(stmt, (A.FunctionDef, A.AsyncFunctionDef, A.ClassDef)):
                for field in ('body', 'orelse', 'finalbody'):
                    if isinstance(getattr(stmt, field, None), list):
                        setattr(stmt, field, rewrite(getattr(stmt, field)))
                for handler in getattr(stmt, 'handlers', ()):
                    guard = located(A.Expr(located(A.Call(located(A.Name('__pyexec_guard__', A.Load()), handler),
                                                          [], []), handler)), handler)
                    handler.body = [guard] + rewrite(handler.body)
                for case in getattr(stmt, 'cases', ()):
                    case.body = rewrite(case.body)
            out.append(stmt)
        return out

    tree.body = rewrite(tree.body)
    if tree.body and isinstance(tree.body[-1], A.Expr):
        last = tree.body[-1]
        tree.body[-1] = raise_return(last.value, last)
    return compile(tree, USER_FILENAME, 'exec')


def to_jsonable(value, depth=0, seen=None):
    """JSON types pass through, tuples become lists, anything else becomes its repr()."""
    if value is None or value is True or value is False or type(value) in (int, str):
        return value
    if type(value) is float:
        return value if value == value and value not in (float('inf'), float('-inf')) else repr(value)
    if depth > 100:
        return repr(value)
    seen = seen if seen is not None else set()
    if type(value) in (list, tuple, dict):
        if id(value) in seen:
            return repr(value)
        seen.add(id(value))
        try:
            if type(value) is dict:
                out = {}
                for key, item in value.items():
                    if type(key) is not str:
                        key = json.dumps(key) if key is None or type(key) in (int, float, bool) else repr(key)
                    out[key] = to_jsonable(item, depth + 1, seen)
                return out
            return [to_jsonable(item, depth + 1, seen) for item in value]
        finally:
            seen.discard(id(value))
    return repr(value)


LIMIT_ERRNOS = {27: 'File size limit exceeded', 28: 'Scratch space limit exceeded', 24: 'Open files limit exceeded'}


def describe(exc):
    """'<ExceptionType>: <message>', or the name of the limit that was hit."""
    name = type(exc).__qualname__
    mod = type(exc).__module__
    if mod not in ('builtins', '__main__', None):
        name = mod + '.' + name
    text = ''
    try:
        text = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    except BaseException:
        pass
    plain = '%s: %s' % (name, text) if text else name
    if isinstance(exc, MemoryError):
        return 'Memory limit exceeded', 'memory'
    if isinstance(exc, BlockingIOError) and exc.errno == 11:
        return 'Process limit exceeded (%s)' % plain, 'processes'
    if isinstance(exc, RuntimeError) and "can't start new thread" in text:
        return 'Process limit exceeded (%s)' % plain, 'processes'
    if isinstance(exc, OSError) and exc.errno in LIMIT_ERRNOS:
        return '%s (%s)' % (LIMIT_ERRNOS[exc.errno], plain), 'disk' if exc.errno != 24 else 'files'
    return plain, None


def print_user_traceback(exc, code):
    """The traceback as Python prints it, without the harness's own frames."""
    import linecache
    import traceback
    linecache.cache[USER_FILENAME] = (len(code), None, code.splitlines(True), USER_FILENAME)
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != USER_FILENAME:
        tb = tb.tb_next
    sys.stderr.write(''.join(traceback.format_exception(type(exc), exc, tb)))


def run_user_code(ctx):
    """In pid 1 of the run's namespaces: wait for the code, run it, report on fd 3, exit with Python's status."""
    import builtins
    main = type(sys)('__main__')
    main.__builtins__ = builtins
    sys.modules['__main__'] = main
    sys.argv = [USER_FILENAME]
    sys.stdin = sys.__stdin__ = open(0, 'r', encoding='utf-8', errors='surrogateescape', closefd=False)
    sys.stdout = sys.__stdout__ = open(1, 'w', encoding='utf-8', errors='backslashreplace', closefd=False,
                                       buffering=1)
    sys.stderr = sys.__stderr__ = open(2, 'w', encoding='utf-8', errors='backslashreplace', closefd=False,
                                       buffering=1)
    builtins.__pyexec_return__ = _Return
    builtins.__pyexec_guard__ = _guard_return
    del ctx
    request = read_to_end(REQUEST_FD)
    os.close(REQUEST_FD)
    if not request:
        os._exit(0)  # the server went away before this prepared run was used
    req = json.loads(request)
    del request
    resource.setrlimit(resource.RLIMIT_CPU, (req['cpu_sec'], req['cpu_sec']))
    code = req['code']
    del req
    report = {'ok': True, 'result': None}
    status = 0
    try:
        compiled = prepare(code)
        exec(compiled, main.__dict__)
    except _Return as ret:
        try:
            report['result'] = to_jsonable(ret.value)
        except BaseException as exc:  # a hostile __repr__
            report = {'ok': False, 'error': describe(exc)[0]}
            status = 1
    except SystemExit as exc:
        status, report = exit_status(exc)
    except BaseException as exc:
        report = report_exception(exc, code)
        status = 1
    finish(report, status)


def read_to_end(fd):
    chunks = []
    while True:
        chunk = os.read(fd, READ_CHUNK)
        if not chunk:
            return b''.join(chunks)
        chunks.append(chunk)


def exit_status(exc):
    code = exc.code
    if code is None:
        return 0, {'ok': True, 'result': None}
    if isinstance(code, int):
        status = code & 0xFF
    else:
        try:
            sys.stderr.write(str(code) + '\n')
        except BaseException:
            pass
        status = 1
    if status == 0:
        return 0, {'ok': True, 'result': None}
    return status, {'ok': False, 'error': 'SystemExit: %s' % (code,)}


def report_exception(exc, code):
    error, limit = describe(exc)
    if limit == 'memory':
        exc.__traceback__ = None  # free what we can before formatting anything
    try:
        print_user_traceback(exc, code if isinstance(code, str) else '')
    except BaseException:
        pass
    return {'ok': False, 'error': error, 'limit': limit}


def finish(report, status):
    """Like interpreter exit: join threads, run atexit, flush; then one message on fd 3."""
    try:
        if 'threading' in sys.modules:
            sys.modules['threading']._shutdown()
        import atexit
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    try:
        data = json.dumps(report, ensure_ascii=False, allow_nan=False).encode('utf-8', 'surrogatepass')
    except BaseException as exc:
        data = json.dumps({'ok': False, 'error': 'Result is not serialisable: %s' % describe(exc)[0]}).encode()
        status = status or 1
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(RESULT_FD, view):]
    except BaseException:
        pass
    os._exit(status)


# ---------------------------------------------------------------- the monitor (one per run)

def monitor(config, ctrl_fd):
    """Owns one run: prepares its namespaces and pid 1 ahead, then waits for the request on
    ctrl_fd (a frame; any later byte cancels); supervises the run and writes the response frame."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.close(0)
    try:
        run = prepare_run(config)
        setup_error = None
    except BaseException as exc:
        run, setup_error = None, '%s: %s' % (type(exc).__name__, exc)
    header = read_exact(ctrl_fd, 4)
    body = header and read_exact(ctrl_fd, struct.unpack('>I', header)[0])
    if not body:
        os._exit(0)  # the server ended without using this run
    started = time.monotonic()
    req = json.loads(body)
    del body
    req.update(config)
    if setup_error:
        write_frame(1, {'op': 'done', 'id': req['id'], 'status': 'setup_failed', 'error': setup_error})
        os._exit(1)
    pid, in_w, out_r, err_r, res_r, req_w = run
    try:
        data = json.dumps({'code': req.pop('code'), 'cpu_sec': req['cpu_sec']}).encode('utf-8', 'surrogatepass')
        write_all(req_w, data)
    except OSError:
        pass  # pid 1 died while being prepared: its exit status and setup error tell
    os.close(req_w)
    outcome = supervise(req, pid, ctrl_fd, in_w, out_r, err_r, res_r, started)
    write_frame(1, outcome)
    if not config['isolate']:
        import shutil
        shutil.rmtree(config['scratch_dir'], ignore_errors=True)
    os._exit(0)


def prepare_run(config):
    """New namespaces and pid 1 in them, sandboxed and waiting for its code on REQUEST_FD."""
    outer_uid, outer_gid = os.getuid(), os.getgid()
    if config['isolate']:
        check(LIBC.unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS),
              'unshare namespaces')
        write_file('/proc/self/setgroups', 'deny')
        write_file('/proc/self/uid_map', '%d %d 1\n' % (SANDBOX_UID, outer_uid))
        write_file('/proc/self/gid_map', '%d %d 1\n' % (SANDBOX_UID, outer_gid))
    else:  # SANDBOX=process: no namespaces, a scratch folder of its own
        config['scratch_dir'] = '/tmp/pyexec-run-%d-%s' % (os.getpid(), os.urandom(6).hex())
        os.mkdir(config['scratch_dir'], 0o700)
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    req_r, req_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            os.dup2(in_r, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.dup2(res_w, RESULT_FD)
            os.dup2(req_r, REQUEST_FD)
            os.closerange(REQUEST_FD + 1, 65536)
            os.setsid()  # else kill(0, ...) from user code would reach the fork server's process group
            enter_sandbox(config)
        except BaseException as exc:
            try:
                os.write(RESULT_FD, json.dumps({'ok': False, 'setup_error': '%s: %s' % (type(exc).__name__, exc)}).encode())
            finally:
                os._exit(125)
        run_user_code(config)
        os._exit(0)
    for fd in (in_r, out_w, err_w, res_w, req_r):
        os.close(fd)
    return pid, in_w, out_r, err_r, res_r, req_w


def supervise(req, pid, ctrl_fd, in_w, out_r, err_r, res_r, started):
    cap = req['max_output_bytes']
    deadline = started + req['timeout_ms'] / 1000.0
    bufs = {out_r: bytearray(), err_r: bytearray(), res_r: bytearray()}
    caps = {out_r: cap, err_r: cap, res_r: req['max_result_bytes'] + 1}
    truncated = {out_r: False, err_r: False, res_r: False}
    stdin = memoryview(req['stdin'].encode('utf-8', 'surrogateescape'))
    os.set_blocking(in_w, False)
    if not stdin:
        os.close(in_w)
        in_w = None
    pidfd = os.pidfd_open(pid)
    # Isolated runs die with their pid namespace's init; unisolated ones with their session.
    def kill():
        try:
            (os.kill if req['isolate'] else os.killpg)(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    ended_by = None
    killed_at = None
    wait_status = None
    open_fds = set(bufs)
    while open_fds or wait_status is None:
        now = time.monotonic()
        if ended_by is None and now >= deadline:
            ended_by = 'timeout'
            kill()
        if ended_by is not None:
            killed_at = killed_at or now
            if now - killed_at > KILL_GRACE_SEC:
                # SIGKILLed but not gone (a task stuck in the kernel keeps the namespace alive):
                # report now so the run's slot is not held; the kernel finishes the kill later.
                log('run %s: pid %d not gone %.1f s after SIGKILL (%s); reporting it %s' % (
                    req['id'], pid, now - killed_at, task_state(pid), ended_by))
                wait_status = wait_status if wait_status is not None else signal.SIGKILL
                break
        rlist = list(open_fds) + ([pidfd] if wait_status is None else []) + ([ctrl_fd] if ended_by is None else [])
        wlist = [in_w] if in_w is not None else []
        timeout = max(0.0, deadline - now) if ended_by is None else 0.25
        readable, writable, _ = select.select(rlist, wlist, [], timeout)
        if writable:
            try:
                stdin = stdin[os.write(in_w, stdin[:READ_CHUNK]):]
            except OSError:  # user code closed its stdin
                stdin = stdin[:0]
            if not stdin:
                os.close(in_w)
                in_w = None
        for fd in readable:
            if fd == ctrl_fd:
                if ended_by is None:
                    ended_by = 'cancelled'
                    kill()
                continue
            if fd == pidfd:
                wait_status = os.waitpid(pid, 0)[1]
                continue
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                open_fds.discard(fd)
                os.close(fd)
                continue
            room = caps[fd] - len(bufs[fd])
            if room > 0:
                bufs[fd] += chunk[:room]
            if len(chunk) > room:
                truncated[fd] = True
    run_ms = (time.monotonic() - started) * 1000.0
    return describe_outcome(req, wait_status, ended_by, bufs[out_r], bufs[err_r], bufs[res_r],
                            truncated[out_r], truncated[err_r], truncated[res_r], run_ms)


def task_state(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            state = [line.split(':', 1)[1].strip() for line in f if line.startswith('State:')]
        with open('/proc/%d/wchan' % pid) as f:
            return '%s, wchan %s' % (state[0] if state else '?', f.read().strip() or '-')
    except OSError as exc:
        return 'unknown: %s' % exc


def describe_outcome(req, wait_status, ended_by, out, err, res, out_trunc, err_trunc, res_trunc, run_ms):
    outcome = {
        'op': 'done', 'id': req['id'], 'run_ms': round(run_ms, 3),
        'stdout': out.decode('utf-8', 'replace'), 'stderr': err.decode('utf-8', 'replace'),
        'stdout_truncated': out_trunc, 'stderr_truncated': err_trunc,
        'result': None, 'error': None, 'limit': None, 'exit_code': 0, 'signal': None, 'status': 'exited',
    }
    if os.WIFSIGNALED(wait_status):
        outcome['signal'] = os.WTERMSIG(wait_status)
        outcome['exit_code'] = 128 + outcome['signal']
        outcome['status'] = 'signaled'
    else:
        outcome['exit_code'] = os.WEXITSTATUS(wait_status)
    if ended_by:
        outcome['status'] = ended_by
        outcome['exit_code'] = 124 if ended_by == 'timeout' else outcome['exit_code']
        return outcome
    report = None
    if res_trunc:
        outcome['error'] = 'Result exceeds %d bytes' % req['max_result_bytes']
        outcome['limit'] = 'result'
        outcome['exit_code'] = outcome['exit_code'] or 1
        return outcome
    if res:
        try:
            report = json.loads(res.decode('utf-8', 'surrogatepass'))
        except ValueError:
            report = None
    if isinstance(report, dict) and report.get('setup_error'):
        outcome['status'] = 'setup_failed'
        outcome['error'] = report['setup_error']
        return outcome
    if outcome['status'] == 'signaled':
        sig = outcome['signal']
        outcome['error'], outcome['limit'] = {
            signal.SIGXCPU: ('CPU time limit exceeded', 'cpu'),
            signal.SIGXFSZ: ('File size limit exceeded', 'disk'),
            signal.SIGKILL: ('Killed (SIGKILL), most likely by the memory limit', 'memory'),
            signal.SIGSEGV: ('Segmentation fault (SIGSEGV)', None),
        }.get(sig, ('Killed by signal %d' % sig, None))
        return outcome
    if outcome['exit_code'] == 0 and isinstance(report, dict) and report.get('ok'):
        outcome['result'] = report.get('result')
        return outcome
    if isinstance(report, dict) and not report.get('ok'):
        outcome['error'] = report.get('error')
        outcome['limit'] = report.get('limit')
    if outcome['exit_code'] == 0:
        outcome['exit_code'] = 1 if outcome['error'] else 0
    if outcome['error'] is None and outcome['exit_code'] != 0:
        outcome['error'] = 'Process exited with status %d' % outcome['exit_code']
    return outcome


# ---------------------------------------------------------------- the server loop

def serve(config):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    config['cap_last_cap'] = last_capability()
    load_libraries(config)
    if config['isolate']:
        run_environment('/tmp')  # every isolated run's cwd
    running = {}  # run id -> (monitor pid, control fd)
    spare = prepare_monitor(config, running)
    write_frame(1, {'op': 'ready', 'pid': os.getpid(), 'uid': os.getuid()})
    while True:
        header = read_exact(0, 4)
        if header is None:
            return
        body = read_exact(0, struct.unpack('>I', header)[0])
        if body is None:
            return
        msg = json.loads(body)
        reap(running)
        if msg['op'] == 'run':
            for _ in range(2):
                if spare is None:
                    spare = prepare_monitor(config, running)
                pid, ctrl_w = spare
                spare = None
                try:
                    write_all(ctrl_w, header + body)
                except OSError:  # that monitor died before its run came: try a fresh one
                    os.close(ctrl_w)
                    continue
                running[msg['id']] = (pid, ctrl_w)
                break
            else:
                write_frame(1, {'op': 'done', 'id': msg['id'], 'status': 'setup_failed', 'error': 'no monitor'})
            del msg, body
            spare = prepare_monitor(config, running)
        elif msg['op'] == 'cancel':
            entry = running.get(msg['id'])
            if entry:
                try:
                    os.write(entry[1], b'c')
                except OSError:
                    pass


def prepare_monitor(config, running):
    """Forks the monitor of the next run; it prepares that run and waits for its request."""
    ctrl_r, ctrl_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ctrl_w)
            for _, other in running.values():
                os.close(other)
            monitor(config, ctrl_r)
        except BaseException as exc:
            log('monitor failed: %s: %s' % (type(exc).__name__, exc))
            os._exit(1)
        os._exit(0)
    os.close(ctrl_r)
    return pid, ctrl_w


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def reap(running):
    for run_id, (pid, ctrl_w) in list(running.items()):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            os.close(ctrl_w)
            del running[run_id]


if __name__ == '__main__':
    try:
        serve(json.loads(sys.argv[1]))
    except PreloadError as exc:
        log(str(exc))
        os._exit(1)
    except BaseException as exc:
        log('fatal: %s: %s' % (type(exc).__name__, exc))
        os._exit(1)
