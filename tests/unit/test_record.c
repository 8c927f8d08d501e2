/* test_record.c — the record layer's ops table directly, byte for byte: header
 * build and parse per content type, the checks on a peer's header with their
 * error codes, the frame length of partial input, the record walker, a partly
 * sent record's rest; per suite, TLS 1.3 seal and open (against libcrypto),
 * tampering; the next-key call in software and with the kernel. (TLS 1.2
 * AEAD records: test_record12.c.) */
#include <openssl/evp.h>

#include "harness.h"
#include "core/nk.h"
#include "core/crypto.h"
#include "core/wire.h"
#include "record/record.h"

static const uint8_t ctypes[] = {
    NK_CT_CHANGE_CIPHER_SPEC, NK_CT_ALERT, NK_CT_HANDSHAKE, NK_CT_APPLICATION_DATA,
};

/* ---- TLSPlaintext framing ---- */

TEST(plain_header_per_content_type)
{
    for (size_t i = 0; i < sizeof ctypes; i++) {
        struct nk_buf out = { 0 };
        const uint8_t want[] = { ctypes[i], 3, 3, 0, 3, 'a', 'b', 'c' };
        ASSERT_EQ(nk_rec_write(NULL, ctypes[i], NK_REC_V12, (const uint8_t *)"abc", 3, &out), OK);
        ASSERT_EQ(out.len, sizeof want);
        EXPECT_MEM_EQ(out.p, want, sizeof want) TH_LOG("type %u", ctypes[i]);

        struct nk_rec rec;
        ASSERT_EQ(nk_rec_peek_header(&nk_rec_plain, out.p, out.len, &rec), OK);
        EXPECT_EQ(rec.type, ctypes[i]);
        EXPECT_EQ(rec.version, NK_REC_V12);
        EXPECT_EQ(rec.body_len, 3u);
        EXPECT_EQ(rec.len, 8u);
        EXPECT_TRUE(rec.p == out.p);
        EXPECT_TRUE(rec.body == out.p + 5);
        nk_buf_free(&out);
    }
}

TEST(plain_header_version_and_empty_body)
{
    /* The first ClientHello's 0x0301 (RFC 8446 §5.1), and a record with no body. */
    struct nk_buf out = { 0 };
    const uint8_t want[] = { 22, 3, 1, 0, 0 };
    ASSERT_EQ(nk_rec_write(NULL, NK_CT_HANDSHAKE, NK_REC_V10, NULL, 0, &out), OK);
    ASSERT_EQ(out.len, sizeof want);
    EXPECT_MEM_EQ(out.p, want, sizeof want);
    struct nk_rec rec;
    ASSERT_EQ(nk_rec_peek_header(&nk_rec_plain, out.p, out.len, &rec), OK);
    EXPECT_EQ(rec.version, NK_REC_V10);
    EXPECT_EQ(rec.body_len, 0u);
    EXPECT_EQ(rec.len, 5u);
    nk_buf_free(&out);
}

TEST(plain_write_appends_and_refuses_over_limit)
{
    static uint8_t big[NK_MAX_PLAIN + 1];
    struct nk_buf out = { 0 };
    ASSERT_EQ(nk_rec_write(NULL, NK_CT_ALERT, NK_REC_V12, (const uint8_t *)"\x01\x00", 2, &out), OK);
    ASSERT_EQ(nk_rec_write(NULL, NK_CT_APPLICATION_DATA, NK_REC_V12, big, NK_MAX_PLAIN, &out), OK);
    ASSERT_EQ(out.len, 7u + 5 + NK_MAX_PLAIN);
    const uint8_t h2[] = { 23, 3, 3, 0x40, 0x00 };
    EXPECT_MEM_EQ(out.p + 7, h2, sizeof h2);
    /* §5.1: TLSPlaintext.length MUST NOT exceed 2^14. */
    EXPECT_EQ(nk_rec_write(NULL, NK_CT_APPLICATION_DATA, NK_REC_V12, big, NK_MAX_PLAIN + 1, &out),
              ERR_INVALID_ARG);
    EXPECT_EQ(out.len, 7u + 5 + NK_MAX_PLAIN);
    nk_buf_free(&out);
}

