/* test_api.c — the synchronous NanoSSL API end to end over real sockets
 * (socketpair and TCP loopback): start-up and shutdown, data both ways, receive
 * and handshake timeouts, closure, stale handles, the connection table limit,
 * per-connection settings and queries. (Cipher suites and versions:
 * test_api_versions.c.)
 * The shared set-up (PKI, stores, server thread) is in api_env.h. */
#include "api_env.h"

/* ---- start-up, data, shutdown ------------------------------------------------- */

FIXTURE(xfer) {
    int unused;
};
FIXTURE_VARIANT(xfer) {
    int tcp;
};
FIXTURE_VARIANT_ADD(xfer, unix) { .tcp = 0 };
FIXTURE_VARIANT_ADD(xfer, tcp) { .tcp = 1 };

static const size_t xfer_sizes[3] = { 1, 16 * 1024, 1024 * 1024 };

/* For each size: receive fill(10 + i), answer with fill(20 + i). */
static void post_xfer(struct srv *s)
{
    if (s->hs != OK)
        return;
    for (int i = 0; i < 3; i++) {
        s->st[i] = recv_check(s->h, xfer_sizes[i], 10 + (uint32_t)i);
        if (s->st[i] == OK)
            s->st[i] = send_fill(s->h, xfer_sizes[i], 20 + (uint32_t)i);
        if (s->st[i] != OK)
            return;
    }
    s->st[3] = recv_until_end(s->h);
}

