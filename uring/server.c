/* uring/server.c — the public extension API (nktls_loop.h): servers and their
 * workers, the backend choice, listening sockets, and the calls applications
 * make on loop connections. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <unistd.h>
#include "uring/loop.h"
#include "drive/async.h"
#include "drive/drive.h"
#include "engine/dtls.h"

#define MAX_SERVERS 64
#define MAX_WORKERS 256
#define SLOT_BITS 16

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct nk_server *g_servers[MAX_SERVERS];
static uint16_t g_gen[MAX_SERVERS];
/* Connection handle -> loop connection, indexed like the connection table. */
static struct nk_lconn *_Atomic *g_lc;

static size_t lc_slot(sbyte4 h)
{
    return ((uint32_t)h & ((1u << SLOT_BITS) - 1)) - 1;
}

void nk_lc_register(struct nk_lconn *lc)
{
    atomic_store(&g_lc[lc_slot(lc->h)], lc);
}

void nk_lc_unregister(struct nk_lconn *lc)
{
    struct nk_lconn *expect = lc;
    atomic_compare_exchange_strong(&g_lc[lc_slot(lc->h)], &expect, NULL);
}

struct nk_lconn *nk_lc_find(sbyte4 h)
{
    struct nk_lconn *lc = h > 0 && g_lc ? atomic_load(&g_lc[lc_slot(h)]) : NULL;
    return lc && lc->h == h ? lc : NULL;
}

/* A connection of a running loop, called from its own worker thread. */
static MSTATUS own(sbyte4 h, struct nk_lconn **out)
{
    NK_CHECK(h > 0 && g_lc, ERR_SSL_BAD_ID);
    struct nk_lconn *lc = atomic_load(&g_lc[lc_slot(h)]);
    NK_CHECK(lc && lc->h == h, ERR_SSL_BAD_ID);
    NK_CHECK(lc->loop->thread_started && pthread_equal(lc->loop->tid, pthread_self()), ERR_SSL_BAD_STATE);
    *out = lc;
    return OK;
}

/* Signal handlers call NKTLS_LOOP_stop: no lock here, only loads. */
static struct nk_server *server_get(sbyte4 h)
{
    uint32_t slot = ((uint32_t)h & 0xff) - 1;
    if (h <= 0 || slot >= MAX_SERVERS)
        return NULL;
    struct nk_server *s = g_servers[slot];
    return s && s->handle == h ? s : NULL;
}

/* ---- backend choice ---- */

static MSTATUS choose_backend(struct nk_server *s, sbyte4 want)
{
    const char *env = getenv("NKTLS_IO");
    NK_CHECK(want >= NKTLS_LOOP_BACKEND_AUTO && want <= NKTLS_LOOP_BACKEND_EPOLL, ERR_INVALID_ARG);
    s->be = &nk_backend_epoll;
    if (want == NKTLS_LOOP_BACKEND_EPOLL) {
        snprintf(s->be_why, sizeof s->be_why, "chosen by the application");
    } else if (want == NKTLS_LOOP_BACKEND_AUTO && env && strcmp(env, "epoll") == 0) {
        snprintf(s->be_why, sizeof s->be_why, "NKTLS_IO=epoll");
    } else if (nk_uring_probe(s) == OK) {
        s->be = &nk_backend_uring;
    } else if (want == NKTLS_LOOP_BACKEND_URING) {
        return ERR_NOT_SUPPORTED;
    }
    s->be_name = s->be->name;
    return OK;
}

/* ---- listening sockets ---- */

/* One more SO_REUSEPORT listener (or UDP socket) on the address of fd; -1 on
 * failure. */
static int sibling(int fd, int dgram)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int one = 1, backlog = SOMAXCONN, s;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    s = socket(ss.ss_family, (dgram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
        || setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0
        || bind(s, (struct sockaddr *)&ss, len) < 0 || (!dgram && listen(s, backlog) < 0)) {
        close(s);
        return -1;
    }
    return s;
}

/* A DTLS server's workers: one UDP socket each (SO_REUSEPORT spreads the
 * peers by address hash, so a peer's datagrams all reach one worker), or
 * else worker 0 alone reads the one socket: a peer's datagrams must never
 * be split between workers. */
static MSTATUS setup_dgram(struct nk_server *s)
{
    for (ubyte4 i = 0; i < s->workers; i++) {
        struct nk_loop *l = &s->loops[i];
        if ((ubyte4)s->n_lfds < s->workers && i > 0)
            l->n_lfds = 0;
        if (l->n_lfds)
            NK_TRY(nk_dgram_init(l));
    }
    return OK;
}

