/* test_crypto12.c — the TLS 1.2 suite table, kept apart from TLS 1.3's: each
 * row's parameters, which suites are on by default and which only once
 * enabled (never RC4, NULL, 3DES or export); and the AEADs only TLS 1.2 uses
 * (AES-256-CCM, the 8-byte CCM tag) against libcrypto. */
#include <linux/tls.h>
#include <openssl/evp.h>

#include "harness.h"
#include "core/nk.h"
#include "core/crypto.h"
#include "record/record.h"
#include "handshake/hs.h"
#include "unit/crypto_util.h"

/* ---- the TLS 1.2 suite table ---- */

static const struct row12 {
    uint16_t id;
    const char *name;
    enum nk_aead_kind aead;
    uint8_t key_len, tag_len, fixed_iv_len;
    enum nk_hash hash;
    uint16_t ktls;
    enum nk_kx kx;
    enum nk_auth auth;
} rows12[] = {
    /* RFC 5289 §3 / RFC 5288 §3: AES-GCM, PRF SHA-256 or SHA-384 as named. */
    { 0xc02b, "ECDHE-ECDSA-AES128-GCM-SHA256", NK_AES_GCM, 16, 16, 4, NK_SHA256, TLS_CIPHER_AES_GCM_128,
      NK_KX_ECDHE, NK_AUTH_ECDSA },
    { 0xc02c, "ECDHE-ECDSA-AES256-GCM-SHA384", NK_AES_GCM, 32, 16, 4, NK_SHA384, TLS_CIPHER_AES_GCM_256,
      NK_KX_ECDHE, NK_AUTH_ECDSA },
    { 0xc02f, "ECDHE-RSA-AES128-GCM-SHA256", NK_AES_GCM, 16, 16, 4, NK_SHA256, TLS_CIPHER_AES_GCM_128,
      NK_KX_ECDHE, NK_AUTH_RSA },
    { 0xc030, "ECDHE-RSA-AES256-GCM-SHA384", NK_AES_GCM, 32, 16, 4, NK_SHA384, TLS_CIPHER_AES_GCM_256,
      NK_KX_ECDHE, NK_AUTH_RSA },
    /* RFC 7905 §2: fixed_iv_length 12, PRF SHA-256. */
    { 0xcca9, "ECDHE-ECDSA-CHACHA20-POLY1305", NK_CHACHA20_POLY1305, 32, 16, 12, NK_SHA256,
      TLS_CIPHER_CHACHA20_POLY1305, NK_KX_ECDHE, NK_AUTH_ECDSA },
    { 0xcca8, "ECDHE-RSA-CHACHA20-POLY1305", NK_CHACHA20_POLY1305, 32, 16, 12, NK_SHA256,
      TLS_CIPHER_CHACHA20_POLY1305, NK_KX_ECDHE, NK_AUTH_RSA },
    /* RFC 7251 §2: PRF SHA-256 even for AES-256; the kernel has only AES-CCM-128 with a 16-byte tag. */
    { 0xc0ac, "ECDHE-ECDSA-AES128-CCM", NK_AES_CCM, 16, 16, 4, NK_SHA256, TLS_CIPHER_AES_CCM_128,
      NK_KX_ECDHE, NK_AUTH_ECDSA },
    { 0xc0ad, "ECDHE-ECDSA-AES256-CCM", NK_AES_CCM, 32, 16, 4, NK_SHA256, 0, NK_KX_ECDHE, NK_AUTH_ECDSA },
    { 0xc0ae, "ECDHE-ECDSA-AES128-CCM8", NK_AES_CCM, 16, 8, 4, NK_SHA256, 0, NK_KX_ECDHE, NK_AUTH_ECDSA },
    { 0xc0af, "ECDHE-ECDSA-AES256-CCM8", NK_AES_CCM, 32, 8, 4, NK_SHA256, 0, NK_KX_ECDHE, NK_AUTH_ECDSA },
    { 0x009e, "DHE-RSA-AES128-GCM-SHA256", NK_AES_GCM, 16, 16, 4, NK_SHA256, TLS_CIPHER_AES_GCM_128,
      NK_KX_DHE, NK_AUTH_RSA },
    { 0x009f, "DHE-RSA-AES256-GCM-SHA384", NK_AES_GCM, 32, 16, 4, NK_SHA384, TLS_CIPHER_AES_GCM_256,
      NK_KX_DHE, NK_AUTH_RSA },
    { 0xccaa, "DHE-RSA-CHACHA20-POLY1305", NK_CHACHA20_POLY1305, 32, 16, 12, NK_SHA256,
      TLS_CIPHER_CHACHA20_POLY1305, NK_KX_DHE, NK_AUTH_RSA },
    /* RFC 5288 §3: RSA key transport with AES-GCM. */
    { 0x009c, "AES128-GCM-SHA256", NK_AES_GCM, 16, 16, 4, NK_SHA256, TLS_CIPHER_AES_GCM_128, NK_KX_RSA,
      NK_AUTH_RSA },
    { 0x009d, "AES256-GCM-SHA384", NK_AES_GCM, 32, 16, 4, NK_SHA384, TLS_CIPHER_AES_GCM_256, NK_KX_RSA,
      NK_AUTH_RSA },
    /* RFC 5246 §6.2.3.2 CBC: the MAC length in tag_len, no fixed IV, PRF
     * SHA-256 but for _SHA384 (RFC 5289 §3.2); no kernel cipher. */
    { 0xc009, "ECDHE-ECDSA-AES128-SHA", NK_AES_CBC, 16, 20, 0, NK_SHA256, 0, NK_KX_ECDHE, NK_AUTH_ECDSA },
    { 0xc00a, "ECDHE-ECDSA-AES256-SHA", NK_AES_CBC, 32, 20, 0, NK_SHA256, 0, NK_KX_ECDHE, NK_AUTH_ECDSA },
    { 0xc013, "ECDHE-RSA-AES128-SHA", NK_AES_CBC, 16, 20, 0, NK_SHA256, 0, NK_KX_ECDHE, NK_AUTH_RSA },
    { 0xc014, "ECDHE-RSA-AES256-SHA", NK_AES_CBC, 32, 20, 0, NK_SHA256, 0, NK_KX_ECDHE, NK_AUTH_RSA },
    { 0xc023, "ECDHE-ECDSA-AES128-SHA256", NK_AES_CBC, 16, 32, 0, NK_SHA256, 0, NK_KX_ECDHE, NK_AUTH_ECDSA },
    { 0xc024, "ECDHE-ECDSA-AES256-SHA384", NK_AES_CBC, 32, 48, 0, NK_SHA384, 0, NK_KX_ECDHE, NK_AUTH_ECDSA },
    { 0xc027, "ECDHE-RSA-AES128-SHA256", NK_AES_CBC, 16, 32, 0, NK_SHA256, 0, NK_KX_ECDHE, NK_AUTH_RSA },
    { 0xc028, "ECDHE-RSA-AES256-SHA384", NK_AES_CBC, 32, 48, 0, NK_SHA384, 0, NK_KX_ECDHE, NK_AUTH_RSA },
    /* DHE_DSS: RFC 5246 Appendix A.5, RFC 5288 §3. */
    { 0x00a2, "DHE-DSS-AES128-GCM-SHA256", NK_AES_GCM, 16, 16, 4, NK_SHA256, TLS_CIPHER_AES_GCM_128, NK_KX_DHE,
      NK_AUTH_DSA },
    { 0x00a3, "DHE-DSS-AES256-GCM-SHA384", NK_AES_GCM, 32, 16, 4, NK_SHA384, TLS_CIPHER_AES_GCM_256, NK_KX_DHE,
      NK_AUTH_DSA },
    { 0x0040, "DHE-DSS-AES128-SHA256", NK_AES_CBC, 16, 32, 0, NK_SHA256, 0, NK_KX_DHE, NK_AUTH_DSA },
    { 0x006a, "DHE-DSS-AES256-SHA256", NK_AES_CBC, 32, 32, 0, NK_SHA256, 0, NK_KX_DHE, NK_AUTH_DSA },
    { 0x0032, "DHE-DSS-AES128-SHA", NK_AES_CBC, 16, 20, 0, NK_SHA256, 0, NK_KX_DHE, NK_AUTH_DSA },
    { 0x0038, "DHE-DSS-AES256-SHA", NK_AES_CBC, 32, 20, 0, NK_SHA256, 0, NK_KX_DHE, NK_AUTH_DSA },
    /* Pre-shared keys: PSK and DHE_PSK (RFC 5487 §3.1 GCM, RFC 7905 §2
     * ChaCha20-Poly1305, RFC 6655 §3 CCM with a SHA-256 PRF), ECDHE_PSK
     * (RFC 8442 §3 GCM and CCM, RFC 7905 §2). */
    { 0x00a8, "PSK-AES128-GCM-SHA256", NK_AES_GCM, 16, 16, 4, NK_SHA256, TLS_CIPHER_AES_GCM_128, NK_KX_PSK,
      NK_AUTH_PSK },
    { 0x00a9, "PSK-AES256-GCM-SHA384", NK_AES_GCM, 32, 16, 4, NK_SHA384, TLS_CIPHER_AES_GCM_256, NK_KX_PSK,
      NK_AUTH_PSK },
    { 0xccab, "PSK-CHACHA20-POLY1305", NK_CHACHA20_POLY1305, 32, 16, 12, NK_SHA256,
      TLS_CIPHER_CHACHA20_POLY1305, NK_KX_PSK, NK_AUTH_PSK },
    { 0xc0a4, "PSK-AES128-CCM", NK_AES_CCM, 16, 16, 4, NK_SHA256, TLS_CIPHER_AES_CCM_128, NK_KX_PSK,
      NK_AUTH_PSK },
    { 0xc0a5, "PSK-AES256-CCM", NK_AES_CCM, 32, 16, 4, NK_SHA256, 0, NK_KX_PSK, NK_AUTH_PSK },
    { 0x00aa, "DHE-PSK-AES128-GCM-SHA256", NK_AES_GCM, 16, 16, 4, NK_SHA256, TLS_CIPHER_AES_GCM_128, NK_KX_DHE,
      NK_AUTH_PSK },
    { 0x00ab, "DHE-PSK-AES256-GCM-SHA384", NK_AES_GCM, 32, 16, 4, NK_SHA384, TLS_CIPHER_AES_GCM_256, NK_KX_DHE,
      NK_AUTH_PSK },
    { 0xccad, "DHE-PSK-CHACHA20-POLY1305", NK_CHACHA20_POLY1305, 32, 16, 12, NK_SHA256,
      TLS_CIPHER_CHACHA20_POLY1305, NK_KX_DHE, NK_AUTH_PSK },
    { 0xc0a6, "DHE-PSK-AES128-CCM", NK_AES_CCM, 16, 16, 4, NK_SHA256, TLS_CIPHER_AES_CCM_128, NK_KX_DHE,
      NK_AUTH_PSK },
    { 0xc0a7, "DHE-PSK-AES256-CCM", NK_AES_CCM, 32, 16, 4, NK_SHA256, 0, NK_KX_DHE, NK_AUTH_PSK },
    { 0xd001, "ECDHE-PSK-AES128-GCM-SHA256", NK_AES_GCM, 16, 16, 4, NK_SHA256, TLS_CIPHER_AES_GCM_128,
      NK_KX_ECDHE, NK_AUTH_PSK },
    { 0xd002, "ECDHE-PSK-AES256-GCM-SHA384", NK_AES_GCM, 32, 16, 4, NK_SHA384, TLS_CIPHER_AES_GCM_256,
      NK_KX_ECDHE, NK_AUTH_PSK },
    { 0xccac, "ECDHE-PSK-CHACHA20-POLY1305", NK_CHACHA20_POLY1305, 32, 16, 12, NK_SHA256,
      TLS_CIPHER_CHACHA20_POLY1305, NK_KX_ECDHE, NK_AUTH_PSK },
    { 0xd005, "ECDHE-PSK-AES128-CCM-SHA256", NK_AES_CCM, 16, 16, 4, NK_SHA256, TLS_CIPHER_AES_CCM_128,
      NK_KX_ECDHE, NK_AUTH_PSK },
    /* Anonymous: RFC 5246 Appendix A.5 (DH_anon CBC, SHA-1 and SHA-256
     * MACs), RFC 5288 §3 (DH_anon GCM), RFC 8422 §2.5 (ECDH_anon). */
    { 0x00a6, "ADH-AES128-GCM-SHA256", NK_AES_GCM, 16, 16, 4, NK_SHA256, TLS_CIPHER_AES_GCM_128, NK_KX_DHE,
      NK_AUTH_ANON },
    { 0x00a7, "ADH-AES256-GCM-SHA384", NK_AES_GCM, 32, 16, 4, NK_SHA384, TLS_CIPHER_AES_GCM_256, NK_KX_DHE,
      NK_AUTH_ANON },
    { 0x006c, "ADH-AES128-SHA256", NK_AES_CBC, 16, 32, 0, NK_SHA256, 0, NK_KX_DHE, NK_AUTH_ANON },
    { 0x006d, "ADH-AES256-SHA256", NK_AES_CBC, 32, 32, 0, NK_SHA256, 0, NK_KX_DHE, NK_AUTH_ANON },
    { 0x0034, "ADH-AES128-SHA", NK_AES_CBC, 16, 20, 0, NK_SHA256, 0, NK_KX_DHE, NK_AUTH_ANON },
    { 0x003a, "ADH-AES256-SHA", NK_AES_CBC, 32, 20, 0, NK_SHA256, 0, NK_KX_DHE, NK_AUTH_ANON },
    { 0xc018, "AECDH-AES128-SHA", NK_AES_CBC, 16, 20, 0, NK_SHA256, 0, NK_KX_ECDHE, NK_AUTH_ANON },
    { 0xc019, "AECDH-AES256-SHA", NK_AES_CBC, 32, 20, 0, NK_SHA256, 0, NK_KX_ECDHE, NK_AUTH_ANON },
};

