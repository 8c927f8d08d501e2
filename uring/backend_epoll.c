/* uring/backend_epoll.c — the loop's backend where io_uring is unavailable:
 * non-blocking sockets, edge-triggered epoll, and a binary heap of timers. It
 * emulates completions (loop.h): a request is attempted when its socket is
 * ready and reported once through nk_loop_done. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <unistd.h>
#include "uring/loop.h"
#include "uring/timer_heap.h"

/* be_pend: requests waiting, and bookkeeping. */
enum { P_RECV = 1, P_SEND = 2, P_CONNECT = 4, P_FILE = 8, P_TIMER = 16,
       P_QUEUED = 32, P_CANCEL = 64, P_CONNECTING = 128 };
/* be_ready: what the socket last showed, and whether it is registered. */
/* R_HUP: the peer's end (FIN, RST, error) was signalled: a short read then
 * does not mean drained — what follows the data is still to be read, and no
 * new edge will come for it. */
enum { R_IN = 1, R_OUT = 2, R_REG = 4, R_HUP = 8 };

#define EV_WAKE 1          /* epoll_data.u64 below 4096: not a connection */
#define EV_LISTEN 2        /* + listener index */
#define POOL_LEN (64 * 1024)
#define ACCEPT_BATCH 64    /* per wake-up and listener: other work gets a turn */

struct eb {
    int ep;
    struct nk_theap th;
    struct nk_lconn *queued;
    uint8_t *pool;
    int64_t tick_at;
    uint8_t *acc_again;     /* per listener: accept again without waiting */
    uint8_t *acc_reg;
    int dg_blocked;         /* a DTLS peer's send found the UDP socket full */
};

/* ---- requests ---- */

static void queue_work(struct nk_lconn *lc, unsigned bit)
{
    struct eb *b = lc->loop->bp;
    lc->be_pend |= bit;
    if (lc->be_pend & P_QUEUED)
        return;
    lc->be_pend |= P_QUEUED;
    lc->be_next = b->queued;
    b->queued = lc;
}

static void ep_recv(struct nk_lconn *lc) { queue_work(lc, P_RECV); }
static void ep_send(struct nk_lconn *lc) { queue_work(lc, P_SEND); }
static void ep_connect(struct nk_lconn *lc) { queue_work(lc, P_CONNECT); }
static void ep_file(struct nk_lconn *lc) { queue_work(lc, P_FILE); }
static void ep_cancel(struct nk_lconn *lc) { queue_work(lc, P_CANCEL); }

static void ep_timer(struct nk_lconn *lc, int64_t at)
{
    struct eb *b = lc->loop->bp;
    if (lc->be_pend & P_TIMER) {
        /* One heap entry per connection: the earlier request ends as cancelled. */
        lc->be_tdone++;
        queue_work(lc, 0);
        lc->be_at = at;
        nk_theap_fix(&b->th, (size_t)lc->heap_idx);
        return;
    }
    lc->be_at = at;
    if (nk_theap_push(&b->th, lc) < 0) {
        lc->be_tdone++;     /* cannot keep it: report it as cancelled */
        queue_work(lc, 0);
        return;
    }
    lc->be_pend |= P_TIMER;
}

static void ep_tick(struct nk_loop *l, int64_t at)
{
    struct eb *b = l->bp;
    if (!b->tick_at || at < b->tick_at)
        b->tick_at = at;
}

static int ensure_reg(struct nk_lconn *lc, unsigned ready)
{
    struct eb *b = lc->loop->bp;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = lc };
    if (lc->be_ready & R_REG)
        return 0;
    if (epoll_ctl(b->ep, EPOLL_CTL_ADD, lc->fd, &ev) < 0)
        return -errno;
    lc->be_ready = R_REG | ready;
    return 0;
}

static void done(struct nk_lconn *lc, unsigned bit, enum lc_op op, ssize_t res, const uint8_t *buf)
{
    lc->be_pend &= ~bit;
    nk_loop_done(lc, op, res, buf);
}

