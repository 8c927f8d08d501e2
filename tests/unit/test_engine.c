/* test_engine.c — the engine's interface to its drivers, with no driver: the
 * timer (NK_WANT_TIMER, nk_conn_deadline, nk_engine_timer, nk_engine_hs_limit:
 * when a deadline exists, what expiry does to the connection and what it
 * sends, that none is left once the handshake is done) and datagram feeding
 * (nk_in_datagram: whole records in one datagram, a record cut short by the
 * datagram's end, an empty datagram, application data part-way). Times are
 * made up: the engine only compares the ones it is given. */
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"

FIXTURE(eng) {
    struct tp_pair p;
};

FIXTURE_SETUP(eng)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
}

FIXTURE_TEARDOWN(eng)
{
    tp_free(&self->p);
}

static size_t out_len(struct nk_conn *c)
{
    size_t len;
    (void)nk_out_buf(c, &len);
    return len;
}

/* ---- timers ---------------------------------------------------------------------- */

TEST_F(eng, no_timer_unless_set)
{
    for (int s = 0; s < 2; s++) {
        struct nk_conn *c = self->p.c[s];
        ASSERT_EQ(nk_conn_deadline(c), 0);
        ASSERT_FALSE(nk_conn_wants(c) & NK_WANT_TIMER);
        ASSERT_EQ(nk_engine_timer(c, INT64_MAX), OK);   /* nothing to expire */
        ASSERT_EQ(c->err, OK);
    }
}

TEST_F(eng, deadline_set_extended_cleared)
{
    struct nk_conn *c = self->p.c[TP_SERVER];
    nk_engine_hs_limit(c, 1000, 300);
    ASSERT_EQ(nk_conn_deadline(c), 1300);
    ASSERT_TRUE(nk_conn_wants(c) & NK_WANT_TIMER);
    /* Granting more time counts from the moment it is granted. */
    nk_engine_hs_limit(c, 1250, 500);
    ASSERT_EQ(nk_conn_deadline(c), 1750);
    ASSERT_EQ(nk_engine_timer(c, 1300), OK);
    ASSERT_EQ(nk_engine_timer(c, 1749), OK);
    ASSERT_EQ(c->err, OK);
    /* A limit of 0 is none. */
    nk_engine_hs_limit(c, 1250, 0);
    ASSERT_EQ(nk_conn_deadline(c), 0);
    ASSERT_FALSE(nk_conn_wants(c) & NK_WANT_TIMER);
    ASSERT_EQ(nk_engine_timer(c, INT64_MAX), OK);
}

/* A server waiting for its ClientHello: at the deadline, not a millisecond
 * before, the handshake fails with ERR_SSL_HANDSHAKE_TIMEOUT, sticky, and no
 * alert goes out: the limit is ours, the peer broke no rule. */
