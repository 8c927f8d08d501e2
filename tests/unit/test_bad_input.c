/* test_bad_input.c — what our client and server do with input they must refuse:
 * bad records, messages out of order, forged Finished and CertificateVerify,
 * certificates that do not verify, nothing in common, malformed hellos, bad
 * key shares, misused alerts, ChangeCipherSpec and KeyUpdate. Each case checks
 * the error on the side that detects it (c->err), the alert it sends
 * (c->alert_out, RFC 8446 §6), and that the peer then reports exactly that
 * alert as fatal and sends nothing back. The sanitizer build runs these too. */
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
    check_alone(_metadata, &self->p, ERR_SSL_PROTOCOL, SSL_ALERT_DECODE_ERROR);
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

/* ---- certificates ---- */

/* A pair whose server sends leaf (with the intermediate) and whose client
 * trusts anchor and asks for host. */
static MSTATUS cert_pair(struct tp_pair *p, X509 *leaf, EVP_PKEY *key, X509 *anchor, const char *host)
{
    certStorePtr srv = tp_store_new(), cli = tp_store_new();
    MSTATUS st = srv && cli ? OK : ERR_MEM_ALLOC_FAIL;
    if (st == OK)
        st = tp_store_identity(srv, leaf, key, pki.inter);
    if (st == OK)
        st = tp_store_trust(cli, anchor);
    if (st != OK) {
        CERT_STORE_releaseStore(&srv);
        CERT_STORE_releaseStore(&cli);
        memset(p, 0, sizeof *p);
        return st;
    }
    return tp_new_stores(p, srv, cli, host);
}

TEST_F(bad, unknown_ca)
{
    ASSERT_EQ(cert_pair(&self->p, pki.leaf[K_RSA], pki.key[K_RSA], pki.other_root, key_host[K_RSA]), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY, SSL_ALERT_UNKNOWN_CA);
}

TEST_F(bad, expired_certificate)
{
    ASSERT_EQ(cert_pair(&self->p, pki.expired, pki.key[K_P256], pki.root, "expired.example.com"), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_CERT_EXPIRED);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_CERT_EXPIRED, SSL_ALERT_CERTIFICATE_EXPIRED);
}

TEST_F(bad, wrong_host_name)
{
    ASSERT_EQ(cert_pair(&self->p, pki.leaf[K_RSA], pki.key[K_RSA], pki.root, "other.example"), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_CERT_HOSTNAME_MISMATCH);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_CERT_HOSTNAME_MISMATCH, SSL_ALERT_CERTIFICATE_UNKNOWN);
}

TEST_F(bad, client_certificate_required)
{
    /* §4.4.2.4: the client has no certificate and says so with an empty
     * Certificate; the server insists: certificate_required. */
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_setSessionFlags(self->p.h[TP_SERVER], SSL_FLAG_REQUIRE_MUTUAL_AUTH), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_CERTIFICATE_REQUIRED, SSL_ALERT_CERTIFICATE_REQUIRED);
}

TEST_F(bad, client_certificate_unknown_ca)
{
    /* The server does not trust the client's issuer. */
    certStorePtr srv = tp_store_new(), cli = tp_store_new();
    ASSERT_NOT_NULL(srv);
    ASSERT_NOT_NULL(cli);
    ASSERT_EQ(tp_store_identity(srv, pki.leaf[K_P256], pki.key[K_P256], pki.inter), OK);
    ASSERT_EQ(tp_store_trust(srv, pki.other_root), OK);
    ASSERT_EQ(tp_store_trust(cli, pki.root), OK);
    ASSERT_EQ(tp_store_identity(cli, pki.leaf[K_RSA], pki.key[K_RSA], pki.inter), OK);
    ASSERT_EQ(tp_new_stores(&self->p, srv, cli, key_host[K_P256]), OK);
    ASSERT_EQ(SSL_setSessionFlags(self->p.h[TP_SERVER], SSL_FLAG_REQUIRE_MUTUAL_AUTH), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY, SSL_ALERT_UNKNOWN_CA);
}

