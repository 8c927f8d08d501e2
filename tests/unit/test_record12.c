/* test_record12.c — the TLS 1.2 AEAD record ops directly, per AEAD: the
 * header per content type and the tag length, seal against libcrypto
 * (explicit nonce, additional data), open, the peer's explicit nonce,
 * tampering, length limits, the sequence limit; and that TLS 1.2 and TLS 1.3
 * record ops each keep to their own suites. (CBC: test_record_cbc.c.) */
#include <openssl/evp.h>

#include "harness.h"
#include "core/nk.h"
#include "core/crypto.h"
#include "core/wire.h"
#include "record/record.h"
#include "aead12_ref.h"

static const uint8_t ctypes[] = {
    NK_CT_CHANGE_CIPHER_SPEC, NK_CT_ALERT, NK_CT_HANDSHAKE, NK_CT_APPLICATION_DATA,
};

/* ---- TLS 1.2 AEAD protection, per AEAD ---- */

FIXTURE(rec12) {
    const struct nk_suite *s;
    uint8_t keys[NK_REC12_KEYS];   /* write_key || write_IV */
    struct nk_rec_key wr, rd;
    struct nk_buf out;
};

FIXTURE_VARIANT(rec12) {
    AEAD12_VARIANT_FIELDS;
};

AEAD12_VARIANTS(rec12);

FIXTURE_SETUP(rec12)
{
    memset(self, 0, sizeof *self);
    self->s = nk_suite12_by_id(variant->id);
    ASSERT_NOT_NULL(self->s);
    for (size_t i = 0; i < sizeof self->keys; i++)
        self->keys[i] = (uint8_t)(0xa7 + 11 * i);
    ASSERT_EQ(nk_rec_tls12.install(&self->wr, self->s, self->keys, 1), OK);
    ASSERT_EQ(nk_rec_tls12.install(&self->rd, self->s, self->keys, 0), OK);
}

FIXTURE_TEARDOWN(rec12)
{
    nk_rec_clear(&self->wr);
    nk_rec_clear(&self->rd);
    nk_buf_free(&self->out);
}

static size_t xlen(const FIXTURE_VARIANT(rec12) *v)
{
    return aead12_xlen(v->chacha);
}

/* The record libcrypto makes of n bytes of content type under the key block
 * share keys at sequence number seq (aead12_ref.h), behind its 5-byte
 * header. Returns its length. */
static size_t ref_record12(const FIXTURE_VARIANT(rec12) *v, const uint8_t *keys, uint64_t seq, uint64_t xn,
                           uint8_t type, const uint8_t *d, size_t n, uint8_t *rec)
{
    rec[0] = type;
    rec[1] = rec[2] = 3;
    nk_store16(rec + 3, (uint16_t)(xlen(v) + n + v->tag));
    return aead12_ref_seal(v->evp_name, v->ccm, v->chacha, v->key_len, v->tag, keys, seq, xn, type, 0x0303, d, n,
                           rec, 5);
}

TEST_F(rec12, header_per_content_type_and_tag_length)
{
    EXPECT_TRUE(nk_rec_ops_of(&self->wr) == &nk_rec_tls12);
    EXPECT_EQ(self->wr.ops_id, NK_REC_OPS_TLS12_AEAD);
    EXPECT_EQ(nk_rec_tls12.hdr_len, 5u);
    EXPECT_EQ(nk_rec_tls12.overhead, 16u);
    EXPECT_EQ(self->s->tag_len, variant->tag);
    for (size_t i = 0; i < sizeof ctypes; i++) {
        self->out.len = 0;
        ASSERT_EQ(nk_rec_write(&self->wr, ctypes[i], NK_REC_V12, (const uint8_t *)"abc", 3, &self->out), OK);
        /* §6.2.3.3: the real type and the version outside; the body is the
         * explicit nonce, the ciphertext (as long as the content) and the tag. */
        struct nk_rec rec;
        ASSERT_EQ(nk_rec_peek_header(&nk_rec_tls12, self->out.p, self->out.len, &rec), OK);
        EXPECT_EQ(rec.type, ctypes[i]);
        EXPECT_EQ(rec.version, NK_REC_V12);
        EXPECT_EQ(rec.body_len, xlen(variant) + 3 + variant->tag) TH_LOG("type %u", ctypes[i]);
        EXPECT_EQ(self->out.len, rec.len);
    }
}

