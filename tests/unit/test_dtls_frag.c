/* test_dtls_frag.c — DTLS 1.2 handshake fragments (handshake/dtls12_frag.c):
 * the 12-byte header read and written byte for byte; reassembly in order,
 * reversed, shuffled (a seeded generator), duplicated and overlapping;
 * inconsistent fragments refused and the message rebuilt afterwards; future
 * messages held up to the window and the budget, then refused; old messages
 * flagged; message length limits; fragmenting to 1200, 576 and 100 bytes
 * and reassembling gives the message back; the transcript form. */
#include <stdlib.h>

#include "harness.h"
#include "core/nk.h"
#include "core/wire.h"
#include "core/limits.h"
#include "handshake/dtls12_frag.h"
#include "handshake/hs.h"

static struct nk_limits limits(void)
{
    struct nk_limits l = {
        .hs_message = 16 * 1024, .cert_message = 64 * 1024,
        .dtls_reasm = NK_DTLS_REASM_DEFAULT, .dtls_hs_window = NK_DTLS_HS_WINDOW_DEFAULT,
        .hs_memory = 64 * 1024 * 1024,
    };
    return l;
}

static uint64_t rng = 0x5eed;

static uint64_t next_rand(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void body_of(uint8_t *b, uint32_t len, uint16_t seq)
{
    for (uint32_t i = 0; i < len; i++)
        b[i] = (uint8_t)(i * 7 + seq * 31 + (i >> 8));
}

/* A message cut into fragments of at most max bytes each. */
struct frags {
    struct nk_buf buf;
    size_t at[2048], n;
};

static int cut(struct frags *f, uint8_t type, uint16_t seq, const uint8_t *body, uint32_t len, size_t max)
{
    uint32_t off = 0, taken;
    do {
        if (f->n == NK_ARRAY_LEN(f->at))
            return -1;
        f->at[f->n++] = f->buf.len;
        if (nk_dtls_frag_put(&f->buf, type, seq, body, len, off, max, &taken) != OK)
            return -1;
        off += taken;
    } while (off < len);
    return 0;
}

static MSTATUS feed(struct nk_dtls_reasm *ra, const struct frags *f, size_t i)
{
    struct nk_rd r;
    struct nk_dtls_frag fr;
    size_t end = i + 1 < f->n ? f->at[i + 1] : f->buf.len;
    nk_rd_init(&r, f->buf.p + f->at[i], end - f->at[i]);
    MSTATUS st = nk_dtls_frag_read(&r, &fr);
    if (st < 0 || nk_rd_left(&r))
        return ERR_GENERAL;
    return nk_dtls_reasm_add(ra, &fr);
}

/* ---- the header ---- */

TEST(read_header_exact)
{
    const uint8_t b[] = { 11, 0x01, 0x02, 0x03, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 'x', 'y', 'z' };
    struct nk_rd r;
    struct nk_dtls_frag f;
    nk_rd_init(&r, b, sizeof b);
    ASSERT_EQ(nk_dtls_frag_read(&r, &f), OK);
    EXPECT_EQ(f.type, 11);
    EXPECT_EQ(f.len, 0x010203u);
    EXPECT_EQ(f.seq, 5);
    EXPECT_EQ(f.off, 0x000100u);
    EXPECT_EQ(f.flen, 3u);
    EXPECT_TRUE(f.data == b + 12);
    EXPECT_EQ(nk_rd_left(&r), 0u);
    /* Short of the header, short of the fragment. */
    for (size_t n = 0; n < sizeof b; n++) {
        nk_rd_init(&r, b, n);
        EXPECT_EQ(nk_dtls_frag_read(&r, &f), ERR_SSL_PROTOCOL) TH_LOG("%zu bytes", n);
    }
    /* §4.2.3: a fragment past the message's length. */
    const uint8_t past[] = { 1, 0, 0, 4, 0, 0, 0, 0, 2, 0, 0, 3, 'a', 'b', 'c' };
    nk_rd_init(&r, past, sizeof past);
    EXPECT_EQ(nk_dtls_frag_read(&r, &f), ERR_SSL_PROTOCOL);
    const uint8_t beyond[] = { 1, 0, 0, 4, 0, 0, 0, 0, 5, 0, 0, 0 };
    nk_rd_init(&r, beyond, sizeof beyond);
    EXPECT_EQ(nk_dtls_frag_read(&r, &f), ERR_SSL_PROTOCOL);
    const uint8_t at_end[] = { 1, 0, 0, 4, 0, 0, 0, 0, 4, 0, 0, 0 };
    nk_rd_init(&r, at_end, sizeof at_end);
    EXPECT_EQ(nk_dtls_frag_read(&r, &f), OK);
}

TEST(fragments_written_exact)
{
    uint8_t body[25];
    struct frags f = { 0 };
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)('a' + i);
    ASSERT_EQ(cut(&f, 11, 0x0102, body, sizeof body, 12 + 10), 0);
    ASSERT_EQ(f.n, 3u);
    const uint8_t want[] = {
        11, 0, 0, 25, 0x01, 0x02, 0, 0, 0, 0, 0, 10, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j',
        11, 0, 0, 25, 0x01, 0x02, 0, 0, 10, 0, 0, 10, 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't',
        11, 0, 0, 25, 0x01, 0x02, 0, 0, 20, 0, 0, 5, 'u', 'v', 'w', 'x', 'y',
    };
    ASSERT_EQ(f.buf.len, sizeof want);
    EXPECT_MEM_EQ(f.buf.p, want, sizeof want);
    EXPECT_EQ(f.at[1], 22u);
    EXPECT_EQ(f.at[2], 44u);
    nk_buf_free(&f.buf);

    /* A message with no body is one fragment of none, even at 12 bytes. */
    struct nk_buf out = { 0 };
    uint32_t taken = 99;
    ASSERT_EQ(nk_dtls_frag_put(&out, 14, 3, NULL, 0, 0, 12, &taken), OK);
    const uint8_t shd[] = { 14, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0 };
    ASSERT_EQ(out.len, sizeof shd);
    EXPECT_MEM_EQ(out.p, shd, sizeof shd);
    EXPECT_EQ(taken, 0u);
    /* No room for a byte of a body, an offset past it, a length over 2^24. */
    EXPECT_EQ(nk_dtls_frag_put(&out, 1, 0, body, 5, 0, 12, &taken), ERR_INVALID_ARG);
    EXPECT_EQ(nk_dtls_frag_put(&out, 1, 0, body, 5, 6, 100, &taken), ERR_INVALID_ARG);
    EXPECT_EQ(nk_dtls_frag_put(&out, 1, 0, body, 1u << 24, 0, 100, &taken), ERR_INVALID_ARG);
    EXPECT_EQ(out.len, sizeof shd);
    nk_buf_free(&out);
}

