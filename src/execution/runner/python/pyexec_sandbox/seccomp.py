"""The seccomp filter every run's pid 1 installs: classic BPF, an allowlist with Docker's default profile as its baseline."""
import ctypes
import struct
from typing import NamedTuple

from . import allowlist, syscalls
from .namespaces import LIBC, check

# Refused by name with EPERM, before the allowlist: what Docker allows only with a capability, and
# calls no run needs that are the usual way into kernel bugs or out of a container (Docker's list has
# some of them: this filter is stricter).
DENIED = tuple(sorted(set(allowlist.DOCKER_CAPABILITY_ONLY) | {
    'keyctl', 'add_key', 'request_key', 'io_uring_setup', 'io_uring_enter', 'io_uring_register',
    'userfaultfd', 'bpf', 'perf_event_open', 'ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp',
    'pidfd_getfd', 'mount', 'umount2', 'pivot_root', 'chroot', 'unshare', 'setns', 'open_tree',
    'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr', 'open_by_handle_at',
    'name_to_handle_at', 'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module',
    'acct', 'swapon', 'swapoff', 'reboot', 'syslog', 'quotactl', 'quotactl_fd', 'lookup_dcookie',
    'vhangup', 'fanotify_init',
    # Each new session is a new scheduler autogroup, weighted like a whole slot: a run looping
    # setsid() would starve the other slots. pid 1 makes its own session before the filter.
    'setsid',
}))
# Only for runs the server's memory watchdog measures (no memory cgroup): their pages would live
# where it cannot count them (SysV shared memory and message queues, memfd files).
HIDES_MEMORY = ('shmget', 'memfd_create', 'msgget')
SOCKET_FAMILIES = (1, 2, 10)  # AF_UNIX, AF_INET, AF_INET6: never AF_NETLINK, AF_VSOCK, AF_PACKET, ...
SOL_SOCKET, SOCKET_BUFFER_OPTIONS = 1, (7, 8, 32, 33)  # SO_SNDBUF, SO_RCVBUF, SO_SNDBUFFORCE, SO_RCVBUFFORCE
PR_SET_DUMPABLE = 4
CLONE_NAMESPACE_FLAGS = 0x7E020000  # NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
X32_SYSCALL_BIT = 0x40000000
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2

# Classic BPF opcodes and seccomp return values.
LD_ABS, JA, JEQ, JGE, JSET, RET = 0x20, 0x05, 0x15, 0x35, 0x45, 0x06
RET_ALLOW, RET_KILL, RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
EPERM, ENOSYS, EAFNOSUPPORT = 1, 38, 97
# Offsets into struct seccomp_data.
NR_OFFSET, ARCH_OFFSET, ARG0_OFFSET = 0, 4, 16
LEAF_SIZE = 4  # calls compared one by one at the leaves of the allowlist's search tree


class Insn(NamedTuple):
    """One classic-BPF instruction (struct sock_filter); jt/jf are jumps past the next instruction."""
    code: int
    jt: int
    jf: int
    k: int