TEST_F(rec12, seal_matches_libcrypto)
{
    /* The first record, and one far along: the explicit nonce and the
     * additional data carry the 64-bit sequence number, big-endian (ChaCha's
     * limit is the sequence number's own, so its far record uses every byte). */
    static const uint8_t msg[] = "exact bytes of a TLS 1.2 record";
    const size_t n = sizeof msg - 1;
    const uint64_t far = variant->chacha ? 0x0102030405060708ull : 0xa1b2c3ull;
    uint8_t ref[128];
    ASSERT_EQ(nk_rec_tls12.seal(&self->wr, NK_CT_HANDSHAKE, NK_REC_V12, msg, n, 0, &self->out), OK);
    size_t first = ref_record12(variant, self->keys, 0, 0, NK_CT_HANDSHAKE, msg, n, ref);
    ASSERT_GT(first, 0u);
    ASSERT_EQ(self->out.len, first);
    EXPECT_MEM_EQ(self->out.p, ref, first);

    /* The version asked for and the padding do not matter: 0x0303, none. */
    self->wr.seq = far;
    ASSERT_EQ(nk_rec_tls12.seal(&self->wr, NK_CT_APPLICATION_DATA, NK_REC_V10, msg, n, 9, &self->out), OK);
    EXPECT_EQ(self->wr.seq, far + 1);
    ASSERT_EQ(ref_record12(variant, self->keys, far, far, NK_CT_APPLICATION_DATA, msg, n, ref), first);
    ASSERT_EQ(self->out.len, 2 * first);
    EXPECT_MEM_EQ(self->out.p + first, ref, first);
    if (!variant->chacha) {
        const uint8_t xn[8] = { 0, 0, 0, 0, 0, 0xa1, 0xb2, 0xc3 };
        EXPECT_MEM_EQ(self->out.p + first + 5, xn, 8);
    }
}

TEST_F(rec12, seal_open_round_trip)
{
    static uint8_t data[NK_MAX_PLAIN];
    const size_t sizes[] = { 0, 1, 100, 4096, NK_MAX_PLAIN };
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 29 + 3);
    for (size_t i = 0; i < NK_ARRAY_LEN(sizes); i++) {
        for (size_t t = 0; t < sizeof ctypes; t++) {
            self->out.len = 0;
            ASSERT_EQ(nk_rec_write(&self->wr, ctypes[t], NK_REC_V12, data, sizes[i], &self->out), OK);
            struct nk_rec rec;
            ASSERT_EQ(nk_rec_peek_header(&nk_rec_tls12, self->out.p, self->out.len, &rec), OK);
            uint8_t type = 0, *plain;
            size_t len;
            ASSERT_EQ(nk_rec_open(&self->rd, rec.p, rec.len, &type, &plain, &len), OK);
            EXPECT_EQ(type, ctypes[t]);
            ASSERT_EQ(len, sizes[i]);
            EXPECT_TRUE(plain == rec.p + 5 + xlen(variant));
            EXPECT_MEM_EQ(plain, data, len) TH_LOG("size %zu type %u", sizes[i], ctypes[t]);
        }
    }
    EXPECT_EQ(self->rd.seq, self->wr.seq);
    /* An idle connection's parked keys pick up where they were. */
    nk_rec_park(&self->wr);
    nk_rec_park(&self->rd);
    EXPECT_NULL(self->wr.aead.ctx);
    self->out.len = 0;
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"parked", 6, 0, &self->out), OK);
    uint8_t type, *plain;
    size_t len;
    ASSERT_EQ(nk_rec_open(&self->rd, self->out.p, self->out.len, &type, &plain, &len), OK);
    EXPECT_MEM_EQ(plain, "parked", 6);
}

