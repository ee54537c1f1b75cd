// Layout checks for the structs sockit reads with fixed offsets.
#define _GNU_SOURCE 1
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>
#include "CSockit.h"

#ifdef __linux__
const char *sockit_errno_name(int code) { return strerrorname_np(code); }
long sockit_getdents64(int fd, void *buffer, size_t length) { return (long)getdents64(fd, buffer, length); }
int sockit_pipe_cloexec(int ends[2]) { return pipe2(ends, O_CLOEXEC); }
int sockit_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return accept4(fd, address, length, flags);
}
int sockit_recvmmsg(int fd, struct sockit_mmsghdr *messages, unsigned int count, int flags) {
    return recvmmsg(fd, (struct mmsghdr *)messages, count, flags, NULL);
}
int sockit_sendmmsg(int fd, struct sockit_mmsghdr *messages, unsigned int count, int flags) {
    return sendmmsg(fd, (struct mmsghdr *)messages, count, flags);
}
_Static_assert(sizeof(struct sockit_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");
_Static_assert(offsetof(struct sockit_mmsghdr, msg_len) == offsetof(struct mmsghdr, msg_len), "mmsghdr layout");

struct sockit_elsewhere {
    void *_Nullable (*_Nonnull start)(void *_Nullable);
    void *_Nullable argument;
    cpu_set_t mask;
    int avoided;
};

static __thread int sockit_start_cpu = -1;
static __thread int sockit_avoided_cpu = -1;
int sockit_thread_start_cpu(void) { return sockit_start_cpu; }
int sockit_thread_avoided_cpu(void) { return sockit_avoided_cpu; }

static void *_Nullable sockit_elsewhere_start(void *_Nullable raw) {
    struct sockit_elsewhere start = *(struct sockit_elsewhere *)raw;
    free(raw);
    sockit_start_cpu = sched_getcpu();
    sockit_avoided_cpu = start.avoided;
    // Running elsewhere now: back to the mask the creator had, so the scheduler may move it.
    sched_setaffinity(0, sizeof(start.mask), &start.mask);
    return start.start(start.argument);
}

int sockit_thread_create_elsewhere(pthread_t *_Nonnull thread, void *_Nullable (*_Nonnull start)(void *_Nullable),
                                   void *_Nullable argument) {
    cpu_set_t mask;
    int cpu = sched_getcpu();
    if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof(mask), &mask) != 0 || CPU_COUNT(&mask) < 2 ||
        !CPU_ISSET(cpu, &mask))
        return pthread_create(thread, NULL, start, argument);
    struct sockit_elsewhere *context = malloc(sizeof(*context));
    if (context == NULL) return pthread_create(thread, NULL, start, argument);
    context->start = start;
    context->argument = argument;
    context->mask = mask;
    context->avoided = cpu;
    cpu_set_t others = mask;
    CPU_CLR(cpu, &others);
    pthread_attr_t attributes;
    int result = pthread_attr_init(&attributes);
    if (result == 0) {
        pthread_attr_setaffinity_np(&attributes, sizeof(others), &others);
        result = pthread_create(thread, &attributes, sockit_elsewhere_start, context);
        pthread_attr_destroy(&attributes);
    }
    if (result != 0) free(context);
    return result;
}

_Static_assert(sizeof(struct inet_diag_msg) == 72, "inet_diag_msg layout");
_Static_assert(sizeof(struct linger) == 8, "struct linger layout");
_Static_assert(sizeof(struct timeval) == 16, "struct timeval layout (64-bit)");
#endif
