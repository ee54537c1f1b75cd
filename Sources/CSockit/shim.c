// Layout checks for the structs sockit reads with fixed offsets.
#define _GNU_SOURCE 1
#include <string.h>
#include <sys/socket.h>
#include <dirent.h>
#include "CSockit.h"

#ifdef __linux__
const char *sockit_errno_name(int code) { return strerrorname_np(code); }
long sockit_getdents64(int fd, void *buffer, size_t length) { return (long)getdents64(fd, buffer, length); }
int sockit_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return accept4(fd, address, length, flags);
}

_Static_assert(sizeof(struct inet_diag_msg) == 72, "inet_diag_msg layout");
_Static_assert(sizeof(struct linger) == 8, "struct linger layout");
_Static_assert(sizeof(struct timeval) == 16, "struct timeval layout (64-bit)");
#endif
