/* test_wire.c — the bounds-checked reader, the length-patching writer and the
 * growable buffer (core/wire.c, core/nk.h): every read at its exact bound and one
 * byte past it, vector length bounds, sub-readers confined to their vector,
 * prefix patching and its overflow, and the writer's sticky error. */
#include <stdint.h>

#include "harness.h"
#include "core/nk.h"
#include "core/wire.h"

/* A reader over exactly n bytes of p. */
static struct nk_rd rd_over(const uint8_t *p, size_t n)
{
    struct nk_rd r;
    nk_rd_init(&r, p, n);
    return r;
}

/* ---- fixed-size reads ---- */

TEST(u8_exact_and_past)
{
    static const uint8_t in[] = { 0xa5 };
    struct nk_rd r = rd_over(in, sizeof in);
    uint8_t v = 0;

    ASSERT_EQ(nk_rd_u8(&r, &v), OK);
    EXPECT_EQ(v, 0xa5);
    EXPECT_EQ(nk_rd_left(&r), 0u);
    EXPECT_EQ(nk_rd_done(&r), OK);
    v = 0x11;
    EXPECT_EQ(nk_rd_u8(&r, &v), ERR_SSL_PROTOCOL);
    EXPECT_EQ(v, 0x11);   /* a failed read leaves the output alone */
}

TEST(u16_exact_and_past)
{
    static const uint8_t in[] = { 0xbe, 0xef, 0x01 };
    struct nk_rd r = rd_over(in, 2);
    uint16_t v = 0;

    ASSERT_EQ(nk_rd_u16(&r, &v), OK);
    EXPECT_EQ(v, 0xbeef);
    EXPECT_EQ(nk_rd_left(&r), 0u);

    /* One byte short: the reader must not look at in[2], which lies beyond it. */
    r = rd_over(in + 1, 1);
    EXPECT_EQ(nk_rd_u16(&r, &v), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rd_left(&r), 1u);   /* nothing consumed by a failed read */
    EXPECT_TRUE(r.p == in + 1);
}

/* A list of uint16 values: found anywhere, not past the reader's end, not
 * in an odd trailing byte; the reader given is a copy, left where it was. */
TEST(has_u16)
{
    static const uint8_t in[] = { 0x13, 0x01, 0xc0, 0x2b, 0x00, 0xff, 0x56 };
    struct nk_rd r = rd_over(in, 6);
    EXPECT_TRUE(nk_rd_has_u16(r, 0x1301));
    EXPECT_TRUE(nk_rd_has_u16(r, 0x00ff));
    EXPECT_FALSE(nk_rd_has_u16(r, 0x01c0));   /* not at a value's boundary */
    EXPECT_FALSE(nk_rd_has_u16(r, 0x5600));   /* beyond the reader */
    EXPECT_EQ(nk_rd_left(&r), 6u);
    r = rd_over(in, 7);
    EXPECT_FALSE(nk_rd_has_u16(r, 0x56));     /* the odd last byte is no value */
    r = rd_over(in, 0);
    EXPECT_FALSE(nk_rd_has_u16(r, 0));
}

TEST(u24_exact_and_past)
{
    static const uint8_t in[] = { 0xff, 0xfe, 0xfd };
    struct nk_rd r = rd_over(in, 3);
    uint32_t v = 0;

    ASSERT_EQ(nk_rd_u24(&r, &v), OK);
    EXPECT_EQ(v, 0xfffefdu);
    EXPECT_EQ(nk_rd_done(&r), OK);

    r = rd_over(in, 2);
    EXPECT_EQ(nk_rd_u24(&r, &v), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rd_left(&r), 2u);
}

TEST(u32_exact_and_past)
{
    static const uint8_t in[] = { 0xff, 0xff, 0xff, 0xff };
    struct nk_rd r = rd_over(in, 4);
    uint32_t v = 0;

    /* The top bit must survive: no sign extension from int promotion. */
    ASSERT_EQ(nk_rd_u32(&r, &v), OK);
    EXPECT_EQ(v, 0xffffffffu);
    EXPECT_EQ(nk_rd_done(&r), OK);

    r = rd_over(in, 3);
    EXPECT_EQ(nk_rd_u32(&r, &v), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rd_left(&r), 3u);
}

