/* test_loop_dtls.c — the event loop as a DTLS 1.2 server on one UDP socket
 * (uring/loop_dtls.c), on io_uring (with and without multishot receives and
 * buffer rings) and epoll: the stateless listener's HelloVerifyRequest,
 * exact bytes, and its verdicts (engine/dtls_listen.c); several blocking
 * nktls DTLS clients at once, their data echoed; a server close
 * (close_notify); datagrams that are not DTLS dropped; a flood of
 * ClientHellos from thousands of addresses costs no connection and no
 * memory, and a real client still gets through; a peer that goes silent
 * after its cookie is retransmitted to by the loop's timer and freed at the
 * handshake timeout; a server flight lost once is sent again by the loop's
 * timer (a relay drops it and the client's own repeats) and the handshake
 * completes; with use_srtp agreed and the SRTP encode callback set, what
 * NKTLS_LOOP_send is given leaves as the callback's packet, a datagram of
 * its own. */
#include <poll.h>
#include <stdatomic.h>
#include "api_env.h"
#include "nktls_loop.h"
#include "engine/conn.h"
#include "engine/dtls.h"
#include "srtp_fake.h"
#include "udp_relay.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RSS_UNRELIABLE 1
#elif __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define RSS_UNRELIABLE (RUNNING_ON_VALGRIND != 0)
#else
#define RSS_UNRELIABLE 0
#endif

#define WAIT_FOR(cond, ms) \
    for (int t_ = 0; t_ < (ms) && !(cond); t_ += 5) \
        usleep(5000)

