/* test_crypto.c — HKDF limits and HKDF-Expand-Label against an independent
 * implementation; AEAD round trips and tampering for every suite;
 * nk_rec_open's rejections; the AEAD record limit; KeyUpdate and exporter
 * derivations. (The TLS 1.2 suite table and its AEADs: test_crypto12.c; RFC
 * 8448 vectors: test_rfc8448.c; key exchange: test_kex.c; TLS 1.2 records:
 * test_record.c.) */
#include <linux/tls.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>

#include "harness.h"
#include "core/nk.h"
#include "core/crypto.h"
#include "core/kex.h"
#include "record/record.h"
#include "handshake/hs.h"
#include "unit/crypto_util.h"

/* ---- HKDF argument limits ---- */

TEST(hkdf_limits)
{
    static uint8_t out[255 * 32 + 1];
    static const uint8_t secret[32] = { 7, 6, 5, 4, 3, 2, 1 };
    uint8_t label[256], ctx[256] = { 0 }, small[32];

    /* RFC 5869: L <= 255 * HashLen. */
    EXPECT_EQ(nk_hkdf_expand(NK_SHA256, secret, NULL, 0, out, 255 * 32), OK);
    EXPECT_EQ(nk_hkdf_expand(NK_SHA256, secret, NULL, 0, out, 255 * 32 + 1), ERR_INVALID_ARG);

    /* HkdfLabel.label is <7..255> including "tls13 ": 249 label bytes at most. */
    memset(label, 'a', sizeof label);
    EXPECT_EQ(nk_hkdf_expand_label_raw(NK_SHA256, secret, label, 249, NULL, 0, small, 32), OK);
    EXPECT_EQ(nk_hkdf_expand_label_raw(NK_SHA256, secret, label, 250, NULL, 0, small, 32),
              ERR_INVALID_ARG);
    /* context is <0..255>. */
    EXPECT_EQ(nk_hkdf_expand_label(NK_SHA256, secret, "x", ctx, 255, small, 32), OK);
    EXPECT_EQ(nk_hkdf_expand_label(NK_SHA256, secret, "x", ctx, 256, small, 32), ERR_INVALID_ARG);
}

TEST(hkdf_expand_label_matches_reference)
{
    /* Every TLS 1.3 hash (SHA-1 is only TLS 1.2's CBC MAC), with and
     * without context, several output lengths. */
    static const uint8_t secret[64] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    static const uint8_t ctx[5] = { 0xc0, 0xc1, 0xc2, 0xc3, 0xc4 };
    static const size_t lens[] = { 1, 12, 16, 32, 48, 64, 100 };
    uint8_t a[100], b[100];

    for (int h = 0; h <= NK_SHA512; h++) {
        for (size_t i = 0; i < NK_ARRAY_LEN(lens); i++) {
            ASSERT_EQ(nk_hkdf_expand_label(h, secret, "some label", ctx, sizeof ctx, a, lens[i]), OK);
            ASSERT_EQ(ref_expand_label(h, secret, "some label", ctx, sizeof ctx, b, lens[i]), 0);
            EXPECT_MEM_EQ(a, b, lens[i]) TH_LOG("hash %d len %zu", h, lens[i]);
            ASSERT_EQ(nk_hkdf_expand_label(h, secret, "k", NULL, 0, a, lens[i]), OK);
            ASSERT_EQ(ref_expand_label(h, secret, "k", NULL, 0, b, lens[i]), 0);
            EXPECT_MEM_EQ(a, b, lens[i]) TH_LOG("hash %d len %zu", h, lens[i]);
        }
    }
}

/* ---- per suite: AEAD and record protection ---- */

FIXTURE(suite) {
    const struct nk_suite *s;
    size_t hl;
    uint8_t key[NK_MAX_KEY];
    uint8_t secret[NK_MAX_HASH];
    struct nk_aead enc, dec;
    struct nk_rec_key wr, rd;
    struct nk_buf out;
};

FIXTURE_VARIANT(suite) {
    uint16_t id;
    const char *name;
    enum nk_aead_kind aead;
    uint8_t key_len;
    enum nk_hash hash;
    const char *evp_name;     /* for the independent libcrypto check */
};

