/* test_async_sockets.c — the asynchronous API over real sockets, with the
 * application's own loop: an async server against a blocking client over a
 * socketpair, and kernel offload over TCP loopback (software fallback on a host
 * without the tls module, the kernel in the VM: the case branches on
 * NKTLS_getRecordLayerInfo). */
#include "unit/async_env.h"

/* ---- sockets: the application's own loop -------------------------------------------- */

/* One end and its socket; ob holds bytes taken from the library, not yet written. */
struct side {
    sbyte4 h;
    int fd;
    nktlsRecordLayerInfo li;
    ubyte ob[1 << 16];
    size_t off, len;
};

static int busy(struct side *s) { return s->off < s->len || SSL_ASYNC_sendMessagePending(s->h) > 0; }

/* Write what the library has to send; block: until all of it is written. */
static MSTATUS flush(struct side *s, int block)
{
    for (;;) {
        if (s->off == s->len) {
            if (SSL_ASYNC_sendMessagePending(s->h) <= 0)
                return OK;
            ubyte4 len = sizeof s->ob;
            NK_TRY(SSL_ASYNC_getSendBuffer(s->h, s->ob, &len));
            s->off = 0;
            s->len = len;
            if (!len)   /* kernel TX: the library wrote its records itself */
                return OK;
        }
        ssize_t n = send(s->fd, s->ob + s->off, s->len - s->off, MSG_NOSIGNAL | (block ? 0 : MSG_DONTWAIT));
        if (n < 0)
            return errno == EAGAIN ? OK : ERR_TCP_WRITE_ERROR;
        s->off += (size_t)n;
    }
}

struct bc { int fd; MSTATUS hs, tx, rx; };   /* the blocking client's results */

#define ECHO_N 100000