TEST(transcript_form)
{
    /* §4.2.6: as if sent as a single fragment: offset 0, fragment_length
     * = length, whatever fragments carried it. */
    uint8_t body[300];
    body_of(body, sizeof body, 4);
    struct nk_buf t = { 0 };
    ASSERT_EQ(nk_dtls_transcript_msg(&t, 16, 4, body, sizeof body), OK);
    const uint8_t hdr[] = { 16, 0, 0x01, 0x2c, 0, 4, 0, 0, 0, 0, 0x01, 0x2c };
    ASSERT_EQ(t.len, 12 + sizeof body);
    EXPECT_MEM_EQ(t.p, hdr, 12);
    EXPECT_MEM_EQ(t.p + 12, body, sizeof body);

    struct nk_limits lim = limits();
    struct nk_dtls_reasm ra;
    struct frags f = { 0 };
    nk_dtls_reasm_init(&ra, &lim);
    ra.next_seq = 4;
    ASSERT_EQ(cut(&f, 16, 4, body, sizeof body, 100), 0);
    ASSERT_EQ(f.n, 4u);
    for (size_t i = f.n; i-- > 0;)
        ASSERT_EQ(feed(&ra, &f, i), i == 0 ? NK_DTLS_MSG_READY : OK);
    const uint8_t *msg;
    size_t n;
    ASSERT_EQ(nk_dtls_reasm_next(&ra, &msg, &n), OK);
    ASSERT_EQ(n, t.len);
    EXPECT_MEM_EQ(msg, t.p, n);
    nk_dtls_reasm_free(&ra);
    nk_buf_free(&f.buf);
    nk_buf_free(&t);
}

