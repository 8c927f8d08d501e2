/* uring/loop.c — one worker's event loop over many connections: accept, the
 * handshake one record at a time, offload, data to the application, timeouts,
 * closing. Written against completions (loop.h), so both backends share it.
 * (The turn of the loop itself: loop_run.c.) */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "uring/loop.h"
#include "core/wire.h"
#include "drive/async.h"
#include "drive/clock.h"
#include "ktls/ktls.h"

struct nk_slab nk_lconn_slab = NK_SLAB_INIT(sizeof(struct nk_lconn));

/* A closing connection gets this long to get close_notify (or a fatal alert) out. */
#define CLOSE_GRACE_MS 2000
/* While this much output waits, the loop stops reading from the connection: a
 * peer that sends without reading cannot make us queue without bound. */
#define RX_HIGH_WATER (256u * 1024)
/* Accepts pause this long when the process is out of descriptors. */
#define ACCEPT_PAUSE_MS 100

int64_t nk_loop_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

MSTATUS nk_loop_init(struct nk_loop *l, struct nk_server *srv, int idx)
{
    memset(l, 0, sizeof *l);
    l->srv = srv;
    l->idx = idx;
    l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    l->scratch_len = NK_MAX_PLAIN;
    l->scratch = malloc(l->scratch_len);
    if (l->wake_fd < 0 || !l->scratch) {
        nk_loop_fini(l);
        return ERR_MEM_ALLOC_FAIL;
    }
    pthread_mutex_init(&l->inbox_mu, NULL);
    return OK;
}

/* Free a connection's resources; nothing may be outstanding on it. */
/* We sent a fatal alert. Bytes of the peer's still unread (the rest of its
 * flight: we stop at the record that failed) would make close() answer with a
 * reset, and a reset can overtake the alert in the peer's kernel, which then
 * reports ECONNRESET instead of our alert. Read away what has already arrived
 * (without waiting, at most 64 KiB) so the close is an orderly FIN. */
static void drain_before_close(int fd)
{
    char buf[4096];
    for (int i = 0; i < 16; i++)
        if (recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0)
            break;
}

static void lc_free(struct nk_lconn *lc)
{
    struct nk_loop *l = lc->loop;
    l->churn++;
    if (lc->in_list) {
        if (lc->prev)
            lc->prev->next = lc->next;
        else
            l->conns = lc->next;
        if (lc->next)
            lc->next->prev = lc->prev;
        l->live--;
    }
    if (l->be && l->bp)
        l->be->forget(lc);
    nk_lc_unregister(lc);
    nk_lc_free_queue(lc);
    nk_lc_free_tx(lc);
    if (lc->shared_fd)
        nk_lc_dgram_forget(lc);   /* the socket is the worker's */
    else if (lc->fd >= 0) {
        if (lc->c && lc->c->alert_out >= 0 && lc->c->alert_out != NK_ALERT_NONE)
            drain_before_close(lc->fd);
        close(lc->fd);
    }
    if (lc->c)
        nk_conn_free(lc->c);
    atomic_fetch_sub(&l->srv->live, 1);
    if (lc->hs_counted)
        atomic_fetch_sub(&l->srv->handshaking, 1);
    free(lc->peer);
    nk_slab_free(&nk_lconn_slab, lc);
}

/* After the loop stopped, or when it never ran: free without callbacks. */
void nk_loop_fini(struct nk_loop *l)
{
    while (l->conns)
        lc_free(l->conns);
    while (l->inbox) {
        struct nk_lconn *lc = l->inbox;
        l->inbox = lc->kick_next;
        lc_free(lc);
    }
    while (l->posts) {   /* never ran */
        struct nk_post *p = l->posts;
        l->posts = p->next;
        free(p);
    }
    if (l->wake_fd >= 0)
        close(l->wake_fd);
    l->wake_fd = -1;
    free(l->scratch);
    l->scratch = NULL;
    nk_dgram_fini(l);
    if (l->srv)
        pthread_mutex_destroy(&l->inbox_mu);
}