TEST(ccs_record)
{
    struct nk_buf out = { 0 };
    const uint8_t want[] = { 20, 3, 3, 0, 1, 1 };
    ASSERT_EQ(nk_rec_write_ccs(&out), OK);
    ASSERT_EQ(out.len, sizeof want);
    EXPECT_MEM_EQ(out.p, want, sizeof want);
    struct nk_rec rec;
    ASSERT_EQ(nk_rec_peek_header(&nk_rec_plain, out.p, out.len, &rec), OK);
    EXPECT_TRUE(nk_rec_is_ccs(&rec));
    nk_buf_free(&out);

    /* Anything but the single byte 0x01 under type 20 is not one. */
    uint8_t two[] = { 20, 3, 3, 0, 2, 1, 1 }, val[] = { 20, 3, 3, 0, 1, 2 }, alert[] = { 21, 3, 3, 0, 1, 1 },
            empty[] = { 20, 3, 3, 0, 0 };
    uint8_t *bad[] = { two, val, alert, empty };
    size_t len[] = { sizeof two, sizeof val, sizeof alert, sizeof empty };
    for (size_t i = 0; i < NK_ARRAY_LEN(bad); i++) {
        ASSERT_EQ(nk_rec_peek_header(&nk_rec_plain, bad[i], len[i], &rec), OK);
        EXPECT_FALSE(nk_rec_is_ccs(&rec)) TH_LOG("case %zu", i);
    }
}

/* ---- a peer's header ---- */

TEST(peek_refuses_non_tls_first_byte)
{
    uint8_t h[5] = { 0, 3, 3, 0, 1 };
    struct nk_rec rec;
    /* §5.1: content types 20..24 only; "GET /" is plain HTTP. */
    const uint8_t bad[] = { 0, 1, 19, 25, 0x47, 0x80, 0xff };
    for (size_t i = 0; i < sizeof bad; i++) {
        h[0] = bad[i];
        EXPECT_EQ(nk_rec_peek_header(&nk_rec_plain, h, sizeof h, &rec), ERR_SSL_NOT_TLS) TH_LOG("%u", bad[i]);
        EXPECT_EQ(nk_rec_peek_header(&nk_rec_tls13, h, sizeof h, &rec), ERR_SSL_NOT_TLS) TH_LOG("%u", bad[i]);
    }
    /* 24 (heartbeat) passes the framing: the engine takes its content only
     * where heartbeats were agreed (handshake/heartbeat.c). */
    const uint8_t good[] = { 20, 21, 22, 23, 24 };
    for (size_t i = 0; i < sizeof good; i++) {
        h[0] = good[i];
        EXPECT_EQ(nk_rec_peek_header(&nk_rec_plain, h, sizeof h, &rec), NK_REC_SHORT) TH_LOG("%u", good[i]);
        EXPECT_EQ(rec.type, good[i]);
    }
}

TEST(peek_refuses_major_version)
{
    uint8_t h[5] = { 22, 3, 3, 0, 1 };
    struct nk_rec rec;
    const uint8_t majors[] = { 0, 2, 4, 0xfe };
    for (size_t i = 0; i < sizeof majors; i++) {
        h[1] = majors[i];
        EXPECT_EQ(nk_rec_peek_header(&nk_rec_plain, h, sizeof h, &rec), ERR_SSL_NOT_TLS) TH_LOG("%u", majors[i]);
    }
    /* §5.1: the minor version is ignored. */
    h[1] = 3;
    for (unsigned minor = 0; minor < 256; minor += 51) {
        h[2] = (uint8_t)minor;
        EXPECT_EQ(nk_rec_peek_header(&nk_rec_plain, h, sizeof h, &rec), NK_REC_SHORT) TH_LOG("%u", minor);
        EXPECT_EQ(rec.version, 0x300u | minor);
    }
}

