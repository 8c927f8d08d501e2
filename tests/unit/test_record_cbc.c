/* test_record_cbc.c — record/tls12_cbc.c: TLS 1.2 CBC records (RFC 5246
 * §6.2.3.2) MAC-then-encrypt and encrypt-then-MAC (RFC 7366) for each CBC
 * suite: the bytes against libcrypto's AES-CBC and HMAC, round trips of every
 * size, and refused records: a bad padding and a bad MAC give the same
 * MSTATUS (bad_record_mac), as do truncated bodies, bodies that are not whole
 * blocks, a flipped MAC or ciphertext bit, a replay. */
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "harness.h"
#include "core/nk.h"
#include "core/crypto.h"
#include "core/mdblock.h"
#include "record/record.h"
#include "core/wire.h"

FIXTURE(cbc) {
    const struct nk_suite *s;
    const struct nk_rec_ops *ops;
    uint8_t keys[NK_REC12_KEYS];
    struct nk_rec_key wr, rd;
    struct nk_buf out;
};

FIXTURE_VARIANT(cbc) {
    uint16_t id;
    int etm;
};

#define V(name, id_, etm_) FIXTURE_VARIANT_ADD(cbc, name) { .id = id_, .etm = etm_ }
V(aes128_sha_mte, 0xc013, 0);
V(aes128_sha_etm, 0xc013, 1);
V(aes256_sha_mte, 0xc00a, 0);
V(aes256_sha_etm, 0xc00a, 1);
V(aes128_sha256_mte, 0xc027, 0);
V(aes128_sha256_etm, 0xc023, 1);
V(aes256_sha384_mte, 0xc028, 0);
V(aes256_sha384_etm, 0xc024, 1);

FIXTURE_SETUP(cbc)
{
    memset(self, 0, sizeof *self);
    self->s = nk_suite12_by_id(variant->id);
    ASSERT_NOT_NULL(self->s);
    ASSERT_EQ((int)self->s->aead, (int)NK_AES_CBC);
    self->ops = variant->etm ? &nk_rec_tls12_cbc_etm : &nk_rec_tls12_cbc;
    for (size_t i = 0; i < sizeof self->keys; i++)
        self->keys[i] = (uint8_t)(0x21 + 3 * i);
    ASSERT_EQ(self->ops->install(&self->wr, self->s, self->keys, 1), OK);
    ASSERT_EQ(self->ops->install(&self->rd, self->s, self->keys, 0), OK);
    EXPECT_EQ(self->wr.ops_id, variant->etm ? NK_REC_OPS_TLS12_CBC_ETM : NK_REC_OPS_TLS12_CBC);
}

FIXTURE_TEARDOWN(cbc)
{
    nk_rec_clear(&self->wr);
    nk_rec_clear(&self->rd);
    nk_buf_free(&self->out);
}

static const EVP_MD *mac_md(const struct nk_suite *s)
{
    return s->tag_len == 20 ? EVP_sha1() : s->tag_len == 48 ? EVP_sha384() : EVP_sha256();
}

/* HMAC(mac key, seq || type || 0x0303 || len || d[0..n)). */
static void ref_mac(const struct nk_suite *s, const uint8_t *keys, uint64_t seq, uint8_t type, size_t len,
                    const uint8_t *d, size_t n, uint8_t *out)
{
    uint8_t in[13 + 17000];
    for (int i = 0; i < 8; i++)
        in[i] = (uint8_t)(seq >> (56 - 8 * i));
    in[8] = type;
    in[9] = 3;
    in[10] = 3;
    in[11] = (uint8_t)(len >> 8);
    in[12] = (uint8_t)len;
    memcpy(in + 13, d, n);
    unsigned ol = 0;
    HMAC(mac_md(s), keys + s->key_len, s->tag_len, in, 13 + n, out, &ol);
}

static int ref_cbc(const struct nk_suite *s, const uint8_t *keys, const uint8_t *iv, uint8_t *buf, size_t n,
                   int enc)
{
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int l = 0, ok = x && EVP_CipherInit_ex(x, s->key_len == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc(), NULL,
                                            keys, iv, enc)
                    && EVP_CIPHER_CTX_set_padding(x, 0) && EVP_CipherUpdate(x, buf, &l, buf, (int)n) && l == (int)n;
    EVP_CIPHER_CTX_free(x);
    return ok ? 0 : -1;
}

/* A MAC-then-encrypt record of plaintext p[0..n) (content, MAC, padding
 * as the caller made them) under IV 0x5a.., into rec. */