/* Two identities; the server answers with the one the client's SNI names. */
TEST_F(bad, identity_chosen_by_sni)
{
    static const struct { int key; uint16_t scheme; } want[] = {
        { K_P256, NK_SIG_ECDSA_SECP256R1_SHA256 },
        { K_RSA, NK_SIG_RSA_PSS_RSAE_SHA256 },
        { K_ED25519, NK_SIG_ED25519 },
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(want); i++) {
        certStorePtr srv = tp_store_new(), cli = tp_store_new();
        ASSERT_NOT_NULL(srv);
        ASSERT_NOT_NULL(cli);
        ASSERT_EQ(tp_store_identity(srv, pki.leaf[K_RSA], pki.key[K_RSA], pki.inter), OK);
        ASSERT_EQ(tp_store_identity(srv, pki.leaf[K_P256], pki.key[K_P256], pki.inter), OK);
        ASSERT_EQ(tp_store_identity(srv, pki.leaf[K_ED25519], pki.key[K_ED25519], pki.inter), OK);
        ASSERT_EQ(tp_store_trust(cli, pki.root), OK);
        ASSERT_EQ(tp_new_stores(&self->p, srv, cli, key_host[want[i].key]), OK);
        ASSERT_EQ(tp_handshake(&self->p), OK) TH_LOG("for %s", key_host[want[i].key]);
        ubyte2 sig = 0;
        const sbyte *name = NULL;
        ASSERT_EQ(SSL_getSignatureAlgo(self->p.h[TP_CLIENT], &sig), OK);
        ASSERT_EQ(sig, want[i].scheme);
        ASSERT_EQ(NKTLS_getServerName(self->p.h[TP_SERVER], &name), OK);
        ASSERT_STR_EQ((const char *)name, key_host[want[i].key]);
        tp_free(&self->p);
    }
}

TEST_F(bad, sni_matching_no_identity)
{
    /* No identity for the name: the server falls back to its first one, which
     * the client then refuses for the name it asked for. */
    ASSERT_EQ(cert_pair(&self->p, pki.leaf[K_RSA], pki.key[K_RSA], pki.root, "nothere.example.com"), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_CERT_HOSTNAME_MISMATCH);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_CERT_HOSTNAME_MISMATCH, SSL_ALERT_CERTIFICATE_UNKNOWN);
}

/* ---- nothing in common ---- */

TEST_F(bad, no_common_group)
{
    static const ubyte2 cli_groups[] = { NK_GROUP_X25519 };
    static const ubyte2 srv_groups[] = { NK_GROUP_SECP384R1 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_CLIENT], cli_groups, 1), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_SERVER], srv_groups, 1), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_NO_GROUP_MATCH, SSL_ALERT_HANDSHAKE_FAILURE);
}

TEST_F(bad, no_common_cipher_suite)
{
    static const ubyte2 cli_suites[] = { SSL_TLS_AES_256_GCM_SHA384, SSL_TLS_AES_128_CCM_SHA256 };
    static const ubyte2 srv_suites[] = { SSL_TLS_AES_128_GCM_SHA256, SSL_TLS_CHACHA20_POLY1305_SHA256 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_CLIENT], cli_suites, 2), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_SERVER], srv_suites, 2), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_NO_CIPHER_MATCH, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* ---- ClientHello, changed on its way to the server ---- */

static void ch_no_supported_versions(struct tp_hello *h)
{
    /* What a TLS 1.2-only client sends. */
    tp_hello_del(h, NK_EXT_SUPPORTED_VERSIONS);
    tp_hello_del(h, NK_EXT_KEY_SHARE);
}

static void ch_tls12_in_supported_versions(struct tp_hello *h)
{
    static const uint8_t v[] = { 4, 0x03, 0x03, 0x03, 0x02 };
    int i = tp_hello_find(h, NK_EXT_SUPPORTED_VERSIONS);
    memcpy(h->ext[i].data, v, sizeof v);
    h->ext[i].len = sizeof v;
}

static void ch_duplicate_extension(struct tp_hello *h)
{
    static const uint8_t rsl[2] = { 0x40, 0x01 };
    (void)tp_hello_add(h, NK_EXT_RECORD_SIZE_LIMIT, rsl, sizeof rsl);
}

static void ch_compression_deflate(struct tp_hello *h)
{
    h->comp[0] = 1;
    h->comp[1] = 0;
    h->comp_len = 2;
}

static void ch_compression_none_missing(struct tp_hello *h)
{
    h->comp[0] = 1;
    h->comp_len = 1;
}

/* supported_groups without X25519, the group of the one key share. */
static void ch_share_not_in_groups(struct tp_hello *h)
{
    static const uint8_t groups[] = { 0, 4, 0, NK_GROUP_SECP256R1, 0, NK_GROUP_SECP384R1 };
    int i = tp_hello_find(h, NK_EXT_SUPPORTED_GROUPS);
    memcpy(h->ext[i].data, groups, sizeof groups);
    h->ext[i].len = sizeof groups;
}