TEST_F(xfer, lifecycle_and_data)
{
    struct pair p = { .s.post = post_xfer };
    ubyte *out = malloc(1 << 20), *in = malloc(1 << 20);
    MSTATUS st;
    ASSERT_NOT_NULL(out);
    ASSERT_NOT_NULL(in);

    env_up(4);
    pair_up(&p, variant->tcp, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    /* Already open: a second call is a no-op. */
    ASSERT_EQ(SSL_negotiateConnection(p.ch), OK);
    for (int i = 0; i < 3; i++) {
        size_t n = xfer_sizes[i];
        fill(out, n, 10 + (uint32_t)i);
        /* A blocking send takes everything. */
        ASSERT_EQ(SSL_send(p.ch, (sbyte *)out, (sbyte4)n), (sbyte4)n);
        st = recv_all(p.ch, in, n, 10000);
        ST_EQ(st, OK);
        fill(out, n, 20 + (uint32_t)i);
        ASSERT_MEM_EQ(in, out, n) TH_LOG("%zu bytes from the server", n);
    }
    /* Zero bytes is a valid send of nothing. */
    ASSERT_EQ(SSL_send(p.ch, (sbyte *)out, 0), 0);
    sbyte4 opened = p.ch;
    /* Left open on purpose: SSL_shutdownStack must free it (ASan would see a leak). */
    sbyte4 spare = SSL_connect(p.fd[0], 0, NULL, NULL, (const sbyte *)"x.example", env.cli);
    ASSERT_GT(spare, 0);
    pair_down(&p);
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(p.s.st[i], OK) TH_LOG("server, %zu bytes: %s", xfer_sizes[i],
                                        errname(p.s.st[i]));
    ST_EXPECT(p.s.st[3], ERR_SSL_CONNECTION_CLOSED);

    /* After shutdown nothing is open and no connection can be made... */
    env_down();
    ubyte4 status = 0;
    ASSERT_EQ(SSL_getSessionStatus(opened, &status), ERR_SSL_BAD_ID);
    ASSERT_EQ(SSL_getSessionStatus(spare, &status), ERR_SSL_BAD_ID);
    ASSERT_EQ(SSL_connect(p.fd[0], 0, NULL, NULL, NULL, NULL), ERR_SSL_NOT_INITIALIZED);
    ASSERT_EQ(SSL_acceptConnection(p.fd[1], NULL), ERR_SSL_NOT_INITIALIZED);

    /* ...and the whole sequence can start again, with a different table size. */
    struct pair q = { .s.post = post_xfer };
    env_up(2);
    pair_up(&q, variant->tcp, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(q.ch);
    ST_EQ(st, OK);
    fill(out, 1, 10);
    ASSERT_EQ(SSL_send(q.ch, (sbyte *)out, 1), 1);
    st = recv_all(q.ch, in, 1, 10000);
    ST_EQ(st, OK);
    fill(out, 1, 20);
    ASSERT_EQ(in[0], out[0]);
    /* Closing in the middle: the server's next read sees close_notify. */
    pair_down(&q);
    ASSERT_EQ(q.s.st[0], OK);
    ST_EQ(q.s.st[1], ERR_SSL_CONNECTION_CLOSED);
    env_down();
    free(out);
    free(in);
}

/* ---- receive timeouts ------------------------------------------------------- */

static void post_late_data(struct srv *s)
{
    if (s->hs != OK)
        return;
    sem_wait(&s->go);
    s->st[0] = send_all(s->h, "late", 4);
    s->st[1] = recv_until_end(s->h);
}

TEST_F(xfer, recv_timeout)
{
    struct pair p = { .s.post = post_late_data };
    sbyte buf[64];
    sbyte4 got = -1;
    MSTATUS st;
    double t0, dt;

    env_up(2);
    pair_up(&p, variant->tcp, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);

    /* The call's own timeout. The library counts whole milliseconds, so allow
     * one for rounding; no upper bound (a loaded machine may be slow). */
    t0 = ms_now();
    st = SSL_recv(p.ch, buf, sizeof(buf), &got, 200);
    dt = ms_now() - t0;
    ST_EQ(st, ERR_TCP_READ_TIMEOUT);
    ASSERT_EQ(got, 0);
    ASSERT_GE(dt, 199.0);

    /* Timeout 0 in the call: the connection's SSL_SET_RECV_TIMEOUT applies. */
    ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_RECV_TIMEOUT, (void *)(uintptr_t)150), OK);
    got = -1;
    t0 = ms_now();
    st = SSL_recv(p.ch, buf, sizeof(buf), &got, 0);
    dt = ms_now() - t0;
    ST_EQ(st, ERR_TCP_READ_TIMEOUT);
    ASSERT_EQ(got, 0);
    ASSERT_GE(dt, 149.0);

    /* Bad arguments change nothing. */
    ASSERT_EQ(SSL_recv(p.ch, buf, 0, &got, 10), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_recv(p.ch, NULL, sizeof(buf), &got, 10), ERR_NULL_POINTER);
    ASSERT_EQ(SSL_recv(p.ch, buf, sizeof(buf), NULL, 10), ERR_NULL_POINTER);

    /* A timeout is not fatal: data sent afterwards arrives. */
    sem_post(&p.s.go);
    st = SSL_recv(p.ch, buf, sizeof(buf), &got, 10000);
    ST_EQ(st, OK);
    ASSERT_EQ(got, 4);
    ASSERT_MEM_EQ(buf, "late", 4);
    pair_down(&p);
    ASSERT_EQ(p.s.st[0], OK);
    ST_EQ(p.s.st[1], ERR_SSL_CONNECTION_CLOSED);
    env_down();
}

/* sslTimeOutHello bounds the whole handshake: a server whose client never
 * speaks gives up with ERR_SSL_HANDSHAKE_TIMEOUT and sends nothing. */