FIXTURE_VARIANT_ADD(suite, aes128gcm) {
    .id = 0x1301, .name = "TLS_AES_128_GCM_SHA256", .aead = NK_AES_GCM, .key_len = 16,
    .hash = NK_SHA256, .evp_name = "AES-128-GCM",
};
FIXTURE_VARIANT_ADD(suite, aes256gcm) {
    .id = 0x1302, .name = "TLS_AES_256_GCM_SHA384", .aead = NK_AES_GCM, .key_len = 32,
    .hash = NK_SHA384, .evp_name = "AES-256-GCM",
};
FIXTURE_VARIANT_ADD(suite, chacha20) {
    .id = 0x1303, .name = "TLS_CHACHA20_POLY1305_SHA256", .aead = NK_CHACHA20_POLY1305,
    .key_len = 32, .hash = NK_SHA256, .evp_name = "ChaCha20-Poly1305",
};
FIXTURE_VARIANT_ADD(suite, aes128ccm) {
    .id = 0x1304, .name = "TLS_AES_128_CCM_SHA256", .aead = NK_AES_CCM, .key_len = 16,
    .hash = NK_SHA256, .evp_name = "AES-128-CCM",
};

FIXTURE_SETUP(suite)
{
    memset(self, 0, sizeof *self);
    self->s = nk_suite_by_id(variant->id);
    ASSERT_NOT_NULL(self->s);
    self->hl = nk_hash_len(self->s->hash);
    for (size_t i = 0; i < sizeof self->key; i++)
        self->key[i] = (uint8_t)(0x40 + i);
    for (size_t i = 0; i < sizeof self->secret; i++)
        self->secret[i] = (uint8_t)(0x80 + 3 * i);
    ASSERT_EQ(nk_aead_init(&self->enc, self->s, self->key, 1), OK);
    ASSERT_EQ(nk_aead_init(&self->dec, self->s, self->key, 0), OK);
    ASSERT_EQ(nk_rec_install(&self->wr, self->s, self->secret, 1), OK);
    ASSERT_EQ(nk_rec_install(&self->rd, self->s, self->secret, 0), OK);
}

FIXTURE_TEARDOWN(suite)
{
    nk_aead_free(&self->enc);
    nk_aead_free(&self->dec);
    nk_rec_clear(&self->wr);
    nk_rec_clear(&self->rd);
    nk_buf_free(&self->out);
}

TEST_F(suite, table_row)
{
    EXPECT_STR_EQ(self->s->name, variant->name);
    EXPECT_EQ(self->s->aead, variant->aead);
    EXPECT_EQ(self->s->key_len, variant->key_len);
    EXPECT_EQ(self->s->hash, variant->hash);
    EXPECT_GT(self->s->aead_limit, 0u);
    EXPECT_TRUE(nk_suite_by_name(variant->name) == self->s);
}

TEST_F(suite, aead_round_trip)
{
    static const size_t lens[] = { 0, 1, 15, 16, 17, 64, 1000, 16385 };
    static uint8_t plain[16385], buf[16385 + NK_AEAD_TAG];
    const uint8_t aad[5] = { 23, 3, 3, 0, 0 };
    uint8_t nonce[NK_AEAD_IV] = { 0 };

    for (size_t i = 0; i < sizeof plain; i++)
        plain[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < NK_ARRAY_LEN(lens); i++) {
        size_t n = lens[i];
        nonce[11] = (uint8_t)i;
        memcpy(buf, plain, n);
        ASSERT_EQ(nk_aead_seal(&self->enc, nonce, aad, sizeof aad, buf, n), OK) TH_LOG("len %zu", n);
        if (n >= 16)
            EXPECT_NE(memcmp(buf, plain, n), 0) TH_LOG("len %zu: not encrypted", n);
        ASSERT_EQ(nk_aead_open(&self->dec, nonce, aad, sizeof aad, buf, n + NK_AEAD_TAG), OK)
            TH_LOG("len %zu", n);
        EXPECT_MEM_EQ(buf, plain, n) TH_LOG("len %zu", n);
    }
}