TEST(peek_length_limits_per_protection)
{
    uint8_t h[5] = { 23, 3, 3, 0, 0 };
    struct nk_rec rec;
    /* §5.1: plaintext up to 2^14; §5.2: ciphertext up to 2^14 + 256. */
    nk_store16(h + 3, NK_MAX_PLAIN);
    EXPECT_EQ(nk_rec_peek_header(&nk_rec_plain, h, sizeof h, &rec), NK_REC_SHORT);
    EXPECT_EQ(rec.len, 5u + NK_MAX_PLAIN);
    nk_store16(h + 3, NK_MAX_PLAIN + 1);
    EXPECT_EQ(nk_rec_peek_header(&nk_rec_plain, h, sizeof h, &rec), ERR_SSL_RECORD_OVERFLOW);
    EXPECT_EQ(nk_rec_peek_header(&nk_rec_tls13, h, sizeof h, &rec), NK_REC_SHORT);
    nk_store16(h + 3, NK_MAX_CIPHER);
    EXPECT_EQ(nk_rec_peek_header(&nk_rec_tls13, h, sizeof h, &rec), NK_REC_SHORT);
    nk_store16(h + 3, NK_MAX_CIPHER + 1);
    EXPECT_EQ(nk_rec_peek_header(&nk_rec_tls13, h, sizeof h, &rec), ERR_SSL_RECORD_OVERFLOW);
    nk_store16(h + 3, 0xffff);
    EXPECT_EQ(nk_rec_peek_header(&nk_rec_tls13, h, sizeof h, &rec), ERR_SSL_RECORD_OVERFLOW);
    EXPECT_EQ(nk_rec_plain.max_body, NK_MAX_PLAIN);
    EXPECT_EQ(nk_rec_tls13.max_body, NK_MAX_CIPHER);
    /* The receive buffer: TLS 1.3's bound for every protection but CBC,
     * whose records may be 2^14 + 2048 (RFC 5246 §6.2.3). */
    EXPECT_EQ(nk_rec_room(&nk_rec_plain), (size_t)NK_MAX_RECORD);
    EXPECT_EQ(nk_rec_room(&nk_rec_tls13), (size_t)NK_MAX_RECORD);
    EXPECT_EQ(nk_rec_room(&nk_rec_tls12), (size_t)NK_MAX_RECORD);
    EXPECT_EQ(nk_rec_room(&nk_rec_tls12_cbc), (size_t)(5 + NK_MAX_CIPHER12));
    EXPECT_EQ(nk_rec_room(&nk_rec_tls12_cbc_etm), (size_t)(5 + NK_MAX_CIPHER12));
}

TEST(peek_partial_input)
{
    /* Nothing is judged before the whole header is in; then the header is,
     * before its body. */
    uint8_t rec_bytes[5 + 300] = { 22, 3, 3, 0x01, 0x2c };
    uint8_t bad[5] = { 0x47, 0x45, 0x54, 0x20, 0x2f };   /* "GET /" */
    struct nk_rec rec;
    for (size_t n = 0; n < 5; n++) {
        EXPECT_EQ(nk_rec_peek_header(&nk_rec_plain, rec_bytes, n, &rec), NK_REC_SHORT) TH_LOG("%zu", n);
        EXPECT_EQ(nk_rec_peek_header(&nk_rec_plain, bad, n, &rec), NK_REC_SHORT) TH_LOG("%zu", n);
    }
    EXPECT_EQ(nk_rec_peek_header(&nk_rec_plain, bad, 5, &rec), ERR_SSL_NOT_TLS);
    for (size_t n = 5; n < sizeof rec_bytes; n += 37) {
        EXPECT_EQ(nk_rec_peek_header(&nk_rec_plain, rec_bytes, n, &rec), NK_REC_SHORT) TH_LOG("%zu", n);
        EXPECT_EQ(rec.len, sizeof rec_bytes);
    }
    EXPECT_EQ(nk_rec_peek_header(&nk_rec_plain, rec_bytes, sizeof rec_bytes, &rec), OK);
    /* Bytes after the record belong to the next one. */
    uint8_t more[sizeof rec_bytes + 3];
    memcpy(more, rec_bytes, sizeof rec_bytes);
    EXPECT_EQ(nk_rec_peek_header(&nk_rec_plain, more, sizeof more, &rec), OK);
    EXPECT_EQ(rec.len, sizeof rec_bytes);
    EXPECT_EQ(rec.body_len, 300u);
}

TEST(frame_len_on_partial_input)
{
    uint8_t r[5 + 300] = { 23, 3, 3, 0x01, 0x2c };
    for (size_t n = 0; n < 5; n++)
        EXPECT_EQ(nk_rec_frame_len(&nk_rec_plain, r, n), 5u) TH_LOG("%zu", n);
    for (size_t n = 5; n <= sizeof r; n++)
        ASSERT_EQ(nk_rec_frame_len(&nk_rec_plain, r, n), sizeof r) TH_LOG("%zu", n);
    /* The body's length as the header says it, even past any limit. */
    const uint8_t big[5] = { 23, 3, 3, 0xff, 0xff };
    EXPECT_EQ(nk_rec_frame_len(&nk_rec_tls13, big, 5), 5u + 0xffff);
    const uint8_t empty[5] = { 21, 3, 3, 0, 0 };
    EXPECT_EQ(nk_rec_frame_len(&nk_rec_plain, empty, 5), 5u);
}