/* ---- reassembly ---- */

enum order { IN_ORDER, REVERSED, SHUFFLED, DUPLICATED };

/* Messages 0..count-1 of the given sizes, cut at max bytes, fed in an order;
 * each must come out whole and in message_seq order. */
static int round_trip(struct __test_metadata *_metadata, const uint32_t *sizes, size_t count, size_t max,
                      enum order order)
{
    struct nk_limits lim = limits();
    struct nk_dtls_reasm ra;
    struct frags f = { 0 };
    size_t idx[4096], n = 0;
    static uint8_t body[16 * 1024];
    nk_dtls_reasm_init(&ra, &lim);
    for (size_t m = 0; m < count; m++) {
        body_of(body, sizes[m], (uint16_t)m);
        ASSERT_EQ(cut(&f, (uint8_t)(m == 1 ? 11 : 2), (uint16_t)m, body, sizes[m], max), 0);
    }
    for (size_t i = 0; i < f.n; i++)
        idx[n++] = i;
    if (order == DUPLICATED)
        for (size_t i = 0; i < f.n; i++)
            idx[n++] = i;
    if (order == REVERSED)
        for (size_t i = 0; i < n / 2; i++) {
            size_t t = idx[i];
            idx[i] = idx[n - 1 - i];
            idx[n - 1 - i] = t;
        }
    if (order == SHUFFLED || order == DUPLICATED)
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)(next_rand() % i), t = idx[i - 1];
            idx[i - 1] = idx[j];
            idx[j] = t;
        }
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        MSTATUS st = feed(&ra, &f, idx[i]);
        ASSERT_TRUE(st == OK || st == NK_DTLS_MSG_READY || st == NK_DTLS_MSG_OLD) TH_LOG("st %d", st);
        const uint8_t *msg;
        size_t len;
        while (nk_dtls_reasm_next(&ra, &msg, &len) == OK) {
            ASSERT_LT(got, count);
            body_of(body, sizes[got], (uint16_t)got);
            struct nk_buf t = { 0 };
            ASSERT_EQ(nk_dtls_transcript_msg(&t, (uint8_t)(got == 1 ? 11 : 2), (uint16_t)got, body, sizes[got]), OK);
            ASSERT_EQ(len, t.len) TH_LOG("message %zu", got);
            ASSERT_MEM_EQ(msg, t.p, len);
            nk_buf_free(&t);
            got++;
        }
    }
    EXPECT_EQ(got, count);
    EXPECT_EQ(ra.next_seq, count);
    nk_dtls_reasm_free(&ra);
    EXPECT_EQ(ra.held, 0u);
    nk_buf_free(&f.buf);
    return 0;
}

static const uint32_t flight[] = { 90, 9000, 333, 0, 1200 - 12, 1200 - 11, 16 * 1024 };

TEST(in_order_per_payload_size)
{
    const size_t max[] = { NK_DTLS_FRAG_PAYLOAD, 576, 100 };
    for (size_t i = 0; i < NK_ARRAY_LEN(max); i++)
        round_trip(_metadata, flight, NK_ARRAY_LEN(flight), max[i], IN_ORDER);
}

TEST(reversed_per_payload_size)
{
    const size_t max[] = { NK_DTLS_FRAG_PAYLOAD, 576, 100 };
    for (size_t i = 0; i < NK_ARRAY_LEN(max); i++)
        round_trip(_metadata, flight, NK_ARRAY_LEN(flight), max[i], REVERSED);
}