TEST_F(rec12, open_takes_the_peers_explicit_nonce)
{
    /* RFC 5288 §3: the sender chooses nonce_explicit; the receiver reads it. */
    static const uint8_t msg[] = "peer's nonce";
    uint8_t rec[64], type, *plain;
    size_t len, n = ref_record12(variant, self->keys, 0, 0xfedcba9876543210ull, NK_CT_APPLICATION_DATA,
                                 msg, 12, rec);
    ASSERT_GT(n, 0u);
    ASSERT_EQ(nk_rec_open(&self->rd, rec, n, &type, &plain, &len), OK);
    EXPECT_MEM_EQ(plain, msg, 12);
    /* The sequence number is in the additional data (and ChaCha's nonce):
     * a record made for another one fails. */
    n = ref_record12(variant, self->keys, 7, 1, NK_CT_APPLICATION_DATA, msg, 12, rec);
    EXPECT_EQ(nk_rec_open(&self->rd, rec, n, &type, &plain, &len), ERR_SSL_BAD_RECORD_MAC);
    EXPECT_EQ(self->rd.seq, 1u);
}

/* Spoil one thing in a sealed record of n bytes (where: tag's last byte,
 * tag's first byte, ciphertext, explicit nonce, type, length); returns its
 * new length. */
static size_t spoil(uint8_t *p, size_t n, int where, size_t xl, size_t tag)
{
    switch (where) {
    case 0: p[n - 1] ^= 1; break;
    case 1: p[n - tag] ^= 1; break;
    case 2: p[5 + xl] ^= 1; break;
    case 3: p[5] ^= 1; break;   /* ChaCha: the first ciphertext byte again */
    case 4: p[0] = NK_CT_HANDSHAKE; break;
    default:
        /* One ciphertext byte less, header to match: the length in the
         * additional data is then not the sender's. */
        memmove(p + n - 1 - tag, p + n - tag, tag);
        n--;
        nk_store16(p + 3, (uint16_t)(n - 5));
    }
    return n;
}

TEST_F(rec12, tampering)
{
    uint8_t type, *plain;
    size_t len;
    for (int where = 0; where < 6; where++) {
        self->out.len = 0;
        ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"tamper", 6, 0, &self->out), OK);
        size_t n = spoil(self->out.p, self->out.len, where, xlen(variant), variant->tag);
        EXPECT_EQ(nk_rec_open(&self->rd, self->out.p, n, &type, &plain, &len), ERR_SSL_BAD_RECORD_MAC)
            TH_LOG("case %d", where);
        /* A failed record moves no sequence number: the next one still opens. */
        EXPECT_EQ(self->rd.seq, (uint64_t)where);
        self->wr.seq = self->rd.seq;
        self->out.len = 0;
        ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_ALERT, (const uint8_t *)"ok", 2, 0, &self->out), OK);
        ASSERT_EQ(nk_rec_open(&self->rd, self->out.p, self->out.len, &type, &plain, &len), OK);
        EXPECT_EQ(type, NK_CT_ALERT);
        EXPECT_MEM_EQ(plain, "ok", 2);
    }
    /* Another version than the negotiated one: protocol_version. */
    self->out.len = 0;
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"v", 1, 0, &self->out), OK);
    self->out.p[2] = 1;
    EXPECT_EQ(nk_rec_open(&self->rd, self->out.p, self->out.len, &type, &plain, &len),
              ERR_SSL_UNSUPPORTED_VERSION);
}