static long rss_kb(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%ld %ld", &pages, &res) != 2)
        res = 0;
    if (f)
        fclose(f);
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ---- a ClientHello by hand ------------------------------------------------ */

/* A DTLS 1.2 ClientHello datagram: record rec_seq, message_seq msg_seq,
 * the cookie given (may be empty), suites ECDHE-ECDSA/RSA-AES128-GCM and the
 * extensions a server needs to answer it. */
static size_t make_hello(uint8_t *out, uint64_t rec_seq, uint16_t msg_seq, const uint8_t *cookie, size_t cookie_len)
{
    static const uint8_t exts[] = {
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17,               /* supported_groups */
        0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01,   /* signature_algorithms */
        0x00, 0x17, 0x00, 0x00,                                                   /* extended_master_secret */
        0xff, 0x01, 0x00, 0x01, 0x00,                                             /* renegotiation_info */
    };
    uint8_t body[512];
    size_t n = 0;
    body[n++] = 0xfe;
    body[n++] = 0xfd;
    for (int i = 0; i < 32; i++)
        body[n++] = (uint8_t)(0x11 + i);
    body[n++] = 0;   /* session id */
    body[n++] = (uint8_t)cookie_len;
    if (cookie_len)
        memcpy(body + n, cookie, cookie_len);
    n += cookie_len;
    static const uint8_t rest[] = { 0x00, 0x04, 0xc0, 0x2b, 0xc0, 0x2f, 0x01, 0x00, 0x00, sizeof exts };
    memcpy(body + n, rest, sizeof rest);
    n += sizeof rest;
    memcpy(body + n, exts, sizeof exts);
    n += sizeof exts;
    size_t len = 13 + 12 + n;
    uint8_t *p = out;
    *p++ = 22;
    *p++ = 0xfe;
    *p++ = 0xfd;
    *p++ = 0;
    *p++ = 0;
    for (int i = 5; i >= 0; i--)
        *p++ = (uint8_t)(rec_seq >> (8 * i));
    *p++ = (uint8_t)((12 + n) >> 8);
    *p++ = (uint8_t)(12 + n);
    *p++ = 1;   /* client_hello */
    *p++ = 0;
    *p++ = (uint8_t)(n >> 8);
    *p++ = (uint8_t)n;
    *p++ = (uint8_t)(msg_seq >> 8);
    *p++ = (uint8_t)msg_seq;
    *p++ = 0;
    *p++ = 0;
    *p++ = 0;
    *p++ = 0;
    *p++ = (uint8_t)(n >> 8);
    *p++ = (uint8_t)n;
    memcpy(p, body, n);
    return len;
}

/* The HelloVerifyRequest answering a hello of record rec_seq and message
 * msg_seq: every byte but the cookie's (RFC 6347 §4.2.1: the hello's record
 * number and message_seq, server_version DTLS 1.0, a 32-byte cookie). */
static void check_hvr(struct th_meta *_metadata, const uint8_t *r, size_t n, uint64_t rec_seq, uint16_t msg_seq)
{
    const uint8_t head[] = {
        22, 0xfe, 0xfd, 0, 0, (uint8_t)(rec_seq >> 40), (uint8_t)(rec_seq >> 32), (uint8_t)(rec_seq >> 24),
        (uint8_t)(rec_seq >> 16), (uint8_t)(rec_seq >> 8), (uint8_t)rec_seq, 0, 47,
        3, 0, 0, 35, (uint8_t)(msg_seq >> 8), (uint8_t)msg_seq, 0, 0, 0, 0, 0, 35,
        0xfe, 0xff, 32,
    };
    ASSERT_EQ(n, sizeof head + 32);
    ASSERT_MEM_EQ(r, head, sizeof head);
}

static const struct sockaddr_in addr_a = { .sin_family = AF_INET, .sin_port = 0x3412, .sin_addr = { 0x0100007f } };
static const struct sockaddr_in addr_b = { .sin_family = AF_INET, .sin_port = 0x3512, .sin_addr = { 0x0100007f } };

/* The listener on its own: an answer of exact bytes, the cookie it holds
 * accepted from the same address only, and what it drops. */
TEST(listen_verdicts)
{
    ASSERT_EQ(MOCANA_initMocana(), OK);
    uint8_t hello[600], reply[NK_DTLS_LISTEN_REPLY_MAX], again[NK_DTLS_LISTEN_REPLY_MAX];
    size_t rn = 0, an = 0, n = make_hello(hello, 7, 0, NULL, 0);
    int64_t now = 1700000000000;
    ASSERT_EQ((int)nk_dtls_listen(hello, n, &addr_a, sizeof addr_a, now, reply, &rn), (int)NK_DTLS_REPLY);
    check_hvr(_metadata, reply, rn, 7, 0);
    /* Stateless: the same hello gets the same cookie, numbered from itself. */
    n = make_hello(hello, 0x123456789aULL, 0, NULL, 0);
    ASSERT_EQ((int)nk_dtls_listen(hello, n, &addr_a, sizeof addr_a, now, again, &an), (int)NK_DTLS_REPLY);
    check_hvr(_metadata, again, an, 0x123456789aULL, 0);
    ASSERT_MEM_EQ(again + 28, reply + 28, 32);
    uint8_t cookie[32];
    memcpy(cookie, reply + 28, 32);
    n = make_hello(hello, 8, 1, cookie, 32);
    ASSERT_EQ((int)nk_dtls_listen(hello, n, &addr_a, sizeof addr_a, now, reply, &rn), (int)NK_DTLS_ACCEPT);
    ASSERT_EQ(rn, 0u);
    /* The cookie is the address's: from another one it is answered again. */
    ASSERT_EQ((int)nk_dtls_listen(hello, n, &addr_b, sizeof addr_b, now, reply, &rn), (int)NK_DTLS_REPLY);
    check_hvr(_metadata, reply, rn, 8, 1);
    /* Two windows later the secret changed. */
    ASSERT_EQ((int)nk_dtls_listen(hello, n, &addr_a, sizeof addr_a, now + 180000, reply, &rn), (int)NK_DTLS_REPLY);
    /* A wrong cookie byte. */
    cookie[5] ^= 1;
    n = make_hello(hello, 8, 1, cookie, 32);
    ASSERT_EQ((int)nk_dtls_listen(hello, n, &addr_a, sizeof addr_a, now, reply, &rn), (int)NK_DTLS_REPLY);
    /* Dropped: a fragment of a hello, epoch 1, another content type, a
     * truncated record, a malformed body, nothing at all. */
    n = make_hello(hello, 9, 0, NULL, 0);
    hello[13 + 11] ^= 0x10;   /* fragment_length no longer the message's */
    ASSERT_EQ((int)nk_dtls_listen(hello, n, &addr_a, sizeof addr_a, now, reply, &rn), (int)NK_DTLS_DROP);
    n = make_hello(hello, 9, 0, NULL, 0);
    hello[4] = 1;
    ASSERT_EQ((int)nk_dtls_listen(hello, n, &addr_a, sizeof addr_a, now, reply, &rn), (int)NK_DTLS_DROP);
    n = make_hello(hello, 9, 0, NULL, 0);
    hello[0] = 23;
    ASSERT_EQ((int)nk_dtls_listen(hello, n, &addr_a, sizeof addr_a, now, reply, &rn), (int)NK_DTLS_DROP);
    n = make_hello(hello, 9, 0, NULL, 0);
    ASSERT_EQ((int)nk_dtls_listen(hello, n - 1, &addr_a, sizeof addr_a, now, reply, &rn), (int)NK_DTLS_DROP);
    hello[13 + 12 + 34] = 40;   /* the cookie's length runs past the body */
    ASSERT_EQ((int)nk_dtls_listen(hello, n, &addr_a, sizeof addr_a, now, reply, &rn), (int)NK_DTLS_DROP);
    ASSERT_EQ((int)nk_dtls_listen(hello, 0, &addr_a, sizeof addr_a, now, reply, &rn), (int)NK_DTLS_DROP);
    ASSERT_EQ(rn, 0u);
    ASSERT_EQ(MOCANA_freeMocana(), OK);
}

/* ---- the loop server ------------------------------------------------------ */

struct dctx {
    atomic_int setups, opened, closed, st_ok, st_hs_timeout, st_idle, retransmits;
    atomic_int addr_known;   /* onSetup: NKTLS_getPeerAddress named a loopback peer */
    atomic_int last_open;    /* the handle onOpen saw last */
    atomic_int last_st;
    /* The datagram callback (d_datagram): how many, and the last one's peer, source port
     * and bytes; each is sent back to its source on the server's socket. */
    atomic_int dgrams, dg_handle, dg_port;
    uint8_t dg_bytes[64];
    size_t dg_len;
    int fd;
};

/* srtp_peers: the server agrees use_srtp and greets each peer when it opens. */
static int srtp_peers;
static ubyte2 srtp_profile = SRTP_AES128_CM_HMAC_SHA1_80;

static void d_open(sbyte4 h, void *arg)
{
    struct dctx *x = arg;
    struct nk_conn *c;
    if (nk_conn_get(h, &c) == OK && c->dtls)
        atomic_fetch_add(&x->retransmits, (int)c->dtls->retransmits);
    atomic_fetch_add(&x->opened, 1);
    atomic_store(&x->last_open, h);
    if (srtp_peers)
        NKTLS_LOOP_send(h, (const ubyte *)"srtp hello", 10);
}

/* Echo; "close" makes the server close (close_notify). */
static void d_data(sbyte4 h, const ubyte *d, ubyte4 n, void *arg)
{
    (void)arg;
    if (n == 5 && memcmp(d, "close", 5) == 0)
        NKTLS_LOOP_close(h);
    else
        NKTLS_LOOP_send(h, d, n);
}

static void d_close(sbyte4 h, MSTATUS st, void *arg)
{
    struct dctx *x = arg;
    atomic_fetch_add(&x->st_ok, st == OK);
    atomic_fetch_add(&x->st_hs_timeout, st == ERR_SSL_HANDSHAKE_TIMEOUT);
    atomic_fetch_add(&x->st_idle, st == ERR_TCP_READ_TIMEOUT);
    atomic_store(&x->last_st, st);
    atomic_fetch_add(&x->closed, 1);
}

static MSTATUS d_setup(sbyte4 h, void *arg)
{
    struct dctx *x = arg;
    atomic_fetch_add(&x->setups, 1);
    MOC_IP_ADDRESS_S a;
    ubyte2 port = 0;
    if (NKTLS_getPeerAddress(h, &port, &a) == OK && a.family == AF_INET && a.uin.addr == 0x7f000001u && port)
        atomic_fetch_add(&x->addr_known, 1);
    if (srtp_peers && SSL_enableSrtpProfiles(h, &srtp_profile, 1) < 0)
        return ERR_SSL_BAD_STATE;
    return SSL_isSessionDTLS(h) == TRUE ? OK : ERR_SSL_BAD_STATE;
}

static const nktlsLoopCallbacks d_cb = { d_setup, d_open, d_data, d_close, NULL };

/* Media beside DTLS on the server's socket, as a DTLS-SRTP server reads it:
 * recorded, and sent back to where it came from with the application's own
 * sendto. */
static void d_datagram(sbyte4 h, const struct sockaddr *from, ubyte4 fl, const ubyte *d, ubyte4 n, void *arg)
{
    struct dctx *x = arg;
    x->dg_len = n < sizeof x->dg_bytes ? n : sizeof x->dg_bytes;
    memcpy(x->dg_bytes, d, x->dg_len);
    atomic_store(&x->dg_handle, h);
    atomic_store(&x->dg_port, from->sa_family == AF_INET ? ntohs(((const struct sockaddr_in *)from)->sin_port) : -1);
    (void)!sendto(x->fd, d, n, 0, from, fl);
    atomic_fetch_add(&x->dgrams, 1);
}

static nktlsLoopDatagramCallback d_on_datagram;   /* what dsrv_start sets, if any */

struct denv {
    struct dctx x;
    int fd;
    struct sockaddr_in addr;
    sbyte4 srv, backend;
    pthread_t th;
    int th_up;
};

static void *run_thread(void *p)
{
    return (void *)(intptr_t)NKTLS_LOOP_run(((struct denv *)p)->srv);
}

/* The server on a loopback UDP socket, in a thread; 0 after SKIP. */
static int dsrv_start(struct th_meta *_metadata, struct denv *e, ubyte4 hs_ms, ubyte4 idle_ms)
{
    nktlsLoopOptions o = { .backend = e->backend, .handshakeTimeoutMs = hs_ms, .idleTimeoutMs = idle_ms };
    e->x.fd = e->fd;
    e->srv = NKTLS_LOOP_createServer(&e->fd, 1, env.srv, &d_cb, &e->x, &o);
    if (e->srv == ERR_NOT_SUPPORTED)
        SKIP(return 0, "io_uring unavailable");
    ASSERT_GT(e->srv, 0);
    if (d_on_datagram)
        ASSERT_EQ(NKTLS_LOOP_setDatagramCallback(e->srv, d_on_datagram), OK);
    ASSERT_EQ(pthread_create(&e->th, NULL, run_thread, e), 0);
    e->th_up = 1;
    return 1;
}

static nktlsLoopStats dstats(struct denv *e)
{
    nktlsLoopStats s;
    memset(&s, 0, sizeof s);
    NKTLS_LOOP_getStats(e->srv, &s);
    return s;
}

/* A blocking nktls DTLS client on a UDP socket connected to the server. */
static sbyte4 dtls_client(const struct sockaddr_in *to, int *fd_out)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)to, sizeof *to) < 0)
        return ERR_TCP_CONNECT_ERROR;
    *fd_out = fd;
    sbyte4 h = SSL_connect(fd, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    return h;
}

