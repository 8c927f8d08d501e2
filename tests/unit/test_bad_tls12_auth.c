/* test_bad_tls12_auth.c — authentication in TLS 1.2, in memory. Client
 * authentication (RFC 5246 §7.4.4 CertificateRequest, §7.4.6 client
 * Certificate, §7.4.8 CertificateVerify): the handshakes that must work
 * (required and given, optional and missing, each key type) and those that
 * must not: a required certificate missing (handshake_failure), a
 * CertificateVerify missing, badly signed or under a scheme the server did
 * not list, a Certificate where it has no place, and a client that skips
 * Certificate and CertificateVerify altogether. Signature schemes (RFC 5246
 * §7.4.1.4.1, RFC 8422): rsa_pkcs1_* for peers that offer only those, ECDSA
 * hashes on any curve, EdDSA, SHA-1 only when allowed, a ServerKeyExchange
 * under a scheme we did not offer. Both ends are held to TLS 1.2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"
#include "handshake/tls12.h"

FIXTURE(auth12) {
    struct tp_pair p;
};

FIXTURE_SETUP(auth12)
{
}

FIXTURE_TEARDOWN(auth12)
{
    tp_free(&self->p);
}

/* A pair with the server's P-256 identity, the client's (cli_key, or none:
 * -1), both held to TLS 1.2, the server's flags set. */
static void pair12(struct __test_metadata *_metadata, struct tp_pair *p, int cli_key, ubyte4 srv_flags)
{
    ASSERT_EQ(tp_new(p, K_P256, cli_key), OK);
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_ioctl(p->h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
    if (srv_flags)
        ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], srv_flags), OK);
}

/* The server holds the client's chain, leaf first (<u24 length, DER> entries). */
static void check_client_leaf(struct __test_metadata *_metadata, struct tp_pair *p, int cli_key)
{
    unsigned char *der = NULL;
    int n = i2d_X509(pki.leaf[cli_key], &der);
    ASSERT_GT(n, 0);
    const struct nk_conn *s = p->c[TP_SERVER];
    ASSERT_GT(s->peer_chain_len, 3u);
    EXPECT_EQ(nk_load24(s->peer_chain), (uint32_t)n);
    EXPECT_EQ(memcmp(s->peer_chain + 3, der, (size_t)n), 0);
    OPENSSL_free(der);
}

static void check_data_both_ways(struct __test_metadata *_metadata, struct tp_pair *p)
{
    static const uint8_t hi[] = "over TLS 1.2 with a client certificate";
    for (int from = 0; from < 2; from++) {
        ASSERT_EQ(nk_app_write(p->c[from], hi, sizeof hi), OK);
        ASSERT_EQ(tp_pump(p), OK);
        ASSERT_EQ(p->rx[1 - from].len, sizeof hi);
        ASSERT_EQ(memcmp(p->rx[1 - from].p, hi, sizeof hi), 0);
        p->rx[1 - from].len = 0;
    }
}

/* Required and given, per client key type: the server verified the chain,
 * the CertificateVerify's scheme is the one for the key (RFC 8422 §5.8 for
 * ECDSA, EdDSA; RSA signs with PSS). */