TEST(reads_on_empty_reader)
{
    static const uint8_t in[1] = { 0 };
    struct nk_rd r = rd_over(in, 0);
    uint8_t v8;
    uint16_t v16;
    uint32_t v32;
    const uint8_t *p;
    uint8_t dst[1];

    EXPECT_EQ(nk_rd_u8(&r, &v8), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rd_u16(&r, &v16), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rd_u24(&r, &v32), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rd_u32(&r, &v32), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rd_bytes(&r, 1, &p), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rd_copy(&r, dst, 1), ERR_SSL_PROTOCOL);
    /* Zero bytes from nothing is fine. */
    EXPECT_EQ(nk_rd_bytes(&r, 0, &p), OK);
    EXPECT_EQ(nk_rd_done(&r), OK);
}

TEST(bytes_exact_and_past)
{
    static const uint8_t in[] = { 1, 2, 3, 4, 5 };
    struct nk_rd r = rd_over(in, sizeof in);
    const uint8_t *p = NULL;

    ASSERT_EQ(nk_rd_bytes(&r, 2, &p), OK);
    EXPECT_TRUE(p == in);
    EXPECT_EQ(nk_rd_left(&r), 3u);
    EXPECT_EQ(nk_rd_bytes(&r, 4, &p), ERR_SSL_PROTOCOL);
    EXPECT_TRUE(p == in);
    EXPECT_EQ(nk_rd_left(&r), 3u);
    ASSERT_EQ(nk_rd_bytes(&r, 3, &p), OK);
    EXPECT_TRUE(p == in + 2);
    EXPECT_EQ(nk_rd_done(&r), OK);
}

TEST(bytes_huge_length_does_not_wrap)
{
    /* A length near SIZE_MAX must not wrap the pointer arithmetic into "fits". */
    static const uint8_t in[] = { 1, 2, 3 };
    struct nk_rd r = rd_over(in, sizeof in);
    const uint8_t *p = NULL;
    uint8_t dst[4];

    EXPECT_EQ(nk_rd_bytes(&r, SIZE_MAX, &p), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rd_bytes(&r, SIZE_MAX - 1, &p), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rd_bytes(&r, (size_t)PTRDIFF_MAX + 1, &p), ERR_SSL_PROTOCOL);
    EXPECT_NULL(p);
    EXPECT_EQ(nk_rd_copy(&r, dst, SIZE_MAX), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rd_left(&r), 3u);
}

TEST(copy_exact_and_past)
{
    static const uint8_t in[] = { 9, 8, 7, 6 };
    struct nk_rd r = rd_over(in, sizeof in);
    uint8_t dst[5] = { 0xee, 0xee, 0xee, 0xee, 0xee };

    EXPECT_EQ(nk_rd_copy(&r, dst, 5), ERR_SSL_PROTOCOL);
    EXPECT_EQ(dst[0], 0xee);   /* nothing copied on failure */
    ASSERT_EQ(nk_rd_copy(&r, dst, 4), OK);
    EXPECT_MEM_EQ(dst, in, 4);
    EXPECT_EQ(dst[4], 0xee);
    EXPECT_EQ(nk_rd_done(&r), OK);
}

TEST(sequence_of_reads)
{
    static const uint8_t in[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a };
    struct nk_rd r = rd_over(in, sizeof in);
    uint8_t a;
    uint16_t b;
    uint32_t c, d;

    ASSERT_EQ(nk_rd_u8(&r, &a), OK);
    ASSERT_EQ(nk_rd_u16(&r, &b), OK);
    ASSERT_EQ(nk_rd_u24(&r, &c), OK);
    ASSERT_EQ(nk_rd_u32(&r, &d), OK);
    EXPECT_EQ(a, 0x01);
    EXPECT_EQ(b, 0x0203);
    EXPECT_EQ(c, 0x040506u);
    EXPECT_EQ(d, 0x0708090au);
    EXPECT_EQ(nk_rd_done(&r), OK);
}

