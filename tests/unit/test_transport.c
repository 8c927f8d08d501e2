/* test_transport.c — the synchronous API over the application's own transport
 * (NKTLS_setTransport, drive/blocking.c): a full handshake and data both ways
 * through send/receive callbacks over an in-memory pipe, whole or a byte per
 * call; the connections' sockets (a real TCP pair) never carry a byte and never
 * get the kernel's tls ULP, and the record layer says why; receive timeouts are
 * not fatal; the callbacks' failures are what the calls return; the setter's
 * checks. The PKI, stores and server thread come from api_env.h. */
#include "api_env.h"

/* ---- an in-memory pipe, one per direction -------------------------------------- */

struct pipe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ubyte buf[65536];   /* small enough that a large send must wait for room */
    size_t head, len;
    int closed;
};

static void pipe_init(struct pipe *p)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
}

static void pipe_close(struct pipe *p)
{
    pthread_mutex_lock(&p->mu);
    p->closed = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* One end of the connection, as the callbacks see it: pCtx. */
struct end {
    struct pipe *out, *in;
    size_t chunk;            /* most bytes per call (0: any) */
    size_t sent, received;   /* bytes through the callbacks */
    unsigned send_calls, recv_calls;
    MSTATUS fail_recv;       /* when set, every receive returns it */
};

/* Wait on p until ready() or the deadline (ms on CLOCK_REALTIME; 0: none). */
static int pipe_wait(struct pipe *p, int (*ready)(const struct pipe *), ubyte4 ms)
{
    struct timespec end;
    clock_gettime(CLOCK_REALTIME, &end);
    end.tv_sec += ms / 1000;
    end.tv_nsec += (long)(ms % 1000) * 1000000;
    if (end.tv_nsec >= 1000000000) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000;
    }
    while (!ready(p)) {
        if (!ms)
            pthread_cond_wait(&p->cv, &p->mu);
        else if (pthread_cond_timedwait(&p->cv, &p->mu, &end) != 0)
            return ready(p);
    }
    return 1;
}

static int has_room(const struct pipe *p) { return p->closed || p->len < sizeof p->buf; }
static int has_data(const struct pipe *p) { return p->closed || p->len > 0; }

/* TCP_WRITE's shape: blocks until it can take something, takes what fits. */
static MSTATUS end_send(void *ctx, const ubyte *d, ubyte4 n, ubyte4 *sent)
{
    struct end *e = ctx;
    struct pipe *p = e->out;
    size_t k = n;
    pthread_mutex_lock(&p->mu);
    pipe_wait(p, has_room, 0);
    if (p->closed) {
        pthread_mutex_unlock(&p->mu);
        return ERR_TCP_WRITE_ERROR;
    }
    if (e->chunk && k > e->chunk)
        k = e->chunk;
    if (k > sizeof p->buf - p->len)
        k = sizeof p->buf - p->len;
    for (size_t i = 0; i < k; i++)
        p->buf[(p->head + p->len + i) % sizeof p->buf] = d[i];
    p->len += k;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    e->sent += k;
    e->send_calls++;
    *sent = (ubyte4)k;
    return OK;
}

/* TCP_READ_AVL's shape: what is there, after waiting up to ms (0: no limit). */
static MSTATUS end_recv(void *ctx, ubyte *d, ubyte4 n, ubyte4 *got, ubyte4 ms)
{
    struct end *e = ctx;
    struct pipe *p = e->in;
    size_t k = n;
    *got = 0;
    e->recv_calls++;
    if (e->fail_recv)
        return e->fail_recv;
    pthread_mutex_lock(&p->mu);
    if (!pipe_wait(p, has_data, ms)) {
        pthread_mutex_unlock(&p->mu);
        return ERR_TCP_READ_TIMEOUT;
    }
    if (!p->len) {   /* closed and drained */
        pthread_mutex_unlock(&p->mu);
        return ERR_TCP_SOCKET_CLOSED;
    }
    if (e->chunk && k > e->chunk)
        k = e->chunk;
    if (k > p->len)
        k = p->len;
    for (size_t i = 0; i < k; i++)
        d[i] = p->buf[(p->head + i) % sizeof p->buf];
    p->head = (p->head + k) % sizeof p->buf;
    p->len -= k;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    e->received += k;
    *got = (ubyte4)k;
    return OK;
}

static nktlsTransport transport_of(struct end *e)
{
    nktlsTransport t = { .funcPtrSend = end_send, .funcPtrRecv = end_recv, .pCtx = e };
    return t;
}

/* ---- the pair ------------------------------------------------------------------- */

struct xpair {
    struct pair p;           /* sockets, server thread, client handle */
    struct pipe c2s, s2c;
    struct end cli, srv;
};

/* Server side: the transport goes on before the handshake (the pre hook). */
static void pre_transport(struct srv *s)
{
    nktlsTransport t = transport_of((struct end *)s->arg);
    s->st[6] = NKTLS_setTransport(s->h, &t);
}

