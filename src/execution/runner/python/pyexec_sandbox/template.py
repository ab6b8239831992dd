"""The template: where runs come from. The server reads requests and runs' output: its memory holds
what runs wrote (in freed blocks, too), so no run may be cloned from it. Runs are cloned from the
template, forked once at start before any request, which never sees a request or an output: every
run starts from the same clean memory. Each run's pid 1 is prepared here (namespaces, mounts, limits,
no capabilities, seccomp; no job data) and then waits for its code."""
import json
import os
import socket
from dataclasses import dataclass
from typing import Optional

from . import harness, limits, namespaces, protocol, seccomp, session_harness
from .protocol import CGROUP_TASKS_FD, HARNESS_RESULT_FD, REQUEST_FD, RESULT_FD, log

# Native math libraries start one thread per core by default; a slot runs one program and forks,
# so the server (before any preload) and every run get one. Set here only: it covers both modes.
SINGLE_THREAD_ENV = {'OPENBLAS_NUM_THREADS': '1', 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1',
                     'NUMEXPR_NUM_THREADS': '1'}
# matplotlib renders with Agg (no display; plt.show() is the harness's, see display.py).
MATPLOTLIB_ENV = {'MPLBACKEND': 'agg'}
PIPES_PER_RUN = 6  # stdin, stdout, stderr, report channel, request, uid-map handshake


@dataclass
class PreparedRun:
    """The server's ends of one prepared pid 1 (its child, by CLONE_PARENT)."""
    pid: int
    in_w: int  # its stdin
    out_r: int  # its stdout
    err_r: int  # its stderr
    res_r: int  # its report channel
    req_w: int  # its request, written once
    scratch_dir: Optional[str]  # SANDBOX=process: its scratch folder, removed after the run

    def output_fds(self):
        return (self.in_w, self.out_r, self.err_r, self.res_r)


def run_environment(cwd):
    os.environ.clear()
    os.environ.update({'PATH': '/usr/local/bin:/usr/bin:/bin', 'HOME': cwd, 'TMPDIR': cwd,
                       'LANG': 'C.UTF-8', 'PYTHONIOENCODING': 'utf-8'})
    os.environ.update(SINGLE_THREAD_ENV)
    os.environ.update(MATPLOTLIB_ENV)
    os.environ['MPLCONFIGDIR'] = cwd + '/.config/matplotlib'  # writable, the run's own: made on first import


# ---------------------------------------------------------------- the server's side

def start_template(setup, clone):
    """Forks the template; returns the server's end of its socket."""
    server_end, template_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        try:
            server_end.close()
            namespaces.die_with_parent()
            namespaces.set_process_name(b'pyexec-template')
            devnull = os.open('/dev/null', os.O_RDWR)
            os.dup2(devnull, 0)  # never the service's pipes: only the server talks to it
            os.dup2(devnull, 1)
            os.close(devnull)
            template_loop(setup, clone, template_end)
        except BaseException as exc:
            log('template failed: %s: %s' % (type(exc).__name__, exc))
        os._exit(1)
    template_end.close()
    return server_end


def prepare_run(sock):
    """The next run, from the template: a PreparedRun; OSError if the template could not make one."""
    try:
        sock.send(b'r')
        msg, fds, _, _ = socket.recv_fds(sock, 4096, 5)
    except OSError:
        msg, fds = b'', []
    if not msg:
        log('the template is gone: stopping (the service starts a new server)')
        os._exit(1)
    reply = json.loads(msg)
    if 'error' in reply:
        raise OSError(reply['error'])
    return PreparedRun(reply['pid'], *fds, reply['scratch_dir'])


# ---------------------------------------------------------------- the template's side

def template_loop(setup, clone, sock):
    while sock.recv(16):
        try:
            run = make_run(setup, clone)
        except OSError as exc:  # e.g. no memory for new namespaces: that run's answer says so
            sock.send(json.dumps({'error': str(exc)}).encode())
            continue
        fds = [run.in_w, run.out_r, run.err_r, run.res_r, run.req_w]
        socket.send_fds(sock, [json.dumps({'pid': run.pid, 'scratch_dir': run.scratch_dir}).encode()], fds)
        for fd in fds:
            os.close(fd)


