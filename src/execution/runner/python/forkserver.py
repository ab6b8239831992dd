# Warm fork server for untrusted Python runs. Started by the service inside bubblewrap as
#   python3 -I -S -B -c <this file's text> <limits as JSON>
# It talks to the service over fd 0 (requests) and fd 1 (responses): frames of a 4-byte
# big-endian length followed by UTF-8 JSON. It holds no secrets and no job data between runs.
# Per run one process is made: pid 1 of the run, cloned straight into new user/pid/mount/net/ipc/uts
# namespaces from a template process (forked at start, before any request: it never holds job data),
# as the server's own child; the server supervises it: killing that pid kills every process the run
# started, including daemonised grandchildren.
# The next run's pid 1 is prepared ahead, while the server waits for the next request
# (namespaces, mounts, limits, no capabilities; no job data), so a request only pays for its own
# code: the namespaces are still fresh for every run and never reused.
import _ast  # every run's prepare() needs it: loading it per run cost ~1 ms of CPU
import ctypes
import json
import os
import resource  # every run sets limits: a shared library, ~0.4 ms of CPU to load per run
import select
import signal
import site
import socket
import struct
import sys
import time

site.main()  # once, here: sys.path with dist-packages and the exit()/quit() builtins, inherited by every run

LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x1000, 0x4000, 0x40000
PR_SET_PDEATHSIG, PR_SET_NAME, PR_SET_SECCOMP, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 15, 22, 24, 38
SECCOMP_MODE_FILTER = 2
SYS_CAPSET = {'x86_64': 126, 'aarch64': 91}.get(os.uname().machine, 126)
SANDBOX_UID = 1000  # the uid user code sees inside its namespace
USER_FILENAME = '<code>'
RESULT_FD = 3  # pid 1's report channel while it is prepared; user code never sees it here
HARNESS_RESULT_FD = 255  # ...but here, close-on-exec, under RLIMIT_NOFILE: see finish()
REQUEST_FD = 4  # pid 1 reads its run's code here, once
CGROUP_TASKS_FD = 254  # pid 1's handle on its run's memory cgroup, closed before user code runs
READY = b'R'  # pid 1 -> server on the report channel: prepared; anything else there is a setup error
STARTED = b'S'  # ...and, first after the request: in its cgroup, user code starts; anything else: setup error
# Frames on the report channel: MAGIC, the JSON's length in decimal, a newline, the JSON. The
# server takes the last well-formed one, so bytes user code writes there cannot erase a later report.
RESULT_MAGIC = b'\x00\x1ePYEXEC-REPORT\x1e'
REPORT_LIMITS = ('memory', 'cpu', 'disk', 'files', 'processes', 'result', None)
MAX_PTYS = 16
MAX_PENDING_SIGNALS = 1024
WATCHDOG_SEC = 0.05  # without a memory cgroup: how often the server sums the run's memory
READ_CHUNK = 65536
# After SIGKILL, how long to wait for the run's pid namespace to die before reporting anyway.
KILL_GRACE_SEC = 0.5  # under the service's 1 s backstop, which would kill the whole server


def log(msg):
    # One line each, control characters escaped: the service logs these lines as they are.
    os.write(2, ('forkserver[%d]: %s\n' % (os.getpid(), json.dumps(str(msg))[1:-1])).encode())


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


# One clone() per run makes pid 1 directly in its new namespaces (unshare() would need a second
# process: a new pid namespace only takes the caller's children). Python has no clone(), so this is
# os.fork() with the flags: the raw syscall between Python's own before/after-fork hooks (which
# reseed `random`, reset locks and threads, as for os.fork), and glibc's cached thread id in the
# child set by the kernel (CLONE_CHILD_SETTID), as glibc's fork() does. Needs a single-threaded
# template: the server checks it has one thread before forking it (os.fork() copies only that one);
# glibc's fork handlers, which only matter with other threads, do not run.
CLONE_CHILD_SETTID, CLONE_PARENT = 0x01000000, 0x00008000
RUN_NAMESPACES = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS


