/* uring/backend_uring.c — the loop's io_uring backend (liburing): one ring per
 * worker; multishot accept (single-shot where the kernel lacks it); receives
 * into a provided buffer ring (plain receives where the kernel lacks one);
 * sendmsg/recvmsg with control messages for kernel TLS; one io_uring timeout
 * per worker for the timer heap (timer_heap.h);
 * splice through a pipe for sendfile under kernel TX; cancellation on close.
 *
 * The buffer ring: NBUFS x BUFSZ per worker (4 MiB) serve all of the worker's
 * connections; a receive takes a buffer only when data arrives and gives it
 * back before the next wait, so an idle connection pins no receive memory.
 *
 * Sendfile under kernel TX splices file -> pipe -> socket on the ring rather
 * than calling sendfile(2) from a thread pool of ours: io_uring already runs
 * each splice in its own workers (io-wq), so a cold disk read or a full socket
 * never stalls the loop. In the QEMU test VM (TCG, 2 vCPUs, 4 x 32 MiB) it ran at
 * the rate of sendfile(2) from the epoll loop (19 against 18-19 MiB/s; both
 * bound by emulated AES there). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <liburing.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "uring/loop.h"
#include "uring/timer_heap.h"
#include <netinet/in.h>
#include "record/dtls12.h"

#define SQ_ENTRIES 2048
#define CQ_ENTRIES 16384
#define BGID 1
#define NBUFS 256                 /* a power of two */
#define BUFSZ NK_MAX_PLAIN        /* one record's plaintext (kernel RX) */
#define PIPE_SZ (1 << 20)

/* user_data: a connection's address with the request kind in the low 3 bits,
 * or a loop-level request (payload << 3 | kind). */
#define UD(p, op) ((uint64_t)(uintptr_t)(p) | (uint64_t)(op))
enum { LL_WAKE = 0, LL_TICK = 1, LL_DGRAM = 2 };
/* The largest datagram a single-shot receive of a DTLS socket takes: a
 * record of 2^14 bytes and its protection. */
#define DGRAM_MAX (NK_MAX_CIPHER12 + NK_DTLS_HDR)

struct ub {
    struct io_uring ring;
    struct __kernel_timespec *ts;    /* one per SQE slot: read when submitted */
    struct io_uring_buf_ring *br;
    uint8_t *bufs;
    /* No buffer ring: an open connection's receive is a poll, then a
     * synchronous receive into this one buffer, so that no connection keeps
     * a buffer of its own armed while it idles. */
    uint8_t *pollbuf;
    int multishot;
    struct nk_lconn *retry;          /* receives that found no buffer */
    uint64_t wake_val;
    int tick_armed;
    int64_t tick_at;                 /* the earliest wake-up asked of the kernel */
    struct nk_theap th;              /* the connections' timers */
    struct { uint64_t ud; int res; } *fake;   /* completions we report ourselves */
    size_t n_fake, cap_fake;
    /* Requests (and cancels) no SQE could carry even after a submit: issued
     * at the next turn, in order; never dropped, so a cancel always reaches
     * the kernel and a closed connection always gets its descriptor back. */
    struct later { uint64_t ud; int cancel; } *later;
    size_t n_later, cap_later;
    int64_t tick_later;              /* a wake-up that found no SQE; 0: none */
    /* A DTLS socket (l->dg): multishot recvmsg into the buffer ring where the
     * kernel has both; else one recvmsg at a time into dg_buf. */
    int dg_multishot;
    struct msghdr dg_msg;
    struct iovec dg_iov;
    struct sockaddr_storage dg_from;
    uint8_t *dg_buf;
};

static struct io_uring_sqe *get_sqe(struct ub *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) {
        io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
    }
    return sqe;
}

/* A completion the kernel will not report (a timer replaced, a request that
 * never reached it), reported at the next round: every request ends exactly
 * once. */
/* Room for one more of n elements in a growing array. Out of memory here the
 * request accounting cannot be kept: nothing safe is left but to stop. */
