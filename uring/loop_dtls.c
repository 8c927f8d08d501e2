/* uring/loop_dtls.c — DTLS 1.2 on the loop. A worker serving DTLS on a UDP
 * socket: datagrams from the socket go to the peer of their source address
 * (a table of this worker's peers), or, from an address with no peer,
 * through the engine's stateless listener (engine/dtls_listen.c): a
 * HelloVerifyRequest goes back and nothing is kept, and only a ClientHello
 * with a valid cookie makes a connection (RFC 6347 §4.2.1). Peers are loop
 * connections that share the socket: they never receive on their own, and
 * send their datagrams with the peer's address. A DTLS client
 * (NKTLS_LOOP_connectDTLS) has a UDP socket of its own, connected to its
 * server, and keeps one receive armed on it; everything else, the engine's
 * steps and one datagram per send, is the peers' code. Retransmission
 * timers are the engine's deadline, kept in the worker's timer heap like
 * every other connection timer. */
#include <errno.h>
#include <stdlib.h>
#include "uring/loop.h"
#include "drive/async.h"
#include "drive/clock.h"
#include "engine/dtls.h"

/* The peers of one worker, by address: open addressing with linear probing,
 * at most half full; the hash is seeded per worker. */
struct nk_dgram {
    struct nk_lconn **slot;
    size_t cap, n;
    uint64_t seed;
};

MSTATUS nk_dgram_init(struct nk_loop *l)
{
    struct nk_dgram *dg = calloc(1, sizeof *dg);
    NK_CHECK(dg, ERR_MEM_ALLOC_FAIL);
    dg->cap = 64;
    dg->slot = calloc(dg->cap, sizeof *dg->slot);
    if (!dg->slot || nk_random(&dg->seed, sizeof dg->seed) < 0) {
        free(dg->slot);
        free(dg);
        return ERR_MEM_ALLOC_FAIL;
    }
    l->dg = dg;
    return OK;
}

void nk_dgram_fini(struct nk_loop *l)
{
    if (!l->dg)
        return;
    free(l->dg->slot);
    free(l->dg);
    l->dg = NULL;
}