class RawClone:
    def __init__(self, machine):
        self.nr = ctypes.c_long(SECCOMP_ARCHES[machine][2])
        self.syscall = ctypes.PyDLL(None, use_errno=True).syscall  # keeps the GIL: nothing else runs meanwhile
        self.syscall.restype = ctypes.c_long
        LIBC.pthread_self.restype = ctypes.c_void_p
        # glibc publishes struct pthread's tid field for debuggers; checked against gettid() here.
        offset = (ctypes.c_uint32 * 3).in_dll(LIBC, '_thread_db_pthread_tid')[2]
        tid_address = LIBC.pthread_self() + offset
        if ctypes.c_int.from_address(tid_address).value != LIBC.gettid():
            raise OSError('cannot locate glibc\'s thread id field: refusing to clone')
        self.tid = ctypes.c_void_p(tid_address)
        self.x86_64 = machine == 'x86_64'
        # The kernel forgets a thread's robust-futex list in a clone; glibc's fork() registers it again.
        get_robust_list, self.set_robust_list = {'x86_64': (274, 273), 'aarch64': (100, 99)}[machine]
        self.robust_head, self.robust_len = ctypes.c_void_p(), ctypes.c_size_t()
        if LIBC.syscall(get_robust_list, 0, ctypes.byref(self.robust_head), ctypes.byref(self.robust_len)) != 0:
            raise OSError(ctypes.get_errno(), 'get_robust_list')

    def __call__(self, namespaces):
        api = ctypes.pythonapi
        api.PyOS_BeforeFork()
        flags = ctypes.c_ulong(namespaces | CLONE_CHILD_SETTID | signal.SIGCHLD)
        # x86_64: clone(flags, stack, parent_tid, child_tid, tls); aarch64: (flags, stack, parent_tid, tls, child_tid)
        if self.x86_64:
            pid = self.syscall(self.nr, flags, None, None, self.tid, None)
        else:
            pid = self.syscall(self.nr, flags, None, None, None, self.tid)
        if pid == 0:
            self.syscall(ctypes.c_long(self.set_robust_list), self.robust_head, self.robust_len)
            api.PyOS_AfterFork_Child()
            return 0
        err = ctypes.get_errno()
        api.PyOS_AfterFork_Parent()
        if pid < 0:
            raise OSError(err, 'clone: %s' % os.strerror(err))
        return pid


def set_process_name(name):
    LIBC.prctl(PR_SET_NAME, name, 0, 0, 0)


def threads_of_this_process():
    return len(os.listdir('/proc/self/task'))


def clone_run(config):
    # CLONE_PARENT: the run is the server's child (it waits for it and is its parent for the parent-death
    # signal), though the template made it.
    return config['clone']((RUN_NAMESPACES if config['isolate'] else 0) | CLONE_PARENT)


def last_capability():
    try:
        with open('/proc/sys/kernel/cap_last_cap') as f:
            return int(f.read())
    except (OSError, ValueError):
        return 63


# ---------------------------------------------------------------- the seccomp filter

# Syscalls no run needs and that are the usual way into kernel bugs or out of a container (the
# set container runtimes deny by default, and the namespace/mount family as defence in depth).
# name: (x86_64 number, aarch64 number); io_uring, the new mount API and pidfd_getfd share numbers.
DENIED_SYSCALLS = {
    'keyctl': (250, 219), 'add_key': (248, 217), 'request_key': (249, 218),
    'io_uring_setup': (425, 425), 'io_uring_enter': (426, 426), 'io_uring_register': (427, 427),
    'userfaultfd': (323, 282), 'bpf': (321, 280), 'perf_event_open': (298, 241), 'ptrace': (101, 117),
    'process_vm_readv': (310, 270), 'process_vm_writev': (311, 271), 'kcmp': (312, 272), 'pidfd_getfd': (438, 438),
    'mount': (165, 40), 'umount2': (166, 39), 'pivot_root': (155, 41), 'chroot': (161, 51),
    'unshare': (272, 97), 'setns': (308, 268), 'open_tree': (428, 428), 'move_mount': (429, 429),
    'fsopen': (430, 430), 'fsconfig': (431, 431), 'fsmount': (432, 432), 'fspick': (433, 433),
    'mount_setattr': (442, 442), 'open_by_handle_at': (304, 265), 'name_to_handle_at': (303, 264),
    'kexec_load': (246, 104), 'kexec_file_load': (320, 294), 'init_module': (175, 105),
    'finit_module': (313, 273), 'delete_module': (176, 106), 'acct': (163, 89), 'swapon': (167, 224),
    'swapoff': (168, 225), 'reboot': (169, 142), 'syslog': (103, 116), 'quotactl': (179, 60),
    'quotactl_fd': (443, 443), 'lookup_dcookie': (212, 18), 'vhangup': (153, 58), 'fanotify_init': (300, 262),
}
SECCOMP_ARCHES = {'x86_64': (0, 0xC000003E, 56, 435), 'aarch64': (1, 0xC00000B7, 220, 435)}  # column, AUDIT_ARCH, clone, clone3
SYS_SHMGET, SYS_MEMFD_CREATE, SYS_PRCTL = (29, 194), (319, 279), (157, 167)  # x86_64, aarch64
PR_SET_DUMPABLE = 4
CLONE_NAMESPACE_FLAGS = 0x7E020000  # NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
X32_SYSCALL_BIT = 0x40000000


