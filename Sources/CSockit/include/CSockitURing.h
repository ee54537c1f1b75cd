// CSockitURing: the little of liburing the io_uring echo backend needs, on the raw syscalls
// (io_uring_setup, io_uring_enter, io_uring_register) and the ring mmaps: no liburing link
// dependency, glibc only. The rings are shared with the kernel: the SQ tail and the CQ head are
// published with release stores, the kernel's SQ head and CQ tail read with acquire loads, as
// liburing does.
#ifndef CSOCKIT_URING_H
#define CSOCKIT_URING_H

#ifdef __linux__
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <sys/socket.h>
#include <linux/io_uring.h>
#include <linux/time_types.h>

/// One ring, mapped. Used by one thread only (the loop's), which also submits.
struct sockit_uring {
    int fd;
    /// The index of the registered ring descriptor, or -1 (then `fd` is passed to io_uring_enter).
    int registered_index;
    unsigned flags;
    unsigned features;
    // Submission queue: the kernel's head, our tail (published on submit), the SQE array.
    unsigned *_Nonnull sq_khead;
    unsigned *_Nonnull sq_ktail;
    unsigned *_Nonnull sq_kflags;
    unsigned *_Nonnull sq_array;
    struct io_uring_sqe *_Nonnull sqes;
    unsigned sq_mask;
    unsigned sq_entries;
    /// SQEs handed out and not yet published.
    unsigned sqe_tail;
    // Completion queue.
    unsigned *_Nonnull cq_khead;
    unsigned *_Nonnull cq_ktail;
    struct io_uring_cqe *_Nonnull cqes;
    unsigned cq_mask;
    unsigned cq_entries;
    // The mappings, for munmap.
    void *_Nullable sq_ring;
    size_t sq_ring_size;
    void *_Nullable cq_ring;
    size_t cq_ring_size;
    size_t sqes_size;
    // The provided-buffer ring (one group), when set up.
    struct io_uring_buf_ring *_Nullable buf_ring;
    size_t buf_ring_size;
    unsigned buf_mask;
    /// Buffers added since the last `sockit_uring_buf_advance`.
    unsigned short buf_added;
};

/// Sets up a ring of `entries` SQEs and `cq_entries` CQEs with `flags` (IORING_SETUP_CQSIZE is
/// added), maps it and registers its descriptor. 0, or -errno (nothing to release then).
int sockit_uring_init(struct sockit_uring *_Nonnull ring, unsigned entries, unsigned cq_entries, unsigned flags);
/// Enables a ring set up with IORING_SETUP_R_DISABLED on the calling thread (which becomes its
/// single issuer) and registers its descriptor for this thread. 0 or -errno.
int sockit_uring_enable(struct sockit_uring *_Nonnull ring);
/// Unmaps and closes everything `sockit_uring_init` and `sockit_uring_setup_buffers` made.
void sockit_uring_exit(struct sockit_uring *_Nonnull ring);
/// Registers a provided-buffer ring of `entries` (a power of two) for group `group`. 0 or -errno.
int sockit_uring_setup_buffers(struct sockit_uring *_Nonnull ring, unsigned entries, unsigned short group);
/// Publishes the SQEs handed out and enters the kernel, waiting for `wait_for` completions.
/// The number submitted, or -errno.
int sockit_uring_submit_and_wait(struct sockit_uring *_Nonnull ring, unsigned wait_for);

/// Publishes the SQEs handed out, enters the kernel and waits up to `timeout_ns` nanoseconds
/// (negative: no limit; 0: not at all) for `wait_for` completions, running the completions
/// due to this thread either way. The number submitted, or -errno (-ETIME when the time ran
/// out). Needs IORING_FEAT_EXT_ARG (5.11+) for a positive timeout.
int sockit_uring_enter(struct sockit_uring *_Nonnull ring, unsigned wait_for, long long timeout_ns);

/// The next free SQE, zeroed, or NULL when the queue is full (submit, then ask again).
static inline struct io_uring_sqe *_Nullable sockit_uring_get_sqe(struct sockit_uring *_Nonnull ring) {
    unsigned head = __atomic_load_n(ring->sq_khead, __ATOMIC_ACQUIRE);
    if (ring->sqe_tail - head >= ring->sq_entries) return NULL;
    struct io_uring_sqe *sqe = &ring->sqes[ring->sqe_tail & ring->sq_mask];
    ring->sqe_tail++;
    memset(sqe, 0, sizeof *sqe);
    return sqe;
}

/// SQEs handed out and not yet submitted.
static inline unsigned sockit_uring_sq_pending(const struct sockit_uring *_Nonnull ring) {
    return ring->sqe_tail - *ring->sq_ktail;
}

static inline void sockit_uring_prep_accept_multishot(struct io_uring_sqe *_Nonnull sqe, int fd, uint64_t data) {
    sqe->opcode = IORING_OP_ACCEPT;
    sqe->fd = fd;
    sqe->accept_flags = SOCK_CLOEXEC;
    sqe->ioprio = IORING_ACCEPT_MULTISHOT;
    sqe->user_data = data;
}

