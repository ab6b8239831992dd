import struct
import unittest

import support  # noqa: F401
from pyexec_sandbox import seccomp, syscalls
from pyexec_sandbox.seccomp import RET_ALLOW, RET_ERRNO, RET_KILL

EPERM, ENOSYS = RET_ERRNO | 1, RET_ERRNO | 38
CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWCGROUP, SIGCHLD = 0x10000000, 0x40000000, 0x02000000, 17
PR_SET_DUMPABLE, PR_SET_NAME = 4, 15


def evaluate(program, arch, nr, arg0=0):
    """A classic-BPF interpreter for what seccomp.program() emits: the filter's verdict for one syscall."""
    data = struct.pack('=iIQ6Q', nr, arch, 0, arg0, 0, 0, 0, 0, 0)  # struct seccomp_data: nr, arch, ip, args
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
        taken = {seccomp.JEQ: acc == k, seccomp.JGE: acc >= k, seccomp.JSET: bool(acc & k)}[op]
        pc += 1 + (jt if taken else jf)
    raise AssertionError('program did not return')


class SeccompProgramTest(unittest.TestCase):
    def programs(self):
        for machine in syscalls.ARCHES:
            for watchdog in (False, True):
                yield machine, watchdog, seccomp.program(machine, watchdog)

    def verdict(self, machine, program, name, arg0=0):
        return evaluate(program, syscalls.ARCHES[machine].audit_arch, syscalls.number(name, machine), arg0)

    def test_every_denied_syscall_gets_eperm(self):
        for machine, watchdog, program in self.programs():
            for name in seccomp.DENIED:
                self.assertEqual(self.verdict(machine, program, name), EPERM, (machine, watchdog, name))

    def test_ordinary_syscalls_are_allowed(self):
        for machine, _, program in self.programs():
            arch = syscalls.ARCHES[machine].audit_arch
            for nr in (0, 1, 3, 9, 60, 63, 231):  # read/write/close/mmap/exit... on either arch
                if nr not in {syscalls.number(n, machine) for n in syscalls.NUMBERS}:
                    self.assertEqual(evaluate(program, arch, nr), RET_ALLOW, (machine, nr))

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
            for pc, (op, jt, jf, _) in enumerate(code):
                if op != seccomp.RET:
                    self.assertLess(pc + 1 + max(jt, jf), len(code))
            self.assertEqual([k for op, _, _, k in code[-4:]], [RET_ALLOW, EPERM, ENOSYS, RET_KILL])


if __name__ == '__main__':
    unittest.main()