struct cli_job {
    const struct sockaddr_in *to;
    int id;
    MSTATUS st;
};

/* Handshake, three messages echoed byte for byte (the last over 1 KiB),
 * then close_notify. */
static void *client_job(void *p)
{
    struct cli_job *j = p;
    int fd = -1;
    sbyte4 h = dtls_client(j->to, &fd);
    j->st = h < 0 ? h : SSL_negotiateConnection(h);
    for (int k = 0; k < 3 && j->st == OK; k++) {
        char msg[1100], back[1200];
        int n = k < 2 ? snprintf(msg, sizeof msg, "client %d message %d", j->id, k) : (int)sizeof msg;
        if (k == 2)
            for (int i = 0; i < n; i++)
                msg[i] = (char)(j->id * 31 + i);
        sbyte4 got = 0;
        if (SSL_send(h, (sbyte *)msg, n) != n)
            j->st = ERR_TCP_WRITE_ERROR;
        else if ((j->st = SSL_recv(h, (sbyte *)back, sizeof back, &got, 5000)) == OK
                 && (got != n || memcmp(back, msg, (size_t)n) != 0))
            j->st = ERR_GENERAL;
    }
    if (h > 0)
        SSL_closeConnection(h);
    if (fd >= 0)
        close(fd);
    return NULL;
}