/* ---- walking records ---- */

/* Three records: handshake "abc", alert {1, 0}, empty application data. */
static size_t three_records(uint8_t *b)
{
    static const uint8_t r[] = { 22, 3, 3, 0, 3, 'a', 'b', 'c', 21, 3, 3, 0, 2, 1, 0, 23, 3, 3, 0, 0 };
    memcpy(b, r, sizeof r);
    return sizeof r;
}

TEST(walk_several_records)
{
    uint8_t b[32];
    size_t n = three_records(b);
    struct nk_rec_walk w;
    struct nk_rec rec;
    nk_rec_walk_init(&w, &nk_rec_plain, b, n);
    ASSERT_EQ(nk_rec_walk_next(&w, &rec), OK);
    EXPECT_EQ(rec.type, NK_CT_HANDSHAKE);
    EXPECT_EQ(rec.body_len, 3u);
    EXPECT_MEM_EQ(rec.body, "abc", 3);
    EXPECT_TRUE(rec.p == b);
    EXPECT_EQ(rec.len, 8u);
    ASSERT_EQ(nk_rec_walk_next(&w, &rec), OK);
    EXPECT_EQ(rec.type, NK_CT_ALERT);
    EXPECT_EQ(rec.body_len, 2u);
    EXPECT_MEM_EQ(rec.body, "\x01\x00", 2);
    EXPECT_TRUE(rec.p == b + 8);
    ASSERT_EQ(nk_rec_walk_next(&w, &rec), OK);
    EXPECT_EQ(rec.type, NK_CT_APPLICATION_DATA);
    EXPECT_EQ(rec.body_len, 0u);
    EXPECT_TRUE(rec.p == b + 15);
    EXPECT_EQ(nk_rec_walk_next(&w, &rec), NK_REC_END);
    EXPECT_EQ(nk_rec_walk_next(&w, &rec), NK_REC_END);

    nk_rec_walk_init(&w, &nk_rec_plain, b, 0);
    EXPECT_EQ(nk_rec_walk_next(&w, &rec), NK_REC_END);
}

TEST(walk_truncated)
{
    uint8_t b[32];
    size_t n = three_records(b);
    struct nk_rec_walk w;
    struct nk_rec rec;
    /* Cut inside the second record's body, then inside its header: the walk
     * gives the first and stays at the second. */
    const size_t cuts[] = { 14, 9, 8 + 4 };
    for (size_t i = 0; i < NK_ARRAY_LEN(cuts); i++) {
        nk_rec_walk_init(&w, &nk_rec_plain, b, cuts[i]);
        ASSERT_EQ(nk_rec_walk_next(&w, &rec), OK);
        EXPECT_EQ(rec.type, NK_CT_HANDSHAKE);
        EXPECT_EQ(nk_rec_walk_next(&w, &rec), NK_REC_SHORT) TH_LOG("cut %zu", cuts[i]);
        EXPECT_EQ(nk_rec_walk_next(&w, &rec), NK_REC_SHORT);
        EXPECT_TRUE(w.p == b + 8);
        EXPECT_EQ(w.left, cuts[i] - 8);
    }
    /* Cut before the first record ends: nothing whole at all. */
    nk_rec_walk_init(&w, &nk_rec_plain, b, 7);
    EXPECT_EQ(nk_rec_walk_next(&w, &rec), NK_REC_SHORT);
    EXPECT_TRUE(w.p == b);
    /* The whole buffer less its last byte: the empty record's header is cut. */
    nk_rec_walk_init(&w, &nk_rec_plain, b, n - 1);
    ASSERT_EQ(nk_rec_walk_next(&w, &rec), OK);
    ASSERT_EQ(nk_rec_walk_next(&w, &rec), OK);
    EXPECT_EQ(nk_rec_walk_next(&w, &rec), NK_REC_SHORT);
}

