import struct
import unittest

import support  # noqa: F401
from pyexec_sandbox import allowlist, seccomp, syscalls
from pyexec_sandbox.seccomp import RET_ALLOW, RET_ERRNO, RET_KILL

EPERM, ENOSYS, EAFNOSUPPORT = RET_ERRNO | 1, RET_ERRNO | 38, RET_ERRNO | 97
AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_VSOCK = 1, 2, 10, 16, 17, 40
CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWCGROUP, SIGCHLD = 0x10000000, 0x40000000, 0x02000000, 17
PR_SET_DUMPABLE, PR_SET_NAME = 4, 15


def evaluate(program, arch, nr, *args):
    """A classic-BPF interpreter for what seccomp.program() emits: the filter's verdict for one syscall."""
    args = (list(args) + [0] * 6)[:6]
    data = struct.pack('=IIQ6Q', nr & 0xFFFFFFFF, arch, 0, *args)  # struct seccomp_data: nr, arch, ip, args
    code = seccomp.disassemble(program)
    pc, acc = 0, 0
    for _ in range(len(code)):
        op, jt, jf, k = code[pc]
        if op == seccomp.RET:
            return k
        if op == seccomp.LD_ABS:
            acc = struct.unpack_from('=I', data, k)[0]
            pc += 1
            continue
        if op == seccomp.JA:
            pc += 1 + k
            continue
        taken = {seccomp.JEQ: acc == k, seccomp.JGE: acc >= k, seccomp.JSET: bool(acc & k)}[op]
        pc += 1 + (jt if taken else jf)
    raise AssertionError('program did not return')


