/* test_async_dtls_udp.c — DTLS 1.2 through the asynchronous API over a
 * connected loopback UDP pair, the application's own poll loop moving one
 * datagram per call and running the retransmission timer: an async client
 * against the blocking server (SSL_acceptConnection, SSL_recv, SSL_send in
 * a thread), and a blocking client against an async server with the cookie
 * exchange and DTLS-SRTP: data both ways, the exporter and the SRTP keying
 * material equal on both sides, close_notify each way. */
#include "unit/async_dtls_env.h"

static int hello_verify_requests;   /* sent by the async end */

/* Write every datagram the library has, one send each. */
static MSTATUS udp_flush(sbyte4 h, int fd)
{
    while (SSL_ASYNC_sendMessagePending(h) > 0) {
        ubyte4 len = sizeof dg;
        NK_TRY(SSL_ASYNC_getSendBuffer(h, dg, &len));
        if (len > 13 && dg[0] == 22 && dg[3] == 0 && dg[4] == 0 && dg[13] == 3)
            hello_verify_requests++;
        if (send(fd, dg, len, 0) != (ssize_t)len && errno != ECONNREFUSED)
            return ERR_TCP_WRITE_ERROR;
    }
    return OK;
}

/* The application's loop: send what waits, wait for a datagram no longer
 * than the retransmission timer says, give it to the library, or run the
 * timer; until done(h), an error, or 20 s. */
static MSTATUS udp_run(sbyte4 h, int fd, int (*done)(sbyte4))
{
    time_t end = time(NULL) + 20;
    for (;;) {
        NK_TRY(udp_flush(h, fd));
        if (done(h))
            return OK;
        if (time(NULL) > end)
            return ERR_TCP_READ_TIMEOUT;
        ubyte4 ms = 0;
        NK_TRY(SSL_DTLS_getTimeout(h, &ms));
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        if (poll(&pf, 1, ms ? (int)ms : 50) > 0) {
            ssize_t n = recv(fd, dg, sizeof dg, 0);
            if (n >= 0)   /* one datagram, whole: never split or joined */
                NK_TRY(SSL_ASYNC_recvMessage(h, dg, (ubyte4)n));
            continue;
        }
        sbyte4 r = DTLS_isTimerExpired(h);
        if (r < 0)
            return r;
    }
}

static int got_data(sbyte4 h) { return up_for(h)->recvs > 0; }
static int never(sbyte4 h) { (void)h; return 0; }

static const char msg[] = "a datagram's worth of application data";

static MSTATUS exporter(sbyte4 h, ubyte out[32])
{
    return SSL_generateExportKeyMaterial(h, out, 32, (ubyte *)"EXPERIMENTAL udp", 16, NULL, 0, 0);
}

/* ---- an async client, the blocking server ---- */

struct blocking_end {
    sbyte4 h;
    MSTATUS hs, rx, tx, end;
    sbyte buf[256];
    sbyte4 got;
    ubyte ekm[32];
};

static void *blocking_server(void *p)
{
    struct blocking_end *b = p;
    if ((b->hs = SSL_negotiateConnection(b->h)) != OK)
        return NULL;
    (void)exporter(b->h, b->ekm);
    if ((b->rx = SSL_recv(b->h, b->buf, sizeof b->buf, &b->got, 10000)) != OK)
        return NULL;
    b->tx = SSL_send(b->h, b->buf, b->got) == b->got ? OK : ERR_TCP_WRITE_ERROR;   /* echo */
    sbyte4 more = 0;
    b->end = SSL_recv(b->h, b->buf + b->got, 16, &more, 10000);   /* the client's close_notify */
    return NULL;
}