static void *grow_one(void *v, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return v;
    size_t c = *cap ? *cap * 2 : 64;
    void *p = realloc(v, c * elem);
    if (!p)
        abort();
    *cap = c;
    return p;
}

static void fake(struct ub *u, uint64_t ud, int res)
{
    u->fake = grow_one(u->fake, u->n_fake, &u->cap_fake, sizeof *u->fake);
    u->fake[u->n_fake].ud = ud;
    u->fake[u->n_fake++].res = res;
}

/* No SQE even after submitting (the kernel took none: out of memory; older
 * kernels with a backlog of completions): try again at the next turn. */
static void defer(struct ub *u, uint64_t ud, int cancel)
{
    u->later = grow_one(u->later, u->n_later, &u->cap_later, sizeof *u->later);
    u->later[u->n_later].ud = ud;
    u->later[u->n_later++].cancel = cancel;
}

/* Take a deferred request back before it reached the kernel; 1 if it was there. */
static int undefer(struct ub *u, uint64_t ud)
{
    for (size_t i = 0; i < u->n_later; i++)
        if (u->later[i].ud == ud && !u->later[i].cancel) {
            memmove(u->later + i, u->later + i + 1, (u->n_later - i - 1) * sizeof *u->later);
            u->n_later--;
            return 1;
        }
    return 0;
}

/* A connection's request: outstanding from now on, in the kernel or deferred. */
#define SQE_OR_DEFER(u, sqe, lc, op)                 \
    do {                                             \
        if (!((sqe) = get_sqe(u))) {                 \
            defer(u, UD(lc, op), 0);                 \
            (lc)->be_pend |= 1u << (op);             \
            return;                                  \
        }                                            \
    } while (0)

static struct __kernel_timespec *ts_for(struct ub *u, struct io_uring_sqe *sqe, int64_t at_ms)
{
    struct __kernel_timespec *ts = &u->ts[sqe - u->ring.sq.sqes];
    ts->tv_sec = at_ms / 1000;
    ts->tv_nsec = (at_ms % 1000) * 1000000;
    return ts;
}

/* ---- requests ---- */

static void ur_recv(struct nk_lconn *lc)
{
    struct ub *u = lc->loop->bp;
    struct io_uring_sqe *sqe;
    int pool = lc->rx_buf == NULL;
    SQE_OR_DEFER(u, sqe, lc, LOP_RECV);
    size_t len = pool ? (lc->rx_len && lc->rx_len < BUFSZ ? lc->rx_len : BUFSZ) : lc->rx_len;
    if (pool && u->pollbuf)
        io_uring_prep_poll_add(sqe, lc->fd, POLLIN);
    else
        io_uring_prep_recv(sqe, lc->fd, lc->rx_buf, len, 0);
    if (pool && !u->pollbuf) {
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = BGID;
    }
    io_uring_sqe_set_data64(sqe, UD(lc, LOP_RECV));
    lc->be_pend |= 1u << LOP_RECV;
}

static void ur_send(struct nk_lconn *lc)
{
    struct ub *u = lc->loop->bp;
    struct io_uring_sqe *sqe;
    SQE_OR_DEFER(u, sqe, lc, LOP_SEND);
    io_uring_prep_sendmsg(sqe, lc->fd, &lc->tx->msg, MSG_NOSIGNAL | lc->tx->flags);
    io_uring_sqe_set_data64(sqe, UD(lc, LOP_SEND));
    lc->be_pend |= 1u << LOP_SEND;
}

static void ur_connect(struct nk_lconn *lc)
{
    struct ub *u = lc->loop->bp;
    struct io_uring_sqe *sqe;
    SQE_OR_DEFER(u, sqe, lc, LOP_CONNECT);
    io_uring_prep_connect(sqe, lc->fd, (struct sockaddr *)lc->peer, lc->peer_len);
    io_uring_sqe_set_data64(sqe, UD(lc, LOP_CONNECT));
    lc->be_pend |= 1u << LOP_CONNECT;
}

