/* test_async_dtls.c — DTLS 1.2 through the asynchronous API in memory: two
 * SSL_ASYNC_* ends made DTLS by SSL_SET_VERSION, the test moving their
 * datagrams one per call: the cookie exchange, the handshake at 30% loss
 * with duplicates and reordering completed by the application's timer
 * calls, one datagram per getSendBuffer of exactly the announced length,
 * one record per message, the size limits' exact errors, data both ways
 * by upcall and by getRecvBuffer, close_notify, fatal alerts, tampered and
 * replayed datagrams dropped, the handshake time limit, DTLS-SRTP keys. */
#include "unit/async_dtls_env.h"
#include "unit/srtp_fake.h"

FIXTURE(adtls) {
    sbyte4 h[2];
};

FIXTURE_SETUP(adtls)
{
    adtls_setup(_metadata);
    self->h[CLI] = self->h[SRV] = 0;
}

FIXTURE_TEARDOWN(adtls)
{
    adtls_teardown();
}

/* A client and a server made DTLS as an application with no UDP socket of
 * its own does: the version set to DTLS 1.2. */
static void dpair_new(struct th_meta *_metadata, sbyte4 h[2], ubyte4 rto_ms)
{
    h[CLI] = SSL_ASYNC_connect(-1, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h[CLI], 0);
    h[SRV] = SSL_ASYNC_acceptConnection(-1, env.srv);
    ASSERT_GT(h[SRV], 0);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(SSL_isSessionDTLS(h[i]), FALSE);
        ST(SSL_ioctl(h[i], SSL_SET_VERSION, (void *)(uintptr_t)DTLS12_MINORVERSION), OK);
        ASSERT_EQ(SSL_isSessionDTLS(h[i]), TRUE);
        ST(dtls_settings(h[i], rto_ms), OK);
    }
}

/* A pair through its handshake over a network that loses nothing. */
static void dpair_open(struct th_meta *_metadata, sbyte4 h[2])
{
    struct net w = { .rng = 1 };
    int fired = 0;
    dpair_new(_metadata, h, 1000);
    ST(SSL_ASYNC_start(h[CLI]), OK);
    ST(net_handshake(&w, h, &fired), OK);
    ASSERT_EQ(fired, 0);
}

static void dpair_close(struct th_meta *_metadata, sbyte4 h[2])
{
    for (int i = 0; i < 2; i++)
        ST(SSL_ASYNC_closeConnection(h[i]), OK);
}

/* Take h's one waiting datagram into dg; its length. */
static ubyte4 take_one(struct th_meta *_metadata, sbyte4 h)
{
    sbyte4 want = SSL_ASYNC_sendMessagePending(h);
    ASSERT_GT(want, 0);
    ubyte4 len = sizeof dg;
    ST(SSL_ASYNC_getSendBuffer(h, dg, &len), OK);
    ASSERT_EQ(len, (ubyte4)want);
    return len;
}

static void exporters_equal(struct th_meta *_metadata, sbyte4 h[2])
{
    ubyte k[2][32];
    for (int i = 0; i < 2; i++)
        ST(SSL_generateExportKeyMaterial(h[i], k[i], sizeof k[i], (ubyte *)"EXPERIMENTAL test", 17, NULL, 0, 0), OK);
    ASSERT_MEM_EQ(k[0], k[1], sizeof k[0]);
}