/* The one X25519 share (client_shares<2>, group<2>, key_exchange<2>, 32 bytes). */
static uint8_t *x25519_share(struct tp_hello *h, int *ext)
{
    *ext = tp_hello_find(h, NK_EXT_KEY_SHARE);
    if (*ext < 0 || h->ext[*ext].len != 2 + 4 + 32)
        return NULL;
    return h->ext[*ext].data + 6;
}

static void ch_share_short(struct tp_hello *h)
{
    int i;
    if (!x25519_share(h, &i))
        return;
    uint8_t *d = h->ext[i].data;
    nk_store16(d, 2 + 2 + 31);
    nk_store16(d + 4, 31);
    h->ext[i].len = 2 + 4 + 31;
}

static void ch_share_zero(struct tp_hello *h)
{
    /* §7.4.2: an X25519 share that makes the shared secret all zeros. */
    int i;
    uint8_t *k = x25519_share(h, &i);
    if (k)
        memset(k, 0, 32);
}

static void ch_share_off_curve(struct tp_hello *h)
{
    /* An uncompressed P-256 point that is not on the curve. */
    int i = tp_hello_find(h, NK_EXT_KEY_SHARE);
    if (i >= 0 && h->ext[i].len == 2 + 4 + 65)
        memset(h->ext[i].data + 6 + 1, 0x01, 64);
}

static void ch_legacy_version_ssl3(struct tp_hello *h)
{
    h->version = 0x0300;
}

static void ch_legacy_version_zero(struct tp_hello *h)
{
    h->version = 0x0000;
}

static void ch_legacy_version_tls10(struct tp_hello *h)
{
    /* §4.1.2: legacy_version is otherwise ignored once supported_versions
     * offers 1.3 — this must still work. */
    h->version = 0x0301;
}

struct ch_case {
    const char *name;
    void (*fn)(struct tp_hello *h);
    MSTATUS err;
    int alert;
};

static void run_ch_case(struct __test_metadata *_metadata, struct tp_pair *p, const struct ch_case *c,
                        const ubyte2 *groups, ubyte4 n_groups)
{
    struct hello_edit e = { .dir = TP_C2S, .fn = c->fn };
    ASSERT_EQ(tp_new(p, K_P256, -1), OK);
    if (groups)
        ASSERT_EQ(NKTLS_setGroups(p->h[TP_CLIENT], groups, n_groups), OK);
    MSTATUS st = run_hello_edit(p, &e);
    EXPECT_EQ(st, c->err == OK ? OK : ERR_SSL_FATAL_ALERT) TH_LOG("case %s", c->name);
    if (c->err != OK)
        check_fail(_metadata, p, TP_SERVER, c->err, c->alert);
    tp_free(p);
}

TEST_F(bad, client_hello_without_tls13)
{
    struct ch_case c = { "no supported_versions", ch_no_supported_versions,
                         ERR_SSL_UNSUPPORTED_VERSION, SSL_ALERT_PROTOCOL_VERSION };
    run_ch_case(_metadata, &self->p, &c, NULL, 0);
}

TEST_F(bad, client_hello_tls12_and_older_only)
{
    struct ch_case c = { "supported_versions 1.2, 1.1", ch_tls12_in_supported_versions,
                         ERR_SSL_UNSUPPORTED_VERSION, SSL_ALERT_PROTOCOL_VERSION };
    run_ch_case(_metadata, &self->p, &c, NULL, 0);
}

TEST_F(bad, client_hello_duplicate_extension)
{
    struct ch_case c = { "record_size_limit twice", ch_duplicate_extension,
                         ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER };
    run_ch_case(_metadata, &self->p, &c, NULL, 0);
}

TEST_F(bad, client_hello_compression)
{
    struct ch_case c1 = { "compression {1, 0}", ch_compression_deflate,
                          ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER };
    struct ch_case c2 = { "compression {1}", ch_compression_none_missing,
                          ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER };
    run_ch_case(_metadata, &self->p, &c1, NULL, 0);
    run_ch_case(_metadata, &self->p, &c2, NULL, 0);
}

TEST_F(bad, client_hello_share_not_in_supported_groups)
{
    struct ch_case c = { "share X25519, groups P-256/P-384", ch_share_not_in_groups,
                         ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER };
    run_ch_case(_metadata, &self->p, &c, NULL, 0);
}

