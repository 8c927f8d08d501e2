/* test_async.c — the NanoSSL asynchronous API (SSL_ASYNC_*) driven by the test's
 * own loop: the test moves every byte between the ends, split at every byte
 * boundary and in chunks of 1..64 bytes, and counts the upcalls. Also the kept
 * receive buffer (SSL_FLAG_ENABLE_RECV_BUFFER), recvMessage2's rest, the send
 * buffer's counts, errors and their alerts, close_notify, KeyUpdate, TLS 1.2
 * renegotiation, the hello timer, a client certificate chosen by callback.
 * Every case runs under TLS 1.3 and TLS 1.2 (the fixture's rows). 0-RTT data:
 * test_async_early.c; over real sockets: test_async_sockets.c. */
#include "unit/async_env.h"

#include "unit/async_pair.h"

TEST_F(async, byte_at_a_time)
{
    handshake(_metadata, self->h, 1, 0);
    exchange(_metadata, self->h, CLI, 3000, 1, 1);
    exchange(_metadata, self->h, SRV, 40000, 2, 1);   /* three records */
    struct up *c = up_for(self->h[CLI]), *s = up_for(self->h[SRV]);
    EXPECT_EQ(s->recv_as_client, 0);
    EXPECT_EQ(c->recv_as_client, 3);
    EXPECT_EQ(c->recvs, 3);
    EXPECT_EQ(s->recvs, 1);
    EXPECT_EQ(c->opens, 1);   /* data after the handshake opens nothing again */
    EXPECT_EQ(s->opens, 1);
    pair_close(_metadata, self->h);
}

TEST_F(async, chunk_sweep)
{
    for (size_t chunk = 1; chunk <= 64; chunk++) {
        ups_reset();
        handshake(_metadata, self->h, chunk, 0);
        exchange(_metadata, self->h, CLI, 100 + chunk, (uint32_t)chunk, chunk);
        exchange(_metadata, self->h, SRV, 1000 + chunk, (uint32_t)chunk + 100, chunk);
        pair_close(_metadata, self->h);
    }
}

/* Whole flights and several records per recvMessage; data sent from the
 * client's open upcall arrives behind its Finished, after the server's open. */
TEST_F(async, records_together)
{
    send_on_open = 1;
    handshake(_metadata, self->h, 0, 0);
    struct up *s = up_for(self->h[SRV]);
    ASSERT_EQ(s->len, 5u);
    ASSERT_MEM_EQ(s->data, "early", 5);
    ASSERT_LT(s->open_seq, s->first_recv_seq);
    const char *parts[] = { "one", "two", "three" };
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(SSL_ASYNC_sendMessage(self->h[CLI], (sbyte *)parts[i], (sbyte4)strlen(parts[i]), NULL), OK);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[CLI]), 3 * rec_over + 11);
    ST(move(self->h[CLI], self->h[SRV], 0), OK);
    ASSERT_EQ(s->recvs, 4);
    ASSERT_EQ(s->len, 16u);
    ASSERT_MEM_EQ(s->data, "earlyonetwothree", 16);
    pair_close(_metadata, self->h);
}

/* An upcall may close its connection: the call that made it returns OK and
 * touches nothing more (ASan watches); the rest of the bytes are dropped. */
TEST_F(async, upcall_closes)
{
    handshake(_metadata, self->h, 0, 0);
    close_in_upcall = 1;
    SEND(self->h[CLI], "a");
    SEND(self->h[CLI], "b");
    ST(move(self->h[CLI], self->h[SRV], 0), OK);
    ASSERT_EQ(up_for(self->h[SRV])->recvs, 1);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[SRV]), ERR_SSL_BAD_ID);
    ASSERT_EQ(SSL_ASYNC_closeConnection(self->h[CLI]), OK);
    /* The server's open upcall closes it, with data right behind the Finished. */
    ups_reset();
    send_on_open = 1;
    pair_new(_metadata, self->h);
    ASSERT_EQ(SSL_ASYNC_start(self->h[CLI]), OK);
    ST(pump(self->h, 0), OK);
    ASSERT_EQ(up_for(self->h[SRV])->opens, 1);
    ASSERT_EQ(up_for(self->h[SRV])->recvs, 0);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[SRV]), ERR_SSL_BAD_ID);
    ASSERT_EQ(SSL_ASYNC_closeConnection(self->h[CLI]), OK);
}

