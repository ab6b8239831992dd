"""Resource limits of one run: rlimits and per-user-namespace caps set by pid 1, the memory cgroup's
OOM counter read by the server and (cgroup v2) its cgroup.kill. The cgroup's own limits are set by
the service (slot-cgroups.ts, cgroup-v2.ts), which hands the server these files' descriptors."""
import os
import resource  # every run sets limits: a shared library, ~0.4 ms of CPU to load per run
from typing import NamedTuple

from .namespaces import write_file

MAX_PENDING_SIGNALS = 1024
MAX_OPEN_FILES = 256
# Address space native libraries reserve and barely touch: OpenBLAS maps a 128-MiB buffer on its first
# call, and without room for it numpy's dot spins forever (matplotlib calls it on every draw). Memory
# actually used stays bounded by the run's cgroup or the watchdog, at memory_mb.
RESERVED_ADDRESS_SPACE_BYTES = 128 << 20
OOM_SCORE_ADJ = 1000


class Rlimit(NamedTuple):
    resource: int
    value: int  # soft and hard


def run_rlimits(config, preload_vm_bytes):
    """Every rlimit but CPU (set per request: see cpu_limit)."""
    # Address space preloaded modules took in the server is not the run's: it gets its full limit.
    return [
        Rlimit(resource.RLIMIT_AS, config.memory_mb * 1024 * 1024 + preload_vm_bytes + RESERVED_ADDRESS_SPACE_BYTES),
        Rlimit(resource.RLIMIT_FSIZE, config.scratch_mb * 1024 * 1024),
        Rlimit(resource.RLIMIT_NOFILE, MAX_OPEN_FILES),
        Rlimit(resource.RLIMIT_NPROC, config.nproc),
        Rlimit(resource.RLIMIT_CORE, 0),
        Rlimit(resource.RLIMIT_MSGQUEUE, 0),
        Rlimit(resource.RLIMIT_SIGPENDING, MAX_PENDING_SIGNALS),
    ]


def apply_rlimits(limits):
    for limit in limits:
        resource.setrlimit(limit.resource, (limit.value, limit.value))


def set_cpu_limit(seconds):
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))


def user_namespace_caps(config):
    """Kernel objects counted per host uid: this run's own cap, below what other runs can still get
    (no further user namespaces at all). Names under /proc/sys/user/."""
    return (('max_user_namespaces', 0), ('max_inotify_instances', config.inotify_instances),
            ('max_inotify_watches', config.inotify_watches))


def apply_user_namespace_caps(config):
    for name, value in user_namespace_caps(config):
        write_file('/proc/sys/user/' + name, str(value))


def prefer_for_oom_kill():
    """The kernel's OOM killer takes a run before the service (where it does not kill the whole
    container as a group: Kubernetes with cgroup v2 does). Raising one's own score needs no privilege."""
    write_file('/proc/self/oom_score_adj', str(OOM_SCORE_ADJ))


def oom_kills(cgroup):
    # memory.oom_control (v1) and memory.events (v2) both carry an "oom_kill N" line.
    return parse_oom_kills(os.pread(cgroup.events_fd, 4096, 0))


def kill_cgroup(cgroup):
    """SIGKILL to every process in the run's cgroup (v2 cgroup.kill), wherever it is in namespaces or
    sessions; False where there is no cgroup.kill (v1, or Linux before 5.14)."""
    if cgroup is None or cgroup.kill_fd is None:
        return False
    os.write(cgroup.kill_fd, b'1')
    return True


def parse_oom_kills(text):
    for line in text.split(b'\n'):
        if line.startswith(b'oom_kill '):
            return int(line.split()[1])
    return 0


def vm_size_bytes():
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmSize:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