TEST_F(adtls, cookie_exchange_then_handshake)
{
    sbyte4 *h = self->h;
    dpair_new(_metadata, h, 1000);
    ST(SSL_ASYNC_start(h[CLI]), OK);
    ASSERT_EQ(up_for(h[CLI])->timers, 1);   /* funcPtrClientStartTimer(h, sslTimeOutHello, 0) */
    ASSERT_EQ(up_for(h[CLI])->timer_ms, SSL_sslSettings()->sslTimeOutHello);
    ubyte4 n = take_one(_metadata, h[CLI]);
    /* A handshake record, DTLS 1.2, epoch 0, sequence number 0, holding a
     * client_hello. */
    static const ubyte hello_hdr[] = { 22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0 };
    ASSERT_MEM_EQ(dg, hello_hdr, sizeof hello_hdr);
    ASSERT_EQ(dg[13], 1);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[CLI]), 0);
    ST(SSL_ASYNC_recvMessage(h[SRV], dg, n), OK);
    /* §4.2.1: a HelloVerifyRequest, and no flight kept: no retransmission
     * timer runs (1 s here), only the handshake's time limit. */
    n = take_one(_metadata, h[SRV]);
    ASSERT_EQ(dg[0], 22);
    ASSERT_EQ(dg[13], 3);
    ubyte4 ms = 0;
    ST(SSL_DTLS_getTimeout(h[SRV], &ms), OK);
    ASSERT_GT(ms, 1000u);
    ASSERT_EQ(DTLS_isTimerExpired(h[SRV]), FALSE);
    ASSERT_EQ(up_for(h[SRV])->timers, 1);   /* its first recvMessage started it */
    ST(SSL_ASYNC_recvMessage(h[CLI], dg, n), OK);
    n = take_one(_metadata, h[CLI]);   /* the ClientHello again, with the cookie */
    ASSERT_EQ(dg[13], 1);
    ST(SSL_ASYNC_recvMessage(h[SRV], dg, n), OK);
    struct net w = { .rng = 1 };
    int fired = 0;
    ST(net_handshake(&w, h, &fired), OK);
    ASSERT_EQ(fired, 0);
    for (int i = 0; i < 2; i++) {
        struct up *u = up_for(h[i]);
        ASSERT_EQ(u->opens, 1);
        ASSERT_EQ(u->open_as_client, i == CLI);
        ubyte4 v = 0;
        ST(SSL_getSSLTLSVersion(h[i], &v), OK);
        ASSERT_EQ(v, (ubyte4)DTLS12_MINORVERSION);
        ubyte2 suite = 0;
        ubyte4 curves = 0;
        ST(SSL_getCipherInfo(h[i], &suite, &curves), OK);
        ASSERT_EQ(suite, SUITE);
    }
    exporters_equal(_metadata, h);
    dpair_close(_metadata, h);
}