struct nk_lconn *nk_lc_new(struct nk_loop *l, sbyte4 h, int fd)
{
    struct nk_lconn *lc = nk_slab_alloc(&nk_lconn_slab);
    if (!lc)
        return NULL;
    lc->loop = l;
    lc->h = h;
    lc->fd = fd;
    lc->heap_idx = -1;
    if (nk_conn_get(h, &lc->c) < 0) {
        nk_slab_free(&nk_lconn_slab, lc);
        return NULL;
    }
    atomic_fetch_add(&l->srv->live, 1);
    nk_lc_register(lc);
    return lc;
}

void nk_lc_attach(struct nk_loop *l, struct nk_lconn *lc)
{
    lc->next = l->conns;
    lc->prev = NULL;
    if (l->conns)
        l->conns->prev = lc;
    l->conns = lc;
    lc->in_list = 1;
    l->live++;
}

void nk_lc_kick(struct nk_lconn *lc)
{
    if (lc->kicked)
        return;
    lc->kicked = 1;
    lc->kick_next = lc->loop->kick_head;
    lc->loop->kick_head = lc;
}

/* ---- closing ---- */

static void tell_closed(struct nk_lconn *lc)
{
    struct nk_server *s = lc->loop->srv;
    if ((lc->told_app || lc->is_client) && s->cb.onClose)
        s->cb.onClose(lc->h, lc->status, s->arg);
    lc->told_app = 0;
    lc->is_client = 0;
}

/* Shut the connection: end every request, tell the application. */
static void lc_teardown(struct nk_lconn *lc)
{
    lc->state = LC_DEAD;
    nk_lc_drop_queue(lc, lc->status < 0 ? lc->status : ERR_SSL_CONNECTION_CLOSED);
    if (lc->inflight && !lc->cancelled) {
        lc->cancelled = 1;
        lc->loop->be->cancel(lc);
    }
    tell_closed(lc);
    nk_lc_unregister(lc);
}

void nk_lc_close(struct nk_lconn *lc, MSTATUS why)
{
    struct nk_conn *c = lc->c;
    if (lc->state >= LC_CLOSING)
        return;
    int was_open = lc->state == LC_OPEN || lc->state == LC_HS_FLUSH;
    lc->status = why;
    lc->state = LC_CLOSING;
    nk_lc_drop_queue(lc, why < 0 ? why : ERR_SSL_CONNECTION_CLOSED);
    /* §6.1: close_notify if the session is intact; a failed one already queued
     * its fatal alert (nk_fail). */
    if (was_open && c->err >= 0 && !c->sent_close_notify)
        (void)!nk_send_alert(&c->tls, SSLALERTLEVEL_WARNING, NK_ALERT_CLOSE_NOTIFY);
    lc->deadline = lc->loop->now + CLOSE_GRACE_MS;
    nk_lc_kick(lc);
}

/* A local or peer failure: keep it on the engine (sticky, alert queued). */
static void lc_fail(struct nk_lconn *lc, MSTATUS err)
{
    nk_lc_close(lc, nk_fail(lc->c, err));
}

/* The engine ended the session: an error, or the peer's close_notify. */
int nk_lc_engine_ended(struct nk_lconn *lc)
{
    if (lc->c->err < 0) {
        nk_lc_close(lc, lc->c->err);
        return 1;
    }
    if (lc->c->got_close_notify) {
        nk_lc_close(lc, OK);
        return 1;
    }
    return 0;
}

/* ---- input ---- */

/* Data waiting during the handshake is accepted 0-RTT data (the engine
 * passes it on once our Finished is queued, engine/engine.c's early_now):
 * the application gets it now, before onOpen, and may answer at once
 * (nk_lc_app_out); the client's Finished is still to come. Data read behind
 * the client's Finished waits for open_conn, after the offload. */
