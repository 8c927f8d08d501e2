/* test_bad_handshake.c — handshake messages the state machine must refuse:
 * messages out of order or replayed, a second HelloRetryRequest, Finished and
 * CertificateVerify forged inside the encrypted flight (every server key type,
 * schemes not offered or not matching the key), and after the handshake:
 * KeyUpdate with a bad value, length or in a flood (RFC 8446 §4.6.3), and
 * messages that have no place there. Each case checks the error on the side
 * that detects it (c->err), the alert it sends (c->alert_out), and that the
 * peer then reports exactly that alert as fatal and sends nothing back
 * (bad_env.h). The sanitizer build runs these too. */
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

/* ---- messages out of order ---- */

static void drop_cert_and_cv(struct tp_flight *f, struct nk_buf *msg)
{
    if (msg->p[0] == NK_HS_CERTIFICATE || msg->p[0] == NK_HS_CERTIFICATE_VERIFY)
        msg->len = 0;
}

TEST_F(bad, finished_instead_of_certificate)
{
    struct tp_flight f = { .dir = TP_S2C, .msg_fn = drop_cert_and_cv };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_flight(&self->p, &f), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* CertificateVerify first, Certificate after it. */
static void swap_cert_cv(struct tp_flight *f, struct nk_buf *msg)
{
    struct nk_buf *held = f->arg;
    if (msg->p[0] == NK_HS_CERTIFICATE) {
        held->len = 0;
        if (nk_buf_append(held, msg->p, msg->len) != OK)
            f->err = ERR_MEM_ALLOC_FAIL;
        msg->len = 0;
    } else if (msg->p[0] == NK_HS_CERTIFICATE_VERIFY) {
        if (nk_buf_append(msg, held->p, held->len) != OK)
            f->err = ERR_MEM_ALLOC_FAIL;
    }
}

TEST_F(bad, certificate_verify_before_certificate)
{
    struct nk_buf held = { 0 };
    struct tp_flight f = { .dir = TP_S2C, .msg_fn = swap_cert_cv, .arg = &held, .coalesce = 1 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    MSTATUS st = run_flight(&self->p, &f);
    nk_buf_free(&held);
    ASSERT_EQ(st, ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(bad, server_hello_replayed)
{
    /* The second copy arrives once the handshake keys are on: an unprotected
     * handshake record is then unexpected_message. */
    struct rec_edit e = { .dir = TP_S2C, .index = 0, .op = RE_DUP };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(bad, client_hello_replayed)
{
    struct rec_edit e = { .dir = TP_C2S, .index = 0, .op = RE_DUP };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(bad, certificate_before_client_hello)
{
    uint8_t rec[5 + 8] = { NK_CT_HANDSHAKE, 3, 1, 0, 8, NK_HS_CERTIFICATE, 0, 0, 4, 0, 0, 0, 0 };
    server_alone(_metadata, &self->p);
    ASSERT_EQ(tp_inject(&self->p, TP_C2S, rec, sizeof rec), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_alone(_metadata, &self->p, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(bad, second_hello_retry_request)
{
    /* §4.1.4: a second HelloRetryRequest is unexpected_message. */
    static const ubyte2 cli_groups[] = { NK_GROUP_X25519, NK_GROUP_SECP256R1 };
    static const ubyte2 srv_groups[] = { NK_GROUP_SECP256R1 };
    struct rec_edit e = { .dir = TP_S2C, .index = 0, .op = RE_DUP };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_CLIENT], cli_groups, 2), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_SERVER], srv_groups, 1), OK);
    ASSERT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* ---- Finished and CertificateVerify, forged inside the encrypted flight ---- */

static void flip_finished(struct tp_flight *f, struct nk_buf *msg)
{
    if (msg->p[0] == NK_HS_FINISHED)
        msg->p[4 + 7] ^= 0x80;
}

TEST_F(bad, bad_server_finished)
{
    struct tp_flight f = { .dir = TP_S2C, .msg_fn = flip_finished };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_flight(&self->p, &f), ERR_SSL_BAD_FINISHED);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_BAD_FINISHED, SSL_ALERT_DECRYPT_ERROR);
}

TEST_F(bad, bad_client_finished)
{
    struct tp_flight f = { .dir = TP_C2S, .msg_fn = flip_finished };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_flight(&self->p, &f), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_BAD_FINISHED, SSL_ALERT_DECRYPT_ERROR);
}

static void flip_signature(struct tp_flight *f, struct nk_buf *msg)
{
    /* The last byte is inside the signature whatever its encoding (the end of
     * ECDSA's s, RSA's last block, Ed25519's S). */
    if (msg->p[0] == NK_HS_CERTIFICATE_VERIFY)
        msg->p[msg->len - 1] ^= 0x01;
}

TEST_F(bad, bad_server_certificate_verify)
{
    static const int keys[] = { K_P256, K_P384, K_RSA, K_RSA_PSS, K_ED25519 };
    for (size_t i = 0; i < NK_ARRAY_LEN(keys); i++) {
        struct tp_flight f = { .dir = TP_S2C, .msg_fn = flip_signature };
        ASSERT_EQ(tp_new(&self->p, keys[i], -1), OK);
        ASSERT_EQ(run_flight(&self->p, &f), ERR_SSL_BAD_SIGNATURE) TH_LOG("key %s", key_host[keys[i]]);
        check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_BAD_SIGNATURE, SSL_ALERT_DECRYPT_ERROR);
        tp_free(&self->p);
    }
}

TEST_F(bad, bad_client_certificate_verify)
{
    struct tp_flight f = { .dir = TP_C2S, .msg_fn = flip_signature };
    ASSERT_EQ(tp_new(&self->p, K_P256, K_RSA), OK);
    ASSERT_EQ(SSL_setSessionFlags(self->p.h[TP_SERVER], SSL_FLAG_REQUIRE_MUTUAL_AUTH), OK);
    ASSERT_EQ(run_flight(&self->p, &f), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_BAD_SIGNATURE, SSL_ALERT_DECRYPT_ERROR);
}

static uint16_t g_cv_scheme;

static void set_cv_scheme(struct tp_flight *f, struct nk_buf *msg)
{
    if (msg->p[0] == NK_HS_CERTIFICATE_VERIFY)
        nk_store16(msg->p + 4, g_cv_scheme);
}

TEST_F(bad, certificate_verify_scheme_not_offered)
{
    /* §4.4.3: the scheme must be one the client offered; rsa_pkcs1_sha256 never
     * is, for a handshake signature. */
    struct tp_flight f = { .dir = TP_S2C, .msg_fn = set_cv_scheme };
    g_cv_scheme = NK_SIG_RSA_PKCS1_SHA256;
    ASSERT_EQ(tp_new(&self->p, K_RSA, -1), OK);
    ASSERT_EQ(run_flight(&self->p, &f), ERR_SSL_ILLEGAL_PARAMETER);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

TEST_F(bad, certificate_verify_scheme_wrong_key)
{
    /* An RSA scheme over a P-256 certificate. */
    struct tp_flight f = { .dir = TP_S2C, .msg_fn = set_cv_scheme };
    g_cv_scheme = NK_SIG_RSA_PSS_RSAE_SHA256;
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_flight(&self->p, &f), ERR_SSL_ILLEGAL_PARAMETER);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

/* ---- after the handshake: KeyUpdate, and messages with no place there ---- */

TEST_F(bad, key_update_bad_request_value)
{
    /* §4.6.3: request_update other than 0 or 1 is illegal_parameter. */
    static const uint8_t ku[5] = { NK_HS_KEY_UPDATE, 0, 0, 1, 2 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct nk_conn *c = self->p.c[TP_CLIENT];
    ASSERT_EQ(nk_rec_seal(c->wr, NK_CT_HANDSHAKE, ku, sizeof ku, 0, &c->out), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

TEST_F(bad, key_update_wrong_length)
{
    static const uint8_t ku[6] = { NK_HS_KEY_UPDATE, 0, 0, 2, 0, 0 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct nk_conn *c = self->p.c[TP_CLIENT];
    ASSERT_EQ(nk_rec_seal(c->wr, NK_CT_HANDSHAKE, ku, sizeof ku, 0, &c->out), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    /* Refused from its header: KeyUpdate is one byte (§4.6.3). */
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_MESSAGE_TOO_LONG, SSL_ALERT_DECODE_ERROR);
}

TEST_F(bad, key_update_flood)
{
    /* 32 KeyUpdates in a row are tolerated; data resets the count; the 33rd
     * in a row is a flood. */
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct nk_conn *c = self->p.c[TP_CLIENT];
    for (int i = 0; i < 32; i++)
        ASSERT_EQ(nk_key_update_send(&c->tls, 0), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_EQ(self->p.c[TP_SERVER]->err, OK);
    ASSERT_EQ(tp_send(&self->p, TP_CLIENT, "data", 4), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_EQ(self->p.rx[TP_SERVER].len, 4u);
    for (int i = 0; i < 33; i++)
        ASSERT_EQ(nk_key_update_send(&c->tls, 0), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_KEY_UPDATE_LIMIT, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(bad, handshake_message_after_handshake)
{
    /* A ClientHello (or any message but KeyUpdate/NewSessionTicket) once the
     * handshake is over: unexpected_message. */
    static const uint8_t ee[6] = { NK_HS_ENCRYPTED_EXTENSIONS, 0, 0, 2, 0, 0 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct nk_conn *s = self->p.c[TP_SERVER];
    ASSERT_EQ(nk_rec_seal(s->wr, NK_CT_HANDSHAKE, ee, sizeof ee, 0, &s->out), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(bad, new_session_ticket_to_server)
{
    /* Only servers send NewSessionTicket. */
    static const uint8_t nst[4 + 13] = { NK_HS_NEW_SESSION_TICKET, 0, 0, 13, 0, 0, 0, 60,
                                         0, 0, 0, 0, 0, 0, 1, 0xAA, 0 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct nk_conn *c = self->p.c[TP_CLIENT];
    ASSERT_EQ(nk_rec_seal(c->wr, NK_CT_HANDSHAKE, nst, sizeof nst, 0, &c->out), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_HARNESS_MAIN