/* ---- data kept for SSL_ASYNC_getRecvBuffer --------------------------------------- */

/* Take exactly one waiting record with getRecvBuffer and compare it. */
static void take(struct th_meta *_metadata, sbyte4 h, const char *want)
{
    ubyte *p;
    ubyte4 len, proto;
    ASSERT_EQ(SSL_ASYNC_getRecvBuffer(h, &p, &len, &proto), OK);
    ASSERT_EQ(len, (ubyte4)strlen(want));
    ASSERT_EQ(proto, (ubyte4)SSL_APPLICATION_DATA);
    ASSERT_MEM_EQ(p, want, len);
    /* In place: in the library's buffer, not a copy of what the test gave. */
    ASSERT_TRUE(p < wire || p >= wire + sizeof wire);
}

TEST_F(async, recv_buffer)
{
    ubyte *p = NULL;
    ubyte4 len = 99, proto = 99;
    handshake(_metadata, self->h, 0, SSL_FLAG_ENABLE_RECV_BUFFER);
    /* Two records in one recvMessage: the first waits, the second waits behind it. */
    SEND(self->h[CLI], "hello");
    SEND(self->h[CLI], "world!");
    ST(move(self->h[CLI], self->h[SRV], 0), OK);
    ASSERT_EQ(up_for(self->h[SRV])->recvs, 0);   /* no receive upcall with the flag */
    take(_metadata, self->h[SRV], "hello");
    take(_metadata, self->h[SRV], "world!");
    ASSERT_EQ(SSL_ASYNC_getRecvBuffer(self->h[SRV], &p, &len, &proto), OK);
    ASSERT_EQ(len, 0u);
    ASSERT_EQ(proto, 0u);
    ASSERT_NULL(p);

    /* A byte at a time, then data and close_notify in one recvMessage. */
    exchange(_metadata, self->h, SRV, 10, 3, 1);   /* the other way still upcalls */
    SEND(self->h[CLI], "slow");
    ST(move(self->h[CLI], self->h[SRV], 1), OK);
    SEND(self->h[CLI], "bye");
    ASSERT_EQ(SSL_sendAlert(self->h[CLI], SSL_ALERT_CLOSE_NOTIFY, SSLALERTLEVEL_WARNING), OK);
    ST(move(self->h[CLI], self->h[SRV], 0), OK);   /* "slow" waits: nothing behind it ran */
    take(_metadata, self->h[SRV], "slow");
    take(_metadata, self->h[SRV], "bye");
    ST(SSL_ASYNC_getRecvBuffer(self->h[SRV], &p, &len, &proto), ERR_SSL_CONNECTION_CLOSED);
    ASSERT_EQ(len, 0u);
    ST(SSL_ASYNC_recvMessage(self->h[SRV], NULL, 0), ERR_SSL_CONNECTION_CLOSED);
    pair_close(_metadata, self->h);
}

TEST_F(async, recv_buffer_limit)
{
    /* The application takes nothing: bytes given behind the kept record are
     * held up to NKTLS_LIMIT_RECV_BUFFER, then refused untaken; once the data
     * is taken the same bytes go in and every record arrives intact. */
    static char rec[4000];
    ubyte *p;
    ubyte4 len, proto;
    memset(rec, 'r', sizeof rec - 1);
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_RECV_BUFFER, 16640), OK);
    handshake(_metadata, self->h, 0, SSL_FLAG_ENABLE_RECV_BUFFER);
    for (int i = 0; i < 8; i++)
        SEND(self->h[CLI], rec);
    len = sizeof wire;
    ASSERT_EQ(SSL_ASYNC_getSendBuffer(self->h[CLI], wire, &len), OK);
    size_t rlen = len / 8, off = 0;   /* records of equal size */
    ASSERT_EQ(rlen * 8, (size_t)len);
    ST(SSL_ASYNC_recvMessage(self->h[SRV], wire, (ubyte4)rlen * 2), OK);   /* one kept, one behind */
    off = rlen * 2;
    while (off < len && SSL_ASYNC_recvMessage(self->h[SRV], wire + off, (ubyte4)rlen) == OK)
        off += rlen;
    ASSERT_TRUE(off < len);   /* refused before all 32 KB were held */
    ST(SSL_ASYNC_recvMessage(self->h[SRV], wire + off, (ubyte4)rlen), ERR_SSL_BUFFER_LIMIT);
    ASSERT_LE((off - rlen) , 16640u);
    int taken = 0;
    for (;;) {
        ASSERT_EQ(SSL_ASYNC_getRecvBuffer(self->h[SRV], &p, &len, &proto), OK);
        if (len == 0) {
            if (off == (size_t)rlen * 8)
                break;
            ST(SSL_ASYNC_recvMessage(self->h[SRV], wire + off, (ubyte4)rlen), OK);
            off += rlen;
            continue;
        }
        ASSERT_EQ(len, (ubyte4)strlen(rec));
        ASSERT_MEM_EQ(p, rec, len);
        taken++;
    }
    ASSERT_EQ(taken, 8);
    pair_close(_metadata, self->h);
}