TEST_F(suite, aead_matches_libcrypto)
{
    /* The same seal done directly with libcrypto's EVP interface. */
    static const uint8_t nonce[NK_AEAD_IV] = { 0xa0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
    static const uint8_t aad[5] = { 23, 3, 3, 0, 0x32 };
    uint8_t buf[50 + NK_AEAD_TAG], ref[50 + NK_AEAD_TAG];
    int n, ccm = variant->aead == NK_AES_CCM;

    app_payload(buf);
    memcpy(ref, buf, 50);
    ASSERT_EQ(nk_aead_seal(&self->enc, nonce, aad, sizeof aad, buf, 50), OK);

    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, variant->evp_name, NULL);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    ASSERT_NOT_NULL(c);
    ASSERT_NOT_NULL(x);
    ASSERT_EQ(EVP_EncryptInit_ex(x, c, NULL, NULL, NULL), 1);
    ASSERT_EQ(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, NK_AEAD_IV, NULL), 1);
    if (ccm)
        ASSERT_EQ(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, NK_AEAD_TAG, NULL), 1);
    ASSERT_EQ(EVP_EncryptInit_ex(x, NULL, NULL, self->key, nonce), 1);
    if (ccm)
        ASSERT_EQ(EVP_EncryptUpdate(x, NULL, &n, NULL, 50), 1);
    ASSERT_EQ(EVP_EncryptUpdate(x, NULL, &n, aad, sizeof aad), 1);
    ASSERT_EQ(EVP_EncryptUpdate(x, ref, &n, ref, 50), 1);
    ASSERT_EQ(EVP_EncryptFinal_ex(x, ref + 50, &n), 1);
    ASSERT_EQ(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, NK_AEAD_TAG, ref + 50), 1);
    EVP_CIPHER_CTX_free(x);
    EVP_CIPHER_free(c);
    EXPECT_MEM_EQ(buf, ref, sizeof ref);
}

TEST_F(suite, aead_tamper)
{
    static const uint8_t nonce[NK_AEAD_IV] = { 7 };
    uint8_t aad[5] = { 23, 3, 3, 0, 0x20 };
    uint8_t sealed[16 + NK_AEAD_TAG], buf[sizeof sealed], other[NK_AEAD_IV] = { 8 };

    memset(sealed, 0x33, 16);
    ASSERT_EQ(nk_aead_seal(&self->enc, nonce, aad, sizeof aad, sealed, 16), OK);

    /* Every single-bit flip in the tag or the ciphertext is caught. */
    for (size_t i = 0; i < sizeof sealed; i++) {
        memcpy(buf, sealed, sizeof buf);
        buf[i] ^= (uint8_t)(1u << (i % 8));
        EXPECT_EQ(nk_aead_open(&self->dec, nonce, aad, sizeof aad, buf, sizeof buf),
                  ERR_SSL_BAD_RECORD_MAC) TH_LOG("flip at %zu", i);
    }
    memcpy(buf, sealed, sizeof buf);
    aad[4] ^= 1;
    EXPECT_EQ(nk_aead_open(&self->dec, nonce, aad, sizeof aad, buf, sizeof buf), ERR_SSL_BAD_RECORD_MAC);
    aad[4] ^= 1;
    memcpy(buf, sealed, sizeof buf);
    EXPECT_EQ(nk_aead_open(&self->dec, other, aad, sizeof aad, buf, sizeof buf), ERR_SSL_BAD_RECORD_MAC);
    /* Fewer bytes than a tag. */
    EXPECT_EQ(nk_aead_open(&self->dec, nonce, aad, sizeof aad, buf, NK_AEAD_TAG - 1),
              ERR_SSL_BAD_RECORD_MAC);

    /* A failure does not poison the context: the genuine message still opens. */
    memcpy(buf, sealed, sizeof buf);
    ASSERT_EQ(nk_aead_open(&self->dec, nonce, aad, sizeof aad, buf, sizeof buf), OK);
    for (size_t i = 0; i < 16; i++)
        EXPECT_EQ(buf[i], 0x33);
}