def seccomp_program(machine, watchdog=False):
    """Classic BPF for SECCOMP_MODE_FILTER: other ABIs (i386, x32, arm32) and foreign arches are
    refused, the denied syscalls and clone() with namespace flags fail with EPERM, clone3 with ENOSYS
    (its flags live in memory a filter cannot read; libc then falls back to clone). Runs measured by
    the server's watchdog (no memory cgroup) also cannot hide memory from it: shmget and memfd_create
    get ENOSYS (their pages live where the watchdog cannot count them), prctl(PR_SET_DUMPABLE) EPERM
    (a non-dumpable process's memory cannot be read from outside)."""
    column, audit_arch, nr_clone, nr_clone3 = SECCOMP_ARCHES[machine]
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, kill, errno = 0x7FFF0000, 0x80000000, 0x00050000
    prog = [(ld, 'next', 'next', 4), (jeq, 'next', 'kill', audit_arch), (ld, 'next', 'next', 0)]
    if machine == 'x86_64':
        prog.append((jge, 'enosys', 'next', X32_SYSCALL_BIT))
    for nr in sorted({numbers[column] for numbers in DENIED_SYSCALLS.values()}):
        prog.append((jeq, 'eperm', 'next', nr))
    if watchdog:
        prog += [(jeq, 'enosys', 'next', SYS_SHMGET[column]), (jeq, 'enosys', 'next', SYS_MEMFD_CREATE[column]),
                 (jeq, 'next', 'not_prctl', SYS_PRCTL[column]),
                 (ld, 'next', 'next', 16),  # prctl's option
                 (jeq, 'eperm', 'allow', PR_SET_DUMPABLE),
                 'not_prctl']
    prog += [(jeq, 'enosys', 'next', nr_clone3), (jeq, 'next', 'allow', nr_clone),
             (ld, 'next', 'next', 16),  # low word of args[0] (little-endian): clone's flags
             (jset, 'eperm', 'allow', CLONE_NAMESPACE_FLAGS)]
    labels, code = {}, []
    for item in prog:  # a string marks where the instruction after it is
        if type(item) is str:
            labels[item] = len(code)
        else:
            code.append(item)
    prog = code
    labels.update({'allow': len(prog), 'eperm': len(prog) + 1, 'enosys': len(prog) + 2, 'kill': len(prog) + 3})
    prog += [(ret, 0, 0, allow), (ret, 0, 0, errno | 1), (ret, 0, 0, errno | 38), (ret, 0, 0, kill)]
    out = bytearray()
    for i, (code, jt, jf, k) in enumerate(prog):
        jt, jf = [0 if j in ('next', 0) else labels[j] - i - 1 for j in (jt, jf)]
        out += struct.pack('=HBBI', code, jt, jf, k)
    return bytes(out)


class SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_char_p)]


def install_seccomp(program):
    """After no_new_privs (required for an unprivileged filter); every later thread and child inherits it."""
    fprog = SockFprog(len(program) // 8, program)
    check(LIBC.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), 'install seccomp filter')


# ---------------------------------------------------------------- inside the run (pid 1)