TEST(done_with_bytes_left)
{
    static const uint8_t in[] = { 0, 0, 0 };
    struct nk_rd r = rd_over(in, sizeof in);
    uint16_t v;

    EXPECT_EQ(nk_rd_done(&r), ERR_SSL_PROTOCOL);
    ASSERT_EQ(nk_rd_u16(&r, &v), OK);
    EXPECT_EQ(nk_rd_done(&r), ERR_SSL_PROTOCOL);   /* one byte left is still left over */
    EXPECT_EQ(nk_rd_left(&r), 1u);
}

/* ---- vectors ---- */

typedef MSTATUS (*vec_fn)(struct nk_rd *, struct nk_rd *, size_t, size_t);

static const struct {
    const char *name;
    vec_fn fn;
    size_t prefix;
} vecs[] = {
    { "vec8", nk_rd_vec8, 1 },
    { "vec16", nk_rd_vec16, 2 },
    { "vec24", nk_rd_vec24, 3 },
};

/* A vector of len bytes of 0x5a after a prefix-byte length field, in buf. */
static size_t make_vec(uint8_t *buf, size_t prefix, size_t declared, size_t actual)
{
    for (size_t i = 0; i < prefix; i++)
        buf[i] = (uint8_t)(declared >> (8 * (prefix - 1 - i)));
    memset(buf + prefix, 0x5a, actual);
    return prefix + actual;
}

TEST(vec_min_max_bounds)
{
    uint8_t buf[16];
    struct nk_rd r, sub;

    for (size_t i = 0; i < NK_ARRAY_LEN(vecs); i++) {
        size_t pre = vecs[i].prefix, n;

        /* Exactly min and exactly max are accepted. */
        n = make_vec(buf, pre, 2, 2);
        r = rd_over(buf, n);
        EXPECT_EQ(vecs[i].fn(&r, &sub, 2, 5), OK) TH_LOG("%s at min", vecs[i].name);
        EXPECT_EQ(nk_rd_left(&sub), 2u);
        EXPECT_TRUE(sub.p == buf + pre);
        EXPECT_EQ(nk_rd_done(&r), OK);

        n = make_vec(buf, pre, 5, 5);
        r = rd_over(buf, n);
        EXPECT_EQ(vecs[i].fn(&r, &sub, 2, 5), OK) TH_LOG("%s at max", vecs[i].name);
        EXPECT_EQ(nk_rd_left(&sub), 5u);
        EXPECT_EQ(nk_rd_done(&r), OK);

        /* One below min and one above max are decode errors even when the bytes exist. */
        n = make_vec(buf, pre, 1, 1);
        r = rd_over(buf, n);
        EXPECT_EQ(vecs[i].fn(&r, &sub, 2, 5), ERR_SSL_PROTOCOL) TH_LOG("%s below min", vecs[i].name);

        n = make_vec(buf, pre, 6, 6);
        r = rd_over(buf, n);
        EXPECT_EQ(vecs[i].fn(&r, &sub, 2, 5), ERR_SSL_PROTOCOL) TH_LOG("%s above max", vecs[i].name);

        /* Empty vector allowed when min is 0. */
        n = make_vec(buf, pre, 0, 0);
        r = rd_over(buf, n);
        EXPECT_EQ(vecs[i].fn(&r, &sub, 0, 5), OK) TH_LOG("%s empty", vecs[i].name);
        EXPECT_EQ(nk_rd_left(&sub), 0u);
        EXPECT_EQ(nk_rd_done(&sub), OK);
    }
}

TEST(vec_length_past_end)
{
    uint8_t buf[16];
    struct nk_rd r, sub;

    for (size_t i = 0; i < NK_ARRAY_LEN(vecs); i++) {
        size_t pre = vecs[i].prefix;
        /* Declares 4, carries 3: one byte past the end. */
        size_t n = make_vec(buf, pre, 4, 3);
        r = rd_over(buf, n);
        EXPECT_EQ(vecs[i].fn(&r, &sub, 0, 0xffffff), ERR_SSL_PROTOCOL) TH_LOG("%s", vecs[i].name);
        /* Declares exactly what it carries. */
        n = make_vec(buf, pre, 3, 3);
        r = rd_over(buf, n);
        EXPECT_EQ(vecs[i].fn(&r, &sub, 0, 0xffffff), OK) TH_LOG("%s", vecs[i].name);
        EXPECT_EQ(nk_rd_left(&sub), 3u);
        /* The length field itself truncated. */
        r = rd_over(buf, pre - 1);
        EXPECT_EQ(vecs[i].fn(&r, &sub, 0, 0xffffff), ERR_SSL_PROTOCOL) TH_LOG("%s", vecs[i].name);
    }
}