static void try_recv(struct eb *b, struct nk_lconn *lc)
{
    uint8_t *buf = lc->rx_buf ? lc->rx_buf : b->pool;
    size_t len = lc->rx_buf || (lc->rx_len && lc->rx_len < POOL_LEN) ? lc->rx_len : POOL_LEN;
    ssize_t n = recv(lc->fd, buf, len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        lc->be_ready &= errno == EINTR ? ~0u : ~(unsigned)R_IN;
        return;
    }
    /* A short plain read drained the socket (a kernel-TLS read stops at each
     * record instead, and a UDP read at each datagram, with more perhaps
     * queued behind it); data arriving later raises a new edge. */
    if (n > 0 && (size_t)n < len && lc->recv_mode != LRECV_KTLS && !lc->dgram && !(lc->be_ready & R_HUP))
        lc->be_ready &= ~(unsigned)R_IN;
    done(lc, P_RECV, LOP_RECV, n < 0 ? -errno : n, lc->rx_buf ? NULL : buf);
}

static void try_send(struct nk_lconn *lc)
{
    ssize_t n = sendmsg(lc->fd, &lc->tx->msg, MSG_NOSIGNAL | lc->tx->flags);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        lc->be_ready &= errno == EINTR ? ~0u : ~(unsigned)R_OUT;
        return;
    }
    done(lc, P_SEND, LOP_SEND, n < 0 ? -errno : n, NULL);
}

static void try_connect(struct nk_lconn *lc)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (!(lc->be_pend & P_CONNECTING)) {
        int r = connect(lc->fd, (struct sockaddr *)lc->peer, lc->peer_len);
        if (r == 0 || errno != EINPROGRESS) {
            err = r == 0 ? 0 : errno;
            r = err ? -err : ensure_reg(lc, R_IN | R_OUT);
            done(lc, P_CONNECT, LOP_CONNECT, err ? -err : r, NULL);
            return;
        }
        lc->be_pend |= P_CONNECTING;
        if ((err = ensure_reg(lc, 0)) < 0) {
            lc->be_pend &= ~(unsigned)P_CONNECTING;
            done(lc, P_CONNECT, LOP_CONNECT, err, NULL);
        }
        return;
    }
    if (!(lc->be_ready & R_OUT))
        return;
    lc->be_pend &= ~(unsigned)P_CONNECTING;
    if (getsockopt(lc->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    lc->be_ready |= R_IN;   /* whatever already arrived gets read */
    done(lc, P_CONNECT, LOP_CONNECT, err ? -err : 0, NULL);
}

static void try_file(struct nk_lconn *lc)
{
    struct lc_file *f = lc->file;
    ssize_t n;
    if (lc->c->ktls_tx) {
        /* Kernel TX: sendfile(2) on the non-blocking socket moves what fits. */
        if (!(lc->be_ready & R_OUT))
            return;
        off_t off = (off_t)f->off;
        n = sendfile(lc->fd, f->fd, &off, f->chunk);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            lc->be_ready &= errno == EINTR ? ~0u : ~(unsigned)R_OUT;
            return;
        }
        f->sock_err = n < 0 && (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN);
    } else {
        /* Software: page-cache reads are quick; a cold disk read would stall
         * this worker for its duration (io_uring reads on the ring instead). */
        do
            n = pread(f->fd, f->buf, f->chunk, (off_t)f->off);
        while (n < 0 && errno == EINTR);
    }
    done(lc, P_FILE, LOP_FILE, n < 0 ? -errno : n, NULL);
}

static void cancel_all(struct eb *b, struct nk_lconn *lc)
{
    static const struct { unsigned bit; enum lc_op op; } ops[] = {
        { P_RECV, LOP_RECV }, { P_SEND, LOP_SEND }, { P_CONNECT, LOP_CONNECT }, { P_FILE, LOP_FILE },
    };
    lc->be_pend &= ~(unsigned)(P_CANCEL | P_CONNECTING);
    for (size_t i = 0; i < NK_ARRAY_LEN(ops); i++)
        if (lc->be_pend & ops[i].bit)
            done(lc, ops[i].bit, ops[i].op, -ECANCELED, NULL);
    if (lc->be_pend & P_TIMER) {
        nk_theap_remove(&b->th, lc);
        done(lc, P_TIMER, LOP_TIMER, -ECANCELED, NULL);
    }
}

/* A DTLS peer's datagram, on the worker's UDP socket (registered as its
 * listener): sent now, or, the socket's buffer being full, when the socket
 * shows EPOLLOUT (wake_dgram_senders). */
static void try_send_dgram(struct eb *b, struct nk_lconn *lc)
{
    ssize_t n = sendmsg(lc->fd, &lc->tx->msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) {
        queue_work(lc, 0);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        b->dg_blocked = 1;
        return;
    }
    done(lc, P_SEND, LOP_SEND, n < 0 ? -errno : n, NULL);
}