TEST_F(async, recv_message2_rest)
{
    ubyte *rest;
    ubyte4 rest_len, len;
    ubyte buf[512];
    pair_new(_metadata, self->h);
    ASSERT_EQ(SSL_ASYNC_start(self->h[CLI]), OK);
    ST(move(self->h[CLI], self->h[SRV], 0), OK);
    ST(move(self->h[SRV], self->h[CLI], 0), OK);
    /* The last Finished and data in one buffer: the call stops at the end of
     * the record that completes the handshake. In TLS 1.3 the client's
     * Finished is the last; in TLS 1.2 the server's (RFC 5246 §7.3: the
     * client sends first, and may send data only after the server's). */
    int last = CLI;
    if (tls_minor == 3) {
        ST(move(self->h[CLI], self->h[SRV], 0), OK);
        last = SRV;
    }
    SEND(self->h[last], "data");
    len = sizeof buf;
    ASSERT_EQ(SSL_ASYNC_getSendBuffer(self->h[last], buf, &len), OK);
    sbyte4 r = SSL_ASYNC_recvMessage2(self->h[1 - last], buf, len, &rest, &rest_len);
    ASSERT_EQ(r, 0);
    ASSERT_EQ(up_for(self->h[1 - last])->opens, 1);
    ASSERT_EQ(rest_len, 4u + rec_over);
    ASSERT_TRUE(rest == buf + len - rest_len);
    r = SSL_ASYNC_recvMessage2(self->h[1 - last], rest, rest_len, &rest, &rest_len);
    ASSERT_EQ(r, 4);
    ASSERT_EQ(rest_len, 0u);
    take(_metadata, self->h[1 - last], "data");
    ASSERT_EQ(up_for(self->h[1 - last])->recvs, 0);   /* recvMessage2 never upcalls data */
    ST(pump(self->h, 0), OK);   /* the server's ticket, if it sends one */

    /* Two records in one buffer. */
    SEND(self->h[CLI], "first");
    SEND(self->h[CLI], "second!");
    len = sizeof buf;
    ASSERT_EQ(SSL_ASYNC_getSendBuffer(self->h[CLI], buf, &len), OK);
    ASSERT_EQ(len, 5u + 7 + 2 * rec_over);
    r = SSL_ASYNC_recvMessage2(self->h[SRV], buf, len, &rest, &rest_len);
    ASSERT_EQ(r, 5);
    ASSERT_TRUE(rest == buf + 5 + rec_over);
    ASSERT_EQ(rest_len, 7u + rec_over);
    ASSERT_EQ(rest[0], SSL_APPLICATION_DATA);   /* the second record's header */
    /* Not taken yet: a second call processes nothing and says so again. */
    ubyte *again;
    r = SSL_ASYNC_recvMessage2(self->h[SRV], rest, rest_len, &again, &len);
    ASSERT_EQ(r, 5);
    ASSERT_TRUE(again == rest);
    ASSERT_EQ(len, rest_len);
    take(_metadata, self->h[SRV], "first");
    r = SSL_ASYNC_recvMessage2(self->h[SRV], rest, rest_len, &rest, &rest_len);
    ASSERT_EQ(r, 7);
    ASSERT_EQ(rest_len, 0u);
    take(_metadata, self->h[SRV], "second!");

    /* Half a record: all taken, nothing yet. */
    SEND(self->h[CLI], "split");
    len = sizeof buf;
    ASSERT_EQ(SSL_ASYNC_getSendBuffer(self->h[CLI], buf, &len), OK);
    r = SSL_ASYNC_recvMessage2(self->h[SRV], buf, 10, &rest, &rest_len);
    ASSERT_EQ(r, 0);
    ASSERT_EQ(rest_len, 0u);
    r = SSL_ASYNC_recvMessage2(self->h[SRV], buf + 10, len - 10, &rest, &rest_len);
    ASSERT_EQ(r, 5);
    take(_metadata, self->h[SRV], "split");
    pair_close(_metadata, self->h);
}