TEST(shuffled_and_duplicated)
{
    const size_t max[] = { NK_DTLS_FRAG_PAYLOAD, 576, 100 };
    /* One byte per fragment: a small flight. */
    static const uint32_t small[] = { 90, 300, 33, 0 };
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < NK_ARRAY_LEN(max); i++) {
            round_trip(_metadata, flight, NK_ARRAY_LEN(flight), max[i], SHUFFLED);
            round_trip(_metadata, flight, NK_ARRAY_LEN(flight), max[i], DUPLICATED);
        }
        round_trip(_metadata, small, NK_ARRAY_LEN(small), 13, SHUFFLED);
        round_trip(_metadata, small, NK_ARRAY_LEN(small), 13, DUPLICATED);
    }
}

TEST(fragment_counts_per_payload_size)
{
    /* 1200 bytes of payload: 1188 of body per fragment. */
    static uint8_t body[9000];
    const struct { size_t max, n; } t[] = { { 1200, 8 }, { 576, 16 }, { 100, 103 }, { 9012, 1 }, { 9011, 2 } };
    for (size_t i = 0; i < NK_ARRAY_LEN(t); i++) {
        struct frags f = { 0 };
        ASSERT_EQ(cut(&f, 11, 1, body, sizeof body, t[i].max), 0);
        EXPECT_EQ(f.n, t[i].n) TH_LOG("max %zu", t[i].max);
        for (size_t j = 1; j < f.n; j++)
            EXPECT_EQ(f.at[j] - f.at[j - 1], t[i].max);
        EXPECT_EQ(f.buf.len, 12 * f.n + sizeof body);
        nk_buf_free(&f.buf);
    }
}

TEST(overlapping_fragments_of_two_cuts)
{
    /* A retransmission cut smaller (§4.2.3: the PMTU estimate changed): the
     * ranges overlap, the bytes agree. */
    struct nk_limits lim = limits();
    struct nk_dtls_reasm ra;
    struct frags a = { 0 }, b = { 0 };
    static uint8_t body[5000];
    body_of(body, sizeof body, 0);
    nk_dtls_reasm_init(&ra, &lim);
    ASSERT_EQ(cut(&a, 11, 0, body, sizeof body, 1200), 0);
    ASSERT_EQ(cut(&b, 11, 0, body, sizeof body, 333), 0);
    /* Every other one of the first cut, then the second cut's all. */
    for (size_t i = 0; i < a.n; i += 2)
        ASSERT_EQ(feed(&ra, &a, i), OK);
    size_t ready = 0;
    for (size_t i = 0; i < b.n; i++) {
        MSTATUS st = feed(&ra, &b, i);
        ASSERT_TRUE(st == OK || st == NK_DTLS_MSG_READY);
        ready += st == NK_DTLS_MSG_READY;
    }
    EXPECT_EQ(ready, 1u);
    const uint8_t *msg;
    size_t n;
    ASSERT_EQ(nk_dtls_reasm_next(&ra, &msg, &n), OK);
    ASSERT_EQ(n, 12 + sizeof body);
    EXPECT_MEM_EQ(msg + 12, body, sizeof body);
    nk_dtls_reasm_free(&ra);
    nk_buf_free(&a.buf);
    nk_buf_free(&b.buf);
}

