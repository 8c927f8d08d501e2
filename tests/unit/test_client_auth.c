/* test_client_auth.c — the client's certificate chosen per connection, in
 * memory, on TLS 1.2 and TLS 1.3 (handshake/client_auth.c, api/client_auth.c):
 * the server's certificate_authorities reach SSL_setClientCertAuthorityCallback
 * as its trust point's subject DER (none with NKTLS_FLAG_NO_CLIENT_CA_NAMES);
 * the identity SSL_setClientCertCallback or SSL_populateMutualAuthCertStore
 * gives is the one the server sees, with the CA certificates after it; a
 * callback that declines sends an empty Certificate (refused where one is
 * required); funcPtrMutualAuthCertificateVerify signs for a key nktls never
 * saw, and a bad signature from it is the server's decrypt_error; TLS 1.3
 * post-handshake authentication answers from the callback too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"
#include "handshake/client_auth.h"

FIXTURE(cauth) {
    struct tp_pair p;
};

FIXTURE_VARIANT(cauth) {
    ubyte4 minor;
    int alert_missing;   /* the server's alert for a required certificate missing */
};
/* RFC 5246 §7.4.6: handshake_failure; RFC 8446 §4.4.2.4: certificate_required. */
FIXTURE_VARIANT_ADD(cauth, tls12) { .minor = TLS12_MINORVERSION, .alert_missing = SSL_ALERT_HANDSHAKE_FAILURE };
FIXTURE_VARIANT_ADD(cauth, tls13) { .minor = TLS13_MINORVERSION, .alert_missing = 116 };

FIXTURE_SETUP(cauth)
{
}

FIXTURE_TEARDOWN(cauth)
{
    SSL_sslSettings()->funcPtrMutualAuthCertificateVerify = NULL;
    tp_free(&self->p);
}

/* What the callbacks saw and answer (one test case per process). */
static struct {
    int ca_calls, cert_calls, sign_calls;
    ubyte4 n_cas;
    uint8_t ca[512];          /* the first name */
    ubyte4 ca_len;
    int cert_key;             /* the identity cert_cb answers with; -1: declines */
    int with_ca;              /* ... and the intermediate as its CA certificate */
    int sign_mode;            /* 0: sign, 1: a wrong signature, 2: fail */
    ubyte4 hash_len;
} cb;

static MSTATUS on_cas(sbyte4 h, SizedBuffer *cas, ubyte4 n)
{
    cb.ca_calls++;
    cb.n_cas = n;
    if (n > 0 && cas[0].length <= sizeof cb.ca) {
        memcpy(cb.ca, cas[0].data, cas[0].length);
        cb.ca_len = cas[0].length;
    }
    return OK;
}

static SizedBuffer cb_certs[1];
static ubyte *cb_blob, *cb_ca;
static ubyte4 cb_blob_len;

static MSTATUS on_cert(sbyte4 h, SizedBuffer **certs, ubyte4 *n, ubyte **key, ubyte4 *key_len, ubyte **ca,
                       ubyte4 *n_ca)
{
    cb.cert_calls++;
    if (cb.cert_key < 0)
        return OK;   /* declines: *n stays 0 */
    int len = i2d_X509(pki.leaf[cb.cert_key], &cb_certs[0].data);
    if (len <= 0 || blob_of(pki.key[cb.cert_key], &cb_blob, &cb_blob_len) != OK)
        return ERR_GENERAL;
    cb_certs[0].length = (ubyte4)len;
    *certs = cb_certs;
    *n = 1;
    *key = cb_blob;
    *key_len = cb_blob_len;
    if (cb.with_ca) {
        len = i2d_X509(pki.inter, &cb_ca);
        *ca = cb_ca;
        *n_ca = len > 0 ? 1 : 0;
    }
    return OK;
}

/* The application's signer: P-256's key, which only the test holds. */
static sbyte4 ext_sign(sbyte4 h, const ubyte *hash, ubyte4 n, ubyte *out, ubyte4 cap)
{
    cb.sign_calls++;
    cb.hash_len = n;
    if (cb.sign_mode == 2)
        return ERR_GENERAL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pki.key[K_P256], NULL);
    size_t len = cap;
    int ok = ctx && EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_sign(ctx, out, &len, hash, n) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        return ERR_GENERAL;
    if (cb.sign_mode == 1)
        out[len - 1] ^= 1;   /* still DER, no longer the signature */
    return (sbyte4)len;
}

/* A pair held to the variant's version; the client has no identity in its
 * store unless cli_key >= 0; the server requires (or asks for) a certificate. */
static void pair_up(struct __test_metadata *_metadata, struct tp_pair *p, ubyte4 minor, int cli_key, ubyte4 srv_flags)
{
    memset(&cb, 0, sizeof cb);
    ASSERT_EQ(tp_new(p, K_RSA, cli_key), OK);
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_ioctl(p->h[s], SSL_SET_VERSION, (void *)(uintptr_t)minor), OK);
    ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], srv_flags), OK);
}