TEST(tls12_table_rows)
{
    ASSERT_EQ(nk_suite12_count, NK_ARRAY_LEN(rows12));
    for (size_t i = 0; i < NK_ARRAY_LEN(rows12); i++) {
        const struct row12 *r = &rows12[i];
        const struct nk_suite *s = nk_suite12_by_id(r->id);
        ASSERT_NOT_NULL(s) TH_LOG("0x%04x", r->id);
        EXPECT_STR_EQ(s->name, r->name);
        EXPECT_TRUE(nk_suite12_by_name(r->name) == s) TH_LOG("%s", r->name);
        EXPECT_EQ(s->minor, 3u) TH_LOG("%s", r->name);
        EXPECT_EQ(s->aead, r->aead) TH_LOG("%s", r->name);
        EXPECT_EQ(s->key_len, r->key_len) TH_LOG("%s", r->name);
        EXPECT_EQ(s->tag_len, r->tag_len) TH_LOG("%s", r->name);
        EXPECT_EQ(s->fixed_iv_len, r->fixed_iv_len) TH_LOG("%s", r->name);
        EXPECT_EQ(s->hash, r->hash) TH_LOG("%s", r->name);
        EXPECT_EQ(s->ktls_cipher, r->ktls) TH_LOG("%s", r->name);
        EXPECT_EQ(s->kx, r->kx) TH_LOG("%s", r->name);
        EXPECT_EQ(s->auth, r->auth) TH_LOG("%s", r->name);
        EXPECT_GT(s->aead_limit, 0u) TH_LOG("%s", r->name);
    }
}

