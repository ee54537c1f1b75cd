// CSockit: the Linux headers Swift's Glibc module does not export, and tiny inline helpers
// for C macros Swift cannot call (CMSG_*), and raw syscalls glibc has no wrapper for.
#ifndef CSOCKIT_H
#define CSOCKIT_H

#ifdef __linux__
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>
#include "CSockitURing.h"

/// `strerrorname_np` (glibc 2.32+): "EADDRINUSE" for 98. NULL for an unknown number.
const char *_Nullable sockit_errno_name(int code);

/// `getdents64(2)` (glibc 2.30+, a GNU extension): directory entries straight into a buffer,
/// without opendir's fstat and fcntl. `struct linux_dirent64` records.
long sockit_getdents64(int fd, void *_Nonnull buffer, size_t length);
// pipe2(O_CLOEXEC): both ends close-on-exec from the start (a child spawned meanwhile never holds them).
int sockit_pipe_cloexec(int ends[_Nonnull 2]);

/// `accept4(2)`, a GNU extension the Glibc module does not export.
int sockit_accept4(int fd, struct sockaddr *_Nullable address, socklen_t *_Nullable length, int flags);

/// One message of a `recvmmsg`/`sendmmsg` batch: the layout of `struct mmsghdr`, which glibc
/// declares only with _GNU_SOURCE (shim.c checks that the two agree). `msg_len` is what the
/// call received or sent of it.
struct sockit_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

/// `recvmmsg(2)` without a timeout, a GNU extension the Glibc module does not export: up to
/// `count` datagrams in one call; the number received, or -1 and `errno`.
int sockit_recvmmsg(int fd, struct sockit_mmsghdr *_Nonnull messages, unsigned int count, int flags);
/// `sendmmsg(2)`, a GNU extension the Glibc module does not export: the number of messages sent
/// from the start of `messages` (fewer than `count` when one failed or the buffer filled), or -1
/// and `errno` when the first could not be sent.
int sockit_sendmmsg(int fd, struct sockit_mmsghdr *_Nonnull messages, unsigned int count, int flags);

/// Socket constants that glibc declares as enum members plus same-named macros, which the Swift
/// importer does not find reliably in every build mode: re-exported here as plain constants.
enum {
    SOCKIT_SOCK_STREAM = SOCK_STREAM,
    SOCKIT_SOCK_DGRAM = SOCK_DGRAM,
    SOCKIT_SOCK_RAW = SOCK_RAW,
    SOCKIT_SOCK_SEQPACKET = SOCK_SEQPACKET,
    SOCKIT_SOCK_NONBLOCK = SOCK_NONBLOCK,
    SOCKIT_SOCK_CLOEXEC = SOCK_CLOEXEC,
    SOCKIT_SHUT_RD = SHUT_RD,
    SOCKIT_SHUT_WR = SHUT_WR,
    SOCKIT_SHUT_RDWR = SHUT_RDWR,
    SOCKIT_MSG_NOSIGNAL = MSG_NOSIGNAL,
    SOCKIT_MSG_CMSG_CLOEXEC = MSG_CMSG_CLOEXEC,
    SOCKIT_MSG_CTRUNC = MSG_CTRUNC,
    SOCKIT_MSG_DONTWAIT = MSG_DONTWAIT,
    SOCKIT_MSG_PEEK = MSG_PEEK,
    SOCKIT_MSG_TRUNC = MSG_TRUNC,
    SOCKIT_MSG_WAITFORONE = MSG_WAITFORONE,
    SOCKIT_SCM_RIGHTS = SCM_RIGHTS,
};

/// `errno` of the calling thread, read at once by the caller after a failing call.
static inline int sockit_errno(void) { return errno; }
static inline void sockit_set_errno(int value) { errno = value; }
/// The C `stdout` stream (a mutable global Swift 6 will not read directly).
static inline FILE *_Nonnull sockit_stdout(void) { return stdout; }