static void xpair_up(struct xpair *x, size_t chunk, certStorePtr cstore)
{
    pipe_init(&x->c2s);
    pipe_init(&x->s2c);
    x->cli = (struct end){ .out = &x->c2s, .in = &x->s2c, .chunk = chunk };
    x->srv = (struct end){ .out = &x->s2c, .in = &x->c2s, .chunk = chunk };
    x->p.s.pre = pre_transport;
    x->p.s.arg = &x->srv;
    /* Real TCP sockets: the kernel could take kTLS keys on them (in the VM it
     * would), so leaving them alone is the driver's choice, not the socket's. */
    pair_up(&x->p, 1, env.srv, "server.example.com", cstore);
    nktlsTransport t = transport_of(&x->cli);
    ASSERT_EQ(NKTLS_setTransport(x->p.ch, &t), OK);
}

/* Close the client, end both pipes so a server still waiting sees the end,
 * then the rest as pair_down does. */
static void xpair_down(struct xpair *x)
{
    if (x->p.ch > 0)
        ASSERT_EQ(SSL_closeConnection(x->p.ch), OK);
    x->p.ch = 0;
    pipe_close(&x->c2s);
    srv_join(&x->p.s);
    pipe_close(&x->s2c);
    close(x->p.fd[0]);
    close(x->p.fd[1]);
}

/* Nothing went through a socket: no bytes waiting on either end. */
static void expect_socket_unused(int fd, const char *who)
{
    ubyte b;
    ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT);
    EXPECT_EQ(n, -1) TH_LOG("%s: the socket carried bytes", who);
    EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) TH_LOG("%s: %s", who, strerror(errno));
    /* No kernel TLS was set up on it either: it has no upper-layer protocol. */
    char ulp[16] = "";
    socklen_t len = sizeof ulp;
    if (getsockopt(fd, SOL_TCP, TCP_ULP, ulp, &len) == 0)
        EXPECT_STR_EQ(ulp, "") TH_LOG("%s: the socket got the %s ULP", who, ulp);
}

static void expect_software(sbyte4 h, const char *who)
{
    nktlsRecordLayerInfo info;
    ASSERT_EQ(NKTLS_getRecordLayerInfo(h, &info), OK);
    EXPECT_EQ(info.txLayer, NKTLS_LAYER_SOFTWARE);
    EXPECT_EQ(info.rxLayer, NKTLS_LAYER_SOFTWARE);
    EXPECT_STR_EQ(info.txReason, "application transport") TH_LOG("%s", who);
    EXPECT_STR_EQ(info.rxReason, "application transport") TH_LOG("%s", who);
}

/* ---- a whole connection --------------------------------------------------------- */

FIXTURE(xport) {
    int unused;
};
FIXTURE_VARIANT(xport) {
    size_t chunk;
};
FIXTURE_VARIANT_ADD(xport, whole) { .chunk = 0 };
FIXTURE_VARIANT_ADD(xport, byte_per_call) { .chunk = 1 };

/* Server: the record layer, then 64 KiB in, the same back, then the end. */
static void post_echo(struct srv *s)
{
    if (s->hs != OK)
        return;
    nktlsRecordLayerInfo info;
    s->st[0] = NKTLS_getRecordLayerInfo(s->h, &info);
    snprintf(s->text, sizeof s->text, "%s|%s", info.txReason, info.rxReason);
    s->st[1] = recv_check(s->h, 65536, 7);
    if (s->st[1] == OK)
        s->st[2] = send_fill(s->h, 65536, 8);
    s->st[3] = recv_until_end(s->h);
}

TEST_F(xport, handshake_and_data)
{
    struct xpair x = { .p.s.post = post_echo };
    env_up(4);
    xpair_up(&x, variant->chunk, env.cli);
    MSTATUS st = SSL_negotiateConnection(x.p.ch);
    ST_EQ(st, OK);
    expect_software(x.p.ch, "client");

    /* The socket is the connection's name still, and nothing more. */
    TCP_SOCKET fd = -1;
    ASSERT_EQ(SSL_getSocketId(x.p.ch, &fd), OK);
    ASSERT_EQ(fd, x.p.fd[0]);
    ASSERT_EQ(SSL_getInstanceFromSocket(x.p.fd[0]), x.p.ch);

    /* Nothing is there yet: a timeout, and the connection goes on. */
    sbyte b[16];
    sbyte4 n = -1;
    st = SSL_recv(x.p.ch, b, sizeof b, &n, 50);
    ST_EQ(st, ERR_TCP_READ_TIMEOUT);
    ASSERT_EQ(n, 0);
    st = send_fill(x.p.ch, 65536, 7);
    ST_EQ(st, OK);
    st = recv_check(x.p.ch, 65536, 8);
    ST_EQ(st, OK);

    expect_socket_unused(x.p.fd[0], "client");
    expect_socket_unused(x.p.fd[1], "server");
    xpair_down(&x);
    ST_EXPECT(x.p.s.st[6], OK);
    ST_EXPECT(x.p.s.hs, OK);
    EXPECT_STR_EQ(x.p.s.text, "application transport|application transport");
    ST_EXPECT(x.p.s.st[1], OK);
    ST_EXPECT(x.p.s.st[2], OK);
    /* The client's close_notify came through the transport too. */
    ST_EXPECT(x.p.s.st[3], ERR_SSL_CONNECTION_CLOSED);
    /* Every byte one side sent, the other received, through the callbacks;
     * only the server's answering close_notify (one record) was never read. */
    EXPECT_EQ(x.cli.sent, x.srv.received);
    EXPECT_EQ(x.c2s.len, 0u);
    EXPECT_EQ(x.srv.sent, x.cli.received + x.s2c.len);
    EXPECT_EQ(x.s2c.len, 5u + 2 + 1 + 16) TH_LOG("an encrypted alert record");
    EXPECT_GT(x.cli.sent, (size_t)65536);
    EXPECT_GT(x.srv.sent, (size_t)65536);
    if (variant->chunk == 1)
        EXPECT_EQ(x.cli.send_calls, (unsigned)x.cli.sent);
    env_down();
}