class SeccompProgramTest(unittest.TestCase):
    def programs(self):
        for machine in syscalls.ARCHES:
            for watchdog in (False, True):
                yield machine, watchdog, seccomp.program(machine, watchdog)

    def verdict(self, machine, program, name, *args):
        return evaluate(program, syscalls.ARCHES[machine].audit_arch, syscalls.number(name, machine), *args)

    def test_every_denied_syscall_gets_eperm(self):
        for machine, watchdog, program in self.programs():
            arch = syscalls.ARCHES[machine].audit_arch
            for nr in syscalls.numbers(seccomp.DENIED, machine):
                self.assertEqual(evaluate(program, arch, nr), EPERM, (machine, watchdog, nr))
            self.assertEqual(self.verdict(machine, program, 'ptrace'), EPERM)  # Docker allows it on kernel >= 4.8

    def test_docker_default_allowlist_is_allowed_and_nothing_else(self):
        for machine, watchdog, program in self.programs():
            arch = syscalls.ARCHES[machine].audit_arch
            allowed = syscalls.numbers(allowlist.DOCKER_ALLOWED + allowlist.DOCKER_ARCH_ONLY[machine], machine)
            checked = syscalls.numbers(('clone', 'clone3', 'socket', 'socketpair', 'personality', 'prctl',
                                        'setsockopt') + seccomp.HIDES_MEMORY + seccomp.DENIED, machine)
            for nr in range(0, 600):
                if nr in checked:
                    continue
                self.assertEqual(evaluate(program, arch, nr), RET_ALLOW if nr in allowed else ENOSYS,
                                 (machine, watchdog, nr))

    def test_ordinary_calls_a_program_makes_are_allowed(self):
        for machine, _, program in self.programs():
            for name in ('read', 'write', 'close', 'mmap', 'openat', 'futex', 'exit_group', 'wait4', 'execve',
                         'pipe2', 'getrandom', 'statx', 'rseq', 'connect', 'sendto', 'kill', 'setpgid'):
                self.assertEqual(self.verdict(machine, program, name), RET_ALLOW, (machine, name))

    def test_only_unix_and_ip_sockets(self):
        for machine, _, program in self.programs():
            for name in ('socket', 'socketpair'):
                for family in (AF_UNIX, AF_INET, AF_INET6):
                    self.assertEqual(self.verdict(machine, program, name, family, 1), RET_ALLOW, (name, family))
                for family in (AF_NETLINK, AF_PACKET, AF_VSOCK, 0, 45):
                    self.assertEqual(self.verdict(machine, program, name, family, 1), EAFNOSUPPORT, (name, family))

    def test_setsid_and_personality(self):
        for machine, _, program in self.programs():
            self.assertEqual(self.verdict(machine, program, 'setsid'), EPERM)  # no autogroup per run
            self.assertEqual(self.verdict(machine, program, 'personality', 0xFFFFFFFF), RET_ALLOW)
            self.assertEqual(self.verdict(machine, program, 'personality', 0x0040000), EPERM)  # READ_IMPLIES_EXEC

    def test_watchdog_runs_cannot_grow_socket_buffers(self):
        for machine, watchdog, program in self.programs():
            for option in seccomp.SOCKET_BUFFER_OPTIONS:
                self.assertEqual(self.verdict(machine, program, 'setsockopt', 3, seccomp.SOL_SOCKET, option),
                                 EPERM if watchdog else RET_ALLOW, option)
            self.assertEqual(self.verdict(machine, program, 'setsockopt', 3, seccomp.SOL_SOCKET, 2), RET_ALLOW)
            self.assertEqual(self.verdict(machine, program, 'setsockopt', 3, 6, 7), RET_ALLOW)  # IPPROTO_TCP

    def test_clone_only_without_namespace_flags(self):
        for machine, _, program in self.programs():
            self.assertEqual(self.verdict(machine, program, 'clone', SIGCHLD), RET_ALLOW)
            self.assertEqual(self.verdict(machine, program, 'clone', 0x3D0F00), RET_ALLOW)  # a thread
            for flag in (CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWCGROUP):
                self.assertEqual(self.verdict(machine, program, 'clone', flag | SIGCHLD), EPERM, hex(flag))
            self.assertEqual(self.verdict(machine, program, 'clone3'), ENOSYS)

    def test_foreign_arch_is_killed_and_x32_refused(self):
        for machine, _, program in self.programs():
            self.assertEqual(evaluate(program, 0x40000003, 0), RET_KILL)  # i386
            self.assertEqual(evaluate(program, 0x40000028, 0), RET_KILL)  # arm
        x86 = seccomp.program('x86_64')
        self.assertEqual(evaluate(x86, syscalls.ARCHES['x86_64'].audit_arch, 0x40000000 | 1), ENOSYS)
        self.assertEqual(evaluate(x86, syscalls.ARCHES['x86_64'].audit_arch, 0xFFFFFFFF), ENOSYS)  # -1

    def test_watchdog_runs_cannot_hide_memory(self):
        for machine, watchdog, program in self.programs():
            for name in seccomp.HIDES_MEMORY:
                self.assertEqual(self.verdict(machine, program, name), ENOSYS if watchdog else RET_ALLOW, name)
            self.assertEqual(self.verdict(machine, program, 'prctl', PR_SET_DUMPABLE), EPERM if watchdog else RET_ALLOW)
            self.assertEqual(self.verdict(machine, program, 'prctl', PR_SET_NAME), RET_ALLOW)

    def test_program_is_well_formed(self):
        for machine, _, program in self.programs():
            code = seccomp.disassemble(program)
            self.assertEqual(len(program) % 8, 0)
            self.assertLess(len(code), 4096)  # BPF_MAXINSNS
            self.assertEqual(code[0], (seccomp.LD_ABS, 0, 0, seccomp.ARCH_OFFSET))
            self.assertEqual(code[-1].code, seccomp.RET)
            for pc, (op, jt, jf, k) in enumerate(code):
                if op == seccomp.JA:
                    self.assertLess(pc + 1 + k, len(code))
                elif op != seccomp.RET and op != seccomp.LD_ABS:
                    self.assertLess(pc + 1 + max(jt, jf), len(code))

    def test_search_is_short(self):
        """The allowlist is a search tree: no syscall runs through more than ~40 instructions."""
        for machine, watchdog, program in self.programs():
            code = seccomp.disassemble(program)
            self.assertLess(max(steps(code, machine, nr) for nr in range(0, 600)), 60, (machine, watchdog))


def steps(code, machine, nr):
    data = struct.pack('=iIQ6Q', nr, syscalls.ARCHES[machine].audit_arch, 0, 0, 0, 0, 0, 0, 0)
    pc, acc, n = 0, 0, 0
    while code[pc].code != seccomp.RET:
        op, jt, jf, k = code[pc]
        n += 1
        if op == seccomp.LD_ABS:
            acc, pc = struct.unpack_from('=I', data, k)[0], pc + 1
        elif op == seccomp.JA:
            pc += 1 + k
        else:
            pc += 1 + (jt if {seccomp.JEQ: acc == k, seccomp.JGE: acc >= k, seccomp.JSET: bool(acc & k)}[op] else jf)
    return n


if __name__ == '__main__':
    unittest.main()