TEST(tls13_table_sees_no_tls12_suite)
{
    /* The TLS 1.3 table, which the offered list, the server's choice, the
     * cipher-list API and ticket parsing walk, holds RFC 8446's five suites
     * (Appendix B.4), only TLS_AES_128_CCM_8_SHA256 with an 8-byte tag. */
    static const uint16_t ids13[] = { 0x1301, 0x1302, 0x1303, 0x1304, 0x1305 };
    ASSERT_EQ(nk_suite_count, NK_ARRAY_LEN(ids13));
    for (size_t i = 0; i < nk_suite_count; i++) {
        EXPECT_EQ(nk_suites[i].id, ids13[i]);
        EXPECT_EQ(nk_suites[i].minor, 4u);
        EXPECT_EQ(nk_suites[i].tag_len, ids13[i] == 0x1305 ? 8u : NK_AEAD_TAG);
        EXPECT_EQ(nk_suites[i].fixed_iv_len, NK_AEAD_IV);
        EXPECT_EQ(nk_suites[i].kx, NK_KX_ANY);
        EXPECT_EQ(nk_suites[i].auth, NK_AUTH_ANY);
        EXPECT_NULL(nk_suite12_by_id(ids13[i]));
        EXPECT_NULL(nk_suite12_by_name(nk_suites[i].name));
    }
    for (size_t i = 0; i < nk_suite12_count; i++) {
        EXPECT_NULL(nk_suite_by_id(nk_suites12[i].id)) TH_LOG("%s", nk_suites12[i].name);
        EXPECT_NULL(nk_suite_by_name(nk_suites12[i].name)) TH_LOG("%s", nk_suites12[i].name);
    }
}