TEST_F(adtls, one_datagram_per_message_both_ways_then_close_notify)
{
    sbyte4 *h = self->h;
    dpair_open(_metadata, h);
    /* One message: one record, alone in its datagram. */
    SEND(h[CLI], "ping");
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[CLI]), 4 + REC_OVER);
    ubyte4 len = 4 + REC_OVER - 1;   /* one byte short: refused, kept */
    ST(SSL_ASYNC_getSendBuffer(h[CLI], dg, &len), ERR_SSL_DATAGRAM_BUFFER_TOO_SMALL);
    ASSERT_EQ(len, 0u);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[CLI]), 4 + REC_OVER);
    ubyte4 n = take_one(_metadata, h[CLI]);
    ASSERT_EQ(n, 4u + REC_OVER);
    static const ubyte data_hdr[] = { 23, 0xfe, 0xfd, 0, 1 };   /* application data, DTLS 1.2, epoch 1 */
    ASSERT_MEM_EQ(dg, data_hdr, sizeof data_hdr);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[CLI]), 0);
    ST(SSL_ASYNC_recvMessage(h[SRV], dg, n), OK);
    struct up *s = up_for(h[SRV]);
    ASSERT_EQ(s->recvs, 1);
    ASSERT_EQ(s->len, 4u);
    ASSERT_MEM_EQ(s->data, "ping", 4);
    /* Three messages before the application drains: three datagrams, one
     * per getSendBuffer, each its own record; the upcall gets each alone. */
    static const char *const msgs[] = { "one", "three", "fifteen" };
    for (int i = 0; i < 3; i++)
        SEND(h[CLI], msgs[i]);
    for (int i = 0; i < 3; i++) {
        n = take_one(_metadata, h[CLI]);
        ASSERT_EQ(n, strlen(msgs[i]) + REC_OVER);
        ST(SSL_ASYNC_recvMessage(h[SRV], dg, n), OK);
        ASSERT_EQ(s->recvs, 2 + i);
    }
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[CLI]), 0);
    ASSERT_EQ(s->len, 4u + 3 + 5 + 7);
    ASSERT_MEM_EQ(s->data + 4, "onethreefifteen", 15);
    /* Server to client: the server's receive upcall echoes. */
    echo_h = h[SRV];
    SEND(h[CLI], "echo me");
    n = take_one(_metadata, h[CLI]);
    ST(SSL_ASYNC_recvMessage(h[SRV], dg, n), OK);
    n = take_one(_metadata, h[SRV]);
    ASSERT_EQ(n, 7u + REC_OVER);
    ST(SSL_ASYNC_recvMessage(h[CLI], dg, n), OK);
    struct up *c = up_for(h[CLI]);
    ASSERT_EQ(c->recvs, 1);
    ASSERT_EQ(c->recv_as_client, 1);
    ASSERT_EQ(c->len, 7u);
    ASSERT_MEM_EQ(c->data, "echo me", 7);
    /* close_notify: a warning alert record (2 bytes protected) in its own
     * datagram; the peer's receive calls then say the connection closed. */
    ST(SSL_sendAlert(h[CLI], SSL_ALERT_CLOSE_NOTIFY, SSLALERTLEVEL_WARNING), OK);
    n = take_one(_metadata, h[CLI]);
    ASSERT_EQ(n, 2u + REC_OVER);
    ASSERT_EQ(dg[0], 21);
    ST(SSL_ASYNC_recvMessage(h[SRV], dg, n), ERR_SSL_CONNECTION_CLOSED);
    ST(SSL_ASYNC_recvMessage(h[SRV], NULL, 0), ERR_SSL_CONNECTION_CLOSED);
    dpair_close(_metadata, h);
}