static void wake_dgram_senders(struct nk_loop *l, struct eb *b)
{
    if (!b->dg_blocked)
        return;
    b->dg_blocked = 0;
    for (struct nk_lconn *lc = l->conns; lc; lc = lc->next)
        if (lc->shared_fd && (lc->be_pend & P_SEND) && !(lc->be_pend & P_QUEUED))
            queue_work(lc, 0);
}

/* Attempt whatever lc has waiting that its socket allows. */
static void attempt(struct eb *b, struct nk_lconn *lc)
{
    while (lc->be_tdone) {
        lc->be_tdone--;
        nk_loop_done(lc, LOP_TIMER, -ECANCELED, NULL);
    }
    if (lc->be_pend & P_CANCEL) {
        cancel_all(b, lc);
        return;
    }
    if (lc->be_pend & P_CONNECT) {
        try_connect(lc);
        return;
    }
    if (lc->shared_fd) {   /* no socket of its own: no receive, no registration */
        if (lc->be_pend & P_SEND)
            try_send_dgram(b, lc);
        return;
    }
    if (ensure_reg(lc, R_IN | R_OUT) < 0) {
        if (lc->be_pend & P_RECV)
            done(lc, P_RECV, LOP_RECV, -EBADF, NULL);
        return;
    }
    if ((lc->be_pend & P_RECV) && (lc->be_ready & R_IN))
        try_recv(b, lc);
    if ((lc->be_pend & P_SEND) && (lc->be_ready & R_OUT))
        try_send(lc);
    if (lc->be_pend & P_FILE)
        try_file(lc);
}

/* Freed while still listed (its requests finished from an event first). */
static void ep_forget(struct nk_lconn *lc)
{
    struct eb *b = lc->loop->bp;
    if (!b || !(lc->be_pend & P_QUEUED))
        return;
    for (struct nk_lconn **pp = &b->queued; *pp; pp = &(*pp)->be_next)
        if (*pp == lc) {
            *pp = lc->be_next;
            break;
        }
    lc->be_pend &= ~(unsigned)P_QUEUED;
}

static void run_queued(struct eb *b)
{
    struct nk_lconn *lc = b->queued;
    b->queued = NULL;
    while (lc) {
        struct nk_lconn *next = lc->be_next;
        lc->be_pend &= ~(unsigned)P_QUEUED;
        attempt(b, lc);
        lc = next;
    }
}

/* ---- listeners ---- */

static void ep_accept(struct nk_loop *l, int idx)
{
    struct eb *b = l->bp;
    if (!b->acc_reg[idx]) {
        struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = EV_LISTEN + (uint64_t)idx };
        if (l->dg)   /* a DTLS socket: its peers' sends wait for room on it */
            ev.events |= EPOLLOUT;
        /* A socket every worker accepts on wakes one of them, not all. */
        if (l->shared_listener)
            ev.events |= EPOLLEXCLUSIVE;
        if (epoll_ctl(b->ep, EPOLL_CTL_ADD, l->lfds[idx], &ev) < 0)
            return;
        b->acc_reg[idx] = 1;
        l->accepts_armed++;
    }
    b->acc_again[idx] = 1;   /* the queue may hold connections already */
}

static void ep_stop_accept(struct nk_loop *l)
{
    struct eb *b = l->bp;
    for (int i = 0; i < l->n_lfds; i++) {
        if (b->acc_reg[i])
            epoll_ctl(b->ep, EPOLL_CTL_DEL, l->lfds[i], NULL);
        b->acc_reg[i] = b->acc_again[i] = 0;
    }
    l->accepts_armed = 0;
}

/* A DTLS socket's datagrams, a batch at a time, each with its source. */
static void dgram_some(struct nk_loop *l, int idx)
{
    struct eb *b = l->bp;
    b->acc_again[idx] = 0;
    for (int n = 0; n < ACCEPT_BATCH && b->acc_reg[idx] && !l->stopping; n++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(l->lfds[idx], b->pool, POOL_LEN, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from, &fl);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)   /* drained (or failing: the next edge says when to look again) */
            return;
        if (r <= POOL_LEN)   /* a longer one arrived truncated: dropped */
            nk_loop_dgram(l, b->pool, (size_t)r, (struct sockaddr *)&from, fl);
    }
    b->acc_again[idx] = b->acc_reg[idx];
}