TEST(inconsistent_fragments_refused)
{
    struct nk_limits lim = limits();
    struct nk_dtls_reasm ra;
    static uint8_t body[3000];
    body_of(body, sizeof body, 0);
    nk_dtls_reasm_init(&ra, &lim);
    struct nk_dtls_frag f = { .type = 11, .len = sizeof body, .seq = 0, .off = 0, .flen = 1000, .data = body };
    ASSERT_EQ(nk_dtls_reasm_add(&ra, &f), OK);
    uint32_t held = ra.held;
    EXPECT_EQ(held, 12u + 3000 + 375);

    /* The same range again: a duplicate. */
    ASSERT_EQ(nk_dtls_reasm_add(&ra, &f), OK);
    /* Another length for the same message_seq: refused, the message gone. */
    struct nk_dtls_frag g = f;
    g.len = sizeof body - 1;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &g), ERR_SSL_ILLEGAL_PARAMETER);
    EXPECT_EQ(ra.held, 0u);
    /* Another type. */
    ASSERT_EQ(nk_dtls_reasm_add(&ra, &f), OK);
    g = f;
    g.type = 12;
    g.off = 2000;
    g.data = body + 2000;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &g), ERR_SSL_ILLEGAL_PARAMETER);
    EXPECT_EQ(ra.held, 0u);
    /* Overlapping bytes that differ (one byte of 200). */
    ASSERT_EQ(nk_dtls_reasm_add(&ra, &f), OK);
    uint8_t bad[200];
    memcpy(bad, body + 900, sizeof bad);
    bad[150] ^= 0x40;   /* offset 1050: not received yet */
    g = f;
    g.off = 900;
    g.flen = sizeof bad;
    g.data = bad;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &g), OK);
    bad[50] ^= 0x01;    /* offset 950: received, different */
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &g), ERR_SSL_ILLEGAL_PARAMETER);
    EXPECT_EQ(ra.held, 0u);
    /* A retransmission rebuilds it. */
    struct nk_dtls_frag whole = { .type = 11, .len = sizeof body, .seq = 0, .flen = sizeof body, .data = body };
    ASSERT_EQ(nk_dtls_reasm_add(&ra, &whole), NK_DTLS_MSG_READY);
    const uint8_t *msg;
    size_t n;
    ASSERT_EQ(nk_dtls_reasm_next(&ra, &msg, &n), OK);
    EXPECT_MEM_EQ(msg + 12, body, sizeof body);
    nk_dtls_reasm_free(&ra);
}

TEST(future_messages_up_to_the_window)
{
    struct nk_limits lim = limits();
    struct nk_dtls_reasm ra;
    uint8_t body[100];
    nk_dtls_reasm_init(&ra, &lim);
    body_of(body, sizeof body, 0);
    struct nk_dtls_frag f = { .type = 2, .len = sizeof body, .flen = sizeof body, .data = body };
    /* The default window: next_receive_seq and the 7 after it. */
    for (uint16_t s = 1; s < 8; s++) {
        f.seq = s;
        ASSERT_EQ(nk_dtls_reasm_add(&ra, &f), OK) TH_LOG("seq %u", s);
    }
    f.seq = 8;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), NK_DTLS_MSG_AHEAD);
    f.seq = 0xffff;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), NK_DTLS_MSG_AHEAD);
    EXPECT_EQ(ra.held, 7u * (12 + 100 + 13));
    const uint8_t *msg;
    size_t n;
    EXPECT_EQ(nk_dtls_reasm_next(&ra, &msg, &n), NK_DTLS_MSG_NONE);
    f.seq = 0;
    ASSERT_EQ(nk_dtls_reasm_add(&ra, &f), NK_DTLS_MSG_READY);
    for (uint16_t s = 0; s < 8; s++) {
        ASSERT_EQ(nk_dtls_reasm_next(&ra, &msg, &n), OK);
        EXPECT_EQ(nk_load16(msg + 4), s);
    }
    EXPECT_EQ(nk_dtls_reasm_next(&ra, &msg, &n), NK_DTLS_MSG_NONE);
    EXPECT_EQ(ra.held, 0u);
    /* The window moved: 8 is next, 15 the last held. */
    f.seq = 15;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), OK);
    f.seq = 16;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), NK_DTLS_MSG_AHEAD);
    nk_dtls_reasm_free(&ra);
    EXPECT_EQ(ra.held, 0u);

    /* The setting is capped at 16 and is at least 1. */
    lim.dtls_hs_window = 1000;
    nk_dtls_reasm_init(&ra, &lim);
    f.seq = 15;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), OK);
    f.seq = 16;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), NK_DTLS_MSG_AHEAD);
    nk_dtls_reasm_free(&ra);
    lim.dtls_hs_window = 0;
    nk_dtls_reasm_init(&ra, &lim);
    f.seq = 1;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), NK_DTLS_MSG_AHEAD);
    f.seq = 0;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), NK_DTLS_MSG_READY);
    nk_dtls_reasm_free(&ra);
}

