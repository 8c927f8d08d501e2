/* test_dtls_record.c — DTLS 1.2 records (record/dtls12.c), byte for byte:
 * the 13-byte header of keyless records, 48-bit sequence numbers and their
 * exhaustion, epochs; per TLS 1.2 AEAD suite, seal against libcrypto with the
 * nonce and additional data built here from the RFCs, open, several records
 * per datagram, tampering, replays; the anti-replay window's arithmetic at
 * its edges; the datagram walker's drops (truncated, bad type, version,
 * length) and nk_dtls_open's (epoch, replay, length, MAC), each counted. */
#include <openssl/evp.h>

#include "harness.h"
#include "core/nk.h"
#include "core/crypto.h"
#include "core/wire.h"
#include "record/record.h"
#include "record/dtls12.h"
#include "aead12_ref.h"

/* Walk a datagram, opening each record under k; the results in order. */
static size_t open_all(struct nk_rec_key *k, struct nk_dtls_in *in, uint8_t *dg, size_t n, MSTATUS *res,
                       size_t max)
{
    struct nk_rec_walk w;
    struct nk_rec rec;
    size_t i = 0;
    MSTATUS st;
    nk_rec_walk_init(&w, &nk_rec_dtls12, dg, n);
    while (i < max && (st = nk_dtls_walk_next(&w, in, &rec)) != NK_REC_END) {
        uint8_t type, *data;
        size_t len;
        res[i++] = st == OK ? nk_dtls_open(k, in, &rec, &type, &data, &len) : st;
    }
    return i;
}

/* ---- keyless records (epoch 0) ---- */

TEST(plain_header_exact_bytes)
{
    struct nk_rec_key k;
    struct nk_buf out = { 0 };
    nk_dtls_start(&k);
    EXPECT_TRUE(nk_rec_ops_of(&k) == &nk_rec_dtls12);
    EXPECT_TRUE(nk_rec_ops_by_id[NK_REC_OPS_DTLS12] == &nk_rec_dtls12);
    EXPECT_EQ(nk_rec_dtls12.hdr_len, 13u);
    /* A first ClientHello may say DTLS 1.0; everything else says 1.2. */
    ASSERT_EQ(nk_rec_write(&k, NK_CT_HANDSHAKE, NK_DTLS_V10, (const uint8_t *)"abc", 3, &out), OK);
    ASSERT_EQ(nk_rec_write(&k, NK_CT_ALERT, NK_REC_V12, (const uint8_t *)"\x02\x28", 2, &out), OK);
    ASSERT_EQ(nk_rec_seal(&k, NK_CT_APPLICATION_DATA, NULL, 0, 0, &out), OK);
    const uint8_t want[] = {
        22, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c',
        21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0x02, 0x28,
        23, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0,
    };
    ASSERT_EQ(out.len, sizeof want);
    EXPECT_MEM_EQ(out.p, want, sizeof want);
    EXPECT_EQ(k.seq, 3u);
    EXPECT_EQ(k.epoch, 0u);
    nk_buf_free(&out);
}

TEST(header_parse_epoch_and_48_bit_sequence)
{
    uint8_t rec[] = { 23, 0xfe, 0xfd, 0x02, 0x03, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0, 2, 'h', 'i' };
    struct nk_rec_walk w;
    struct nk_rec r;
    struct nk_dtls_in in = { 0 };
    nk_rec_walk_init(&w, &nk_rec_dtls12, rec, sizeof rec);
    ASSERT_EQ(nk_dtls_walk_next(&w, &in, &r), OK);
    EXPECT_EQ(r.type, 23);
    EXPECT_EQ(r.version, NK_DTLS_V12);
    EXPECT_EQ(r.epoch, 0x0203);
    EXPECT_EQ(r.seq, 0x123456789abcull);
    EXPECT_EQ(r.body_len, 2u);
    EXPECT_EQ(r.len, sizeof rec);
    EXPECT_TRUE(r.body == rec + 13);
    EXPECT_EQ(nk_dtls_walk_next(&w, &in, &r), NK_REC_END);
    /* The frame length of a datagram's first record. */
    EXPECT_EQ(nk_rec_frame_len(&nk_rec_dtls12, rec, 5), 13u);
    EXPECT_EQ(nk_rec_frame_len(&nk_rec_dtls12, rec, sizeof rec), sizeof rec);
}