def enter_sandbox(req):
    """Runs in the new namespaces, before user code (and before its request): mounts, limits, no capabilities."""
    if req['isolate']:
        check(LIBC.mount(b'none', b'/', None, MS_REC | MS_PRIVATE, None), 'make mounts private')
        check(LIBC.mount(b'proc', b'/proc', b'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC, None), 'mount /proc')
        opts = ('size=%dm,nr_inodes=4096,mode=0700,uid=%d,gid=%d' % (req['scratch_mb'], SANDBOX_UID, SANDBOX_UID)).encode()
        check(LIBC.mount(b'tmpfs', b'/tmp', b'tmpfs', MS_NOSUID | MS_NODEV, opts), 'mount scratch /tmp')
        # /dev is read-only and shared by the server's runs; what a run may write there is its own:
        # /dev/shm is its scratch tmpfs again (one size limit for both), /dev/pts a devpts of its own.
        check(LIBC.mount(b'/tmp', b'/dev/shm', None, MS_BIND, None), 'bind /dev/shm')
        check(LIBC.mount(b'devpts', b'/dev/pts', b'devpts', MS_NOSUID | MS_NOEXEC,
                         b'newinstance,ptmxmode=0666,mode=0620,max=%d' % MAX_PTYS), 'mount /dev/pts')
        os.chdir('/tmp')
        # Kernel objects counted per host uid: this run's own cap, below what other runs can still get
        # (no further user namespaces at all).
        for name, value in (('max_user_namespaces', 0), ('max_inotify_instances', req['inotify_instances']),
                            ('max_inotify_watches', req['inotify_watches'])):
            write_file('/proc/sys/user/' + name, str(value))
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
        (resource.RLIMIT_SIGPENDING, MAX_PENDING_SIGNALS),
    ]
    for which, value in limits:
        resource.setrlimit(which, (value, value))
    check(LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 'set no_new_privs')
    if req['isolate']:
        prctl = LIBC.prctl
        for cap in range(req['cap_last_cap'] + 1):
            prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
        data = (ctypes.c_uint32 * 6)()  # effective/permitted/inheritable, 2 words each, all zero
        check(LIBC.syscall(SYS_CAPSET, header, data), 'drop capabilities')
    install_seccomp(req['seccomp'])
    if not req['isolate']:  # isolated runs inherit the server's, set once (run_environment)
        run_environment(os.getcwd())


# Native math libraries start one thread per core by default; a slot runs one program and forks,
# so the server (before any preload) and every run get one. Set here only: it covers both modes.
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
    reseed_preloaded()
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
    max_result_bytes = ctx['max_result_bytes']
    joins_cgroup = ctx['run_cgroup'] is not None
    del ctx
    request = read_to_end(REQUEST_FD)
    os.close(REQUEST_FD)
    if not request:
        os._exit(0)  # the server went away before this prepared run was used
    try:
        req = json.loads(request)
        resource.setrlimit(resource.RLIMIT_CPU, (req['cpu_sec'], req['cpu_sec']))
        code = req['code']
        if joins_cgroup:
            # Only now: a prepared pid 1 waits outside, so the OOM killer never picks it for the
            # running run's memory. "0" moves this (single) thread: no global lock, no RCU grace period.
            os.write(CGROUP_TASKS_FD, b'0')
            os.close(CGROUP_TASKS_FD)
        os.write(HARNESS_RESULT_FD, STARTED)
    except BaseException as exc:
        try:
            os.write(HARNESS_RESULT_FD, ('%s: %s' % (type(exc).__name__, exc)).encode('utf-8', 'replace')[:500])
        finally:
            os._exit(125)
    del req, request
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
    finish(report, status, max_result_bytes)


def reseed_preloaded():
    """`random` reseeds itself in every forked or cloned child (Python's after-fork hook), but a
    preloaded numpy's global generator was seeded once, in the server: each run gets its own."""
    np_random = sys.modules.get('numpy.random')
    if np_random is not None:
        np_random.seed()


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


def finish(report, status, max_result_bytes):
    """Like interpreter exit: join threads, run atexit, flush; then one report frame, written after
    everything of the user's ran (but its daemon threads), on a descriptor exec'd programs never get."""
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
    if len(data) > max_result_bytes:
        data = json.dumps({'ok': False, 'error': 'Result exceeds %d bytes' % max_result_bytes, 'limit': 'result'}).encode()
        status = status or 1
    try:
        view = memoryview(RESULT_MAGIC + b'%d\n' % len(data) + data)
        while view:
            view = view[os.write(HARNESS_RESULT_FD, view):]
    except BaseException:
        pass
    os._exit(status)


# ---------------------------------------------------------------- one run, supervised by the server

def run_one(config, req, run):
    """Hands the request to the prepared pid 1, supervises it and returns the response frame.
    Cancel frames for this run arrive on fd 0 meanwhile (the service sends one run at a time)."""
    started = time.monotonic()
    if isinstance(run, OSError):
        return {'op': 'done', 'id': req['id'], 'status': 'setup_failed', 'error': 'cannot prepare a run: %s' % run}
    pid, in_w, out_r, err_r, res_r, req_w, scratch_dir = run
    req.update(config)
    held = {in_w, out_r, err_r, res_r}  # closed when the run is over, however it ended
    try:
        return run_prepared(req, pid, held, run, started)
    finally:
        for fd in held:
            os.close(fd)
        if scratch_dir:
            import shutil
            shutil.rmtree(scratch_dir, ignore_errors=True)


def run_prepared(req, pid, held, run, started):
    in_w, out_r, err_r, res_r, req_w = run[1:6]
    setup_error = wait_ready(res_r)
    cgroup = req['run_cgroup']
    oom_kills_before = 0
    if setup_error is None and cgroup:
        try:
            oom_kills_before = oom_kills(cgroup)
        except BaseException as exc:  # fail closed: no run without its memory bound
            setup_error = 'run cgroup: %s' % exc
    if setup_error is not None:
        os.close(req_w)
        kill_and_reap(req['isolate'], pid)
        return {'op': 'done', 'id': req['id'], 'status': 'setup_failed', 'error': setup_error}
    try:
        data = json.dumps({'code': req.pop('code'), 'cpu_sec': req['cpu_sec']}).encode('utf-8', 'surrogatepass')
        write_all(req_w, data)
    except OSError:
        pass  # pid 1 died while being prepared: its exit status and setup error tell
    os.close(req_w)
    try:
        outcome = supervise(req, pid, held, in_w, out_r, err_r, res_r, started)
    except BaseException as exc:  # a bug of ours: still answer (a 500), never leave the run to the backstop
        log('run %s: supervision failed: %s: %s' % (req['id'], type(exc).__name__, exc))
        kill_and_reap(req['isolate'], pid)
        outcome = {'op': 'done', 'id': req['id'], 'status': 'setup_failed',
                   'error': 'supervision failed: %s' % type(exc).__name__}
    if cgroup and outcome['status'] in ('exited', 'signaled') and oom_killed_since(cgroup, oom_kills_before):
        memory_limit_exceeded(outcome)
    return outcome


def kill_and_reap(isolate, pid):
    """For a run that is not supervised to its end: killed, and reaped now or, if the kernel holds
    it, by the server loop later (never a zombie per failed run)."""
    kill_run(isolate, pid)
    until = time.monotonic() + KILL_GRACE_SEC
    while True:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            return
        if time.monotonic() > until:
            STRAGGLERS.add(pid)
            return
        time.sleep(0.005)


def kill_run(isolate, pid):
    # Isolated runs die with their pid namespace's init; unisolated ones with their session.
    try:
        (os.kill if isolate else os.killpg)(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_ready(res_r):
    """Blocks until pid 1 is prepared (None) or failed (its error). Only this, before any user code
    ran, can make a setup error: nothing on the channel later is read as one."""
    data = os.read(res_r, 4096)
    if data == READY:
        return None
    while data and len(data) < 4096:
        chunk = os.read(res_r, 4096)
        if not chunk:
            break
        data += chunk
    return 'pid 1 was not prepared: %s' % (data.decode('utf-8', 'replace').strip() or 'it exited')


def oom_kills(cgroup):
    # memory.oom_control (v1) and memory.events (v2) both carry an "oom_kill N" line.
    for line in os.pread(cgroup['events_fd'], 4096, 0).split(b'\n'):
        if line.startswith(b'oom_kill '):
            return int(line.split()[1])
    return 0


def oom_killed_since(cgroup, before):
    try:
        return oom_kills(cgroup) > before
    except Exception as exc:
        log('run cgroup: cannot read its OOM kills: %s: %s' % (type(exc).__name__, exc))
        return False


def memory_limit_exceeded(outcome):
    outcome.update(error='Memory limit exceeded', limit='memory', result=None)
    if outcome['exit_code'] == 0:
        outcome['exit_code'] = 128 + signal.SIGKILL


# ---------------------------------------------------------------- the template: where runs come from
# The server reads requests and runs' output: its memory holds what runs wrote (in freed blocks, too),
# so no run may be cloned from it. Runs are cloned from the template, forked once at start before
# any request, which never sees a request or an output: every run starts from the same clean memory.

def start_template(config):
    """Forks the template; returns the server's end of its socket."""
    server_end, template_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        try:
            server_end.close()
            LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            set_process_name(b'pyexec-template')
            devnull = os.open('/dev/null', os.O_RDWR)
            os.dup2(devnull, 0)  # never the service's pipes: only the server talks to it
            os.dup2(devnull, 1)
            os.close(devnull)
            template_loop(config, template_end)
        except BaseException as exc:
            log('template failed: %s: %s' % (type(exc).__name__, exc))
        os._exit(1)
    template_end.close()
    return server_end


def template_loop(config, sock):
    while sock.recv(16):
        try:
            run = make_run(config)
        except OSError as exc:  # e.g. no memory for new namespaces: that run's answer says so
            sock.send(json.dumps({'error': str(exc)}).encode())
            continue
        pid, fds, scratch_dir = run[0], run[1:6], run[6]
        socket.send_fds(sock, [json.dumps({'pid': pid, 'scratch_dir': scratch_dir}).encode()], fds)
        for fd in fds:
            os.close(fd)


def prepare_run(config):
    """The next run, from the template: (pid, in_w, out_r, err_r, res_r, req_w, scratch_dir)."""
    sock = config['template']
    try:
        sock.send(b'r')
        msg, fds, _, _ = socket.recv_fds(sock, 4096, 5)
    except OSError:
        msg, fds = b'', []
    if not msg:
        log('the template is gone: stopping (the service starts a new server)')
        os._exit(1)
    reply = json.loads(msg)
    if 'error' in reply:
        raise OSError(reply['error'])
    return (reply['pid'], *fds, reply['scratch_dir'])


def make_run(config):
    """New namespaces and pid 1 in them (one clone), sandboxed and waiting for its code on REQUEST_FD.
    Nothing of a request is in it yet: it is made while the server waits for the next request."""
    scratch_dir = None
    if not config['isolate']:  # SANDBOX=process: no namespaces, a scratch folder of its own
        scratch_dir = '/tmp/pyexec-run-%d-%s' % (os.getpid(), os.urandom(6).hex())
        os.mkdir(scratch_dir, 0o700)
    fds = []
    try:
        for _ in range(6):
            fds.extend(os.pipe())
        pid = clone_run(config)
    except OSError:  # nothing of a failed attempt stays in the template
        for fd in fds:
            os.close(fd)
        if scratch_dir:
            os.rmdir(scratch_dir)
        raise
    in_r, in_w, out_r, out_w, err_r, err_w, res_r, res_w, req_r, req_w, maps_r, maps_w = fds
    # maps: the template -> pid 1: its uid/gid maps are written
    if pid == 0:
        try:
            os.close(maps_w)
            if os.read(maps_r, 1) != b'm':
                os._exit(125)  # the server failed to map it
            os.close(maps_r)
            LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            set_process_name(b'python3')
            if config['run_cgroup']:
                os.dup2(config['run_cgroup']['tasks_fd'], CGROUP_TASKS_FD, inheritable=False)
            os.dup2(in_r, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.dup2(res_w, RESULT_FD)
            os.dup2(req_r, REQUEST_FD)
            os.closerange(REQUEST_FD + 1, CGROUP_TASKS_FD)
            os.closerange(CGROUP_TASKS_FD + 1, 65536)
            os.setsid()  # else kill(0, ...) from user code would reach the fork server's process group
            if scratch_dir:
                config['scratch_dir'] = scratch_dir
            enter_sandbox(config)
            os.dup2(RESULT_FD, HARNESS_RESULT_FD, inheritable=False)
            os.close(RESULT_FD)
            os.write(HARNESS_RESULT_FD, READY)
        except BaseException as exc:
            text = ('%s: %s' % (type(exc).__name__, exc)).encode('utf-8', 'replace')[:2000]
            for fd in (RESULT_FD, HARNESS_RESULT_FD):  # whichever is still open
                try:
                    os.write(fd, text)
                    break
                except BaseException:
                    pass
            os._exit(125)
        run_user_code(config)
        os._exit(0)
    for fd in (in_r, out_w, err_w, res_w, req_r, maps_r):
        os.close(fd)
    try:
        if config['isolate']:
            write_file('/proc/%d/setgroups' % pid, 'deny')
            write_file('/proc/%d/uid_map' % pid, '%d %d 1\n' % (SANDBOX_UID, os.getuid()))
            write_file('/proc/%d/gid_map' % pid, '%d %d 1\n' % (SANDBOX_UID, os.getgid()))
        os.write(maps_w, b'm')
    except OSError as exc:
        log('prepared run: cannot map its uid: %s' % exc)  # pid 1 exits; the run reports a setup error
    os.close(maps_w)
    return pid, in_w, out_r, err_r, res_r, req_w, scratch_dir


def supervise(req, pid, held, in_w, out_r, err_r, res_r, started):
    try:
        stdin = memoryview(req['stdin'].encode('utf-8', 'surrogateescape'))
    except UnicodeEncodeError:  # a lone surrogate JSON can carry but no byte stands for
        stdin = memoryview(req['stdin'].encode('utf-8', 'surrogatepass'))
    os.set_blocking(in_w, False)

    def close(fd):
        held.discard(fd)
        os.close(fd)
    if not stdin:
        close(in_w)
        in_w = None
    pidfd = os.pidfd_open(pid)
    try:
        return supervise_loop(req, pid, pidfd, close, in_w, stdin, out_r, err_r, res_r, started)
    finally:
        os.close(pidfd)


def supervise_loop(req, pid, pidfd, close, in_w, stdin, out_r, err_r, res_r, started):
    cap = req['max_output_bytes']
    deadline = started + req['timeout_ms'] / 1000.0
    bufs = {out_r: bytearray(), err_r: bytearray(), res_r: bytearray()}
    caps = {out_r: cap, err_r: cap}
    report_tail = req['max_result_bytes'] + len(RESULT_MAGIC) + 16  # the last frame always fits
    truncated = {out_r: False, err_r: False}

    def kill():
        kill_run(req['isolate'], pid)
    ended_by = None
    killed_at = None
    wait_status = None
    open_fds = set(bufs)
    watchdog_at = started + WATCHDOG_SEC if req['memory_watchdog'] else float('inf')
    start_marker = None
    while open_fds or wait_status is None:
        now = time.monotonic()
        if ended_by is None and now >= deadline:
            ended_by = 'timeout'
            kill()
        if ended_by is None and now >= watchdog_at:
            watchdog_at = now + WATCHDOG_SEC
            if watchdog_bytes(req, pid) > req['memory_mb'] * 1024 * 1024:
                ended_by = 'memory'
                kill()
        if ended_by is not None:
            killed_at = killed_at or now
            if now - killed_at > KILL_GRACE_SEC:
                # SIGKILLed but not gone (a task stuck in the kernel keeps the namespace alive):
                # report now so the run's slot is not held; the kernel finishes the kill later.
                log('run %s: pid %d not gone %.1f s after SIGKILL (%s); reporting it %s' % (
                    req['id'], pid, now - killed_at, task_state(pid), ended_by))
                if wait_status is None:
                    STRAGGLERS.add(pid)  # reaped by the server loop once the kernel lets it go
                    wait_status = signal.SIGKILL
                break
        rlist = list(open_fds) + ([pidfd] if wait_status is None else []) + ([SERVICE_FD] if ended_by is None else [])
        wlist = [in_w] if in_w is not None else []
        timeout = max(0.0, min(deadline, watchdog_at) - now) if ended_by is None else 0.25
        readable, writable, _ = select.select(rlist, wlist, [], timeout)
        if writable:
            try:
                stdin = stdin[os.write(in_w, stdin[:READ_CHUNK]):]
            except OSError:  # user code closed its stdin
                stdin = stdin[:0]
            if not stdin:
                close(in_w)
                in_w = None
        for fd in readable:
            if fd == SERVICE_FD:
                if ended_by is None and control_frame(req['id']) == 'cancel':
                    ended_by = 'cancelled'
                    kill()
                continue
            if fd == pidfd:
                wait_status = os.waitpid(pid, 0)[1]
                continue
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                open_fds.discard(fd)
                close(fd)
                continue
            if fd == res_r:  # untrusted: keep its tail, where the harness's report comes last
                if start_marker is None:  # written by pid 1 before user code: trusted
                    start_marker = bytes(chunk[:200])
                bufs[fd] += chunk
                del bufs[fd][:-report_tail]
                continue
            room = caps[fd] - len(bufs[fd])
            if room > 0:
                bufs[fd] += chunk[:room]
            if len(chunk) > room:
                truncated[fd] = True
    run_ms = (time.monotonic() - started) * 1000.0
    if ended_by is None and (start_marker or b'')[:1] != STARTED:
        # pid 1 failed between its request and user code (nothing of the user's ran): ours, a 500.
        text = (start_marker or b'').decode('utf-8', 'replace') or 'it exited'
        return {'op': 'done', 'id': req['id'], 'status': 'setup_failed', 'error': 'pid 1 did not start the run: %s' % text}
    return describe_outcome(req, wait_status, ended_by, bufs[out_r], bufs[err_r], last_report(bufs[res_r]),
                            truncated[out_r], truncated[err_r], run_ms)


def last_report(buf):
    """The last well-formed, valid report frame on pid 1's channel, or None. Any bytes at all may be
    there (user code can write to it): nothing here may raise, and a bad frame is just skipped."""
    end = len(buf)
    for _ in range(16):
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


def watchdog_bytes(req, pid):
    """Fails closed: a run whose memory cannot be read is over its limit (pid 1 gone: its run is ending)."""
    try:
        return run_memory_bytes(req, pid)
    except (FileNotFoundError, ProcessLookupError):
        return 0
    except Exception as exc:
        log('run %s: memory watchdog cannot measure it (%s: %s): killed as over its limit'
            % (req['id'], type(exc).__name__, exc))
        return float('inf')


def run_memory_bytes(req, pid):
    """Without a memory cgroup: the run's PSS over all its processes, plus its tmpfs and memfd pages.
    The server reads them through pid 1's root: the run's own /proc and /tmp. (Such runs have no
    SysV shared memory, which lives in the run's ipc namespace: see seccomp_program().) Listing a
    process's descriptors also fails for one whose memory the server may not read (non-dumpable),
    where its smaps_rollup does not."""
    total = 0
    files = set()
    for proc in run_proc_dirs(req, pid):
        try:
            with open(proc + '/smaps_rollup', 'rb') as f:
                for line in f:
                    if line.startswith(b'Pss:'):
                        total += int(line.split()[1]) * 1024
                        break
            fd_dir = proc + '/fd/'
            for fd in os.listdir(fd_dir):
                if os.readlink(fd_dir + fd).startswith('/memfd:'):
                    st = os.stat(fd_dir + fd)
                    if (st.st_dev, st.st_ino) not in files:
                        files.add((st.st_dev, st.st_ino))
                        total += st.st_blocks * 512
        except (FileNotFoundError, ProcessLookupError):
            pass  # exited meanwhile (PermissionError is not: see watchdog_bytes)
    if req['isolate']:
        st = os.statvfs('/proc/%d/root/tmp' % pid)
        total += (st.f_blocks - st.f_bfree) * st.f_frsize
    return total


def run_proc_dirs(req, pid):
    if req['isolate']:  # the run's own /proc, which pid 1 mounted in its namespaces
        proc = '/proc/%d/root/proc/' % pid
        return [proc + name for name in os.listdir(proc) if name.isdigit()]
    out = []
    for name in os.listdir('/proc'):  # SANDBOX=process: the run's session
        try:
            with open('/proc/%s/stat' % name, 'rb') as f:
                if name.isdigit() and int(f.read().rsplit(b')', 1)[1].split()[3]) == pid:
                    out.append('/proc/' + name)
        except (OSError, ValueError, IndexError):
            pass
    return out


def task_state(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            state = [line.split(':', 1)[1].strip() for line in f if line.startswith('State:')]
        with open('/proc/%d/wchan' % pid) as f:
            return '%s, wchan %s' % (state[0] if state else '?', f.read().strip() or '-')
    except OSError as exc:
        return 'unknown: %s' % exc


def describe_outcome(req, wait_status, ended_by, out, err, report, out_trunc, err_trunc, run_ms):
    """The response frame. `report` is None or a report that passed valid_report()."""
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
    if ended_by == 'memory':  # the watchdog killed it
        outcome.update(status='signaled', signal=signal.SIGKILL, exit_code=128 + signal.SIGKILL)
        memory_limit_exceeded(outcome)
        return outcome
    if ended_by:
        outcome['status'] = ended_by
        outcome['exit_code'] = 124 if ended_by == 'timeout' else outcome['exit_code']
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
    if report is not None and report['ok']:
        if outcome['exit_code'] == 0:
            outcome['result'] = report['result']
            return outcome
    elif report is not None:
        outcome['error'] = report['error']
        outcome['limit'] = report.get('limit')
    if outcome['exit_code'] == 0:
        outcome['exit_code'] = 1 if outcome['error'] else 0
    if outcome['error'] is None and outcome['exit_code'] != 0:
        outcome['error'] = 'Process exited with status %d' % outcome['exit_code']
    return outcome


# ---------------------------------------------------------------- the server loop

SERVICE_FD = 0  # request and cancel frames from the service
STRAGGLERS = set()  # pids of killed runs reported before the kernel let them go; reaped later


def serve(config):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_process_name(b'pyexec-server')  # in ps and top; runs keep python3's name
    config['cap_last_cap'] = last_capability()
    load_libraries(config)
    machine = os.uname().machine
    if machine not in SECCOMP_ARCHES:
        raise OSError('no seccomp filter for %s (x86_64 and aarch64 only): refusing to run code' % machine)
    config['seccomp'] = seccomp_program(machine, watchdog=config['memory_watchdog'])
    if threads_of_this_process() != 1:
        raise PreloadError('SANDBOX_PRELOAD: the preloaded modules started %d threads in the fork server; '
                           'it must stay single-threaded (runs are cloned from it)' % (threads_of_this_process() - 1))
    config['clone'] = RawClone(machine)
    if config['isolate']:
        run_environment('/tmp')  # every isolated run's cwd
    import gc
    gc.collect()
    gc.freeze()  # what the template holds is never scanned again: no run copies its pages for a collection
    config['template'] = start_template(config)
    spare = prepare_spare(config)
    write_frame(1, {'op': 'ready', 'pid': os.getpid(), 'uid': os.getuid()})
    while True:
        msg = read_frame(SERVICE_FD)
        if msg is None:
            return
        reap_stragglers()
        if msg['op'] != 'run':
            continue  # a cancel for a run that has ended
        run, spare = spare, None
        outcome = run_one(config, msg, run)
        del msg
        write_frame(1, outcome)
        del outcome
        spare = prepare_spare(config)


def prepare_spare(config):
    try:
        return prepare_run(config)
    except OSError as exc:  # e.g. no memory for new namespaces: that run's answer says so
        return exc


def read_frame(fd):
    header = read_exact(fd, 4)
    body = header and read_exact(fd, struct.unpack('>I', header)[0])
    return json.loads(body) if body else None


def control_frame(run_id):
    """A frame from the service while a run is supervised: its cancel, or nothing to act on."""
    msg = read_frame(SERVICE_FD)
    if msg is None:
        os._exit(0)  # the service is gone: the run dies with us (its parent-death signal)
    if msg['op'] == 'run':  # one run at a time: the service never does this
        write_frame(1, {'op': 'done', 'id': msg['id'], 'status': 'setup_failed', 'error': 'server busy'})
        return None
    return msg['op'] if msg.get('id') == run_id else None


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def reap_stragglers():
    for pid in list(STRAGGLERS):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            STRAGGLERS.discard(pid)


if __name__ == '__main__':
    try:
        serve(json.loads(sys.argv[1]))
    except PreloadError as exc:
        log(str(exc))
        os._exit(1)
    except BaseException as exc:
        log('fatal: %s: %s' % (type(exc).__name__, exc))
        os._exit(1)
