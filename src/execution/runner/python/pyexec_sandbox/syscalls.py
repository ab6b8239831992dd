"""Syscall numbers the sandbox uses, per architecture: one table, cross-checked against libseccomp's
own tables in test/python/test_syscalls.py, so a typo in a number cannot pass."""
import os
from typing import NamedTuple


class Arch(NamedTuple):
    audit_arch: int  # AUDIT_ARCH_* as seccomp_data.arch carries it
    column: int  # which number of a NUMBERS entry is this arch's


ARCHES = {'x86_64': Arch(0xC000003E, 0), 'aarch64': Arch(0xC00000B7, 1)}

# name: (x86_64 number, aarch64 number); io_uring, the new mount API and pidfd_getfd share numbers.
NUMBERS = {
    # used by the sandbox itself
    'clone': (56, 220), 'clone3': (435, 435), 'capset': (126, 91),
    'get_robust_list': (274, 100), 'set_robust_list': (273, 99),
    'shmget': (29, 194), 'memfd_create': (319, 279), 'prctl': (157, 167),
    # denied to every run (see seccomp.DENIED)
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

MACHINE = os.uname().machine


def number(name, machine=MACHINE):
    """The syscall's number on `machine` (KeyError for an arch or a name the table lacks)."""
    return NUMBERS[name][ARCHES[machine].column]