TEST(sequence_number_48_bits_then_refused)
{
    /* §4.1: the sequence number MUST NOT wrap: 2^48 - 1 is the last. */
    struct nk_rec_key k;
    struct nk_buf out = { 0 };
    nk_dtls_start(&k);
    k.seq = NK_DTLS_SEQ_MAX;
    ASSERT_EQ(nk_rec_write(&k, NK_CT_APPLICATION_DATA, NK_REC_V12, (const uint8_t *)"x", 1, &out), OK);
    const uint8_t want[] = { 23, 0xfe, 0xfd, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 1, 'x' };
    ASSERT_EQ(out.len, sizeof want);
    EXPECT_MEM_EQ(out.p, want, sizeof want);
    EXPECT_EQ(nk_rec_write(&k, NK_CT_APPLICATION_DATA, NK_REC_V12, (const uint8_t *)"y", 1, &out),
              ERR_SSL_SEQUENCE_EXHAUSTED);
    EXPECT_EQ(out.len, sizeof want);
    /* Over 2^14 of content: the caller's error. */
    static uint8_t big[NK_MAX_PLAIN + 1];
    nk_dtls_start(&k);
    EXPECT_EQ(nk_rec_write(&k, NK_CT_APPLICATION_DATA, NK_REC_V12, big, sizeof big, &out), ERR_INVALID_ARG);
    EXPECT_EQ(nk_rec_write(&k, NK_CT_APPLICATION_DATA, NK_REC_V12, big, NK_MAX_PLAIN, &out), OK);
    nk_buf_free(&out);
}

TEST(epochs_count_up_and_never_wrap)
{
    const struct nk_suite *s = nk_suite12_by_id(0xc02f);
    uint8_t keys[NK_REC12_KEYS] = { 1, 2, 3 };
    struct nk_rec_key k;
    ASSERT_NOT_NULL(s);
    nk_dtls_start(&k);
    ASSERT_EQ(nk_rec_dtls12.install(&k, s, keys, 1), OK);
    EXPECT_EQ(k.epoch, 1u);
    EXPECT_EQ(k.seq, 0u);
    k.seq = 7;
    ASSERT_EQ(nk_rec_dtls12.install(&k, s, keys, 1), OK);
    EXPECT_EQ(k.epoch, 2u);
    EXPECT_EQ(k.seq, 0u);
    /* §4.1: "implementations MUST NOT allow the epoch to wrap". */
    k.epoch = 0xfffe;
    ASSERT_EQ(nk_rec_dtls12.install(&k, s, keys, 1), OK);
    EXPECT_EQ(k.epoch, 0xffffu);
    EXPECT_EQ(nk_rec_dtls12.install(&k, s, keys, 1), ERR_SSL_SEQUENCE_EXHAUSTED);
    EXPECT_EQ(k.epoch, 0xffffu);
    /* A TLS 1.3 suite has no DTLS 1.2 protection. */
    EXPECT_EQ(nk_rec_dtls12.install(&k, nk_suite_by_id(0x1301), keys, 1), ERR_SSL_INTERNAL);
    nk_rec_clear(&k);
}

TEST(room_per_protection)
{
    struct nk_rec_key k;
    uint8_t keys[NK_REC12_KEYS] = { 0 };
    nk_dtls_start(&k);
    EXPECT_EQ(nk_dtls_room(&k, 1200), 1187u);
    EXPECT_EQ(nk_dtls_room(&k, 13), 0u);
    EXPECT_EQ(nk_dtls_room(&k, 14), 1u);
    EXPECT_EQ(nk_dtls_room(&k, 65535), (size_t)NK_MAX_PLAIN);
    const struct { uint16_t id; size_t room; } t[] = {
        { 0xc02f, 1200 - 13 - 8 - 16 },   /* AES-GCM: explicit nonce, tag */
        { 0xcca8, 1200 - 13 - 16 },       /* ChaCha20-Poly1305: tag */
        { 0xc0ae, 1200 - 13 - 8 - 8 },    /* AES-CCM_8: explicit nonce, short tag */
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(t); i++) {
        nk_dtls_start(&k);
        ASSERT_EQ(nk_rec_dtls12.install(&k, nk_suite12_by_id(t[i].id), keys, 1), OK);
        EXPECT_EQ(nk_dtls_room(&k, 1200), t[i].room) TH_LOG("suite %04x", t[i].id);
        nk_rec_clear(&k);
    }
}

/* ---- the anti-replay window (§4.1.2.6) ---- */