/* The server holds this chain from the client, leaf first. */
static void check_chain(struct __test_metadata *_metadata, struct tp_pair *p, X509 *leaf, X509 *second)
{
    X509 *want[2] = { leaf, second };
    const struct nk_conn *s = p->c[TP_SERVER];
    const uint8_t *at = s->peer_chain;
    size_t left = s->peer_chain_len;
    for (int i = 0; i < 2 && want[i]; i++) {
        unsigned char *der = NULL;
        int n = i2d_X509(want[i], &der);
        ASSERT_GT(n, 0);
        ASSERT_GE(left, 3 + (size_t)n);
        EXPECT_EQ(nk_load24(at), (uint32_t)n);
        EXPECT_EQ(memcmp(at + 3, der, (size_t)n), 0) TH_LOG("certificate %d", i);
        OPENSSL_free(der);
        at += 3 + n;
        left -= 3 + (size_t)n;
    }
    EXPECT_EQ(left, 0u);
}

static void check_root_name(struct __test_metadata *_metadata)
{
    const unsigned char *dn;
    size_t dn_len;
    ASSERT_EQ(X509_NAME_get0_der(X509_get_subject_name(pki.root), &dn, &dn_len), 1);
    ASSERT_EQ(cb.ca_calls, 1);
    ASSERT_EQ(cb.n_cas, 1u);
    ASSERT_EQ(cb.ca_len, (ubyte4)dn_len);
    EXPECT_EQ(memcmp(cb.ca, dn, dn_len), 0);
}

/* The names are the server's trust point's subject, exactly; the store's
 * identity answers. */