/* The kernel wakes the loop at `at` (ms, loop clock) with one io_uring
 * timeout for the whole worker. An earlier wake-up than the one armed gets a
 * request of its own; the later one then finds nothing due. */
static void ur_tick(struct nk_loop *l, int64_t at)
{
    struct ub *u = l->bp;
    struct io_uring_sqe *sqe;
    if (u->tick_armed && at >= u->tick_at)
        return;
    if (!(sqe = get_sqe(u))) {
        if (!u->tick_later || at < u->tick_later)
            u->tick_later = at;
        return;
    }
    io_uring_prep_timeout(sqe, ts_for(u, sqe, at), 0, IORING_TIMEOUT_ABS);
    io_uring_sqe_set_data64(sqe, UD((uint64_t)LL_TICK << 3, LOP_LOOP));
    u->tick_armed = 1;
    u->tick_at = at;
}

/* A connection's timer lives in the worker's heap (timer_heap.h says why),
 * one entry per connection: a later request replaces the earlier one, which
 * ends as cancelled, as each request must end exactly once. */
static void ur_timer(struct nk_lconn *lc, int64_t at)
{
    struct ub *u = lc->loop->bp;
    lc->be_at = at;
    if (lc->heap_idx >= 0) {
        fake(u, UD(lc, LOP_TIMER), -ECANCELED);
        nk_theap_fix(&u->th, (size_t)lc->heap_idx);
    } else if (nk_theap_push(&u->th, lc) < 0) {
        fake(u, UD(lc, LOP_TIMER), -ECANCELED);   /* cannot keep it */
        return;
    }
    ur_tick(lc->loop, nk_theap_next(&u->th));
}

/* Every connection timer that is due fires; the kernel is asked to wake the
 * loop for the next one. */
static void fire_due(struct nk_loop *l)
{
    struct ub *u = l->bp;
    struct nk_lconn *lc;
    while ((lc = nk_theap_pop_due(&u->th, l->now)))
        nk_loop_done(lc, LOP_TIMER, -ETIME, NULL);
    if (u->th.n)
        ur_tick(l, nk_theap_next(&u->th));
}

/* One step of a file range. Software: read a chunk. Kernel TX: splice file ->
 * pipe, then pipe -> socket until the pipe is empty; the kernel frames and
 * encrypts, no file byte enters userspace. */
static void file_op(struct nk_lconn *lc)
{
    struct ub *u = lc->loop->bp;
    struct lc_file *f = lc->file;
    struct io_uring_sqe *sqe;
    SQE_OR_DEFER(u, sqe, lc, LOP_FILE);
    if (!lc->c->ktls_tx)
        io_uring_prep_read(sqe, f->fd, f->buf, (unsigned)f->chunk, (uint64_t)f->off);
    else if (f->to_sock)
        io_uring_prep_splice(sqe, f->pipe[0], -1, lc->fd, -1, (unsigned)f->in_pipe, 0);
    else
        io_uring_prep_splice(sqe, f->fd, f->off, f->pipe[1], -1, (unsigned)f->chunk, 0);
    io_uring_sqe_set_data64(sqe, UD(lc, LOP_FILE));
    lc->be_pend |= 1u << LOP_FILE;
}

static void ur_file(struct nk_lconn *lc)
{
    struct lc_file *f = lc->file;
    f->sock_err = 0;
    f->to_sock = 0;
    f->in_pipe = 0;
    if (lc->c->ktls_tx && f->pipe[0] < 0) {
        if (pipe2(f->pipe, O_CLOEXEC) < 0) {
            f->pipe[0] = f->pipe[1] = -1;
            fake(lc->loop->bp, UD(lc, LOP_FILE), -errno);
            lc->be_pend |= 1u << LOP_FILE;
            return;
        }
        (void)!fcntl(f->pipe[1], F_SETPIPE_SZ, PIPE_SZ);   /* fewer round trips; optional */
    }
    if (lc->c->ktls_tx) {
        int cap = fcntl(f->pipe[1], F_GETPIPE_SZ);
        if (cap > 0 && f->chunk > (size_t)cap)
            f->chunk = (size_t)cap;
    }
    file_op(lc);
}

