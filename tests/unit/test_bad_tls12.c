/* test_bad_tls12.c — TLS 1.2 handshakes (RFC 5246) that must fail, in memory:
 * messages out of order and ChangeCipherSpec where it has no place
 * (unexpected_message), extended master secret missing on either side
 * (handshake_failure, RFC 7627), a non-empty renegotiation_info
 * (handshake_failure, RFC 5746 §3.4). Both ends are held to TLS 1.2 unless a
 * case says otherwise. (The downgrade sentinel is in test_bad_hello.c.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"
#include "handshake/tls12.h"

FIXTURE(bad12) {
    struct tp_pair p;
};

FIXTURE_SETUP(bad12)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_ioctl(self->p.h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
}

FIXTURE_TEARDOWN(bad12)
{
    tp_free(&self->p);
}

static const uint8_t ccs_record[] = { NK_CT_CHANGE_CIPHER_SPEC, 3, 3, 0, 1, 1 };

/* The good path first: the rest only means something if this works. */
TEST_F(bad12, baseline_tls12)
{
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(self->p.c[TP_CLIENT]->minor, 3);
    EXPECT_EQ(self->p.c[TP_SERVER]->minor, 3);
}

/* Server records: 0 ServerHello, 1 Certificate, 2 ServerKeyExchange,
 * 3 ServerHelloDone. A second Certificate where the ServerKeyExchange
 * belongs has no row: unexpected_message. */
TEST_F(bad12, certificate_twice)
{
    struct rec_edit e = { .dir = TP_S2C, .index = 1, .op = RE_DUP };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* RFC 5246 §7.1: a ChangeCipherSpec before the ClientKeyExchange. */
TEST_F(bad12, ccs_before_client_key_exchange)
{
    struct rec_edit e = { .dir = TP_C2S, .index = 0, .op = RE_APPEND, .bytes = ccs_record,
                          .n = sizeof ccs_record };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* Client records: 0 ClientHello, 1 ClientKeyExchange, 2 ChangeCipherSpec,
 * 3 Finished. A second ChangeCipherSpec where the Finished belongs. */
TEST_F(bad12, ccs_twice)
{
    struct rec_edit e = { .dir = TP_C2S, .index = 2, .op = RE_DUP };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* A ChangeCipherSpec from the server before its ServerHelloDone. */
TEST_F(bad12, server_ccs_early)
{
    struct rec_edit e = { .dir = TP_S2C, .index = 0, .op = RE_APPEND, .bytes = ccs_record,
                          .n = sizeof ccs_record };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

static void drop_ems(struct tp_hello *h)
{
    tp_hello_del(h, NK_EXT_EXTENDED_MASTER_SECRET);
}

/* RFC 7627: required by default. A ClientHello without it: the server says
 * handshake_failure. */
TEST_F(bad12, client_without_ems)
{
    struct hello_edit e = { .dir = TP_C2S, .fn = drop_ems, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* A ServerHello without it: the client says handshake_failure. */
TEST_F(bad12, server_without_ems)
{
    struct hello_edit e = { .dir = TP_S2C, .fn = drop_ems };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_HANDSHAKE_FAILURE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

static void reneg_not_empty(struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_RENEGOTIATION_INFO);
    if (i < 0 || h->ext[i].len != 1)
        return;
    /* renegotiated_connection<0..255> of one byte: 01 xx */
    h->ext[i].data[0] = 1;
    h->ext[i].data[1] = 0x5a;
    h->ext[i].len = 2;
}

/* RFC 5746 §3.4: in an initial handshake renegotiated_connection must be
 * empty; the client checks the server's. */
TEST_F(bad12, server_renegotiation_info_not_empty)
{
    struct hello_edit e = { .dir = TP_S2C, .fn = reneg_not_empty };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_HANDSHAKE_FAILURE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* RFC 5746 §3.6: and the server the client's. */
TEST_F(bad12, client_renegotiation_info_not_empty)
{
    struct hello_edit e = { .dir = TP_C2S, .fn = reneg_not_empty, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

static void add_fallback_scsv(struct tp_hello *h)
{
    h->suites[h->suites_len++] = NK_TLS12_SCSV_FALLBACK >> 8;
    h->suites[h->suites_len++] = NK_TLS12_SCSV_FALLBACK & 0xff;
}

/* RFC 7507 §3: a TLS 1.2 ClientHello with TLS_FALLBACK_SCSV to a server that
 * speaks TLS 1.3: inappropriate_fallback. */
TEST_F(bad12, fallback_scsv_to_tls13_server)
{
    ASSERT_EQ(SSL_ioctl(self->p.h[TP_SERVER], SSL_SET_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION), OK);
    struct hello_edit e = { .dir = TP_C2S, .fn = add_fallback_scsv, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_INAPPROPRIATE_FALLBACK, SSL_ALERT_INAPPROPRIATE_FALLBACK);
}

/* The same hello to a server whose highest version is TLS 1.2: no fallback
 * happened, the handshake completes in TLS 1.2. */
TEST_F(bad12, fallback_scsv_to_tls12_server)
{
    struct hello_edit e = { .dir = TP_C2S, .fn = add_fallback_scsv, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), OK);
    EXPECT_EQ(self->p.c[TP_SERVER]->minor, 3);
}

TEST_HARNESS_MAIN