static size_t mte_record(const struct nk_suite *s, const uint8_t *keys, uint8_t *p, size_t n, uint8_t *rec)
{
    size_t body = 16 + n;
    rec[0] = NK_CT_APPLICATION_DATA;
    rec[1] = rec[2] = 3;
    rec[3] = (uint8_t)(body >> 8);
    rec[4] = (uint8_t)body;
    memset(rec + 5, 0x5a, 16);
    memcpy(rec + 21, p, n);
    return ref_cbc(s, keys, rec + 5, rec + 21, n, 1) == 0 ? 5 + body : 0;
}

TEST_F(cbc, bytes_match_libcrypto)
{
    static const uint8_t msg[] = "exact bytes of a CBC record";
    const size_t n = sizeof msg - 1, m = self->s->tag_len;
    uint8_t buf[256], want[64];
    ASSERT_EQ(self->ops->seal(&self->wr, NK_CT_APPLICATION_DATA, NK_REC_V12, msg, n, 0, &self->out), OK);
    const uint8_t *rec = self->out.p, *iv = rec + 5;
    size_t body = (size_t)(rec[3] << 8 | rec[4]);
    ASSERT_EQ(self->out.len, 5 + body);
    EXPECT_EQ(rec[0], NK_CT_APPLICATION_DATA);
    EXPECT_EQ(rec[1] << 8 | rec[2], 0x0303);
    if (variant->etm) {
        /* IV || E(content || padding) || HMAC(hdr(len = IV + E), IV || E). */
        size_t enc = (n / 16 + 1) * 16;
        ASSERT_EQ(body, 16 + enc + m);
        ref_mac(self->s, self->keys, 0, NK_CT_APPLICATION_DATA, 16 + enc, iv, 16 + enc, want);
        EXPECT_MEM_EQ(iv + 16 + enc, want, m);
        memcpy(buf, iv + 16, enc);
        ASSERT_EQ(ref_cbc(self->s, self->keys, iv, buf, enc, 0), 0);
        EXPECT_MEM_EQ(buf, msg, n);
        for (size_t i = n; i < enc; i++)
            EXPECT_EQ(buf[i], enc - n - 1);
    } else {
        /* IV || E(content || HMAC(hdr(len = content), content) || padding). */
        size_t enc = ((n + m) / 16 + 1) * 16;
        ASSERT_EQ(body, 16 + enc);
        memcpy(buf, iv + 16, enc);
        ASSERT_EQ(ref_cbc(self->s, self->keys, iv, buf, enc, 0), 0);
        EXPECT_MEM_EQ(buf, msg, n);
        ref_mac(self->s, self->keys, 0, NK_CT_APPLICATION_DATA, n, msg, n, want);
        EXPECT_MEM_EQ(buf + n, want, m);
        for (size_t i = n + m; i < enc; i++)
            EXPECT_EQ(buf[i], enc - n - m - 1);
    }
    /* A second record: another IV (random per record), the next sequence number. */
    ASSERT_EQ(self->ops->seal(&self->wr, NK_CT_APPLICATION_DATA, NK_REC_V12, msg, n, 0, &self->out), OK);
    EXPECT_NE(memcmp(self->out.p + 5, self->out.p + 5 + body + 5, 16), 0);
    EXPECT_EQ(self->wr.seq, 2u);
}

TEST_F(cbc, round_trip_every_size)
{
    static uint8_t data[NK_MAX_PLAIN];
    static const size_t sizes[] = { 0, 1, 15, 16, 17, 31, 32, 100, 1000, NK_MAX_PLAIN };
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < NK_ARRAY_LEN(sizes); i++) {
        self->out.len = 0;
        ASSERT_EQ(self->ops->seal(&self->wr, NK_CT_HANDSHAKE, NK_REC_V12, data, sizes[i], 0, &self->out), OK);
        uint8_t type, *p;
        size_t n;
        ASSERT_EQ(self->ops->open(&self->rd, self->out.p, self->out.len, &type, &p, &n), OK) TH_LOG("%zu", sizes[i]);
        EXPECT_EQ(type, NK_CT_HANDSHAKE);
        ASSERT_EQ(n, sizes[i]);
        EXPECT_MEM_EQ(p, data, n);
    }
    EXPECT_EQ(self->rd.seq, NK_ARRAY_LEN(sizes));
}