/* A splice finished: res bytes into the pipe (first half) or onto the socket. */
static int file_progress(struct nk_lconn *lc, int res)
{
    struct lc_file *f = lc->file;
    if (lc->cancelled && res >= 0)
        res = -ECANCELED;   /* closing: start no further splice */
    if (!lc->c->ktls_tx || !f || res <= 0) {
        if (f && f->to_sock && res < 0)
            f->sock_err = 1;
        return res;
    }
    if (!f->to_sock) {
        f->in_pipe = (size_t)res;
        f->chunk = (size_t)res;
        f->to_sock = 1;
        file_op(lc);
        return INT32_MIN;   /* not finished */
    }
    f->in_pipe -= (size_t)res;
    if (f->in_pipe) {
        file_op(lc);
        return INT32_MIN;
    }
    return (int)f->chunk;
}

static int unlist_retry(struct ub *u, struct nk_lconn *lc)
{
    for (struct nk_lconn **pp = &u->retry; *pp; pp = &(*pp)->be_next)
        if (*pp == lc) {
            *pp = lc->be_next;
            return 1;
        }
    return 0;
}

static void ur_cancel(struct nk_lconn *lc)
{
    struct ub *u = lc->loop->bp;
    if (unlist_retry(u, lc)) {   /* waiting for a buffer: not in the kernel */
        lc->be_pend &= ~(1u << LOP_RECV);
        fake(u, UD(lc, LOP_RECV), -ECANCELED);
    }
    for (int op = LOP_RECV; op <= LOP_FILE; op++) {
        struct io_uring_sqe *sqe;
        if (op == LOP_TIMER || !(lc->be_pend & (1u << op)))
            continue;
        if (undefer(u, UD(lc, op))) {   /* never reached the kernel */
            lc->be_pend &= ~(1u << op);
            fake(u, UD(lc, op), -ECANCELED);
        } else if (!(sqe = get_sqe(u))) {
            defer(u, UD(lc, op), 1);     /* a skipped cancel would keep the fd */
        } else {
            io_uring_prep_cancel64(sqe, UD(lc, op), 0);
            io_uring_sqe_set_data64(sqe, UD(0, LOP_NONE));
        }
    }
    if (lc->heap_idx >= 0) {
        nk_theap_remove(&u->th, lc);
        fake(u, UD(lc, LOP_TIMER), -ECANCELED);
    }
}

static void ur_forget(struct nk_lconn *lc)
{
    struct ub *u = lc->loop->bp;
    if (u)
        (void)unlist_retry(u, lc);
    if (u && lc->heap_idx >= 0)
        nk_theap_remove(&u->th, lc);
}

/* ---- a DTLS socket's datagrams ---- */

#define DGRAM_UD UD((uint64_t)LL_DGRAM << 3, LOP_LOOP)

static void recycle(struct ub *u, unsigned flags);