// CMSG helpers: the macros are not importable into Swift.
static inline struct cmsghdr *_Nullable sockit_cmsg_firsthdr(struct msghdr *_Nonnull msg) { return CMSG_FIRSTHDR(msg); }
static inline struct cmsghdr *_Nullable sockit_cmsg_nxthdr(struct msghdr *_Nonnull msg, struct cmsghdr *_Nonnull cmsg) {
    return CMSG_NXTHDR(msg, cmsg);
}
static inline unsigned char *_Nonnull sockit_cmsg_data(struct cmsghdr *_Nonnull cmsg) { return CMSG_DATA(cmsg); }
static inline size_t sockit_cmsg_space(size_t length) { return CMSG_SPACE(length); }
static inline size_t sockit_cmsg_len(size_t length) { return CMSG_LEN(length); }

/// `pthread_create` (default attributes), but the new thread starts on a CPU of the caller's
/// affinity mask other than the one the caller runs on, then takes the caller's whole mask. A
/// new thread is otherwise queued on its creator's CPU (Linux places it by load, and the creator
/// that has only just started shows none), where it waits until the creator blocks or the idle
/// CPU pulls it, which can take longer than the work it was made for (README, "How fast"). Plain
/// `pthread_create` when the mask has one CPU.
int sockit_thread_create_elsewhere(pthread_t *_Nonnull thread, void *_Nullable (*_Nonnull start)(void *_Nullable),
                                   void *_Nullable argument);
/// The CPU a thread started by `sockit_thread_create_elsewhere` first ran on, before it took its
/// creator's whole mask; -1 on any other thread.
int sockit_thread_start_cpu(void);
/// The creator's CPU, which that thread was kept off at its start; -1 on any other thread.
int sockit_thread_avoided_cpu(void);

/// The CPU the calling thread runs on (`getcpu(2)`), or -1.
static inline int sockit_current_cpu(void) {
    unsigned int cpu = 0;
    return syscall(SYS_getcpu, &cpu, NULL, NULL) == 0 ? (int)cpu : -1;
}

/// The number of CPUs this thread may run on (its affinity mask, which `taskset` sets), at least 1.
/// The raw syscall: glibc's wrapper and CPU_COUNT need _GNU_SOURCE.
static inline int sockit_affinity_cpu_count(void) {
    unsigned long mask[16] = {0};  // 1,024 CPUs
    long bytes = syscall(SYS_sched_getaffinity, 0, sizeof(mask), mask);
    int count = 0;
    for (long i = 0; i < bytes / (long)sizeof(unsigned long); i++) count += __builtin_popcountl(mask[i]);
    return count > 0 ? count : 1;
}

/// The width in columns of the terminal `fd` refers to (`TIOCGWINSZ`); 0 when `fd` is not a
/// terminal or its size is not set. `ioctl` is variadic: Swift cannot call it.
static inline int sockit_terminal_columns(int fd) {
    struct winsize size = {0};
    return ioctl(fd, TIOCGWINSZ, &size) == 0 ? (int)size.ws_col : 0;
}

/// The height in rows of the terminal `fd` refers to; 0 when unknown.
static inline int sockit_terminal_rows(int fd) {
    struct winsize size = {0};
    return ioctl(fd, TIOCGWINSZ, &size) == 0 ? (int)size.ws_row : 0;
}

/// `setns(fd, CLONE_NEWNET)`: moves the calling thread (only it) into the network namespace `fd`
/// refers to (`/proc/PID/ns/net`, `/run/netns/NAME`). Needs CAP_SYS_ADMIN. The raw syscall:
/// glibc declares `setns` and `CLONE_NEWNET` only with _GNU_SOURCE.
static inline int sockit_enter_network_namespace(int fd) { return (int)syscall(SYS_setns, fd, 0x40000000); }

// pidfd syscalls (Linux 5.3 / 5.6): glibc 2.36 has no wrapper for pidfd_getfd on every build.
static inline int sockit_pidfd_open(pid_t pid, unsigned int flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }
static inline int sockit_pidfd_getfd(int pidfd, int targetfd, unsigned int flags) {
    return (int)syscall(SYS_pidfd_getfd, pidfd, targetfd, flags);
}
static inline int sockit_pidfd_send_signal(int pidfd, int sig, unsigned int flags) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, flags);
}

/// The size of `sun_path` in `struct sockaddr_un` (108 on Linux).
static inline size_t sockit_sun_path_size(void) { return sizeof(((struct sockaddr_un *)0)->sun_path); }

#endif // __linux__
#endif // CSOCKIT_H