TEST_F(auth12, required_and_given)
{
    static const struct { int key; uint16_t scheme; } rows[] = {
        { K_P256, NK_SIG_ECDSA_SECP256R1_SHA256 },
        { K_P384, NK_SIG_ECDSA_SECP384R1_SHA384 },
        { K_RSA, NK_SIG_RSA_PSS_RSAE_SHA256 },
        { K_ED25519, NK_SIG_ED25519 },
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(rows); i++) {
        pair12(_metadata, &self->p, rows[i].key, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
        ASSERT_EQ(tp_handshake(&self->p), OK) TH_LOG("row %zu", i);
        EXPECT_EQ(self->p.c[TP_SERVER]->minor, 3);
        ubyte2 sig = 0;
        ASSERT_EQ(SSL_getSignatureAlgo(self->p.h[TP_SERVER], &sig), OK);
        EXPECT_EQ(sig, rows[i].scheme) TH_LOG("row %zu", i);
        check_client_leaf(_metadata, &self->p, rows[i].key);
        check_data_both_ways(_metadata, &self->p);
        tp_free(&self->p);
    }
}

/* Client records with a certificate: 0 ClientHello, 1 Certificate,
 * 2 ClientKeyExchange, 3 CertificateVerify, 4 ChangeCipherSpec, 5 Finished;
 * the server's: 0 ServerHello, 1 Certificate, 2 ServerKeyExchange,
 * 3 CertificateRequest, 4 ServerHelloDone. The CertificateRequest's exact
 * bytes: certificate_types {rsa_sign, ecdsa_sign}, our signature schemes
 * (TLS 1.3's, then rsa_pkcs1_sha256/384/512), no certificate_authorities. */
struct cr_watch {
    struct nk_buf cr;
};

static void keep_cr(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct cr_watch *w = arg;
    if (dir == TP_S2C && p->records[dir] == 4)
        (void)!nk_buf_append(&w->cr, rec->p, rec->len);
}

TEST_F(auth12, certificate_request_bytes)
{
    struct cr_watch w = { { 0 } };
    pair12(_metadata, &self->p, K_P256, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    self->p.hook = keep_cr;
    self->p.hook_arg = &w;
    ASSERT_EQ(tp_handshake(&self->p), OK);
    self->p.hook = NULL;
    static const uint16_t sigs[] = {
        NK_SIG_ECDSA_SECP256R1_SHA256, NK_SIG_ECDSA_SECP384R1_SHA384, NK_SIG_ECDSA_SECP521R1_SHA512,
        NK_SIG_ED25519, NK_SIG_ED448,
        NK_SIG_RSA_PSS_RSAE_SHA256, NK_SIG_RSA_PSS_RSAE_SHA384, NK_SIG_RSA_PSS_RSAE_SHA512,
        NK_SIG_RSA_PSS_PSS_SHA256, NK_SIG_RSA_PSS_PSS_SHA384, NK_SIG_RSA_PSS_PSS_SHA512,
        NK_SIG_RSA_PKCS1_SHA256, NK_SIG_RSA_PKCS1_SHA384, NK_SIG_RSA_PKCS1_SHA512,
    };
    uint8_t want[512] = { NK_CT_HANDSHAKE, 3, 3, 0, 0, NK_HS_CERTIFICATE_REQUEST, 0, 0, 0, 2, 1, 64 };
    size_t k = 12, n = NK_ARRAY_LEN(sigs);
    want[k++] = (uint8_t)(2 * n >> 8);
    want[k++] = (uint8_t)(2 * n);
    for (size_t i = 0; i < n; i++) {
        want[k++] = (uint8_t)(sigs[i] >> 8);
        want[k++] = (uint8_t)sigs[i];
    }
    /* certificate_authorities: the one trust point's subject */
    const unsigned char *dn;
    size_t dn_len;
    ASSERT_EQ(X509_NAME_get0_der(X509_get_subject_name(pki.root), &dn, &dn_len), 1);
    ASSERT_LE(dn_len + k + 4, sizeof want);
    nk_store16(want + k, (uint16_t)(dn_len + 2));
    nk_store16(want + k + 2, (uint16_t)dn_len);
    memcpy(want + k + 4, dn, dn_len);
    k += 4 + dn_len;
    nk_store16(want + 3, (uint16_t)(k - 5));
    nk_store24(want + 6, (uint32_t)(k - 9));
    ASSERT_EQ(w.cr.len, k);
    EXPECT_EQ(memcmp(w.cr.p, want, k), 0);
    nk_buf_free(&w.cr);
}

/* RFC 5246 §7.4.6: the client has no certificate and sends an empty
 * Certificate; the server requires one: handshake_failure, with the TLS
 * 1.3 server's error. */
TEST_F(auth12, required_and_missing)
{
    pair12(_metadata, &self->p, -1, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_CERTIFICATE_REQUIRED, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* Requested, not required: the handshake goes on without one. */
TEST_F(auth12, optional_and_missing)
{
    pair12(_metadata, &self->p, -1, NKTLS_FLAG_REQUEST_MUTUAL_AUTH);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(self->p.c[TP_SERVER]->minor, 3);
    EXPECT_EQ(self->p.c[TP_SERVER]->peer_chain_len, 0u);
    check_data_both_ways(_metadata, &self->p);
}

/* The client declines (SSL_FLAG_NO_MUTUAL_AUTH_REPLY) though it has one:
 * an empty Certificate, which an optional request accepts. */
TEST_F(auth12, client_declines)
{
    pair12(_metadata, &self->p, K_P256, NKTLS_FLAG_REQUEST_MUTUAL_AUTH);
    ASSERT_EQ(SSL_setSessionFlags(self->p.h[TP_CLIENT], SSL_FLAG_NO_MUTUAL_AUTH_REPLY), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(self->p.c[TP_SERVER]->peer_chain_len, 0u);
}

/* Optional, given: verified and kept as when required. */
TEST_F(auth12, optional_and_given)
{
    pair12(_metadata, &self->p, K_P256, NKTLS_FLAG_REQUEST_MUTUAL_AUTH);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_client_leaf(_metadata, &self->p, K_P256);
}

/* No request, no Certificate from the client: the plain handshake. */
TEST_F(auth12, not_requested)
{
    pair12(_metadata, &self->p, K_P256, 0);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(self->p.c[TP_SERVER]->peer_chain_len, 0u);
    EXPECT_EQ(self->p.records[TP_C2S], 4u);   /* ClientHello, ClientKeyExchange, CCS, Finished */
}

/* RFC 5246 §7.4.8: a client that sent a certificate MUST send a
 * CertificateVerify; its ChangeCipherSpec where the CertificateVerify
 * belongs is unexpected_message. */
TEST_F(auth12, cert_verify_missing)
{
    pair12(_metadata, &self->p, K_P256, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    struct rec_edit e = { .dir = TP_C2S, .index = 3, .op = RE_REPLACE, .n = 0 };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* The client's CertificateVerify record (index 3), changed in flight:
 * its last byte flipped, or its scheme replaced. */
struct cv_edit {
    uint16_t scheme;              /* 0: flip the signature's last byte */
    int done;
};

static void cv_edit_hook(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct cv_edit *e = arg;
    if (dir != TP_C2S || p->records[dir] != 4 || rec->len < 12 || rec->p[5] != NK_HS_CERTIFICATE_VERIFY)
        return;
    if (e->scheme)
        nk_store16(rec->p + 9, e->scheme);
    else
        rec->p[rec->len - 1] ^= 0x01;
    e->done = 1;
}

static MSTATUS run_cv_edit(struct tp_pair *p, struct cv_edit *e)
{
    p->hook = cv_edit_hook;
    p->hook_arg = e;
    MSTATUS st = tp_handshake(p);
    p->hook = NULL;
    return e->done ? st : ERR_GENERAL;
}

/* A signature that does not verify: decrypt_error (RFC 5246 §7.2.2). The
 * last byte of an ECDSA signature is in s: flipping its low bit keeps the
 * encoding and breaks the signature. */
TEST_F(auth12, cert_verify_bad_signature)
{
    struct cv_edit e = { 0 };
    pair12(_metadata, &self->p, K_P256, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    EXPECT_EQ(run_cv_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_BAD_SIGNATURE, SSL_ALERT_DECRYPT_ERROR);
}

/* RFC 5246 §7.4.8: the scheme must be one the CertificateRequest listed;
 * ecdsa_sha1 is not in our list while SHA-1 is not allowed:
 * illegal_parameter, with its own error. */
TEST_F(auth12, cert_verify_unoffered_scheme)
{
    struct cv_edit e = { .scheme = NK_SIG_ECDSA_SHA1 };
    pair12(_metadata, &self->p, K_P256, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    EXPECT_EQ(run_cv_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_SIGALG_NOT_OFFERED, SSL_ALERT_ILLEGAL_PARAMETER);
}

/* A scheme the server listed but not one of the client's key (ed25519
 * for a P-256 key): the signature cannot be checked with it,
 * illegal_parameter (nk_sig_verify). */
TEST_F(auth12, cert_verify_scheme_not_the_keys)
{
    struct cv_edit e = { .scheme = NK_SIG_ED25519 };
    pair12(_metadata, &self->p, K_P256, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    EXPECT_EQ(run_cv_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

/* RFC 5246 §7.3: one CertificateRequest; a second one (the server's record
 * 3 twice) has no row: unexpected_message at the client. */
TEST_F(auth12, certificate_request_twice)
{
    pair12(_metadata, &self->p, K_P256, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    struct rec_edit e = { .dir = TP_S2C, .index = 3, .op = RE_DUP };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* An empty client Certificate record: 16 03 03 00 07, then type 11,
 * length 3, certificate_list<0> (RFC 5246 §7.4.6). */
static const uint8_t empty_cert_record[] = { NK_CT_HANDSHAKE, 3, 3, 0, 7, NK_HS_CERTIFICATE, 0, 0, 3, 0, 0, 0 };

/* RFC 5246 §7.3: the client's Certificate comes before its
 * ClientKeyExchange; one after it has no row: unexpected_message. The
 * client, asked and without a certificate, sent an empty one first (record
 * 1); a second one follows the ClientKeyExchange (record 2). */
TEST_F(auth12, certificate_after_client_key_exchange)
{
    pair12(_metadata, &self->p, -1, NKTLS_FLAG_REQUEST_MUTUAL_AUTH);
    struct rec_edit e = { .dir = TP_C2S, .index = 2, .op = RE_APPEND, .bytes = empty_cert_record,
                          .n = sizeof empty_cert_record };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* A Certificate from a client that was not asked for one (RFC 5246
 * §7.4.6: "only sent if the server requests a certificate"). */
TEST_F(auth12, certificate_unrequested)
{
    pair12(_metadata, &self->p, -1, 0);
    struct rec_edit e = { .dir = TP_C2S, .index = 1, .op = RE_REPLACE, .bytes = empty_cert_record,
                          .n = sizeof empty_cert_record };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* The mutual-TLS bypass: a client that skips Certificate and
 * CertificateVerify and goes straight to its ClientKeyExchange cannot
 * complete against a server that requires a certificate. Records 1
 * (Certificate) and 3 (CertificateVerify) never reach the server. */
struct skip {
    int done;
};

static void skip_hook(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct skip *k = arg;
    if (dir == TP_C2S && (p->records[dir] == 2 || p->records[dir] == 4)) {
        rec->len = 0;
        k->done++;
    }
}

TEST_F(auth12, client_skips_certificate_and_verify)
{
    struct skip k = { 0 };
    pair12(_metadata, &self->p, K_P256, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    self->p.hook = skip_hook;
    self->p.hook_arg = &k;
    EXPECT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    self->p.hook = NULL;
    EXPECT_GE(k.done, 1);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
    EXPECT_EQ(self->p.c[TP_SERVER]->peer_chain_len, 0u);
    EXPECT_NE(self->p.c[TP_SERVER]->status, (ubyte4)SSL_CONNECTION_OPEN);
}

/* ---- signature schemes ---- */

/* A pair as pair12 with the server's identity srv_key. */
static void pair12_srv(struct __test_metadata *_metadata, struct tp_pair *p, int srv_key, int cli_key)
{
    ASSERT_EQ(tp_new(p, srv_key, cli_key), OK);
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_ioctl(p->h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
}

static void client_lists(struct __test_metadata *_metadata, struct tp_pair *p, const ubyte2 *v, ubyte4 n)
{
    ASSERT_EQ(NKTLS_setSignatureSchemes(p->h[TP_CLIENT], NKTLS_SIGS_OFFERED, v, n), OK);
    ASSERT_EQ(NKTLS_setSignatureSchemes(p->h[TP_CLIENT], NKTLS_SIGS_ACCEPTED, v, n), OK);
}

static void check_server_scheme(struct __test_metadata *_metadata, struct tp_pair *p, uint16_t scheme)
{
    ubyte2 sig = 0;
    ASSERT_EQ(SSL_getSignatureAlgo(p->h[TP_CLIENT], &sig), OK);
    EXPECT_EQ(sig, scheme);
}

/* RFC 5246 §7.4.1.4.1: a client that offers only rsa_pkcs1_* gets a
 * ServerKeyExchange signed with PKCS#1 v1.5, the hash it named. */
TEST_F(auth12, rsa_pkcs1_only_client)
{
    static const ubyte2 rows[] = { NK_SIG_RSA_PKCS1_SHA256, NK_SIG_RSA_PKCS1_SHA384, NK_SIG_RSA_PKCS1_SHA512 };
    for (size_t i = 0; i < NK_ARRAY_LEN(rows); i++) {
        pair12_srv(_metadata, &self->p, K_RSA, -1);
        client_lists(_metadata, &self->p, &rows[i], 1);
        ASSERT_EQ(tp_handshake(&self->p), OK) TH_LOG("row %zu", i);
        check_server_scheme(_metadata, &self->p, rows[i]);
        tp_free(&self->p);
    }
}

/* With PSS offered too, an RSA key signs with PSS (TLS 1.3's choice). */
TEST_F(auth12, rsa_prefers_pss)
{
    static const ubyte2 v[] = { NK_SIG_RSA_PKCS1_SHA256, NK_SIG_RSA_PSS_RSAE_SHA256 };
    pair12_srv(_metadata, &self->p, K_RSA, -1);
    client_lists(_metadata, &self->p, v, 2);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_server_scheme(_metadata, &self->p, NK_SIG_RSA_PSS_RSAE_SHA256);
}

/* A TLS 1.2 ECDSA scheme names a hash, not a curve: a P-384 key signs
 * with SHA-256 for a client that offers only ecdsa_secp256r1_sha256. */
TEST_F(auth12, ecdsa_hash_on_another_curve)
{
    static const ubyte2 v[] = { NK_SIG_ECDSA_SECP256R1_SHA256 };
    pair12_srv(_metadata, &self->p, K_P384, -1);
    client_lists(_metadata, &self->p, v, 1);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_server_scheme(_metadata, &self->p, NK_SIG_ECDSA_SECP256R1_SHA256);
}

/* RFC 8422 §2, §5.1.3: EdDSA certificates with ECDHE_ECDSA suites. */
TEST_F(auth12, eddsa_server)
{
    static const struct { int key; uint16_t scheme; } rows[] = {
        { K_ED25519, NK_SIG_ED25519 }, { K_ED448, NK_SIG_ED448 },
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(rows); i++) {
        pair12_srv(_metadata, &self->p, rows[i].key, -1);
        ASSERT_EQ(tp_handshake(&self->p), OK) TH_LOG("row %zu", i);
        check_server_scheme(_metadata, &self->p, rows[i].scheme);
        EXPECT_EQ(self->p.c[TP_CLIENT]->suite->id, 0xc02b);   /* ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 */
        tp_free(&self->p);
    }
}

/* The client's CertificateVerify with PKCS#1 v1.5 when its signing list
 * says so: the server lists rsa_pkcs1_* in its CertificateRequest. */
TEST_F(auth12, client_rsa_pkcs1_cert_verify)
{
    static const ubyte2 v[] = { NK_SIG_RSA_PKCS1_SHA384 };
    pair12(_metadata, &self->p, K_RSA, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    ASSERT_EQ(NKTLS_setSignatureSchemes(self->p.h[TP_CLIENT], NKTLS_SIGS_SIGNING, v, 1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ubyte2 sig = 0;
    ASSERT_EQ(SSL_getSignatureAlgo(self->p.h[TP_SERVER], &sig), OK);
    EXPECT_EQ(sig, NK_SIG_RSA_PKCS1_SHA384);
}

/* A server whose CertificateRequest lists rsa_pkcs1_sha256 alone: the
 * client's RSA key signs its CertificateVerify with it. */
TEST_F(auth12, server_asks_for_rsa_pkcs1_only)
{
    static const ubyte2 v[] = { NK_SIG_RSA_PKCS1_SHA256 };
    pair12(_metadata, &self->p, K_RSA, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    ASSERT_EQ(NKTLS_setSignatureSchemes(self->p.h[TP_SERVER], NKTLS_SIGS_OFFERED, v, 1), OK);
    ASSERT_EQ(NKTLS_setSignatureSchemes(self->p.h[TP_SERVER], NKTLS_SIGS_ACCEPTED, v, 1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ubyte2 sig = 0;
    ASSERT_EQ(SSL_getSignatureAlgo(self->p.h[TP_SERVER], &sig), OK);
    EXPECT_EQ(sig, NK_SIG_RSA_PKCS1_SHA256);
}

static void drop_sigalgs(struct tp_hello *h)
{
    tp_hello_del(h, NK_EXT_SIGNATURE_ALGORITHMS);
}

/* RFC 5246 §7.4.1.4.1: no signature_algorithms means {sha1}; SHA-1 is not
 * allowed by default: handshake_failure. */
TEST_F(auth12, no_signature_algorithms_refused)
{
    pair12_srv(_metadata, &self->p, K_RSA, -1);
    struct hello_edit e = { .dir = TP_C2S, .fn = drop_sigalgs, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* Once SSL_setSha1SigAlg allows it, the server signs with SHA-1: PKCS#1
 * v1.5 for an RSA key, ECDSA for an EC one (the client, which lists the
 * SHA-1 scheme, accepts it). */
TEST_F(auth12, no_signature_algorithms_sha1_allowed)
{
    static const struct { int key; ubyte2 scheme; } rows[] = {
        { K_RSA, NK_SIG_RSA_PKCS1_SHA1 }, { K_P256, NK_SIG_ECDSA_SHA1 },
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(rows); i++) {
        pair12_srv(_metadata, &self->p, rows[i].key, -1);
        ASSERT_EQ(SSL_setSha1SigAlg(TRUE), OK);   /* after SSL_init, which sets the defaults */
        client_lists(_metadata, &self->p, &rows[i].scheme, 1);
        struct hello_edit e = { .dir = TP_C2S, .fn = drop_sigalgs, .fix_transcript = 1 };
        EXPECT_EQ(run_hello_edit(&self->p, &e), OK) TH_LOG("row %zu", i);
        check_server_scheme(_metadata, &self->p, rows[i].scheme);
        tp_free(&self->p);
    }
    ASSERT_EQ(SSL_setSha1SigAlg(FALSE), OK);
}

/* Our client lists TLS 1.2's rsa_pkcs1_* after TLS 1.3's schemes whenever
 * TLS 1.2 is allowed (RFC 8446 §4.2.3): a TLS 1.2 server whose RSA key signs
 * only with PKCS#1 v1.5 is accepted by a default client. */
TEST_F(auth12, default_client_accepts_pkcs1_server)
{
    static const ubyte2 pkcs1 = NK_SIG_RSA_PKCS1_SHA256;
    pair12_srv(_metadata, &self->p, K_RSA, -1);
    ASSERT_EQ(NKTLS_setSignatureSchemes(self->p.h[TP_SERVER], NKTLS_SIGS_SIGNING, &pkcs1, 1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_server_scheme(_metadata, &self->p, NK_SIG_RSA_PKCS1_SHA256);
    /* The same server held to TLS 1.3 cannot use PKCS#1 there (§4.4.3): it
     * has no scheme for a TLS 1.3 client. */
    tp_free(&self->p);
    ASSERT_EQ(tp_new(&self->p, K_RSA, -1), OK);
    ASSERT_EQ(SSL_ioctl(self->p.h[TP_CLIENT], SSL_SET_MINIMUM_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION), OK);
    ASSERT_EQ(NKTLS_setSignatureSchemes(self->p.h[TP_SERVER], NKTLS_SIGS_SIGNING, &pkcs1, 1), OK);
    EXPECT_NE(tp_handshake(&self->p), OK);
}

static void only_pkcs1_sha256(struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_SIGNATURE_ALGORITHMS);
    if (i < 0)
        return;
    static const uint8_t v[] = { 0, 2, NK_SIG_RSA_PKCS1_SHA256 >> 8, NK_SIG_RSA_PKCS1_SHA256 & 0xff };
    memcpy(h->ext[i].data, v, sizeof v);
    h->ext[i].len = sizeof v;
}

/* RFC 5246 §7.4.3: the ServerKeyExchange's scheme must be one the client
 * listed. A client that offers rsa_pss_rsae_sha256 alone has its hello
 * changed in flight to list rsa_pkcs1_sha256 instead: the server signs with
 * that, the client refuses it, illegal_parameter with its own error. */
TEST_F(auth12, server_key_exchange_unoffered_scheme)
{
    static const ubyte2 pss = NK_SIG_RSA_PSS_RSAE_SHA256;
    pair12_srv(_metadata, &self->p, K_RSA, -1);
    client_lists(_metadata, &self->p, &pss, 1);
    struct hello_edit e = { .dir = TP_C2S, .fn = only_pkcs1_sha256, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_SIGALG_NOT_OFFERED);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_SIGALG_NOT_OFFERED, SSL_ALERT_ILLEGAL_PARAMETER);
}

TEST_HARNESS_MAIN