TEST(budget_bounds_what_is_held)
{
    struct nk_limits lim = limits();
    struct nk_dtls_reasm ra;
    static uint8_t body[3000];
    lim.dtls_reasm = 8000;
    nk_dtls_reasm_init(&ra, &lim);
    const uint32_t one = 12 + 3000 + 375;
    /* Two later messages fit (first fragments only); a third does not. */
    struct nk_dtls_frag f = { .type = 2, .len = sizeof body, .flen = 10, .data = body };
    f.seq = 1;
    ASSERT_EQ(nk_dtls_reasm_add(&ra, &f), OK);
    f.seq = 2;
    ASSERT_EQ(nk_dtls_reasm_add(&ra, &f), OK);
    EXPECT_EQ(ra.held, 2 * one);
    f.seq = 3;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), NK_DTLS_MSG_AHEAD);
    EXPECT_EQ(ra.held, 2 * one);
    /* The next message pushes the later ones out to fit. */
    f.seq = 0;
    ASSERT_EQ(nk_dtls_reasm_add(&ra, &f), OK);
    EXPECT_EQ(ra.held, one);
    f.seq = 1;   /* and a later one that fits again is held again */
    ASSERT_EQ(nk_dtls_reasm_add(&ra, &f), OK);
    EXPECT_EQ(ra.held, 2 * one);
    /* A next message alone over the budget: our own limit. */
    nk_dtls_reasm_free(&ra);
    nk_dtls_reasm_init(&ra, &lim);
    struct nk_dtls_frag big = { .type = 2, .len = 8000, .flen = 0, .data = body };
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &big), ERR_SSL_HANDSHAKE_MEMORY);
    EXPECT_EQ(ra.held, 0u);
    nk_dtls_reasm_free(&ra);
}

/* Every reassembler's bytes count in the process-wide handshake memory
 * (NKTLS_LIMIT_HANDSHAKE_MEMORY) with TLS's: two connections each within
 * their own budget, the second refused where the two together would pass
 * the process's; all of it given back when freed. */
TEST(process_budget_bounds_all_connections)
{
    struct nk_limits lim = limits();
    struct nk_dtls_reasm a, b;
    static uint8_t body[3000];
    const uint32_t one = 12 + 3000 + 375;
    uint64_t base = nk_hs_memory_held();
    lim.hs_memory = (uint32_t)base + one + one / 2;
    nk_dtls_reasm_init(&a, &lim);
    nk_dtls_reasm_init(&b, &lim);
    struct nk_dtls_frag f = { .type = 11, .len = sizeof body, .flen = 10, .data = body };
    ASSERT_EQ(nk_dtls_reasm_add(&a, &f), OK);
    EXPECT_EQ(nk_hs_memory_held() - base, one);
    EXPECT_EQ(nk_dtls_reasm_add(&b, &f), ERR_SSL_HANDSHAKE_MEMORY);
    EXPECT_EQ(b.held, 0u);
    EXPECT_EQ(nk_hs_memory_held() - base, one);
    /* Whole, handed out, then released: still counted until released. */
    f.flen = sizeof body;
    ASSERT_EQ(nk_dtls_reasm_add(&a, &f), NK_DTLS_MSG_READY);
    const uint8_t *msg;
    size_t n;
    ASSERT_EQ(nk_dtls_reasm_next(&a, &msg, &n), OK);
    EXPECT_EQ(nk_hs_memory_held() - base, one);
    nk_dtls_reasm_free(&a);
    EXPECT_EQ(nk_hs_memory_held(), base);
    f.flen = 10;
    ASSERT_EQ(nk_dtls_reasm_add(&b, &f), OK);   /* room again */
    nk_dtls_reasm_free(&b);
    EXPECT_EQ(nk_hs_memory_held(), base);
}