FIXTURE(ldtls) {
    struct denv e;
};

FIXTURE_VARIANT(ldtls) {
    sbyte4 backend;
    const char *disable;     /* NKTLS_URING_DISABLE */
};

FIXTURE_VARIANT_ADD(ldtls, uring) {
    .backend = NKTLS_LOOP_BACKEND_URING,
};
FIXTURE_VARIANT_ADD(ldtls, uring_basic) {
    .backend = NKTLS_LOOP_BACKEND_URING, .disable = "multishot,bufring",
};
FIXTURE_VARIANT_ADD(ldtls, epoll) {
    .backend = NKTLS_LOOP_BACKEND_EPOLL,
};

FIXTURE_SETUP(ldtls)
{
    memset(&self->e, 0, sizeof self->e);
    if (variant->disable)
        setenv("NKTLS_URING_DISABLE", variant->disable, 1);
    self->e.backend = variant->backend;
    env_up(64);
    self->e.fd = udp_bound(&self->e.addr, INADDR_LOOPBACK);
    ASSERT_GE(self->e.fd, 0);
}

FIXTURE_TEARDOWN(ldtls)
{
    struct denv *e = &self->e;
    if (e->th_up) {
        void *r;
        ASSERT_EQ(NKTLS_LOOP_stop(e->srv), OK);
        ASSERT_EQ(pthread_join(e->th, &r), 0);
        EXPECT_EQ((MSTATUS)(intptr_t)r, OK);
        ASSERT_EQ(NKTLS_LOOP_destroy(e->srv), OK);
    }
    if (e->fd >= 0)
        close(e->fd);
    d_on_datagram = NULL;
    env_down();
}

#define N_CLIENTS 4

/* Several clients at once, each with its own address: each handshake, the
 * data echoed, the close_notify that ends each peer. */
TEST_F(ldtls, echo_many)
{
    struct denv *e = &self->e;
    if (!dsrv_start(_metadata, e, 0, 0))
        return;
    struct cli_job jobs[N_CLIENTS];
    pthread_t th[N_CLIENTS];
    for (int i = 0; i < N_CLIENTS; i++) {
        jobs[i] = (struct cli_job){ .to = &e->addr, .id = i, .st = NOT_RUN };
        ASSERT_EQ(pthread_create(&th[i], NULL, client_job, &jobs[i]), 0);
    }
    for (int i = 0; i < N_CLIENTS; i++) {
        pthread_join(th[i], NULL);
        ST_EQ_AT(jobs[i].st, OK, at("client %d", i));
    }
    WAIT_FOR(atomic_load(&e->x.closed) == N_CLIENTS, 5000);
    ASSERT_EQ(atomic_load(&e->x.setups), N_CLIENTS);
    ASSERT_EQ(atomic_load(&e->x.addr_known), N_CLIENTS);   /* each peer's address, from its datagrams */
    ASSERT_EQ(atomic_load(&e->x.opened), N_CLIENTS);
    ASSERT_EQ(atomic_load(&e->x.st_ok), N_CLIENTS);   /* the clients' close_notify */
    WAIT_FOR(dstats(e).live == 0, 2000);
    nktlsLoopStats s = dstats(e);
    ASSERT_EQ(s.live, 0u);
    ASSERT_EQ(s.accepted, (ubyte8)N_CLIENTS);
    ASSERT_EQ(s.opened, (ubyte8)N_CLIENTS);
}

/* NKTLS_LOOP_close: the client reads close_notify. A datagram that is not
 * DTLS (RFC 7983: STUN, RTP) is dropped without an answer, and a hello
 * without a cookie gets a HelloVerifyRequest and no connection. */