/* ---- the send buffer -------------------------------------------------------------- */

TEST_F(async, send_pending_counts)
{
    ubyte buf[64];
    ubyte4 len;
    sbyte4 sent = -1;
    pair_new(_metadata, self->h);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[CLI]), 0);
    /* Before the handshake completes nothing is queued. */
    ASSERT_EQ(SSL_ASYNC_sendMessage(self->h[CLI], (sbyte *)"x", 1, &sent), ERR_SSL_NOT_OPEN);
    ASSERT_EQ(sent, 0);
    ASSERT_EQ(SSL_ASYNC_start(self->h[CLI]), OK);
    ASSERT_EQ(SSL_ASYNC_start(self->h[CLI]), ERR_SSL_BAD_STATE);
    sbyte4 hello = SSL_ASYNC_sendMessagePending(self->h[CLI]);
    ASSERT_GT(hello, 100);
    ASSERT_EQ(SSL_ASYNC_sendMessage(self->h[CLI], (sbyte *)"x", 1, &sent), ERR_SSL_NOT_OPEN);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[CLI]), hello);
    /* A small take: exactly that many bytes leave, from the front. */
    len = 10;
    ASSERT_EQ(SSL_ASYNC_getSendBuffer(self->h[CLI], buf, &len), OK);
    ASSERT_EQ(len, 10u);
    ASSERT_EQ(buf[0], SSL_HANDSHAKE);
    ASSERT_EQ(buf[5], 1);   /* ClientHello */
    ASSERT_EQ((sbyte4)(5 + (buf[3] << 8 | buf[4])), hello);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[CLI]), hello - 10);
    ST(SSL_ASYNC_recvMessage(self->h[SRV], buf, 10), OK);
    ST(pump(self->h, 0), OK);
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[i]), 0);
    /* Each record adds the row's overhead (see the fixture). */
    ASSERT_EQ(SSL_ASYNC_sendMessage(self->h[CLI], (sbyte *)wire, 100, &sent), OK);
    ASSERT_EQ(sent, 100);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[CLI]), 100 + rec_over);
    ASSERT_EQ(SSL_ASYNC_sendMessage(self->h[CLI], (sbyte *)wire, 0, &sent), OK);
    ASSERT_EQ(sent, 0);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[CLI]), 100 + rec_over);
    ASSERT_EQ(SSL_ASYNC_sendMessage(self->h[CLI], (sbyte *)wire, 40000, &sent), OK);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[CLI]), 100 + 40000 + 4 * rec_over);
    ASSERT_EQ(SSL_ASYNC_sendMessage(self->h[CLI], (sbyte *)wire, -1, &sent), ERR_INVALID_ARG);
    ST(pump(self->h, 0), OK);
    ASSERT_EQ(up_for(self->h[SRV])->len, 40100u);
    pair_close(_metadata, self->h);
}

/* ---- errors and closure ----------------------------------------------------------- */

TEST_F(async, garbage_is_decode_error)
{
    static const ubyte http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    static const ubyte alert[] = { SSL_ALERT, 3, 3, 0, 2, SSLALERTLEVEL_FATAL, SSL_ALERT_DECODE_ERROR };
    ubyte buf[64];
    ubyte4 len = sizeof buf;
    pair_new(_metadata, self->h);
    ST(SSL_ASYNC_recvMessage(self->h[SRV], (ubyte *)http, sizeof http - 1), ERR_SSL_NOT_TLS);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[SRV]), (sbyte4)sizeof alert);
    ASSERT_EQ(SSL_ASYNC_getSendBuffer(self->h[SRV], buf, &len), OK);
    ASSERT_EQ(len, sizeof alert);
    ASSERT_MEM_EQ(buf, alert, sizeof alert);
    /* Sticky: nothing more is processed or sent. */
    ST(SSL_ASYNC_recvMessage(self->h[SRV], (ubyte *)http, 5), ERR_SSL_NOT_TLS);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[SRV]), 0);
    ASSERT_EQ(SSL_ASYNC_sendMessage(self->h[SRV], (sbyte *)"x", 1, NULL), ERR_SSL_NOT_TLS);
    ASSERT_EQ(up_for(self->h[SRV])->opens, 0);
    pair_close(_metadata, self->h);
}