TEST_F(suite, aead_zero_length)
{
    static const uint8_t nonce[NK_AEAD_IV] = { 1, 2, 3 };
    static const uint8_t aad[5] = { 23, 3, 3, 0, 16 };
    uint8_t tag[NK_AEAD_TAG], buf[NK_AEAD_TAG];

    ASSERT_EQ(nk_aead_seal(&self->enc, nonce, aad, sizeof aad, tag, 0), OK);
    memcpy(buf, tag, sizeof buf);
    EXPECT_EQ(nk_aead_open(&self->dec, nonce, aad, sizeof aad, buf, sizeof buf), OK);
    /* With nothing to decrypt the tag is all there is to check. */
    for (size_t i = 0; i < NK_AEAD_TAG; i++) {
        memcpy(buf, tag, sizeof buf);
        buf[i] ^= 0x80;
        EXPECT_EQ(nk_aead_open(&self->dec, nonce, aad, sizeof aad, buf, sizeof buf),
                  ERR_SSL_BAD_RECORD_MAC) TH_LOG("flip at %zu", i);
    }
    memcpy(buf, tag, sizeof buf);
    uint8_t aad2[5] = { 23, 3, 3, 0, 17 };
    EXPECT_EQ(nk_aead_open(&self->dec, nonce, aad2, sizeof aad2, buf, sizeof buf), ERR_SSL_BAD_RECORD_MAC);
}

TEST_F(suite, failure_leaves_no_libcrypto_error)
{
    /* A forged record is the peer's doing, reported through our status; it must
     * not also leave entries on the thread's libcrypto error queue, where an
     * application's own libcrypto/libssl code on that thread would find them. */
    static const uint8_t nonce[NK_AEAD_IV] = { 9 };
    static const uint8_t aad[5] = { 23, 3, 3, 0, 0x20 };
    uint8_t buf[16 + NK_AEAD_TAG] = { 0 };

    ASSERT_EQ(nk_aead_seal(&self->enc, nonce, aad, sizeof aad, buf, 16), OK);
    buf[20] ^= 1;
    ERR_clear_error();
    EXPECT_EQ(nk_aead_open(&self->dec, nonce, aad, sizeof aad, buf, sizeof buf), ERR_SSL_BAD_RECORD_MAC);
    EXPECT_EQ(ERR_peek_error(), 0ul);
    ERR_clear_error();
}

TEST_F(suite, record_round_trip_with_padding)
{
    static const uint8_t msg[] = "hello, record";
    static const size_t pads[] = { 0, 1, 100, 16384 - sizeof msg };
    uint8_t type, plain[NK_MAX_CIPHER];
    size_t len;

    for (size_t i = 0; i < NK_ARRAY_LEN(pads); i++) {
        self->out.len = 0;
        ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, msg, sizeof msg, pads[i], &self->out), OK);
        size_t clen = sizeof msg + 1 + pads[i] + NK_AEAD_TAG;
        ASSERT_EQ(self->out.len, NK_REC_HDR + clen);
        EXPECT_EQ(self->out.p[0], NK_CT_APPLICATION_DATA);
        EXPECT_EQ(self->out.p[1], 3);
        EXPECT_EQ(self->out.p[2], 3);
        EXPECT_EQ(nk_load16(self->out.p + 3), clen);
        ASSERT_EQ(open_copy(&self->rd, self->out.p, self->out.len, &type, plain, &len), OK)
            TH_LOG("pad %zu", pads[i]);
        EXPECT_EQ(type, NK_CT_APPLICATION_DATA);
        ASSERT_EQ(len, sizeof msg);
        EXPECT_MEM_EQ(plain, msg, sizeof msg);
    }
    EXPECT_EQ(self->wr.seq, NK_ARRAY_LEN(pads));
    EXPECT_EQ(self->rd.seq, NK_ARRAY_LEN(pads));
}