static void dgram_prep(struct nk_loop *l)
{
    struct ub *u = l->bp;
    struct io_uring_sqe *sqe = get_sqe(u);
    if (!sqe) {
        defer(u, DGRAM_UD, 0);
        return;
    }
    memset(&u->dg_msg, 0, sizeof u->dg_msg);
    if (u->dg_multishot) {
        /* Each buffer: struct io_uring_recvmsg_out, the name, the payload. */
        u->dg_msg.msg_namelen = sizeof(struct sockaddr_in6);   /* a longer one is no peer of ours */
        io_uring_prep_recvmsg_multishot(sqe, l->lfds[0], &u->dg_msg, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = BGID;
    } else {
        u->dg_iov.iov_base = u->dg_buf;
        u->dg_iov.iov_len = DGRAM_MAX;
        u->dg_msg.msg_iov = &u->dg_iov;
        u->dg_msg.msg_iovlen = 1;
        u->dg_msg.msg_name = &u->dg_from;
        u->dg_msg.msg_namelen = sizeof u->dg_from;
        io_uring_prep_recvmsg(sqe, l->lfds[0], &u->dg_msg, 0);
    }
    io_uring_sqe_set_data64(sqe, DGRAM_UD);
}

/* A datagram in a buffer of the ring (multishot): its source and payload. */
static void dgram_from_ring(struct nk_loop *l, struct ub *u, int res, unsigned flags)
{
    uint8_t *buf = u->bufs + (size_t)(flags >> IORING_CQE_BUFFER_SHIFT) * BUFSZ;
    struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, res, &u->dg_msg);
    if (o && !(o->flags & MSG_TRUNC) && o->namelen <= u->dg_msg.msg_namelen)
        nk_loop_dgram(l, io_uring_recvmsg_payload(o, &u->dg_msg),
                      io_uring_recvmsg_payload_length(o, res, &u->dg_msg),
                      io_uring_recvmsg_name(o), o->namelen);
    recycle(u, flags);
}

static void on_dgram(struct nk_loop *l, int res, unsigned flags)
{
    struct ub *u = l->bp;
    if (!(flags & IORING_CQE_F_MORE))
        l->accepts_armed--;
    if (res >= 0 && (flags & IORING_CQE_F_BUFFER))
        dgram_from_ring(l, u, res, flags);
    else if (res >= 0 && !u->dg_multishot && !(u->dg_msg.msg_flags & MSG_TRUNC))
        nk_loop_dgram(l, u->dg_buf, (size_t)res, (struct sockaddr *)&u->dg_from, u->dg_msg.msg_namelen);
    else if (res == -EINVAL && u->dg_multishot)
        u->dg_multishot = 0;   /* the kernel has no multishot recvmsg: one at a time */
    /* -ENOBUFS: every ring buffer was taken; they are back by now. */
    if (!(flags & IORING_CQE_F_MORE) && res != -ECANCELED && !l->stopping) {
        l->accepts_armed++;
        dgram_prep(l);
    }
}

/* ---- listeners ---- */

static void accept_prep(struct nk_loop *l, int idx)
{
    struct ub *u = l->bp;
    struct io_uring_sqe *sqe = get_sqe(u);
    if (!sqe) {
        defer(u, UD((uint64_t)idx << 3, LOP_ACCEPT), 0);
        return;
    }
    if (u->multishot)
        io_uring_prep_multishot_accept(sqe, l->lfds[idx], NULL, NULL, SOCK_CLOEXEC);
    else
        io_uring_prep_accept(sqe, l->lfds[idx], NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, UD((uint64_t)idx << 3, LOP_ACCEPT));
}

static void ur_accept(struct nk_loop *l, int idx)
{
    if (l->dg)
        dgram_prep(l);
    else
        accept_prep(l, idx);
    l->accepts_armed++;   /* in the kernel or deferred */
}

static void ur_stop_accept(struct nk_loop *l)
{
    struct ub *u = l->bp;
    for (int i = 0; i < l->n_lfds; i++) {
        struct io_uring_sqe *sqe;
        uint64_t ud = l->dg ? DGRAM_UD : UD((uint64_t)i << 3, LOP_ACCEPT);
        if (undefer(u, ud)) {
            l->accepts_armed--;
            continue;
        }
        if (!(sqe = get_sqe(u))) {
            defer(u, ud, 1);
            continue;
        }
        io_uring_prep_cancel64(sqe, ud, 0);
        io_uring_sqe_set_data64(sqe, UD(0, LOP_NONE));
    }
}

static void on_accept(struct nk_loop *l, int idx, int res, unsigned flags)
{
    struct ub *u = l->bp;
    int more = flags & IORING_CQE_F_MORE;
    if (!more)
        l->accepts_armed--;
    if (res >= 0) {
        nk_loop_accepted(l, res);
    } else if (res == -ECANCELED || l->stopping) {
        return;
    } else if (res == -EINVAL && u->multishot) {
        u->multishot = 0;   /* the probe said yes, this listener says no */
    } else if (nk_loop_accept_error(l, -res)) {
        return;             /* paused: nk_loop_tick re-arms */
    }
    if (!more && !l->stopping)
        ur_accept(l, idx);
}

