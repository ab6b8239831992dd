"""Namespaces for one run: the clone() that makes its pid 1, its uid map, its own mounts, no capabilities."""
import ctypes
import os
import signal

from . import syscalls

LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
CLONE_CHILD_SETTID, CLONE_PARENT = 0x01000000, 0x00008000
RUN_NAMESPACES = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 0x1, 0x2, 0x4, 0x8, 0x20
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000
# What Docker hides from a container's /proc (moby daemon/pkg/oci/defaults.go, MaskedPaths and
# ReadonlyPaths; the run has no /sys at all): host details and kernel knobs.
PROC_MASKED = ('acpi', 'asound', 'interrupts', 'kcore', 'keys', 'latency_stats', 'sched_debug', 'scsi',
               'timer_list', 'timer_stats')
PROC_READ_ONLY = ('bus', 'fs', 'irq', 'sys', 'sysrq-trigger')
PR_SET_PDEATHSIG, PR_SET_NAME, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 15, 24, 38
SANDBOX_UID = 1000  # the uid user code sees inside its namespace
MAX_PTYS = 16


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


def set_process_name(name):
    LIBC.prctl(PR_SET_NAME, name, 0, 0, 0)


def die_with_parent():
    LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# One clone() per run makes pid 1 directly in its new namespaces (unshare() would need a second
# process: a new pid namespace only takes the caller's children). Python has no clone(), so this is
# os.fork() with the flags: the raw syscall between Python's own before/after-fork hooks (which
# reseed `random`, reset locks and threads, as for os.fork), and glibc's cached thread id in the
# child set by the kernel (CLONE_CHILD_SETTID), as glibc's fork() does. Needs a single-threaded
# template: the server checks it has one thread before forking it (os.fork() copies only that one);
# glibc's fork handlers, which only matter with other threads, do not run.
class RawClone:
    def __init__(self, machine):
        self.nr = ctypes.c_long(syscalls.number('clone', machine))
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
        self.set_robust_list = syscalls.number('set_robust_list', machine)
        self.robust_head, self.robust_len = ctypes.c_void_p(), ctypes.c_size_t()
        get_robust_list = syscalls.number('get_robust_list', machine)
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


def clone_run(clone, isolate):
    # CLONE_PARENT: the run is the server's child (it waits for it and is its parent for the parent-death
    # signal), though the template made it.
    return clone((RUN_NAMESPACES if isolate else 0) | CLONE_PARENT)


def map_run_user(pid):
    """From outside (the template): the run's one uid and gid, SANDBOX_UID inside, ours outside."""
    write_file('/proc/%d/setgroups' % pid, 'deny')
    write_file('/proc/%d/uid_map' % pid, '%d %d 1\n' % (SANDBOX_UID, os.getuid()))
    write_file('/proc/%d/gid_map' % pid, '%d %d 1\n' % (SANDBOX_UID, os.getgid()))


def mount_run_filesystems(scratch_mb):
    """In the run's mount namespace: its own /proc, a size-limited scratch /tmp, /dev/shm and /dev/pts."""
    check(LIBC.mount(b'none', b'/', None, MS_REC | MS_PRIVATE, None), 'make mounts private')
    check(LIBC.mount(b'proc', b'/proc', b'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC, None), 'mount /proc')
    opts = ('size=%dm,nr_inodes=4096,mode=0700,uid=%d,gid=%d' % (scratch_mb, SANDBOX_UID, SANDBOX_UID)).encode()
    check(LIBC.mount(b'tmpfs', b'/tmp', b'tmpfs', MS_NOSUID | MS_NODEV, opts), 'mount scratch /tmp')
    # /dev is read-only and shared by the server's runs; what a run may write there is its own:
    # /dev/shm is its scratch tmpfs again (one size limit for both), /dev/pts a devpts of its own.
    check(LIBC.mount(b'/tmp', b'/dev/shm', None, MS_BIND, None), 'bind /dev/shm')
    check(LIBC.mount(b'devpts', b'/dev/pts', b'devpts', MS_NOSUID | MS_NOEXEC,
                     b'newinstance,ptmxmode=0666,mode=0620,max=%d' % MAX_PTYS), 'mount /dev/pts')


def mask_proc():
    """Over the run's /proc, after the per-namespace knobs are set (limits.apply_user_namespace_caps):
    an empty read-only tmpfs on each masked directory, /dev/null on each masked file, and the
    read-only ones bound read-only. Paths this kernel lacks are skipped."""
    for name in PROC_MASKED:
        path = b'/proc/' + name.encode()
        if os.path.isdir(path):
            check(LIBC.mount(b'tmpfs', path, b'tmpfs', MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, b'size=0'),
                  'mask ' + name)
        elif os.path.exists(path):
            check(LIBC.mount(b'/dev/null', path, None, MS_BIND, None), 'mask ' + name)
    for name in PROC_READ_ONLY:
        path = b'/proc/' + name.encode()
        if os.path.exists(path):
            check(LIBC.mount(path, path, None, MS_BIND | MS_REC, None), 'bind ' + name)
            check(LIBC.mount(path, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                             None), 'read-only ' + name)


def set_no_new_privs():
    check(LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 'set no_new_privs')


def drop_capabilities(cap_last_cap):
    """Every capability of the run's user namespace, from the bounding set and from this thread."""
    prctl = LIBC.prctl
    for cap in range(cap_last_cap + 1):
        prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()  # effective/permitted/inheritable, 2 words each, all zero
    check(LIBC.syscall(syscalls.number('capset'), header, data), 'drop capabilities')


def last_capability():
    try:
        with open('/proc/sys/kernel/cap_last_cap') as f:
            return int(f.read())
    except (OSError, ValueError):
        return 63