TEST_F(adtls, sizes_and_misuse)
{
    sbyte4 *h = self->h;
    dpair_new(_metadata, h, 1000);
    ubyte4 max = 7;
    ST(NKTLS_DTLS_getMaxMessage(h[CLI], &max), ERR_SSL_NOT_OPEN);
    ASSERT_EQ(max, 0u);
    ST(SSL_ASYNC_start(h[CLI]), OK);
    /* Before the handshake completes nothing is sent. */
    sbyte4 sent = 9;
    ST(SSL_ASYNC_sendMessage(h[CLI], (sbyte *)"early", 5, &sent), ERR_SSL_NOT_OPEN);
    ASSERT_EQ(sent, 0);
    /* DTLS 1.2 is all a DTLS connection speaks; a TLS one that started is
     * too late to make DTLS. */
    ST(SSL_ioctl(h[CLI], SSL_SET_VERSION, (void *)(uintptr_t)DTLS12_MINORVERSION), OK);
    ST(SSL_ioctl(h[CLI], SSL_SET_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION), ERR_SSL_UNSUPPORTED_VERSION);
    sbyte4 t = SSL_ASYNC_connect(-1, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(t, 0);
    ST(SSL_ASYNC_start(t), OK);
    ST(SSL_ioctl(t, SSL_SET_VERSION, (void *)(uintptr_t)DTLS12_MINORVERSION), ERR_SSL_BAD_STATE);
    ASSERT_EQ(SSL_isSessionDTLS(t), FALSE);
    ST(SSL_ASYNC_closeConnection(t), OK);
    struct net w = { .rng = 1 };
    int fired = 0;
    ST(net_handshake(&w, h, &fired), OK);
    /* The most one datagram carries: the PMTU less the record's overhead. */
    ST(NKTLS_DTLS_getMaxMessage(h[CLI], &max), OK);
    ASSERT_EQ(max, (ubyte4)(PMTU - REC_OVER));
    static ubyte big[PMTU];
    memset(big, 'x', sizeof big);
    ST(SSL_ASYNC_sendMessage(h[CLI], (sbyte *)big, (sbyte4)max + 1, &sent), ERR_SSL_DATAGRAM_TOO_LONG);
    ASSERT_EQ(sent, 0);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[CLI]), 0);
    ST(SSL_ASYNC_sendMessage(h[CLI], (sbyte *)big, (sbyte4)max, &sent), OK);
    ASSERT_EQ(sent, (sbyte4)max);
    ASSERT_EQ(take_one(_metadata, h[CLI]), (ubyte4)PMTU);   /* exactly the PMTU */
    ST(SSL_ASYNC_recvMessage(h[SRV], dg, PMTU), OK);
    ASSERT_EQ(up_for(h[SRV])->len, max);
    /* A smaller PMTU: a smaller most. */
    ST(SSL_ioctl(h[CLI], DTLS_SET_PMTU, (void *)(uintptr_t)500), OK);
    ST(NKTLS_DTLS_getMaxMessage(h[CLI], &max), OK);
    ASSERT_EQ(max, 500u - REC_OVER);
    ST(SSL_ASYNC_sendMessage(h[CLI], (sbyte *)big, 500 - REC_OVER + 1, NULL), ERR_SSL_DATAGRAM_TOO_LONG);
    ST(SSL_ASYNC_sendMessage(h[CLI], (sbyte *)big, 0, &sent), OK);   /* nothing: no datagram */
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[CLI]), 0);
    /* The kernel has no DTLS; a blocking connection cannot be made DTLS
     * without its UDP socket. */
    ST(NKTLS_asyncOffload(h[CLI]), ERR_NOT_SUPPORTED);
    sbyte4 b = SSL_connect(-1, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(b, 0);
    ST(SSL_ioctl(b, SSL_SET_VERSION, (void *)(uintptr_t)DTLS12_MINORVERSION), ERR_SSL_UNSUPPORTED_VERSION);
    ST(NKTLS_DTLS_getMaxMessage(b, &max), ERR_NOT_SUPPORTED);
    ST(SSL_closeConnection(b), OK);
    dpair_close(_metadata, h);
    ST(SSL_ASYNC_recvMessage(h[SRV], dg, 1), ERR_SSL_BAD_ID);
}

/* RFC 6347 §4.1.2.7: "Invalid records SHOULD be silently discarded";
 * §4.1.2.6: a replayed record is discarded. Neither ends the connection. */
TEST_F(adtls, tampered_cut_and_replayed_datagrams_dropped)
{
    sbyte4 *h = self->h;
    dpair_open(_metadata, h);
    struct up *s = up_for(h[SRV]);
    SEND(h[CLI], "intact");
    ubyte4 n = take_one(_metadata, h[CLI]);
    ubyte orig[64];
    memcpy(orig, dg, n);
    for (ubyte4 i = 0; i < n; i += 3) {   /* a bit flipped anywhere */
        memcpy(dg, orig, n);
        dg[i] ^= 0x10;
        ST(SSL_ASYNC_recvMessage(h[SRV], dg, n), OK);
    }
    for (ubyte4 k = 0; k < n; k += 5)   /* split by the application: a cut record */
        ST(SSL_ASYNC_recvMessage(h[SRV], orig, k), OK);
    static const ubyte rtp[16] = { 0x80, 0x60, 0x12, 0x34 };   /* not DTLS (RFC 7983 §7) */
    ST(SSL_ASYNC_recvMessage(h[SRV], (ubyte *)rtp, sizeof rtp), OK);
    ASSERT_EQ(s->recvs, 0);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[SRV]), 0);   /* no alert */
    ASSERT_TRUE(is_open(h[SRV]));
    ST(SSL_ASYNC_recvMessage(h[SRV], orig, n), OK);
    ASSERT_EQ(s->recvs, 1);
    ASSERT_MEM_EQ(s->data, "intact", 6);
    ST(SSL_ASYNC_recvMessage(h[SRV], orig, n), OK);   /* the same again: a replay */
    ASSERT_EQ(s->recvs, 1);
    SEND(h[CLI], "after");
    n = take_one(_metadata, h[CLI]);
    ST(SSL_ASYNC_recvMessage(h[SRV], dg, n), OK);
    ASSERT_EQ(s->recvs, 2);
    ASSERT_EQ(s->len, 11u);
    dpair_close(_metadata, h);
}