/* A record of plaintext p[0..n) (content and padding as the caller made
 * them, and for MAC-then-encrypt the MAC) under IV 0x5a..; encrypt-then-MAC
 * appends HMAC over header, IV and ciphertext (RFC 7366 §3), at seq, with
 * one bit flipped when bad_mac. */
static size_t make_record(const struct nk_suite *s, const uint8_t *keys, int etm, uint64_t seq, int bad_mac,
                          uint8_t *p, size_t n, uint8_t *rec)
{
    size_t rl = mte_record(s, keys, p, n, rec);
    if (!rl || !etm)
        return rl;
    size_t body = 16 + n + s->tag_len;
    rec[3] = (uint8_t)(body >> 8);
    rec[4] = (uint8_t)body;
    ref_mac(s, keys, seq, NK_CT_APPLICATION_DATA, 16 + n, rec + 5, 16 + n, rec + rl);
    rec[rl] ^= (uint8_t)bad_mac;
    return rl + s->tag_len;
}

/* The Lucky Thirteen cases: the right MAC with a bad padding, a good
 * padding with a wrong MAC, a padding longer than the record, another
 * sequence number: one error, ERR_SSL_BAD_RECORD_MAC (bad_record_mac), in
 * both orders (RFC 7366 §3 checks the padding after the MAC). */