def program(machine, watchdog=False):
    """Classic BPF for SECCOMP_MODE_FILTER, an allowlist: other ABIs (i386, x32, arm32) and foreign
    arches are refused; then calls with arguments to check (clone without namespace flags, clone3
    ENOSYS as its flags live in memory a filter cannot read and libc then falls back to clone; socket
    families; personality values); then DENIED with EPERM; then Docker's default allowlist; anything
    else ENOSYS. Runs measured by the server's watchdog (no memory cgroup) also cannot hide memory
    from it: HIDES_MEMORY get ENOSYS, prctl(PR_SET_DUMPABLE) EPERM (a non-dumpable process's memory
    cannot be read from outside), socket buffer sizes cannot be raised (EPERM)."""
    nr = lambda name: syscalls.number(name, machine)  # noqa: E731
    prog = [Insn(LD_ABS, 0, 0, ARCH_OFFSET), Insn(JEQ, 1, 0, syscalls.ARCHES[machine].audit_arch),
            ret(RET_KILL), Insn(LD_ABS, 0, 0, NR_OFFSET)]
    if machine == 'x86_64':
        prog += [Insn(JGE, 0, 1, X32_SYSCALL_BIT), ret(errno(ENOSYS))]
    if watchdog:
        for name in HIDES_MEMORY:
            prog += if_nr(nr(name), [ret(errno(ENOSYS))])
        prog += if_nr(nr('prctl'), arg_in(0, [PR_SET_DUMPABLE], errno(EPERM), RET_ALLOW))
        prog += if_nr(nr('setsockopt'), [load_arg(1), Insn(JEQ, 0, len(SOCKET_BUFFER_OPTIONS) + 1, SOL_SOCKET)]
                      + arg_in(2, SOCKET_BUFFER_OPTIONS, errno(EPERM), RET_ALLOW))
    prog += if_nr(nr('clone3'), [ret(errno(ENOSYS))])
    prog += if_nr(nr('clone'), [load_arg(0), Insn(JSET, 0, 1, CLONE_NAMESPACE_FLAGS), ret(errno(EPERM)),
                                ret(RET_ALLOW)])
    for name in ('socket', 'socketpair'):
        prog += if_nr(nr(name), arg_in(0, SOCKET_FAMILIES, RET_ALLOW, errno(EAFNOSUPPORT)))
    prog += if_nr(nr('personality'), arg_in(0, allowlist.DOCKER_PERSONALITIES, RET_ALLOW, errno(EPERM)))
    denied = syscalls.numbers(DENIED, machine)
    prog += among(sorted(denied), errno(EPERM), None)
    allowed = allowlist.DOCKER_ALLOWED + allowlist.DOCKER_ARCH_ONLY[machine]
    prog += among(sorted(syscalls.numbers(allowed, machine) - denied), RET_ALLOW, errno(ENOSYS))
    return b''.join(struct.pack('=HBBI', *insn) for insn in prog)


def errno(code):
    return RET_ERRNO | code


def ret(action):
    return Insn(RET, 0, 0, action)


def load_arg(index):
    return Insn(LD_ABS, 0, 0, ARG0_OFFSET + 8 * index)  # the low word (little-endian) of args[index]


def if_nr(number, block):
    """`block` (which ends in returns) when the syscall is `number`; else on past it."""
    return [Insn(JEQ, 0, len(block), number)] + block


def arg_in(index, values, yes, no):
    """Returns `yes` when the low word of args[index] is one of `values`, else `no`."""
    n = len(values)
    return [load_arg(index)] + [Insn(JEQ, n - i, 0, v) for i, v in enumerate(values)] + [ret(no), ret(yes)]


def among(numbers, yes, no):
    """A search tree over the sorted syscall `numbers` (in the accumulator): `yes` for one of them;
    else `no`, or on past the tree when `no` is None. Jumps over a subtree use JA (32-bit offsets)."""
    if not numbers:
        return [] if no is None else [ret(no)]
    if len(numbers) <= LEAF_SIZE:
        n = len(numbers)
        tail = [Insn(JA, 0, 0, 1)] if no is None else [ret(no)]  # on past: skip the `yes` return
        return [Insn(JEQ, n - i, 0, k) for i, k in enumerate(numbers)] + tail + [ret(yes)]
    mid = len(numbers) // 2
    left, right = among(numbers[:mid], yes, no), among(numbers[mid:], yes, no)
    if no is None:  # a left subtree that runs on past must also jump over the right one
        left = fall_through_past(left, len(right))
    return [Insn(JGE, 0, 1, numbers[mid]), Insn(JA, 0, 0, len(left))] + left + right


def fall_through_past(block, extra):
    """`block` with every jump to its end moved `extra` instructions further."""
    out = []
    for at, insn in enumerate(block):
        if insn.code == JA and at + 1 + insn.k == len(block):
            insn = insn._replace(k=insn.k + extra)
        elif insn.code in (JEQ, JGE, JSET):
            insn = insn._replace(jt=insn.jt + (extra if at + 1 + insn.jt == len(block) else 0),
                                 jf=insn.jf + (extra if at + 1 + insn.jf == len(block) else 0))
        out.append(insn)
    return out


def disassemble(data):
    """The instructions of a program: for tests and for reading a filter back."""
    return [Insn(*struct.unpack_from('=HBBI', data, at)) for at in range(0, len(data), 8)]


class SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_char_p)]


def install(data):
    """After no_new_privs (required for an unprivileged filter); every later thread and child inherits it."""
    fprog = SockFprog(len(data) // 8, data)
    check(LIBC.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), 'install seccomp filter')