TEST_F(bad, client_hello_bad_key_share)
{
    static const ubyte2 p256[] = { NK_GROUP_SECP256R1 };
    struct ch_case c1 = { "X25519 share of 31 bytes", ch_share_short, ERR_SSL_BAD_KEY_SHARE,
                          SSL_ALERT_ILLEGAL_PARAMETER };
    struct ch_case c2 = { "X25519 share of zeros", ch_share_zero, ERR_SSL_BAD_KEY_SHARE,
                          SSL_ALERT_ILLEGAL_PARAMETER };
    struct ch_case c3 = { "P-256 point off the curve", ch_share_off_curve, ERR_SSL_BAD_KEY_SHARE,
                          SSL_ALERT_ILLEGAL_PARAMETER };
    run_ch_case(_metadata, &self->p, &c1, NULL, 0);
    run_ch_case(_metadata, &self->p, &c2, NULL, 0);
    run_ch_case(_metadata, &self->p, &c3, p256, 1);
}

TEST_F(bad, client_hello_legacy_version)
{
    /* Appendix D.5: a Hello with legacy_version 0x0300 or below is aborted
     * with protocol_version, whatever supported_versions says. */
    struct ch_case ssl3 = { "legacy_version 0x0300", ch_legacy_version_ssl3, ERR_SSL_UNSUPPORTED_VERSION,
                            SSL_ALERT_PROTOCOL_VERSION };
    struct ch_case zero = { "legacy_version 0x0000", ch_legacy_version_zero, ERR_SSL_UNSUPPORTED_VERSION,
                            SSL_ALERT_PROTOCOL_VERSION };
    run_ch_case(_metadata, &self->p, &ssl3, NULL, 0);
    run_ch_case(_metadata, &self->p, &zero, NULL, 0);
    struct hello_edit e = { .dir = TP_C2S, .fn = ch_legacy_version_tls10, .fix_transcript = 1 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_hello_edit(&self->p, &e), OK);
}

/* ---- ServerHello and HelloRetryRequest, changed on their way to the client ---- */

static void sh_unoffered_extension(struct tp_hello *h)
{
    (void)tp_hello_add(h, 0x1234, "", 0);
}

static void sh_extension_not_for_server_hello(struct tp_hello *h)
{
    /* The client offered server_name, but it belongs in EncryptedExtensions. */
    (void)tp_hello_add(h, NK_EXT_SERVER_NAME, "", 0);
}

static void sh_tls12(struct tp_hello *h)
{
    tp_hello_del(h, NK_EXT_SUPPORTED_VERSIONS);
    tp_hello_del(h, NK_EXT_KEY_SHARE);
}

static void sh_tls12_downgrade(struct tp_hello *h)
{
    /* §4.1.3: a TLS 1.3 server negotiating TLS 1.2 ends its random with
     * "DOWNGRD" 01. */
    sh_tls12(h);
    memcpy(h->random + 24, "DOWNGRD\x01", 8);
}

static void sh_tls11_downgrade(struct tp_hello *h)
{
    sh_tls12(h);
    memcpy(h->random + 24, "DOWNGRD\x00", 8);
}

static void sh_selects_tls12(struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_SUPPORTED_VERSIONS);
    nk_store16(h->ext[i].data, 0x0303);
}

static void sh_share_short(struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_KEY_SHARE);
    if (i < 0 || h->ext[i].len != 4 + 32)
        return;
    nk_store16(h->ext[i].data + 2, 31);
    h->ext[i].len = 4 + 31;
}

static void sh_session_id_changed(struct tp_hello *h)
{
    h->sid[0] ^= 1;
}

static void hrr_no_change(struct tp_hello *h)
{
    /* §4.1.4: neither a new group nor a cookie. */
    tp_hello_del(h, NK_EXT_KEY_SHARE);
    tp_hello_del(h, NK_EXT_COOKIE);
}

static void hrr_group_already_shared(struct tp_hello *h)
{
    /* §4.2.8: the group the client already sent a share for. */
    int i = tp_hello_find(h, NK_EXT_KEY_SHARE);
    nk_store16(h->ext[i].data, NK_GROUP_X25519);
    tp_hello_del(h, NK_EXT_COOKIE);
}

static void hrr_group_not_offered(struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_KEY_SHARE);
    nk_store16(h->ext[i].data, NK_GROUP_X448);
}

struct sh_case {
    const char *name;
    void (*fn)(struct tp_hello *h);
    int hrr;
    MSTATUS err;
    int alert;
};