TEST(vec_largest_lengths)
{
    /* The largest length each prefix can express, with max at that value. */
    size_t big = 0xffffff + 3;
    uint8_t *buf = calloc(1, big);
    struct nk_rd r, sub;

    ASSERT_NOT_NULL(buf);
    buf[0] = 0xff;
    r = rd_over(buf, 1 + 0xff);
    EXPECT_EQ(nk_rd_vec8(&r, &sub, 0, 0xff), OK);
    EXPECT_EQ(nk_rd_left(&sub), 0xffu);
    r = rd_over(buf, 1 + 0xfe);
    EXPECT_EQ(nk_rd_vec8(&r, &sub, 0, 0xff), ERR_SSL_PROTOCOL);

    buf[0] = 0xff;
    buf[1] = 0xff;
    r = rd_over(buf, 2 + 0xffff);
    EXPECT_EQ(nk_rd_vec16(&r, &sub, 0, 0xffff), OK);
    EXPECT_EQ(nk_rd_left(&sub), 0xffffu);
    /* RFC bounds tighter than the prefix: <2..2^16-2> rejects 2^16-1. */
    r = rd_over(buf, 2 + 0xffff);
    EXPECT_EQ(nk_rd_vec16(&r, &sub, 2, 0xfffe), ERR_SSL_PROTOCOL);

    buf[2] = 0xff;
    r = rd_over(buf, big);
    EXPECT_EQ(nk_rd_vec24(&r, &sub, 0, 0xffffff), OK);
    EXPECT_EQ(nk_rd_left(&sub), 0xffffffu);
    EXPECT_EQ(nk_rd_done(&r), OK);
    r = rd_over(buf, big - 1);
    EXPECT_EQ(nk_rd_vec24(&r, &sub, 0, 0xffffff), ERR_SSL_PROTOCOL);
    free(buf);
}

TEST(sub_reader_stays_inside)
{
    /* vec8 of 3 bytes, then 2 more bytes that belong to the parent. */
    static const uint8_t in[] = { 3, 0xa1, 0xa2, 0xa3, 0xb1, 0xb2 };
    struct nk_rd r = rd_over(in, sizeof in), sub;
    uint16_t v16;
    uint32_t v32;
    uint8_t v8;

    ASSERT_EQ(nk_rd_vec8(&r, &sub, 0, 255), OK);
    EXPECT_TRUE(sub.end == r.p);        /* the sub-reader ends where the parent resumes */
    EXPECT_EQ(nk_rd_left(&r), 2u);

    /* A 4-byte read fits the parent's memory but not the vector. */
    EXPECT_EQ(nk_rd_u32(&sub, &v32), ERR_SSL_PROTOCOL);
    ASSERT_EQ(nk_rd_u16(&sub, &v16), OK);
    EXPECT_EQ(v16, 0xa1a2);
    EXPECT_EQ(nk_rd_u16(&sub, &v16), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rd_done(&sub), ERR_SSL_PROTOCOL);   /* a3 is left over in the vector */
    ASSERT_EQ(nk_rd_u8(&sub, &v8), OK);
    EXPECT_EQ(v8, 0xa3);
    EXPECT_EQ(nk_rd_u8(&sub, &v8), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rd_done(&sub), OK);

    /* The parent was not moved by reads on the sub-reader. */
    ASSERT_EQ(nk_rd_u16(&r, &v16), OK);
    EXPECT_EQ(v16, 0xb1b2);
    EXPECT_EQ(nk_rd_done(&r), OK);
}