TEST_F(async, bad_record_alert_reaches_peer)
{
    ubyte buf[256];
    ubyte4 len = sizeof buf;
    sbyte4 id = -1, cls = -1;
    handshake(_metadata, self->h, 0, 0);
    SEND(self->h[CLI], "tampered");
    ASSERT_EQ(SSL_ASYNC_getSendBuffer(self->h[CLI], buf, &len), OK);
    buf[len - 1] ^= 1;   /* the tag */
    ST(SSL_ASYNC_recvMessage(self->h[SRV], buf, len), ERR_SSL_BAD_RECORD_MAC);
    ASSERT_EQ(up_for(self->h[SRV])->recvs, 0);
    /* The alert is encrypted: the client decodes it. */
    ST(move(self->h[SRV], self->h[CLI], 0), ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(alerts_for(self->h[CLI], &id, &cls), 1);
    ASSERT_EQ(id, SSL_ALERT_BAD_RECORD_MAC);
    ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
    pair_close(_metadata, self->h);
}

TEST_F(async, close_notify)
{
    sbyte4 id = -1, cls = -1;
    handshake(_metadata, self->h, 3, 0);
    /* Data and close_notify in one recvMessage: data first, then the end. */
    SEND(self->h[CLI], "last");
    ASSERT_EQ(SSL_sendAlert(self->h[CLI], SSL_ALERT_CLOSE_NOTIFY, SSLALERTLEVEL_WARNING), OK);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[CLI]), 4 + 2 + 2 * rec_over);
    ST(move(self->h[CLI], self->h[SRV], 0), ERR_SSL_CONNECTION_CLOSED);
    struct up *s = up_for(self->h[SRV]);
    ASSERT_EQ(s->len, 4u);
    ASSERT_MEM_EQ(s->data, "last", 4);
    ASSERT_EQ(alerts_for(self->h[SRV], &id, &cls), 1);
    ASSERT_EQ(id, SSL_ALERT_CLOSE_NOTIFY);
    ASSERT_EQ(cls, SSLALERTLEVEL_WARNING);
    ST(SSL_ASYNC_recvMessage(self->h[SRV], (ubyte *)"x", 1), ERR_SSL_CONNECTION_CLOSED);
    /* The client has closed its sending side... */
    ASSERT_EQ(SSL_ASYNC_sendMessage(self->h[CLI], (sbyte *)"x", 1, NULL), ERR_SSL_NOT_OPEN);
    /* ...and the server answers in kind. */
    ASSERT_EQ(SSL_sendAlert(self->h[SRV], SSL_ALERT_CLOSE_NOTIFY, SSLALERTLEVEL_WARNING), OK);
    ST(move(self->h[SRV], self->h[CLI], 1), ERR_SSL_CONNECTION_CLOSED);
    pair_close(_metadata, self->h);
    ASSERT_EQ(SSL_ASYNC_closeConnection(self->h[SRV]), ERR_SSL_BAD_ID);
}

TEST_F(async, key_update_answered)
{
    handshake(_metadata, self->h, 0, 0);
    if (tls_minor == 3) {   /* RFC 5246 has no KeyUpdate: refused, nothing sent */
        ASSERT_EQ(SSL_sendKeyUpdateRequest(self->h[CLI], SSL_KEY_UPDATE_REQUESTED), ERR_SSL_BAD_STATE);
        ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[CLI]), 0);
        exchange(_metadata, self->h, CLI, 5000, 7, 0);
        pair_close(_metadata, self->h);
        return;
    }
    ASSERT_EQ(SSL_sendKeyUpdateRequest(self->h[CLI], SSL_KEY_UPDATE_REQUESTED), OK);
    /* KeyUpdate (4 + 1 bytes) in one protected record. */
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[CLI]), 5 + 22);
    ST(move(self->h[CLI], self->h[SRV], 1), OK);
    ASSERT_EQ(up_for(self->h[SRV])->key_updates, 1);
    /* RFC 8446 §4.6.3: the server answers with its own KeyUpdate, waiting here. */
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[SRV]), 5 + 22);
    ST(move(self->h[SRV], self->h[CLI], 0), OK);
    ASSERT_EQ(up_for(self->h[CLI])->key_updates, 1);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[CLI]), 0);   /* not asked: no answer */
    /* Both directions under the new keys. */
    exchange(_metadata, self->h, CLI, 5000, 7, 0);
    exchange(_metadata, self->h, SRV, 5000, 8, 7);
    pair_close(_metadata, self->h);
}