TEST(hello_timeout_server)
{
    int fd[2];
    ubyte buf[64];
    ubyte4 status = 0;
    sbyte4 a = 0, l = 0;
    MSTATUS st;

    env_up(2);
    SSL_sslSettings()->sslTimeOutHello = 300;
    ASSERT_EQ(make_pair(0, fd), 0);
    sbyte4 h = SSL_acceptConnection(fd[1], env.srv);
    ASSERT_GT(h, 0);
    double t0 = ms_now();
    st = SSL_negotiateConnection(h);
    double dt = ms_now() - t0;
    ST_EQ(st, ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_GE(dt, 299.0);
    ASSERT_EQ(recv(fd[0], buf, sizeof(buf), MSG_DONTWAIT), -1);
    ASSERT_EQ(errno, EAGAIN);
    ASSERT_EQ(SSL_getSessionStatus(h, &status), OK);
    ASSERT_EQ(status, (ubyte4)SSL_CONNECTION_NEGOTIATE);
    /* A timeout has no alert to report. */
    ASSERT_EQ(SSL_lookupAlert(h, ERR_SSL_HANDSHAKE_TIMEOUT, &a, &l), ERR_INVALID_ARG);
    /* The failure is sticky. */
    st = SSL_negotiateConnection(h);
    ST_EQ(st, ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_EQ(SSL_closeConnection(h), OK);
    /* Nothing, not even close_notify, went out for a connection never opened. */
    ASSERT_EQ(recv(fd[0], buf, sizeof(buf), MSG_DONTWAIT), -1);
    close(fd[0]);
    close(fd[1]);
    env_down();
}

/* The same on the client: its ClientHello goes out, no answer comes back. */
TEST(hello_timeout_client)
{
    int fd[2];
    ubyte buf[4096];
    MSTATUS st;

    env_up(2);
    SSL_sslSettings()->sslTimeOutHello = 300;
    ASSERT_EQ(make_pair(0, fd), 0);
    sbyte4 h = SSL_connect(fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h, 0);
    double t0 = ms_now();
    st = SSL_negotiateConnection(h);
    double dt = ms_now() - t0;
    ST_EQ(st, ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_GE(dt, 299.0);
    ASSERT_EQ(SSL_closeConnection(h), OK);
    /* Exactly one record arrived: a handshake record (the ClientHello). */
    ssize_t n = recv(fd[1], buf, sizeof(buf), MSG_DONTWAIT);
    ASSERT_GE(n, 5);
    ASSERT_EQ(buf[0], 22);
    ASSERT_EQ(buf[1], 3);
    ASSERT_EQ((size_t)n, 5 + ((size_t)buf[3] << 8 | buf[4]));
    close(fd[0]);
    close(fd[1]);
    env_down();
}

/* sslTimeOutReceive bounds each read of the handshake. */
TEST(handshake_read_timeout)
{
    int fd[2];
    MSTATUS st;

    env_up(2);
    SSL_sslSettings()->sslTimeOutHello = 5000;
    SSL_sslSettings()->sslTimeOutReceive = 200;
    ASSERT_EQ(make_pair(0, fd), 0);
    sbyte4 h = SSL_acceptConnection(fd[1], env.srv);
    ASSERT_GT(h, 0);
    double t0 = ms_now();
    st = SSL_negotiateConnection(h);
    double dt = ms_now() - t0;
    ST_EQ(st, ERR_TCP_READ_TIMEOUT);
    ASSERT_GE(dt, 199.0);
    ASSERT_LT(dt, 4000.0);   /* the per-read limit, not the 5 s handshake limit */
    ASSERT_EQ(SSL_closeConnection(h), OK);
    close(fd[0]);
    close(fd[1]);
    env_down();
}

/* ---- pending data ----------------------------------------------------------- */

static void post_send_100(struct srv *s)
{
    ubyte b[100];
    if (s->hs != OK)
        return;
    fill(b, sizeof(b), 7);
    s->st[1] = SSL_send(s->h, (sbyte *)b, sizeof(b)) == (sbyte4)sizeof(b) ? OK : ERR_GENERAL;
    s->st[0] = recv_until_end(s->h);
}

TEST(pending)
{
    struct pair p = { .s.post = post_send_100 };
    sbyte4 pending = -1, got = 0;
    ubyte want[100], in[200];
    MSTATUS st;

    env_up(2);
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_sendPending(p.ch, &pending), OK);
    ASSERT_EQ(pending, 0);
    ASSERT_EQ(SSL_recvPending(p.ch, &pending), OK);
    ASSERT_EQ(pending, FALSE);
    ASSERT_EQ(SSL_sendPending(p.ch, NULL), ERR_NULL_POINTER);
    ASSERT_EQ(SSL_recvPending(p.ch, NULL), ERR_NULL_POINTER);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);

    /* The server's 100 bytes come in one record: take 10, 90 stay pending. */
    fill(want, sizeof(want), 7);
    st = SSL_recv(p.ch, (sbyte *)in, 10, &got, 10000);
    ST_EQ(st, OK);
    ASSERT_EQ(got, 10);
    ASSERT_MEM_EQ(in, want, 10);
    ASSERT_EQ(SSL_recvPending(p.ch, &pending), OK);
    ASSERT_EQ(pending, TRUE);
    st = SSL_recv(p.ch, (sbyte *)in, sizeof(in), &got, 10000);
    ST_EQ(st, OK);
    ASSERT_EQ(got, 90);
    ASSERT_MEM_EQ(in, want + 10, 90);
    ASSERT_EQ(SSL_recvPending(p.ch, &pending), OK);
    ASSERT_EQ(pending, FALSE);

    /* A blocking send leaves nothing behind. */
    ASSERT_EQ(SSL_send(p.ch, (sbyte *)in, 50), 50);
    ASSERT_EQ(SSL_sendPending(p.ch, &pending), OK);
    ASSERT_EQ(pending, 0);
    pair_down(&p);
    ASSERT_EQ(p.s.st[1], OK);
    ST_EQ(p.s.st[0], ERR_SSL_CONNECTION_CLOSED);
    env_down();
}

/* ---- closure -------------------------------------------------------------- */

static void post_close_notify(struct srv *s)
{
    s->st[0] = s->hs == OK ? SSL_closeConnection(s->h) : NOT_RUN;
}

static void post_drop_socket(struct srv *s)
{
    /* The socket goes away under an open connection: no close_notify. shutdown,
     * not close, so the descriptor number cannot be reused before it is freed. */
    if (s->hs == OK)
        s->st[0] = shutdown(s->fd, SHUT_RDWR) == 0 ? OK : ERR_GENERAL;
    SSL_closeConnection(s->h);
}

TEST_F(xfer, peer_close_notify)
{
    struct pair p = { .s.post = post_close_notify, .s.keep = 1 };
    sbyte buf[16];
    sbyte4 got = -1, id = -1, cls = -1;
    MSTATUS st;

    env_up(2);
    pair_up(&p, variant->tcp, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    st = SSL_recv(p.ch, buf, sizeof(buf), &got, 10000);
    ST_EQ(st, ERR_SSL_CONNECTION_CLOSED);
    ASSERT_EQ(got, 0);
    /* It stays closed. */
    st = SSL_recv(p.ch, buf, sizeof(buf), &got, 100);
    ST_EQ(st, ERR_SSL_CONNECTION_CLOSED);
    /* The alert callback saw close_notify, as a warning. */
    ASSERT_EQ(alerts_for(p.ch, &id, &cls), 1);
    ASSERT_EQ(id, SSL_ALERT_CLOSE_NOTIFY);
    ASSERT_EQ(cls, SSLALERTLEVEL_WARNING);
    pair_down(&p);
    ASSERT_EQ(p.s.st[0], OK);
    env_down();
}

TEST_F(xfer, peer_close_socket)
{
    struct pair p = { .s.post = post_drop_socket, .s.keep = 1 };
    sbyte buf[16];
    sbyte4 got = -1, id = -1, cls = -1;
    MSTATUS st;

    env_up(2);
    pair_up(&p, variant->tcp, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    st = SSL_recv(p.ch, buf, sizeof(buf), &got, 10000);
    ST_EQ(st, ERR_TCP_SOCKET_CLOSED);
    ASSERT_EQ(got, 0);
    ASSERT_EQ(alerts_for(p.ch, &id, &cls), 0);
    pair_down(&p);
    ASSERT_EQ(p.s.st[0], OK);
    env_down();
}

/* ---- handles ----------------------------------------------------------------- */

static sbyte4 dummy_alpn(sbyte4 h, ubyte **out[], sbyte4 *out_len, ubyte *in, sbyte4 in_len)
{
    return -1;
}

static MSTATUS dummy_cert_status(sbyte4 h, struct certChain *chain, MSTATUS st)
{
    return st;
}

static MSTATUS dummy_invalid_cert(sbyte4 h, MSTATUS st)
{
    return st;
}

/* Every per-connection call with handle x must answer ERR_SSL_BAD_ID. */
static void expect_bad_id(sbyte4 x)
{
    static const CNMatchInfo names[] = { { 0, (const sbyte *)"a.example" }, { 0, NULL } };
    static const char *protos[] = { "h2" };
    static const ubyte2 suites[] = { SSL_TLS_AES_128_GCM_SHA256 };
    ubyte b[32] = "label";
    sbyte4 n = 0, a = 0, l = 0;
    ubyte4 u = 0;
    ubyte2 u2 = 0;
    TCP_SOCKET fd = 0;
    void *cookie = NULL;
    const ubyte *proto = NULL;
    const sbyte *name = NULL;
    nktlsRecordLayerInfo info;
    sbyte subj[64];

#define BAD(call) EXPECT_EQ((sbyte4)(call), (sbyte4)ERR_SSL_BAD_ID) TH_LOG("handle %d: %s", x, #call)
    BAD(SSL_negotiateConnection(x));
    BAD(SSL_send(x, (sbyte *)b, 1));
    BAD(SSL_recv(x, (sbyte *)b, sizeof(b), &n, 1));
    BAD(SSL_recvPending(x, &n));
    BAD(SSL_sendPending(x, &n));
    BAD(SSL_ioctl(x, SSL_SET_RECV_TIMEOUT, (void *)(uintptr_t)10));
    BAD(SSL_ioctl(x, SSL_SET_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION));
    BAD(SSL_setSessionFlags(x, 0));
    BAD(SSL_getSessionFlags(x, &u));
    BAD(SSL_getSessionStatus(x, &u));
    BAD(SSL_isSessionSSL(x));
    BAD(SSL_getSocketId(x, &fd));
    BAD(SSL_getCookie(x, &cookie));
    BAD(SSL_setCookie(x, b));
    BAD(SSL_enableCiphers(x, suites, 1));
    BAD(SSL_getCipherInfo(x, &u2, &u));
    BAD(SSL_getSSLTLSVersion(x, &u));
    BAD(SSL_getSignatureAlgo(x, &u2));
    BAD(SSL_setDNSNames(x, names));
    BAD(SSL_setServerNameIndication(x, "a.example"));
    BAD(SSL_setApplicationLayerProtocol(x, 1, protos));
    BAD(SSL_getSelectedApplicationProtocol(x, &proto, &u));
    BAD(SSL_setAlpnCallback(x, dummy_alpn));
    BAD(SSL_setCertAndStatusCallback(x, dummy_cert_status));
    BAD(SSL_setInvalidCertCallback(x, dummy_invalid_cert));
    BAD(SSL_lookupAlert(x, ERR_SSL_PROTOCOL, &a, &l));
    BAD(SSL_sendAlert(x, SSL_ALERT_CLOSE_NOTIFY, SSLALERTLEVEL_WARNING));
    BAD(SSL_sendKeyUpdateRequest(x, SSL_KEY_UPDATE_NOT_REQUESTED));
    BAD(SSL_generateExportKeyMaterial(x, b, sizeof(b), b, 5, NULL, 0, 0));
    BAD(NKTLS_getServerName(x, &name));
    BAD(NKTLS_getNegotiatedGroup(x, &u2));
    BAD(NKTLS_getPeerSubject(x, subj, sizeof(subj)));
    BAD(NKTLS_getPeerSignatureScheme(x, &u2));
    BAD(NKTLS_getRecordLayerInfo(x, &info));
    BAD(NKTLS_setGroups(x, (const ubyte2[]){ tlsExtNamedCurves_x25519 }, 1));
    BAD(SSL_closeConnection(x));
    BAD(SSL_ASYNC_closeConnection(x));
#undef BAD
}

TEST(stale_handle)
{
    struct pair p = { .s.post = post_wait_end };
    sbyte4 seen[8];
    MSTATUS st;

    env_up(2);
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    sbyte4 h = p.ch;
    ASSERT_EQ(SSL_getInstanceFromSocket(p.fd[0]), h);
    pair_down(&p);   /* closes h */
    ST_EQ(p.s.st[0], ERR_SSL_CONNECTION_CLOSED);

    expect_bad_id(h);
    ASSERT_EQ(SSL_getInstanceFromSocket(p.fd[0]), ERR_SSL_BAD_ID);
    /* Never valid: none, negative, an error code, one never issued. */
    expect_bad_id(0);
    expect_bad_id(-1);
    expect_bad_id(INT32_MIN);
    expect_bad_id(ERR_SSL_BAD_ID);
    expect_bad_id(INT32_MAX);

    /* New connections reuse the slot, never the handle. */
    int fd[2];
    ASSERT_EQ(make_pair(0, fd), 0);
    for (int i = 0; i < 8; i++) {
        seen[i] = SSL_connect(fd[0], 0, NULL, NULL, NULL, env.cli);
        ASSERT_GT(seen[i], 0);
        ASSERT_NE(seen[i], h);
        for (int j = 0; j < i; j++)
            ASSERT_NE(seen[i], seen[j]);
        ubyte4 status = 0;
        ASSERT_EQ(SSL_getSessionStatus(seen[i], &status), OK);
        ASSERT_EQ(status, (ubyte4)SSL_CONNECTION_NEGOTIATE);
        expect_bad_id(h);
        ASSERT_EQ(SSL_closeConnection(seen[i]), OK);
        expect_bad_id(seen[i]);
    }
    close(fd[0]);
    close(fd[1]);
    env_down();
}

/* ---- the connection table ------------------------------------------------- */

TEST(too_many_connections)
{
    int fd[2];
    sbyte4 h[4];
    MSTATUS st;

    ASSERT_EQ(MOCANA_initMocana(), OK);
    ASSERT_EQ(make_pair(0, fd), 0);
    /* Before SSL_init nothing can be made; sizes must make sense. */
    ASSERT_EQ(SSL_connect(fd[0], 0, NULL, NULL, NULL, NULL), ERR_SSL_NOT_INITIALIZED);
    ASSERT_EQ(SSL_acceptConnection(fd[1], NULL), ERR_SSL_NOT_INITIALIZED);
    ASSERT_EQ(SSL_init(0, 0), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_init(-1, 1), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_init(1, 1), OK);
    /* The table is sized once: the same size again is fine, another is not. */
    ASSERT_EQ(SSL_init(1, 1), OK);
    ASSERT_EQ(SSL_init(2, 2), ERR_SSL_BAD_STATE);
    make_stores();
    SSL_sslSettings()->sslTimeOutHello = 5000;

    h[0] = SSL_acceptConnection(fd[1], env.srv);
    ASSERT_GT(h[0], 0);
    h[1] = SSL_connect(fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h[1], 0);
    ASSERT_EQ(SSL_connect(fd[0], 0, NULL, NULL, NULL, env.cli), ERR_SSL_TOO_MANY_CONNECTIONS);
    ASSERT_EQ(SSL_acceptConnection(fd[1], env.srv), ERR_SSL_TOO_MANY_CONNECTIONS);
    /* A freed slot is usable again, under a new handle. */
    ASSERT_EQ(SSL_closeConnection(h[0]), OK);
    h[2] = SSL_acceptConnection(fd[1], env.srv);
    ASSERT_GT(h[2], 0);
    ASSERT_NE(h[2], h[0]);
    ASSERT_EQ(SSL_connect(fd[0], 0, NULL, NULL, NULL, env.cli), ERR_SSL_TOO_MANY_CONNECTIONS);
    ASSERT_EQ(SSL_closeConnection(h[1]), OK);
    ASSERT_EQ(SSL_closeConnection(h[2]), OK);
    close(fd[0]);
    close(fd[1]);

    /* The two slots carry a real connection. */
    struct pair p = { .s.post = post_wait_end };
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    ASSERT_EQ(SSL_connect(p.fd[0], 0, NULL, NULL, NULL, env.cli), ERR_SSL_TOO_MANY_CONNECTIONS);
    pair_down(&p);
    ST_EQ(p.s.st[0], ERR_SSL_CONNECTION_CLOSED);
    env_down();
}

/* ---- flags, status, negotiated parameters ------------------------------------- */

TEST(session_info)
{
    struct pair p = { .s.post = post_status };
    ubyte4 u = 0, curves = 0;
    ubyte2 cipher = 0, group = 0, sig = 0;
    MSTATUS st;

    env_up(2);
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_getSessionFlags(p.ch, &u), OK);
    ASSERT_EQ(u, 0u);
    ASSERT_EQ(SSL_setSessionFlags(p.ch, SSL_FLAG_ENABLE_SEND_EMPTY_FRAME | SSL_FLAG_ENABLE_RECV_BUFFER), OK);
    ASSERT_EQ(SSL_getSessionFlags(p.ch, &u), OK);
    ASSERT_EQ(u, (ubyte4)(SSL_FLAG_ENABLE_SEND_EMPTY_FRAME | SSL_FLAG_ENABLE_RECV_BUFFER));
    ASSERT_EQ(SSL_getSessionFlags(p.ch, NULL), ERR_NULL_POINTER);
    ASSERT_EQ(SSL_getSessionStatus(p.ch, &u), OK);
    ASSERT_EQ(u, (ubyte4)SSL_CONNECTION_NEGOTIATE);
    ASSERT_EQ(SSL_getSessionStatus(p.ch, NULL), ERR_NULL_POINTER);
    ASSERT_EQ(SSL_isSessionSSL(p.ch), TRUE);
    ASSERT_EQ(SSL_getCipherInfo(p.ch, &cipher, &curves), ERR_SSL_NOT_OPEN);
    ASSERT_EQ(SSL_getSSLTLSVersion(p.ch, &u), ERR_SSL_NOT_OPEN);

    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    ASSERT_EQ(SSL_getSessionStatus(p.ch, &u), OK);
    ASSERT_EQ(u, (ubyte4)SSL_CONNECTION_OPEN);
    ASSERT_EQ(SSL_getSSLTLSVersion(p.ch, &u), OK);
    ASSERT_EQ(u, (ubyte4)TLS13_MINORVERSION);
    ASSERT_EQ(SSL_getCipherInfo(p.ch, &cipher, &curves), OK);
    ASSERT_EQ(cipher, SSL_TLS_AES_128_GCM_SHA256);   /* first in both default lists */
    /* The client knows only the group the server chose. */
    ASSERT_EQ(curves, 1u << tlsExtNamedCurves_x25519);
    ASSERT_EQ(SSL_getCipherInfo(p.ch, NULL, &curves), ERR_NULL_POINTER);
    ASSERT_EQ(NKTLS_getNegotiatedGroup(p.ch, &group), OK);
    ASSERT_EQ(group, tlsExtNamedCurves_x25519);
    ASSERT_EQ(SSL_getSignatureAlgo(p.ch, &sig), OK);
    ASSERT_EQ(sig, 0x0403);   /* ecdsa_secp256r1_sha256: the P-256 server key */
    /* Flags survive the handshake. */
    ASSERT_EQ(SSL_getSessionFlags(p.ch, &u), OK);
    ASSERT_EQ(u, (ubyte4)(SSL_FLAG_ENABLE_SEND_EMPTY_FRAME | SSL_FLAG_ENABLE_RECV_BUFFER));
    pair_down(&p);

    ST_EQ(p.s.hs, OK);
    ASSERT_EQ(p.s.st[1], OK);
    ASSERT_EQ(p.s.u[0], (ubyte4)SSL_CONNECTION_OPEN);
    ASSERT_EQ(p.s.st[2], OK);
    ASSERT_EQ(p.s.u[1], (ubyte4)SSL_TLS_AES_128_GCM_SHA256);
    /* The server saw every group the client supports. */
    ASSERT_EQ(p.s.u[2], (1u << tlsExtNamedCurves_x25519) | (1u << tlsExtNamedCurves_secp256r1) |
                        (1u << tlsExtNamedCurves_secp384r1) | (1u << tlsExtNamedCurves_x448) |
                        (1u << tlsExtNamedCurves_secp521r1));
    ASSERT_EQ(p.s.st[3], OK);
    ASSERT_EQ(p.s.u[3], (ubyte4)TLS13_MINORVERSION);
    ASSERT_EQ(p.s.st[4], OK);
    ASSERT_EQ(p.s.u[4], (ubyte4)tlsExtNamedCurves_x25519);
    ST_EQ(p.s.st[0], ERR_SSL_CONNECTION_CLOSED);
    env_down();
}

TEST(socket_and_cookie)
{
    int fd[2], x = 0;
    TCP_SOCKET s = -1;
    void *cookie = &x;

    env_up(2);
    ASSERT_EQ(make_pair(0, fd), 0);
    sbyte4 c = SSL_connect(fd[0], 0, NULL, NULL, NULL, env.cli);
    sbyte4 a = SSL_acceptConnection(fd[1], env.srv);
    ASSERT_GT(c, 0);
    ASSERT_GT(a, 0);
    ASSERT_NE(c, a);
    ASSERT_EQ(SSL_getSocketId(c, &s), OK);
    ASSERT_EQ(s, fd[0]);
    ASSERT_EQ(SSL_getSocketId(a, &s), OK);
    ASSERT_EQ(s, fd[1]);
    ASSERT_EQ(SSL_getSocketId(a, NULL), ERR_NULL_POINTER);
    ASSERT_EQ(SSL_getInstanceFromSocket(fd[0]), c);
    ASSERT_EQ(SSL_getInstanceFromSocket(fd[1]), a);
    ASSERT_LT(SSL_getInstanceFromSocket(fd[1] + 100), 0);
    ASSERT_LT(SSL_getInstanceFromSocket(-1), 0);

    ASSERT_EQ(SSL_getCookie(c, &cookie), OK);
    ASSERT_NULL(cookie);
    ASSERT_EQ(SSL_setCookie(c, &x), OK);
    ASSERT_EQ(SSL_getCookie(c, &cookie), OK);
    ASSERT_TRUE(cookie == &x);
    ASSERT_EQ(SSL_getCookie(a, &cookie), OK);
    ASSERT_NULL(cookie);
    ASSERT_EQ(SSL_getCookie(c, NULL), ERR_NULL_POINTER);

    ASSERT_EQ(SSL_closeConnection(c), OK);
    ASSERT_LT(SSL_getInstanceFromSocket(fd[0]), 0);
    ASSERT_EQ(SSL_getInstanceFromSocket(fd[1]), a);
    ASSERT_EQ(SSL_closeConnection(a), OK);
    close(fd[0]);
    close(fd[1]);
    env_down();
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