/* Which suites every connection starts with and which only SSL_enableCiphers
 * turns on (8-byte tags; the TLS 1.2 CCM family; DHE; RSA key transport; CBC;
 * DHE_DSS; anonymous key exchange; pre-shared keys):
 * by id, both tables.
 * Every row is one a handshake negotiates. */
TEST(suite_use)
{
    static const uint16_t on[] = { 0x1301, 0x1302, 0x1303, 0x1304, 0xc02b, 0xc02c, 0xc02f, 0xc030,
                                   0xcca9, 0xcca8 };
    static const uint16_t enabled[] = { 0x1305, 0xc0ac, 0xc0ad, 0xc0ae, 0xc0af, 0x009e, 0x009f, 0xccaa,
                                        0x009c, 0x009d, 0xc009, 0xc00a, 0xc013, 0xc014, 0xc023, 0xc024,
                                        0xc027, 0xc028, 0x00a6, 0x00a7, 0x006c, 0x006d, 0x0034, 0x003a,
                                        0xc018, 0xc019, 0x00a2, 0x00a3, 0x0040, 0x006a, 0x0032, 0x0038,
                                        0x00a8, 0x00a9, 0xccab, 0xc0a4, 0xc0a5, 0x00aa, 0x00ab, 0xccad,
                                        0xc0a6, 0xc0a7, 0xd001, 0xd002, 0xccac, 0xd005 };
    uint64_t def = nk_suites_default(), want = 0;
    for (size_t i = 0; i < NK_ARRAY_LEN(on); i++) {
        const struct nk_suite *s = nk_suite_any_by_id(on[i]);
        ASSERT_NOT_NULL(s);
        EXPECT_EQ(s->use, NK_USE_DEFAULT) TH_LOG("0x%04x", on[i]);
        want |= nk_suite_bit(s);
    }
    EXPECT_EQ(def, want);
    for (size_t i = 0; i < NK_ARRAY_LEN(enabled); i++)
        EXPECT_EQ(nk_suite_any_by_id(enabled[i])->use, NK_USE_ENABLED) TH_LOG("0x%04x", enabled[i]);
    EXPECT_EQ(nk_suite_count + nk_suite12_count, NK_ARRAY_LEN(on) + NK_ARRAY_LEN(enabled));
    /* One bit each, none shared. */
    uint64_t seen = 0;
    for (size_t i = 0; i < nk_suite_count; i++) {
        EXPECT_FALSE(seen & nk_suite_bit(&nk_suites[i]));
        seen |= nk_suite_bit(&nk_suites[i]);
    }
    for (size_t i = 0; i < nk_suite12_count; i++) {
        EXPECT_FALSE(seen & nk_suite_bit(&nk_suites12[i]));
        seen |= nk_suite_bit(&nk_suites12[i]);
    }
    /* Never: RC4, NULL, 3DES, export. */
    static const uint16_t never[] = { 0x0005, 0x0001, 0x0002, 0x003b, 0x000a, 0xc012, 0x0003 };
    for (size_t i = 0; i < NK_ARRAY_LEN(never); i++)
        EXPECT_NULL(nk_suite_any_by_id(never[i])) TH_LOG("0x%04x", never[i]);
}