/* TLS 1.2 renegotiation through the asynchronous calls (handshake/tls12_reneg.c):
 * the server's HelloRequest goes out with the next bytes taken, the whole new
 * handshake runs a byte at a time inside recvMessage, and each end hears its
 * open-state upcall again, isRehandshake TRUE; data flows before, between and
 * after. TLS 1.3 has none: refused, nothing queued. */
TEST_F(async, rehandshake)
{
    handshake(_metadata, self->h, 0, 0);
    if (tls_minor == 4) {
        ASSERT_EQ(SSL_initiateRehandshake(self->h[SRV]), ERR_SSL_RENEGOTIATION_TLS13);
        ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[SRV]), 0);
        pair_close(_metadata, self->h);
        return;
    }
    ubyte4 status = 0;
    ASSERT_EQ(SSL_initiateRehandshake(self->h[SRV]), OK);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[SRV]), 4 + rec_over);   /* the HelloRequest */
    ST(move(self->h[SRV], self->h[CLI], 1), OK);
    ASSERT_EQ(SSL_getSessionStatus(self->h[CLI], &status), OK);
    ASSERT_EQ(status, (ubyte4)SSL_CONNECTION_RENEGOTIATE);
    exchange(_metadata, self->h, SRV, 3000, 9, 1);   /* ...which also finishes the handshake */
    for (int i = 0; i < 2; i++) {
        struct up *u = up_for(self->h[i]);
        ASSERT_EQ(u->opens, 2);
        ASSERT_EQ(u->rehandshakes, 1);
        ASSERT_EQ(SSL_getSessionStatus(self->h[i], &status), OK);
        ASSERT_EQ(status, (ubyte4)SSL_CONNECTION_OPEN);
    }
    exchange(_metadata, self->h, CLI, 5000, 10, 0);
    exchange(_metadata, self->h, SRV, 5000, 11, 7);
    pair_close(_metadata, self->h);
}

/* RFC 8446 §4.6.2 through the asynchronous calls: the server's request goes
 * out with the next bytes taken, the client answers inside recvMessage, and
 * the server has the client's certificate once the answer is in. TLS 1.2 has
 * no such thing: refused, nothing queued. */
TEST_F(async, post_handshake_auth)
{
    const ubyte *der = NULL;
    ubyte4 len = 0;
    sbyte4 *h = self->h;
    h[CLI] = SSL_ASYNC_connect(-1, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli_id);
    ASSERT_GT(h[CLI], 0);
    ASSERT_EQ(cap_version(h[CLI]), OK);
    ASSERT_EQ(SSL_setSessionFlags(h[CLI], SSL_FLAG_ENABLE_POST_HANDSHAKE_AUTH), OK);
    h[SRV] = SSL_ASYNC_acceptConnection(-1, env.srv);
    ASSERT_GT(h[SRV], 0);
    ASSERT_EQ(SSL_setSessionFlags(h[SRV], SSL_FLAG_ENABLE_POST_HANDSHAKE_AUTH), OK);
    ASSERT_EQ(SSL_ASYNC_start(h[CLI]), OK);
    ST(pump(h, 0), OK);
    ASSERT_EQ(NKTLS_getPeerCertificate(h[SRV], 0, &der, &len), ERR_SSL_NOT_OPEN);
    if (tls_minor == 3) {
        ASSERT_EQ(SSL_sendPosthandshakeAuthCertificateRequest(h[SRV]), ERR_SSL_BAD_STATE);
        ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[SRV]), 0);
        exchange(_metadata, h, SRV, 100, 3, 0);
        pair_close(_metadata, h);
        return;
    }
    ASSERT_EQ(SSL_sendPosthandshakeAuthCertificateRequest(h[SRV]), OK);
    ASSERT_GT(SSL_ASYNC_sendMessagePending(h[SRV]), 0);
    ST(move(h[SRV], h[CLI], 1), OK);   /* the request, a byte at a time */
    ASSERT_GT(SSL_ASYNC_sendMessagePending(h[CLI]), 0);   /* the answer, queued */
    exchange(_metadata, h, CLI, 3000, 4, 0);   /* behind the answer */
    ASSERT_EQ(NKTLS_getPeerCertificate(h[SRV], 0, &der, &len), OK);
    ASSERT_EQ(len, (ubyte4)pki.cli.n);
    ASSERT_MEM_EQ(der, pki.cli.p, len);
    exchange(_metadata, h, SRV, 3000, 5, 7);
    pair_close(_metadata, h);
}