/* ---- completions ---- */

static void arm_wake(struct nk_loop *l)
{
    struct ub *u = l->bp;
    struct io_uring_sqe *sqe = get_sqe(u);
    if (!sqe) {
        defer(u, UD((uint64_t)LL_WAKE << 3, LOP_LOOP), 0);
        return;
    }
    io_uring_prep_read(sqe, l->wake_fd, &u->wake_val, sizeof u->wake_val, 0);
    io_uring_sqe_set_data64(sqe, UD((uint64_t)LL_WAKE << 3, LOP_LOOP));
}

static void recycle(struct ub *u, unsigned flags)
{
    unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
    io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * BUFSZ, BUFSZ, (unsigned short)bid,
                          io_uring_buf_ring_mask(NBUFS), 0);
    io_uring_buf_ring_advance(u->br, 1);
}

/* The socket polled readable: receive what is there. 1 when it was nothing
 * after all (the poll is armed again). */
static int poll_recv(struct ub *u, struct nk_lconn *lc, int *res)
{
    size_t len = lc->rx_len && lc->rx_len < BUFSZ ? lc->rx_len : BUFSZ;
    ssize_t n = recv(lc->fd, u->pollbuf, len, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        ur_recv(lc);
        return 1;
    }
    *res = n < 0 ? -errno : (int)n;
    return 0;
}

static void on_conn(struct ub *u, struct nk_lconn *lc, int op, int res, unsigned flags)
{
    const uint8_t *buf = NULL;
    if (op == LOP_RECV && u->pollbuf && !lc->rx_buf && res >= 0 && !lc->cancelled) {
        if (poll_recv(u, lc, &res))
            return;
        buf = u->pollbuf;
    }
    if (op == LOP_RECV && res == -ENOBUFS && !lc->cancelled) {
        /* Every buffer was taken this round; they are all back by the next. */
        lc->be_next = u->retry;
        u->retry = lc;
        return;
    }
    if (op != LOP_TIMER)
        lc->be_pend &= ~(1u << op);
    if (op == LOP_FILE && (res = file_progress(lc, res)) == INT32_MIN) {
        lc->be_pend |= 1u << LOP_FILE;
        return;
    }
    if (flags & IORING_CQE_F_BUFFER)
        buf = u->bufs + (size_t)(flags >> IORING_CQE_BUFFER_SHIFT) * BUFSZ;
    if (op == LOP_RECV && u->pollbuf && !lc->rx_buf && res >= 0 && !buf)
        res = -ECANCELED;   /* a poll that ended while closing: nothing was read */
    nk_loop_done(lc, (enum lc_op)op, res, buf);
    if (flags & IORING_CQE_F_BUFFER)
        recycle(u, flags);
}

static void dispatch(struct nk_loop *l, uint64_t ud, int res, unsigned flags)
{
    struct ub *u = l->bp;
    int op = (int)(ud & 7);
    switch (op) {
    case LOP_NONE:
        return;
    case LOP_ACCEPT:
        on_accept(l, (int)(ud >> 3), res, flags);
        return;
    case LOP_LOOP:
        if ((ud >> 3) == LL_TICK) {
            u->tick_armed = 0;
            nk_loop_tick(l);
        } else if ((ud >> 3) == LL_DGRAM) {
            on_dgram(l, res, flags);
        } else {
            arm_wake(l);
        }
        return;
    default:
        on_conn(u, (struct nk_lconn *)(uintptr_t)(ud & ~(uint64_t)7), op, res, flags);
    }
}

/* A deferred request, again: the issuing function reads the connection's
 * state now, as it would have then. */