def make_run(setup, clone):
    """New namespaces and pid 1 in them (one clone), sandboxed and waiting for its code on REQUEST_FD.
    Nothing of a request is in it yet: it is made while the server waits for the next request."""
    isolate = setup.config.isolate
    scratch_dir = None
    if not isolate:  # SANDBOX=process: no namespaces, a scratch folder of its own
        scratch_dir = '/tmp/pyexec-run-%d-%s' % (os.getpid(), os.urandom(6).hex())
        os.mkdir(scratch_dir, 0o700)
    fds = []
    try:
        for _ in range(PIPES_PER_RUN):
            fds.extend(os.pipe())
        pid = namespaces.clone_run(clone, isolate)
    except OSError:  # nothing of a failed attempt stays in the template
        for fd in fds:
            os.close(fd)
        if scratch_dir:
            os.rmdir(scratch_dir)
        raise
    if pid == 0:
        become_pid1(setup, fds, scratch_dir)  # never returns
    in_r, in_w, out_r, out_w, err_r, err_w, res_r, res_w, req_r, req_w, maps_r, maps_w = fds
    for fd in (in_r, out_w, err_w, res_w, req_r, maps_r):
        os.close(fd)
    try:
        if isolate:
            namespaces.map_run_user(pid)
        os.write(maps_w, b'm')
    except OSError as exc:
        log('prepared run: cannot map its uid: %s' % exc)  # pid 1 exits; the run reports a setup error
    os.close(maps_w)
    return PreparedRun(pid, in_w, out_r, err_r, res_r, req_w, scratch_dir)


def become_pid1(setup, fds, scratch_dir):
    """In the clone: wait for the uid map, take the run's descriptors, enter the sandbox, say READY,
    then run the user's code when it comes. Any failure before user code is a setup error (exit 125)."""
    in_r, in_w, out_r, out_w, err_r, err_w, res_r, res_w, req_r, req_w, maps_r, maps_w = fds
    config = setup.config
    try:
        os.close(maps_w)
        if os.read(maps_r, 1) != b'm':
            os._exit(125)  # the server failed to map it
        os.close(maps_r)
        namespaces.die_with_parent()
        namespaces.set_process_name(b'python3')
        if config.run_cgroup:
            os.dup2(config.run_cgroup.tasks_fd, CGROUP_TASKS_FD, inheritable=False)
        os.dup2(in_r, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.dup2(res_w, RESULT_FD)
        os.dup2(req_r, REQUEST_FD)
        os.closerange(REQUEST_FD + 1, CGROUP_TASKS_FD)
        os.closerange(CGROUP_TASKS_FD + 1, 65536)
        os.setsid()  # else kill(0, ...) from user code would reach the fork server's process group
        enter_sandbox(setup, scratch_dir)
        if config.session and config.run_cgroup:
            harness.join_cgroup()  # a session's interpreter: its memory cgroup is its own, for its whole life
        os.dup2(RESULT_FD, HARNESS_RESULT_FD, inheritable=False)
        os.close(RESULT_FD)
        os.write(HARNESS_RESULT_FD, protocol.READY)
    except BaseException as exc:
        text = ('%s: %s' % (type(exc).__name__, exc)).encode('utf-8', 'replace')[:2000]
        for fd in (RESULT_FD, HARNESS_RESULT_FD):  # whichever is still open
            try:
                os.write(fd, text)
                break
            except BaseException:
                pass
        os._exit(125)
    rich = harness.RichCaps(config.max_output_file_bytes, config.max_display_bytes)
    if config.session:  # a session's interpreter: call after call, until the server closes its request pipe
        session_harness.serve_calls(config.max_result_bytes, rich)
    harness.run_user_code(config.max_result_bytes, config.run_cgroup is not None, rich)
    os._exit(0)


def enter_sandbox(setup, scratch_dir):
    """Runs in the new namespaces, before user code (and before its request): mounts, limits, no capabilities."""
    config = setup.config
    if config.isolate:
        namespaces.mount_run_filesystems(config.scratch_mb)
        os.chdir('/tmp')
        limits.apply_user_namespace_caps(config)
        namespaces.mask_proc()
    else:
        os.chdir(scratch_dir)
    limits.apply_rlimits(limits.run_rlimits(config, setup.preload_vm_bytes))
    limits.prefer_for_oom_kill()
    namespaces.set_no_new_privs()
    if config.isolate:
        namespaces.drop_capabilities(setup.cap_last_cap)
    seccomp.install(setup.seccomp_program)
    if not config.isolate:  # isolated runs inherit the server's, set once (server.serve)
        run_environment(os.getcwd())