TEST_F(eng, server_expiry)
{
    struct nk_conn *c = self->p.c[TP_SERVER];
    ASSERT_EQ(nk_engine_start(c), OK);
    nk_engine_hs_limit(c, 1000, 300);
    ASSERT_EQ(nk_engine_timer(c, 1299), OK);
    ASSERT_EQ(c->err, OK);
    ASSERT_EQ(nk_conn_wants(c), (unsigned)(NK_WANT_RECV | NK_WANT_TIMER));

    ASSERT_EQ(nk_engine_timer(c, 1300), ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_EQ(c->err, ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_EQ(c->alert_out, -1);
    ASSERT_EQ(out_len(c), 0u);
    ASSERT_EQ(c->status, (ubyte4)SSL_CONNECTION_NEGOTIATE);
    ASSERT_EQ(nk_conn_wants(c), (unsigned)NK_CLOSED);   /* no timer, no input any more */
    ASSERT_EQ(nk_conn_deadline(c), 0);
    sbyte4 alert = 0, level = 0;
    ASSERT_EQ(SSL_lookupAlert(c->handle, ERR_SSL_HANDSHAKE_TIMEOUT, &alert, &level), ERR_INVALID_ARG);
    /* Sticky: later calls, and input, get the same error. */
    ASSERT_EQ(nk_engine_timer(c, 1301), ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_EQ(nk_in_ack(c, 0), ERR_SSL_HANDSHAKE_TIMEOUT);
}

/* A client whose ClientHello is out: expiry adds nothing behind it. */
TEST_F(eng, client_expiry_sends_nothing)
{
    struct nk_conn *c = self->p.c[TP_CLIENT];
    ASSERT_EQ(nk_engine_start(c), OK);
    size_t hello = out_len(c);
    ASSERT_GT(hello, 0u);
    nk_engine_hs_limit(c, 5000, 100);
    ASSERT_EQ(nk_conn_wants(c), (unsigned)(NK_WANT_SEND | NK_WANT_RECV | NK_WANT_TIMER));
    ASSERT_EQ(nk_engine_timer(c, 5100), ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_EQ(c->alert_out, -1);
    ASSERT_EQ(out_len(c), hello);
    ASSERT_EQ(nk_conn_wants(c), (unsigned)(NK_WANT_SEND | NK_CLOSED));
}

/* The deadline may run before the engine starts (the event loop's client
 * counts its TCP connect): it expires the same way. */
TEST_F(eng, expiry_before_start)
{
    struct nk_conn *c = self->p.c[TP_CLIENT];
    nk_engine_hs_limit(c, 1, 10);
    ASSERT_TRUE(nk_conn_wants(c) & NK_WANT_TIMER);
    ASSERT_EQ(nk_engine_timer(c, 11), ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_EQ(c->alert_out, -1);
    ASSERT_EQ(out_len(c), 0u);
}

/* Once the handshake is done nothing is timed, whatever the clock says, and
 * the connection carries data. */
TEST_F(eng, no_deadline_after_handshake)
{
    for (int s = 0; s < 2; s++)
        nk_engine_hs_limit(self->p.c[s], 1000, 300);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    for (int s = 0; s < 2; s++) {
        struct nk_conn *c = self->p.c[s];
        ASSERT_EQ(nk_conn_deadline(c), 0);
        ASSERT_FALSE(nk_conn_wants(c) & NK_WANT_TIMER);
        ASSERT_TRUE(nk_conn_wants(c) & NK_DONE_HS);
        ASSERT_EQ(nk_engine_timer(c, 1000000), OK);
        ASSERT_EQ(c->err, OK);
    }
    ASSERT_EQ(tp_send(&self->p, TP_CLIENT, "ping", 4), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_EQ(self->p.rx[TP_SERVER].len, 4u);
    ASSERT_MEM_EQ(self->p.rx[TP_SERVER].p, "ping", 4);
}

/* ---- datagrams ------------------------------------------------------------------- */

/* The client's first flight, which is one record: its ClientHello. */
static void client_hello(struct __test_metadata *_metadata, struct tp_pair *p, struct nk_buf *rec)
{
    struct nk_conn *c = p->c[TP_CLIENT];
    ASSERT_EQ(nk_engine_start(c), OK);
    size_t len;
    const uint8_t *d = nk_out_buf(c, &len);
    ASSERT_GT(len, (size_t)NK_REC_HDR + 4);
    ASSERT_EQ(d[0], NK_CT_HANDSHAKE);
    ASSERT_EQ(len, NK_REC_HDR + (size_t)nk_load16(d + 3));
    ASSERT_EQ(nk_buf_append(rec, d, len), OK);
    nk_out_ack(c, len);
}

/* The ClientHello cut into two records, both in one datagram: the server takes
 * both, reassembles the message and answers; the handshake then completes. */
TEST_F(eng, datagram_two_whole_records)
{
    struct nk_buf hello = { 0 }, dg = { 0 };
    struct nk_conn *s = self->p.c[TP_SERVER];
    client_hello(_metadata, &self->p, &hello);
    const uint8_t *body = hello.p + NK_REC_HDR;
    size_t n = hello.len - NK_REC_HDR, half = n / 2;
    ASSERT_EQ(tp_plain_record(&dg, NK_CT_HANDSHAKE, body, half), OK);
    ASSERT_EQ(tp_plain_record(&dg, NK_CT_HANDSHAKE, body + half, n - half), OK);
    ASSERT_EQ(nk_engine_start(s), OK);

    size_t used = 0;
    ASSERT_EQ(nk_in_datagram(s, dg.p, dg.len, &used), OK);
    ASSERT_EQ(used, dg.len);
    ASSERT_EQ(s->err, OK);
    ASSERT_EQ(s->hs_in.len, 0u);   /* the message was completed and handled */
    ASSERT_TRUE(nk_conn_wants(s) & NK_WANT_SEND);   /* ServerHello .. Finished */
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_TRUE(tp_open(&self->p, TP_CLIENT));
    ASSERT_TRUE(tp_open(&self->p, TP_SERVER));
    nk_buf_free(&hello);
    nk_buf_free(&dg);
}

/* A record that does not end inside its datagram: decode_error, and nothing
 * of the record's body is taken. */
TEST_F(eng, datagram_truncated_record)
{
    static const uint8_t alert[] = { NK_CT_ALERT, 3, 3, 0, 2, SSLALERTLEVEL_FATAL, SSL_ALERT_DECODE_ERROR };
    struct nk_buf hello = { 0 };
    struct nk_conn *s = self->p.c[TP_SERVER];
    client_hello(_metadata, &self->p, &hello);
    ASSERT_EQ(nk_engine_start(s), OK);

    size_t used = 0;
    ASSERT_EQ(nk_in_datagram(s, hello.p, hello.len - 1, &used), ERR_SSL_PROTOCOL);
    ASSERT_EQ(used, (size_t)NK_REC_HDR);
    ASSERT_EQ(s->err, ERR_SSL_PROTOCOL);
    ASSERT_EQ(s->alert_out, SSL_ALERT_DECODE_ERROR);
    ASSERT_EQ(out_len(s), sizeof alert);
    size_t len;
    ASSERT_MEM_EQ(nk_out_buf(s, &len), alert, sizeof alert);
    ASSERT_TRUE(nk_conn_wants(s) & NK_CLOSED);
    /* Sticky: the whole record, given afterwards, is not looked at. */
    ASSERT_EQ(nk_in_datagram(s, hello.p, hello.len, &used), ERR_SSL_PROTOCOL);
    ASSERT_EQ(used, 0u);
    nk_buf_free(&hello);
}

/* A datagram too short for even a record header is cut short the same way. */
TEST_F(eng, datagram_truncated_header)
{
    static const uint8_t three[] = { NK_CT_HANDSHAKE, 3, 3 };
    struct nk_conn *s = self->p.c[TP_SERVER];
    ASSERT_EQ(nk_engine_start(s), OK);
    size_t used = 1;
    ASSERT_EQ(nk_in_datagram(s, three, sizeof three, &used), ERR_SSL_PROTOCOL);
    ASSERT_EQ(used, 0u);
    ASSERT_EQ(s->alert_out, SSL_ALERT_DECODE_ERROR);
}

/* An empty datagram changes nothing; the next one is taken as usual. */
TEST_F(eng, datagram_empty)
{
    struct nk_buf hello = { 0 };
    struct nk_conn *s = self->p.c[TP_SERVER];
    client_hello(_metadata, &self->p, &hello);
    ASSERT_EQ(nk_engine_start(s), OK);
    size_t used = 1;
    ASSERT_EQ(nk_in_datagram(s, hello.p, 0, &used), OK);
    ASSERT_EQ(used, 0u);
    ASSERT_EQ(s->err, OK);
    ASSERT_EQ(nk_conn_wants(s), (unsigned)NK_WANT_RECV);
    ASSERT_EQ(out_len(s), 0u);
    ASSERT_EQ(s->in.len, 0u);
    ASSERT_EQ(nk_in_datagram(s, hello.p, hello.len, &used), OK);
    ASSERT_EQ(used, hello.len);
    ASSERT_TRUE(nk_conn_wants(s) & NK_WANT_SEND);
    nk_buf_free(&hello);
}

/* A datagram starts a record: with part of a record held, or reading ahead
 * (where the engine would not frame records itself), it is refused, untaken,
 * and the connection goes on. */
TEST_F(eng, datagram_refused_mid_record)
{
    struct nk_buf hello = { 0 };
    struct nk_conn *s = self->p.c[TP_SERVER];
    client_hello(_metadata, &self->p, &hello);
    ASSERT_EQ(nk_engine_start(s), OK);
    size_t room, used = 1;
    uint8_t *in = nk_in_buf(s, &room);
    ASSERT_NOT_NULL(in);
    memcpy(in, hello.p, 3);
    ASSERT_EQ(nk_in_ack(s, 3), OK);
    ASSERT_EQ(nk_in_datagram(s, hello.p + 3, hello.len - 3, &used), ERR_SSL_BAD_STATE);
    ASSERT_EQ(used, 0u);
    ASSERT_EQ(s->err, OK);

    struct nk_conn *c = self->p.c[TP_CLIENT];
    c->readahead = 1;
    ASSERT_EQ(nk_in_datagram(c, hello.p, 0, &used), ERR_SSL_BAD_STATE);
    ASSERT_EQ(c->err, OK);
    nk_buf_free(&hello);
}

/* Two records of application data in one datagram: the first one's data stops
 * the walk (the engine holds one record's data at a time); once it is read,
 * the rest of the datagram gives the second. */
TEST_F(eng, datagram_application_data)
{
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct nk_conn *c = self->p.c[TP_CLIENT], *s = self->p.c[TP_SERVER];
    ASSERT_EQ(out_len(c), 0u);
    ASSERT_EQ(tp_send(&self->p, TP_CLIENT, "abc", 3), OK);
    size_t first = out_len(c);
    ASSERT_EQ(tp_send(&self->p, TP_CLIENT, "defg", 4), OK);
    size_t len;
    const uint8_t *dg = nk_out_buf(c, &len);
    ASSERT_GT(len, first);

    size_t used = 0;
    uint8_t got[8];
    ASSERT_EQ(nk_in_datagram(s, dg, len, &used), OK);
    ASSERT_EQ(used, first);
    ASSERT_EQ(nk_app_read(s, got, sizeof got), 3u);
    ASSERT_MEM_EQ(got, "abc", 3);
    size_t rest = 0;
    ASSERT_EQ(nk_in_datagram(s, dg + used, len - used, &rest), OK);
    ASSERT_EQ(rest, len - used);
    ASSERT_EQ(nk_app_read(s, got, sizeof got), 4u);
    ASSERT_MEM_EQ(got, "defg", 4);
    ASSERT_EQ(s->err, OK);
    nk_out_ack(c, len);
}

TEST_HARNESS_MAIN
