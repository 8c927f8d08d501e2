/* test_tls12_dss.c — DHE_DSS suites in TLS 1.2, in memory: a DSA identity in
 * the store (through the key blob) serves them only when both ends enabled
 * one (by default the server has no identity it can sign with:
 * handshake_failure); when enabled, each suite's ServerKeyExchange is signed
 * with dsa_sha256 and verified, data flows; dsa_sha1 only once SHA-1 is
 * allowed; TLS 1.3 never signs with DSA. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"
#include "handshake/tls12.h"

static const ubyte2 dss_suites[] = { 0x00a2, 0x00a3, 0x0040, 0x006a, 0x0032, 0x0038 };

FIXTURE(dss) {
    struct tp_pair p;
};

FIXTURE_SETUP(dss)
{
}

FIXTURE_TEARDOWN(dss)
{
    SSL_setSha1SigAlg(FALSE);
    tp_free(&self->p);
}

static EVP_PKEY *dsa_key(void)
{
    EVP_PKEY *params = NULL, *key = NULL;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL);
    if (pc && EVP_PKEY_paramgen_init(pc) == 1 && EVP_PKEY_CTX_set_dsa_paramgen_bits(pc, 2048) == 1 &&
        EVP_PKEY_CTX_set_dsa_paramgen_q_bits(pc, 256) == 1)
        (void)EVP_PKEY_paramgen(pc, &params);
    EVP_PKEY_CTX *kc = params ? EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL) : NULL;
    if (kc && EVP_PKEY_keygen_init(kc) == 1)
        (void)EVP_PKEY_keygen(kc, &key);
    EVP_PKEY_CTX_free(kc);
    EVP_PKEY_CTX_free(pc);
    EVP_PKEY_free(params);
    return key;
}

/* A server with a DSA leaf under cert_pki's intermediate (its host name:
 * dsa.example.com), a client trusting the root. */
static void pair_dsa(struct __test_metadata *_metadata, struct tp_pair *p, EVP_PKEY *key)
{
    X509 *leaf = leaf_cert(key, "dsa.example.com", "DNS:dsa.example.com");
    ASSERT_NOT_NULL(leaf);
    certStorePtr srv = tp_store_new(), cli = tp_store_new();
    ASSERT_EQ(tp_store_identity(srv, leaf, key, pki.inter), OK);
    ASSERT_EQ(tp_store_trust(cli, pki.root), OK);
    X509_free(leaf);
    ASSERT_EQ(tp_new_stores(p, srv, cli, "dsa.example.com"), OK);
}

TEST_F(dss, each_suite_when_enabled)
{
    EVP_PKEY *key = dsa_key();
    ASSERT_NOT_NULL(key);
    ASSERT_TRUE(nk_key_type_of(key) == NK_KEY_DSA);
    for (size_t i = 0; i < NK_ARRAY_LEN(dss_suites); i++) {
        pair_dsa(_metadata, &self->p, key);
        for (int s = 0; s < 2; s++)
            ASSERT_EQ(SSL_enableCiphers(self->p.h[s], &dss_suites[i], 1), OK);
        ASSERT_EQ(tp_handshake(&self->p), OK) TH_LOG("suite %04x", dss_suites[i]);
        ubyte2 id = 0, sig = 0;
        ubyte4 curves = 0;
        ASSERT_EQ(SSL_getCipherInfo(self->p.h[TP_CLIENT], &id, &curves), OK);
        EXPECT_EQ(id, dss_suites[i]);
        ASSERT_EQ(SSL_getSignatureAlgo(self->p.h[TP_CLIENT], &sig), OK);
        EXPECT_EQ(sig, NK_SIG_DSA_SHA256);
        static const char hi[] = "over DHE_DSS";
        ASSERT_EQ(tp_send(&self->p, TP_CLIENT, hi, sizeof hi), OK);
        ASSERT_EQ(tp_pump(&self->p), OK);
        ASSERT_EQ(self->p.rx[TP_SERVER].len, sizeof hi);
        ASSERT_EQ(memcmp(self->p.rx[TP_SERVER].p, hi, sizeof hi), 0);
        tp_free(&self->p);
    }
    /* Not by default: without a DHE_DSS suite the server signs with no
     * dsa_* scheme, so its DSA identity is none it can use. */
    pair_dsa(_metadata, &self->p, key);
    ASSERT_EQ(SSL_ioctl(self->p.h[TP_CLIENT], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_NO_IDENTITY, SSL_ALERT_HANDSHAKE_FAILURE);
    tp_free(&self->p);
    /* TLS 1.3 (RFC 8446 §4.2.3 has no DSA scheme): no identity to sign with. */
    pair_dsa(_metadata, &self->p, key);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    EXPECT_EQ(self->p.c[TP_SERVER]->err, ERR_SSL_NO_IDENTITY);
    tp_free(&self->p);
    /* dsa_sha1: only a client that offers it (SHA-1 allowed) gets it. */
    SSL_setSha1SigAlg(TRUE);
    pair_dsa(_metadata, &self->p, key);
    static const ubyte2 only_sha1 = NK_SIG_DSA_SHA1;
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_enableCiphers(self->p.h[s], &dss_suites[0], 1), OK);
    ASSERT_EQ(NKTLS_setSignatureSchemes(self->p.h[TP_CLIENT], NKTLS_SIGS_OFFERED, &only_sha1, 1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ubyte2 sig = 0;
    ASSERT_EQ(SSL_getSignatureAlgo(self->p.h[TP_CLIENT], &sig), OK);
    EXPECT_EQ(sig, NK_SIG_DSA_SHA1);
    EVP_PKEY_free(key);
}

TEST_HARNESS_MAIN