/* Kernel TLS required: the transport leaves the kernel nothing to take, so the
 * handshake fails the way it does for any socket the kernel cannot carry. */
TEST(ktls_required_is_refused)
{
    struct xpair x = { .p.s.post = post_wait_end };
    env_up(4);
    xpair_up(&x, 0, env.cli);
    ASSERT_EQ(NKTLS_setKtlsMode(x.p.ch, NKTLS_KTLS_REQUIRE), OK);
    MSTATUS st = SSL_negotiateConnection(x.p.ch);
    ST_EQ(st, ERR_SSL_KTLS_UNAVAILABLE);
    expect_software(x.p.ch, "client");
    expect_socket_unused(x.p.fd[0], "client");
    xpair_down(&x);
    env_down();
}

/* ---- failures ------------------------------------------------------------------- */

/* A status the receive call returns is what the handshake returns. */
TEST(callback_failure_is_returned)
{
    struct xpair x = { .p.s.post = post_wait_end };
    env_up(4);
    xpair_up(&x, 0, env.cli);
    x.cli.fail_recv = ERR_TCP_READ_ERROR;
    MSTATUS st = SSL_negotiateConnection(x.p.ch);
    ST_EQ(st, ERR_TCP_READ_ERROR);
    EXPECT_GT(x.cli.sent, 0u);       /* the ClientHello went out first */
    EXPECT_EQ(x.cli.recv_calls, 1u);
    /* Sticky, as any failure. */
    st = SSL_negotiateConnection(x.p.ch);
    ST_EQ(st, ERR_TCP_READ_ERROR);
    xpair_down(&x);
    env_down();
}

/* The peer's side of the pipe has ended before its answer: the end of the
 * stream, reported as on a socket. */
TEST(peer_gone)
{
    struct xpair x = { 0 };
    env_up(4);
    pipe_init(&x.c2s);
    pipe_init(&x.s2c);
    x.cli = (struct end){ .out = &x.c2s, .in = &x.s2c };
    pipe_close(&x.s2c);
    ASSERT_EQ(make_pair(1, x.p.fd), 0);
    x.p.ch = SSL_connect(x.p.fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(x.p.ch, 0);
    nktlsTransport t = transport_of(&x.cli);
    ASSERT_EQ(NKTLS_setTransport(x.p.ch, &t), OK);
    MSTATUS st = SSL_negotiateConnection(x.p.ch);
    ST_EQ(st, ERR_TCP_SOCKET_CLOSED);
    EXPECT_GT(x.cli.sent, 0u);
    ASSERT_EQ(SSL_closeConnection(x.p.ch), OK);
    close(x.p.fd[0]);
    close(x.p.fd[1]);
    env_down();
}

/* The setter: both calls needed; before the handshake only; never on an
 * asynchronous connection; NULL goes back to the socket, which then works. */
TEST(setter_checks)
{
    struct pair p = { .s.post = post_wait_end };
    struct end e = { 0 };
    nktlsTransport t = transport_of(&e), half = { .funcPtrSend = end_send, .pCtx = &e };
    env_up(4);
    ASSERT_EQ(NKTLS_setTransport(12345, &t), ERR_SSL_BAD_ID);
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(NKTLS_setTransport(p.ch, &half), ERR_NULL_POINTER);
    ASSERT_EQ(NKTLS_setTransport(p.ch, &t), OK);
    ASSERT_EQ(NKTLS_setTransport(p.ch, NULL), OK);
    MSTATUS st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    ASSERT_EQ(NKTLS_setTransport(p.ch, &t), ERR_SSL_BAD_STATE);
    pair_down(&p);

    int fd[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
    sbyte4 a = SSL_ASYNC_connect(fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(a, 0);
    ASSERT_EQ(NKTLS_setTransport(a, &t), ERR_SSL_BAD_STATE);
    ASSERT_EQ(SSL_ASYNC_closeConnection(a), OK);
    close(fd[0]);
    close(fd[1]);
    env_down();
}

int main(int argc, char **argv) { return api_env_main(argc, argv); }
