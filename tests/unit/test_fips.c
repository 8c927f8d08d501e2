/* test_fips.c — FIPS mode (SSL_setFIPSEnabled, handshake/fips.c). Without
 * libcrypto's FIPS provider installed the call fails with
 * ERR_FIPS_MODULE_UNAVAILABLE and nothing changes (the settings, libcrypto's
 * default properties, the next handshake's X25519); with it, it loads and
 * turns "fips=yes" on and off. The narrowing of each handshake to the
 * approved set is tested with the mode set directly (as a loaded module
 * would leave it): the ClientHello's suites, groups and signature schemes
 * byte for byte, a P-256 handshake where X25519 would have been chosen, and
 * the refusals: only ChaCha20 or only X25519 enabled, an Ed25519 server
 * certificate, an RSA-1024 one that minRSAKeySize alone would accept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"
#include "handshake/fips.h"

/* Is a FIPS provider loadable here? (Each case runs in its own process.) */
static int module_installed(void)
{
    OSSL_PROVIDER *p = OSSL_PROVIDER_load(NULL, "fips");
    if (!p)
        return 0;
    OSSL_PROVIDER_unload(p);
    return 1;
}

TEST(set_fips_enabled)
{
    ASSERT_EQ(tp_stack(), OK);
    if (!module_installed()) {
        ASSERT_EQ(SSL_setFIPSEnabled(TRUE), ERR_FIPS_MODULE_UNAVAILABLE);
        EXPECT_EQ(SSL_sslSettings()->fipsEnabled, 0);
        EXPECT_EQ(EVP_default_properties_is_fips_enabled(NULL), 0);
        /* Nothing changed: a handshake still takes X25519. */
        struct tp_pair p;
        ASSERT_EQ(tp_new(&p, K_P256, -1), OK);
        ASSERT_EQ(tp_handshake(&p), OK);
        EXPECT_EQ(p.c[TP_CLIENT]->group, NK_GROUP_X25519);
        tp_free(&p);
    } else {
        ASSERT_EQ(SSL_setFIPSEnabled(TRUE), OK);
        EXPECT_EQ(SSL_sslSettings()->fipsEnabled, 1);
        EXPECT_EQ(EVP_default_properties_is_fips_enabled(NULL), 1);
    }
    ASSERT_EQ(SSL_setFIPSEnabled(FALSE), OK);
    EXPECT_EQ(SSL_sslSettings()->fipsEnabled, 0);
    EXPECT_EQ(EVP_default_properties_is_fips_enabled(NULL), 0);
}

TEST(approved_set)
{
    /* Suites: AES-GCM/CCM only, no RSA key transport. */
    EXPECT_TRUE(nk_fips_suite_ok(nk_suite_by_id(0x1301)));
    EXPECT_TRUE(nk_fips_suite_ok(nk_suite_by_id(0x1302)));
    EXPECT_FALSE(nk_fips_suite_ok(nk_suite_by_id(0x1303)));        /* ChaCha20-Poly1305 */
    EXPECT_TRUE(nk_fips_suite_ok(nk_suite_by_id(0x1304)));         /* AES-128-CCM */
    EXPECT_TRUE(nk_fips_suite_ok(nk_suite12_by_id(0xc02b)));       /* ECDHE-ECDSA-AES128-GCM */
    EXPECT_FALSE(nk_fips_suite_ok(nk_suite12_by_id(0xcca9)));      /* ECDHE-ECDSA-CHACHA20 */
    EXPECT_FALSE(nk_fips_suite_ok(nk_suite12_by_id(0x009c)));      /* RSA key transport AES128-GCM */
    EXPECT_FALSE(nk_fips_suite_ok(nk_suite12_by_id(0xc013)));      /* ECDHE-RSA-AES128-SHA (CBC) */
    EXPECT_TRUE(nk_fips_group_ok(NK_GROUP_SECP256R1));
    EXPECT_TRUE(nk_fips_group_ok(NK_GROUP_SECP521R1));
    EXPECT_TRUE(nk_fips_group_ok(0x0100));                         /* ffdhe2048 */
    EXPECT_FALSE(nk_fips_group_ok(NK_GROUP_X25519));
    EXPECT_FALSE(nk_fips_group_ok(NK_GROUP_X448));
    EXPECT_TRUE(nk_fips_sig_ok(NK_SIG_RSA_PSS_RSAE_SHA512));
    EXPECT_TRUE(nk_fips_sig_ok(0x0403));                           /* ecdsa_secp256r1_sha256 */
    EXPECT_FALSE(nk_fips_sig_ok(NK_SIG_ED25519));
    EXPECT_FALSE(nk_fips_sig_ok(NK_SIG_ED448));
    EXPECT_FALSE(nk_fips_sig_ok(NK_SIG_RSA_PKCS1_SHA1));
}

/* ---- handshakes in FIPS mode (set directly: the module is not needed to
 * check what the handshake may use) ---- */

FIXTURE(fips) {
    struct tp_pair p;
};