TEST_F(suite, record_seal_appends)
{
    /* Two records back to back in one buffer, each opening on its own. */
    uint8_t type, plain[64];
    size_t len;

    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_HANDSHAKE, (const uint8_t *)"one", 3, 0, &self->out), OK);
    size_t first = self->out.len;
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_ALERT, (const uint8_t *)"\x01\x00", 2, 0, &self->out), OK);
    ASSERT_EQ(open_copy(&self->rd, self->out.p, first, &type, plain, &len), OK);
    EXPECT_EQ(type, NK_CT_HANDSHAKE);
    EXPECT_EQ(len, 3u);
    ASSERT_EQ(open_copy(&self->rd, self->out.p + first, self->out.len - first, &type, plain, &len), OK);
    EXPECT_EQ(type, NK_CT_ALERT);
    EXPECT_EQ(len, 2u);
}

TEST_F(suite, record_zero_length_content)
{
    /* §5.4 allows zero-length application data: the inner plaintext is just the type. */
    uint8_t type, plain[16];
    size_t len = 99;
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, NULL, 0, 0, &self->out), OK);
    EXPECT_EQ(self->out.len, NK_REC_HDR + 1u + NK_AEAD_TAG);
    ASSERT_EQ(open_copy(&self->rd, self->out.p, self->out.len, &type, plain, &len), OK);
    EXPECT_EQ(type, NK_CT_APPLICATION_DATA);
    EXPECT_EQ(len, 0u);
}

TEST_F(suite, record_largest)
{
    static uint8_t data[NK_MAX_PLAIN + 1], plain[NK_MAX_CIPHER];
    uint8_t type;
    size_t len;

    memset(data, 0xab, sizeof data);
    /* 2^14 bytes is the most a record may carry; one more is the caller's error. */
    EXPECT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, data, NK_MAX_PLAIN + 1, 0, &self->out),
              ERR_INVALID_ARG);
    EXPECT_EQ(self->out.len, 0u);
    EXPECT_EQ(self->wr.seq, 0u);
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, data, NK_MAX_PLAIN, 0, &self->out), OK);
    ASSERT_EQ(open_copy(&self->rd, self->out.p, self->out.len, &type, plain, &len), OK);
    EXPECT_EQ(len, (size_t)NK_MAX_PLAIN);
    EXPECT_MEM_EQ(plain, data, NK_MAX_PLAIN);
}

TEST_F(suite, open_rejects_all_zero_inner)
{
    /* Content type 0 and only padding: no non-zero byte to be the type (§5.4). */
    uint8_t type, plain[64];
    size_t len;
    ASSERT_EQ(nk_rec_seal(&self->wr, 0, NULL, 0, 10, &self->out), OK);
    EXPECT_EQ(open_copy(&self->rd, self->out.p, self->out.len, &type, plain, &len),
              ERR_SSL_UNEXPECTED_MESSAGE);
    /* The single-byte inner plaintext 00. */
    self->out.len = 0;
    ASSERT_EQ(nk_rec_seal(&self->wr, 0, NULL, 0, 0, &self->out), OK);
    EXPECT_EQ(open_copy(&self->rd, self->out.p, self->out.len, &type, plain, &len),
              ERR_SSL_UNEXPECTED_MESSAGE);
}

TEST_F(suite, open_rejects_inner_over_limit)
{
    /* TLSInnerPlaintext of 2^14 + 2 bytes: within the ciphertext limit, over the
     * plaintext one (§5.4: record_overflow). */
    static uint8_t data[NK_MAX_PLAIN], plain[NK_MAX_CIPHER];
    uint8_t type;
    size_t len;

    memset(data, 0x11, sizeof data);
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, data, NK_MAX_PLAIN, 1, &self->out), OK);
    EXPECT_EQ(open_copy(&self->rd, self->out.p, self->out.len, &type, plain, &len),
              ERR_SSL_RECORD_OVERFLOW);

    /* Padding counts too: 100 bytes of content and 2^14 - 99 of padding. */
    struct nk_rec_key w = { 0 }, r = { 0 };
    ASSERT_EQ(nk_rec_install(&w, self->s, self->secret, 1), OK);
    ASSERT_EQ(nk_rec_install(&r, self->s, self->secret, 0), OK);
    self->out.len = 0;
    ASSERT_EQ(nk_rec_seal(&w, NK_CT_APPLICATION_DATA, data, 100, NK_MAX_PLAIN - 99, &self->out), OK);
    EXPECT_EQ(open_copy(&r, self->out.p, self->out.len, &type, plain, &len), ERR_SSL_RECORD_OVERFLOW);
    /* Exactly 2^14 + 1 is fine. */
    self->out.len = 0;
    ASSERT_EQ(nk_rec_seal(&w, NK_CT_APPLICATION_DATA, data, 100, NK_MAX_PLAIN - 100, &self->out), OK);
    r.seq = 1;
    EXPECT_EQ(open_copy(&r, self->out.p, self->out.len, &type, plain, &len), OK);
    EXPECT_EQ(len, 100u);
    nk_rec_clear(&w);
    nk_rec_clear(&r);
}