static void run_sh_case(struct __test_metadata *_metadata, struct tp_pair *p, const struct sh_case *c)
{
    static const ubyte2 cli_groups[] = { NK_GROUP_X25519, NK_GROUP_SECP256R1 };
    static const ubyte2 srv_groups[] = { NK_GROUP_SECP256R1 };
    struct hello_edit e = { .dir = TP_S2C, .fn = c->fn, .hrr_only = c->hrr };
    ASSERT_EQ(tp_new(p, K_P256, -1), OK);
    if (c->hrr) {
        ASSERT_EQ(NKTLS_setGroups(p->h[TP_CLIENT], cli_groups, 2), OK);
        ASSERT_EQ(NKTLS_setGroups(p->h[TP_SERVER], srv_groups, 1), OK);
    }
    EXPECT_EQ(run_hello_edit(p, &e), c->err) TH_LOG("case %s", c->name);
    check_fail(_metadata, p, TP_CLIENT, c->err, c->alert);
    tp_free(p);
}

TEST_F(bad, server_hello_unoffered_extension)
{
    struct sh_case c = { "extension 0x1234", sh_unoffered_extension, 0,
                         ERR_SSL_UNSUPPORTED_EXTENSION, SSL_ALERT_UNSUPPORTED_EXTENSION };
    run_sh_case(_metadata, &self->p, &c);
}

TEST_F(bad, server_hello_extension_out_of_place)
{
    struct sh_case c = { "server_name in ServerHello", sh_extension_not_for_server_hello, 0,
                         ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER };
    run_sh_case(_metadata, &self->p, &c);
}

TEST_F(bad, server_hello_downgrade_sentinel)
{
    struct sh_case c1 = { "TLS 1.2 with DOWNGRD 01", sh_tls12_downgrade, 0,
                          ERR_SSL_DOWNGRADE_DETECTED, SSL_ALERT_ILLEGAL_PARAMETER };
    struct sh_case c2 = { "TLS 1.2 with DOWNGRD 00", sh_tls11_downgrade, 0,
                          ERR_SSL_DOWNGRADE_DETECTED, SSL_ALERT_ILLEGAL_PARAMETER };
    run_sh_case(_metadata, &self->p, &c1);
    run_sh_case(_metadata, &self->p, &c2);
}

TEST_F(bad, server_hello_tls12)
{
    /* We offered only 1.3: a TLS 1.2 ServerHello is protocol_version. */
    struct sh_case c = { "TLS 1.2 ServerHello", sh_tls12, 0, ERR_SSL_UNSUPPORTED_VERSION,
                         SSL_ALERT_PROTOCOL_VERSION };
    run_sh_case(_metadata, &self->p, &c);
}

TEST_F(bad, server_hello_selects_unoffered_version)
{
    /* §4.2.1: selected_version not offered: illegal_parameter. */
    struct sh_case c = { "supported_versions 1.2", sh_selects_tls12, 0, ERR_SSL_ILLEGAL_PARAMETER,
                         SSL_ALERT_ILLEGAL_PARAMETER };
    run_sh_case(_metadata, &self->p, &c);
}

TEST_F(bad, server_hello_bad_key_share)
{
    struct sh_case c = { "X25519 share of 31 bytes", sh_share_short, 0, ERR_SSL_BAD_KEY_SHARE,
                         SSL_ALERT_ILLEGAL_PARAMETER };
    run_sh_case(_metadata, &self->p, &c);
}

TEST_F(bad, server_hello_session_id_not_echoed)
{
    /* §4.1.3: legacy_session_id_echo must match: illegal_parameter. */
    struct sh_case c = { "session id changed", sh_session_id_changed, 0,
                         ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER };
    run_sh_case(_metadata, &self->p, &c);
}

TEST_F(bad, hello_retry_request_changes_nothing)
{
    struct sh_case c1 = { "no key_share, no cookie", hrr_no_change, 1, ERR_SSL_ILLEGAL_PARAMETER,
                          SSL_ALERT_ILLEGAL_PARAMETER };
    struct sh_case c2 = { "group already shared", hrr_group_already_shared, 1,
                          ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER };
    run_sh_case(_metadata, &self->p, &c1);
    run_sh_case(_metadata, &self->p, &c2);
}

TEST_F(bad, hello_retry_request_group_not_offered)
{
    struct sh_case c = { "X448, not offered", hrr_group_not_offered, 1, ERR_SSL_ILLEGAL_PARAMETER,
                         SSL_ALERT_ILLEGAL_PARAMETER };
    run_sh_case(_metadata, &self->p, &c);
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

/* ---- KeyUpdate ---- */

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