TEST_F(cbc, bad_padding_and_bad_mac_same_error)
{
    const int etm = variant->etm;
    const size_t m = etm ? 0 : self->s->tag_len, n = 10;
    uint8_t content[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, p[128], rec[256], *data, type;
    size_t len, enc = ((n + m) / 16 + 1) * 16, padlen = enc - n - m - 1;
    /* plaintext: content, (MAC-then-encrypt: MAC), padding; how = the case. */
    for (int how = 0; how < 5; how++) {
        memcpy(p, content, n);
        if (!etm)
            ref_mac(self->s, self->keys, how == 4 ? 7 : 0, NK_CT_APPLICATION_DATA, n, content, n, p + n);
        memset(p + n + m, (int)padlen, padlen + 1);
        if (how == 1 && padlen)
            p[n + m] ^= 0x01;          /* a padding byte off */
        else if (how == 1)
            p[enc - 1] = 4;            /* the length byte claims more */
        if (how == 2 && !etm)
            p[n] ^= 0x80;              /* the MAC off */
        if (how == 3)
            memset(p, 0xff, enc);      /* padding 255 in a short record */
        size_t rl = make_record(self->s, self->keys, etm, how == 4 ? 7 : 0, how == 2 && etm, p, enc, rec);
        ASSERT_GT(rl, 0u);
        self->rd.seq = 0;
        MSTATUS st = self->ops->open(&self->rd, rec, rl, &type, &data, &len);
        if (how == 0) {   /* the construction is right */
            ASSERT_EQ(st, OK);
            ASSERT_EQ(len, n);
            ASSERT_MEM_EQ(data, content, n);
        } else {
            EXPECT_EQ(st, ERR_SSL_BAD_RECORD_MAC) TH_LOG("case %d", how);
        }
    }
}

/* A sealed record changed: one bit of the IV, ciphertext or MAC; cut short
 * (then not whole blocks); only an IV; replayed. */
TEST_F(cbc, changed_and_truncated_records)
{
    static const uint8_t msg[40] = { 9 };
    uint8_t rec[256], *data, type;
    size_t len;
    ASSERT_EQ(self->ops->seal(&self->wr, NK_CT_APPLICATION_DATA, NK_REC_V12, msg, sizeof msg, 0, &self->out), OK);
    size_t rl = self->out.len;
    ASSERT_LE(rl, sizeof rec);
    const size_t at[] = { 5, 5 + 16, rl - 1, rl - 17 };
    for (size_t i = 0; i < NK_ARRAY_LEN(at); i++) {
        memcpy(rec, self->out.p, rl);
        rec[at[i]] ^= 0x01;
        self->rd.seq = 0;
        EXPECT_EQ(self->ops->open(&self->rd, rec, rl, &type, &data, &len), ERR_SSL_BAD_RECORD_MAC) TH_LOG("at %zu", at[i]);
    }
    /* One byte short, the header saying so. */
    memcpy(rec, self->out.p, rl - 1);
    nk_store16(rec + 3, (uint16_t)(rl - 1 - 5));
    self->rd.seq = 0;
    EXPECT_EQ(self->ops->open(&self->rd, rec, rl - 1, &type, &data, &len), ERR_SSL_BAD_RECORD_MAC);
    /* One block short: whole blocks, but the MAC or padding is gone. */
    memcpy(rec, self->out.p, rl - 16);
    nk_store16(rec + 3, (uint16_t)(rl - 16 - 5));
    self->rd.seq = 0;
    EXPECT_EQ(self->ops->open(&self->rd, rec, rl - 16, &type, &data, &len), ERR_SSL_BAD_RECORD_MAC);
    /* Only an IV. */
    memcpy(rec, self->out.p, 5 + 16);
    nk_store16(rec + 3, 16);
    self->rd.seq = 0;
    EXPECT_EQ(self->ops->open(&self->rd, rec, 5 + 16, &type, &data, &len), ERR_SSL_BAD_RECORD_MAC);
    /* The real one opens once; replayed, it is refused. */
    memcpy(rec, self->out.p, rl);
    self->rd.seq = 0;
    ASSERT_EQ(self->ops->open(&self->rd, rec, rl, &type, &data, &len), OK);
    ASSERT_EQ(len, sizeof msg);
    memcpy(rec, self->out.p, rl);
    EXPECT_EQ(self->ops->open(&self->rd, rec, rl, &type, &data, &len), ERR_SSL_BAD_RECORD_MAC);
}

/* Both orders refuse each other's records: the order is agreed, not guessed. */
TEST_F(cbc, other_order_refused)
{
    static const uint8_t msg[20] = { 3 };
    struct nk_rec_key other = { 0 };
    const struct nk_rec_ops *o = variant->etm ? &nk_rec_tls12_cbc : &nk_rec_tls12_cbc_etm;
    uint8_t *data, type;
    size_t len;
    ASSERT_EQ(o->install(&other, self->s, self->keys, 0), OK);
    ASSERT_EQ(self->ops->seal(&self->wr, NK_CT_APPLICATION_DATA, NK_REC_V12, msg, sizeof msg, 0, &self->out), OK);
    EXPECT_EQ(o->open(&other, self->out.p, self->out.len, &type, &data, &len), ERR_SSL_BAD_RECORD_MAC);
    nk_rec_clear(&other);
}

/* RFC 5246 §6.2.3: a TLSCiphertext fragment of up to 2^14 + 2048 bytes is
 * taken (2^14 of content, a MAC and up to 255 bytes of padding are more
 * than TLS 1.3's 2^14 + 256), one byte more is record_overflow; content
 * over 2^14 behind a good MAC and padding is record_overflow too (§6.2.1). */
TEST_F(cbc, longest_records)
{
    const int etm = variant->etm;
    const size_t m = etm ? 0 : self->s->tag_len;
    static uint8_t p[NK_MAX_CIPHER12], rec[NK_REC_HDR + NK_MAX_CIPHER12 + 64];
    uint8_t *data, type;
    size_t len;
    struct nk_rec h;
    EXPECT_EQ(self->ops->max_body, NK_MAX_CIPHER12);
    nk_store16(rec + 3, NK_MAX_CIPHER12);
    rec[0] = NK_CT_APPLICATION_DATA, rec[1] = rec[2] = 3;
    EXPECT_EQ(nk_rec_peek_header(self->ops, rec, NK_REC_HDR, &h), NK_REC_SHORT);
    nk_store16(rec + 3, NK_MAX_CIPHER12 + 1);
    EXPECT_EQ(nk_rec_peek_header(self->ops, rec, NK_REC_HDR, &h), ERR_SSL_RECORD_OVERFLOW);
    for (size_t content = NK_MAX_PLAIN; content <= NK_MAX_PLAIN + 16; content += 16) {
        /* the longest padding that makes whole blocks */
        size_t padlen = 255 - (content + m + 256) % 16, n = content + m + padlen + 1;
        ASSERT_EQ(n % 16, 0u);
        for (size_t i = 0; i < content; i++)
            p[i] = (uint8_t)(i * 5 + 1);
        if (!etm)
            ref_mac(self->s, self->keys, 0, NK_CT_APPLICATION_DATA, content, p, content, p + content);
        memset(p + content + m, (int)padlen, padlen + 1);
        size_t rl = make_record(self->s, self->keys, etm, 0, 0, p, n, rec);
        ASSERT_GT(rl - NK_REC_HDR, (size_t)NK_MAX_CIPHER);   /* past TLS 1.3's bound */
        ASSERT_EQ(nk_rec_peek_header(self->ops, rec, rl, &h), OK);
        self->rd.seq = 0;
        MSTATUS st = self->ops->open(&self->rd, rec, rl, &type, &data, &len);
        if (content == NK_MAX_PLAIN) {
            ASSERT_EQ(st, OK);
            ASSERT_EQ(len, content);
            ASSERT_MEM_EQ(data, p, content);
        } else {
            EXPECT_EQ(st, ERR_SSL_RECORD_OVERFLOW) TH_LOG("content %zu", content);
        }
    }
    /* 2^14 + 2048 bytes of whole blocks that are no record: bad_record_mac,
     * not record_overflow; 16 more: record_overflow. */
    for (size_t body = NK_MAX_CIPHER12; body <= NK_MAX_CIPHER12 + 16; body += 16) {
        rec[0] = NK_CT_APPLICATION_DATA, rec[1] = rec[2] = 3;
        nk_store16(rec + 3, (uint16_t)body);
        memset(rec + NK_REC_HDR, 0x77, body);
        self->rd.seq = 0;
        EXPECT_EQ(self->ops->open(&self->rd, rec, NK_REC_HDR + body, &type, &data, &len),
                  body == NK_MAX_CIPHER12 ? ERR_SSL_BAD_RECORD_MAC : ERR_SSL_RECORD_OVERFLOW);
    }
}

/* ---- MAC-then-encrypt in constant time (the Lucky Thirteen countermeasure) ---- */

/* The reference verdict for plaintext p[0..n) at sequence number seq, by
 * RFC 5246 §6.2.3.2 read plainly (branches, early exits): 1 with *len the
 * content's when the padding is well formed and (MAC-then-encrypt) the MAC
 * over the content is right; encrypt-then-MAC's MAC is the record's, checked
 * by make_record's caller. */
static int ref_open(const struct nk_suite *s, const uint8_t *keys, int etm, uint64_t seq, const uint8_t *p,
                    size_t n, size_t *len)
{
    size_t m = etm ? 0 : s->tag_len, padlen = p[n - 1];
    if (padlen + 1 + m > n)
        return 0;
    for (size_t i = 0; i <= padlen; i++)
        if (p[n - 1 - i] != padlen)
            return 0;
    *len = n - 1 - padlen - m;
    if (etm)
        return 1;
    uint8_t want[64];
    ref_mac(s, keys, seq, NK_CT_APPLICATION_DATA, *len, p, *len, want);
    return memcmp(want, p + *len, m) == 0;
}

/* Every padding length 0..255, with content before it of three sizes (so
 * the content may end in the first block or well after it), and each way
 * to be wrong: a padding byte off, the MAC off, the length byte claiming
 * more, another sequence number, random bytes. open's result is exactly the
 * reference's: OK with the same content, or ERR_SSL_BAD_RECORD_MAC. */
TEST_F(cbc, every_padding_length_against_reference)
{
    const int etm = variant->etm;
    const size_t m = etm ? 0 : self->s->tag_len;
    static uint8_t p[1024], rec[1200];
    uint8_t *data, type;
    unsigned opened = 0, refused = 0, good = 0;
    for (size_t padlen = 0; padlen < 256; padlen++) {
        for (size_t extra = 0; extra < 3; extra++) {
            /* content: whole blocks with the MAC and padding; 0..15, +32, +400 bytes */
            size_t content = (16 - (m + padlen + 1) % 16) % 16 + (extra == 1 ? 32 : extra == 2 ? 400 : 0);
            size_t n = content + m + padlen + 1;
            for (int how = 0; how < 6; how++) {
                uint64_t seq = how == 4 ? 1 : 0;
                for (size_t i = 0; i < content; i++)
                    p[i] = (uint8_t)(i * 13 + padlen);
                if (!etm)
                    ref_mac(self->s, self->keys, 0, NK_CT_APPLICATION_DATA, content, p, content, p + content);
                memset(p + content + m, (int)padlen, padlen + 1);
                if (how == 1)
                    p[n - 1 - padlen / 2 - (padlen ? 1 : 0)] ^= 0x01;   /* a padding byte (or the length) off */
                if (how == 2 && !etm)
                    p[content + padlen % m] ^= 0x40;                     /* the MAC off */
                if (how == 3)
                    p[n - 1] = (uint8_t)(padlen + 16 > 255 ? padlen - 1 : padlen + 16);   /* claims more (less) */
                if (how == 5)
                    for (size_t i = 0; i < n; i++)
                        p[i] = (uint8_t)(i * 151 + padlen * 7 + 3);  /* what a forged record decrypts to */
                size_t want_len = 0;
                /* encrypt-then-MAC: the record's own MAC is off in cases 2 and 4 */
                int ok = ref_open(self->s, self->keys, etm, seq, p, n, &want_len) && !(etm && (how == 2 || how == 4));
                size_t rl = make_record(self->s, self->keys, etm, 0, how == 2 && etm, p, n, rec);
                ASSERT_GT(rl, 0u);
                self->rd.seq = seq;
                size_t len = 0;
                MSTATUS st = self->ops->open(&self->rd, rec, rl, &type, &data, &len);
                ASSERT_EQ(st, ok ? OK : ERR_SSL_BAD_RECORD_MAC) TH_LOG("padlen %zu content %zu case %d", padlen,
                                                                       content, how);
                if (ok) {
                    ASSERT_EQ(len, want_len);
                    ASSERT_MEM_EQ(data, p, len);
                    opened++;
                    good += how == 0;
                } else {
                    refused++;
                }
            }
        }
    }
    /* Every good record opened; under MAC-then-encrypt nothing else did
     * (under encrypt-then-MAC the random bytes of case 5 may end in a
     * well-formed padding: the MAC is over the ciphertext, so they open, as
     * the reference says). */
    EXPECT_EQ(good, 768u);
    if (!etm)
        EXPECT_EQ(opened, 768u);
    EXPECT_EQ(opened + refused, 256u * 3 * 6);
}

/* MAC-then-encrypt: for a record of a given length, the hash compression
 * calls are the same whatever the padding length, good or bad padding,
 * good or bad MAC (counted in core/mdblock.c): the inner hash always runs
 * to the last block a zero-length padding would need, 4 + (13 + n - m - 1 +
 * length field) / block, key blocks and outer hash included. */
TEST(cbc_mte_compressions_independent_of_padding)
{
    static const uint16_t ids[] = { 0xc013, 0xc027, 0xc028 };   /* SHA-1, SHA-256, SHA-384 */
    static const size_t sizes[] = { 32 + 48, 272, 1024, NK_MAX_PLAIN };
    static uint8_t keys[NK_REC12_KEYS], p[NK_MAX_PLAIN + 512], rec[NK_MAX_PLAIN + 600];
    for (size_t i = 0; i < sizeof keys; i++)
        keys[i] = (uint8_t)(0x21 + 3 * i);
    for (size_t si = 0; si < NK_ARRAY_LEN(ids); si++) {
        const struct nk_suite *s = nk_suite12_by_id(ids[si]);
        ASSERT_NOT_NULL(s);
        size_t m = s->tag_len, bl = m == 48 ? 128 : 64, lf = m == 48 ? 16 : 8;
        struct nk_rec_key rd = { 0 };
        ASSERT_EQ(nk_rec_tls12_cbc.install(&rd, s, keys, 0), OK);
        for (size_t zi = 0; zi < NK_ARRAY_LEN(sizes); zi++) {
            size_t n = sizes[zi], want = 4 + (13 + n - m - 1 + lf) / bl;
            unsigned runs = 0;
            for (size_t padlen = 0; padlen < 256 && padlen + m + 1 <= n; padlen++) {
                for (int how = 0; how < 3; how++) {   /* good, padding off, MAC off */
                    size_t content = n - m - padlen - 1;
                    memset(p, 0x33, content);
                    ref_mac(s, keys, 0, NK_CT_APPLICATION_DATA, content, p, content, p + content);
                    memset(p + content + m, (int)padlen, padlen + 1);
                    if (how == 1 && padlen)
                        p[content + m] ^= 0x02;
                    if (how == 2)
                        p[content] ^= 0x01;
                    size_t rl = mte_record(s, keys, p, n, rec), len;
                    ASSERT_GT(rl, 0u);
                    uint8_t *data, type;
                    rd.seq = 0;
                    uint64_t before = nk_mdb_compressions();
                    MSTATUS st = nk_rec_tls12_cbc.open(&rd, rec, rl, &type, &data, &len);
                    uint64_t used = nk_mdb_compressions() - before;
                    ASSERT_EQ(st, how == 0 || (how == 1 && !padlen) ? OK : ERR_SSL_BAD_RECORD_MAC)
                        TH_LOG("suite %04x n %zu padlen %zu case %d", ids[si], n, padlen, how);
                    ASSERT_EQ(used, (uint64_t)want) TH_LOG("suite %04x n %zu padlen %zu case %d", ids[si], n,
                                                           padlen, how);
                    runs++;
                }
            }
            EXPECT_GT(runs, 3u);
        }
        nk_rec_clear(&rd);
    }
}

TEST_HARNESS_MAIN
