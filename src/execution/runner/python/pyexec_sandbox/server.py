"""The fork server's loop: set up once (libraries, seccomp program, template), then one run at a
time: the next run's pid 1 is prepared ahead, while the server waits for the next request, so a
request only pays for its own code (the namespaces are still fresh for every run, never reused)."""
import gc
import os
import signal
import sys

from . import limits, namespaces, protocol, seccomp, syscalls, template
from .config import RunSetup
from .protocol import RunRequest
from .reaper import reap_exiting, reap_stragglers
from .supervisor import run_one


class PreloadError(Exception):
    pass


def serve(config):
    template_sock = start(config, b'pyexec-server')
    spare = prepare_spare(template_sock)
    protocol.write_frame(protocol.RESPONSE_FD, protocol.ready_frame(os.getpid(), os.getuid()))
    while True:
        msg = protocol.read_frame(protocol.SERVICE_FD)
        if msg is None:
            return
        reap_stragglers()
        if msg['op'] != 'run':
            continue  # a cancel for a run that has ended
        request = RunRequest.from_frame(msg)
        del msg
        run, spare = spare, None
        frame = run_one(config, request, run)
        del request
        protocol.write_frame(protocol.RESPONSE_FD, frame)
        del frame
        reap_exiting()
        spare = prepare_spare(template_sock)


def start(config, process_name):
    """Set up once (libraries, seccomp program, template): the server's end of the template's socket."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    namespaces.set_process_name(process_name)  # in ps and top; runs keep python3's name
    cap_last_cap = namespaces.last_capability()
    preload_vm_bytes = load_libraries(config)
    machine = syscalls.MACHINE
    if machine not in syscalls.ARCHES:
        raise OSError('no seccomp filter for %s (x86_64 and aarch64 only): refusing to run code' % machine)
    setup = RunSetup(config, seccomp.program(machine, watchdog=config.memory_watchdog), cap_last_cap,
                     preload_vm_bytes)
    if threads_of_this_process() != 1:
        raise PreloadError('SANDBOX_PRELOAD: the preloaded modules started %d threads in the fork server; '
                           'it must stay single-threaded (runs are cloned from it)' % (threads_of_this_process() - 1))
    clone = namespaces.RawClone(machine)
    if config.isolate:
        template.run_environment('/tmp')  # every isolated run's cwd
    gc.collect()
    gc.freeze()  # what the template holds is never scanned again: no run copies its pages for a collection
    return template.start_template(setup, clone)


def prepare_spare(template_sock):
    try:
        return template.prepare_run(template_sock)
    except OSError as exc:  # e.g. no memory for new namespaces: that run's answer says so
        return exc


def load_libraries(config):
    """SANDBOX_PYTHONPATH on sys.path, then SANDBOX_PRELOAD imported once, before any run: every run
    forks from here, so it pays nothing for them and sees only its own changes. Returns the address
    space the preloaded modules took."""
    for path in config.python_path:
        if path not in sys.path:
            sys.path.append(path)
    os.environ.update(template.SINGLE_THREAD_ENV)  # before a BLAS starts its threads
    os.environ.update(template.MATPLOTLIB_ENV)  # a preloaded pyplot picks Agg
    # ...and needs a config folder (the server has no HOME); its font list is then loaded here, once.
    os.environ.setdefault('MPLCONFIGDIR', '/tmp/pyexec-server-matplotlib')
    import importlib
    before = limits.vm_size_bytes()
    for name in config.preload:
        try:
            importlib.import_module(name)
        except BaseException as exc:
            raise PreloadError('SANDBOX_PRELOAD: cannot import %s in the sandbox: %s: %s'
                               % (name, type(exc).__name__, exc)) from None
    return max(0, limits.vm_size_bytes() - before) if config.preload else 0


def threads_of_this_process():
    return len(os.listdir('/proc/self/task'))