/* Per worker its own SO_REUSEPORT socket where possible: the kernel spreads
 * connections by hash and each accept queue has one reader; otherwise all
 * workers accept on the one socket. UDP sockets serve DTLS (setup_dgram). */
static MSTATUS setup_listeners(struct nk_server *s, const TCP_SOCKET *fds, ubyte4 n)
{
    int reuse = 0;
    socklen_t len = sizeof reuse;
    if (n == 0)
        return OK;
    int dgram = nk_drive_is_datagram(fds[0]);
    for (ubyte4 i = 1; i < n; i++)   /* one kind of socket per server */
        NK_CHECK(nk_drive_is_datagram(fds[i]) == dgram, ERR_INVALID_ARG);
    s->lfds = calloc(s->workers, sizeof *s->lfds);
    NK_CHECK(s->lfds, ERR_MEM_ALLOC_FAIL);
    for (ubyte4 i = 0; i < n; i++)
        s->lfds[i] = fds[i];
    s->n_lfds = (int)n;
    if (n == 1 && s->workers > 1 && getsockopt(fds[0], SOL_SOCKET, SO_REUSEPORT, &reuse, &len) == 0
        && reuse) {
        while ((ubyte4)s->n_lfds < s->workers) {
            int fd = sibling(fds[0], dgram);
            if (fd < 0)
                break;
            s->lfds[s->n_lfds++] = fd;
            s->n_own_lfds++;
        }
        while (s->n_own_lfds && (ubyte4)s->n_lfds < s->workers) {   /* all or none */
            close(s->lfds[--s->n_lfds]);
            s->n_own_lfds--;
        }
    }
    /* Accepted sockets inherit TCP_NODELAY from their listener: set once here,
     * it saves a setsockopt per connection (start_engine). */
    s->lfds_nodelay = !dgram;
    for (int i = 0; i < s->n_lfds && !dgram; i++)
        if (setsockopt(s->lfds[i], IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int)) < 0)
            s->lfds_nodelay = 0;
    for (ubyte4 i = 0; i < s->workers; i++) {
        struct nk_loop *l = &s->loops[i];
        int shared = (ubyte4)s->n_lfds < s->workers;
        l->lfds = shared ? &s->lfds[0] : &s->lfds[i];
        l->n_lfds = 1;
        l->shared_listener = shared && s->workers > 1;
    }
    return dgram ? setup_dgram(s) : OK;
}

static void server_free(struct nk_server *s)
{
    for (ubyte4 i = 0; s->loops && i < s->workers; i++)
        nk_loop_fini(&s->loops[i]);
    for (int i = s->n_lfds - s->n_own_lfds; i < s->n_lfds; i++)
        close(s->lfds[i]);
    free(s->lfds);
    free(s->loops);
    free(s);
}

static MSTATUS server_register(struct nk_server *s)
{
    MSTATUS st = ERR_SSL_TOO_MANY_CONNECTIONS;
    pthread_mutex_lock(&g_mu);
    if (!g_lc)
        g_lc = calloc((size_t)1 << SLOT_BITS, sizeof *g_lc);
    for (uint32_t i = 0; g_lc && i < MAX_SERVERS; i++) {
        if (g_servers[i])
            continue;
        g_gen[i] = (uint16_t)(g_gen[i] % 0x7fff + 1);
        s->handle = (sbyte4)((uint32_t)g_gen[i] << 8 | (i + 1));
        g_servers[i] = s;
        st = OK;
        break;
    }
    pthread_mutex_unlock(&g_mu);
    return g_lc ? st : ERR_MEM_ALLOC_FAIL;
}

static MSTATUS server_setup(struct nk_server *s, const nktlsLoopOptions *o)
{
    const sslSettings *set = &nk_config.ssl;
    s->workers = o && o->workers ? o->workers : 1;
    NK_CHECK(s->workers <= MAX_WORKERS, ERR_INVALID_ARG);
    s->hs_timeout_ms = o && o->handshakeTimeoutMs ? o->handshakeTimeoutMs : set->sslTimeOutHello;
    if (!s->hs_timeout_ms)
        s->hs_timeout_ms = TIMEOUT_SSL_HELLO;
    s->idle_timeout_ms = o ? o->idleTimeoutMs : 0;
    s->max_conns = o ? o->maxConnections : 0;
    s->max_hs = o ? o->maxHandshakes : 0;
    s->dtls_max_peers = s->max_conns ? s->max_conns : NK_LOOP_DTLS_PEERS;
    s->dtls_max_hs = s->max_hs ? s->max_hs : NK_LOOP_DTLS_HANDSHAKES;
    NK_TRY(choose_backend(s, o ? o->backend : NKTLS_LOOP_BACKEND_AUTO));
    s->loops = calloc(s->workers, sizeof *s->loops);
    NK_CHECK(s->loops, ERR_MEM_ALLOC_FAIL);
    for (ubyte4 i = 0; i < s->workers; i++) {
        NK_TRY(nk_loop_init(&s->loops[i], s, (int)i));
        s->loops[i].be = s->be;
    }
    return OK;
}