TEST(async_client_blocking_server)
{
    int fd[2];
    adtls_setup(_metadata);
    ASSERT_EQ(make_udp_pair(fd), 0);
    struct blocking_end srv = { .h = SSL_acceptConnection(fd[1], env.srv) };
    ASSERT_GT(srv.h, 0);
    sbyte4 h = SSL_ASYNC_connect(fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h, 0);
    ASSERT_EQ(SSL_isSessionDTLS(h), TRUE);   /* a UDP socket: DTLS */
    ST(dtls_settings(h, 200), OK);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, blocking_server, &srv), 0);
    ST(SSL_ASYNC_start(h), OK);
    MSTATUS st = udp_run(h, fd[0], is_open);
    if (st == OK) {
        ST(SSL_ASYNC_sendMessage(h, (sbyte *)msg, sizeof msg, NULL), OK);
        st = udp_run(h, fd[0], got_data);
    }
    if (st == OK)
        st = SSL_sendAlert(h, SSL_ALERT_CLOSE_NOTIFY, SSLALERTLEVEL_WARNING);
    if (st == OK)
        st = udp_flush(h, fd[0]);
    pthread_join(t, NULL);
    ST(st, OK);
    ST(srv.hs, OK);
    ST(srv.rx, OK);
    ST(srv.tx, OK);
    ST(srv.end, ERR_SSL_CONNECTION_CLOSED);
    ASSERT_EQ(srv.got, (sbyte4)sizeof msg);
    ASSERT_MEM_EQ(srv.buf, msg, sizeof msg);
    struct up *u = up_for(h);
    ASSERT_EQ(u->opens, 1);
    ASSERT_EQ(u->recvs, 1);
    ASSERT_EQ(u->len, sizeof msg);
    ASSERT_MEM_EQ(u->data, msg, sizeof msg);
    ubyte ekm[32];
    ST(exporter(h, ekm), OK);
    ASSERT_MEM_EQ(ekm, srv.ekm, sizeof ekm);
    ST(SSL_ASYNC_closeConnection(h), OK);
    ST(SSL_closeConnection(srv.h), OK);
    close(fd[0]);
    close(fd[1]);
    adtls_teardown();
}

/* ---- a blocking client, an async server: cookie exchange, DTLS-SRTP ---- */

static void *blocking_client(void *p)
{
    struct blocking_end *b = p;
    if ((b->hs = SSL_negotiateConnection(b->h)) != OK)
        return NULL;
    (void)exporter(b->h, b->ekm);
    b->tx = SSL_send(b->h, (sbyte *)msg, sizeof msg) == (sbyte4)sizeof msg ? OK : ERR_TCP_WRITE_ERROR;
    if (b->tx == OK)
        b->rx = SSL_recv(b->h, b->buf, sizeof b->buf, &b->got, 10000);
    b->end = SSL_closeConnection(b->h);   /* says close_notify */
    return NULL;
}

TEST(blocking_client_async_server_srtp)
{
    int fd[2];
    adtls_setup(_metadata);
    ST(SSL_setSrtpInitCallback(on_srtp_init), OK);
    ASSERT_EQ(make_udp_pair(fd), 0);
    sbyte4 h = SSL_ASYNC_acceptConnection(fd[1], env.srv);
    ASSERT_GT(h, 0);
    ASSERT_EQ(SSL_isSessionDTLS(h), TRUE);
    struct blocking_end cli = { .h = SSL_connect(fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli) };
    ASSERT_GT(cli.h, 0);
    ubyte2 profiles[] = { SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80 };
    ST(SSL_enableSrtpProfiles(cli.h, profiles, 2), OK);
    ST(SSL_enableSrtpProfiles(h, profiles + 1, 1), OK);
    srtp_told[0].h = cli.h;
    srtp_told[1].h = h;
    echo_h = h;   /* the receive upcall answers */
    hello_verify_requests = 0;
    ubyte ekm[32];
    ST(exporter(h, ekm), ERR_SSL_NOT_OPEN);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, blocking_client, &cli), 0);
    MSTATUS st = udp_run(h, fd[1], is_open);
    if (st == OK)
        st = exporter(h, ekm);
    if (st == OK)   /* until the client's close_notify */
        st = udp_run(h, fd[1], never);
    pthread_join(t, NULL);
    ST(st, ERR_SSL_CONNECTION_CLOSED);
    ST(cli.hs, OK);
    ST(cli.tx, OK);
    ST(cli.rx, OK);
    ST(cli.end, OK);
    ASSERT_EQ(hello_verify_requests, 1);   /* RFC 6347 §4.2.1 */
    ASSERT_EQ(cli.got, (sbyte4)sizeof msg);
    ASSERT_MEM_EQ(cli.buf, msg, sizeof msg);
    struct up *u = up_for(h);
    ASSERT_EQ(u->opens, 1);
    ASSERT_EQ(u->open_as_client, 0);
    ASSERT_EQ(u->recvs, 1);
    ASSERT_MEM_EQ(u->data, msg, sizeof msg);
    ASSERT_MEM_EQ(ekm, cli.ekm, sizeof ekm);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(srtp_told[i].calls, 1);
        ASSERT_EQ(srtp_told[i].profile, SRTP_AES128_CM_HMAC_SHA1_80);
    }
    ASSERT_EQ(srtp_told[0].km_len, 60u);
    ASSERT_MEM_EQ(srtp_told[0].km, srtp_told[1].km, 60);
    ST(SSL_ASYNC_closeConnection(h), OK);
    close(fd[0]);
    close(fd[1]);
    adtls_teardown();
}

int main(int argc, char **argv) { return api_env_main(argc, argv); }