TEST_F(suite, open_rejects_wrong_outer_type)
{
    static const uint8_t bad[] = { NK_CT_HANDSHAKE, NK_CT_ALERT, NK_CT_CHANGE_CIPHER_SPEC, 0, 24 };
    uint8_t type, plain[64];
    size_t len;

    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_HANDSHAKE, (const uint8_t *)"abcd", 4, 0, &self->out), OK);
    for (size_t i = 0; i < sizeof bad; i++) {
        uint8_t save = self->out.p[0];
        self->out.p[0] = bad[i];
        EXPECT_EQ(open_copy(&self->rd, self->out.p, self->out.len, &type, plain, &len),
                  ERR_SSL_UNEXPECTED_MESSAGE) TH_LOG("outer type %u", bad[i]);
        self->out.p[0] = save;
    }
    EXPECT_EQ(self->rd.seq, 0u);
    ASSERT_EQ(open_copy(&self->rd, self->out.p, self->out.len, &type, plain, &len), OK);
}

TEST_F(suite, open_rejects_short_records)
{
    uint8_t rec[NK_REC_HDR + NK_AEAD_TAG + 1], type, *data;
    size_t len;

    memset(rec, 0, sizeof rec);
    rec[0] = NK_CT_APPLICATION_DATA;
    rec[1] = rec[2] = 3;
    /* Not even a header. */
    for (size_t n = 0; n < NK_REC_HDR; n++)
        EXPECT_EQ(nk_rec_open(&self->rd, rec, n, &type, &data, &len), ERR_SSL_PROTOCOL) TH_LOG("len %zu", n);
    /* A header and fewer than tag + content-type bytes. */
    for (size_t n = NK_REC_HDR; n <= NK_REC_HDR + NK_AEAD_TAG; n++) {
        nk_store16(rec + 3, (uint16_t)(n - NK_REC_HDR));
        EXPECT_EQ(nk_rec_open(&self->rd, rec, n, &type, &data, &len), ERR_SSL_BAD_RECORD_MAC)
            TH_LOG("len %zu", n);
    }
    EXPECT_EQ(self->rd.seq, 0u);
}

TEST_F(suite, open_rejects_oversized_ciphertext)
{
    static uint8_t rec[NK_REC_HDR + NK_MAX_CIPHER + 1];
    uint8_t type, *data;
    size_t len;

    rec[0] = NK_CT_APPLICATION_DATA;
    rec[1] = rec[2] = 3;
    nk_store16(rec + 3, NK_MAX_CIPHER + 1);
    EXPECT_EQ(nk_rec_open(&self->rd, rec, sizeof rec, &type, &data, &len), ERR_SSL_RECORD_OVERFLOW);
}

TEST_F(suite, open_rejects_header_tamper)
{
    /* The header is the AEAD's additional data: changing it fails authentication. */
    uint8_t type, plain[64];
    size_t len;

    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"data", 4, 0, &self->out), OK);
    for (size_t i = 1; i < NK_REC_HDR; i++) {
        self->out.p[i] ^= 0x01;
        EXPECT_EQ(open_copy(&self->rd, self->out.p, self->out.len, &type, plain, &len),
                  ERR_SSL_BAD_RECORD_MAC) TH_LOG("header byte %zu", i);
        self->out.p[i] ^= 0x01;
    }
    ASSERT_EQ(open_copy(&self->rd, self->out.p, self->out.len, &type, plain, &len), OK);
}