/* ---- the AEADs only TLS 1.2 uses ---- */

FIXTURE(aead12) {
    const struct nk_suite *s;
    struct nk_aead enc, dec;
    uint8_t key[NK_MAX_KEY];
};

FIXTURE_VARIANT(aead12) {
    uint16_t id;
    const char *evp_name;
    int tag;
};

FIXTURE_VARIANT_ADD(aead12, aes256ccm) { .id = 0xc0ad, .evp_name = "AES-256-CCM", .tag = 16 };
FIXTURE_VARIANT_ADD(aead12, aes128ccm8) { .id = 0xc0ae, .evp_name = "AES-128-CCM", .tag = 8 };
FIXTURE_VARIANT_ADD(aead12, aes256ccm8) { .id = 0xc0af, .evp_name = "AES-256-CCM", .tag = 8 };

FIXTURE_SETUP(aead12)
{
    memset(self, 0, sizeof *self);
    self->s = nk_suite12_by_id(variant->id);
    ASSERT_NOT_NULL(self->s);
    for (size_t i = 0; i < sizeof self->key; i++)
        self->key[i] = (uint8_t)(0x91 + 5 * i);
    ASSERT_EQ(nk_aead_init(&self->enc, self->s, self->key, 1), OK);
    ASSERT_EQ(nk_aead_init(&self->dec, self->s, self->key, 0), OK);
}