/* ---- timers ------------------------------------------------------------------------ */

TEST_F(async, hello_timer)
{
    SSL_sslSettings()->sslTimeOutHello = 50;
    pair_new(_metadata, self->h);
    struct up *c = up_for(self->h[CLI]), *s = up_for(self->h[SRV]);
    ASSERT_EQ(SSL_ASYNC_start(self->h[CLI]), OK);
    ASSERT_EQ(c->timers + c->timer_as_client, 2);   /* once, the client's upcall */
    ASSERT_EQ(c->timer_ms, 50u);
    ASSERT_EQ(c->timer_future, 0);
    ASSERT_EQ(s->timers, 0);   /* the server starts with its first bytes */
    ST(move(self->h[CLI], self->h[SRV], 0), OK);
    ASSERT_EQ(s->timers - s->timer_as_client, 1);
    ASSERT_EQ(s->timer_ms, 50u);
    usleep(80 * 1000);
    /* No funcPtrSSLHandleTimeout: the client's next bytes come too late. */
    ST(move(self->h[SRV], self->h[CLI], 0), ERR_SSL_HANDSHAKE_TIMEOUT);
    ST(SSL_ASYNC_recvMessage(self->h[CLI], NULL, 0), ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[CLI]), 0);   /* no alert for that */
    pair_close(_metadata, self->h);

    /* With the callback, the application can grant more time. */
    SSL_sslSettings()->funcPtrSSLHandleTimeout = on_timeout;
    grant_ms = 10000;
    pair_new(_metadata, self->h);
    c = up_for(self->h[CLI]);
    ASSERT_EQ(SSL_ASYNC_start(self->h[CLI]), OK);
    usleep(80 * 1000);
    ST(pump(self->h, 0), OK);
    ASSERT_EQ(c->timeouts, 1);
    ASSERT_GE(c->timeout_ms, 50u);
    ASSERT_EQ(c->opens, 1);
    pair_close(_metadata, self->h);
}

/* Take what h has to send and drop it: the peer never hears it. */
static void lose(struct th_meta *_metadata, sbyte4 h)
{
    ubyte4 len = sizeof wire;
    ASSERT_EQ(SSL_ASYNC_getSendBuffer(h, wire, &len), OK);
    ASSERT_GT(len, 0u);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(h), 0);
}

/* A TLS 1.2 renegotiation has the handshake's time (sslTimeOutHello) from
 * when it begins, not from the first handshake: one that runs late after a
 * quiet spell completes; one the peer abandons fails at the next receive
 * call past the deadline with ERR_SSL_HANDSHAKE_TIMEOUT and no alert, on
 * the client (whose ClientHello is lost) and on the server (whose flight
 * goes unanswered). TLS 1.3 has none. */
#define RT_LIMIT_MS 1000
#define RT_PAST_MS 1300