/// A multishot receive into buffers of group `group`.
static inline void sockit_uring_prep_recv_multishot(struct io_uring_sqe *_Nonnull sqe, int fd, unsigned short group,
                                                    uint64_t data) {
    sqe->opcode = IORING_OP_RECV;
    sqe->fd = fd;
    sqe->ioprio = IORING_RECV_MULTISHOT;
    sqe->flags = IOSQE_BUFFER_SELECT;
    sqe->buf_group = group;
    sqe->user_data = data;
}

/// `send(fd, buffer, length, MSG_NOSIGNAL)`.
static inline void sockit_uring_prep_send(struct io_uring_sqe *_Nonnull sqe, int fd, const void *_Nonnull buffer,
                                          unsigned length, uint64_t data) {
    sqe->opcode = IORING_OP_SEND;
    sqe->fd = fd;
    sqe->addr = (uint64_t)(uintptr_t)buffer;
    sqe->len = length;
    sqe->msg_flags = MSG_NOSIGNAL;
    sqe->user_data = data;
}

/// Cancels the request whose user data is `target`.
static inline void sockit_uring_prep_cancel(struct io_uring_sqe *_Nonnull sqe, uint64_t target, uint64_t data) {
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = -1;
    sqe->addr = target;
    sqe->user_data = data;
}

/// A multishot poll for readability of `fd` (the loop's eventfd).
static inline void sockit_uring_prep_poll_multishot(struct io_uring_sqe *_Nonnull sqe, int fd, uint64_t data) {
    sqe->opcode = IORING_OP_POLL_ADD;
    sqe->fd = fd;
    sqe->poll32_events = POLLIN;
    sqe->len = IORING_POLL_ADD_MULTI;
    sqe->user_data = data;
}

/// poll(2)'s POLLRDHUP, which <poll.h> defines only under _GNU_SOURCE.
#define SOCKIT_POLLRDHUP 0x2000

/// A one-shot poll of `fd` for `events` (POLLIN, POLLOUT, ...): completes once, with the ready
/// events as its result, at once if they are ready when it is armed (the readiness selector
/// arms it again after each report, which makes it level-triggered).
static inline void sockit_uring_prep_poll(struct io_uring_sqe *_Nonnull sqe, int fd, unsigned events,
                                          uint64_t data) {
    sqe->opcode = IORING_OP_POLL_ADD;
    sqe->fd = fd;
    sqe->poll32_events = events;
    sqe->user_data = data;
}

/// Removes the poll whose user data is `target` (it completes with -ECANCELED, and lets go of
/// its file).
static inline void sockit_uring_prep_poll_remove(struct io_uring_sqe *_Nonnull sqe, uint64_t target,
                                                 uint64_t data) {
    sqe->opcode = IORING_OP_POLL_REMOVE;
    sqe->fd = -1;
    sqe->addr = target;
    sqe->user_data = data;
}

/// A relative timeout; `spec` is read when the SQE is submitted, so it must live until then.
static inline void sockit_uring_prep_timeout(struct io_uring_sqe *_Nonnull sqe,
                                             struct __kernel_timespec *_Nonnull spec, uint64_t data) {
    sqe->opcode = IORING_OP_TIMEOUT;
    sqe->fd = -1;
    sqe->addr = (uint64_t)(uintptr_t)spec;
    sqe->len = 1;
    sqe->user_data = data;
}

/// The completions ready: their count; `*head` is where they start.
static inline unsigned sockit_uring_cq_ready(const struct sockit_uring *_Nonnull ring, unsigned *_Nonnull head) {
    *head = *ring->cq_khead;
    return __atomic_load_n(ring->cq_ktail, __ATOMIC_ACQUIRE) - *head;
}

static inline const struct io_uring_cqe *_Nonnull sockit_uring_cqe_at(const struct sockit_uring *_Nonnull ring,
                                                                       unsigned index) {
    return &ring->cqes[index & ring->cq_mask];
}

/// Marks `count` completions seen: the kernel may reuse their slots.
static inline void sockit_uring_cq_advance(struct sockit_uring *_Nonnull ring, unsigned count) {
    __atomic_store_n(ring->cq_khead, *ring->cq_khead + count, __ATOMIC_RELEASE);
}

/// Gives buffer `id` (`length` bytes at `address`) back to the provided-buffer ring; visible to
/// the kernel after `sockit_uring_buf_advance`.
static inline void sockit_uring_buf_add(struct sockit_uring *_Nonnull ring, void *_Nonnull address, unsigned length,
                                        unsigned short id) {
    struct io_uring_buf_ring *br = ring->buf_ring;
    struct io_uring_buf *buf = &br->bufs[(br->tail + ring->buf_added) & ring->buf_mask];
    buf->addr = (uint64_t)(uintptr_t)address;
    buf->len = length;
    buf->bid = id;
    ring->buf_added++;
}

/// Publishes the buffers added.
static inline void sockit_uring_buf_advance(struct sockit_uring *_Nonnull ring) {
    struct io_uring_buf_ring *br = ring->buf_ring;
    unsigned short tail = (unsigned short)(br->tail + ring->buf_added);
    __atomic_store_n(&br->tail, tail, __ATOMIC_RELEASE);
    ring->buf_added = 0;
}

#endif // __linux__
#endif // CSOCKIT_URING_H