TEST_F(suite, seal_stops_at_aead_limit)
{
    uint64_t limit = self->s->aead_limit;
    uint8_t type, plain[16];
    size_t len;

    self->wr.seq = limit;
    EXPECT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"x", 1, 0, &self->out),
              ERR_SSL_SEQUENCE_EXHAUSTED);
    EXPECT_EQ(self->out.len, 0u);     /* nothing half-written */
    EXPECT_EQ(self->wr.seq, limit);

    /* The last permitted record goes out, then the key is spent. */
    self->wr.seq = limit - 1;
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"y", 1, 0, &self->out), OK);
    EXPECT_EQ(self->wr.seq, limit);
    size_t n = self->out.len;
    EXPECT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"z", 1, 0, &self->out),
              ERR_SSL_SEQUENCE_EXHAUSTED);
    EXPECT_EQ(self->out.len, n);

    /* And the last record is a normal one to its reader. */
    self->rd.seq = limit - 1;
    ASSERT_EQ(open_copy(&self->rd, self->out.p, n, &type, plain, &len), OK);
    EXPECT_EQ(len, 1u);
    EXPECT_EQ(plain[0], 'y');
}

TEST_F(suite, nonce_uses_sequence_number)
{
    /* The same plaintext at consecutive sequence numbers gives different records,
     * and a record opens only at its own sequence number. */
    uint8_t type, plain[16];
    size_t len;

    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"same", 4, 0, &self->out), OK);
    size_t one = self->out.len;
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"same", 4, 0, &self->out), OK);
    EXPECT_NE(memcmp(self->out.p + NK_REC_HDR, self->out.p + one + NK_REC_HDR, one - NK_REC_HDR), 0);
    EXPECT_EQ(open_copy(&self->rd, self->out.p + one, one, &type, plain, &len), ERR_SSL_BAD_RECORD_MAC);
    ASSERT_EQ(open_copy(&self->rd, self->out.p, one, &type, plain, &len), OK);
    ASSERT_EQ(open_copy(&self->rd, self->out.p + one, one, &type, plain, &len), OK);

    /* A sequence number above 2^32 reaches the upper nonce bytes. */
    self->wr.seq = self->rd.seq = 0x0102030405ull;
    if (self->wr.seq >= self->s->aead_limit)
        return;
    self->out.len = 0;
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"far", 3, 0, &self->out), OK);
    self->rd.seq = 0x0002030405ull;
    EXPECT_EQ(open_copy(&self->rd, self->out.p, self->out.len, &type, plain, &len), ERR_SSL_BAD_RECORD_MAC);
    self->rd.seq = 0x0102030405ull;
    EXPECT_EQ(open_copy(&self->rd, self->out.p, self->out.len, &type, plain, &len), OK);
}

TEST_F(suite, key_update_derivation)
{
    uint8_t s1[NK_MAX_HASH], s2[NK_MAX_HASH], ref[NK_MAX_HASH], orig[NK_MAX_HASH];
    uint8_t type, plain[16];
    size_t hl = self->hl, len;

    memcpy(orig, self->secret, hl);
    memcpy(s1, self->secret, hl);
    ASSERT_EQ(nk_ks_update(self->s->hash, s1), OK);
    ASSERT_EQ(ref_expand_label(self->s->hash, orig, "traffic upd", NULL, 0, ref, hl), 0);
    EXPECT_MEM_EQ(s1, ref, hl);
    EXPECT_NE(memcmp(s1, orig, hl), 0);

    /* The next generation chains from the last, and both peers agree. */
    memcpy(s2, s1, hl);
    ASSERT_EQ(nk_ks_update(self->s->hash, s2), OK);
    ASSERT_EQ(ref_expand_label(self->s->hash, s1, "traffic upd", NULL, 0, ref, hl), 0);
    EXPECT_MEM_EQ(s2, ref, hl);
    uint8_t peer[NK_MAX_HASH];
    memcpy(peer, orig, hl);
    ASSERT_EQ(nk_ks_update(self->s->hash, peer), OK);
    ASSERT_EQ(nk_ks_update(self->s->hash, peer), OK);
    EXPECT_MEM_EQ(peer, s2, hl);

    /* Records under the updated sending key open only under the updated reading key. */
    struct nk_rec_key w = { 0 }, r_old = { 0 }, r_new = { 0 };
    ASSERT_EQ(nk_rec_install(&w, self->s, s1, 1), OK);
    ASSERT_EQ(nk_rec_install(&r_old, self->s, orig, 0), OK);
    ASSERT_EQ(nk_rec_install(&r_new, self->s, s1, 0), OK);
    ASSERT_EQ(nk_rec_seal(&w, NK_CT_APPLICATION_DATA, (const uint8_t *)"upd", 3, 0, &self->out), OK);
    EXPECT_EQ(open_copy(&r_old, self->out.p, self->out.len, &type, plain, &len), ERR_SSL_BAD_RECORD_MAC);
    ASSERT_EQ(open_copy(&r_new, self->out.p, self->out.len, &type, plain, &len), OK);
    EXPECT_MEM_EQ(plain, "upd", 3);
    nk_rec_clear(&w);
    nk_rec_clear(&r_old);
    nk_rec_clear(&r_new);
}