TEST(window_edges)
{
    struct nk_dtls_window w = { 0 };
    EXPECT_EQ(nk_dtls_window_check(&w, 0), OK);
    nk_dtls_window_mark(&w, 0);
    EXPECT_EQ(w.next, 1u);
    EXPECT_EQ(w.bits, 1u);
    EXPECT_EQ(nk_dtls_window_check(&w, 0), NK_DTLS_DROPPED);
    EXPECT_EQ(nk_dtls_window_check(&w, 1), OK);

    /* A jump of 100: the window is that record alone. */
    nk_dtls_window_mark(&w, 100);
    EXPECT_EQ(w.next, 101u);
    EXPECT_EQ(w.bits, 1u);
    EXPECT_EQ(nk_dtls_window_check(&w, 100), NK_DTLS_DROPPED);
    EXPECT_EQ(nk_dtls_window_check(&w, 100 - 63), OK);        /* the left edge, not seen */
    EXPECT_EQ(nk_dtls_window_check(&w, 100 - 64), NK_DTLS_DROPPED);   /* left of it */
    EXPECT_EQ(nk_dtls_window_check(&w, 0), NK_DTLS_DROPPED);
    nk_dtls_window_mark(&w, 100 - 63);
    EXPECT_EQ(w.bits, 1u | 1ull << 63);
    EXPECT_EQ(w.next, 101u);   /* an older record does not move the edge */
    EXPECT_EQ(nk_dtls_window_check(&w, 37), NK_DTLS_DROPPED);
    EXPECT_EQ(nk_dtls_window_check(&w, 38), OK);

    /* + 1: everything moves one place; 37 falls out of the window. */
    nk_dtls_window_mark(&w, 101);
    EXPECT_EQ(w.next, 102u);
    EXPECT_EQ(w.bits, 3u);
    EXPECT_EQ(nk_dtls_window_check(&w, 37), NK_DTLS_DROPPED);
    EXPECT_EQ(nk_dtls_window_check(&w, 38), OK);
    EXPECT_EQ(nk_dtls_window_check(&w, 102), OK);
    EXPECT_EQ(nk_dtls_window_check(&w, 99), OK);

    /* + 63 keeps the top record at the left edge; + 64 loses it. */
    nk_dtls_window_mark(&w, 101 + 63);
    EXPECT_EQ(w.bits, 1u | 1ull << 63);
    EXPECT_EQ(nk_dtls_window_check(&w, 101), NK_DTLS_DROPPED);
    EXPECT_EQ(nk_dtls_window_check(&w, 102), OK);
    nk_dtls_window_mark(&w, 164 + 64);
    EXPECT_EQ(w.bits, 1u);
    EXPECT_EQ(w.next, 229u);
    EXPECT_EQ(nk_dtls_window_check(&w, 164), NK_DTLS_DROPPED);
    EXPECT_EQ(nk_dtls_window_check(&w, 165), OK);

    /* A huge jump, to the last sequence number there is. */
    nk_dtls_window_mark(&w, NK_DTLS_SEQ_MAX);
    EXPECT_EQ(w.next, 1ull << 48);
    EXPECT_EQ(w.bits, 1u);
    EXPECT_EQ(nk_dtls_window_check(&w, NK_DTLS_SEQ_MAX), NK_DTLS_DROPPED);
    EXPECT_EQ(nk_dtls_window_check(&w, NK_DTLS_SEQ_MAX - 63), OK);
    EXPECT_EQ(nk_dtls_window_check(&w, NK_DTLS_SEQ_MAX - 64), NK_DTLS_DROPPED);
    /* Marking left of the window changes nothing. */
    nk_dtls_window_mark(&w, 5);
    EXPECT_EQ(w.bits, 1u);
    EXPECT_EQ(w.next, 1ull << 48);
    /* Sequence numbers do not wrap: 0 is not "after" 2^48 - 1. */
    EXPECT_EQ(nk_dtls_window_check(&w, 0), NK_DTLS_DROPPED);
    EXPECT_EQ(nk_dtls_window_check(&w, 229), NK_DTLS_DROPPED);
}

TEST(window_every_offset)
{
    /* Records 0..63 in reverse after 63: each one is new once, then a replay. */
    struct nk_dtls_window w = { 0 };
    nk_dtls_window_mark(&w, 63);
    for (int s = 62; s >= 0; s--) {
        ASSERT_EQ(nk_dtls_window_check(&w, (uint64_t)s), OK) TH_LOG("seq %d", s);
        nk_dtls_window_mark(&w, (uint64_t)s);
        ASSERT_EQ(nk_dtls_window_check(&w, (uint64_t)s), NK_DTLS_DROPPED) TH_LOG("seq %d", s);
    }
    EXPECT_EQ(w.bits, UINT64_MAX);
    EXPECT_EQ(w.next, 64u);
}

/* ---- the walker and keyless opening ---- */