FIXTURE_SETUP(fips)
{
    ASSERT_EQ(tp_stack(), OK);
    nk_config.ssl.fipsEnabled = 1;
}

FIXTURE_TEARDOWN(fips)
{
    nk_config.ssl.fipsEnabled = 0;
    tp_free(&self->p);
}

static struct tp_hello g_ch;
static int g_ch_seen;

static void keep_ch(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    if (dir == TP_C2S && !g_ch_seen && tp_hello_from_record(rec, &g_ch) == OK)
        g_ch_seen = 1;
}

/* The u16 list inside extension type (after its 2-byte length), or suites. */
static int has_u16(const uint8_t *d, size_t n, uint16_t v)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        if ((uint16_t)(d[i] << 8 | d[i + 1]) == v)
            return 1;
    return 0;
}

static int ext_has(uint16_t type, uint16_t v)
{
    int i = tp_hello_find(&g_ch, type);
    return i >= 0 && g_ch.ext[i].len > 2 && has_u16(g_ch.ext[i].data + 2, g_ch.ext[i].len - 2, v);
}

TEST_F(fips, client_hello_narrowed)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    g_ch_seen = 0;
    self->p.hook = keep_ch;
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_TRUE(g_ch_seen);
    EXPECT_TRUE(has_u16(g_ch.suites, g_ch.suites_len, 0x1301));
    EXPECT_FALSE(has_u16(g_ch.suites, g_ch.suites_len, 0x1303));
    EXPECT_FALSE(has_u16(g_ch.suites, g_ch.suites_len, 0xcca9));
    EXPECT_TRUE(ext_has(NK_EXT_SUPPORTED_GROUPS, NK_GROUP_SECP256R1));
    EXPECT_FALSE(ext_has(NK_EXT_SUPPORTED_GROUPS, NK_GROUP_X25519));
    EXPECT_FALSE(ext_has(NK_EXT_SUPPORTED_GROUPS, NK_GROUP_X448));
    EXPECT_TRUE(ext_has(NK_EXT_SIGNATURE_ALGORITHMS, 0x0403));
    EXPECT_FALSE(ext_has(NK_EXT_SIGNATURE_ALGORITHMS, NK_SIG_ED25519));
    EXPECT_FALSE(ext_has(NK_EXT_SIGNATURE_ALGORITHMS, NK_SIG_ED448));
    /* Where X25519 leads our list, P-256 is what was agreed. */
    EXPECT_EQ(self->p.c[TP_CLIENT]->group, NK_GROUP_SECP256R1);
    EXPECT_TRUE(nk_fips_suite_ok(self->p.c[TP_CLIENT]->suite));
}

TEST_F(fips, tls12_narrowed)
{
    ASSERT_EQ(tp_new(&self->p, K_RSA, -1), OK);
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_ioctl(self->p.h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(self->p.c[TP_CLIENT]->minor, 3);
    EXPECT_EQ(self->p.c[TP_CLIENT]->group, NK_GROUP_SECP256R1);
    EXPECT_TRUE(nk_fips_suite_ok(self->p.c[TP_CLIENT]->suite));
    EXPECT_TRUE(nk_fips_sig_ok(self->p.c[TP_CLIENT]->peer_sig));
}

TEST_F(fips, only_chacha)
{
    static const ubyte2 chacha[] = { 0x1303 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_CLIENT], chacha, 1), OK);
    EXPECT_EQ(tp_handshake(&self->p), ERR_SSL_NO_CIPHER_MATCH);
}

TEST_F(fips, only_x25519)
{
    static const ubyte2 x25519[] = { NK_GROUP_X25519 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_CLIENT], x25519, 1), OK);
    EXPECT_EQ(tp_handshake(&self->p), ERR_SSL_NO_GROUP_MATCH);
}

/* An Ed25519 certificate cannot sign in FIPS mode: the server has no scheme. */
TEST_F(fips, ed25519_server)
{
    ASSERT_EQ(tp_new(&self->p, K_ED25519, -1), OK);
    MSTATUS st = tp_handshake(&self->p);
    EXPECT_NE(st, OK);
    EXPECT_EQ(self->p.c[TP_SERVER]->alert_out, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* minRSAKeySize 1024 takes an RSA-1024 certificate; FIPS mode does not. */
TEST_F(fips, rsa1024_refused)
{
    ASSERT_EQ(SSL_setMinRSAKeySize(1024), OK);
    nk_config.ssl.fipsEnabled = 0;
    ASSERT_EQ(tp_new(&self->p, K_RSA1024, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    tp_free(&self->p);
    nk_config.ssl.fipsEnabled = 1;
    ASSERT_EQ(tp_new(&self->p, K_RSA1024, -1), OK);
    EXPECT_EQ(tp_handshake(&self->p), ERR_CERT_KEY_TOO_SMALL);
    EXPECT_EQ(self->p.c[TP_CLIENT]->err, ERR_CERT_KEY_TOO_SMALL);
}

TEST_HARNESS_MAIN
