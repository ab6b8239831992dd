"""The server's configuration, from the service (sandbox-command.ts ServerRunConfig), and what the
server derives from it once at start for every run it prepares."""
import json
from dataclasses import dataclass, fields
from typing import Optional, Tuple

CONFIG_ENV = 'PYEXEC_SERVER_CONFIG'  # JSON, in the environment: never on a command line


@dataclass(frozen=True)
class RunCgroup:
    """Inherited descriptors of the run's memory cgroup: pid 1 joins it through tasks_fd (v1 tasks,
    v2 cgroup.procs); events_fd has its OOM kill counter; kill_fd is v2's cgroup.kill, or None."""
    tasks_fd: int
    events_fd: int
    kill_fd: Optional[int] = None


@dataclass(frozen=True)
class ServerConfig:
    isolate: bool  # namespaces per run (bwrap); False: SANDBOX=process
    memory_mb: int
    scratch_mb: int
    nproc: int
    max_output_bytes: int
    max_result_bytes: int
    inotify_instances: int
    inotify_watches: int
    run_cgroup: Optional[RunCgroup]  # None: the server's memory watchdog measures runs instead
    memory_watchdog: bool
    python_path: Tuple[str, ...] = ()
    preload: Tuple[str, ...] = ()
    max_output_file_bytes: int = 8 << 20  # response.files content in all (MAX_OUTPUT_FILE_BYTES)
    max_display_bytes: int = 8 << 20  # response.display in all (MAX_DISPLAY_BYTES)
    session: bool = False  # one long-lived interpreter for a session (session.py), not a fork server

    @classmethod
    def from_json(cls, text):
        """Fields the server does not know are ignored; a missing one raises (KeyError)."""
        raw = json.loads(text)
        known = {f.name for f in fields(cls)}
        values = {name: value for name, value in raw.items() if name in known}
        cgroup = values.get('run_cgroup')
        values['run_cgroup'] = (RunCgroup(cgroup['tasks_fd'], cgroup['events_fd'], cgroup.get('kill_fd'))
                                if cgroup else None)
        values['python_path'] = tuple(values.get('python_path') or ())
        values['preload'] = tuple(values.get('preload') or ())
        values['session'] = bool(values.get('session', False))
        for f in fields(cls):
            if f.name not in values:
                raise KeyError(f.name)
        return cls(**values)


@dataclass(frozen=True)
class RunSetup:
    """What every run's pid 1 is prepared with: fixed when the server starts, before any request."""
    config: ServerConfig
    seccomp_program: bytes
    cap_last_cap: int
    preload_vm_bytes: int  # address space preloaded modules took in the server: not the run's