TEST(walker_records_of_a_datagram)
{
    struct nk_rec_key k;
    struct nk_buf dg = { 0 };
    struct nk_dtls_in in = { 0 };
    MSTATUS res[8];
    nk_dtls_start(&k);
    ASSERT_EQ(nk_rec_write(&k, NK_CT_HANDSHAKE, NK_REC_V12, (const uint8_t *)"one", 3, &dg), OK);
    ASSERT_EQ(nk_rec_write(&k, NK_CT_HANDSHAKE, NK_REC_V12, (const uint8_t *)"two", 3, &dg), OK);
    ASSERT_EQ(nk_rec_write(&k, NK_CT_CHANGE_CIPHER_SPEC, NK_REC_V12, (const uint8_t *)"\x01", 1, &dg), OK);
    size_t whole = dg.len;

    struct nk_rec_key rd;
    nk_dtls_start(&rd);
    ASSERT_EQ(open_all(&rd, &in, dg.p, whole, res, 8), 3u);
    EXPECT_EQ(res[0], OK);
    EXPECT_EQ(res[1], OK);
    EXPECT_EQ(res[2], OK);
    EXPECT_EQ(in.win.next, 3u);
    EXPECT_EQ(in.win.bits, 7u);

    /* The same datagram again: three replays. */
    ASSERT_EQ(open_all(&rd, &in, dg.p, whole, res, 8), 3u);
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(res[i], NK_DTLS_DROPPED);
    EXPECT_EQ(in.drops[NK_DTLS_DROP_REPLAY], 3u);
    EXPECT_EQ(in.why, NK_DTLS_DROP_REPLAY);

    /* Cut inside the third record: two records, then the rest dropped. */
    memset(&in, 0, sizeof in);
    ASSERT_EQ(open_all(&rd, &in, dg.p, whole - 1, res, 8), 3u);
    EXPECT_EQ(res[0], OK);
    EXPECT_EQ(res[1], OK);
    EXPECT_EQ(res[2], NK_DTLS_DROPPED);
    EXPECT_EQ(in.drops[NK_DTLS_DROP_TRUNCATED], 1u);
    /* The dropped bytes, as the walker reports them. */
    struct nk_rec_walk w;
    struct nk_rec rec;
    nk_rec_walk_init(&w, &nk_rec_dtls12, dg.p + 32, whole - 33);
    ASSERT_EQ(nk_dtls_walk_next(&w, &in, &rec), NK_DTLS_DROPPED);
    EXPECT_TRUE(rec.p == dg.p + 32);
    EXPECT_EQ(rec.len, whole - 33);
    EXPECT_EQ(rec.body_len, 0u);
    EXPECT_EQ(nk_dtls_walk_next(&w, &in, &rec), NK_REC_END);
    /* Inside the second record's header: one, then the rest. */
    memset(&in, 0, sizeof in);
    ASSERT_EQ(open_all(&rd, &in, dg.p, 16 + 5, res, 8), 2u);
    EXPECT_EQ(res[0], OK);
    EXPECT_EQ(res[1], NK_DTLS_DROPPED);
    EXPECT_EQ(in.why, NK_DTLS_DROP_TRUNCATED);
    /* No bytes: nothing. */
    EXPECT_EQ(open_all(&rd, &in, dg.p, 0, res, 8), 0u);
    nk_buf_free(&dg);
}

TEST(walker_drops_bad_headers_and_goes_on)
{
    struct nk_rec_key k;
    struct nk_buf dg = { 0 };
    struct nk_dtls_in in = { 0 };
    MSTATUS res[8];
    nk_dtls_start(&k);
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(nk_rec_write(&k, NK_CT_HANDSHAKE, NK_REC_V12, (const uint8_t *)"abcd", 4, &dg), OK);
    dg.p[17] = 99;         /* second record: no content type */
    dg.p[35] = 0x03;       /* third: version 0x03fd */
    dg.p[53] = 0xfc;       /* fourth: 0xfefc, no DTLS 1.2: the walker lets major 254 by, open refuses */
    ASSERT_EQ(open_all(&k, &in, dg.p, dg.len, res, 8), 4u);
    EXPECT_EQ(res[0], OK);
    EXPECT_EQ(res[1], NK_DTLS_DROPPED);
    EXPECT_EQ(res[2], NK_DTLS_DROPPED);
    EXPECT_EQ(res[3], NK_DTLS_DROPPED);
    EXPECT_EQ(in.drops[NK_DTLS_DROP_TYPE], 1u);
    EXPECT_EQ(in.drops[NK_DTLS_DROP_VERSION], 2u);
    EXPECT_EQ(in.win.next, 1u);   /* only the good record moved the window */
    nk_buf_free(&dg);

    /* A body over the limit, all of it there: dropped, the next one read. */
    static uint8_t big[13 + NK_MAX_PLAIN + 25 + 16];
    const uint8_t h[] = { 23, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9 };
    memcpy(big, h, sizeof h);
    nk_store16(big + 11, NK_MAX_PLAIN + 25);
    size_t at = 13 + NK_MAX_PLAIN + 25;
    const uint8_t after[] = { 21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 10, 0, 3, 1, 2, 3 };
    memcpy(big + at, after, sizeof after);
    memset(&in, 0, sizeof in);
    ASSERT_EQ(open_all(&k, &in, big, at + sizeof after, res, 8), 2u);
    EXPECT_EQ(res[0], NK_DTLS_DROPPED);
    EXPECT_EQ(in.drops[NK_DTLS_DROP_LENGTH], 1u);
    EXPECT_EQ(res[1], OK);
    /* One byte shorter: within the walker's bound (an AEAD record's), over
     * what a keyless record may carry. */
    nk_store16(big + 11, NK_MAX_PLAIN + 1);
    memset(&in, 0, sizeof in);
    ASSERT_EQ(open_all(&k, &in, big, 13 + NK_MAX_PLAIN + 1, res, 8), 1u);
    EXPECT_EQ(res[0], NK_DTLS_DROPPED);
    EXPECT_EQ(in.why, NK_DTLS_DROP_LENGTH);
    nk_store16(big + 11, NK_MAX_PLAIN);
    ASSERT_EQ(open_all(&k, &in, big, 13 + NK_MAX_PLAIN, res, 8), 1u);
    EXPECT_EQ(res[0], OK);
}

