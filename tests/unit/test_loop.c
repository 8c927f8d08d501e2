/* test_loop.c — the event-loop server and client (nktls_loop.h) over TCP
 * loopback, on each backend (io_uring, io_uring without multishot accept and
 * buffer rings, epoll): clients trickling one byte at a time, sendfile, kernel
 * TLS under the loop, 0-RTT data (answered before the client's Finished),
 * idle timeout, a deadline (NKTLS_LOOP_setDeadline), stop, connection limit,
 * workers, and the automatic epoll fallback. The many-connection and memory cases are in
 * test_loop_mem.c. */
#include "loop_env.h"
#include "handshake/early.h"


TEST_F(loop, backend)
{
    const char *name = NULL, *why = NULL;
    if (!lsrv_start(_metadata, &self->e, (nktlsLoopOptions){ 0 }, M_ECHO))
        return;
    ASSERT_EQ(NKTLS_LOOP_getBackend(self->e.srv, &name, &why), OK);
    ASSERT_STR_EQ(name, variant->name);
    ASSERT_NOT_NULL(why);
    TH_LOG("backend %s: %s", name, why);
    if (variant->disable)
        ASSERT_STR_EQ(why, "single-shot accept, poll, then receive into a shared buffer");
    ASSERT_EQ(NKTLS_LOOP_getBackend(0x7fff00ff, &name, &why), ERR_SSL_BAD_ID);
    ASSERT_EQ(NKTLS_LOOP_send(1, (const ubyte *)"x", 1), ERR_SSL_BAD_ID);
}

/* ---- clients that trickle one byte at a time ------------------------------- */

struct trickle {
    struct sockaddr_in addr;
    int id;
    MSTATUS st;
};

/* Every byte the engine queued goes out in its own segment. */
static MSTATUS trickle_out(struct nk_conn *c, int fd)
{
    size_t len;
    const uint8_t *p;
    while ((p = nk_out_buf(c, &len)) != NULL) {
        if (send(fd, p, 1, MSG_NOSIGNAL) != 1)
            return ERR_TCP_WRITE_ERROR;
        nk_out_ack(c, 1);
        usleep(50);
    }
    return OK;
}

/* Read one byte into the engine (the socket has a receive timeout). */
static MSTATUS trickle_in(struct nk_conn *c, int fd)
{
    size_t len;
    uint8_t *b = nk_in_buf(c, &len);
    if (!b || !len)
        return c->err < 0 ? c->err : ERR_SSL_BAD_STATE;
    if (recv(fd, b, 1, 0) != 1)
        return ERR_TCP_SOCKET_CLOSED;
    c->now = (int64_t)time(NULL) * 1000;
    return nk_in_ack(c, 1);
}

static MSTATUS trickle_run(struct trickle *t, int fd, struct nk_conn *c)
{
    ubyte msg[3000], back[3000];
    size_t got = 0;
    fill(msg, sizeof msg, (uint32_t)t->id);
    c->ktls_mode = NKTLS_KTLS_OFF;
    NK_TRY(nk_engine_start(c));
    while (c->status != SSL_CONNECTION_OPEN) {
        NK_TRY(trickle_out(c, fd));
        if (c->status != SSL_CONNECTION_OPEN)
            NK_TRY(trickle_in(c, fd));
    }
    NK_TRY(trickle_out(c, fd));
    NK_TRY(nk_app_write(c, msg, 1000));   /* two writes: two records */
    NK_TRY(nk_app_write(c, msg + 1000, sizeof msg - 1000));
    NK_TRY(trickle_out(c, fd));
    while (got < sizeof msg) {
        if (!c->app_len)
            NK_TRY(trickle_in(c, fd));
        got += nk_app_read(c, back + got, sizeof back - got);
    }
    NK_CHECK(memcmp(msg, back, sizeof msg) == 0, ERR_GENERAL);
    NK_TRY(nk_send_alert(&c->tls, SSLALERTLEVEL_WARNING, NK_ALERT_CLOSE_NOTIFY));
    NK_TRY(trickle_out(c, fd));
    while (!c->got_close_notify)
        NK_TRY(trickle_in(c, fd));   /* the server answers with its own */
    return OK;
}