TEST_F(ldtls, server_close_and_strays)
{
    struct denv *e = &self->e;
    if (!dsrv_start(_metadata, e, 0, 0))
        return;
    struct sockaddr_in me;
    int raw = udp_bound(&me, INADDR_LOOPBACK);
    ASSERT_GE(raw, 0);
    ASSERT_EQ(connect(raw, (struct sockaddr *)&e->addr, sizeof e->addr), 0);
    uint8_t stun[20] = { 0x00, 0x01 }, rtp[12] = { 0x80, 0x00 }, buf[2048];
    ASSERT_EQ(send(raw, stun, sizeof stun, 0), (ssize_t)sizeof stun);
    ASSERT_EQ(send(raw, rtp, sizeof rtp, 0), (ssize_t)sizeof rtp);
    size_t n = make_hello(buf, 3, 0, NULL, 0);
    ASSERT_EQ(send(raw, buf, n, 0), (ssize_t)n);
    struct pollfd pf = { .fd = raw, .events = POLLIN };
    ASSERT_EQ(poll(&pf, 1, 5000), 1);
    ssize_t got = recv(raw, buf, sizeof buf, 0);
    check_hvr(_metadata, buf, (size_t)got, 3, 0);   /* the first answer is the hello's */
    ASSERT_EQ(poll(&pf, 1, 100), 0);
    ASSERT_EQ(dstats(e).live, 0u);
    ASSERT_EQ(dstats(e).accepted, 0u);
    close(raw);

    int fd = -1;
    sbyte4 h = dtls_client(&e->addr, &fd);
    ASSERT_GT(h, 0);
    ST_EQ(SSL_negotiateConnection(h), OK);
    ASSERT_EQ(SSL_send(h, (sbyte *)"close", 5), 5);
    sbyte4 rn = 0;
    ST_EQ(SSL_recv(h, (sbyte *)buf, sizeof buf, &rn, 5000), ERR_SSL_CONNECTION_CLOSED);
    WAIT_FOR(atomic_load(&e->x.closed) == 1, 5000);
    ASSERT_EQ(atomic_load(&e->x.st_ok), 1);
    WAIT_FOR(dstats(e).live == 0, 2000);
    ASSERT_EQ(dstats(e).live, 0u);
    SSL_closeConnection(h);
    close(fd);
}

#define FLOOD 3000

/* §4.2.1: thousands of ClientHellos, each from another address (127.1.x.y,
 * ports of their own) and without a cookie, as spoofed sources would send
 * them: answered, and nothing kept (no connection, no memory); then a real
 * client completes. */
TEST_F(ldtls, spoofed_flood_costs_nothing)
{
    struct denv *e = &self->e;
    if (!dsrv_start(_metadata, e, 0, 0))
        return;
    uint8_t hello[600];
    long rss0 = 0;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < FLOOD; i++) {
            struct sockaddr_in me;
            int fd = udp_bound(&me, 0x7f010000u + (uint32_t)(round * FLOOD + i + 1));
            ASSERT_GE(fd, 0);
            size_t n = make_hello(hello, (uint64_t)i, 0, NULL, 0);
            ASSERT_EQ(sendto(fd, hello, n, 0, (struct sockaddr *)&e->addr, sizeof e->addr), (ssize_t)n);
            close(fd);
            if (i % 500 == 499)
                usleep(20000);   /* the server's socket buffer holds a few hundred */
        }
        usleep(200000);
        ASSERT_EQ(dstats(e).live, 0u);
        ASSERT_EQ(dstats(e).accepted, 0u);
        if (round == 0)
            rss0 = rss_kb();   /* after the first round: the first answers' one-time costs are paid */
    }
    long grew = rss_kb() - rss0;
    if (!RSS_UNRELIABLE)
        ASSERT_LT(grew, 512) TH_LOG("RSS grew %ld KiB over %d spoofed hellos", grew, FLOOD);
    struct cli_job j = { .to = &e->addr, .id = 1, .st = NOT_RUN };
    client_job(&j);
    ST_EQ(j.st, OK);
    ASSERT_EQ(dstats(e).accepted, 1u);
    ASSERT_EQ(atomic_load(&e->x.setups), 1);
}

/* Datagrams from the server until none comes for wait_ms: how many had a
 * ServerHello (handshake type 2 in the first record's epoch 0). */
static int count_server_hellos(int fd, int wait_ms, int total_ms)
{
    uint8_t buf[4096];
    int hellos = 0;
    for (int waited = 0; waited < total_ms;) {
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        int r = poll(&pf, 1, wait_ms);
        waited += wait_ms;
        if (r != 1)
            continue;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        hellos += dtls_hs_type(buf, n) == 2;
    }
    return hellos;
}

/* A peer that answers the HelloVerifyRequest and then goes silent: the
 * loop's timer sends the server's flight again (RFC 6347 §4.2.4.1, after
 * 1 s), then frees the peer at the handshake timeout. */