TEST_F(suite, exporter)
{
    enum nk_hash h = self->s->hash;
    size_t hl = self->hl;
    const uint8_t *lab = (const uint8_t *)"EXPORTER-test";
    const uint8_t *ctx = (const uint8_t *)"context";
    uint8_t a[64], b[64], empty[NK_MAX_HASH], chash[NK_MAX_HASH], tmp[NK_MAX_HASH];

    /* Deterministic. */
    ASSERT_EQ(nk_ks_export(h, self->secret, lab, 13, ctx, 7, a, 32), OK);
    ASSERT_EQ(nk_ks_export(h, self->secret, lab, 13, ctx, 7, b, 32), OK);
    EXPECT_MEM_EQ(a, b, 32);

    /* RFC 8446 §7.5, computed independently. */
    ASSERT_EQ(nk_digest(h, "", 0, empty), OK);
    ASSERT_EQ(nk_digest(h, ctx, 7, chash), OK);
    /* Derive-Secret(exporter, label, "") is HKDF-Expand-Label with Hash("") as
     * its context; the result is then expanded under "exporter" with Hash(context). */
    ASSERT_EQ(ref_expand_label(h, self->secret, "EXPORTER-test", empty, hl, tmp, hl), 0);
    ASSERT_EQ(ref_expand_label(h, tmp, "exporter", chash, hl, b, 32), 0);
    EXPECT_MEM_EQ(a, b, 32);

    /* Label, context, length and secret each change the output. */
    ASSERT_EQ(nk_ks_export(h, self->secret, (const uint8_t *)"EXPORTER-tesu", 13, ctx, 7, b, 32), OK);
    EXPECT_NE(memcmp(a, b, 32), 0);
    ASSERT_EQ(nk_ks_export(h, self->secret, lab, 13, (const uint8_t *)"contexu", 7, b, 32), OK);
    EXPECT_NE(memcmp(a, b, 32), 0);
    ASSERT_EQ(nk_ks_export(h, self->secret, lab, 13, ctx, 7, b, 16), OK);
    EXPECT_NE(memcmp(a, b, 16), 0);   /* the length is part of HkdfLabel: not a prefix */
    uint8_t other[NK_MAX_HASH];
    memcpy(other, self->secret, hl);
    other[0] ^= 1;
    ASSERT_EQ(nk_ks_export(h, other, lab, 13, ctx, 7, b, 32), OK);
    EXPECT_NE(memcmp(a, b, 32), 0);

    /* In TLS 1.3 no context and an empty context are the same (§7.5). */
    ASSERT_EQ(nk_ks_export(h, self->secret, lab, 13, NULL, 0, a, 64), OK);
    ASSERT_EQ(nk_ks_export(h, self->secret, lab, 13, (const uint8_t *)"", 0, b, 64), OK);
    EXPECT_MEM_EQ(a, b, 64);
}

TEST_HARNESS_MAIN