TEST_F(async, rehandshake_timer)
{
    TH_SKIP_TIMING_UNDER_VALGRIND();
    /* The limit and the waits around it: long enough for a handshake under the
     * test VM's emulated CPU, where one takes far more than 50 ms. */
    SSL_sslSettings()->sslTimeOutHello = RT_LIMIT_MS;
    handshake(_metadata, self->h, 0, 0);
    if (tls_minor == 4) {
        ASSERT_EQ(SSL_initiateRehandshake(self->h[SRV]), ERR_SSL_RENEGOTIATION_TLS13);
        pair_close(_metadata, self->h);
        return;
    }
    usleep(RT_PAST_MS * 1000);   /* the first handshake's deadline is long past */
    ASSERT_EQ(SSL_initiateRehandshake(self->h[SRV]), OK);
    ST(pump(self->h, 0), OK);
    ASSERT_EQ(up_for(self->h[CLI])->rehandshakes, 1);
    ASSERT_EQ(up_for(self->h[SRV])->rehandshakes, 1);
    exchange(_metadata, self->h, CLI, 100, 1, 0);

    /* The client's ClientHello is lost: the client's own handshake times out. */
    ASSERT_EQ(SSL_initiateRehandshake(self->h[SRV]), OK);
    ST(move(self->h[SRV], self->h[CLI], 0), OK);   /* the HelloRequest */
    lose(_metadata, self->h[CLI]);
    SEND(self->h[SRV], "in time");
    ST(move(self->h[SRV], self->h[CLI], 0), OK);   /* data still flows meanwhile */
    usleep(RT_PAST_MS * 1000);
    SEND(self->h[SRV], "too late");
    ST(move(self->h[SRV], self->h[CLI], 0), ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[CLI]), 0);   /* no alert for that */
    ST(SSL_ASYNC_recvMessage(self->h[CLI], NULL, 0), ERR_SSL_HANDSHAKE_TIMEOUT);
    pair_close(_metadata, self->h);

    /* The server's flight is lost: the server times out. */
    handshake(_metadata, self->h, 0, 0);
    ASSERT_EQ(SSL_initiateRehandshake(self->h[SRV]), OK);
    ST(move(self->h[SRV], self->h[CLI], 0), OK);
    ST(move(self->h[CLI], self->h[SRV], 0), OK);   /* the ClientHello */
    ubyte4 status = 0;
    ASSERT_EQ(SSL_getSessionStatus(self->h[SRV], &status), OK);
    ASSERT_EQ(status, (ubyte4)SSL_CONNECTION_RENEGOTIATE);
    lose(_metadata, self->h[SRV]);
    usleep(RT_PAST_MS * 1000);
    SEND(self->h[CLI], "too late");
    ST(move(self->h[CLI], self->h[SRV], 0), ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_EQ(SSL_ASYNC_sendMessagePending(self->h[SRV]), 0);
    pair_close(_metadata, self->h);
}

/* Client certificates through the asynchronous API: the CA name the server
 * sends reaches the client's callback (the CA's subject DER), and the
 * identity its certificate callback gives is the one the server holds. */
static struct { int cas, certs; ubyte4 n, dn_ok; ubyte *blob; ubyte4 blob_len; SizedBuffer leaf; } acb;

static MSTATUS async_on_cas(sbyte4 h, SizedBuffer *cas, ubyte4 n)
{
    X509 *ca = d2i_X509(NULL, &(const unsigned char *){ pki.ca.p }, pki.ca.n);
    const unsigned char *dn;
    size_t dn_len;
    acb.cas++;
    acb.n = n;
    acb.dn_ok = ca && n == 1 && X509_NAME_get0_der(X509_get_subject_name(ca), &dn, &dn_len) == 1 &&
                cas[0].length == dn_len && memcmp(cas[0].data, dn, dn_len) == 0;
    X509_free(ca);
    return OK;
}

static MSTATUS async_on_cert(sbyte4 h, SizedBuffer **certs, ubyte4 *n, ubyte **key, ubyte4 *key_len,
                             ubyte **ca, ubyte4 *n_ca)
{
    acb.certs++;
    MSTATUS st = CA_MGMT_convertKeyDER(pki.cli_key.p, pki.cli_key.n, &acb.blob, &acb.blob_len);
    acb.leaf = (SizedBuffer){ pki.cli.n, NULL, pki.cli.p };
    *certs = &acb.leaf;
    *n = 1;
    *key = acb.blob;
    *key_len = acb.blob_len;
    return st;
}

TEST_F(async, client_cert_callback)
{
    pair_new(_metadata, self->h);
    ASSERT_EQ(SSL_setSessionFlags(self->h[SRV], SSL_FLAG_REQUIRE_MUTUAL_AUTH), OK);
    ASSERT_EQ(SSL_setClientCertAuthorityCallback(self->h[CLI], async_on_cas), OK);
    ASSERT_EQ(SSL_setClientCertCallback(self->h[CLI], async_on_cert), OK);
    ASSERT_EQ(SSL_ASYNC_start(self->h[CLI]), OK);
    ST(pump(self->h, 7), OK);
    EXPECT_EQ(acb.cas, 1);
    EXPECT_EQ(acb.n, 1u);
    EXPECT_TRUE(acb.dn_ok);
    EXPECT_EQ(acb.certs, 1);
    const ubyte *der = NULL;
    ubyte4 len = 0;
    ASSERT_EQ(NKTLS_getPeerCertificate(self->h[SRV], 0, &der, &len), OK);
    ASSERT_EQ(len, pki.cli.n);
    ASSERT_MEM_EQ(der, pki.cli.p, len);
    ASSERT_EQ(CA_MGMT_freeKeyBlob(&acb.blob), OK);
    pair_close(_metadata, self->h);
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