/* 30% of the datagrams lost, 10% sent twice, 20% delivered out of order,
 * seeded: every handshake completes because the application runs the
 * timers (SSL_DTLS_getTimeout, DTLS_isTimerExpired). */
TEST_F(adtls, handshakes_at_30_percent_loss)
{
    sbyte4 *h = self->h;
    int fired = 0, sent = 0, lost = 0;
    TH_SKIP_TIMING_UNDER_VALGRIND();   /* 10 ms timers against the handshake's time limit */
    for (uint64_t seed = 1; seed <= 8; seed++) {
        struct net w = { .rng = seed * 0x9e3779b97f4a7c15ull, .loss = 30, .dup = 10, .reorder = 20 };
        ups_reset();
        dpair_new(_metadata, h, 10);
        ST(SSL_ASYNC_start(h[CLI]), OK);
        MSTATUS st = net_handshake(&w, h, &fired);
        ST_EQ_AT(st, OK, at("seed %d: ", (int)seed));
        ASSERT_EQ(up_for(h[CLI])->opens, 1);
        ASSERT_EQ(up_for(h[SRV])->opens, 1);
        exporters_equal(_metadata, h);
        sent += w.sent;
        lost += w.lost;
        dpair_close(_metadata, h);
    }
    TH_LOG("8 handshakes: %d datagrams sent, %d lost, %d retransmissions by the timer", sent, lost, fired);
    ASSERT_GT(lost, 0);
    ASSERT_GT(fired, 0);
}

