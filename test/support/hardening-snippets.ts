/**
 * Python snippets of the hardening attacks (issue 24), shared by test/sandbox-hardening.e2e-spec.ts
 * (each mode of this host) and the container test (the image as uid 1000): one text per attack, so
 * every mode meets the same code. Each spec asserts what its mode must answer.
 */

/** AF_VSOCK stream and seqpacket, AF_NETLINK, AF_PACKET, then unix, IPv4 and IPv6 and a socketpair. */
export const SOCKET_FAMILIES_PY = `
import errno, socket
def attempt(family, kind):
    try:
        s = socket.socket(family, kind)
    except OSError as e:
        return errno.errorcode[e.errno]
    s.close()
    return 'created'
[attempt(40, socket.SOCK_STREAM), attempt(40, socket.SOCK_SEQPACKET), attempt(16, socket.SOCK_RAW),
 attempt(17, socket.SOCK_RAW), attempt(socket.AF_UNIX, socket.SOCK_STREAM), attempt(socket.AF_INET, socket.SOCK_DGRAM),
 attempt(socket.AF_INET6, socket.SOCK_STREAM), len(socket.socketpair())]`;
/** What SOCKET_FAMILIES_PY returns in every mode. */
export const SOCKET_FAMILIES_RESULT = [
  'EAFNOSUPPORT',
  'EAFNOSUPPORT',
  'EAFNOSUPPORT',
  'EAFNOSUPPORT',
  'created',
  'created',
  'created',
  2,
];

/** setsid in a child, and subprocess's start_new_session; then an ordinary subprocess. */
export const SETSID_PY = `
import errno, os, subprocess
try:
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            os._exit(0)
        except OSError as e:
            os._exit(e.errno)
    status = os.waitpid(pid, 0)[1]
finally:
    pass
try:
    subprocess.run(['/bin/true'], start_new_session=True)
    daemon = 'started'
except OSError as e:
    daemon = errno.errorcode[e.errno]
[errno.errorcode.get(os.WEXITSTATUS(status), os.WEXITSTATUS(status)), daemon, subprocess.run(['/bin/true']).returncode]`;

/** SysV message queues filled towards twice the run's memory limit: [bytes queued, last errno]. */
export const msgQueuePy = (memoryLimitMb: number) => `
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
class Msg(ctypes.Structure):
    _fields_ = [('mtype', ctypes.c_long), ('mtext', ctypes.c_char * 8000)]
msg = Msg(1, b'x' * 8000)
queued, target = 0, 2 * ${memoryLimitMb} * 1024 * 1024
while queued < target:
    q = libc.msgget(0, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
    if q < 0:
        break
    while queued < target and libc.msgsnd(q, ctypes.byref(msg), 8000, 0o4000) == 0:  # IPC_NOWAIT
        queued += 8000
    if libc.msgsnd(q, ctypes.byref(msg), 8000, 0o4000) != 0 and ctypes.get_errno() != errno.EAGAIN:
        break
[queued, errno.errorcode.get(ctypes.get_errno(), 0)]`;

/** Raised socket buffers, then 8 children filling 100 unix socket pairs each. */
export const SOCKET_BUFFERS_PY = `
import errno, os, socket, time
try:
    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    grow = 'allowed'
except OSError as e:
    grow = errno.errorcode[e.errno]
if grow != 'allowed':
    print(grow, flush=True)
kids = []
for _ in range(8):
    pid = os.fork()
    if pid == 0:
        pairs = []
        for _ in range(100):
            a, b = socket.socketpair()
            a.setblocking(False)
            try:
                while True:
                    a.send(b'x' * 65536)
            except OSError:
                pass
            pairs.append((a, b))
        time.sleep(3)
        os._exit(0)
    kids.append(pid)
[os.waitpid(pid, 0)[1] for pid in kids]`;

/** pid 1's main thread leaves with the raw exit syscall while 4 children go on to allocate 0.6 × the limit each. */
export const rawExitPy = (memoryLimitMb: number) => `
import ctypes, os
SYS_EXIT = {'x86_64': 60, 'aarch64': 93}[os.uname().machine]
libc = ctypes.CDLL(None, use_errno=True)
import threading, time
size = int(0.6 * ${memoryLimitMb} * 1024 * 1024)
for _ in range(4):
    if os.fork() == 0:
        time.sleep(0.5)  # after pid 1's main thread is gone
        block = bytearray(size)
        for i in range(0, size, 4096):
            block[i] = 1
        time.sleep(30)
        os._exit(0)
threading.Thread(target=time.sleep, args=(60,)).start()
libc.syscall(SYS_EXIT, 0)`;

/** Honest code the watchdog once killed: 5 rounds of 8 children that allocate, free and exit; returns 'done'. */
export const HONEST_CHILDREN_PY = `
import os
for round in range(5):
    kids = []
    for _ in range(8):
        pid = os.fork()
        if pid == 0:
            for _ in range(3):
                block = bytearray(8 << 20)
                block[::4096] = b'x' * len(block[::4096])
                del block
            os._exit(0)
        kids.append(pid)
    for pid in kids:
        os.waitpid(pid, 0)
'done'`;