static int early_ready(struct nk_lconn *lc)
{
    struct nk_conn *c = lc->c;
    if (lc->state != LC_HANDSHAKE || c->status == SSL_CONNECTION_OPEN || !c->app_len)
        return 0;
    if (lc->close_req) {   /* the application closes: what it has not read goes */
        nk_app_ack(c, c->app_len);
        return 0;
    }
    lc->early_out = 1;
    lc->told_app = 1;   /* onClose will say how the handshake ended */
    return 1;
}

/* Decrypted data to the application. With read-ahead, taking one record's
 * data makes the engine open the next whole record it holds (nk_app_ack). */
static void deliver(struct nk_lconn *lc)
{
    struct nk_server *s = lc->loop->srv;
    struct nk_conn *c = lc->c;
    while (c->app_len && ((lc->state == LC_OPEN && !lc->close_req) || early_ready(lc))) {
        size_t n = nk_app_read(c, lc->loop->scratch, lc->loop->scratch_len);
        if (s->cb.onData)
            s->cb.onData(lc->h, lc->loop->scratch, (ubyte4)n, s->arg);
    }
}

/* Bytes a backend buffer received: into the engine as far as it takes them. */
static void feed(struct nk_lconn *lc, const uint8_t *d, size_t n)
{
    struct nk_conn *c = lc->c;
    while (n && lc->state == LC_OPEN) {
        size_t room;
        uint8_t *p = nk_in_buf(c, &room);
        if (!p || !room)
            break;
        size_t k = n < room ? n : room;
        memcpy(p, d, k);
        d += k;
        n -= k;
        if (nk_in_ack(c, k) < 0)
            break;
        deliver(lc);
    }
}

/* Records the kernel decrypted: data to the application, the rest to the engine. */
static void ktls_in(struct nk_lconn *lc, uint8_t type, const uint8_t *d, size_t n)
{
    struct nk_server *s = lc->loop->srv;
    if (type != NK_CT_APPLICATION_DATA) {
        (void)!nk_ktls_in_record(lc->c, type, d, n);
        return;
    }
    nk_in_kernel_data(lc->c, NULL, n);
    if (!lc->close_req && s->cb.onData)
        s->cb.onData(lc->h, d, (ubyte4)n, s->arg);
}

static void recv_failed(struct nk_lconn *lc, ssize_t res)
{
    if (res == 0) {
        lc_fail(lc, ERR_TCP_SOCKET_CLOSED);
    } else if (lc->recv_mode == LRECV_KTLS) {
        lc_fail(lc, nk_ktls_recv_failed(lc->fd, (int)-res));
    } else {
        lc_fail(lc, ERR_TCP_READ_ERROR);
    }
}

/* Kernel RX: a plain receive fails with EIO when the next record is not
 * application data (it has no room for the type). That record waits in the
 * kernel; read it now with its type. */
static ssize_t ktls_recv_typed(struct nk_lconn *lc, uint8_t *type)
{
    int lost;
    ssize_t n = nk_ktls_recv_typed(lc->fd, lc->loop->scratch, lc->loop->scratch_len, MSG_DONTWAIT, type, &lost);
    if (n == -EAGAIN || n == -EWOULDBLOCK)
        return -EIO;
    if (n >= 0 && lost)
        return -EIO;   /* the record type was lost */
    return n;
}

static void on_recv(struct nk_lconn *lc, ssize_t res, const uint8_t *buf)
{
    struct nk_conn *c = lc->c;
    uint8_t type = NK_CT_APPLICATION_DATA;
    lc->recv_armed = 0;
    /* A receive into the engine's buffer (kernel RX: plaintext) must be wiped
     * when that buffer is freed, even if the bytes are never looked at. */
    if (res > 0 && lc->rx_buf && c->in.p && lc->rx_buf >= c->in.p && lc->rx_buf < c->in.p + c->in.cap)
        nk_buf_mark(&c->in, (size_t)(lc->rx_buf - c->in.p) + (size_t)res);
    if (lc->state >= LC_CLOSING || res == -ECANCELED)
        return;
    if (res == -EIO && lc->recv_mode == LRECV_KTLS) {
        res = ktls_recv_typed(lc, &type);
        buf = lc->loop->scratch;
    }
    if (res <= 0) {
        recv_failed(lc, res);
        return;
    }
    lc->last_active = lc->loop->now;
    c->now = nk_wall_ms();
    if (lc->recv_mode == LRECV_ENGINE)
        (void)!nk_in_ack(c, (size_t)res);
    else if (lc->recv_mode == LRECV_POOL)
        feed(lc, buf, (size_t)res);
    else
        ktls_in(lc, type, buf ? buf : lc->rx_buf, (size_t)res);
    deliver(lc);
    if (lc->state == LC_HANDSHAKE && c->status == SSL_CONNECTION_OPEN)
        lc->state = LC_HS_FLUSH;
}