NK_API sbyte4 NKTLS_LOOP_createServer(const TCP_SOCKET *fds, ubyte4 n, struct certStore *store,
                                      const nktlsLoopCallbacks *cb, void *arg, const nktlsLoopOptions *o)
{
    NK_CHECK(cb && (n == 0 || fds), ERR_NULL_POINTER);
    NK_CHECK(nk_table_ready(), ERR_SSL_NOT_INITIALIZED);
    NK_CHECK(n == 0 || n == 1 || n == (o && o->workers ? o->workers : 1), ERR_INVALID_ARG);
    struct nk_server *s = calloc(1, sizeof *s);
    NK_CHECK(s, ERR_MEM_ALLOC_FAIL);
    s->cb = *cb;
    s->arg = arg;
    s->store = store;
    MSTATUS st = server_setup(s, o);
    if (st == OK)
        st = setup_listeners(s, fds, n);
    if (st == OK)
        st = server_register(s);
    if (st < 0) {
        server_free(s);
        return st;
    }
    return s->handle;
}

/* ---- running ---- */

void nk_set_nonblock(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && !!(fl & O_NONBLOCK) != on)
        (void)!fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* The worker's own backend, made on its own thread (an io_uring ring serves
 * the thread that created it); io_uring failing here still falls back. */
static MSTATUS start_backend(struct nk_loop *l)
{
    struct nk_server *s = l->srv;
    l->be = s->be;
    MSTATUS st = l->be->init(l, l->be_why, sizeof l->be_why);
    if (st < 0 && l->be == &nk_backend_uring) {
        l->be = &nk_backend_epoll;
        st = l->be->init(l, NULL, 0);
    }
    /* epoll accepts until EAGAIN: its listeners must not block. */
    for (int i = 0; st == OK && i < l->n_lfds; i++)
        if (l->be == &nk_backend_epoll)
            nk_set_nonblock(l->lfds[i], 1);
    return st;
}

static void *worker_main(void *p)
{
    struct nk_loop *l = p;
    /* Before any callback: the public calls check they run on this thread. */
    l->tid = pthread_self();
    l->thread_started = 1;
    MSTATUS st = start_backend(l);
    if (st == OK)
        st = nk_loop_run(l);
    if (l->bp)
        l->be->fini(l);
    return (void *)(intptr_t)st;
}

NK_API MSTATUS NKTLS_LOOP_run(sbyte4 h)
{
    struct nk_server *s = server_get(h);
    int expect = 0;
    NK_CHECK(s, ERR_SSL_BAD_ID);
    NK_CHECK(atomic_compare_exchange_strong(&s->running, &expect, 1), ERR_SSL_BAD_STATE);
    MSTATUS st = OK;
    pthread_t *th = calloc(s->workers, sizeof *th);
    uint8_t *made = calloc(s->workers, 1);
    if (!th || !made)
        st = ERR_MEM_ALLOC_FAIL;
    for (ubyte4 i = 1; st == OK && !s->stop && i < s->workers; i++) {
        made[i] = pthread_create(&th[i], NULL, worker_main, &s->loops[i]) == 0;
        if (!made[i])
            st = ERR_MEM_ALLOC_FAIL;
    }
    if (st < 0)
        NKTLS_LOOP_stop(h);
    MSTATUS st0 = s->stop && st == OK ? OK : (MSTATUS)(intptr_t)worker_main(&s->loops[0]);
    for (ubyte4 i = 1; made && i < s->workers; i++) {
        void *r;
        if (made[i] && pthread_join(th[i], &r) == 0 && st == OK)
            st = (MSTATUS)(intptr_t)r;
    }
    for (ubyte4 i = 0; i < s->workers; i++)
        s->loops[i].thread_started = 0;
    if (st == OK)
        st = st0;
    free(th);
    free(made);
    atomic_store(&s->running, 0);
    return st;
}

NK_API MSTATUS NKTLS_LOOP_stop(sbyte4 h)
{
    struct nk_server *s = server_get(h);
    uint64_t one = 1;
    NK_CHECK(s, ERR_SSL_BAD_ID);
    s->stop = 1;
    for (ubyte4 i = 0; i < s->workers; i++)
        (void)!write(s->loops[i].wake_fd, &one, sizeof one);
    return OK;
}