static void *trickle_thread(void *p)
{
    struct trickle *t = p;
    struct nk_conn *c;
    struct timeval tv = { .tv_sec = 10 };
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    t->st = connect(fd, (struct sockaddr *)&t->addr, sizeof t->addr) == 0 ? OK : ERR_TCP_CONNECT_ERROR;
    sbyte4 h = SSL_ASYNC_connect(fd, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    if (t->st == OK && nk_conn_get(h, &c) == OK)
        t->st = trickle_run(t, fd, c);
    SSL_ASYNC_closeConnection(h);
    close(fd);
    return NULL;
}

TEST_F(loop, trickle)
{
    struct trickle t[16];
    pthread_t th[16];
    if (!lsrv_start(_metadata, &self->e, (nktlsLoopOptions){ 0 }, M_ECHO))
        return;
    for (int i = 0; i < 16; i++) {
        t[i] = (struct trickle){ .addr = self->e.addr, .id = i + 1 };
        ASSERT_EQ(pthread_create(&th[i], NULL, trickle_thread, &t[i]), 0);
    }
    for (int i = 0; i < 16; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 16; i++)
        ST_EXPECT_AT(t[i].st, OK, at("client %d: ", i));
    ASSERT_EQ(wait_idle(&self->e, 5000), 0u);
    ASSERT_EQ(atomic_load(&self->e.sc.st_ok), 16);
}

/* ---- sendfile through the loop -------------------------------------------- */

static int make_file(int64_t size)
{
    char path[] = "/tmp/nktls-loop-XXXXXX";
    int fd = mkstemp(path);
    ubyte *b = malloc((size_t)size);
    if (fd < 0 || !b)
        return -1;
    unlink(path);
    for (int64_t i = 0; i < size; i++)
        b[i] = pat(77, (size_t)i);
    ssize_t n = write(fd, b, (size_t)size);
    free(b);
    return n == size ? fd : -1;
}

/* What s_open sends for a file of this size (M_FILE). */
static size_t file_expect(ubyte *out, int64_t size)
{
    size_t o = 0;
    for (int64_t i = 1000; i < size - 7; i++)
        out[o++] = pat(77, (size_t)i);
    memcpy(out + o, "--mid--", 7), o += 7;
    for (int64_t i = size - 10; i < size; i++)
        out[o++] = pat(77, (size_t)i);
    for (int64_t i = 0; i < 5000; i++)
        out[o++] = pat(77, (size_t)i);
    return o;
}

static void run_file_clients(struct th_meta *_metadata, struct lenv *e, int n)
{
    struct cli_ctx x;
    const int64_t size = (1 << 20) + 12345;
    ubyte *want = malloc((size_t)size + 6000);
    size_t want_len = file_expect(want, size);
    e->sc.file_fd = make_file(size);
    e->sc.file_size = size;
    ASSERT_GE(e->sc.file_fd, 0);
    /* No timer may come to the rescue of a connection the loop forgot. */
    if (!lsrv_start(_metadata, e, (nktlsLoopOptions){ .handshakeTimeoutMs = 60000 }, M_FILE))
        return;
    ASSERT_EQ(cli_start(&x, e, n, 0, want_len), OK);
    char ch = ctl_wait(x.ctl[0], 20000);
    if (ch == 'O')
        ch = ctl_wait(x.ctl[0], 20000);
    ASSERT_EQ(ch, 'D');
    for (int i = 0; i < n; i++) {
        ST_EXPECT_AT(x.v[i].st, OK, at("client %d: ", i));
        ASSERT_EQ(x.v[i].got, want_len);
        ASSERT_MEM_EQ(x.v[i].buf, want, want_len);
    }
    EXPECT_EQ(atomic_load(&e->sc.files_ok), 2 * n);
    EXPECT_EQ(atomic_load(&e->sc.files_eof), n);
    cli_stop(&x);
    close(e->sc.file_fd);
    free(want);
}

TEST_F(loop, sendfile)
{
    run_file_clients(_metadata, &self->e, 3);
}

/* ---- kernel TLS (the VM): offload under the loop, proven by the counters ---- */

static long tls_stat(const char *name)
{
    char key[64];
    long v, found = -1;
    FILE *f = fopen("/proc/net/tls_stat", "r");
    while (f && fscanf(f, "%63s %ld", key, &v) == 2)
        if (strcmp(key, name) == 0)
            found = v;
    if (f)
        fclose(f);
    return found;
}

TEST_F(loop, ktls)
{
    struct lenv *e = &self->e;
    const char *why = nk_ktls_unavailable_reason();
    if (why)
        SKIP(return, "no kernel TLS: %s", why);
    long tx0 = tls_stat("TlsTxSw"), rx0 = tls_stat("TlsRxSw");
    if (!lsrv_start(_metadata, e, (nktlsLoopOptions){ 0 }, M_ECHO))
        return;
    cli_run(_metadata, e, 50);
    ASSERT_EQ(wait_idle(e, 5000), 0u);
    EXPECT_EQ(atomic_load(&e->sc.kernel_tx), 50) TH_LOG("%s", e->sc.why);
    EXPECT_EQ(atomic_load(&e->sc.kernel_rx), 50);
    /* Both ends of 50 connections: the kernel installed 100 keys each way. */
    EXPECT_GE(tls_stat("TlsTxSw") - tx0, 100);
    EXPECT_GE(tls_stat("TlsRxSw") - rx0, 100);
    lsrv_stop(_metadata, e);
    memset(&e->sc, 0, sizeof e->sc);
    run_file_clients(_metadata, e, 2);
    EXPECT_EQ(atomic_load(&e->sc.kernel_tx), 2);
}

/* TLS 1.2 under the loop: clients held to 1.2 echo and fetch a file (kTLS
 * sendfile where the kernel has TLS, the software path here); the client loop's
 * onSetup holds its connections to 1.2 before the ClientHello. */
TEST_F(loop, tls12)
{
    struct lenv *e = &self->e;
    const char *why = nk_ktls_unavailable_reason();
    cli_minor = 3;
    if (!lsrv_start(_metadata, e, (nktlsLoopOptions){ 0 }, M_ECHO))
        return;
    cli_run(_metadata, e, 20);
    ASSERT_EQ(wait_idle(e, 5000), 0u);
    EXPECT_EQ(atomic_load(&e->sc.tls12), 20);
    EXPECT_EQ(atomic_load(&e->sc.kernel_tx), why ? 0 : 20) TH_LOG("%s", e->sc.why);
    EXPECT_EQ(atomic_load(&e->sc.kernel_rx), why ? 0 : 20);
    if (why)
        EXPECT_STR_EQ(e->sc.why, "tx: no tls module, rx: no tls module");
    lsrv_stop(_metadata, e);
    memset(&e->sc, 0, sizeof e->sc);
    run_file_clients(_metadata, e, 2);
    EXPECT_EQ(atomic_load(&e->sc.tls12), 2);
    EXPECT_EQ(atomic_load(&e->sc.kernel_tx), why ? 0 : 2);
}

/* ---- 0-RTT data to the loop's server (handshake/tls13_early.c) -------------- */

static ubyte g_ticket[4096];
static ubyte4 g_ticket_len;

static sbyte4 keep_ticket(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte *psk, ubyte4 len)
{
    if (len > sizeof g_ticket)
        return -1;
    memcpy(g_ticket, psk, len);
    g_ticket_len = len;
    return 0;
}

static sbyte4 give_ticket(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte **psk, ubyte4 *len, intBoolean *free_it)
{
    *psk = g_ticket_len ? g_ticket : NULL;
    *len = g_ticket_len;
    *free_it = FALSE;
    return 0;
}

/* A blocking client to the loop's echo server: SSL_setEarlyData's bytes come
 * back first (onData had them at open), then the rest. */
static void early_client(struct th_meta *_metadata, struct lenv *e, const char *early, const char *later,
                         ubyte4 want_status)
{
    char buf[64];
    ubyte4 status = 99;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(connect(fd, (struct sockaddr *)&e->addr, sizeof e->addr), 0);
    sbyte4 h = SSL_connect(fd, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h, 0);
    ASSERT_EQ(SSL_setClientSavePSKCallback(h, keep_ticket), OK);
    ASSERT_EQ(SSL_CLIENT_setRetrievePSKCallback(h, give_ticket), OK);
    if (early)
        ASSERT_EQ(SSL_setEarlyData(h, (ubyte *)early, (ubyte4)strlen(early)), OK);
    ASSERT_EQ(SSL_negotiateConnection(h), OK);
    ASSERT_EQ(SSL_ioctl(h, SSL_GET_EARLY_DATA_STATUS, &status), OK);
    ASSERT_EQ(status, want_status);
    ASSERT_EQ(send_all(h, later, strlen(later)), OK);
    size_t n = (want_status == SSL_EARLY_DATA_ACCEPTED ? strlen(early) : 0) + strlen(later);
    ASSERT_LT(n, sizeof buf);
    ASSERT_EQ(recv_all(h, buf, n, 5000), OK);
    buf[n] = 0;
    if (want_status == SSL_EARLY_DATA_ACCEPTED) {
        ASSERT_EQ(strncmp(buf, early, strlen(early)), 0) TH_LOG("echo: %s", buf);
        ASSERT_STR_EQ(buf + strlen(early), later);
    } else {
        ASSERT_STR_EQ(buf, later);
    }
    ASSERT_EQ(SSL_closeConnection(h), OK);
    close(fd);
}

TEST_F(loop, early_data)
{
    struct lenv *e = &self->e;
    srv_max_early = 4096;
    g_ticket_len = 0;
    if (!lsrv_start(_metadata, e, (nktlsLoopOptions){ 0 }, M_ECHO))
        return;
    early_client(_metadata, e, NULL, "first", SSL_EARLY_DATA_NOT_SENT);
    ASSERT_GT(g_ticket_len, 0u);   /* it came before the echo */
    early_client(_metadata, e, "zero-rtt;", "one-rtt", SSL_EARLY_DATA_ACCEPTED);
    lsrv_stop(_metadata, e);
    srv_max_early = 0;
}

/* Everything the engine queued, to the socket. */
static MSTATUS out_all(struct nk_conn *c, int fd)
{
    size_t len;
    const uint8_t *p;
    while ((p = nk_out_buf(c, &len)) != NULL) {
        ssize_t k = send(fd, p, len, MSG_NOSIGNAL);
        if (k <= 0)
            return ERR_TCP_WRITE_ERROR;
        nk_out_ack(c, (size_t)k);
    }
    return OK;
}

/* What arrived, into the engine (the socket has a receive timeout). */
static MSTATUS in_some(struct nk_conn *c, int fd)
{
    size_t len;
    uint8_t *b = nk_in_buf(c, &len);
    if (!b || !len)
        return c->err < 0 ? c->err : ERR_SSL_BAD_STATE;
    ssize_t k = recv(fd, b, len, 0);
    if (k <= 0)
        return ERR_TCP_SOCKET_CLOSED;
    c->now = (int64_t)time(NULL) * 1000;
    return nk_in_ack(c, (size_t)k);
}

static int wait_closed(struct lenv *e, int n)
{
    for (int i = 0; i < 500 && atomic_load(&e->sc.closed) < n; i++)
        usleep(10000);
    return atomic_load(&e->sc.closed) >= n;
}

/* 0.5-RTT (RFC 8446 §4.4.4): the server answers 0-RTT data right after its
 * Finished. This client holds its EndOfEarlyData and Finished back until the
 * echo of its early data has arrived: with a server that waited for them
 * the receive would time out. Then either the rest of the handshake and
 * 1-RTT data (echoed after the early data), or a Finished damaged on the way:
 * the server fails the handshake and never opens, and onClose says why. */
static void early_held(struct th_meta *_metadata, struct lenv *e, int damage, int before)
{
    static const char early[] = "early;", later[] = "one-rtt";
    char back[16];
    size_t got = 0, held = 0;
    struct timeval tv = { .tv_sec = 5 };
    struct nk_conn *c;
    ASSERT_TRUE(wait_closed(e, before));   /* the earlier connections' onClose */
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    int opened = atomic_load(&e->sc.opened), closed = atomic_load(&e->sc.closed);
    int early_seen = atomic_load(&e->sc.early_data);
    ASSERT_GE(fd, 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ASSERT_EQ(connect(fd, (struct sockaddr *)&e->addr, sizeof e->addr), 0);
    sbyte4 h = SSL_ASYNC_connect(fd, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h, 0);
    ASSERT_EQ(nk_conn_get(h, &c), OK);
    c->ktls_mode = NKTLS_KTLS_OFF;
    ASSERT_EQ(SSL_setClientSavePSKCallback(h, keep_ticket), OK);
    ASSERT_EQ(SSL_CLIENT_setRetrievePSKCallback(h, give_ticket), OK);
    ASSERT_EQ(SSL_setEarlyData(h, (ubyte *)early, sizeof early - 1), OK);
    c->now = (int64_t)time(NULL) * 1000;   /* the ticket's age */
    ASSERT_EQ(nk_engine_start(c), OK);
    ASSERT_EQ(out_all(c, fd), OK);   /* ClientHello, then the early data */
    while (c->status != SSL_CONNECTION_OPEN)
        ASSERT_EQ(in_some(c, fd), OK);   /* the server's flight, to its Finished */
    ASSERT_EQ(nk_early_status(&c->tls), (unsigned)SSL_EARLY_DATA_ACCEPTED);
    ASSERT_NOT_NULL(nk_out_buf(c, &held));   /* EndOfEarlyData, Finished: held */
    while (got < sizeof early - 1) {
        if (!c->app_len)
            ASSERT_EQ(in_some(c, fd), OK) TH_LOG("no answer before our Finished");
        got += nk_app_read(c, (uint8_t *)back + got, sizeof back - got);
    }
    ASSERT_EQ(memcmp(back, early, got), 0);
    EXPECT_EQ(atomic_load(&e->sc.early_data), early_seen + 1);   /* before onOpen */
    EXPECT_EQ(atomic_load(&e->sc.opened), opened);
    if (damage)
        c->out.p[c->out.len - 1] ^= 0x40;   /* the Finished record's tag */
    ASSERT_EQ(out_all(c, fd), OK);
    if (damage) {
        ASSERT_TRUE(wait_closed(e, closed + 1));
        EXPECT_EQ(atomic_load(&e->sc.last_st), ERR_SSL_BAD_RECORD_MAC);
        EXPECT_EQ(atomic_load(&e->sc.opened), opened);
        MSTATUS st;
        while ((st = in_some(c, fd)) == OK)
            ;
        EXPECT_EQ(st, ERR_SSL_FATAL_ALERT);   /* its alert, not a reset */
    } else {
        ASSERT_EQ(nk_app_write(c, (const uint8_t *)later, sizeof later - 1), OK);
        ASSERT_EQ(out_all(c, fd), OK);
        for (got = 0; got < sizeof later - 1;) {
            if (!c->app_len)
                ASSERT_EQ(in_some(c, fd), OK);
            got += nk_app_read(c, (uint8_t *)back + got, sizeof back - got);
        }
        ASSERT_EQ(memcmp(back, later, got), 0);
        EXPECT_EQ(atomic_load(&e->sc.opened), opened + 1);
    }
    SSL_ASYNC_closeConnection(h);
    close(fd);
}

TEST_F(loop, early_answer_before_finished)
{
    struct lenv *e = &self->e;
    srv_max_early = 4096;
    g_ticket_len = 0;
    if (!lsrv_start(_metadata, e, (nktlsLoopOptions){ 0 }, M_ECHO))
        return;
    early_client(_metadata, e, NULL, "first", SSL_EARLY_DATA_NOT_SENT);
    early_held(_metadata, e, 0, 1);
    early_held(_metadata, e, 1, 2);
    lsrv_stop(_metadata, e);
    srv_max_early = 0;
}

/* ---- timeouts, stop, limits, workers -------------------------------------- */

TEST_F(loop, idle_timeout)
{
    struct cli_ctx x;
    if (!lsrv_start(_metadata, &self->e, (nktlsLoopOptions){ .idleTimeoutMs = 200 }, M_ECHO))
        return;
    ASSERT_EQ(cli_start(&x, &self->e, 2, 0, 0), OK);
    double t0 = ms_now();
    ASSERT_EQ(ctl_wait(x.ctl[0], 10000), 'O');
    ASSERT_EQ(ctl_wait(x.ctl[0], 10000), 'D');
    double dt = ms_now() - t0;
    EXPECT_GE(dt, 180.0);
    /* Our policy, not a failure: the server said close_notify. */
    ST_EXPECT(x.v[0].st, OK);
    ST_EXPECT(x.v[1].st, OK);
    cli_stop(&x);
    EXPECT_EQ(stats(&self->e).idleTimeouts, 2u);
    /* The server reports after its close_notify left: the client may be first. */
    WAIT_FOR(atomic_load(&self->e.sc.st_idle) == 2, 5000);
    EXPECT_EQ(atomic_load(&self->e.sc.st_idle), 2);
}

/* A blocking TLS 1.2 client of the loop's server, in software (the kernel
 * cannot take a renegotiation's keys), its handshake done; 0 on failure. */
static sbyte4 reneg_client(struct __test_metadata *_metadata, struct lenv *e, int *fd)
{
    ubyte4 v3 = TLS12_MINORVERSION;
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    if (*fd < 0 || connect(*fd, (struct sockaddr *)&e->addr, sizeof e->addr) != 0)
        return 0;
    sbyte4 h = SSL_connect(*fd, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    if (h <= 0 || SSL_ioctl(h, SSL_SET_VERSION, (void *)(uintptr_t)v3) != OK
        || NKTLS_setKtlsMode(h, NKTLS_KTLS_OFF) != OK || SSL_negotiateConnection(h) != OK)
        return 0;
    return h;
}

/* A TLS 1.2 renegotiation under the loop's server: data echoes before and
 * after it, the handshake runs inside the loop, and onOpen is not called
 * again (the loop reports nothing of it: docs/tls12-status.md). */
TEST_F(loop, reneg_no_second_open)
{
    struct lenv *e = &self->e;
    srv_flags = NKTLS_FLAG_ALLOW_RENEGOTIATION;
    srv_ktls_off = 1;   /* the kernel cannot take a renegotiation's keys */
    if (!lsrv_start(_metadata, e, (nktlsLoopOptions){ 0 }, M_ECHO))
        return;
    int fd;
    sbyte4 h = reneg_client(_metadata, e, &fd);
    ASSERT_GT(h, 0);
    char buf[8];
    ASSERT_EQ(send_all(h, "ping", 4), OK);
    ASSERT_EQ(recv_all(h, buf, 4, 5000), OK);
    ASSERT_EQ(memcmp(buf, "ping", 4), 0);
    ASSERT_EQ(SSL_initiateRehandshake(h), OK);
    /* The handshake runs in the receive calls; the echoes come under
     * whichever keys are current (the first before the server's Finished). */
    ubyte4 status = SSL_CONNECTION_RENEGOTIATE;
    for (int i = 0; i < 4 && status != SSL_CONNECTION_OPEN; i++) {
        ASSERT_EQ(send_all(h, "pong", 4), OK);
        ASSERT_EQ(recv_all(h, buf, 4, 5000), OK);
        ASSERT_EQ(memcmp(buf, "pong", 4), 0);
        ASSERT_EQ(SSL_getSessionStatus(h, &status), OK);
    }
    ASSERT_EQ(status, (ubyte4)SSL_CONNECTION_OPEN);
    struct nk_conn *c;
    ASSERT_EQ(nk_conn_get(h, &c), OK);
    ASSERT_EQ((unsigned)c->reneg_done, 1u);
    EXPECT_EQ(atomic_load(&e->sc.opened), 1);
    ASSERT_EQ(SSL_closeConnection(h), OK);
    close(fd);
    lsrv_stop(_metadata, e);
    EXPECT_EQ(atomic_load(&e->sc.opened), 1);
    EXPECT_EQ(stats(e).handshakeTimeouts, 0u);
    srv_flags = 0;
    srv_ktls_off = 0;
}

/* A TLS 1.2 renegotiation the client begins and abandons (its ClientHello
 * answered, then nothing) has the loop's handshake timeout from its start:
 * the server fails it with ERR_SSL_HANDSHAKE_TIMEOUT, counted as a handshake
 * timeout, not an idle one (there is none here). */
TEST_F(loop, reneg_timeout)
{
    TH_SKIP_TIMING_UNDER_VALGRIND();
    struct lenv *e = &self->e;
    srv_flags = NKTLS_FLAG_ALLOW_RENEGOTIATION;
    srv_ktls_off = 1;   /* the kernel cannot take a renegotiation's keys */
    if (!lsrv_start(_metadata, e, (nktlsLoopOptions){ .handshakeTimeoutMs = 1000 }, M_ECHO))
        return;
    int fd;
    sbyte4 h = reneg_client(_metadata, e, &fd);
    ASSERT_GT(h, 0);
    char buf[8];
    ASSERT_EQ(send_all(h, "ping", 4), OK);
    ASSERT_EQ(recv_all(h, buf, 4, 5000), OK);
    usleep(1300 * 1000);   /* the first handshake's deadline is long past */
    double t0 = ms_now();
    ASSERT_EQ(SSL_initiateRehandshake(h), OK);
    WAIT_FOR(atomic_load(&e->sc.st_hs_timeout) == 1, 5000);
    double dt = ms_now() - t0;
    EXPECT_EQ(atomic_load(&e->sc.st_hs_timeout), 1);
    EXPECT_GE(dt, 950.0);
    EXPECT_EQ(stats(e).handshakeTimeouts, 1u);
    EXPECT_EQ(stats(e).idleTimeouts, 0u);
    ASSERT_EQ(SSL_closeConnection(h), OK);
    close(fd);
    lsrv_stop(_metadata, e);
    srv_flags = 0;
    srv_ktls_off = 0;
}

/* On the client loop: a second round of echoes over the same connections. */
static void c_again(void *arg)
{
    struct cli_ctx *x = arg;
    for (int i = 0; i < x->n; i++)
        x->v[i].got = 0;
    atomic_store(&x->echoed, 0);
    c_all(x);
}

/* NKTLS_LOOP_setDeadline: set at the first data, earlier than the idle timer
 * already armed (the timer is replaced); a second round of echoes still flows
 * (a loop spinning on replaced timers starves its receives), then the
 * deadline (not the idle timeout, not the client) closes each connection with
 * close_notify. */
TEST_F(loop, deadline)
{
    struct cli_ctx x;
    self->e.sc.deadline_ms = 1500;
    if (!lsrv_start(_metadata, &self->e, (nktlsLoopOptions){ .idleTimeoutMs = 60000 }, M_ECHO))
        return;
    ASSERT_EQ(NKTLS_LOOP_setDeadline(1, 100), ERR_SSL_BAD_ID);
    ASSERT_EQ(cli_start(&x, &self->e, 3, 0, 0), OK);
    x.hold = 1;                          /* read by the client loop only after an echo */
    ASSERT_EQ(ctl_wait(x.ctl[0], 10000), 'O');
    x.phase = 1;
    ASSERT_EQ(NKTLS_LOOP_post(x.loop, 0, c_all, &x), OK);
    ASSERT_EQ(ctl_wait(x.ctl[0], 10000), 'E');
    ASSERT_EQ(NKTLS_LOOP_post(x.loop, 0, c_again, &x), OK);
    ASSERT_EQ(ctl_wait(x.ctl[0], 10000), 'E');
    ASSERT_EQ(ctl_wait(x.ctl[0], 10000), 'D');
    for (int i = 0; i < 3; i++) {
        ST_EXPECT_AT(x.v[i].st, OK, at("client %d: ", i));
        EXPECT_EQ(x.v[i].got, x.v[i].len);
    }
    cli_stop(&x);
    EXPECT_EQ(atomic_load(&self->e.sc.deadlines_set), 3);
    EXPECT_EQ(stats(&self->e).deadlineTimeouts, 3u);
    EXPECT_EQ(stats(&self->e).idleTimeouts, 0u);
    WAIT_FOR(atomic_load(&self->e.sc.st_idle) == 3, 5000);
    EXPECT_EQ(atomic_load(&self->e.sc.st_idle), 3);
}

TEST_F(loop, stop)
{
    struct cli_ctx x;
    if (!lsrv_start(_metadata, &self->e, (nktlsLoopOptions){ 0 }, M_ECHO))
        return;
    ASSERT_EQ(cli_start(&x, &self->e, 40, 0, 0), OK);
    ASSERT_EQ(ctl_wait(x.ctl[0], 10000), 'O');
    WAIT_FOR(atomic_load(&self->e.sc.opened) == 40, 5000);
    lsrv_stop(_metadata, &self->e);      /* run returns once every connection closed */
    ASSERT_EQ(ctl_wait(x.ctl[0], 10000), 'D');
    for (int i = 0; i < 40; i++)
        ST_EXPECT_AT(x.v[i].st, OK, at("client %d: ", i));
    EXPECT_EQ(atomic_load(&self->e.sc.st_ok), 40);
    cli_stop(&x);
}

TEST_F(loop, max_connections)
{
    struct cli_ctx x;
    if (!lsrv_start(_metadata, &self->e, (nktlsLoopOptions){ .maxConnections = 5 }, M_SILENT))
        return;
    ASSERT_EQ(cli_start(&x, &self->e, 12, 0, 0), OK);
    WAIT_FOR(atomic_load(&x.opened) + atomic_load(&x.closed) == 12, 10000);
    EXPECT_EQ(atomic_load(&x.opened), 5);
    EXPECT_EQ(atomic_load(&x.closed), 7);
    EXPECT_EQ(stats(&self->e).rejected, 7u);
    EXPECT_EQ(stats(&self->e).live, 5u);
    cli_stop(&x);
}

TEST_F(loop, max_handshakes)
{
    /* Three sockets that never say a word hold the three handshake places:
     * the fourth is closed at once. Once they go, clients get through. */
    struct cli_ctx x;
    int raw[4];
    if (!lsrv_start(_metadata, &self->e, (nktlsLoopOptions){ .maxHandshakes = 3 }, M_SILENT))
        return;
    for (int i = 0; i < 4; i++) {
        raw[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_EQ(connect(raw[i], (struct sockaddr *)&self->e.addr, sizeof self->e.addr), 0);
        WAIT_FOR(stats(&self->e).accepted + stats(&self->e).rejected == (ubyte8)i + 1, 5000);
    }
    EXPECT_EQ(stats(&self->e).rejected, 1u);
    EXPECT_EQ(stats(&self->e).live, 3u);
    for (int i = 0; i < 4; i++)
        close(raw[i]);
    WAIT_FOR(stats(&self->e).live == 0, 5000);
    ASSERT_EQ(cli_start(&x, &self->e, 3, 0, 0), OK);
    WAIT_FOR(atomic_load(&x.opened) + atomic_load(&x.closed) == 3, 10000);
    EXPECT_EQ(atomic_load(&x.opened), 3);
    EXPECT_EQ(stats(&self->e).rejected, 1u);
    cli_stop(&x);
}

static void workers_round(struct th_meta *_metadata, struct lenv *e, int reuseport)
{
    close(e->lfd);
    e->lfd = listen_lo(&e->addr, reuseport);
    memset(&e->sc, 0, sizeof e->sc);
    /* A generous handshake limit: under emulation on a busy host 300
     * handshakes at once can take far longer than the default allows. */
    if (!lsrv_start(_metadata, e, (nktlsLoopOptions){ .workers = 3, .handshakeTimeoutMs = 60000 }, M_ECHO))
        return;
    cli_run(_metadata, e, 300);
    ASSERT_EQ(wait_idle(e, 5000), 0u);
    EXPECT_EQ(stats(e).opened, 300u);
    lsrv_stop(_metadata, e);
}

TEST_F(loop, workers)
{
    workers_round(_metadata, &self->e, 1);   /* one SO_REUSEPORT socket per worker */
    workers_round(_metadata, &self->e, 0);   /* one socket shared by the workers */
}

/* ---- the automatic fallback ---------------------------------------------- */

/* io_uring_setup fails with err for this process, as under a container's
 * seccomp profile. */
static int block_io_uring(int err)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = NK_ARRAY_LEN(f), .filter = f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* AUTO runs epoll, says why, and works: under a seccomp filter that fails
 * io_uring_setup with ENOSYS, or with NKTLS_IO=epoll. */
static void fallback(struct th_meta *_metadata, int seccomp)
{
    struct lenv e;
    const char *name, *why;
    lenv_up(_metadata, &e, NKTLS_LOOP_BACKEND_AUTO, NULL);
    if (seccomp) {
        ASSERT_EQ(block_io_uring(ENOSYS), 0);
        sbyte4 s = NKTLS_LOOP_createServer(&e.lfd, 1, env.srv, &srv_cb, &e.sc,
                                           &(nktlsLoopOptions){ .backend = NKTLS_LOOP_BACKEND_URING });
        ST_EXPECT(s, ERR_NOT_SUPPORTED);
    } else {
        setenv("NKTLS_IO", "epoll", 1);
    }
    ASSERT_EQ(lsrv_start(_metadata, &e, (nktlsLoopOptions){ 0 }, M_ECHO), 1);
    ASSERT_EQ(NKTLS_LOOP_getBackend(e.srv, &name, &why), OK);
    TH_LOG("%s: %s", name, why);
    ASSERT_STR_EQ(name, "epoll");
    ASSERT_NOT_NULL(strstr(why, seccomp ? "ENOSYS" : "NKTLS_IO=epoll"));
    cli_run(_metadata, &e, 20);
    lenv_down(_metadata, &e);
}

TEST(fallback_seccomp) { fallback(_metadata, 1); }
TEST(fallback_env) { fallback(_metadata, 0); }

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    return api_env_main(argc, argv);
}