TEST(nested_vector_cannot_escape)
{
    /* Outer vec16 of 4 bytes holds a vec8 that claims 5: it must not reach into
     * the trailing bytes of the outer buffer. */
    static const uint8_t in[] = { 0, 4, 5, 1, 2, 3, 4, 5, 6, 7 };
    struct nk_rd r = rd_over(in, sizeof in), outer, inner;

    ASSERT_EQ(nk_rd_vec16(&r, &outer, 0, 0xffff), OK);
    EXPECT_EQ(nk_rd_left(&outer), 4u);
    EXPECT_EQ(nk_rd_vec8(&outer, &inner, 0, 255), ERR_SSL_PROTOCOL);
    EXPECT_EQ(nk_rd_left(&r), 4u);
}

TEST(nested_vectors_walk)
{
    /* vec16 { vec8 {aa}, vec8 {bb cc}, vec8 {} } — the shape of extension lists. */
    static const uint8_t in[] = { 0, 6, 1, 0xaa, 2, 0xbb, 0xcc, 0 };
    struct nk_rd r = rd_over(in, sizeof in), list, item;
    size_t lens[4], n = 0;

    ASSERT_EQ(nk_rd_vec16(&r, &list, 1, 0xffff), OK);
    while (nk_rd_left(&list)) {
        ASSERT_EQ(nk_rd_vec8(&list, &item, 0, 255), OK);
        ASSERT_LT(n, 4u);
        lens[n++] = nk_rd_left(&item);
    }
    ASSERT_EQ(n, 3u);
    EXPECT_EQ(lens[0], 1u);
    EXPECT_EQ(lens[1], 2u);
    EXPECT_EQ(lens[2], 0u);
    EXPECT_EQ(nk_rd_done(&r), OK);
}

/* ---- writer ---- */

FIXTURE(wr) {
    struct nk_buf b;
    struct nk_wr w;
};

FIXTURE_SETUP(wr)
{
    memset(&self->b, 0, sizeof self->b);
    nk_wr_init(&self->w, &self->b);
}

FIXTURE_TEARDOWN(wr)
{
    nk_buf_free(&self->b);
}

TEST_F(wr, integers_big_endian)
{
    static const uint8_t want[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
                                    0xaa, 0xbb };
    nk_wr_u8(&self->w, 0x01);
    nk_wr_u16(&self->w, 0x0203);
    nk_wr_u24(&self->w, 0x040506);
    nk_wr_u32(&self->w, 0x0708090a);
    nk_wr_bytes(&self->w, "\xaa\xbb", 2);
    ASSERT_EQ(nk_wr_status(&self->w), OK);
    ASSERT_EQ(self->b.len, sizeof want);
    EXPECT_MEM_EQ(self->b.p, want, sizeof want);
}

TEST_F(wr, u24_drops_high_byte)
{
    /* A u24 carries only the low 24 bits; the high byte must not spill into the
     * byte before it. */
    nk_wr_u8(&self->w, 0x77);
    nk_wr_u24(&self->w, 0xff123456);
    ASSERT_EQ(self->b.len, 4u);
    EXPECT_MEM_EQ(self->b.p, "\x77\x12\x34\x56", 4);
}

TEST_F(wr, open_close_each_prefix)
{
    for (int pre = 1; pre <= 3; pre++) {
        self->b.len = 0;
        nk_wr_init(&self->w, &self->b);
        nk_wr_u8(&self->w, 0xee);
        size_t pos = nk_wr_open(&self->w, pre);
        EXPECT_EQ(pos, 1u);
        EXPECT_EQ(self->b.len, 1u + (size_t)pre);
        nk_wr_bytes(&self->w, "abcde", 5);
        nk_wr_close(&self->w, pos, pre);
        ASSERT_EQ(nk_wr_status(&self->w), OK) TH_LOG("prefix %d", pre);
        ASSERT_EQ(self->b.len, 1u + (size_t)pre + 5);
        EXPECT_EQ(self->b.p[0], 0xee);
        for (int i = 0; i < pre - 1; i++)
            EXPECT_EQ(self->b.p[1 + i], 0) TH_LOG("prefix %d byte %d", pre, i);
        EXPECT_EQ(self->b.p[pre], 5) TH_LOG("prefix %d", pre);
        EXPECT_MEM_EQ(self->b.p + 1 + pre, "abcde", 5);

        /* What was written reads back through the matching vector reader. */
        struct nk_rd r = rd_over(self->b.p + 1, self->b.len - 1), sub;
        MSTATUS st = pre == 1 ? nk_rd_vec8(&r, &sub, 0, 0xffffff)
                   : pre == 2 ? nk_rd_vec16(&r, &sub, 0, 0xffffff)
                              : nk_rd_vec24(&r, &sub, 0, 0xffffff);
        EXPECT_EQ(st, OK);
        EXPECT_EQ(nk_rd_left(&sub), 5u);
        EXPECT_EQ(nk_rd_done(&r), OK);
    }
}