TEST_F(ldtls, silent_peer_timed_out)
{
    struct denv *e = &self->e;
    /* Slow builds (valgrind, sanitizers: TH_TIMEOUT set) get more time. */
    int slow = getenv("TH_TIMEOUT") != NULL;
    if (!dsrv_start(_metadata, e, slow ? 5000 : 1600, 0))
        return;
    struct sockaddr_in me;
    int raw = udp_bound(&me, INADDR_LOOPBACK);
    ASSERT_GE(raw, 0);
    ASSERT_EQ(connect(raw, (struct sockaddr *)&e->addr, sizeof e->addr), 0);
    uint8_t buf[2048];
    size_t n = make_hello(buf, 0, 0, NULL, 0);
    ASSERT_EQ(send(raw, buf, n, 0), (ssize_t)n);
    struct pollfd pf = { .fd = raw, .events = POLLIN };
    ASSERT_EQ(poll(&pf, 1, 5000), 1);
    ssize_t got = recv(raw, buf, sizeof buf, 0);
    check_hvr(_metadata, buf, (size_t)got, 0, 0);
    uint8_t cookie[32];
    memcpy(cookie, buf + 28, 32);
    n = make_hello(buf, 1, 1, cookie, 32);
    ASSERT_EQ(send(raw, buf, n, 0), (ssize_t)n);
    WAIT_FOR(dstats(e).live == 1, 5000);
    ASSERT_EQ(dstats(e).live, 1u);
    /* The flight, and its retransmission 1 s later, in the 1.6 s. */
    int hellos = count_server_hellos(raw, 100, slow ? 4000 : 1400);
    ASSERT_GE(hellos, 2);
    WAIT_FOR(atomic_load(&e->x.closed) == 1, 8000);
    ASSERT_EQ(atomic_load(&e->x.st_hs_timeout), 1);
    WAIT_FOR(dstats(e).live == 0, 3000);
    nktlsLoopStats s = dstats(e);
    ASSERT_EQ(s.live, 0u);
    ASSERT_EQ(s.handshakeTimeouts, 1u);
    ASSERT_EQ(s.opened, 0u);
    close(raw);
}

/* An open peer that goes quiet: the idle timeout closes it (close_notify,
 * ERR_TCP_READ_TIMEOUT). */
TEST_F(ldtls, idle_timeout)
{
    struct denv *e = &self->e;
    if (!dsrv_start(_metadata, e, 0, 300))
        return;
    int fd = -1;
    sbyte4 h = dtls_client(&e->addr, &fd);
    ASSERT_GT(h, 0);
    ST_EQ(SSL_negotiateConnection(h), OK);
    sbyte buf[64];
    sbyte4 rn = 0;
    ST_EQ(SSL_recv(h, buf, sizeof buf, &rn, 5000), ERR_SSL_CONNECTION_CLOSED);
    WAIT_FOR(atomic_load(&e->x.closed) == 1, 5000);
    ASSERT_EQ(atomic_load(&e->x.st_idle), 1);
    ASSERT_EQ(dstats(e).idleTimeouts, 1u);
    SSL_closeConnection(h);
    close(fd);
}

/* ---- a relay that loses the server's first flight once ---------------- */

struct lose_flight {
    struct udp_relay r;
    int holding, dropped_flight, dropped_client;
};

/* Drop the first datagram carrying a ServerHello, and every client datagram
 * from then until the server sends again: only the server's timer can
 * bring the flight back. */
static int lose_server_flight(struct udp_relay *r, int from_client, const uint8_t *d, ssize_t n)
{
    struct lose_flight *x = (struct lose_flight *)r;
    if (from_client) {
        x->dropped_client += x->holding;
        return !x->holding;
    }
    if (dtls_hs_type(d, n) == 2 && !x->dropped_flight) {
        x->dropped_flight = x->holding = 1;
        return 0;
    }
    x->holding = 0;
    return 1;
}

TEST_F(ldtls, lost_flight_resent_by_timer)
{
    struct denv *e = &self->e;
    if (!dsrv_start(_metadata, e, 10000, 0))
        return;
    static struct lose_flight x = { .r.pass = lose_server_flight };
    ASSERT_EQ(udp_relay_start(&x.r, &e->addr), 0);
    struct cli_job j = { .to = &x.r.front_addr, .id = 2, .st = NOT_RUN };
    client_job(&j);
    udp_relay_stop(&x.r);
    ST_EQ(j.st, OK);
    ASSERT_EQ(x.dropped_flight, 1);
    ASSERT_EQ(atomic_load(&e->x.opened), 1);
    ASSERT_GE(atomic_load(&e->x.retransmits), 1);   /* the server sent its flight again */
    TH_LOG("client datagrams dropped while the flight was lost: %d", x.dropped_client);
}

/* RFC 6347 §4.2.8: a client that restarts on the address and port of its
 * open association (no close_notify) gets through the cookie exchange and
 * a new handshake; the old association is abandoned (onClose:
 * ERR_SSL_DTLS_NEW_ASSOCIATION) and the new one serves. */