TEST(open_keyless_epochs)
{
    /* A DTLS 1.0 ClientHello record is read in epoch 0; a record of epoch 1
     * is left for the caller, epoch 2 dropped. */
    uint8_t r0[] = { 22, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 'h', 'i' };
    uint8_t r1[] = { 22, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 'h', 'i' };
    uint8_t r2[] = { 22, 0xfe, 0xfd, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 'h', 'i' };
    struct nk_rec_key k;
    struct nk_dtls_in in = { 0 };
    MSTATUS res[2];
    nk_dtls_start(&k);
    struct nk_rec_walk w;
    struct nk_rec rec;
    uint8_t type, *data;
    size_t n;
    nk_rec_walk_init(&w, &nk_rec_dtls12, r0, sizeof r0);
    ASSERT_EQ(nk_dtls_walk_next(&w, &in, &rec), OK);
    ASSERT_EQ(nk_dtls_open(&k, &in, &rec, &type, &data, &n), OK);
    EXPECT_EQ(type, 22);
    ASSERT_EQ(n, 2u);
    EXPECT_TRUE(data == r0 + 13);
    ASSERT_EQ(open_all(&k, &in, r1, sizeof r1, res, 2), 1u);
    EXPECT_EQ(res[0], NK_DTLS_NEXT_EPOCH);
    ASSERT_EQ(open_all(&k, &in, r2, sizeof r2, res, 2), 1u);
    EXPECT_EQ(res[0], NK_DTLS_DROPPED);
    EXPECT_EQ(in.why, NK_DTLS_DROP_EPOCH);
    EXPECT_EQ(in.drops[NK_DTLS_DROP_EPOCH], 1u);
    EXPECT_EQ(in.drops[NK_DTLS_DROP_NONE], 0u);   /* the next epoch is no drop */
    /* The ops table's own open: a length that is not the record's. */
    EXPECT_EQ(nk_rec_open(&k, r0, sizeof r0 - 1, &type, &data, &n), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rec_open(&k, r1, sizeof r1, &type, &data, &n), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rec_open(&k, r0, 12, &type, &data, &n), ERR_SSL_PROTOCOL);
}

/* ---- AEAD protection, per suite ---- */

FIXTURE(dtls) {
    const struct nk_suite *s;
    uint8_t keys[NK_REC12_KEYS];   /* write_key || write_IV */
    struct nk_rec_key wr, rd;
    struct nk_dtls_in in;
    struct nk_buf out;
};

FIXTURE_VARIANT(dtls) {
    AEAD12_VARIANT_FIELDS;
};

AEAD12_VARIANTS(dtls);

FIXTURE_SETUP(dtls)
{
    memset(self, 0, sizeof *self);
    self->s = nk_suite12_by_id(variant->id);
    ASSERT_NOT_NULL(self->s);
    for (size_t i = 0; i < sizeof self->keys; i++)
        self->keys[i] = (uint8_t)(0x3c + 7 * i);
    /* Epoch 4 keys become epoch 5's. */
    nk_dtls_start(&self->wr);
    nk_dtls_start(&self->rd);
    self->wr.epoch = self->rd.epoch = 4;
    ASSERT_EQ(nk_rec_dtls12.install(&self->wr, self->s, self->keys, 1), OK);
    ASSERT_EQ(nk_rec_dtls12.install(&self->rd, self->s, self->keys, 0), OK);
}

FIXTURE_TEARDOWN(dtls)
{
    nk_rec_clear(&self->wr);
    nk_rec_clear(&self->rd);
    nk_buf_free(&self->out);
}

static size_t xlen(const FIXTURE_VARIANT(dtls) *v)
{
    return aead12_xlen(v->chacha);
}