TEST_F(adtls, recv_buffer_and_recvMessage2)
{
    sbyte4 *h = self->h;
    dpair_open(_metadata, h);
    ST(SSL_setSessionFlags(h[SRV], SSL_FLAG_ENABLE_RECV_BUFFER), OK);
    static const char *const msgs[] = { "one", "two", "three" };
    for (int i = 0; i < 3; i++) {
        SEND(h[CLI], msgs[i]);
        ubyte4 n = take_one(_metadata, h[CLI]);
        ST(SSL_ASYNC_recvMessage(h[SRV], dg, n), OK);   /* the later ones wait behind the first */
    }
    for (int i = 0; i < 3; i++) {
        ubyte *p = NULL;
        ubyte4 len = 0, proto = 0;
        ST(SSL_ASYNC_getRecvBuffer(h[SRV], &p, &len, &proto), OK);
        ASSERT_EQ(len, strlen(msgs[i]));
        ASSERT_MEM_EQ(p, msgs[i], len);
        ASSERT_EQ(proto, (ubyte4)SSL_APPLICATION_DATA);
    }
    ubyte *p = NULL;
    ubyte4 len = 1;
    ST(SSL_ASYNC_getRecvBuffer(h[SRV], &p, &len, NULL), OK);
    ASSERT_EQ(len, 0u);
    ASSERT_EQ(up_for(h[SRV])->recvs, 0);
    /* recvMessage2 takes the datagram whole and says what data waits. */
    SEND(h[CLI], "four");
    ubyte4 n = take_one(_metadata, h[CLI]);
    ubyte *rest = NULL;
    ubyte4 rest_len = 1;
    ASSERT_EQ(SSL_ASYNC_recvMessage2(h[SRV], dg, n, &rest, &rest_len), 4);
    ASSERT_EQ(rest_len, 0u);
    ASSERT_TRUE(rest == dg + n);
    ST(SSL_ASYNC_getRecvBuffer(h[SRV], &p, &len, NULL), OK);
    ASSERT_EQ(len, 4u);
    ASSERT_MEM_EQ(p, "four", 4);
    /* Datagrams held behind data not taken stop at the receive buffer
     * limit: the one past it is refused untaken, given again later. */
    ubyte4 limit = 0;
    ST(NKTLS_getLimit(NKTLS_LIMIT_RECV_BUFFER, &limit), OK);
    static ubyte big[PMTU - REC_OVER];
    int held = 1 + (int)(limit / (4 + PMTU));   /* the first in the engine, the rest queued with their lengths */
    for (int i = 0; i <= held; i++) {
        memset(big, i, sizeof big);
        ST(SSL_ASYNC_sendMessage(h[CLI], (sbyte *)big, sizeof big, NULL), OK);
        n = take_one(_metadata, h[CLI]);
        ST_EQ_AT(SSL_ASYNC_recvMessage(h[SRV], dg, n), i < held ? OK : ERR_SSL_BUFFER_LIMIT, at("datagram %d: ", i));
    }
    for (int i = 0; i < held; i++) {
        ST(SSL_ASYNC_getRecvBuffer(h[SRV], &p, &len, NULL), OK);
        ASSERT_EQ(len, sizeof big);
        ASSERT_EQ(p[0], (ubyte)i);
        ASSERT_EQ(p[len - 1], (ubyte)i);
    }
    ST(SSL_ASYNC_recvMessage(h[SRV], dg, n), OK);   /* the refused one, again */
    ST(SSL_ASYNC_getRecvBuffer(h[SRV], &p, &len, NULL), OK);
    ASSERT_EQ(len, sizeof big);
    ASSERT_EQ(p[0], (ubyte)held);
    dpair_close(_metadata, h);
}

/* A fatal error: the call that met it returns it, and every later one;
 * its alert waits in the send buffer, in a datagram of its own. */
TEST_F(adtls, fatal_error_queues_its_alert)
{
    sbyte4 *h = self->h;
    h[CLI] = SSL_ASYNC_connect(-1, 0, NULL, NULL, (const sbyte *)"other.example.com", env.cli);
    ASSERT_GT(h[CLI], 0);
    h[SRV] = SSL_ASYNC_acceptConnection(-1, env.srv);
    ASSERT_GT(h[SRV], 0);
    for (int i = 0; i < 2; i++)
        ST(SSL_ioctl(h[i], SSL_SET_VERSION, (void *)(uintptr_t)DTLS12_MINORVERSION), OK);
    ST(SSL_ASYNC_start(h[CLI]), OK);
    struct net w = { .rng = 1 };
    int fired = 0;
    MSTATUS st = OK;
    for (int round = 0; round < 10 && st == OK; round++) {
        for (int i = 0; i < 2 && st == OK; i++) {
            ubyte4 n;
            while (st == OK && SSL_ASYNC_sendMessagePending(h[i]) > 0) {
                n = take_one(_metadata, h[i]);
                st = SSL_ASYNC_recvMessage(h[1 - i], dg, n);
            }
        }
    }
    ST(st, ERR_CERT_HOSTNAME_MISMATCH);
    ST(SSL_ASYNC_recvMessage(h[CLI], NULL, 0), ERR_CERT_HOSTNAME_MISMATCH);
    ubyte4 n = take_one(_metadata, h[CLI]);
    ASSERT_EQ(n, 13u + 2);   /* epoch 0: the alert in the clear */
    ASSERT_EQ(dg[0], 21);
    ASSERT_EQ(dg[13], SSLALERTLEVEL_FATAL);
    ASSERT_EQ(dg[14], SSL_ALERT_CERTIFICATE_UNKNOWN);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[CLI]), 0);
    ST(SSL_ASYNC_recvMessage(h[SRV], dg, n), ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(fired, 0);
    (void)w;
    dpair_close(_metadata, h);
}