TEST_F(wr, empty_vectors)
{
    for (int pre = 1; pre <= 3; pre++) {
        size_t pos = nk_wr_open(&self->w, pre);
        nk_wr_close(&self->w, pos, pre);
    }
    ASSERT_EQ(nk_wr_status(&self->w), OK);
    ASSERT_EQ(self->b.len, 6u);
    EXPECT_MEM_EQ(self->b.p, "\0\0\0\0\0\0", 6);
}

TEST_F(wr, nested_prefixes)
{
    /* vec16 { u16 type, vec16 { vec8 "hi" } } — an extension with a list inside. */
    static const uint8_t want[] = { 0x00, 0x07, 0x12, 0x34, 0x00, 0x03, 0x02, 'h', 'i' };
    size_t outer = nk_wr_open(&self->w, 2);
    nk_wr_u16(&self->w, 0x1234);
    size_t mid = nk_wr_open(&self->w, 2);
    size_t in = nk_wr_open(&self->w, 1);
    nk_wr_bytes(&self->w, "hi", 2);
    nk_wr_close(&self->w, in, 1);
    nk_wr_close(&self->w, mid, 2);
    nk_wr_close(&self->w, outer, 2);
    ASSERT_EQ(nk_wr_status(&self->w), OK);
    ASSERT_EQ(self->b.len, sizeof want);
    EXPECT_MEM_EQ(self->b.p, want, sizeof want);
}

TEST_F(wr, prefix_exact_maximum)
{
    /* 255 bytes fit a 1-byte prefix, 65535 a 2-byte one, and 2^24-1 a 3-byte one. */
    static const size_t max[3] = { 0xff, 0xffff, 0xffffff };
    for (int pre = 1; pre <= 3; pre++) {
        self->b.len = 0;
        nk_wr_init(&self->w, &self->b);
        size_t pos = nk_wr_open(&self->w, pre);
        uint8_t *p = nk_wr_space(&self->w, max[pre - 1]);
        ASSERT_NOT_NULL(p);
        memset(p, 0x42, max[pre - 1]);
        nk_wr_close(&self->w, pos, pre);
        ASSERT_EQ(nk_wr_status(&self->w), OK) TH_LOG("prefix %d", pre);
        for (int i = 0; i < pre; i++)
            EXPECT_EQ(self->b.p[i], 0xff) TH_LOG("prefix %d byte %d", pre, i);
    }
}

TEST_F(wr, prefix_overflow_is_sticky)
{
    /* 256 bytes under a 1-byte prefix cannot be expressed. */
    nk_wr_u8(&self->w, 0x01);
    size_t pos = nk_wr_open(&self->w, 1);
    uint8_t *p = nk_wr_space(&self->w, 256);
    ASSERT_NOT_NULL(p);
    memset(p, 0, 256);
    nk_wr_close(&self->w, pos, 1);
    EXPECT_LT(nk_wr_status(&self->w), 0);
    EXPECT_EQ(nk_wr_status(&self->w), ERR_SSL_INTERNAL);

    /* Every later write is refused and changes nothing. */
    size_t len = self->b.len;
    nk_wr_u8(&self->w, 1);
    nk_wr_u16(&self->w, 1);
    nk_wr_u24(&self->w, 1);
    nk_wr_u32(&self->w, 1);
    nk_wr_bytes(&self->w, "x", 1);
    EXPECT_NULL(nk_wr_space(&self->w, 1));
    size_t pos2 = nk_wr_open(&self->w, 2);
    nk_wr_close(&self->w, pos2, 2);
    EXPECT_EQ(self->b.len, len);
    EXPECT_EQ(nk_wr_status(&self->w), ERR_SSL_INTERNAL);
}