/* Choose how the next receive is done, and arm it. */
static void arm_recv(struct nk_lconn *lc)
{
    struct nk_conn *c = lc->c;
    /* A close asked for while answering 0-RTT data waits for the handshake. */
    if (lc->recv_armed || (lc->close_req && lc->state == LC_OPEN))
        return;
    if (lc->state == LC_OPEN && nk_lc_output_pending(lc) > RX_HIGH_WATER)
        return;
    if (lc->state == LC_OPEN && c->ktls_rx) {
        lc->recv_mode = LRECV_KTLS;
        lc->rx_buf = NULL;
        lc->rx_len = NK_MAX_PLAIN;
        if (!lc->loop->be_pool) {
            /* No buffer ring: the engine's input buffer is free under kernel RX. */
            if (nk_buf_reserve(&c->in, NK_MAX_PLAIN) < 0) {
                lc_fail(lc, ERR_MEM_ALLOC_FAIL);
                return;
            }
            lc->rx_buf = c->in.p;
        }
    } else if (lc->state == LC_OPEN && lc->loop->be_pool) {
        lc->recv_mode = LRECV_POOL;
        lc->rx_buf = NULL;
        lc->rx_len = 0;   /* the backend's buffer size */
    } else {
        /* Handshake: exactly the rest of the current record, never past it. */
        lc->recv_mode = LRECV_ENGINE;
        lc->rx_buf = nk_in_buf(c, &lc->rx_len);
        if (!lc->rx_buf || !lc->rx_len) {
            if (!nk_lc_engine_ended(lc))
                lc_fail(lc, ERR_SSL_INTERNAL);
            return;
        }
    }
    lc->recv_armed = 1;
    lc->inflight++;
    lc->loop->be->recv(lc);
}

/* ---- the connection's next step ---- */