TEST(length_limits_per_type)
{
    struct nk_limits lim = limits();
    struct nk_dtls_reasm ra;
    uint8_t b[1] = { 0 };
    nk_dtls_reasm_init(&ra, &lim);
    /* Checked from the first fragment, before anything is held. */
    struct nk_dtls_frag f = { .type = 1, .len = 16 * 1024 + 1, .flen = 1, .data = b };
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), ERR_SSL_MESSAGE_TOO_LONG);
    EXPECT_EQ(ra.held, 0u);
    f.len = 16 * 1024;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), OK);
    /* A Certificate has its own limit (another message_seq: a later one). */
    f.type = 11;
    f.seq = 1;
    f.len = 64 * 1024 + 1;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), ERR_SSL_MESSAGE_TOO_LONG);
    f.len = 20000;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), OK);
    nk_dtls_reasm_free(&ra);
    EXPECT_EQ(ra.held, 0u);
}

TEST(old_messages_flagged)
{
    struct nk_limits lim = limits();
    struct nk_dtls_reasm ra;
    uint8_t body[40];
    const uint8_t *msg;
    size_t n;
    body_of(body, sizeof body, 0);
    nk_dtls_reasm_init(&ra, &lim);
    struct nk_dtls_frag f = { .type = 1, .len = sizeof body, .flen = sizeof body, .data = body };
    ASSERT_EQ(nk_dtls_reasm_add(&ra, &f), NK_DTLS_MSG_READY);
    ASSERT_EQ(nk_dtls_reasm_next(&ra, &msg, &n), OK);
    /* §4.2.2: MUST be discarded; §4.2.4: the peer retransmitted its flight. */
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), NK_DTLS_MSG_OLD);
    f.flen = 3;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), NK_DTLS_MSG_OLD);
    EXPECT_EQ(ra.held, 0u);
    EXPECT_EQ(nk_dtls_reasm_next(&ra, &msg, &n), NK_DTLS_MSG_NONE);
    /* The last message_seq there is; after it every message is old. */
    ra.next_seq = 0xffff;
    f.seq = 0xffff;
    f.flen = sizeof body;
    ASSERT_EQ(nk_dtls_reasm_add(&ra, &f), NK_DTLS_MSG_READY);
    ASSERT_EQ(nk_dtls_reasm_next(&ra, &msg, &n), OK);
    EXPECT_EQ(nk_load16(msg + 4), 0xffff);
    EXPECT_EQ(ra.next_seq, 0x10000u);
    EXPECT_EQ(nk_dtls_reasm_next(&ra, &msg, &n), NK_DTLS_MSG_NONE);
    f.seq = 0;
    EXPECT_EQ(nk_dtls_reasm_add(&ra, &f), NK_DTLS_MSG_OLD);
    nk_dtls_reasm_free(&ra);
}

TEST(empty_message)
{
    struct nk_limits lim = limits();
    struct nk_dtls_reasm ra;
    const uint8_t *msg;
    size_t n;
    nk_dtls_reasm_init(&ra, &lim);
    struct nk_dtls_frag f = { .type = 14, .seq = 0 };
    ASSERT_EQ(nk_dtls_reasm_add(&ra, &f), NK_DTLS_MSG_READY);
    ASSERT_EQ(nk_dtls_reasm_next(&ra, &msg, &n), OK);
    const uint8_t want[] = { 14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    ASSERT_EQ(n, sizeof want);
    EXPECT_MEM_EQ(msg, want, sizeof want);
    nk_dtls_reasm_free(&ra);
    EXPECT_EQ(ra.held, 0u);
}

TEST_HARNESS_MAIN