TEST_F(cauth, ca_names_delivered)
{
    pair_up(_metadata, &self->p, variant->minor, K_P256, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    ASSERT_EQ(SSL_setClientCertAuthorityCallback(self->p.h[TP_CLIENT], on_cas), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_root_name(_metadata);
    check_chain(_metadata, &self->p, pki.leaf[K_P256], pki.inter);
}

/* NKTLS_FLAG_NO_CLIENT_CA_NAMES: the request names none (an empty list in
 * TLS 1.2, no extension in TLS 1.3); the callback still hears of it. */
TEST_F(cauth, ca_names_hidden)
{
    pair_up(_metadata, &self->p, variant->minor, K_P256,
            SSL_FLAG_REQUIRE_MUTUAL_AUTH | NKTLS_FLAG_NO_CLIENT_CA_NAMES);
    ASSERT_EQ(SSL_setClientCertAuthorityCallback(self->p.h[TP_CLIENT], on_cas), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(cb.ca_calls, 1);
    EXPECT_EQ(cb.n_cas, 0u);
}

/* The callback's identity, not the store's, with its CA certificate after it. */
TEST_F(cauth, callback_chooses)
{
    pair_up(_metadata, &self->p, variant->minor, K_P256, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    cb.cert_key = K_P384;
    cb.with_ca = 1;
    ASSERT_EQ(SSL_setClientCertCallback(self->p.h[TP_CLIENT], on_cert), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(cb.cert_calls, 1);
    check_chain(_metadata, &self->p, pki.leaf[K_P384], pki.inter);
    ubyte2 sig = 0;
    ASSERT_EQ(SSL_getSignatureAlgo(self->p.h[TP_SERVER], &sig), OK);
    EXPECT_EQ(sig, NK_SIG_ECDSA_SECP384R1_SHA384);
    OPENSSL_free(cb_certs[0].data);
    OPENSSL_free(cb_ca);
    CA_MGMT_freeKeyBlob(&cb_blob);
}

/* The callback declines although the store has an identity: an empty
 * Certificate, which a server requiring one refuses. */
TEST_F(cauth, callback_declines)
{
    pair_up(_metadata, &self->p, variant->minor, K_P256, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    cb.cert_key = -1;
    ASSERT_EQ(SSL_setClientCertCallback(self->p.h[TP_CLIENT], on_cert), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    EXPECT_EQ(cb.cert_calls, 1);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_CERTIFICATE_REQUIRED, variant->alert_missing);
}

/* SSL_populateMutualAuthCertStore: that identity, its CA after it. */
TEST_F(cauth, populated)
{
    pair_up(_metadata, &self->p, variant->minor, -1, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    unsigned char *leaf = NULL, *ca = NULL;
    ubyte *blob = NULL;
    ubyte4 blob_len = 0;
    int n = i2d_X509(pki.leaf[K_ED25519], &leaf), ca_n = i2d_X509(pki.inter, &ca);
    ASSERT_GT(n, 0);
    ASSERT_GT(ca_n, 0);
    ASSERT_EQ(blob_of(pki.key[K_ED25519], &blob, &blob_len), OK);
    SizedBuffer certs[1] = { { (ubyte4)n, NULL, leaf } };
    ASSERT_EQ(SSL_populateMutualAuthCertStore(self->p.h[TP_CLIENT], certs, 1, blob, blob_len, ca, (ubyte4)ca_n), OK);
    ASSERT_EQ(SSL_populateMutualAuthCertStore(self->p.h[TP_SERVER], certs, 1, blob, blob_len, NULL, 0),
              ERR_SSL_BAD_STATE);
    ASSERT_EQ(SSL_populateMutualAuthCertStore(self->p.h[TP_CLIENT], certs, 0, blob, blob_len, NULL, 0),
              ERR_INVALID_ARG);
    OPENSSL_free(leaf);
    OPENSSL_free(ca);
    CA_MGMT_freeKeyBlob(&blob);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_chain(_metadata, &self->p, pki.leaf[K_ED25519], pki.inter);
}

/* No key given: funcPtrMutualAuthCertificateVerify signs (ext_sign). */
static void populate_external(struct __test_metadata *_metadata, struct tp_pair *p)
{
    unsigned char *leaf = NULL, *ca = NULL;
    int n = i2d_X509(pki.leaf[K_P256], &leaf), ca_n = i2d_X509(pki.inter, &ca);
    ASSERT_GT(n, 0);
    ASSERT_GT(ca_n, 0);
    SizedBuffer certs[1] = { { (ubyte4)n, NULL, leaf } };
    ASSERT_EQ(SSL_populateMutualAuthCertStore(p->h[TP_CLIENT], certs, 1, NULL, 0, ca, (ubyte4)ca_n), OK);
    OPENSSL_free(leaf);
    OPENSSL_free(ca);
}

TEST_F(cauth, external_signer)
{
    pair_up(_metadata, &self->p, variant->minor, -1, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    populate_external(_metadata, &self->p);
    SSL_sslSettings()->funcPtrMutualAuthCertificateVerify = ext_sign;
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(cb.sign_calls, 1);
    EXPECT_EQ(cb.hash_len, 32u);   /* ecdsa_secp256r1_sha256's digest */
    check_chain(_metadata, &self->p, pki.leaf[K_P256], pki.inter);
}

/* The signer's wrong signature goes out; the server refuses it. */
TEST_F(cauth, external_signer_wrong)
{
    pair_up(_metadata, &self->p, variant->minor, -1, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    populate_external(_metadata, &self->p);
    cb.sign_mode = 1;
    SSL_sslSettings()->funcPtrMutualAuthCertificateVerify = ext_sign;
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_BAD_SIGNATURE, SSL_ALERT_DECRYPT_ERROR);
}

/* The signer fails: the client stops with internal_error. */
TEST_F(cauth, external_signer_fails)
{
    pair_up(_metadata, &self->p, variant->minor, -1, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    populate_external(_metadata, &self->p);
    cb.sign_mode = 2;
    SSL_sslSettings()->funcPtrMutualAuthCertificateVerify = ext_sign;
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_EXTERNAL_SIGNER);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_EXTERNAL_SIGNER, SSL_ALERT_INTERNAL_ERROR);
}

/* A keyless identity with no signer set cannot sign. */
TEST_F(cauth, no_key_no_signer)
{
    pair_up(_metadata, &self->p, variant->minor, -1, SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    populate_external(_metadata, &self->p);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_NO_PRIVATE_KEY);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_NO_PRIVATE_KEY, SSL_ALERT_INTERNAL_ERROR);
}

/* RFC 8446 §4.6.2: after the handshake, the answer comes from the callback.
 * TLS 1.2 has no post-handshake request: the server may not send one. */
TEST_F(cauth, post_handshake)
{
    pair_up(_metadata, &self->p, variant->minor, -1, SSL_FLAG_ENABLE_POST_HANDSHAKE_AUTH);
    ASSERT_EQ(SSL_setSessionFlags(self->p.h[TP_CLIENT], SSL_FLAG_ENABLE_POST_HANDSHAKE_AUTH), OK);
    ASSERT_EQ(SSL_setClientCertAuthorityCallback(self->p.h[TP_CLIENT], on_cas), OK);
    ASSERT_EQ(SSL_setClientCertCallback(self->p.h[TP_CLIENT], on_cert), OK);
    cb.cert_key = K_P256;
    cb.with_ca = 1;
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(cb.cert_calls, 0);
    EXPECT_EQ(self->p.c[TP_SERVER]->peer_chain_len, 0u);
    if (variant->minor == TLS12_MINORVERSION) {
        ASSERT_EQ(SSL_sendPosthandshakeAuthCertificateRequest(self->p.h[TP_SERVER]), ERR_SSL_BAD_STATE);
        return;
    }
    ASSERT_EQ(SSL_sendPosthandshakeAuthCertificateRequest(self->p.h[TP_SERVER]), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    EXPECT_EQ(cb.cert_calls, 1);
    check_root_name(_metadata);
    EXPECT_EQ(self->p.c[TP_SERVER]->err, OK);
    check_chain(_metadata, &self->p, pki.leaf[K_P256], pki.inter);
    OPENSSL_free(cb_ca);
    OPENSSL_free(cb_certs[0].data);
    CA_MGMT_freeKeyBlob(&cb_blob);
}

TEST_HARNESS_MAIN