/* The record libcrypto makes of n bytes of the content type under the key
 * block share keys (aead12_ref.h), behind its 13-byte header: the 64-bit
 * sequence number is epoch || seq (RFC 6347 §4.1.2.1), the version 0xfefd.
 * Returns its length. */
static size_t ref_record(const FIXTURE_VARIANT(dtls) *v, const uint8_t *keys, uint16_t epoch, uint64_t seq,
                         uint64_t xn, uint8_t type, const uint8_t *d, size_t n, uint8_t *rec)
{
    uint64_t s64 = (uint64_t)epoch << 48 | seq;
    rec[0] = type;
    rec[1] = 0xfe;
    rec[2] = 0xfd;
    for (int i = 0; i < 8; i++)
        rec[3 + i] = (uint8_t)(s64 >> (56 - 8 * i));
    nk_store16(rec + 11, (uint16_t)(xlen(v) + n + v->tag));
    return aead12_ref_seal(v->evp_name, v->ccm, v->chacha, v->key_len, v->tag, keys, s64, xn, type, 0xfefd, d, n,
                           rec, 13);
}

TEST_F(dtls, seal_matches_libcrypto)
{
    static const uint8_t msg[] = "exact bytes of a DTLS 1.2 record";
    const size_t n = sizeof msg - 1;
    /* ChaCha's limit is the 48-bit sequence number's own: its far record
     * uses all six bytes. */
    const uint64_t far = variant->chacha ? 0xa1b2c3d4e5f6ull : 0xa1b2c3ull;
    uint8_t ref[128];
    EXPECT_EQ(self->wr.epoch, 5u);
    EXPECT_TRUE(nk_rec_ops_of(&self->wr) == &nk_rec_dtls12);
    ASSERT_EQ(nk_rec_write(&self->wr, NK_CT_HANDSHAKE, NK_REC_V12, msg, n, &self->out), OK);
    size_t first = ref_record(variant, self->keys, 5, 0, 5ull << 48, NK_CT_HANDSHAKE, msg, n, ref);
    ASSERT_GT(first, 0u);
    ASSERT_EQ(self->out.len, first);
    EXPECT_MEM_EQ(self->out.p, ref, first);

    /* A protected record always says DTLS 1.2, even when asked for 1.0. */
    self->wr.seq = far;
    ASSERT_EQ(nk_rec_write(&self->wr, NK_CT_APPLICATION_DATA, NK_DTLS_V10, msg, n, &self->out), OK);
    EXPECT_EQ(self->wr.seq, far + 1);
    ASSERT_EQ(ref_record(variant, self->keys, 5, far, 5ull << 48 | far, NK_CT_APPLICATION_DATA, msg, n, ref),
              first);
    ASSERT_EQ(self->out.len, 2 * first);
    EXPECT_MEM_EQ(self->out.p + first, ref, first);
    if (!variant->chacha) {
        /* The explicit nonce is epoch || sequence_number. */
        const uint8_t xn[8] = { 0, 5, 0, 0, 0, 0xa1, 0xb2, 0xc3 };
        EXPECT_MEM_EQ(self->out.p + first + 13, xn, 8);
    }
}

TEST_F(dtls, records_of_one_datagram_round_trip)
{
    static uint8_t data[NK_MAX_PLAIN];
    const size_t sizes[] = { 0, 1, 100, 1100, NK_MAX_PLAIN };
    const uint8_t types[] = { NK_CT_HANDSHAKE, NK_CT_ALERT, NK_CT_APPLICATION_DATA, NK_CT_APPLICATION_DATA,
                              NK_CT_HANDSHAKE };
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 29 + 3);
    for (size_t i = 0; i < NK_ARRAY_LEN(sizes); i++)
        ASSERT_EQ(nk_rec_write(&self->wr, types[i], NK_REC_V12, data, sizes[i], &self->out), OK);
    struct nk_rec_walk w;
    struct nk_rec rec;
    nk_rec_walk_init(&w, &nk_rec_dtls12, self->out.p, self->out.len);
    for (size_t i = 0; i < NK_ARRAY_LEN(sizes); i++) {
        uint8_t type, *plain;
        size_t len;
        ASSERT_EQ(nk_dtls_walk_next(&w, &self->in, &rec), OK);
        EXPECT_EQ(rec.epoch, 5u);
        EXPECT_EQ(rec.seq, i);
        EXPECT_EQ(rec.body_len, xlen(variant) + sizes[i] + variant->tag);
        ASSERT_EQ(nk_dtls_open(&self->rd, &self->in, &rec, &type, &plain, &len), OK);
        EXPECT_EQ(type, types[i]);
        ASSERT_EQ(len, sizes[i]);
        EXPECT_TRUE(plain == rec.p + 13 + xlen(variant));
        EXPECT_MEM_EQ(plain, data, len) TH_LOG("size %zu", sizes[i]);
    }
    EXPECT_EQ(nk_dtls_walk_next(&w, &self->in, &rec), NK_REC_END);
    EXPECT_EQ(self->in.win.epoch, 5u);
    EXPECT_EQ(self->in.win.next, 5u);
    EXPECT_EQ(self->in.win.bits, 0x1fu);
    for (int i = 0; i < NK_DTLS_DROP_COUNT; i++)
        EXPECT_EQ(self->in.drops[i], 0u);
}