static int timeouts_granted;
static sbyte4 grant_once(sbyte4 h, ubyte4 *ms)
{
    (void)h;
    *ms = timeouts_granted++ ? 0 : 200;
    return OK;
}

/* A peer that never answers: the flight goes out again each time the
 * timer is due (by DTLS_isTimerExpired, or any receive call, an empty one
 * included), then the handshake's time limit, extended once by
 * funcPtrSSLHandleTimeout, ends it. */
TEST_F(adtls, retransmission_then_handshake_time_limit)
{
    sbyte4 *h = self->h;
    TH_SKIP_TIMING_UNDER_VALGRIND();   /* 20 ms timers, a 300 ms limit */
    SSL_sslSettings()->sslTimeOutHello = 300;
    SSL_sslSettings()->funcPtrSSLHandleTimeout = grant_once;
    timeouts_granted = 0;
    h[CLI] = SSL_ASYNC_connect(-1, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h[CLI], 0);
    ST(SSL_ioctl(h[CLI], SSL_SET_VERSION, (void *)(uintptr_t)DTLS12_MINORVERSION), OK);
    ST(dtls_settings(h[CLI], 20), OK);
    ASSERT_EQ(DTLS_isTimerExpired(h[CLI]), FALSE);   /* not started: no timer */
    ST(SSL_ASYNC_start(h[CLI]), OK);
    ubyte4 n = take_one(_metadata, h[CLI]);
    ubyte first[PMTU];
    memcpy(first, dg, n);
    ubyte4 ms = 0;
    ST(SSL_DTLS_getTimeout(h[CLI], &ms), OK);
    ASSERT_GT(ms, 0u);
    ASSERT_LE(ms, 20u);
    usleep((ms + 1) * 1000);
    ST(SSL_ASYNC_recvMessage(h[CLI], NULL, 0), OK);   /* fires the due timer */
    n = take_one(_metadata, h[CLI]);
    ASSERT_EQ(dg[13], 1);
    ASSERT_MEM_EQ(dg + 13, first + 13, n - 13);   /* the same ClientHello, a new record number */
    int again = 1;
    sbyte4 r;
    /* Due means the flight went again, or the time limit came (the
     * callback's grant: nothing sent). */
    while ((r = timer_step(&h[CLI], 1)) >= 0) {
        if (SSL_ASYNC_sendMessagePending(h[CLI]) > 0) {
            again++;
            n = take_one(_metadata, h[CLI]);
            ASSERT_EQ(dg[13], 1);
        }
    }
    ST(r, ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_EQ(timeouts_granted, 2);
    ASSERT_GE(again, 3);   /* 20, 40, 80, 160 ms... within 500 ms */
    ST(SSL_ASYNC_recvMessage(h[CLI], NULL, 0), ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[CLI]), 0);   /* our own limit: no alert */
    SSL_sslSettings()->funcPtrSSLHandleTimeout = NULL;
    ST(SSL_ASYNC_closeConnection(h[CLI]), OK);
}

/* RFC 5764 §4.2: the keying material goes to the SRTP init callback on
 * both sides, once, the same bytes. */
