/* test_bad_record.c — input the record layer must refuse, and alerts: records
 * cut short, over their limits (RFC 8446 §5.1, §5.2, §5.4), failing their
 * AEAD tag, with unknown or missing inner content types, bytes that are not
 * TLS, application data before the keys, ChangeCipherSpec of the wrong value
 * or at the wrong time (§5), alerts received, warning alerts (§6) and alerts
 * of the wrong length. Each case checks the error on the side that detects it
 * (c->err), the alert it sends (c->alert_out), and that the peer then reports
 * exactly that alert as fatal and sends nothing back (bad_env.h). The
 * sanitizer build runs these too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"

/* Every case runs on one pair; the teardown releases it even after a failed
 * check, so the sanitizer build reports only the library's leaks. */
FIXTURE(bad) {
    struct tp_pair p;
};

FIXTURE_TEARDOWN(bad)
{
    tp_free(&self->p);
}

/* ---- records ---- */

TEST_F(bad, truncated_record_waits)
{
    uint8_t rec[5 + 10] = { NK_CT_HANDSHAKE, 3, 1, 0, 100 };
    server_alone(_metadata, &self->p);
    ASSERT_EQ(tp_inject(&self->p, TP_C2S, rec, sizeof rec), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    /* 15 of 105 bytes: no error, nothing sent, and the engine asks for exactly
     * the rest of the record. */
    struct nk_conn *s = self->p.c[TP_SERVER];
    size_t want = 0;
    ASSERT_EQ(s->err, OK);
    ASSERT_EQ(s->alert_out, -1);
    ASSERT_EQ(self->p.q[TP_S2C].len, 0u);
    ASSERT_EQ(nk_conn_wants(s), (unsigned)NK_WANT_RECV);
    ASSERT_NOT_NULL(nk_in_buf(s, &want));
    ASSERT_EQ(want, 90u);
}

TEST_F(bad, record_overflow_unprotected)
{
    /* §5.1: TLSPlaintext.length MUST NOT exceed 2^14; the header alone tells. */
    uint8_t hdr[5] = { NK_CT_HANDSHAKE, 3, 1, 0x40, 0x01 };
    server_alone(_metadata, &self->p);
    ASSERT_EQ(tp_inject(&self->p, TP_C2S, hdr, sizeof hdr), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_alone(_metadata, &self->p, ERR_SSL_RECORD_OVERFLOW, SSL_ALERT_RECORD_OVERFLOW);
}

TEST_F(bad, record_overflow_protected)
{
    /* §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256. */
    uint8_t hdr[5] = { NK_CT_APPLICATION_DATA, 3, 3, 0x41, 0x01 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_EQ(tp_inject(&self->p, TP_C2S, hdr, sizeof hdr), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_RECORD_OVERFLOW, SSL_ALERT_RECORD_OVERFLOW);
}

TEST_F(bad, record_overflow_inner_plaintext)
{
    /* §5.4: a TLSInnerPlaintext over 2^14 + 1 bytes is record_overflow, even
     * when it decrypts: 2^14 bytes of data, the type and one byte of padding,
     * sealed with the client's own key. */
    static uint8_t big[NK_MAX_PLAIN];
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct nk_conn *c = self->p.c[TP_CLIENT];
    ASSERT_EQ(nk_rec_seal(c->wr, NK_CT_APPLICATION_DATA, big, sizeof big, 1, &c->out), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_RECORD_OVERFLOW, SSL_ALERT_RECORD_OVERFLOW);
}

TEST_F(bad, record_largest_allowed)
{
    /* The limit is inclusive: an inner plaintext of exactly 2^14 + 1 bytes is
     * fine, all data, or data and zero padding (which is stripped). */
    static uint8_t big[NK_MAX_PLAIN];
    static const size_t pad[] = { 0, 384 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct nk_conn *c = self->p.c[TP_CLIENT];
    for (size_t i = 0; i < NK_ARRAY_LEN(pad); i++) {
        size_t n = sizeof big - pad[i];
        tp_fill(big, n, (unsigned)i);
        self->p.rx[TP_SERVER].len = 0;
        ASSERT_EQ(nk_rec_seal(c->wr, NK_CT_APPLICATION_DATA, big, n, pad[i], &c->out), OK);
        ASSERT_EQ(tp_pump(&self->p), OK);
        ASSERT_EQ(self->p.c[TP_SERVER]->err, OK);
        ASSERT_EQ(self->p.rx[TP_SERVER].len, n);
        ASSERT_MEM_EQ(self->p.rx[TP_SERVER].p, big, n);
    }
}

TEST_F(bad, bad_record_mac_handshake)
{
    /* One bit of the server's first protected record (EncryptedExtensions). */
    struct rec_edit e = { .dir = TP_S2C, .index = 2, .op = RE_FLIP, .at = NK_REC_HDR + 2 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_edit(&self->p, &e), ERR_SSL_BAD_RECORD_MAC);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_BAD_RECORD_MAC, SSL_ALERT_BAD_RECORD_MAC);
}

TEST_F(bad, bad_record_mac_application_data)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct rec_edit e = { .dir = TP_C2S, .index = self->p.records[TP_C2S], .op = RE_FLIP,
                          .at = NK_REC_HDR + 20 + NK_AEAD_TAG / 2 };
    self->p.hook = rec_edit_hook;
    self->p.hook_arg = &e;
    ASSERT_EQ(tp_send(&self->p, TP_CLIENT, "a record worth forging", 22), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_EQ(e.done, 1);
    ASSERT_EQ(self->p.rx[TP_SERVER].len, 0u);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_BAD_RECORD_MAC, SSL_ALERT_BAD_RECORD_MAC);
}

TEST_F(bad, unknown_inner_content_type)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct nk_conn *c = self->p.c[TP_CLIENT];
    ASSERT_EQ(nk_rec_seal(c->wr, 99, (const uint8_t *)"x", 1, 0, &c->out), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(bad, all_padding_record)
{
    /* §5.4: a plaintext of zeros only has no content type: unexpected_message. */
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct nk_conn *c = self->p.c[TP_CLIENT];
    ASSERT_EQ(nk_rec_seal(c->wr, 0, (const uint8_t *)"", 0, 8, &c->out), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(bad, not_tls_at_all)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    server_alone(_metadata, &self->p);
    ASSERT_EQ(tp_inject(&self->p, TP_C2S, req, sizeof req - 1), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_alone(_metadata, &self->p, ERR_SSL_NOT_TLS, SSL_ALERT_DECODE_ERROR);
}

TEST_F(bad, application_data_before_handshake)
{
    /* §5.1: application data MUST NOT be sent unprotected. */
    uint8_t rec[5 + 5] = { NK_CT_APPLICATION_DATA, 3, 3, 0, 5, 'h', 'e', 'l', 'l', 'o' };
    server_alone(_metadata, &self->p);
    ASSERT_EQ(tp_inject(&self->p, TP_C2S, rec, sizeof rec), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_alone(_metadata, &self->p, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* ---- ChangeCipherSpec (§5: one byte, 0x01, only during the handshake) ---- */

static const uint8_t ccs_bad[6] = { NK_CT_CHANGE_CIPHER_SPEC, 3, 3, 0, 1, 2 };
static const uint8_t ccs_good[6] = { NK_CT_CHANGE_CIPHER_SPEC, 3, 3, 0, 1, 1 };

TEST_F(bad, ccs_wrong_value)
{
    struct rec_edit e = { .dir = TP_C2S, .index = 0, .op = RE_APPEND, .bytes = ccs_bad,
                          .n = sizeof ccs_bad };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(bad, ccs_before_client_hello)
{
    server_alone(_metadata, &self->p);
    ASSERT_EQ(tp_inject(&self->p, TP_C2S, ccs_good, sizeof ccs_good), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_alone(_metadata, &self->p, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(bad, ccs_after_handshake)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_EQ(tp_inject(&self->p, TP_C2S, ccs_good, sizeof ccs_good), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* ---- alerts ---- */

TEST_F(bad, fatal_alert_received)
{
    /* The server's first record replaced by handshake_failure: the client
     * reports it and sends nothing, not even an alert, back. */
    static const uint8_t alert[7] = { NK_CT_ALERT, 3, 3, 0, 2, SSLALERTLEVEL_FATAL,
                                      SSL_ALERT_HANDSHAKE_FAILURE };
    struct rec_edit e = { .dir = TP_S2C, .index = 0, .op = RE_REPLACE, .bytes = alert,
                          .n = sizeof alert };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    struct nk_conn *c = self->p.c[TP_CLIENT];
    ASSERT_EQ(c->err, ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(c->alert_in, SSL_ALERT_HANDSHAKE_FAILURE);
    ASSERT_EQ(c->alert_in_level, SSLALERTLEVEL_FATAL);
    ASSERT_EQ(c->alert_out, NK_ALERT_NONE);
    ASSERT_EQ(self->p.records[TP_C2S], 1u);   /* the ClientHello, nothing after */
    ASSERT_TRUE(nk_conn_wants(c) & NK_CLOSED);
}

TEST_F(bad, warning_alert_is_fatal_in_tls13)
{
    /* §6: every alert but close_notify and user_canceled ends the connection,
     * whatever level it claims. */
    static const uint8_t alert[7] = { NK_CT_ALERT, 3, 3, 0, 2, SSLALERTLEVEL_WARNING,
                                      SSL_ALERT_BAD_CERTIFICATE };
    struct rec_edit e = { .dir = TP_S2C, .index = 0, .op = RE_REPLACE, .bytes = alert,
                          .n = sizeof alert };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(self->p.c[TP_CLIENT]->alert_in, SSL_ALERT_BAD_CERTIFICATE);
    ASSERT_EQ(self->p.c[TP_CLIENT]->alert_out, NK_ALERT_NONE);
    ASSERT_EQ(self->p.records[TP_C2S], 1u);
}

TEST_F(bad, fatal_alert_after_handshake)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    unsigned sent = self->p.records[TP_C2S];
    ASSERT_EQ(SSL_sendAlert(self->p.h[TP_SERVER], SSL_ALERT_INTERNAL_ERROR, SSLALERTLEVEL_FATAL), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    struct nk_conn *c = self->p.c[TP_CLIENT];
    ASSERT_EQ(c->err, ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(c->alert_in, SSL_ALERT_INTERNAL_ERROR);
    ASSERT_EQ(c->alert_out, NK_ALERT_NONE);
    ASSERT_EQ(self->p.records[TP_C2S], sent);
    ASSERT_EQ(tp_send(&self->p, TP_CLIENT, "x", 1), ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(tp_send(&self->p, TP_SERVER, "x", 1), ERR_SSL_FATAL_ALERT);
}

TEST_F(bad, alert_of_wrong_length)
{
    /* §5.1: alerts are never fragmented or coalesced. */
    static const uint8_t alert[8] = { NK_CT_ALERT, 3, 3, 0, 3, SSLALERTLEVEL_FATAL, 40, 40 };
    server_alone(_metadata, &self->p);
    ASSERT_EQ(tp_inject(&self->p, TP_C2S, alert, sizeof alert), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_alone(_metadata, &self->p, ERR_SSL_PROTOCOL, SSL_ALERT_DECODE_ERROR);
}

TEST_HARNESS_MAIN