TEST_F(dtls, opens_libcrypto_records_any_explicit_nonce)
{
    /* RFC 5288 §3: the explicit nonce is the sender's choice; out of order. */
    static const uint8_t msg[] = "from elsewhere";
    uint8_t ref[64], type, *plain;
    size_t len;
    const uint64_t seqs[] = { 9, 3, 70 };
    for (size_t i = 0; i < NK_ARRAY_LEN(seqs); i++) {
        size_t n = ref_record(variant, self->keys, 5, seqs[i], 0x1122334455667788ull + i, NK_CT_APPLICATION_DATA,
                              msg, sizeof msg, ref);
        ASSERT_GT(n, 0u);
        struct nk_rec_walk w;
        struct nk_rec rec;
        nk_rec_walk_init(&w, &nk_rec_dtls12, ref, n);
        ASSERT_EQ(nk_dtls_walk_next(&w, &self->in, &rec), OK);
        ASSERT_EQ(nk_dtls_open(&self->rd, &self->in, &rec, &type, &plain, &len), OK) TH_LOG("seq %zu", (size_t)seqs[i]);
        ASSERT_EQ(len, sizeof msg);
        EXPECT_MEM_EQ(plain, msg, sizeof msg);
    }
    /* 70 moved the window past 3 (70 - 64 = 6) but not past 9. */
    EXPECT_EQ(self->in.win.next, 71u);
    EXPECT_EQ(nk_dtls_window_check(&self->in.win, 9), NK_DTLS_DROPPED);
    EXPECT_EQ(nk_dtls_window_check(&self->in.win, 10), OK);
    EXPECT_EQ(nk_dtls_window_check(&self->in.win, 6), NK_DTLS_DROPPED);
    EXPECT_EQ(nk_dtls_window_check(&self->in.win, 7), OK);
}

TEST_F(dtls, tampered_records_dropped_window_unmoved)
{
    static const uint8_t msg[] = "do not touch";
    ASSERT_EQ(nk_rec_write(&self->wr, NK_CT_APPLICATION_DATA, NK_REC_V12, msg, sizeof msg, &self->out), OK);
    size_t n = self->out.len;
    uint8_t *copy = malloc(n), type, *plain;
    size_t len;
    ASSERT_NOT_NULL(copy);
    /* Every bit of the header's sequence number, type and version is under
     * the tag (the epoch selects the key), and every bit of the body. */
    for (size_t bit = 0; bit < 8 * n; bit++) {
        size_t at = bit / 8;
        if ((at >= 3 && at < 5) || at == 11 || at == 12)
            continue;   /* epoch and length: judged before the tag */
        memcpy(copy, self->out.p, n);
        copy[at] ^= (uint8_t)(1u << (bit % 8));
        struct nk_rec_walk w;
        struct nk_rec rec;
        struct nk_dtls_in in = { 0 };
        nk_rec_walk_init(&w, &nk_rec_dtls12, copy, n);
        MSTATUS st = nk_dtls_walk_next(&w, &in, &rec);
        if (st == OK)
            st = nk_dtls_open(&self->rd, &in, &rec, &type, &plain, &len);
        ASSERT_EQ(st, NK_DTLS_DROPPED) TH_LOG("bit %zu", bit);
        ASSERT_EQ(in.win.next, 0u);
        ASSERT_TRUE(in.why == NK_DTLS_DROP_MAC || in.why == NK_DTLS_DROP_TYPE || in.why == NK_DTLS_DROP_VERSION)
        TH_LOG("bit %zu why %u", bit, in.why);
        if (at >= 13)
            ASSERT_EQ(in.why, NK_DTLS_DROP_MAC);
    }
    /* The untouched record still opens, once. */
    MSTATUS res[2];
    ASSERT_EQ(open_all(&self->rd, &self->in, self->out.p, n, res, 2), 1u);
    EXPECT_EQ(res[0], OK);
    ASSERT_EQ(open_all(&self->rd, &self->in, self->out.p, n, res, 2), 1u);
    EXPECT_EQ(res[0], NK_DTLS_DROPPED);
    EXPECT_EQ(self->in.why, NK_DTLS_DROP_REPLAY);
    free(copy);
}