NK_API MSTATUS NKTLS_LOOP_destroy(sbyte4 h)
{
    pthread_mutex_lock(&g_mu);
    struct nk_server *s = server_get(h);
    if (!s || atomic_load(&s->running)) {
        pthread_mutex_unlock(&g_mu);
        return s ? ERR_SSL_BAD_STATE : ERR_SSL_BAD_ID;
    }
    g_servers[((uint32_t)h & 0xff) - 1] = NULL;
    pthread_mutex_unlock(&g_mu);
    server_free(s);
    return OK;
}

/* ---- connections ---- */

/* A client connection on the next worker: TCP, or with dgram DTLS over a
 * UDP socket of its own (IPv4 or IPv6; the address's own length is kept,
 * as a whole sockaddr_storage may be given). */
static sbyte4 new_client(sbyte4 h, const struct sockaddr *addr, ubyte4 len,
                         const sbyte *dns, struct certStore *store, void *arg, int dgram)
{
    struct nk_server *s = server_get(h);
    NK_CHECK(s, ERR_SSL_BAD_ID);
    NK_CHECK(addr, ERR_NULL_POINTER);
    NK_CHECK(len >= sizeof(sa_family_t) && len <= sizeof(struct sockaddr_storage), ERR_INVALID_ARG);
    NK_CHECK(!s->stop, ERR_SSL_BAD_STATE);
    if (dgram) {
        ubyte4 own = addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                     : addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : 0;
        NK_CHECK(own && len >= own, ERR_INVALID_ARG);
        len = own;
    }
    struct nk_loop *l = &s->loops[atomic_fetch_add(&s->next_worker, 1) % s->workers];
    int nb = s->be == &nk_backend_epoll ? SOCK_NONBLOCK : 0;
    int fd = socket(addr->sa_family, (dgram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | nb, 0);
    NK_CHECK(fd >= 0, errno == EMFILE || errno == ENFILE ? ERR_SSL_TOO_MANY_CONNECTIONS : ERR_TCP_CONNECT_ERROR);
    struct nk_conn *c;
    MSTATUS made = nk_async_new(NK_CLIENT, fd, store, &nk_config, (const char *)dns, &c);
    /* DTLS 1.2 on the new connection; the server's address is its peer's
     * (NKTLS_getPeerAddress, the datagram callback, the SRTP callbacks). */
    if (made == OK && dgram && (made = nk_dtls_conn(c, addr, len)) < 0)
        nk_conn_free(c);
    sbyte4 ch = made < 0 ? made : c->handle;
    struct nk_lconn *lc = ch > 0 ? nk_lc_new(l, ch, fd) : NULL;
    if (lc)
        lc->peer = malloc(sizeof *lc->peer);
    if (!lc || !lc->peer) {
        if (lc) {
            lc->c = NULL;   /* freed below with the handle */
            nk_lc_unregister(lc);
            atomic_fetch_sub(&s->live, 1);
            nk_slab_free(&nk_lconn_slab, lc);
        }
        if (ch > 0)
            nk_conn_free(c);
        close(fd);
        return ch > 0 ? ERR_MEM_ALLOC_FAIL : ch;
    }
    memcpy(lc->peer, addr, len);
    lc->peer_len = len;
    lc->is_client = 1;
    lc->dgram = dgram;
    lc->arg = arg;
    atomic_fetch_add(&s->connected, 1);
    nk_loop_submit(l, lc);
    return ch;
}

NK_API sbyte4 NKTLS_LOOP_connect(sbyte4 h, const struct sockaddr *addr, ubyte4 len, const sbyte *dns,
                                 struct certStore *store, void *arg)
{
    return new_client(h, addr, len, dns, store, arg, 0);
}

NK_API sbyte4 NKTLS_LOOP_connectDTLS(sbyte4 h, const struct sockaddr *addr, ubyte4 len, const sbyte *dns,
                                     struct certStore *store, void *arg)
{
    return new_client(h, addr, len, dns, store, arg, 1);
}

NK_API MSTATUS NKTLS_LOOP_post(sbyte4 h, ubyte4 worker, void (*fn)(void *), void *arg)
{
    struct nk_server *s = server_get(h);
    NK_CHECK(s, ERR_SSL_BAD_ID);
    NK_CHECK(fn, ERR_NULL_POINTER);
    NK_CHECK(worker < s->workers, ERR_INVALID_ARG);
    struct nk_post *p = malloc(sizeof *p);
    NK_CHECK(p, ERR_MEM_ALLOC_FAIL);
    p->fn = fn;
    p->arg = arg;
    nk_loop_post(&s->loops[worker], p);
    return OK;
}

NK_API MSTATUS NKTLS_LOOP_send(sbyte4 h, const ubyte *data, ubyte4 len)
{
    struct nk_lconn *lc;
    NK_TRY(own(h, &lc));
    NK_CHECK(data || len == 0, ERR_NULL_POINTER);
    NK_CHECK(nk_lc_app_out(lc) && !lc->close_req, ERR_SSL_NOT_OPEN);
    MSTATUS st = nk_lc_queue_data(lc, data, len);
    nk_lc_kick(lc);
    return st;
}

NK_API MSTATUS NKTLS_LOOP_sendFile(sbyte4 h, int fd, sbyte8 off, ubyte8 len)
{
    struct nk_lconn *lc;
    NK_TRY(own(h, &lc));
    NK_CHECK(fd >= 0 && off >= 0, ERR_INVALID_ARG);
    NK_CHECK(!lc->dgram, ERR_NOT_SUPPORTED);   /* a DTLS peer: datagrams, no byte stream */
    NK_CHECK(nk_lc_app_out(lc) && !lc->close_req, ERR_SSL_NOT_OPEN);
    MSTATUS st = nk_lc_queue_file(lc, fd, off, len);
    nk_lc_kick(lc);
    return st;
}

NK_API MSTATUS NKTLS_LOOP_close(sbyte4 h)
{
    struct nk_lconn *lc;
    NK_TRY(own(h, &lc));
    /* A client this worker's callback made a moment ago, still in the
     * inbox (whose link is the kick list's): closed as the inbox is taken,
     * before it connects (loop_run.c). */
    if (!lc->in_list) {
        lc->close_req = 1;
        return OK;
    }
    if (lc->state < LC_OPEN && !lc->early_out)
        nk_lc_close(lc, ERR_SSL_NOT_OPEN);
    /* Answering 0-RTT data: the handshake goes on, and the close waits for
     * it (close_notify once open, loop.c). */
    lc->close_req = 1;
    nk_lc_kick(lc);
    return OK;
}

NK_API MSTATUS NKTLS_LOOP_setDeadline(sbyte4 h, ubyte4 ms)
{
    struct nk_lconn *lc;
    NK_TRY(own(h, &lc));
    NK_CHECK(nk_lc_app_out(lc) && !lc->close_req, ERR_SSL_NOT_OPEN);
    lc->app_deadline = ms ? lc->loop->now + (int64_t)ms : 0;
    nk_lc_kick(lc);   /* the next step arms a timer for it */
    return OK;
}

NK_API MSTATUS NKTLS_LOOP_setConnArg(sbyte4 h, void *arg)
{
    struct nk_lconn *lc;
    NK_TRY(own(h, &lc));
    lc->arg = arg;
    return OK;
}

NK_API void *NKTLS_LOOP_getConnArg(sbyte4 h)
{
    struct nk_lconn *lc;
    return own(h, &lc) == OK ? lc->arg : NULL;
}

NK_API MSTATUS NKTLS_LOOP_getBackend(sbyte4 h, const char **name, const char **why)
{
    struct nk_server *s = server_get(h);
    NK_CHECK(s, ERR_SSL_BAD_ID);
    if (name)
        *name = s->be_name;
    if (why)
        *why = s->be_why;
    return OK;
}

NK_API MSTATUS NKTLS_LOOP_setDatagramCallback(sbyte4 h, nktlsLoopDatagramCallback on_datagram)
{
    struct nk_server *s = server_get(h);
    NK_CHECK(s, ERR_SSL_BAD_ID);
    NK_CHECK(!atomic_load(&s->running), ERR_SSL_BAD_STATE);   /* the workers read it unlocked */
    s->on_datagram = on_datagram;
    return OK;
}

NK_API MSTATUS NKTLS_LOOP_getStats(sbyte4 h, nktlsLoopStats *st)
{
    struct nk_server *s = server_get(h);
    NK_CHECK(s, ERR_SSL_BAD_ID);
    NK_CHECK(st, ERR_NULL_POINTER);
    st->live = atomic_load(&s->live);
    st->accepted = atomic_load(&s->accepted);
    st->connected = atomic_load(&s->connected);
    st->opened = atomic_load(&s->opened);
    st->rejected = atomic_load(&s->rejected);
    st->handshakeTimeouts = atomic_load(&s->hs_timeouts);
    st->idleTimeouts = atomic_load(&s->idle_timeouts);
    st->deadlineTimeouts = atomic_load(&s->deadlines);
    return OK;
}