FIXTURE_TEARDOWN(aead12)
{
    nk_aead_free(&self->enc);
    nk_aead_free(&self->dec);
}

TEST_F(aead12, matches_libcrypto_with_its_tag_length)
{
    static const uint8_t nonce[NK_AEAD_IV] = { 0x5a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
    static const uint8_t aad[13] = { 0, 0, 0, 0, 0, 0, 0, 1, 23, 3, 3, 0, 40 };
    uint8_t buf[40 + NK_AEAD_TAG], ref[40 + NK_AEAD_TAG];
    int n, tag = variant->tag;

    for (int i = 0; i < 40; i++)
        buf[i] = ref[i] = (uint8_t)(i * 3);
    memset(buf + 40, 0xee, NK_AEAD_TAG);
    ASSERT_EQ(nk_aead_seal(&self->enc, nonce, aad, sizeof aad, buf, 40), OK);
    /* Nothing past the suite's tag is written. */
    for (int i = 40 + tag; i < 40 + NK_AEAD_TAG; i++)
        EXPECT_EQ(buf[i], 0xee) TH_LOG("byte %d", i);

    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, variant->evp_name, NULL);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    ASSERT_NOT_NULL(c);
    ASSERT_NOT_NULL(x);
    ASSERT_EQ(EVP_EncryptInit_ex(x, c, NULL, NULL, NULL), 1);
    ASSERT_EQ(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, NK_AEAD_IV, NULL), 1);
    ASSERT_EQ(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, tag, NULL), 1);
    ASSERT_EQ(EVP_EncryptInit_ex(x, NULL, NULL, self->key, nonce), 1);
    ASSERT_EQ(EVP_EncryptUpdate(x, NULL, &n, NULL, 40), 1);
    ASSERT_EQ(EVP_EncryptUpdate(x, NULL, &n, aad, sizeof aad), 1);
    ASSERT_EQ(EVP_EncryptUpdate(x, ref, &n, ref, 40), 1);
    ASSERT_EQ(EVP_EncryptFinal_ex(x, ref + 40, &n), 1);
    ASSERT_EQ(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, tag, ref + 40), 1);
    EVP_CIPHER_CTX_free(x);
    EVP_CIPHER_free(c);
    EXPECT_MEM_EQ(buf, ref, 40 + (size_t)tag);

    /* It opens at its own length, and every flipped tag byte is caught. */
    memcpy(ref, buf, 40 + (size_t)tag);
    ASSERT_EQ(nk_aead_open(&self->dec, nonce, aad, sizeof aad, buf, 40 + (size_t)tag), OK);
    for (int i = 0; i < 40; i++)
        EXPECT_EQ(buf[i], (uint8_t)(i * 3));
    for (int i = 0; i < tag; i++) {
        memcpy(buf, ref, 40 + (size_t)tag);
        buf[40 + i] ^= 0x04;
        EXPECT_EQ(nk_aead_open(&self->dec, nonce, aad, sizeof aad, buf, 40 + (size_t)tag),
                  ERR_SSL_BAD_RECORD_MAC) TH_LOG("tag byte %d", i);
    }
    EXPECT_EQ(nk_aead_open(&self->dec, nonce, aad, sizeof aad, buf, (size_t)tag - 1), ERR_SSL_BAD_RECORD_MAC);
}

TEST_HARNESS_MAIN
