"""Every syscall number the sandbox uses, cross-checked against libseccomp's own tables
(Debian python3-seccomp, else libseccomp through ctypes): a typo in a number cannot pass."""
import ctypes
import ctypes.util
import unittest

import support  # noqa: F401
from pyexec_sandbox import syscalls


def libseccomp_resolver():
    """(resolve(machine, name) -> number, {machine: arch token}) from libseccomp, or None without it."""
    try:
        import seccomp  # python3-seccomp
        arches = {'x86_64': seccomp.Arch.X86_64, 'aarch64': seccomp.Arch.AARCH64}
        return (lambda machine, name: seccomp.resolve_syscall(arches[machine], name),
                {m: int(a) & 0xFFFFFFFF for m, a in arches.items()})
    except ImportError:
        pass
    path = ctypes.util.find_library('seccomp')
    if path is None:
        return None
    lib = ctypes.CDLL(path)
    lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    tokens = {'x86_64': 0xC000003E, 'aarch64': 0xC00000B7}  # SCMP_ARCH_* are the AUDIT_ARCH_* values
    return (lambda machine, name: lib.seccomp_syscall_resolve_name_arch(tokens[machine], name.encode()), tokens)


class SyscallNumbersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        found = libseccomp_resolver()
        if found is None:  # a failure, not a skip: the check is the point
            raise AssertionError('libseccomp not found: install python3-seccomp (scripts/install-deps-debian.sh --test)')
        resolve, cls.tokens = found
        cls.resolve = staticmethod(resolve)

    def test_every_number_matches_libseccomp(self):
        self.assertGreater(len(syscalls.NUMBERS), 300)
        for machine in syscalls.ARCHES:
            for name in syscalls.NUMBERS:
                with self.subTest(machine=machine, name=name):
                    expected = self.resolve(machine, name)  # negative: not a call of this arch
                    self.assertEqual(syscalls.NUMBERS[name][syscalls.ARCHES[machine].column],
                                     expected if expected >= 0 else None)

    def test_audit_arch_values_match_libseccomp(self):
        for machine, arch in syscalls.ARCHES.items():
            self.assertEqual(arch.audit_arch, self.tokens[machine], machine)

    def test_unknown_arch_or_name_raises(self):
        with self.assertRaises(KeyError):
            syscalls.number('clone', 'riscv64')
        with self.assertRaises(KeyError):
            syscalls.number('no_such_call', 'x86_64')
        with self.assertRaises(KeyError):
            syscalls.number('open', 'aarch64')  # x86_64 only


if __name__ == '__main__':
    unittest.main()