TEST(drop_front_keeps_type)
{
    uint8_t b[] = { 21, 3, 3, 0, 8, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h' };
    struct nk_rec rec;
    ASSERT_EQ(nk_rec_peek_header(&nk_rec_plain, b, sizeof b, &rec), OK);
    /* Three body bytes were sent: the rest is a record of five. */
    uint8_t *rest = nk_rec_drop_front(&nk_rec_plain, &rec, 3);
    ASSERT_TRUE(rest == b + 3);
    const uint8_t want[] = { 21, 3, 3, 0, 5, 'd', 'e', 'f', 'g', 'h' };
    EXPECT_MEM_EQ(rest, want, sizeof want);
    /* Fewer sent bytes than a header: the new header overlaps the old. */
    uint8_t c[] = { 22, 3, 3, 0, 4, 'w', 'x', 'y', 'z' };
    ASSERT_EQ(nk_rec_peek_header(&nk_rec_plain, c, sizeof c, &rec), OK);
    rest = nk_rec_drop_front(&nk_rec_plain, &rec, 1);
    const uint8_t want_c[] = { 22, 3, 3, 0, 3, 'x', 'y', 'z' };
    EXPECT_MEM_EQ(rest, want_c, sizeof want_c);
}

/* ---- the kernel as a protection ---- */

TEST(kernel_rekey_pending)
{
    static const uint8_t secret[32] = { 1, 2, 3 };
    const struct nk_suite *s = nk_suite_by_id(0x1301);
    struct nk_rec_kernel kt = { 0 };
    struct nk_rec_key k = { 0 };
    ASSERT_NOT_NULL(s);

    /* Software both ways: nothing pending, any time. */
    EXPECT_EQ(nk_rec_can_rekey(&kt, NK_REC_TX), OK);
    EXPECT_EQ(nk_rec_can_rekey(&kt, NK_REC_RX), OK);
    /* No key object to install into: keys go only when the kernel has them. */
    EXPECT_EQ(nk_rec_next_key(NULL, &kt, NK_REC_TX, s, secret, 0), ERR_SSL_INTERNAL);
    EXPECT_EQ(nk_rec_next_key(&k, &kt, NK_REC_TX, s, secret, 0), ERR_SSL_INTERNAL);   /* plaintext */

    /* Kernel TX that cannot take a new key: refused up front. */
    kt.ktls_tx = 1;
    EXPECT_EQ(nk_rec_can_rekey(&kt, NK_REC_TX), ERR_SSL_KTLS_NO_REKEY);
    EXPECT_EQ(nk_rec_can_rekey(&kt, NK_REC_RX), OK);
    /* One that can: the key waits for the queued bytes; the next waits for it. */
    kt.ktls_tx_rekey = 1;
    EXPECT_EQ(nk_rec_can_rekey(&kt, NK_REC_TX), OK);
    EXPECT_EQ(nk_rec_next_key(NULL, &kt, NK_REC_TX, s, secret, 1234), OK);
    EXPECT_TRUE(kt.tx_rekey_pending);
    EXPECT_EQ(kt.tx_rekey_at, 1234u);
    EXPECT_EQ(nk_rec_can_rekey(&kt, NK_REC_TX), NK_REC_KEY_PENDING);
    EXPECT_FALSE(kt.rx_rekey_pending);

    /* Kernel RX: the key waits for the next read. */
    kt.ktls_rx = 1;
    EXPECT_EQ(nk_rec_next_key(NULL, &kt, NK_REC_RX, s, secret, 0), OK);
    EXPECT_TRUE(kt.rx_rekey_pending);
    EXPECT_EQ(sizeof kt, 5u);
}

/* ---- TLS 1.3 protection, per suite ---- */

FIXTURE(rec13) {
    const struct nk_suite *s;
    uint8_t secret[NK_MAX_HASH];
    struct nk_rec_key wr, rd;
    struct nk_buf out;
};

FIXTURE_VARIANT(rec13) {
    uint16_t id;
    const char *evp_name;
    int ccm;
    int tag;
};

FIXTURE_VARIANT_ADD(rec13, aes128gcm) { .id = 0x1301, .evp_name = "AES-128-GCM", .tag = 16 };
FIXTURE_VARIANT_ADD(rec13, aes256gcm) { .id = 0x1302, .evp_name = "AES-256-GCM", .tag = 16 };
FIXTURE_VARIANT_ADD(rec13, chacha20) { .id = 0x1303, .evp_name = "ChaCha20-Poly1305", .tag = 16 };
FIXTURE_VARIANT_ADD(rec13, aes128ccm) { .id = 0x1304, .evp_name = "AES-128-CCM", .ccm = 1, .tag = 16 };
/* RFC 8446 Appendix B.4: the same AEAD with an 8-byte tag. */
FIXTURE_VARIANT_ADD(rec13, aes128ccm8) { .id = 0x1305, .evp_name = "AES-128-CCM", .ccm = 1, .tag = 8 };

FIXTURE_SETUP(rec13)
{
    memset(self, 0, sizeof *self);
    self->s = nk_suite_by_id(variant->id);
    ASSERT_NOT_NULL(self->s);
    for (size_t i = 0; i < sizeof self->secret; i++)
        self->secret[i] = (uint8_t)(0x31 + 7 * i);
    ASSERT_EQ(nk_rec_tls13.install(&self->wr, self->s, self->secret, 1), OK);
    ASSERT_EQ(nk_rec_tls13.install(&self->rd, self->s, self->secret, 0), OK);
}

FIXTURE_TEARDOWN(rec13)
{
    nk_rec_clear(&self->wr);
    nk_rec_clear(&self->rd);
    nk_buf_free(&self->out);
}

/* The record libcrypto makes of inner (content, type, padding) under k's key
 * and IV at sequence number seq: header, ciphertext, tag. */
static int ref_record(const char *evp_name, int ccm, int tag, const struct nk_rec_key *k, uint64_t seq,
                      const uint8_t *inner, size_t n, uint8_t *rec)
{
    uint8_t nonce[NK_AEAD_IV];
    int len, ok;
    memcpy(nonce, k->iv, NK_AEAD_IV);
    for (int i = 0; i < 8; i++)
        nonce[NK_AEAD_IV - 1 - i] ^= (uint8_t)(seq >> (8 * i));
    rec[0] = 23;
    rec[1] = rec[2] = 3;
    nk_store16(rec + 3, (uint16_t)(n + tag));
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, evp_name, NULL);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    ok = c && x && EVP_EncryptInit_ex(x, c, NULL, NULL, NULL)
         && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, NK_AEAD_IV, NULL)
         && (!ccm || EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, tag, NULL))
         && EVP_EncryptInit_ex(x, NULL, NULL, k->key, nonce)
         && (!ccm || EVP_EncryptUpdate(x, NULL, &len, NULL, (int)n))
         && EVP_EncryptUpdate(x, NULL, &len, rec, 5)
         && EVP_EncryptUpdate(x, rec + 5, &len, inner, (int)n)
         && EVP_EncryptFinal_ex(x, rec + 5 + n, &len)
         && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, tag, rec + 5 + n);
    EVP_CIPHER_CTX_free(x);
    EVP_CIPHER_free(c);
    return ok ? 0 : -1;
}