TEST_F(adtls, srtp_keys_equal_both_sides)
{
    sbyte4 *h = self->h;
    ST(SSL_setSrtpInitCallback(on_srtp_init), OK);
    dpair_new(_metadata, h, 1000);
    ubyte2 cli_profiles[] = { SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80 };
    ubyte2 srv_profiles[] = { SRTP_AES128_CM_HMAC_SHA1_80, SRTP_AEAD_AES_128_GCM };
    ST(SSL_enableSrtpProfiles(h[CLI], cli_profiles, 2), OK);
    ST(SSL_enableSrtpProfiles(h[SRV], srv_profiles, 2), OK);
    srtp_told[0].h = h[CLI];
    srtp_told[1].h = h[SRV];
    ST(SSL_ASYNC_start(h[CLI]), OK);
    struct net w = { .rng = 3, .loss = 20, .dup = 10, .reorder = 20 };
    int fired = 0;
    ST(net_handshake(&w, h, &fired), OK);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(srtp_told[i].calls, 1);
        ASSERT_EQ(srtp_told[i].profile, SRTP_AES128_CM_HMAC_SHA1_80);
        ASSERT_EQ(srtp_told[i].km_len, 60u);
    }
    ASSERT_MEM_EQ(srtp_told[0].km, srtp_told[1].km, 60);
    ubyte ekm[60];
    ST(SSL_generateExportKeyMaterial(h[CLI], ekm, sizeof ekm, (ubyte *)"EXTRACTOR-dtls_srtp", 19, NULL, 0, 0), OK);
    ASSERT_MEM_EQ(srtp_told[0].km, ekm, 60);
    dpair_close(_metadata, h);
}

/* SSL_setSrtpEncodeCallback through the asynchronous API (RFC 5764
 * §5.1.2): on an open DTLS-SRTP connection SSL_ASYNC_sendMessage hands the
 * data to the callback and the packet it makes (here: the data behind a
 * 0x80 byte, a stand-in for SRTP's header, and a 10-byte tag of 0xAA) is
 * the next datagram, alone and unchanged; the callback's error is
 * sendMessage's and queues nothing; without the callback the data goes in a
 * record (type 23) again. The packets are nktls's to free (the asan and
 * valgrind suites see a leak otherwise). */
TEST_F(adtls, srtp_encode_callback_sends_its_packet_as_a_datagram)
{
    sbyte4 *h = self->h;
    dpair_new(_metadata, h, 1000);
    ubyte2 profile = SRTP_AES128_CM_HMAC_SHA1_80;
    for (int i = 0; i < 2; i++)
        ST(SSL_enableSrtpProfiles(h[i], &profile, 1), OK);
    struct net w = { .rng = 5 };
    int fired = 0;
    ST(SSL_ASYNC_start(h[CLI]), OK);
    ST(net_handshake(&w, h, &fired), OK);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[CLI]), 0);
    ST(SSL_setSrtpEncodeCallback(fake_srtp_encode), OK);
    fake_srtp_calls = 0;
    sbyte4 sent = 0;
    ST(SSL_ASYNC_sendMessage(h[CLI], (sbyte *)"rtp payload", 11, &sent), OK);
    ASSERT_EQ(fake_srtp_calls, 1);
    ubyte4 n = take_one(_metadata, h[CLI]);
    ASSERT_EQ(n, 22u);
    ASSERT_EQ(dg[0], 0x80);
    ASSERT_MEM_EQ(dg + 1, "rtp payload", 11);
    for (int i = 12; i < 22; i++)
        ASSERT_EQ(dg[i], 0xAA);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[CLI]), 0);
    fake_srtp_fail = ERR_SRTP_MALFORMED;
    ST(SSL_ASYNC_sendMessage(h[CLI], (sbyte *)"rtp payload", 11, &sent), ERR_SRTP_MALFORMED);
    fake_srtp_fail = OK;
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[CLI]), 0);
    ST(SSL_setSrtpEncodeCallback(NULL), OK);
    ST(SSL_ASYNC_sendMessage(h[CLI], (sbyte *)"in a record", 11, &sent), OK);
    n = take_one(_metadata, h[CLI]);
    ASSERT_EQ(dg[0], 23);
    ASSERT_EQ(n, 13u + 8 + 11 + 16);   /* header, explicit nonce, data, GCM tag */
    dpair_close(_metadata, h);
}

int main(int argc, char **argv) { return api_env_main(argc, argv); }