TEST_F(ldtls, restarted_client_replaces_its_association)
{
    struct denv *e = &self->e;
    if (!dsrv_start(_metadata, e, 0, 0))
        return;
    struct sockaddr_in me;
    int fd = udp_bound(&me, INADDR_LOOPBACK);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(connect(fd, (struct sockaddr *)&e->addr, sizeof e->addr), 0);
    sbyte4 h = SSL_connect(fd, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h, 0);
    ST_EQ(SSL_negotiateConnection(h), OK);
    WAIT_FOR(atomic_load(&e->x.opened) == 1, 5000);
    close(fd);                 /* gone without a word: the server still holds it */
    SSL_closeConnection(h);
    ASSERT_EQ(atomic_load(&e->x.closed), 0);

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&me, sizeof me), 0);   /* the same address and port */
    ASSERT_EQ(connect(fd, (struct sockaddr *)&e->addr, sizeof e->addr), 0);
    h = SSL_connect(fd, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h, 0);
    ST_EQ(SSL_negotiateConnection(h), OK);
    ASSERT_EQ(SSL_send(h, (sbyte *)"again", 5), 5);
    char back[16];
    sbyte4 got = 0;
    ST_EQ(SSL_recv(h, (sbyte *)back, sizeof back, &got, 5000), OK);
    ASSERT_EQ(got, 5);
    ASSERT_MEM_EQ(back, "again", 5);
    WAIT_FOR(atomic_load(&e->x.closed) == 1, 5000);
    ST_EQ(atomic_load(&e->x.last_st), ERR_SSL_DTLS_NEW_ASSOCIATION);
    ASSERT_EQ(atomic_load(&e->x.opened), 2);
    ASSERT_EQ(dstats(e).live, 1u);
    SSL_closeConnection(h);
    close(fd);
}

/* On the worker's thread: how many AEAD contexts the peer's keys hold. */
struct ctx_probe {
    sbyte4 h;
    int ctxs;
    atomic_int done;
};

static void probe_ctxs(void *arg)
{
    struct ctx_probe *p = arg;
    struct nk_conn *c;
    p->ctxs = -1;
    if (nk_conn_get(p->h, &c) == OK && c->rd)
        p->ctxs = (c->rd->aead.ctx != NULL) + (c->wr->aead.ctx != NULL);
    atomic_store(&p->done, 1);
}

static int server_ctxs(struct denv *e, sbyte4 h)
{
    struct ctx_probe p = { .h = h };
    if (NKTLS_LOOP_post(e->srv, 0, probe_ctxs, &p) != OK)
        return -2;
    WAIT_FOR(atomic_load(&p.done), 5000);
    return atomic_load(&p.done) ? p.ctxs : -3;
}

/* A quiet DTLS peer has its two AEAD contexts parked, as a quiet TCP
 * connection does (uring/loop_idle.c: after a second), and its next
 * record keys them again. */
TEST_F(ldtls, quiet_peer_contexts_parked)
{
    struct denv *e = &self->e;
    if (!dsrv_start(_metadata, e, 0, 0))
        return;
    int fd = -1;
    sbyte4 h = dtls_client(&e->addr, &fd);
    ASSERT_GT(h, 0);
    ST_EQ(SSL_negotiateConnection(h), OK);
    WAIT_FOR(atomic_load(&e->x.opened) == 1, 5000);
    sbyte4 sh = atomic_load(&e->x.last_open);
    char back[16];
    sbyte4 got = 0;
    ASSERT_EQ(SSL_send(h, (sbyte *)"one", 3), 3);
    ST_EQ(SSL_recv(h, (sbyte *)back, sizeof back, &got, 5000), OK);
    ASSERT_EQ(server_ctxs(e, sh), 2);
    int ctxs = 2;
    for (int i = 0; i < 40 && ctxs != 0; i++) {
        usleep(100 * 1000);
        ctxs = server_ctxs(e, sh);
    }
    ASSERT_EQ(ctxs, 0);
    ASSERT_EQ(SSL_send(h, (sbyte *)"two", 3), 3);
    ST_EQ(SSL_recv(h, (sbyte *)back, sizeof back, &got, 5000), OK);
    ASSERT_EQ(got, 3);
    ASSERT_MEM_EQ(back, "two", 3);
    ASSERT_EQ(server_ctxs(e, sh), 2);
    SSL_closeConnection(h);
    close(fd);
}

/* RFC 5764 §5.1.2: once use_srtp is agreed, the encode callback's packet
 * goes out on the peer's address as a datagram of its own, no record. */
TEST_F(ldtls, srtp_encode_callback_packet_sent_raw)
{
    struct denv *e = &self->e;
    srtp_peers = 1;
    ASSERT_EQ(SSL_setSrtpEncodeCallback(fake_srtp_encode), OK);
    if (!dsrv_start(_metadata, e, 0, 0))
        return;
    int fd = -1;
    sbyte4 h = dtls_client(&e->addr, &fd);
    ASSERT_GT(h, 0);
    ASSERT_EQ(SSL_enableSrtpProfiles(h, &srtp_profile, 1), OK);
    ST_EQ(SSL_negotiateConnection(h), OK);
    uint8_t buf[256];
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    ASSERT_EQ(poll(&pf, 1, 5000), 1);
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    ASSERT_EQ(n, 21);
    ASSERT_EQ(buf[0], 0x80);
    ASSERT_MEM_EQ(buf + 1, "srtp hello", 10);
    for (int i = 11; i < 21; i++)
        ASSERT_EQ(buf[i], 0xAA);
    struct sockaddr_in me;
    socklen_t ml = sizeof me;
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&me, &ml), 0);
    /* The peer descriptor names the peer this connection serves on the
     * shared socket; a loop peer owns no socket, so no address of ours. */
    ASSERT_EQ(fake_srtp_peer.peerPort, ntohs(me.sin_port));
    ASSERT_EQ(fake_srtp_peer.peerAddr.family, AF_INET);
    ASSERT_EQ(fake_srtp_peer.peerAddr.uin.addr, 0x7f000001u);
    ASSERT_EQ(fake_srtp_peer.srcPort, 0);
    SSL_closeConnection(h);
    close(fd);
    WAIT_FOR(atomic_load(&e->x.closed) == 1, 5000);
    (void)SSL_setSrtpEncodeCallback(NULL);
}