TEST_F(wr, prefix_overflow_2_and_3)
{
    size_t pos = nk_wr_open(&self->w, 2);
    ASSERT_NOT_NULL(nk_wr_space(&self->w, 0x10000));
    nk_wr_close(&self->w, pos, 2);
    EXPECT_EQ(nk_wr_status(&self->w), ERR_SSL_INTERNAL);

    nk_buf_free(&self->b);
    nk_wr_init(&self->w, &self->b);
    pos = nk_wr_open(&self->w, 3);
    ASSERT_NOT_NULL(nk_wr_space(&self->w, 0x1000000));
    nk_wr_close(&self->w, pos, 3);
    EXPECT_EQ(nk_wr_status(&self->w), ERR_SSL_INTERNAL);
}

TEST_F(wr, first_error_wins)
{
    /* An allocation failure, then an overflowing prefix: the first error is kept. */
    size_t pos = nk_wr_open(&self->w, 1);
    EXPECT_NULL(nk_wr_space(&self->w, SIZE_MAX));
    EXPECT_EQ(nk_wr_status(&self->w), ERR_MEM_ALLOC_FAIL);
    EXPECT_EQ(self->b.len, 1u);   /* the failed reservation took nothing */
    nk_wr_close(&self->w, pos, 1);
    EXPECT_EQ(nk_wr_status(&self->w), ERR_MEM_ALLOC_FAIL);
}

TEST_F(wr, space_returns_the_reserved_bytes)
{
    nk_wr_u16(&self->w, 0xabcd);
    uint8_t *p = nk_wr_space(&self->w, 3);
    ASSERT_NOT_NULL(p);
    EXPECT_TRUE(p == self->b.p + 2);
    memcpy(p, "xyz", 3);
    nk_wr_u8(&self->w, '!');
    ASSERT_EQ(self->b.len, 6u);
    EXPECT_MEM_EQ(self->b.p, "\xab\xcdxyz!", 6);
}

TEST_F(wr, zero_length_bytes)
{
    nk_wr_bytes(&self->w, "", 0);
    EXPECT_EQ(nk_wr_status(&self->w), OK);
    EXPECT_EQ(self->b.len, 0u);
    nk_wr_u8(&self->w, 7);
    nk_wr_bytes(&self->w, "", 0);
    EXPECT_EQ(self->b.len, 1u);
    EXPECT_EQ(nk_wr_status(&self->w), OK);
}

TEST_F(wr, growth_keeps_prefix_position)
{
    /* The buffer moves while a prefix is open: the patch must follow it. */
    size_t pos = nk_wr_open(&self->w, 3);
    for (int i = 0; i < 5000; i++)
        nk_wr_u16(&self->w, (uint16_t)i);
    nk_wr_close(&self->w, pos, 3);
    ASSERT_EQ(nk_wr_status(&self->w), OK);
    ASSERT_EQ(self->b.len, 3u + 10000u);
    EXPECT_MEM_EQ(self->b.p, "\x00\x27\x10", 3);
    EXPECT_EQ(nk_load16(self->b.p + 3 + 2 * 4999), 4999);
}

/* ---- helpers in wire.h ---- */

TEST(load_store_helpers)
{
    uint8_t b[4] = { 0, 0, 0, 0xcc };
    nk_store16(b, 0xfedc);
    EXPECT_EQ(nk_load16(b), 0xfedc);
    EXPECT_MEM_EQ(b, "\xfe\xdc", 2);
    nk_store24(b, 0x00abcdef);
    EXPECT_MEM_EQ(b, "\xab\xcd\xef\xcc", 4);
    nk_store24(b, 0xff010203);   /* only the low 24 bits */
    EXPECT_MEM_EQ(b, "\x01\x02\x03\xcc", 4);
}

/* ---- nk_buf ---- */