static void accept_some(struct nk_loop *l, int idx)
{
    struct eb *b = l->bp;
    if (l->dg) {
        dgram_some(l, idx);
        return;
    }
    b->acc_again[idx] = 0;
    for (int n = 0; n < ACCEPT_BATCH && b->acc_reg[idx] && !l->stopping; n++) {
        int fd = accept4(l->lfds[idx], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            nk_loop_accepted(l, fd);
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (nk_loop_accept_error(l, errno))
            return;   /* paused: nk_loop_tick re-arms */
    }
    b->acc_again[idx] = b->acc_reg[idx];
}

/* ---- the backend ---- */

static int64_t next_timeout(struct nk_loop *l, struct eb *b)
{
    int64_t at = nk_theap_next(&b->th);
    if (b->tick_at && (!at || b->tick_at < at))
        at = b->tick_at;
    for (int i = 0; i < l->n_lfds; i++)
        if (b->acc_again[i])
            return 0;
    if (b->queued || l->kick_head)   /* completions reported before the wait */
        return 0;
    if (!at)
        return -1;
    int64_t left = at - nk_loop_clock();
    return left < 0 ? 0 : left > 60000 ? 60000 : left;
}

static void dispatch(struct nk_loop *l, struct eb *b, const struct epoll_event *ev)
{
    if (ev->data.u64 == EV_WAKE) {
        uint64_t v;
        (void)!read(l->wake_fd, &v, sizeof v);
    } else if (ev->data.u64 < 4096) {
        if (l->dg && (ev->events & EPOLLOUT))
            wake_dgram_senders(l, b);
        if (!l->dg || (ev->events & (EPOLLIN | EPOLLERR)))
            accept_some(l, (int)(ev->data.u64 - EV_LISTEN));
    } else {
        struct nk_lconn *lc = ev->data.ptr;
        if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            lc->be_ready |= R_IN;
        if (ev->events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            lc->be_ready |= R_HUP;
        if (ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            lc->be_ready |= R_OUT;
        attempt(b, lc);
    }
}

static MSTATUS ep_wait(struct nk_loop *l)
{
    struct eb *b = l->bp;
    struct epoll_event evs[256];
    run_queued(b);
    for (int i = 0; i < l->n_lfds; i++)
        if (b->acc_again[i])
            accept_some(l, i);
    int n = epoll_wait(b->ep, evs, (int)NK_ARRAY_LEN(evs), (int)next_timeout(l, b));
    if (n < 0 && errno != EINTR)
        return ERR_GENERAL;
    l->now = nk_loop_clock();
    for (int i = 0; i < n; i++)
        dispatch(l, b, &evs[i]);
    struct nk_lconn *due;
    while ((due = nk_theap_pop_due(&b->th, l->now)))
        done(due, P_TIMER, LOP_TIMER, -ETIME, NULL);
    if (b->tick_at && b->tick_at <= l->now) {
        b->tick_at = 0;
        nk_loop_tick(l);
    }
    return OK;
}

static void ep_fini(struct nk_loop *l)
{
    struct eb *b = l->bp;
    if (!b)
        return;
    if (b->ep >= 0)
        close(b->ep);
    free(b->th.v);
    free(b->pool);
    free(b->acc_again);
    free(b->acc_reg);
    free(b);
    l->bp = NULL;
}

static MSTATUS ep_init(struct nk_loop *l, char *why, size_t why_len)
{
    struct eb *b = calloc(1, sizeof *b);
    NK_CHECK(b, ERR_MEM_ALLOC_FAIL);
    l->bp = b;
    b->ep = epoll_create1(EPOLL_CLOEXEC);
    b->pool = malloc(POOL_LEN);
    b->acc_again = calloc((size_t)l->n_lfds + 1, 1);
    b->acc_reg = calloc((size_t)l->n_lfds + 1, 1);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_WAKE };
    if (b->ep < 0 || !b->pool || !b->acc_again || !b->acc_reg
        || epoll_ctl(b->ep, EPOLL_CTL_ADD, l->wake_fd, &ev) < 0) {
        ep_fini(l);
        return ERR_MEM_ALLOC_FAIL;
    }
    l->be_pool = 1;
    (void)why;
    (void)why_len;
    return OK;
}

const struct nk_backend nk_backend_epoll = {
    .name = "epoll",
    .init = ep_init,
    .fini = ep_fini,
    .accept = ep_accept,
    .stop_accept = ep_stop_accept,
    .recv = ep_recv,
    .send = ep_send,
    .connect = ep_connect,
    .timer = ep_timer,
    .file = ep_file,
    .cancel = ep_cancel,
    .forget = ep_forget,
    .tick = ep_tick,
    .wait = ep_wait,
};