TEST_F(rec13, ops_of_installed_key)
{
    EXPECT_TRUE(nk_rec_ops_of(&self->wr) == &nk_rec_tls13);
    EXPECT_TRUE(nk_rec_ops_of(NULL) == &nk_rec_plain);
    struct nk_rec_key none = { 0 };
    EXPECT_TRUE(nk_rec_ops_of(&none) == &nk_rec_plain);
    EXPECT_EQ(nk_rec_tls13.hdr_len, 5u);
    EXPECT_EQ(nk_rec_tls13.overhead, NK_AEAD_TAG + 1u);
    EXPECT_EQ(self->wr.seq, 0u);
}

TEST_F(rec13, seal_matches_libcrypto)
{
    /* Two records, the second padded: exact bytes, sequence numbers 0 and 1. */
    static const uint8_t msg[] = "exact bytes of a record";
    const size_t n = sizeof msg - 1, pad = 7;
    uint8_t inner[64], ref[128];
    ASSERT_EQ(nk_rec_tls13.seal(&self->wr, NK_CT_HANDSHAKE, NK_REC_V12, msg, n, 0, &self->out), OK);
    ASSERT_EQ(nk_rec_tls13.seal(&self->wr, NK_CT_APPLICATION_DATA, NK_REC_V10, msg, n, pad, &self->out), OK);
    EXPECT_EQ(self->wr.seq, 2u);

    memcpy(inner, msg, n);
    inner[n] = NK_CT_HANDSHAKE;
    ASSERT_EQ(ref_record(variant->evp_name, variant->ccm, variant->tag, &self->wr, 0, inner, n + 1, ref), 0);
    size_t first = 5 + n + 1 + variant->tag;
    ASSERT_EQ(self->out.len, first + first + pad);
    EXPECT_MEM_EQ(self->out.p, ref, first);

    /* The version asked for does not matter: §5.2 says 0x0303. */
    inner[n] = NK_CT_APPLICATION_DATA;
    memset(inner + n + 1, 0, pad);
    ASSERT_EQ(ref_record(variant->evp_name, variant->ccm, variant->tag, &self->wr, 1, inner, n + 1 + pad, ref), 0);
    EXPECT_MEM_EQ(self->out.p + first, ref, first + pad);
}