static void *blocking_client(void *p)
{
    struct bc *b = p;
    sbyte4 h = SSL_connect(b->fd, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    b->hs = cap_version(h);
    if (b->hs == OK)
        b->hs = SSL_negotiateConnection(h);
    if (b->hs == OK && (b->tx = send_fill(h, ECHO_N, 5)) == OK)
        b->rx = recv_check(h, ECHO_N, 5);
    if (h > 0)
        SSL_closeConnection(h);   /* close_notify */
    return NULL;
}

/* The async server echoes from its receive upcall; the test's poll loop moves
 * the bytes, 1000 at a time so records split everywhere. */
TEST_F(async, blocking_client_socketpair)
{
    static struct side s;
    int fd[2];
    pthread_t th;
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
    struct bc b = { .fd = fd[0], .hs = NOT_RUN, .tx = NOT_RUN, .rx = NOT_RUN };
    s.h = echo_h = SSL_ASYNC_acceptConnection(fd[1], env.srv);
    s.fd = fd[1];
    ASSERT_GT(s.h, 0);
    ASSERT_EQ(pthread_create(&th, NULL, blocking_client, &b), 0);
    MSTATUS st = OK;
    for (double end = ms_now() + 20000; st == OK && ms_now() < end;) {
        st = flush(&s, 0);
        struct pollfd pf = { .fd = s.fd, .events = POLLIN | (busy(&s) ? POLLOUT : 0) };
        if (st != OK || poll(&pf, 1, 1000) <= 0 || !(pf.revents & (POLLIN | POLLHUP)))
            continue;
        ubyte buf[1000];
        ssize_t n = recv(s.fd, buf, sizeof buf, MSG_DONTWAIT);
        st = n > 0 ? SSL_ASYNC_recvMessage(s.h, buf, (ubyte4)n) : n == 0 ? ERR_TCP_SOCKET_CLOSED : OK;
    }
    ASSERT_EQ(pthread_join(th, NULL), 0);
    ST_EQ(st, ERR_SSL_CONNECTION_CLOSED);
    ST_EQ(b.hs, OK);
    ST_EQ(b.tx, OK);
    ST_EQ(b.rx, OK);
    ASSERT_EQ(up_for(s.h)->opens, 1);
    ASSERT_EQ(up_for(s.h)->len, (size_t)ECHO_N);   /* and recv_check saw every byte */
    ASSERT_EQ(SSL_ASYNC_closeConnection(s.h), OK);
    close(fd[0]);
    close(fd[1]);
}

/* ---- kernel offload ------------------------------------------------------------------ */

static int kernel_tls(void) { return nk_ktls_unavailable_reason() == NULL; }

static long tls_stat(const char *name)
{
    FILE *f = fopen("/proc/net/tls_stat", "r");
    char key[64];
    long v, found = -1;
    while (f && fscanf(f, "%63s %ld", key, &v) == 2)
        if (!strcmp(key, name))
            found = v;
    if (f)
        fclose(f);
    return found;
}

/* During the handshake: feed exactly what the engine takes, peeking first, so
 * no byte past the handshake leaves the socket (the kernel may receive it). */
static MSTATUS read_handshake(struct side *s)
{
    ubyte buf[4096], *rest;
    ubyte4 rest_len;
    ssize_t n = recv(s->fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
    if (n <= 0)
        return n < 0 && errno == EAGAIN ? OK : ERR_TCP_READ_ERROR;
    sbyte4 r = SSL_ASYNC_recvMessage2(s->h, buf, (ubyte4)n, &rest, &rest_len);
    if (r != 0)
        return r < 0 ? r : ERR_GENERAL;   /* no application data yet */
    size_t take = (size_t)n - rest_len;
    return !take || recv(s->fd, buf, take, 0) == (ssize_t)take ? OK : ERR_TCP_READ_ERROR;
}

/* After the offload: plaintext on the socket where the kernel carries records,
 * the async calls where software does. */
static MSTATUS send_some(struct side *s, const ubyte *d, size_t n, size_t *done)
{
    size_t k = n - *done < 8192 ? n - *done : 8192;
    if (s->li.txLayer == NKTLS_LAYER_KERNEL) {
        ssize_t w = k ? send(s->fd, d + *done, k, MSG_DONTWAIT | MSG_NOSIGNAL) : 0;
        if (w < 0)
            return errno == EAGAIN ? OK : ERR_TCP_WRITE_ERROR;
        *done += (size_t)w;
        return OK;
    }
    if (k && !busy(s)) {
        NK_TRY(SSL_ASYNC_sendMessage(s->h, (sbyte *)d + *done, (sbyte4)k, NULL));
        *done += k;
    }
    return flush(s, 0);
}

static MSTATUS recv_some(struct side *s)
{
    static ubyte buf[1 << 15];
    if (s->li.rxLayer == NKTLS_LAYER_SOFTWARE) {
        ssize_t n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0)
            return n < 0 && errno == EAGAIN ? OK : ERR_TCP_READ_ERROR;
        return SSL_ASYNC_recvMessage(s->h, buf, (ubyte4)n);
    }
    char cbuf[CMSG_SPACE(sizeof(ubyte))];
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    ssize_t n = recvmsg(s->fd, &m, MSG_DONTWAIT);
    if (n <= 0)
        return n < 0 && errno == EAGAIN ? OK : ERR_TCP_READ_ERROR;
    ubyte type = SSL_APPLICATION_DATA;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
        if (cm->cmsg_level == SOL_TLS && cm->cmsg_type == TLS_GET_RECORD_TYPE)
            type = *CMSG_DATA(cm);
    if (type != SSL_APPLICATION_DATA)   /* NewSessionTicket, KeyUpdate, alerts */
        return NKTLS_asyncRecvRecord(s->h, type, buf, (ubyte4)n);
    append(up_for(s->h), buf, (size_t)n);
    return OK;
}

static void wait_readable(struct side s[2])
{
    struct pollfd pf[2] = { { .fd = s[0].fd, .events = POLLIN }, { .fd = s[1].fd, .events = POLLIN } };
    poll(pf, 2, 100);
}

#define KT_N 300000

TEST_F_TIMEOUT(async, ktls_tcp, 120)
{
    static struct side s[2];
    int fd[2];
    ubyte4 status;
    MSTATUS st = OK;
    int kernel = kernel_tls();   /* the probe installs a key: before counting */
    long tx0 = tls_stat("TlsCurrTxSw"), rx0 = tls_stat("TlsCurrRxSw");
    ASSERT_EQ(make_pair(1, fd), 0);
    for (int i = 0; i < 2; i++)
        s[i].fd = fd[i];
    s[CLI].h = SSL_ASYNC_connect(fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    s[SRV].h = SSL_ASYNC_acceptConnection(fd[1], env.srv);
    ASSERT_EQ(cap_version(s[CLI].h), OK);
    ASSERT_EQ(NKTLS_asyncOffload(s[CLI].h), ERR_SSL_NOT_OPEN);
    ASSERT_EQ(SSL_ASYNC_start(s[CLI].h), OK);
    int open[2] = { 0, 0 };
    for (double end = ms_now() + 20000; st == OK && !(open[0] && open[1]) && ms_now() < end;) {
        for (int i = 0; i < 2 && st == OK; i++)
            st = flush(&s[i], 1);
        wait_readable(s);
        for (int i = 0; i < 2 && st == OK; i++) {
            if (!open[i])   /* an open end reads nothing more before the offload */
                st = read_handshake(&s[i]);
            open[i] = SSL_getSessionStatus(s[i].h, &status) == OK && status == SSL_CONNECTION_OPEN;
        }
    }
    ST_EQ(st, OK);
    ASSERT_TRUE(open[0] && open[1]);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(flush(&s[i], 1), OK);   /* client Finished, server ticket */
        ASSERT_EQ(busy(&s[i]), 0);
        ASSERT_EQ(NKTLS_asyncOffload(s[i].h), OK);
        ASSERT_EQ(NKTLS_asyncOffload(s[i].h), OK);   /* decided once */
        ASSERT_EQ(NKTLS_getRecordLayerInfo(s[i].h, &s[i].li), OK);
        /* Here: the kernel wherever it has TLS, else software for want of it. */
        sbyte4 layer = kernel ? NKTLS_LAYER_KERNEL : NKTLS_LAYER_SOFTWARE;
        const char *why = kernel ? "" : "no tls module";
        EXPECT_EQ(s[i].li.txLayer, layer) TH_LOG("%s tx: %s", i ? "server" : "client", s[i].li.txReason);
        EXPECT_EQ(s[i].li.rxLayer, layer) TH_LOG("%s rx: %s", i ? "server" : "client", s[i].li.rxReason);
        EXPECT_STR_EQ(s[i].li.txReason, why);
        EXPECT_STR_EQ(s[i].li.rxReason, why);
        TH_LOG("%s: tx %s, rx %s", i ? "server" : "client", s[i].li.txLayer ? "kernel" : "software",
               s[i].li.rxLayer ? "kernel" : "software");
        if (s[i].li.txLayer == NKTLS_LAYER_KERNEL)
            EXPECT_EQ(SSL_ASYNC_sendMessage(s[i].h, (sbyte *)"x", 1, NULL), ERR_SSL_BAD_STATE);
        if (s[i].li.rxLayer == NKTLS_LAYER_KERNEL)
            EXPECT_EQ(SSL_ASYNC_recvMessage(s[i].h, (ubyte *)"x", 1), ERR_SSL_BAD_STATE);
        else
            EXPECT_EQ(NKTLS_asyncRecvRecord(s[i].h, SSL_ALERT, (const ubyte *)"\1\0", 2), ERR_SSL_BAD_STATE);
    }
    if (kernel) {   /* both ends of this connection, both ways, in the kernel now */
        EXPECT_EQ(tls_stat("TlsCurrTxSw") - tx0, 2);
        EXPECT_EQ(tls_stat("TlsCurrRxSw") - rx0, 2);
    }
    /* Both ways at once, byte for byte. */
    ubyte *d[2] = { malloc(KT_N), malloc(KT_N) };
    size_t done[2] = { 0, 0 };
    ASSERT_TRUE(d[0] && d[1]);
    fill(d[0], KT_N, 11);
    fill(d[1], KT_N, 12);
    struct up *got[2] = { up_for(s[SRV].h), up_for(s[CLI].h) };   /* what each side sent */
    for (double end = ms_now() + 60000; st == OK && (got[0]->len < KT_N || got[1]->len < KT_N)
                                        && ms_now() < end;) {
        for (int i = 0; i < 2 && st == OK; i++)
            st = send_some(&s[i], d[i], KT_N, &done[i]);
        wait_readable(s);
        for (int i = 0; i < 2 && st == OK; i++)
            st = recv_some(&s[i]);
    }
    ST_EQ(st, OK);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(got[i]->len, (size_t)KT_N);
        ASSERT_MEM_EQ(got[i]->data, d[i], KT_N);
        free(d[i]);
    }
    /* close_notify: a control record on a kernel socket, which the library writes. */
    ASSERT_EQ(SSL_sendAlert(s[CLI].h, SSL_ALERT_CLOSE_NOTIFY, SSLALERTLEVEL_WARNING), OK);
    ASSERT_GT(SSL_ASYNC_sendMessagePending(s[CLI].h), 0);
    ASSERT_EQ(flush(&s[CLI], 1), OK);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(s[CLI].h), 0);
    for (double end = ms_now() + 10000; st == OK && ms_now() < end;) {
        wait_readable(s);
        st = recv_some(&s[SRV]);
    }
    ST_EQ(st, ERR_SSL_CONNECTION_CLOSED);
    sbyte4 id = -1, cls = -1;
    ASSERT_GE(alerts_for(s[SRV].h, &id, &cls), 1);
    ASSERT_EQ(id, SSL_ALERT_CLOSE_NOTIFY);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(SSL_ASYNC_closeConnection(s[i].h), OK);
        close(fd[i]);
    }
    /* The library drives a synchronous connection's socket: none of this applies. */
    sbyte4 h = SSL_connect(-1, 0, NULL, NULL, NULL, env.cli);
    ASSERT_EQ(NKTLS_asyncOffload(h), ERR_SSL_BAD_STATE);
    ASSERT_EQ(SSL_ASYNC_recvMessage(h, (ubyte *)"x", 1), ERR_SSL_BAD_STATE);
    ASSERT_EQ(SSL_ASYNC_closeConnection(h), OK);
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