static void reissue(struct nk_loop *l, struct later e)
{
    struct ub *u = l->bp;
    int op = (int)(e.ud & 7);
    struct nk_lconn *lc = (struct nk_lconn *)(uintptr_t)(e.ud & ~(uint64_t)7);
    struct io_uring_sqe *sqe;
    if (e.cancel) {
        int gone = op == LOP_ACCEPT || op == LOP_LOOP ? 0 : !(lc->be_pend & (1u << op));
        if (gone)
            return;   /* it completed meanwhile */
        if (!(sqe = get_sqe(u))) {
            defer(u, e.ud, 1);
            return;
        }
        io_uring_prep_cancel64(sqe, e.ud, 0);
        io_uring_sqe_set_data64(sqe, UD(0, LOP_NONE));
        return;
    }
    switch (op) {
    case LOP_LOOP:
        if ((e.ud >> 3) == LL_DGRAM)
            dgram_prep(l);
        else
            arm_wake(l);
        break;
    case LOP_ACCEPT: accept_prep(l, (int)(e.ud >> 3)); break;
    case LOP_RECV: ur_recv(lc); break;
    case LOP_SEND: ur_send(lc); break;
    case LOP_CONNECT: ur_connect(lc); break;
    case LOP_FILE: file_op(lc); break;
    default: break;
    }
}

static void issue_deferred(struct nk_loop *l)
{
    struct ub *u = l->bp;
    size_t n = u->n_later;   /* those deferred again go behind */
    for (size_t i = 0; i < n; i++)
        reissue(l, u->later[i]);
    if (n) {
        memmove(u->later, u->later + n, (u->n_later - n) * sizeof *u->later);
        u->n_later -= n;
    }
    if (u->tick_later) {
        int64_t at = u->tick_later;
        u->tick_later = 0;
        ur_tick(l, at);
    }
}

static void resubmit(struct nk_loop *l)
{
    struct ub *u = l->bp;
    struct nk_lconn *lc = u->retry;
    issue_deferred(l);
    u->retry = NULL;
    while (lc) {
        struct nk_lconn *next = lc->be_next;
        ur_recv(lc);
        lc = next;
    }
    size_t n = u->n_fake;
    for (size_t i = 0; i < n && i < u->n_fake; i++)
        dispatch(l, u->fake[i].ud, u->fake[i].res, 0);
    if (n) {
        memmove(u->fake, u->fake + n, (u->n_fake - n) * sizeof *u->fake);
        u->n_fake -= n;
    }
}

static MSTATUS ur_wait(struct nk_loop *l)
{
    struct ub *u = l->bp;
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    resubmit(l);
    /* Completions reported before the wait (fake ones) leave work for the loop. */
    int r = io_uring_submit_and_wait(&u->ring,
                                     l->kick_head || u->n_fake || u->retry || u->n_later || u->tick_later ? 0 : 1);
    if (r < 0 && r != -EINTR && r != -EBUSY && r != -EAGAIN && r != -ETIME)
        return ERR_GENERAL;
    l->now = nk_loop_clock();
    io_uring_for_each_cqe(&u->ring, head, cqe) {
        dispatch(l, cqe->user_data, cqe->res, cqe->flags);
        n++;
    }
    io_uring_cq_advance(&u->ring, n);
    fire_due(l);
    return OK;
}

/* ---- set-up ---- */

/* Newest flags first: each is a saving where the kernel has it (SINGLE_ISSUER
 * and DEFER_TASKRUN: completions are processed only when we wait, on our
 * thread; COOP_TASKRUN: no inter-processor interrupts for task work). */