TEST_F(rec13, seal_open_round_trip)
{
    static uint8_t data[NK_MAX_PLAIN];
    const size_t sizes[] = { 0, 1, 100, 4096, NK_MAX_PLAIN };
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 13 + 1);
    for (size_t i = 0; i < NK_ARRAY_LEN(sizes); i++) {
        for (size_t t = 0; t < sizeof ctypes; t++) {
            self->out.len = 0;
            ASSERT_EQ(nk_rec_write(&self->wr, ctypes[t], NK_REC_V12, data, sizes[i], &self->out), OK);
            struct nk_rec rec;
            ASSERT_EQ(nk_rec_peek_header(&nk_rec_tls13, self->out.p, self->out.len, &rec), OK);
            EXPECT_EQ(rec.type, NK_CT_APPLICATION_DATA);
            EXPECT_EQ(rec.body_len, sizes[i] + variant->tag + 1);
            uint8_t type = 0, *plain;
            size_t len;
            ASSERT_EQ(nk_rec_tls13.open(&self->rd, rec.p, rec.len, &type, &plain, &len), OK);
            EXPECT_EQ(type, ctypes[t]);
            ASSERT_EQ(len, sizes[i]);
            EXPECT_MEM_EQ(plain, data, len) TH_LOG("size %zu type %u", sizes[i], ctypes[t]);
        }
    }
    EXPECT_EQ(self->rd.seq, self->wr.seq);
}

TEST_F(rec13, tampered_tag_and_body)
{
    uint8_t type, *plain;
    size_t len;
    for (int where = 0; where < 3; where++) {
        self->out.len = 0;
        ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"tamper", 6, 0, &self->out), OK);
        uint8_t *p = self->out.p;
        size_t n = self->out.len;
        /* The last byte of the tag, its first byte, a byte of the body. */
        size_t at = where == 0 ? n - 1 : where == 1 ? n - variant->tag : 5;
        p[at] ^= 0x01;
        EXPECT_EQ(nk_rec_open(&self->rd, p, n, &type, &plain, &len), ERR_SSL_BAD_RECORD_MAC) TH_LOG("at %zu", at);
        /* A failed record moves no sequence number: the next one still opens. */
        EXPECT_EQ(self->rd.seq, (uint64_t)where);
        self->out.len = 0;
        self->wr.seq = self->rd.seq;
        ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"ok", 2, 0, &self->out), OK);
        ASSERT_EQ(nk_rec_open(&self->rd, self->out.p, self->out.len, &type, &plain, &len), OK);
        EXPECT_MEM_EQ(plain, "ok", 2);
    }
}

TEST_F(rec13, next_key_in_software)
{
    /* The software protection takes the next key now: the same bytes as a key
     * installed from that secret, from sequence number 0. */
    struct nk_rec_kernel kt = { 0 };
    struct nk_rec_key fresh = { 0 };
    uint8_t next[NK_MAX_HASH];
    memcpy(next, self->secret, sizeof next);
    next[0] ^= 0x5a;
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"old", 3, 0, &self->out), OK);
    ASSERT_EQ(nk_rec_next_key(&self->wr, &kt, NK_REC_TX, self->s, next, 0), OK);
    EXPECT_EQ(self->wr.seq, 0u);
    ASSERT_EQ(nk_rec_install(&fresh, self->s, next, 1), OK);
    struct nk_buf a = { 0 }, b = { 0 };
    ASSERT_EQ(nk_rec_seal(&self->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"new", 3, 0, &a), OK);
    ASSERT_EQ(nk_rec_seal(&fresh, NK_CT_APPLICATION_DATA, (const uint8_t *)"new", 3, 0, &b), OK);
    ASSERT_EQ(a.len, b.len);
    EXPECT_MEM_EQ(a.p, b.p, a.len);
    EXPECT_FALSE(kt.tx_rekey_pending);
    nk_buf_free(&a);
    nk_buf_free(&b);
    nk_rec_clear(&fresh);
}

TEST_HARNESS_MAIN