static size_t addr_hash(const struct nk_dgram *dg, const void *addr, socklen_t len)
{
    const uint8_t *p = addr;
    uint64_t h = 0xcbf29ce484222325ull ^ dg->seed;   /* FNV-1a */
    for (socklen_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return (size_t)(h ^ h >> 29);
}

/* The slot holding addr's peer, or the empty slot where it would go. */
static size_t find_slot(const struct nk_dgram *dg, const void *addr, socklen_t len)
{
    size_t i = addr_hash(dg, addr, len) & (dg->cap - 1);
    for (;;) {
        const struct nk_lconn *lc = dg->slot[i];
        if (!lc || (lc->peer_len == len && memcmp(lc->peer, addr, len) == 0))
            return i;
        i = (i + 1) & (dg->cap - 1);
    }
}

static MSTATUS table_grow(struct nk_dgram *dg)
{
    struct nk_dgram bigger = { .cap = dg->cap * 2, .seed = dg->seed };
    bigger.slot = calloc(bigger.cap, sizeof *bigger.slot);
    NK_CHECK(bigger.slot, ERR_MEM_ALLOC_FAIL);
    for (size_t i = 0; i < dg->cap; i++)
        if (dg->slot[i])
            bigger.slot[find_slot(&bigger, dg->slot[i]->peer, dg->slot[i]->peer_len)] = dg->slot[i];
    free(dg->slot);
    dg->slot = bigger.slot;
    dg->cap = bigger.cap;
    return OK;
}

static MSTATUS table_add(struct nk_dgram *dg, struct nk_lconn *lc)
{
    if (2 * (dg->n + 1) > dg->cap)
        NK_TRY(table_grow(dg));
    dg->slot[find_slot(dg, lc->peer, lc->peer_len)] = lc;
    dg->n++;
    return OK;
}

/* The peer is freed (loop.c's lc_free): out of the table; the entries
 * behind it in its probe run move up so that every one stays findable. */
void nk_lc_dgram_forget(struct nk_lconn *lc)
{
    struct nk_dgram *dg = lc->loop->dg;
    if (!dg || !lc->peer)
        return;
    size_t i = find_slot(dg, lc->peer, lc->peer_len);
    if (dg->slot[i] != lc)
        return;
    dg->slot[i] = NULL;
    dg->n--;
    for (size_t j = (i + 1) & (dg->cap - 1); dg->slot[j]; j = (j + 1) & (dg->cap - 1)) {
        struct nk_lconn *m = dg->slot[j];
        dg->slot[j] = NULL;
        dg->slot[find_slot(dg, m->peer, m->peer_len)] = m;
    }
}

/* ---- a peer's steps ---- */

/* One datagram of the peer's into its engine, and what it decrypted to the
 * application: each record's data is read before the walk of the datagram
 * goes on (nk_dtls_in). Failures stay on the engine (sticky); the step that
 * follows closes. */
static void peer_in(struct nk_lconn *lc, const uint8_t *d, size_t n)
{
    struct nk_server *s = lc->loop->srv;
    struct nk_conn *c = lc->c;
    if (lc->state >= LC_CLOSING)
        return;
    lc->last_active = lc->loop->now;
    c->now = nk_wall_ms();
    MSTATUS st = nk_dtls_in(c, d, n, lc->loop->now);
    while (st == OK) {
        if (lc->state == LC_HANDSHAKE && c->status == SSL_CONNECTION_OPEN)
            nk_lc_mark_open(lc);
        while (c->app_len && lc->state == LC_OPEN && !lc->close_req) {
            size_t k = nk_app_read(c, lc->loop->scratch, lc->loop->scratch_len);
            if (s->cb.onData)
                s->cb.onData(lc->h, lc->loop->scratch, (ubyte4)k, s->arg);
        }
        nk_app_ack(c, c->app_len);   /* closing: what the application did not take goes */
        if (!nk_dtls_in_pending(c))
            break;
        st = nk_dtls_in(c, NULL, 0, lc->loop->now);
    }
    nk_lc_kick(lc);
}

/* The next datagram of the engine's out, alone in one send to the peer's
 * address; copied, as the engine may queue more (and move its buffer)
 * while the send is in flight. */
void nk_lc_dgram_pump(struct nk_lconn *lc)
{
    struct nk_conn *c = lc->c;
    size_t n;
    const uint8_t *p;
    if (lc->sending || lc->state == LC_DEAD || !(p = nk_dtls_out(c, &n)))
        return;
    if (!lc->tx && (lc->tx = calloc(1, sizeof *lc->tx)))
        lc->tx->rekey_at = SIZE_MAX;
    struct lc_tx *t = lc->tx;
    if (!t || (t->buf.len = t->off = 0, nk_buf_append(&t->buf, p, n) < 0)) {
        nk_lc_close(lc, nk_fail(c, ERR_MEM_ALLOC_FAIL));
        return;
    }
    nk_dtls_out_ack(c);
    memset(&t->msg, 0, sizeof t->msg);
    t->iov[0].iov_base = t->buf.p;
    t->iov[0].iov_len = t->buf.len;
    t->msg.msg_iov = t->iov;
    t->msg.msg_iovlen = 1;
    t->msg.msg_name = lc->peer;
    t->msg.msg_namelen = lc->peer_len;
    t->flags = 0;
    lc->sending = 1;
    lc->inflight++;
    lc->loop->be->send(lc);
}

/* A datagram went, or the network refused it (ICMP from an earlier one, a
 * full buffer): a lost datagram either way, which the handshake's timer
 * sends again and which DTLS does not promise to deliver (RFC 6347 §1). */
void nk_lc_dgram_sent(struct nk_lconn *lc, ssize_t res)
{
    lc->sending = 0;
    if (lc->tx)
        lc->tx->buf.len = lc->tx->off = 0;
    if (lc->state != LC_DEAD && res >= 0)
        lc->last_active = lc->loop->now;
}

/* Nothing to send and nothing unread: the peer holds no buffer while idle. */
static void release_idle(struct nk_lconn *lc)
{
    struct nk_conn *c = lc->c;
    nk_lc_release_tx(lc);
    if (c->out.p && c->out.len == 0)
        nk_buf_free(&c->out);
    if (c->in.p && c->in.len == 0 && !c->app_len)
        nk_buf_free(&c->in);
}

/* A client's next datagram: a receive on its own socket into a backend
 * buffer, one datagram per receive. A server's peers are fed by the
 * worker's socket instead. */
static void arm_client_recv(struct nk_lconn *lc)
{
    if (lc->shared_fd || lc->recv_armed)
        return;
    lc->recv_mode = LRECV_POOL;
    lc->rx_buf = NULL;
    lc->rx_len = 0;   /* the backend's buffer size */
    lc->recv_armed = 1;
    lc->inflight++;
    lc->loop->be->recv(lc);
}

void nk_lc_dgram_step(struct nk_lconn *lc)
{
    struct nk_server *s = lc->loop->srv;
    struct nk_conn *c = lc->c;
    if (nk_lc_engine_ended(lc))
        return;
    if (lc->state == LC_HANDSHAKE && c->status == SSL_CONNECTION_OPEN)
        nk_lc_mark_open(lc);
    nk_lc_dgram_pump(lc);
    if (lc->state == LC_OPEN && lc->close_req && nk_lc_output_idle(lc)) {
        nk_lc_close(lc, OK);
        return;
    }
    if (lc->state >= LC_CLOSING)
        return;
    arm_client_recv(lc);
    if (nk_lc_output_idle(lc))
        release_idle(lc);
    if (lc->state != LC_OPEN) {
        lc->deadline = nk_conn_deadline(c);   /* the handshake's limit and its retransmissions */
        return;
    }
    lc->deadline = s->idle_timeout_ms ? lc->last_active + s->idle_timeout_ms : 0;
    if (lc->app_deadline && (!lc->deadline || lc->app_deadline < lc->deadline))
        lc->deadline = lc->app_deadline;
}

/* onSetup (the application's options), then the handshake: its time limit
 * from now, and a client's first flight queued. */
static MSTATUS start_handshake(struct nk_lconn *lc)
{
    struct nk_server *s = lc->loop->srv;
    struct nk_conn *c = lc->c;
    MSTATUS st = OK;
    if (s->cb.onSetup) {
        lc->told_app = 1;
        st = s->cb.onSetup(lc->h, s->arg);
    }
    nk_engine_hs_limit(c, lc->loop->now, s->hs_timeout_ms);
    c->now = nk_wall_ms();
    if (st == OK)
        st = nk_dtls_engine_start(c, lc->loop->now);
    return st;
}

/* ---- datagrams from the socket ---- */

/* A ClientHello with a valid cookie from a new address: its connection,
 * within the server's limits. */
static struct nk_lconn *new_peer(struct nk_loop *l, const struct sockaddr *from, socklen_t fl)
{
    struct nk_server *s = l->srv;
    struct nk_conn *c = NULL;
    if (l->stopping || atomic_load(&s->live) >= s->dtls_max_peers
        || atomic_load(&s->handshaking) >= s->dtls_max_hs) {
        atomic_fetch_add(&s->rejected, 1);
        return NULL;
    }
    if (nk_async_new(NK_SERVER, -1, s->store, &nk_config, NULL, &c) < 0 || nk_dtls_conn(c, from, fl) < 0) {
        if (c)
            nk_conn_free(c);
        atomic_fetch_add(&s->rejected, 1);
        return NULL;
    }
    struct nk_lconn *lc = nk_lc_new(l, c->handle, l->lfds[0]);
    if (!lc) {
        nk_conn_free(c);
        atomic_fetch_add(&s->rejected, 1);
        return NULL;
    }
    lc->dgram = 1;
    lc->shared_fd = 1;
    atomic_fetch_add(&s->accepted, 1);
    atomic_fetch_add(&s->handshaking, 1);
    lc->hs_counted = 1;
    nk_lc_attach(l, lc);
    lc->last_active = l->now;
    lc->state = LC_HANDSHAKE;
    if (!(lc->peer = malloc(sizeof *lc->peer)) || (memcpy(lc->peer, from, fl), lc->peer_len = fl,
                                                    table_add(l->dg, lc) < 0)) {
        free(lc->peer);
        lc->peer = NULL;
        nk_lc_close(lc, nk_fail(c, ERR_MEM_ALLOC_FAIL));
        return NULL;
    }
    MSTATUS st = start_handshake(lc);
    if (st < 0) {
        nk_lc_close(lc, nk_fail(c, st));
        return NULL;
    }
    return lc;
}

/* RFC 7983 §7: a first byte of 20..63 is DTLS; RTP, STUN and the rest are
 * the application's (other_dgram). */
static int is_dtls(const uint8_t *d, size_t n)
{
    return n && d[0] >= 20 && d[0] <= 63;
}

/* The first record an epoch-0 handshake record holding a ClientHello. */
static int epoch0_hello(const uint8_t *d, size_t n)
{
    return n > NK_DTLS_HDR && d[0] == NK_CT_HANDSHAKE && d[3] == 0 && d[4] == 0
           && d[NK_DTLS_HDR] == NK_HS_CLIENT_HELLO;
}

/* A ClientHello nk_dtls_listen accepted: its connection, which remembers
 * the hello's random (§4.2.8, below), and the hello into it. */
static void accept_peer(struct nk_loop *l, uint8_t *d, size_t n, const struct sockaddr *from, socklen_t fl)
{
    struct nk_lconn *lc = new_peer(l, from, fl);
    if (!lc)
        return;
    memcpy(lc->c->dtls->hello_tag, d + NK_DTLS_HELLO_RANDOM_AT, sizeof lc->c->dtls->hello_tag);
    peer_in(lc, d, n);
}

/* From an address with no association (lc NULL), or an epoch-0 ClientHello
 * to an open one: RFC 6347 §4.2.8, a client that restarted on the same
 * address and port. The server "MUST NOT destroy the existing association
 * until the client has demonstrated reachability either by completing a
 * cookie exchange or" a handshake: without a valid cookie the hello gets a
 * HelloVerifyRequest and the association stays; with one, and a random
 * other than the hello's that made the association (a late copy of that is
 * no new client: it goes to the association, which drops it), the old
 * association is abandoned and the new one made. */
static void listen_dgram(struct nk_loop *l, struct nk_lconn *lc, uint8_t *d, size_t n,
                         const struct sockaddr *from, socklen_t fl)
{
    uint8_t reply[NK_DTLS_LISTEN_REPLY_MAX];
    size_t rn;
    switch (nk_dtls_listen(d, n, from, fl, nk_wall_ms(), reply, &rn)) {
    case NK_DTLS_REPLY:
        /* Stateless: sent now or never (a full socket buffer loses it like
         * the network would; the client sends its hello again). */
        (void)!sendto(l->lfds[0], reply, rn, MSG_DONTWAIT | MSG_NOSIGNAL, from, fl);
        break;
    case NK_DTLS_ACCEPT:
        if (lc && memcmp(d + NK_DTLS_HELLO_RANDOM_AT, lc->c->dtls->hello_tag, sizeof lc->c->dtls->hello_tag) == 0) {
            peer_in(lc, d, n);
            break;
        }
        if (lc) {
            nk_lc_dgram_forget(lc);   /* the address is the new association's from here */
            nk_lc_close(lc, ERR_SSL_DTLS_NEW_ASSOCIATION);
        }
        accept_peer(l, d, n, from, fl);
        break;
    default:
        if (lc)
            peer_in(lc, d, n);
        break;
    }
}

/* A datagram that is not DTLS to the datagram callback, with the peer at its source
 * address where the application knows that peer; dropped without the
 * callback. It changes no state of ours: a peer's idle timer runs on DTLS
 * alone, as media is the application's to judge. */
static void other_dgram(struct nk_loop *l, struct nk_lconn *lc, const uint8_t *d, size_t n,
                        const struct sockaddr *from, socklen_t fl)
{
    struct nk_server *s = l->srv;
    if (!s->on_datagram || n > UINT32_MAX)
        return;
    sbyte4 h = lc && (lc->told_app || lc->is_client) && lc->state < LC_CLOSING ? lc->h : 0;
    s->on_datagram(h, from, (ubyte4)fl, d, (ubyte4)n, s->arg);
}

void nk_loop_dgram(struct nk_loop *l, uint8_t *d, size_t n, const struct sockaddr *from, socklen_t fl)
{
    l->events++;
    if (fl > NK_DTLS_ADDR_MAX)
        return;
    struct nk_lconn *lc = l->dg->slot[find_slot(l->dg, from, fl)];
    if (!is_dtls(d, n)) {
        other_dgram(l, lc, d, n, from, fl);
        return;
    }
    if (lc && !(lc->state == LC_OPEN && epoch0_hello(d, n)))
        peer_in(lc, d, n);
    else
        listen_dgram(l, lc, d, n, from, fl);
}

/* ---- a DTLS client's own socket ---- */

/* From the worker's inbox: connect() on a UDP socket sends nothing; it
 * names the server, so that only the server's datagrams arrive and ICMP
 * errors about ours are reported on the socket. Then the handshake. */
void nk_lc_dgram_connect(struct nk_lconn *lc)
{
    struct nk_conn *c = lc->c;
    if (lc->loop->be == &nk_backend_epoll)   /* a worker that fell back to epoll, too */
        nk_set_nonblock(lc->fd, 1);
    if (connect(lc->fd, (struct sockaddr *)lc->peer, lc->peer_len) < 0) {
        nk_lc_close(lc, nk_fail(c, ERR_TCP_CONNECT_ERROR));
        return;
    }
    free(lc->peer);   /* datagrams go to the connected address */
    lc->peer = NULL;
    lc->peer_len = 0;
    lc->state = LC_HANDSHAKE;
    MSTATUS st = start_handshake(lc);
    if (st < 0)
        nk_lc_close(lc, nk_fail(c, st));
}

/* Errors the kernel reports on a connected UDP socket when an ICMP message
 * came back for one of our datagrams (port, host or network unreachable,
 * too big for the path). */
static int icmp_error(ssize_t res)
{
    return res == -ECONNREFUSED || res == -EHOSTUNREACH || res == -ENETUNREACH || res == -EHOSTDOWN
           || res == -ENETDOWN || res == -EMSGSIZE || res == -EPROTO;
}

void nk_lc_dgram_recv(struct nk_lconn *lc, ssize_t res, const uint8_t *buf)
{
    struct nk_conn *c = lc->c;
    lc->recv_armed = 0;
    if (lc->state >= LC_CLOSING || res == -ECANCELED)
        return;
    /* An ICMP error counts as a lost datagram: the handshake's timer goes
     * on sending until its limit, and an open connection goes on. ICMP
     * can be forged by anyone who sees our address, so it must not end a
     * connection by itself. The next step receives again. */
    if (res < 0 && (icmp_error(res) || res == -EAGAIN || res == -EINTR))
        return;
    if (res < 0) {
        nk_lc_close(lc, nk_fail(c, ERR_TCP_READ_ERROR));
        return;
    }
    if (!buf)
        return;
    /* RFC 6347 §4.1.1: "Each DTLS record MUST fit within a single
     * datagram", and "Records may not span datagrams": one receive is one
     * datagram, to the engine whole, never joined to the next. */
    if (is_dtls(buf, (size_t)res)) {
        peer_in(lc, buf, (size_t)res);
        return;
    }
    struct sockaddr_storage from;   /* the server's address, aligned for the callback */
    memcpy(&from, c->dtls->peer, c->dtls->peer_len);
    other_dgram(lc->loop, lc, buf, (size_t)res, (struct sockaddr *)&from, c->dtls->peer_len);
}
