/**
 * The seccomp profile of every runc instance: an allow-list modelled on the
 * default profile container runtimes ship (Docker/moby's, containerd's),
 * resolved for the capabilities an instance has (oci-config.ts CAPABILITIES:
 * no CAP_SYS_ADMIN, CAP_SYS_BOOT, CAP_SYS_CHROOT). Everything not listed fails
 * with EPERM, as those profiles do; runc answers ENOSYS for system calls newer
 * than any it knows, so libc falls back from them.
 *
 * Refused in particular (the guest is root of the host's kernel): the kernel
 * keyrings (keyctl, add_key, request_key: root's keyring is the host root's),
 * bpf, perf_event_open, userfaultfd, io_uring, open_by_handle_at, kernel
 * modules, kexec, iopl/ioperm, swapon/swapoff, mount and the new mount API,
 * pivot_root, setns, namespaces (clone/unshare with any CLONE_NEW* flag, in
 * particular CLONE_NEWUSER, which would hand the guest a full capability set
 * in a namespace of its own), personality other than the harmless ones,
 * AF_VSOCK sockets, the clock and quota calls. clone3 answers ENOSYS: its
 * flags are in memory seccomp cannot read, and glibc falls back to clone.
 * reboot(2) stays: in a pid namespace it ends the instance's init.
 */

/** EPERM, what a refused call returns. */
export const EPERM = 1;
/** ENOSYS: clone3 "does not exist", so glibc uses clone, whose flags seccomp can check. */
export const ENOSYS = 38;

/** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET. */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/** What any process may call: files, memory, signals, sockets, time, scheduling, identity changes its capabilities allow. */
const BASE = `
accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 chroot
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64
close close_range connect copy_file_range creat dup dup2 dup3
epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2
execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark
fchdir fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr
fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_time64 futex_waitv futimesat
getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer
getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit
get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr
inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents
io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule landlock_create_ruleset
landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek
lsetxattr lstat lstat64 madvise membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2
mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at
nanosleep newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free
pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64
ptrace process_vm_readv process_vm_writev
pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv reboot recv recvfrom recvmmsg recvmmsg_time64 recvmsg
remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending
rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo
sched_getaffinity sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler
sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler
sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg
sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority
setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid
setsockopt set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack
signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx symlink
symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime
timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat
utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
`.trim().split(/\s+/);

/** Per architecture: the calls only it has. */
const ARCH_CALLS: Record<string, string[]> = {
  x64: ['arch_prctl', 'modify_ldt'],
  arm64: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'],
};

const ARCHITECTURES: Record<string, string[]> = {
  x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

/** personality(2) values that change nothing dangerous: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the query 0xffffffff. */
export const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

export interface SeccompRule {
  names: string[];
  action: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  errnoRet?: number;
  args?: Array<{ index: number; value: number; valueTwo?: number; op: string }>;
}

export interface SeccompProfile {
  defaultAction: 'SCMP_ACT_ERRNO';
  defaultErrnoRet: number;
  architectures: string[];
  syscalls: SeccompRule[];
}

/** The profile for an instance on a host of architecture `arch` (Node's process.arch). */
export function seccompProfile(arch: string = process.arch): SeccompProfile {
  const noNamespaces = (name: string): SeccompRule => ({
    names: [name], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
  });
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: ARCHITECTURES[arch] ?? [],
    syscalls: [
      { names: [...BASE, ...(ARCH_CALLS[arch] ?? [])], action: 'SCMP_ACT_ALLOW' },
      // Any socket but AF_VSOCK (40), which reaches the host's hypervisor sockets.
      { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] },
      ...PERSONALITIES.map((value): SeccompRule => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
      // Threads and processes, and unshare of what is not a namespace (CLONE_FS, CLONE_FILES); never a new namespace.
      noNamespaces('clone'), noNamespaces('unshare'),
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
    ],
  };
}

/** Whether `name` is allowed with any arguments at all by `profile` (used by the tests). */
export function allowsUnconditionally(profile: SeccompProfile, name: string): boolean {
  return profile.syscalls.some((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args?.length && r.names.includes(name));
}

/**
 * The profile Kiln used before this allow-list (everything allowed but kexec): only for the bench's
 * baseline, which measures what the isolation costs a launch. Never a default.
 */
export function permissiveProfile(arch: string = process.arch): Record<string, unknown> {
  return { defaultAction: 'SCMP_ACT_ALLOW', architectures: seccompProfile(arch).architectures, syscalls: [{ names: ['kexec_load', 'kexec_file_load'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] };
}
