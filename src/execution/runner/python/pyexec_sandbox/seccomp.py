"""The seccomp filter every run's pid 1 installs: classic BPF built from a table of denied syscalls."""
import ctypes
import struct
from typing import NamedTuple

from . import syscalls
from .namespaces import LIBC, check

# Syscalls no run needs and that are the usual way into kernel bugs or out of a container (the
# set container runtimes deny by default, and the namespace/mount family as defence in depth).
DENIED = (
    'keyctl', 'add_key', 'request_key', 'io_uring_setup', 'io_uring_enter', 'io_uring_register',
    'userfaultfd', 'bpf', 'perf_event_open', 'ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp',
    'pidfd_getfd', 'mount', 'umount2', 'pivot_root', 'chroot', 'unshare', 'setns', 'open_tree',
    'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr', 'open_by_handle_at',
    'name_to_handle_at', 'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module',
    'acct', 'swapon', 'swapoff', 'reboot', 'syslog', 'quotactl', 'quotactl_fd', 'lookup_dcookie',
    'vhangup', 'fanotify_init',
)
# Only for runs the server's memory watchdog measures (no memory cgroup): their pages would live
# where it cannot count them.
HIDES_MEMORY = ('shmget', 'memfd_create')
PR_SET_DUMPABLE = 4
CLONE_NAMESPACE_FLAGS = 0x7E020000  # NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
X32_SYSCALL_BIT = 0x40000000
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2

# Classic BPF opcodes and seccomp return values.
LD_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
RET_ALLOW, RET_KILL, RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
EPERM, ENOSYS = 1, 38
# Offsets into struct seccomp_data.
NR_OFFSET, ARCH_OFFSET, ARG0_OFFSET = 0, 4, 16


class Insn(NamedTuple):
    """One classic-BPF instruction (struct sock_filter); jt/jf are jumps past the next instruction."""
    code: int
    jt: int
    jf: int
    k: int


def program(machine, watchdog=False):
    """Classic BPF for SECCOMP_MODE_FILTER: other ABIs (i386, x32, arm32) and foreign arches are
    refused, the denied syscalls and clone() with namespace flags fail with EPERM, clone3 with ENOSYS
    (its flags live in memory a filter cannot read; libc then falls back to clone). Runs measured by
    the server's watchdog (no memory cgroup) also cannot hide memory from it: shmget and memfd_create
    get ENOSYS, prctl(PR_SET_DUMPABLE) EPERM (a non-dumpable process's memory cannot be read from outside)."""
    nr = lambda name: syscalls.number(name, machine)  # noqa: E731
    prog = [(LD_ABS, 'next', 'next', ARCH_OFFSET), (JEQ, 'next', 'kill', syscalls.ARCHES[machine].audit_arch),
            (LD_ABS, 'next', 'next', NR_OFFSET)]
    if machine == 'x86_64':
        prog.append((JGE, 'enosys', 'next', X32_SYSCALL_BIT))
    for number in sorted({nr(name) for name in DENIED}):
        prog.append((JEQ, 'eperm', 'next', number))
    if watchdog:
        prog += [(JEQ, 'enosys', 'next', nr(name)) for name in HIDES_MEMORY]
        prog += [(JEQ, 'next', 'not_prctl', nr('prctl')),
                 (LD_ABS, 'next', 'next', ARG0_OFFSET),  # prctl's option
                 (JEQ, 'eperm', 'allow', PR_SET_DUMPABLE),
                 'not_prctl']
    prog += [(JEQ, 'enosys', 'next', nr('clone3')), (JEQ, 'next', 'allow', nr('clone')),
             (LD_ABS, 'next', 'next', ARG0_OFFSET),  # low word of args[0] (little-endian): clone's flags
             (JSET, 'eperm', 'allow', CLONE_NAMESPACE_FLAGS)]
    return assemble(prog)


def assemble(prog):
    """Instructions (code, jump-if-true, jump-if-false, k) with named jump targets; a string marks
    where the instruction after it is. The four returns come last."""
    labels, code = {}, []
    for item in prog:
        if type(item) is str:
            labels[item] = len(code)
        else:
            code.append(item)
    labels.update({'allow': len(code), 'eperm': len(code) + 1, 'enosys': len(code) + 2, 'kill': len(code) + 3})
    code += [(RET, 0, 0, RET_ALLOW), (RET, 0, 0, RET_ERRNO | EPERM), (RET, 0, 0, RET_ERRNO | ENOSYS),
             (RET, 0, 0, RET_KILL)]
    out = bytearray()
    for i, (op, jt, jf, k) in enumerate(code):
        jt, jf = [0 if j in ('next', 0) else labels[j] - i - 1 for j in (jt, jf)]
        out += struct.pack('=HBBI', op, jt, jf, k)
    return bytes(out)


def disassemble(data):
    """The instructions of a program: for tests and for reading a filter back."""
    return [Insn(*struct.unpack_from('=HBBI', data, at)) for at in range(0, len(data), 8)]


class SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_char_p)]


def install(data):
    """After no_new_privs (required for an unprivileged filter); every later thread and child inherits it."""
    fprog = SockFprog(len(data) // 8, data)
    check(LIBC.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), 'install seccomp filter')