static void start_engine(struct nk_lconn *lc, int accepted)
{
    struct nk_server *s = lc->loop->srv;
    int one = 1, zero = 0;
    /* Records are already whole when we send them: Nagle would only add delay.
     * An accepted socket has it from its listener (setup_listeners). */
    if (!accepted || !s->lfds_nodelay)
        (void)!setsockopt(lc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* A server answers every flight it reads, so its ACK can ride on the
     * answer; a new connection's quick-ACK mode sends a bare one as soon as a
     * short flight is read (a segment more, and over loopback the peer's
     * receive of it, on our CPU). Delayed-ACK mode from the start: the kernel
     * leaves it when a delayed ACK falls due, and still ACKs every second
     * full segment, so bulk receives are unchanged. */
    if (accepted)
        (void)!setsockopt(lc->fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero);
    lc->state = LC_HANDSHAKE;
    if (s->cb.onSetup) {
        lc->told_app = 1;
        MSTATUS st = s->cb.onSetup(lc->h, s->arg);
        if (st < 0) {
            lc_fail(lc, st);
            return;
        }
    }
    /* DESIGN.md: the handshake reads one record at a time so that no byte
     * the kernel should get stays in userspace. Where the kernel can never
     * take RX there is nothing to protect: read whole buffers from the
     * start (a client's second TLS 1.2 flight, three records, is then one
     * receive instead of six). */
    if (nk_ktls_rx_never(lc->c))
        lc->c->readahead = 1;
    /* Accepted 0-RTT data reaches the application as soon as it is opened. */
    lc->c->early_now = 1;
    lc->c->now = nk_wall_ms();
    MSTATUS st = nk_engine_start(lc->c);
    if (st < 0)
        lc_fail(lc, st);
}

static void on_connect(struct nk_lconn *lc, ssize_t res)
{
    if (lc->state != LC_CONNECTING)
        return;
    if (res < 0) {
        lc_fail(lc, ERR_TCP_CONNECT_ERROR);
        return;
    }
    free(lc->peer);
    lc->peer = NULL;
    start_engine(lc, 0);
}

void nk_lc_mark_open(struct nk_lconn *lc)
{
    struct nk_server *s = lc->loop->srv;
    lc->loop->churn++;   /* the handshake's temporaries are gone */
    if (lc->c->rd)   /* userspace keys: their contexts may be parked while idle */
        nk_loop_sweep_soon(lc->loop);
    lc->state = LC_OPEN;
    /* The handshake's deadline (its limit, a DTLS retransmission) ends
     * here. A DTLS connection opens while its datagram is read, and a timer
     * due in the same turn comes before the step that sets the open
     * connection's deadline: it must not take the stale one for idleness. */
    lc->deadline = 0;
    lc->told_app = 1;
    if (lc->hs_counted)
        atomic_fetch_sub(&s->handshaking, 1);
    lc->hs_counted = 0;
    lc->last_active = lc->loop->now;
    atomic_fetch_add(&s->opened, 1);
    if (s->cb.onOpen)
        s->cb.onOpen(lc->h, s->arg);
}

/* Everything the handshake sent is out: hand the keys to the kernel, open. */
static void open_conn(struct nk_lconn *lc)
{
    struct nk_conn *c = lc->c;
    MSTATUS st = nk_ktls_offload(c);
    if (st < 0) {
        lc_fail(lc, st);
        return;
    }
    /* Without kernel RX nothing more is ever handed over: read whole buffers. */
    if (!c->ktls_rx)
        c->readahead = 1;
    nk_lc_mark_open(lc);
    /* Data that came with the peer's last handshake records (read ahead:
     * a TLS 1.3 client's first request behind its Finished, a TLS 1.2
     * server's first records behind its Finished), and 0-RTT data the handshake kept
     * (handshake/tls13_early.c), is decrypted already:
     * the application gets it now, before the next receive. */
    deliver(lc);
}

/* Give back the engine's buffers while the connection waits for input with
 * nothing to send: an idle connection then holds no record buffer. Only where
 * the pending receive does not target the engine's buffer. */
static void release_idle(struct nk_lconn *lc)
{
    struct nk_conn *c = lc->c;
    if (!nk_lc_output_idle(lc) || lc->file)
        return;
    nk_lc_release_tx(lc);
    if (c->out.p && c->out.len == 0) {
        nk_buf_free(&c->out);
        lc->loop->churn++;
    }
    if (lc->recv_mode != LRECV_ENGINE && lc->rx_buf == NULL && c->in.p && c->in.len == 0
        && c->in_start == 0 && c->app_len == 0) {
        nk_buf_free(&c->in);
        lc->loop->churn++;
    }
}

static void open_step(struct nk_lconn *lc)
{
    struct nk_server *s = lc->loop->srv;
    if (nk_lc_engine_ended(lc))
        return;
    nk_lc_pump_output(lc);
    if (lc->state != LC_OPEN)
        return;
    /* Closing waits for everything queued before it (pumping may just have
     * finished the last file range). */
    if (lc->close_req && !lc->file && !lc->q_head && nk_lc_output_idle(lc)) {
        nk_lc_close(lc, OK);
        return;
    }
    arm_recv(lc);
    if (lc->state != LC_OPEN)
        return;
    if (lc->recv_armed)
        release_idle(lc);
    lc->deadline = s->idle_timeout_ms ? lc->last_active + s->idle_timeout_ms : 0;
    if (lc->app_deadline && (!lc->deadline || lc->app_deadline < lc->deadline))
        lc->deadline = lc->app_deadline;
    /* A TLS 1.2 renegotiation the peer began has the handshake's time, from
     * the first step after it began (on_timer: the engine decides). */
    nk_engine_reneg_limit(lc->c, lc->loop->now, s->hs_timeout_ms);
    int64_t hs = nk_conn_deadline(lc->c);
    if (hs && (!lc->deadline || hs < lc->deadline))
        lc->deadline = hs;
}

static void handshake_step(struct nk_lconn *lc)
{
    /* A handshake that completed opens even when the peer's close_notify came
     * right behind its Finished (read ahead): open, then close (open_step). */
    if ((lc->state != LC_HS_FLUSH || lc->c->err < 0) && nk_lc_engine_ended(lc))
        return;
    nk_lc_pump_output(lc);
    if (lc->state == LC_HANDSHAKE) {
        lc->deadline = nk_conn_deadline(lc->c);   /* the engine times the handshake */
        arm_recv(lc);
    } else if (lc->state == LC_HS_FLUSH && nk_lc_output_idle(lc))
        open_conn(lc);
    if (lc->state == LC_OPEN)
        open_step(lc);
}

/* Timers are lazy: one request waits at the connection's deadline; activity
 * moves the deadline later without touching it, and on expiry on_timer finds
 * the deadline not yet due and the next step arms a new one. One timer
 * operation per quiet period, not one per packet. */
static void arm_timer(struct nk_lconn *lc)
{
    if (!lc->deadline || (lc->timers && lc->timer_at <= lc->deadline))
        return;
    lc->timers++;
    lc->inflight++;
    lc->timer_at = lc->deadline;
    lc->loop->be->timer(lc, lc->deadline);
}

static void step(struct nk_lconn *lc)
{
    switch (lc->state) {
    case LC_HANDSHAKE:
    case LC_HS_FLUSH:
    case LC_OPEN:
        if (lc->dgram)
            nk_lc_dgram_step(lc);
        else if (lc->state == LC_OPEN)
            open_step(lc);
        else
            handshake_step(lc);
        break;
    default:
        break;
    }
    if (lc->state == LC_CLOSING) {
        nk_lc_pump_output(lc);
        if (lc->state == LC_CLOSING && nk_lc_output_idle(lc))
            lc_teardown(lc);
    }
    if (lc->state == LC_DEAD) {
        if (!lc->inflight && !lc->kicked)
            lc_free(lc);
        return;
    }
    arm_timer(lc);
}

void nk_loop_run_kicks(struct nk_loop *l)
{
    while (l->kick_head) {
        struct nk_lconn *lc = l->kick_head;
        l->kick_head = lc->kick_next;
        lc->kicked = 0;
        step(lc);
    }
}

/* ---- completions ---- */

static void on_timer(struct nk_lconn *lc, ssize_t res)
{
    struct nk_server *s = lc->loop->srv;
    /* Both backends keep one timer per connection: a new request replaces the
     * older one, which ends as cancelled; the survivor is the latest, so
     * timer_at stays (forgetting it would arm again, be replaced again, and
     * spin whenever a deadline moves earlier: NKTLS_LOOP_setDeadline). One
     * that fired may leave a replaced one still to report: forget the time,
     * so the next step arms one for the current deadline. */
    if (res == -ECANCELED) {
        if (--lc->timers == 0)
            lc->timer_at = 0;
        return;
    }
    lc->timer_at = lc->timers-- > 1 ? INT64_MAX : 0;
    if (lc->state == LC_DEAD || !lc->deadline || lc->loop->now < lc->deadline)
        return;
    switch (lc->state) {
    case LC_CONNECTING:
    case LC_HANDSHAKE:   /* lc->deadline is the engine's: its timer decides */
        if (nk_engine_timer(lc->c, lc->loop->now) == OK)
            break;
        /* fall through */
    case LC_HS_FLUSH:    /* the engine is done, but its last flight is still ours to send */
        atomic_fetch_add(&s->hs_timeouts, 1);
        lc_fail(lc, ERR_SSL_HANDSHAKE_TIMEOUT);
        break;
    case LC_OPEN:
        if (nk_engine_timer(lc->c, lc->loop->now) < 0) {   /* a renegotiation's time ran out */
            atomic_fetch_add(&s->hs_timeouts, 1);
            lc_fail(lc, ERR_SSL_HANDSHAKE_TIMEOUT);
            break;
        }
        /* Our policy, not a protocol failure: the session is intact and ends
         * with close_notify. */
        if (lc->app_deadline && lc->loop->now >= lc->app_deadline)
            atomic_fetch_add(&s->deadlines, 1);
        else
            atomic_fetch_add(&s->idle_timeouts, 1);
        nk_lc_close(lc, ERR_TCP_READ_TIMEOUT);
        break;
    default:   /* closing: the grace is over */
        lc_teardown(lc);
        break;
    }
}

void nk_loop_done(struct nk_lconn *lc, enum lc_op op, ssize_t res, const uint8_t *buf)
{
    lc->inflight--;
    if (op != LOP_TIMER)   /* lazy timers fire while idle: not activity */
        lc->loop->events++;
    switch (op) {
    case LOP_RECV:
        if (lc->dgram)   /* a DTLS client's own socket: one datagram */
            nk_lc_dgram_recv(lc, res, buf);
        else
            on_recv(lc, res, buf);
        break;
    case LOP_SEND:
        nk_lc_send_done(lc, res);
        break;
    case LOP_TIMER:
        on_timer(lc, res);
        break;
    case LOP_CONNECT:
        on_connect(lc, res);
        break;
    case LOP_FILE:
        nk_lc_file_done(lc, res);
        break;
    default:
        break;
    }
    nk_lc_kick(lc);
}

void nk_loop_accepted(struct nk_loop *l, int fd)
{
    struct nk_server *s = l->srv;
    l->events++;
    if (l->stopping || (s->max_conns && atomic_load(&s->live) >= s->max_conns)
        || (s->max_hs && atomic_load(&s->handshaking) >= s->max_hs)) {
        close(fd);
        atomic_fetch_add(&s->rejected, 1);
        return;
    }
    struct nk_conn *c = NULL;
    if (nk_async_new(NK_SERVER, fd, s->store, &nk_config, NULL, &c) < 0)
        c = NULL;
    struct nk_lconn *lc = c ? nk_lc_new(l, c->handle, fd) : NULL;
    if (!lc) {
        if (c)
            nk_conn_free(c);
        close(fd);
        atomic_fetch_add(&s->rejected, 1);
        return;
    }
    atomic_fetch_add(&s->accepted, 1);
    atomic_fetch_add(&s->handshaking, 1);
    lc->hs_counted = 1;
    nk_lc_attach(l, lc);
    lc->last_active = l->now;
    nk_engine_hs_limit(lc->c, l->now, s->hs_timeout_ms);
    lc->deadline = nk_conn_deadline(lc->c);
    start_engine(lc, 1);
    nk_lc_kick(lc);
}

/* Out of descriptors or memory: pause accepting (1) rather than spin. */
int nk_loop_accept_error(struct nk_loop *l, int err)
{
    if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
        return 0;
    l->accept_resume_at = l->now + ACCEPT_PAUSE_MS;
    l->be->tick(l, l->accept_resume_at);
    return 1;
}

void nk_loop_tick(struct nk_loop *l)
{
    if (l->accept_resume_at && l->now >= l->accept_resume_at) {
        l->accept_resume_at = 0;
        for (int i = 0; i < l->n_lfds && !l->stopping; i++)
            l->be->accept(l, i);
    }
    nk_loop_idle_work(l);
    /* One tick serves all: wait for whichever is still to come. */
    int64_t next = l->accept_resume_at;
    if (l->trim_at && (!next || l->trim_at < next))
        next = l->trim_at;
    if (l->sweep_at && (!next || l->sweep_at < next))
        next = l->sweep_at;
    if (next)
        l->be->tick(l, next);
}