/* The port of a socket's own address. */
static int own_port(int fd)
{
    struct sockaddr_in me;
    socklen_t ml = sizeof me;
    return getsockname(fd, (struct sockaddr *)&me, &ml) == 0 ? ntohs(me.sin_port) : -1;
}

/* RFC 7983 demultiplexing on the loop: what is not DTLS goes to the datagram callback,
 * byte for byte, with the peer at its address while the application knows
 * that peer (from onSetup to onClose) and 0 otherwise; DTLS on the same
 * socket goes on unharmed. */
TEST_F(ldtls, media_datagrams_to_on_datagram)
{
    struct denv *e = &self->e;
    d_on_datagram = d_datagram;
    if (!dsrv_start(_metadata, e, 0, 0))
        return;
    uint8_t rtp[40], stun[20] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42 }, buf[256];
    for (size_t i = 0; i < sizeof rtp; i++)
        rtp[i] = (uint8_t)(i == 0 ? 0x80 : 0x30 + i);

    /* STUN from an address with no association: peer 0, no state made. */
    struct sockaddr_in me;
    int raw = udp_bound(&me, INADDR_LOOPBACK);
    ASSERT_GE(raw, 0);
    ASSERT_EQ(sendto(raw, stun, sizeof stun, 0, (struct sockaddr *)&e->addr, sizeof e->addr), (ssize_t)sizeof stun);
    WAIT_FOR(atomic_load(&e->x.dgrams) == 1, 5000);
    ASSERT_EQ(atomic_load(&e->x.dg_handle), 0);
    ASSERT_EQ(atomic_load(&e->x.dg_port), ntohs(me.sin_port));
    ASSERT_EQ(e->x.dg_len, sizeof stun);
    ASSERT_MEM_EQ(e->x.dg_bytes, stun, sizeof stun);
    ASSERT_EQ(NKTLS_LOOP_setDatagramCallback(e->srv, NULL), ERR_SSL_BAD_STATE);   /* it runs */
    ASSERT_EQ(recv(raw, buf, sizeof buf, 0), (ssize_t)sizeof stun);   /* the application's answer */
    ASSERT_EQ(dstats(e).live, 0u);
    close(raw);

    /* RTP from an open peer's address: that peer's handle. */
    int fd = -1;
    sbyte4 h = dtls_client(&e->addr, &fd);
    ASSERT_GT(h, 0);
    ST_EQ(SSL_negotiateConnection(h), OK);
    WAIT_FOR(atomic_load(&e->x.opened) == 1, 5000);
    ASSERT_EQ(send(fd, rtp, sizeof rtp, 0), (ssize_t)sizeof rtp);
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    ASSERT_EQ(poll(&pf, 1, 5000), 1);
    ASSERT_EQ(recv(fd, buf, sizeof buf, 0), (ssize_t)sizeof rtp);
    ASSERT_MEM_EQ(buf, rtp, sizeof rtp);
    ASSERT_EQ(atomic_load(&e->x.dgrams), 2);
    ASSERT_EQ(atomic_load(&e->x.dg_handle), atomic_load(&e->x.last_open));
    ASSERT_EQ(atomic_load(&e->x.dg_port), own_port(fd));
    ASSERT_EQ(e->x.dg_len, sizeof rtp);
    ASSERT_MEM_EQ(e->x.dg_bytes, rtp, sizeof rtp);

    /* DTLS goes on beside it. */
    sbyte4 rn = 0;
    ASSERT_EQ(SSL_send(h, (sbyte *)"after media", 11), 11);
    ST_EQ(SSL_recv(h, (sbyte *)buf, sizeof buf, &rn, 5000), OK);
    ASSERT_EQ(rn, 11);
    ASSERT_MEM_EQ(buf, "after media", 11);

    /* After onClose the address is nobody's again. */
    SSL_closeConnection(h);
    WAIT_FOR(atomic_load(&e->x.closed) == 1, 5000);
    ASSERT_EQ(send(fd, rtp, sizeof rtp, 0), (ssize_t)sizeof rtp);
    WAIT_FOR(atomic_load(&e->x.dgrams) == 3, 5000);
    ASSERT_EQ(atomic_load(&e->x.dg_handle), 0);
    ASSERT_EQ(atomic_load(&e->x.dg_port), own_port(fd));
    close(fd);
}

int main(int argc, char **argv) { return api_env_main(argc, argv); }