TEST_F(rec12, length_limits)
{
    static uint8_t data[NK_MAX_PLAIN + 1], rec[NK_REC_HDR + NK_MAX_CIPHER12 + 1];
    uint8_t type, *plain;
    size_t len, xl = xlen(variant);
    struct nk_rec h;
    /* §6.2.1: no more than 2^14 bytes go into a record. */
    EXPECT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, data, NK_MAX_PLAIN + 1, 0, &self->out),
              ERR_INVALID_ARG);
    EXPECT_EQ(self->out.len, 0u);
    /* One byte more, sealed by libcrypto: authentic, and record_overflow
     * (already at the header where the AEAD adds 24 bytes; the header check
     * allows for the most any of them adds). */
    size_t n = ref_record12(variant, self->keys, 0, 0, NK_CT_APPLICATION_DATA, data, NK_MAX_PLAIN + 1, rec);
    ASSERT_EQ(n, 5 + xl + NK_MAX_PLAIN + 1 + variant->tag);
    EXPECT_EQ(nk_rec_peek_header(&nk_rec_tls12, rec, n, &h),
              n - 5 > nk_rec_tls12.max_body ? ERR_SSL_RECORD_OVERFLOW : OK);
    EXPECT_EQ(nk_rec_open(&self->rd, rec, n, &type, &plain, &len), ERR_SSL_RECORD_OVERFLOW);
    /* §6.2.3: over 2^14 + 2048 is refused before anything else. */
    memset(rec, 0, sizeof rec);
    rec[0] = NK_CT_APPLICATION_DATA, rec[1] = rec[2] = 3;
    nk_store16(rec + 3, NK_MAX_CIPHER12 + 1);
    EXPECT_EQ(nk_rec_open(&self->rd, rec, sizeof rec, &type, &plain, &len), ERR_SSL_RECORD_OVERFLOW);
    /* The header check: the longest AEAD record of 2^14 bytes passes. */
    EXPECT_EQ(nk_rec_tls12.max_body, NK_MAX_PLAIN + 8 + 16);
    nk_store16(rec + 3, nk_rec_tls12.max_body);
    EXPECT_EQ(nk_rec_peek_header(&nk_rec_tls12, rec, 5, &h), NK_REC_SHORT);
    nk_store16(rec + 3, nk_rec_tls12.max_body + 1);
    EXPECT_EQ(nk_rec_peek_header(&nk_rec_tls12, rec, 5, &h), ERR_SSL_RECORD_OVERFLOW);
    /* Too short for the explicit nonce and tag; a length the record lacks. */
    nk_store16(rec + 3, (uint16_t)(xl + variant->tag - 1));
    EXPECT_EQ(nk_rec_open(&self->rd, rec, 5 + xl + variant->tag - 1, &type, &plain, &len), ERR_SSL_BAD_RECORD_MAC);
    nk_store16(rec + 3, 40);
    EXPECT_EQ(nk_rec_open(&self->rd, rec, 5 + 39, &type, &plain, &len), ERR_SSL_PROTOCOL);
}

TEST_F(rec12, sequence_limit)
{
    self->wr.seq = self->s->aead_limit - 1;
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"last", 4, 0, &self->out), OK);
    size_t n = self->out.len;
    EXPECT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"more", 4, 0, &self->out),
              ERR_SSL_SEQUENCE_EXHAUSTED);
    EXPECT_EQ(self->out.len, n);
    /* KeyUpdate is TLS 1.3's: a TLS 1.2 key has no next key. */
    struct nk_rec_kernel kt = { 0 };
    EXPECT_EQ(nk_rec_next_key(&self->wr, &kt, NK_REC_TX, self->s, self->keys, 0), ERR_SSL_INTERNAL);
}

TEST(tls12_and_tls13_keep_to_their_suites)
{
    struct nk_rec_key k = { 0 };
    uint8_t secret[NK_MAX_HASH] = { 1 };
    EXPECT_EQ(nk_rec_tls13.install(&k, nk_suite12_by_id(0xc02b), secret, 1), ERR_SSL_INTERNAL);
    EXPECT_EQ(nk_rec_tls12.install(&k, nk_suite_by_id(0x1301), secret, 1), ERR_SSL_INTERNAL);
    EXPECT_EQ(k.ops_id, NK_REC_OPS_NONE);
    EXPECT_TRUE(nk_rec_ops_by_id[NK_REC_OPS_TLS12_AEAD] == &nk_rec_tls12);
    nk_rec_clear(&k);
}

TEST_HARNESS_MAIN