TEST_F(dtls, bad_epoch_version_length_dropped)
{
    static const uint8_t msg[] = "abc";
    ASSERT_EQ(nk_rec_write(&self->wr, NK_CT_APPLICATION_DATA, NK_REC_V12, msg, 3, &self->out), OK);
    size_t n = self->out.len;
    uint8_t rec[64];
    MSTATUS res[2];
    ASSERT_LE(n, sizeof rec);

    /* Epoch 4 (the one before) and 7: dropped; 6 (the next): the caller's. */
    const struct { uint16_t epoch; MSTATUS st; } e[] = {
        { 4, NK_DTLS_DROPPED }, { 7, NK_DTLS_DROPPED }, { 6, NK_DTLS_NEXT_EPOCH }, { 0, NK_DTLS_DROPPED },
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(e); i++) {
        memcpy(rec, self->out.p, n);
        nk_store16(rec + 3, e[i].epoch);
        ASSERT_EQ(open_all(&self->rd, &self->in, rec, n, res, 2), 1u);
        EXPECT_EQ(res[0], e[i].st) TH_LOG("epoch %u", e[i].epoch);
    }
    EXPECT_EQ(self->in.drops[NK_DTLS_DROP_EPOCH], 3u);

    /* DTLS 1.0 is for keyless records only. */
    memcpy(rec, self->out.p, n);
    rec[2] = 0xff;
    ASSERT_EQ(open_all(&self->rd, &self->in, rec, n, res, 2), 1u);
    EXPECT_EQ(res[0], NK_DTLS_DROPPED);
    EXPECT_EQ(self->in.why, NK_DTLS_DROP_VERSION);

    /* Too short for the explicit nonce and the tag. */
    size_t least = xlen(variant) + variant->tag;
    memcpy(rec, self->out.p, 13 + least - 1);
    nk_store16(rec + 11, (uint16_t)(least - 1));
    ASSERT_EQ(open_all(&self->rd, &self->in, rec, 13 + least - 1, res, 2), 1u);
    EXPECT_EQ(res[0], NK_DTLS_DROPPED);
    EXPECT_EQ(self->in.why, NK_DTLS_DROP_LENGTH);
    EXPECT_EQ(self->in.win.next, 0u);

    /* The real one opens: nothing above moved the window. */
    ASSERT_EQ(open_all(&self->rd, &self->in, self->out.p, n, res, 2), 1u);
    EXPECT_EQ(res[0], OK);
}

TEST_F(dtls, window_restarts_with_the_epoch)
{
    static const uint8_t msg[] = "abc";
    MSTATUS res[2];
    ASSERT_EQ(nk_rec_write(&self->wr, NK_CT_APPLICATION_DATA, NK_REC_V12, msg, 3, &self->out), OK);
    ASSERT_EQ(open_all(&self->rd, &self->in, self->out.p, self->out.len, res, 2), 1u);
    ASSERT_EQ(res[0], OK);
    EXPECT_EQ(self->in.win.next, 1u);
    /* Both sides move to epoch 6: its sequence number 0 is new. */
    ASSERT_EQ(nk_rec_dtls12.install(&self->wr, self->s, self->keys, 1), OK);
    ASSERT_EQ(nk_rec_dtls12.install(&self->rd, self->s, self->keys, 0), OK);
    self->out.len = 0;
    ASSERT_EQ(nk_rec_write(&self->wr, NK_CT_APPLICATION_DATA, NK_REC_V12, msg, 3, &self->out), OK);
    EXPECT_EQ(self->out.p[4], 6);
    ASSERT_EQ(open_all(&self->rd, &self->in, self->out.p, self->out.len, res, 2), 1u);
    EXPECT_EQ(res[0], OK);
    EXPECT_EQ(self->in.win.epoch, 6u);
    EXPECT_EQ(self->in.win.next, 1u);
}

TEST_F(dtls, aead_limit_refuses_sending)
{
    /* The AEAD's limit, or the 48-bit number's, whichever comes first. */
    uint64_t last = self->s->aead_limit - 1 < NK_DTLS_SEQ_MAX ? self->s->aead_limit - 1 : NK_DTLS_SEQ_MAX;
    self->wr.seq = last;
    ASSERT_EQ(nk_rec_write(&self->wr, NK_CT_APPLICATION_DATA, NK_REC_V12, (const uint8_t *)"a", 1, &self->out),
              OK);
    size_t n = self->out.len;
    EXPECT_EQ(nk_rec_write(&self->wr, NK_CT_APPLICATION_DATA, NK_REC_V12, (const uint8_t *)"b", 1, &self->out),
              ERR_SSL_SEQUENCE_EXHAUSTED);
    EXPECT_EQ(self->out.len, n);
    if (variant->chacha)
        EXPECT_EQ(last, NK_DTLS_SEQ_MAX);
}

TEST_HARNESS_MAIN
