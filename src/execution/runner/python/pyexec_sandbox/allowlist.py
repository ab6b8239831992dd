"""The baseline of the seccomp filter: Docker's default profile, github.com/moby/profiles/seccomp v0.2.3
(default.json as vendored in moby/moby b985e2313a86, docker v29.7.2+). What it allows a run may do;
anything else is refused (seccomp.program decides how, and refuses more than Docker does)."""

# Its unconditional allow list, without the calls libseccomp 2.5.4 does not know (32-bit-only and the
# newest calls: libc falls back on ENOSYS) and so cannot cross-check.
DOCKER_ALLOWED = (
    'accept', 'accept4', 'access', 'adjtimex', 'alarm', 'bind', 'brk', 'cachestat', 'capget', 'capset',
    'chdir', 'chmod', 'chown', 'clock_adjtime', 'clock_getres', 'clock_gettime', 'clock_nanosleep', 'close',
    'close_range', 'connect', 'copy_file_range', 'creat', 'dup', 'dup2', 'dup3', 'epoll_create',
    'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_pwait', 'epoll_pwait2', 'epoll_wait',
    'epoll_wait_old', 'eventfd', 'eventfd2', 'execve', 'execveat', 'exit', 'exit_group', 'faccessat',
    'faccessat2', 'fadvise64', 'fallocate', 'fanotify_mark', 'fchdir', 'fchmod', 'fchmodat', 'fchmodat2',
    'fchown', 'fchownat', 'fcntl', 'fdatasync', 'fgetxattr', 'flistxattr', 'flock', 'fork', 'fremovexattr',
    'fsetxattr', 'fstat', 'fstatfs', 'fsync', 'ftruncate', 'futex', 'futex_requeue', 'futex_wait',
    'futex_waitv', 'futex_wake', 'futimesat', 'get_robust_list', 'get_thread_area', 'getcpu', 'getcwd',
    'getdents', 'getdents64', 'getegid', 'geteuid', 'getgid', 'getgroups', 'getitimer', 'getpeername',
    'getpgid', 'getpgrp', 'getpid', 'getppid', 'getpriority', 'getrandom', 'getresgid', 'getresuid',
    'getrlimit', 'getrusage', 'getsid', 'getsockname', 'getsockopt', 'gettid', 'gettimeofday', 'getuid',
    'getxattr', 'inotify_add_watch', 'inotify_init', 'inotify_init1', 'inotify_rm_watch', 'io_cancel',
    'io_destroy', 'io_getevents', 'io_pgetevents', 'io_setup', 'io_submit', 'ioctl', 'ioprio_get',
    'ioprio_set', 'kill', 'landlock_add_rule', 'landlock_create_ruleset', 'landlock_restrict_self', 'lchown',
    'lgetxattr', 'link', 'linkat', 'listen', 'listxattr', 'llistxattr', 'lremovexattr', 'lseek', 'lsetxattr',
    'lstat', 'madvise', 'map_shadow_stack', 'membarrier', 'memfd_create', 'memfd_secret', 'mincore', 'mkdir',
    'mkdirat', 'mknod', 'mknodat', 'mlock', 'mlock2', 'mlockall', 'mmap', 'mprotect', 'mq_getsetattr',
    'mq_notify', 'mq_open', 'mq_timedreceive', 'mq_timedsend', 'mq_unlink', 'mremap', 'msgctl', 'msgget',
    'msgrcv', 'msgsnd', 'msync', 'munlock', 'munlockall', 'munmap', 'name_to_handle_at', 'nanosleep',
    'newfstatat', 'open', 'openat', 'openat2', 'pause', 'pidfd_open', 'pidfd_send_signal', 'pipe', 'pipe2',
    'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'poll', 'ppoll', 'prctl', 'pread64', 'preadv', 'preadv2',
    'prlimit64', 'process_mrelease', 'pselect6', 'pwrite64', 'pwritev', 'pwritev2', 'read', 'readahead',
    'readlink', 'readlinkat', 'readv', 'recvfrom', 'recvmmsg', 'recvmsg', 'remap_file_pages', 'removexattr',
    'rename', 'renameat', 'renameat2', 'restart_syscall', 'rmdir', 'rseq', 'rt_sigaction', 'rt_sigpending',
    'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend', 'rt_sigtimedwait',
    'rt_tgsigqueueinfo', 'sched_get_priority_max', 'sched_get_priority_min', 'sched_getaffinity',
    'sched_getattr', 'sched_getparam', 'sched_getscheduler', 'sched_rr_get_interval', 'sched_setaffinity',
    'sched_setattr', 'sched_setparam', 'sched_setscheduler', 'sched_yield', 'seccomp', 'select', 'semctl',
    'semget', 'semop', 'semtimedop', 'sendfile', 'sendmmsg', 'sendmsg', 'sendto', 'set_robust_list',
    'set_thread_area', 'set_tid_address', 'setfsgid', 'setfsuid', 'setgid', 'setgroups', 'setitimer',
    'setpgid', 'setpriority', 'setregid', 'setresgid', 'setresuid', 'setreuid', 'setrlimit', 'setsid',
    'setsockopt', 'setuid', 'setxattr', 'shmat', 'shmctl', 'shmdt', 'shmget', 'shutdown', 'sigaltstack',
    'signalfd', 'signalfd4', 'socketpair', 'splice', 'stat', 'statfs', 'statx', 'symlink', 'symlinkat',
    'sync', 'sync_file_range', 'syncfs', 'sysinfo', 'tee', 'tgkill', 'time', 'timer_create', 'timer_delete',
    'timer_getoverrun', 'timer_gettime', 'timer_settime', 'timerfd_create', 'timerfd_gettime',
    'timerfd_settime', 'times', 'tkill', 'truncate', 'umask', 'uname', 'unlink', 'unlinkat', 'utime',
    'utimensat', 'utimes', 'vfork', 'vmsplice', 'wait4', 'waitid', 'write', 'writev',
)

# Docker allows these only to a container given a capability (CAP_SYS_ADMIN, _PTRACE, _BOOT, ...);
# a run never has one: they get EPERM, as in a container without it. (clone/clone3: see seccomp.py.)
DOCKER_CAPABILITY_ONLY = (
    'acct', 'bpf', 'chroot', 'clock_settime', 'delete_module', 'fanotify_init', 'finit_module', 'fsconfig',
    'fsmount', 'fsopen', 'fspick', 'get_mempolicy', 'init_module', 'ioperm', 'iopl', 'kcmp',
    'lookup_dcookie', 'mbind', 'mount', 'mount_setattr', 'move_mount', 'open_by_handle_at', 'open_tree',
    'perf_event_open', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace',
    'quotactl', 'quotactl_fd', 'reboot', 'set_mempolicy', 'set_mempolicy_home_node', 'setdomainname',
    'sethostname', 'setns', 'settimeofday', 'syslog', 'umount2', 'unshare', 'vhangup',
)

# Docker allows these only on some architectures.
DOCKER_ARCH_ONLY = {'x86_64': ('arch_prctl',), 'aarch64': ()}

# personality(): the values Docker allows (Linux, with ADDR_NO_RANDOMIZE, UNAME26, the query 0xffffffff).
DOCKER_PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)
