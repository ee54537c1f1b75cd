// The io_uring set-up for CSockitURing.h, on raw syscalls (glibc has no wrappers).
#define _GNU_SOURCE 1
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "CSockit.h"

#ifdef __linux__
static int uring_setup(unsigned entries, struct io_uring_params *params) {
    long fd = syscall(__NR_io_uring_setup, entries, params);
    return fd < 0 ? -errno : (int)fd;
}

static int uring_register(int fd, unsigned opcode, void *arg, unsigned count) {
    long result = syscall(__NR_io_uring_register, fd, opcode, arg, count);
    return result < 0 ? -errno : (int)result;
}

int sockit_uring_init(struct sockit_uring *ring, unsigned entries, unsigned cq_entries, unsigned flags) {
    memset(ring, 0, sizeof *ring);
    ring->fd = -1;
    ring->registered_index = -1;
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    params.flags = flags | IORING_SETUP_CQSIZE;
    params.cq_entries = cq_entries;
    int fd = uring_setup(entries, &params);
    if (fd < 0) return fd;
    // One mapping for both rings when the kernel says so (5.4+); it is the larger of the two.
    size_t sq_size = params.sq_off.array + params.sq_entries * sizeof(unsigned);
    size_t cq_size = params.cq_off.cqes + params.cq_entries * sizeof(struct io_uring_cqe);
    int single = (params.features & IORING_FEAT_SINGLE_MMAP) != 0;
    if (single) sq_size = cq_size = sq_size > cq_size ? sq_size : cq_size;
    void *sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    if (sq == MAP_FAILED) {
        int error = -errno;
        close(fd);
        return error;
    }
    void *cq = sq;
    if (!single) {
        cq = mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
        if (cq == MAP_FAILED) {
            int error = -errno;
            munmap(sq, sq_size);
            close(fd);
            return error;
        }
    }
    size_t sqes_size = params.sq_entries * sizeof(struct io_uring_sqe);
    void *sqes = mmap(NULL, sqes_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (sqes == MAP_FAILED) {
        int error = -errno;
        if (!single) munmap(cq, cq_size);
        munmap(sq, sq_size);
        close(fd);
        return error;
    }
    ring->fd = fd;
    ring->flags = params.flags;
    ring->features = params.features;
    ring->sq_ring = sq;
    ring->sq_ring_size = sq_size;
    ring->cq_ring = single ? NULL : cq;
    ring->cq_ring_size = cq_size;
    ring->sqes_size = sqes_size;
    char *sqp = sq, *cqp = cq;
    ring->sq_khead = (unsigned *)(sqp + params.sq_off.head);
    ring->sq_ktail = (unsigned *)(sqp + params.sq_off.tail);
    ring->sq_kflags = (unsigned *)(sqp + params.sq_off.flags);
    ring->sq_array = (unsigned *)(sqp + params.sq_off.array);
    ring->sq_mask = *(unsigned *)(sqp + params.sq_off.ring_mask);
    ring->sq_entries = *(unsigned *)(sqp + params.sq_off.ring_entries);
    ring->sqes = sqes;
    ring->sqe_tail = *ring->sq_ktail;
    ring->cq_khead = (unsigned *)(cqp + params.cq_off.head);
    ring->cq_ktail = (unsigned *)(cqp + params.cq_off.tail);
    ring->cq_mask = *(unsigned *)(cqp + params.cq_off.ring_mask);
    ring->cq_entries = *(unsigned *)(cqp + params.cq_off.ring_entries);
    ring->cqes = (struct io_uring_cqe *)(cqp + params.cq_off.cqes);
    // The SQ array maps slot i to SQE i once and for all.
    for (unsigned i = 0; i < ring->sq_entries; i++) ring->sq_array[i] = i;
    return 0;
}

int sockit_uring_enable(struct sockit_uring *ring) {
    if (ring->flags & IORING_SETUP_R_DISABLED) {
        int result = uring_register(ring->fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
        if (result < 0) return result;
    }
    // A registered ring descriptor (per thread) saves a descriptor lookup on every
    // io_uring_enter (5.18+); without it the plain descriptor is used.
    struct io_uring_rsrc_update update;
    memset(&update, 0, sizeof update);
    update.offset = (unsigned)-1;
    update.data = (uint64_t)ring->fd;
    if (uring_register(ring->fd, IORING_REGISTER_RING_FDS, &update, 1) == 1) ring->registered_index = (int)update.offset;
    return 0;
}

int sockit_uring_setup_buffers(struct sockit_uring *ring, unsigned entries, unsigned short group) {
    size_t size = entries * sizeof(struct io_uring_buf);
    void *mapped = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mapped == MAP_FAILED) return -errno;
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uint64_t)(uintptr_t)mapped;
    reg.ring_entries = entries;
    reg.bgid = group;
    int result = uring_register(ring->fd, IORING_REGISTER_PBUF_RING, &reg, 1);
    if (result < 0) {
        munmap(mapped, size);
        return result;
    }
    ring->buf_ring = mapped;
    ring->buf_ring_size = size;
    ring->buf_mask = entries - 1;
    ring->buf_added = 0;
    ring->buf_ring->tail = 0;
    return 0;
}

void sockit_uring_exit(struct sockit_uring *ring) {
    if (ring->fd < 0) return;
    if (ring->buf_ring) munmap(ring->buf_ring, ring->buf_ring_size);
    munmap(ring->sqes, ring->sqes_size);
    if (ring->cq_ring) munmap(ring->cq_ring, ring->cq_ring_size);
    munmap(ring->sq_ring, ring->sq_ring_size);
    close(ring->fd);
    ring->fd = -1;
    ring->buf_ring = NULL;
}

int sockit_uring_submit_and_wait(struct sockit_uring *ring, unsigned wait_for) {
    unsigned submit = ring->sqe_tail - *ring->sq_ktail;
    // The SQEs' contents before the tail that publishes them.
    if (submit) __atomic_store_n(ring->sq_ktail, ring->sqe_tail, __ATOMIC_RELEASE);
    unsigned flags = wait_for ? IORING_ENTER_GETEVENTS : 0;
    int fd = ring->fd;
    if (ring->registered_index >= 0) {
        flags |= IORING_ENTER_REGISTERED_RING;
        fd = ring->registered_index;
    }
    long result = syscall(__NR_io_uring_enter, fd, submit, wait_for, flags, NULL, 0);
    return result < 0 ? -errno : (int)result;
}

int sockit_uring_enter(struct sockit_uring *ring, unsigned wait_for, long long timeout_ns) {
    unsigned submit = ring->sqe_tail - *ring->sq_ktail;
    if (submit) __atomic_store_n(ring->sq_ktail, ring->sqe_tail, __ATOMIC_RELEASE);
    unsigned flags = IORING_ENTER_GETEVENTS;
    int fd = ring->fd;
    if (ring->registered_index >= 0) {
        flags |= IORING_ENTER_REGISTERED_RING;
        fd = ring->registered_index;
    }
    if (timeout_ns == 0) wait_for = 0;
    long result;
    if (timeout_ns > 0 && wait_for > 0) {
        struct __kernel_timespec spec = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
        struct io_uring_getevents_arg arg;
        memset(&arg, 0, sizeof arg);
        arg.ts = (uint64_t)(uintptr_t)&spec;
        result = syscall(__NR_io_uring_enter, fd, submit, wait_for, flags | IORING_ENTER_EXT_ARG, &arg, sizeof arg);
    } else {
        result = syscall(__NR_io_uring_enter, fd, submit, wait_for, flags, NULL, 0);
    }
    return result < 0 ? -errno : (int)result;
}
#endif