static int ring_setup(struct io_uring *ring)
{
    static const unsigned sets[] = {
        IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER
            | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int r = -EINVAL;
    for (size_t i = 0; i < NK_ARRAY_LEN(sets) && r == -EINVAL; i++) {
        struct io_uring_params p = { .flags = sets[i] | IORING_SETUP_CQSIZE, .cq_entries = CQ_ENTRIES };
        r = io_uring_queue_init_params(SQ_ENTRIES, ring, &p);
    }
    return r;
}

static int bufring_setup(struct ub *u)
{
    size_t rsz = NBUFS * sizeof(struct io_uring_buf);
    void *r = mmap(NULL, rsz, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    void *b = mmap(NULL, (size_t)NBUFS * BUFSZ, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    struct io_uring_buf_reg reg = { .ring_addr = (uintptr_t)r, .ring_entries = NBUFS, .bgid = BGID };
    int rc = r == MAP_FAILED || b == MAP_FAILED ? -ENOMEM : io_uring_register_buf_ring(&u->ring, &reg, 0);
    if (rc < 0) {
        if (r != MAP_FAILED)
            munmap(r, rsz);
        if (b != MAP_FAILED)
            munmap(b, (size_t)NBUFS * BUFSZ);
        return rc;
    }
    u->br = r;
    u->bufs = b;
    io_uring_buf_ring_init(u->br);
    for (unsigned i = 0; i < NBUFS; i++)
        io_uring_buf_ring_add(u->br, u->bufs + (size_t)i * BUFSZ, BUFSZ, (unsigned short)i,
                              io_uring_buf_ring_mask(NBUFS), (int)i);
    io_uring_buf_ring_advance(u->br, NBUFS);
    return 0;
}

static void ur_fini(struct nk_loop *l)
{
    struct ub *u = l->bp;
    if (!u)
        return;
    io_uring_queue_exit(&u->ring);
    if (u->br)
        munmap(u->br, NBUFS * sizeof(struct io_uring_buf));
    if (u->bufs)
        munmap(u->bufs, (size_t)NBUFS * BUFSZ);
    free(u->ts);
    free(u->pollbuf);
    free(u->dg_buf);
    free(u->fake);
    free(u->later);
    free(u->th.v);
    free(u);
    l->bp = NULL;
}

static MSTATUS ur_init(struct nk_loop *l, char *why, size_t why_len)
{
    struct ub *u = calloc(1, sizeof *u);
    NK_CHECK(u, ERR_MEM_ALLOC_FAIL);
    int r = ring_setup(&u->ring);
    if (r < 0) {
        snprintf(why, why_len, "io_uring_setup: %s", strerror(-r));
        free(u);
        return ERR_NOT_SUPPORTED;
    }
    l->bp = u;
    u->ts = calloc(u->ring.sq.ring_entries, sizeof *u->ts);
    if (!u->ts) {
        ur_fini(l);
        return ERR_MEM_ALLOC_FAIL;
    }
    u->multishot = l->srv->ur_multishot;
    if (!(l->srv->ur_bufring && bufring_setup(u) == 0) && !(u->pollbuf = malloc(BUFSZ))) {
        ur_fini(l);
        return ERR_MEM_ALLOC_FAIL;
    }
    l->be_pool = 1;
    u->dg_multishot = u->multishot && u->br;
    if (l->dg && !(u->dg_buf = malloc(DGRAM_MAX))) {
        ur_fini(l);
        return ERR_MEM_ALLOC_FAIL;
    }
    arm_wake(l);
    return OK;
}

const struct nk_backend nk_backend_uring = {
    .name = "io_uring",
    .init = ur_init,
    .fini = ur_fini,
    .accept = ur_accept,
    .stop_accept = ur_stop_accept,
    .recv = ur_recv,
    .send = ur_send,
    .connect = ur_connect,
    .timer = ur_timer,
    .file = ur_file,
    .cancel = ur_cancel,
    .forget = ur_forget,
    .tick = ur_tick,
    .wait = ur_wait,
};

/* For the probe (uring_probe.c): whether this kernel takes a provided buffer
 * ring of the size the backend registers. */
int nk_uring_bufring_works(struct io_uring *ring)
{
    struct ub u = { .ring = *ring };
    if (bufring_setup(&u) < 0)
        return 0;
    io_uring_unregister_buf_ring(ring, BGID);
    munmap(u.br, NBUFS * sizeof(struct io_uring_buf));
    munmap(u.bufs, (size_t)NBUFS * BUFSZ);
    return 1;
}