TEST(buf_growth)
{
    struct nk_buf b = { 0 };
    uint8_t chunk[100];

    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (uint8_t)i;
    ASSERT_EQ(nk_buf_reserve(&b, 1), OK);
    EXPECT_NOT_NULL(b.p);
    EXPECT_GE(b.cap, 1u);
    EXPECT_EQ(b.len, 0u);

    /* Appending past capacity many times keeps every byte in order. */
    for (int i = 0; i < 50; i++)
        ASSERT_EQ(nk_buf_append(&b, chunk, sizeof chunk), OK);
    ASSERT_EQ(b.len, 5000u);
    EXPECT_GE(b.cap, b.len);
    for (int i = 0; i < 50; i++)
        EXPECT_MEM_EQ(b.p + i * 100, chunk, sizeof chunk) TH_LOG("chunk %d", i);

    /* Reserving what already fits does not move the data. */
    size_t cap = b.cap;
    uint8_t *p = b.p;
    ASSERT_EQ(nk_buf_reserve(&b, cap - b.len), OK);
    EXPECT_TRUE(b.p == p);
    EXPECT_EQ(b.cap, cap);
    ASSERT_EQ(nk_buf_reserve(&b, cap - b.len + 1), OK);
    EXPECT_GT(b.cap, cap);
    EXPECT_MEM_EQ(b.p + 4900, chunk, sizeof chunk);

    nk_buf_free(&b);
    EXPECT_NULL(b.p);
    EXPECT_EQ(b.len, 0u);
    EXPECT_EQ(b.cap, 0u);
    nk_buf_free(&b);   /* twice is harmless */
}

TEST(buf_reserve_overflow)
{
    struct nk_buf b = { 0 };
    ASSERT_EQ(nk_buf_append(&b, "abc", 3), OK);
    uint8_t *p = b.p;
    EXPECT_EQ(nk_buf_reserve(&b, SIZE_MAX), ERR_MEM_ALLOC_FAIL);
    EXPECT_EQ(nk_buf_reserve(&b, SIZE_MAX - 2), ERR_MEM_ALLOC_FAIL);
    EXPECT_EQ(nk_buf_append(&b, "x", SIZE_MAX), ERR_MEM_ALLOC_FAIL);
    /* The buffer is untouched by the failures. */
    EXPECT_TRUE(b.p == p);
    EXPECT_EQ(b.len, 3u);
    EXPECT_MEM_EQ(b.p, "abc", 3);
    nk_buf_free(&b);
}

TEST(buf_append_zero)
{
    struct nk_buf b = { 0 };
    EXPECT_EQ(nk_buf_append(&b, NULL, 0), OK);
    EXPECT_EQ(b.len, 0u);
    nk_buf_free(&b);
}

TEST(buf_consume)
{
    struct nk_buf b = { 0 };
    ASSERT_EQ(nk_buf_append(&b, "0123456789", 10), OK);

    nk_buf_consume(&b, 0);
    ASSERT_EQ(b.len, 10u);
    EXPECT_MEM_EQ(b.p, "0123456789", 10);

    nk_buf_consume(&b, 3);
    ASSERT_EQ(b.len, 7u);
    EXPECT_MEM_EQ(b.p, "3456789", 7);
    /* The bytes behind the new end are wiped: they held consumed data. */
    for (size_t i = b.len; i < 10; i++)
        EXPECT_EQ(b.p[i], 0) TH_LOG("byte %zu", i);

    nk_buf_consume(&b, 6);
    ASSERT_EQ(b.len, 1u);
    EXPECT_EQ(b.p[0], '9');

    /* All of it, and more than all of it. */
    nk_buf_consume(&b, 1);
    EXPECT_EQ(b.len, 0u);
    ASSERT_EQ(nk_buf_append(&b, "ab", 2), OK);
    nk_buf_consume(&b, 100);
    EXPECT_EQ(b.len, 0u);
    EXPECT_EQ(b.p[0], 0);

    /* Still usable after emptying. */
    ASSERT_EQ(nk_buf_append(&b, "z", 1), OK);
    EXPECT_EQ(b.len, 1u);
    EXPECT_EQ(b.p[0], 'z');
    nk_buf_free(&b);

    /* Consuming from a never-allocated buffer is harmless. */
    nk_buf_consume(&b, 5);
    EXPECT_EQ(b.len, 0u);
}

TEST_HARNESS_MAIN
