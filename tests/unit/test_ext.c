/* test_ext.c — extension blocks and the extension codecs (handshake/ext.c):
 * nk_ext_parse (duplicates at any distance are illegal_parameter, RFC 8446
 * §4.2; any number of extensions; the types nktls reads plus the first
 * unknown one are kept, with the `last` flag §4.2.11 needs), GREASE values
 * (RFC 8701), u16 lists with and without a keep() filter, server_name written
 * and read back and every host name RFC 6066 §3 refuses, and ALPN lists
 * (RFC 7301 §3.1). Every case checks exact bytes, counts and error codes. */
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "handshake/hs.h"

/* A reader over exactly n bytes of p. */
static struct nk_rd rd_over(const uint8_t *p, size_t n)
{
    struct nk_rd r;
    nk_rd_init(&r, p, n);
    return r;
}

/* Writes one extension (type, data); the caller wraps the block. */
static void put_ext(struct nk_wr *w, uint16_t type, const void *d, size_t n)
{
    nk_wr_u16(w, type);
    size_t at = nk_wr_open(w, 2);
    nk_wr_bytes(w, d, n);
    nk_wr_close(w, at, 2);
}

/* ---- nk_ext_parse ---- */

TEST(parse_absent_block)
{
    /* The extensions field of a hello may be missing entirely. */
    static const uint8_t none[1] = { 0 };
    struct nk_rd r = rd_over(none, 0);
    struct nk_ext e[NK_MAX_EXTS];
    size_t n = 99;
    ASSERT_EQ(nk_ext_parse(&r, e, &n), OK);
    EXPECT_EQ(n, 0u);
}

TEST(parse_empty_block)
{
    static const uint8_t in[] = { 0, 0, 0xee };
    struct nk_rd r = rd_over(in, sizeof in);
    struct nk_ext e[NK_MAX_EXTS];
    size_t n = 99;
    ASSERT_EQ(nk_ext_parse(&r, e, &n), OK);
    EXPECT_EQ(n, 0u);
    /* Only the block is consumed: what follows is the caller's to judge. */
    EXPECT_EQ(nk_rd_left(&r), 1u);
    EXPECT_TRUE(r.p == in + 2);
}

TEST(parse_known_types_in_order)
{
    static const uint8_t in[] = {
        0, 17,
        0, NK_EXT_SERVER_NAME, 0, 3, 'a', 'b', 'c',
        0, NK_EXT_SUPPORTED_VERSIONS, 0, 2, 0x03, 0x04,
        0, NK_EXT_KEY_SHARE, 0, 0,
    };
    struct nk_rd r = rd_over(in, sizeof in);
    struct nk_ext e[NK_MAX_EXTS];
    size_t n = 0;
    ASSERT_EQ(nk_ext_parse(&r, e, &n), OK);
    ASSERT_EQ(n, 3u);
    EXPECT_EQ(nk_rd_left(&r), 0u);
    EXPECT_EQ(e[0].type, NK_EXT_SERVER_NAME);
    EXPECT_TRUE(e[0].data.p == in + 6);
    EXPECT_EQ(nk_rd_left(&e[0].data), 3u);
    EXPECT_EQ(e[0].last, 0);
    EXPECT_EQ(e[1].type, NK_EXT_SUPPORTED_VERSIONS);
    EXPECT_TRUE(e[1].data.p == in + 13);
    EXPECT_EQ(nk_rd_left(&e[1].data), 2u);
    EXPECT_EQ(e[1].last, 0);
    EXPECT_EQ(e[2].type, NK_EXT_KEY_SHARE);
    EXPECT_EQ(nk_rd_left(&e[2].data), 0u);
    EXPECT_EQ(e[2].last, 1);

    EXPECT_TRUE(nk_ext_find(e, n, NK_EXT_SUPPORTED_VERSIONS) == &e[1]);
    EXPECT_TRUE(nk_ext_find(e, n, NK_EXT_KEY_SHARE) == &e[2]);
    EXPECT_NULL(nk_ext_find(e, n, NK_EXT_ALPN));
    EXPECT_NULL(nk_ext_find(e, 0, NK_EXT_SERVER_NAME));
}

TEST(parse_duplicates_refused)
{
    /* Known or not, next to each other or far apart, at either end of the
     * type space: a second extension of one type is illegal_parameter. */
    static const uint16_t rows[][3] = {
        { NK_EXT_KEY_SHARE, NK_EXT_KEY_SHARE, NK_EXT_ALPN },
        { NK_EXT_SERVER_NAME, 0x1234, NK_EXT_SERVER_NAME },
        { 0x1234, 0x5678, 0x1234 },     /* the second copy would not even be kept */
        { 0xffff, 0x0a0a, 0xffff },
        { 0x0a0a, NK_EXT_ALPN, 0x0a0a },
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(rows); i++) {
        struct nk_buf b = { 0 };
        struct nk_wr w;
        nk_wr_init(&w, &b);
        size_t blk = nk_wr_open(&w, 2);
        for (int k = 0; k < 3; k++)
            put_ext(&w, rows[i][k], "x", 1);
        nk_wr_close(&w, blk, 2);
        ASSERT_EQ(nk_wr_status(&w), OK);
        struct nk_rd r = rd_over(b.p, b.len);
        struct nk_ext e[NK_MAX_EXTS];
        size_t n;
        EXPECT_EQ(nk_ext_parse(&r, e, &n), ERR_SSL_ILLEGAL_PARAMETER) TH_LOG("row %zu", i);
        nk_buf_free(&b);
    }
}

TEST(parse_neighbour_types_are_not_duplicates)
{
    /* Types that share a word of the seen-set, and the ends of the range. */
    static const uint16_t types[] = { 0, 1, 63, 64, 65, 127, 0xffc0, 0xfffe, 0xffff };
    struct nk_buf b = { 0 };
    struct nk_wr w;
    nk_wr_init(&w, &b);
    size_t blk = nk_wr_open(&w, 2);
    for (size_t i = 0; i < NK_ARRAY_LEN(types); i++)
        put_ext(&w, types[i], NULL, 0);
    nk_wr_close(&w, blk, 2);
    ASSERT_EQ(nk_wr_status(&w), OK);
    struct nk_rd r = rd_over(b.p, b.len);
    struct nk_ext e[NK_MAX_EXTS];
    size_t n = 0;
    EXPECT_EQ(nk_ext_parse(&r, e, &n), OK);
    /* server_name (0), max_fragment_length (1) and the first unknown (63). */
    ASSERT_EQ(n, 3u);
    EXPECT_EQ(e[0].type, 0);
    EXPECT_EQ(e[1].type, 1);
    EXPECT_EQ(e[2].type, 63);
    EXPECT_EQ(e[2].last, 0);
    nk_buf_free(&b);
}

TEST(parse_keeps_known_and_first_unknown)
{
    static const uint8_t in[] = {
        0, 19,
        0x12, 0x34, 0, 1, 0xaa,                  /* first unknown: kept */
        0, NK_EXT_PRE_SHARED_KEY, 0, 1, 0xbb,
        0x56, 0x78, 0, 1, 0xcc,                  /* second unknown: passed over */
        0, NK_EXT_ALPN, 0, 0,
    };
    struct nk_rd r = rd_over(in, sizeof in);
    struct nk_ext e[NK_MAX_EXTS];
    size_t n = 0;
    ASSERT_EQ(nk_ext_parse(&r, e, &n), OK);
    ASSERT_EQ(n, 3u);
    EXPECT_EQ(e[0].type, 0x1234);
    EXPECT_EQ(e[0].data.p[0], 0xaa);
    EXPECT_EQ(e[1].type, NK_EXT_PRE_SHARED_KEY);
    EXPECT_EQ(e[1].last, 0);
    EXPECT_EQ(e[2].type, NK_EXT_ALPN);
    EXPECT_EQ(e[2].last, 1);
    EXPECT_NULL(nk_ext_find(e, n, 0x5678));
}

TEST(parse_last_flag_with_unkept_tail)
{
    /* pre_shared_key followed by an unknown that is not kept: no kept
     * extension is the last of its block, so §4.2.11's check can refuse it. */
    static const uint8_t in[] = {
        0, 14,
        0x0a, 0x0a, 0, 0,
        0, NK_EXT_PRE_SHARED_KEY, 0, 0,
        0x1a, 0x1a, 0, 2, 1, 2,
    };
    struct nk_rd r = rd_over(in, sizeof in);
    struct nk_ext e[NK_MAX_EXTS];
    size_t n = 0;
    ASSERT_EQ(nk_ext_parse(&r, e, &n), OK);
    ASSERT_EQ(n, 2u);
    EXPECT_EQ(e[0].type, 0x0a0a);
    EXPECT_EQ(e[0].last, 0);
    EXPECT_EQ(e[1].type, NK_EXT_PRE_SHARED_KEY);
    EXPECT_EQ(e[1].last, 0);
}

TEST(parse_any_number)
{
    /* Every type nktls reads, between thousands of unknown and GREASE ones, in
     * a block near its 64 KiB bound: 14 kept plus the first unknown. */
    static const uint16_t known[] = {
        NK_EXT_SERVER_NAME, NK_EXT_SUPPORTED_GROUPS, NK_EXT_SIGNATURE_ALGORITHMS, NK_EXT_ALPN,
        NK_EXT_RECORD_SIZE_LIMIT, NK_EXT_PRE_SHARED_KEY, NK_EXT_EARLY_DATA,
        NK_EXT_SUPPORTED_VERSIONS, NK_EXT_COOKIE, NK_EXT_PSK_KEY_EXCHANGE_MODES,
        NK_EXT_CERTIFICATE_AUTHORITIES, NK_EXT_POST_HANDSHAKE_AUTH,
        NK_EXT_SIGNATURE_ALGORITHMS_CERT, NK_EXT_KEY_SHARE,
    };
    struct nk_buf b = { 0 };
    struct nk_wr w;
    nk_wr_init(&w, &b);
    size_t blk = nk_wr_open(&w, 2);
    size_t k = 0;
    for (unsigned i = 0; i < 16000; i++) {
        uint16_t t = (uint16_t)(0x2000 + i);
        if (i % 1000 == 999 && k < NK_ARRAY_LEN(known))
            put_ext(&w, known[k++], "k", 1);
        if ((t & 0x0f0f) != 0x0a0a || (t >> 12) != ((t >> 4) & 0xf))   /* GREASE come below */
            put_ext(&w, t, NULL, 0);
    }
    for (unsigned i = 0; i < 16; i++)
        put_ext(&w, (uint16_t)(0x0a0a + i * 0x1010), NULL, 0);
    nk_wr_close(&w, blk, 2);
    ASSERT_EQ(nk_wr_status(&w), OK);
    ASSERT_EQ(k, NK_ARRAY_LEN(known));
    ASSERT_GT(b.len, 64000u);

    struct nk_rd r = rd_over(b.p, b.len);
    struct nk_ext e[NK_MAX_EXTS];
    size_t n = 0;
    ASSERT_EQ(nk_ext_parse(&r, e, &n), OK);
    ASSERT_EQ(n, 1 + NK_ARRAY_LEN(known));
    EXPECT_LE(n, (size_t)NK_MAX_EXTS);
    EXPECT_EQ(e[0].type, 0x2000);
    for (size_t i = 0; i < NK_ARRAY_LEN(known); i++) {
        EXPECT_EQ(e[1 + i].type, known[i]);
        EXPECT_EQ(e[1 + i].last, 0);
        EXPECT_EQ(nk_rd_left(&e[1 + i].data), 1u);
    }
    EXPECT_EQ(nk_rd_left(&r), 0u);
    nk_buf_free(&b);
}

TEST(parse_malformed)
{
    static const struct { uint8_t in[12]; size_t n; } bad[] = {
        { { 0 }, 1 },                                   /* half a block length */
        { { 0, 5, 0, 1, 0, 0 }, 6 },                    /* block longer than the input */
        { { 0, 1, 0 }, 3 },                             /* half a type */
        { { 0, 3, 0, 1, 0 }, 5 },                       /* half an extension length */
        { { 0, 6, 0, 1, 0, 3, 1, 2 }, 8 },              /* data past the block */
        { { 0, 4, 0, 1, 0, 1, 9, 9 }, 8 },              /* data past the block, not the input */
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(bad); i++) {
        struct nk_rd r = rd_over(bad[i].in, bad[i].n);
        struct nk_ext e[NK_MAX_EXTS];
        size_t n;
        EXPECT_EQ(nk_ext_parse(&r, e, &n), ERR_SSL_PROTOCOL) TH_LOG("row %zu", i);
    }
}

/* ---- GREASE ---- */

TEST(grease_values)
{
    unsigned count = 0;
    for (uint32_t v = 0; v <= 0xffff; v++) {
        int want = (v & 0xff) == (v >> 8) && (v & 0x0f) == 0x0a;
        EXPECT_EQ(nk_ext_is_grease((uint16_t)v), want) TH_LOG("0x%04x", v);
        count += nk_ext_is_grease((uint16_t)v) != 0;
    }
    EXPECT_EQ(count, 16u);
    EXPECT_TRUE(nk_ext_is_grease(0x0a0a));
    EXPECT_TRUE(nk_ext_is_grease(0xfafa));
    EXPECT_FALSE(nk_ext_is_grease(0x0a1a));
    EXPECT_FALSE(nk_ext_is_grease(0x1a0a));
    EXPECT_FALSE(nk_ext_is_grease(0x0b0b));
}

/* ---- u16 lists ---- */

TEST(u16_list_write_exact)
{
    static const uint16_t groups[] = { NK_GROUP_X25519, NK_GROUP_SECP256R1 };
    static const uint8_t want[] = { 0, 10, 0, 6, 0, 4, 0, 0x1d, 0, 0x17 };
    struct nk_buf b = { 0 };
    struct nk_wr w;
    nk_wr_init(&w, &b);
    nk_ext_write_u16_list(&w, NK_EXT_SUPPORTED_GROUPS, groups, 2);
    ASSERT_EQ(nk_wr_status(&w), OK);
    ASSERT_EQ(b.len, sizeof want);
    ASSERT_MEM_EQ(b.p, want, sizeof want);

    /* And back, through the block parser. */
    struct nk_rd blk = rd_over(b.p, b.len), data;
    uint16_t type, v[4];
    size_t n = 0;
    ASSERT_EQ(nk_rd_u16(&blk, &type), OK);
    ASSERT_EQ(nk_rd_vec16(&blk, &data, 0, 0xffff), OK);
    ASSERT_EQ(nk_ext_read_u16_list(&data, v, 4, &n, NULL), OK);
    ASSERT_EQ(n, 2u);
    EXPECT_EQ(v[0], NK_GROUP_X25519);
    EXPECT_EQ(v[1], NK_GROUP_SECP256R1);
    nk_buf_free(&b);
}

TEST(u16_list_without_keep)
{
    /* GREASE passed over wherever it stands; repeats stored once, in the
     * peer's order. */
    static const uint8_t in[] = { 0, 14, 0x3a, 0x3a, 0, 0x17, 0x12, 0x34, 0xfa, 0xfa, 0, 0x17,
                                  0, 0x1d, 0x12, 0x34 };
    struct nk_rd r = rd_over(in, sizeof in);
    uint16_t v[3] = { 0 };
    size_t n = 0;
    ASSERT_EQ(nk_ext_read_u16_list(&r, v, 3, &n, NULL), OK);
    ASSERT_EQ(n, 3u);
    EXPECT_EQ(v[0], 0x0017);
    EXPECT_EQ(v[1], 0x1234);
    EXPECT_EQ(v[2], 0x001d);

    /* One slot fewer than the distinct values: internal, not the peer's fault. */
    r = rd_over(in, sizeof in);
    EXPECT_EQ(nk_ext_read_u16_list(&r, v, 2, &n, NULL), ERR_SSL_INTERNAL);
    /* A repeat of a stored value needs no slot. */
    static const uint8_t rep[] = { 0, 8, 0, 1, 0, 2, 0, 1, 0, 2 };
    r = rd_over(rep, sizeof rep);
    ASSERT_EQ(nk_ext_read_u16_list(&r, v, 2, &n, NULL), OK);
    EXPECT_EQ(n, 2u);
}

static int keep_small(uint16_t x)
{
    return x < 0x100;
}

TEST(u16_list_with_keep)
{
    /* Values keep() refuses are passed over and need no room: max covers
     * only what keep() can accept. */
    static const uint8_t in[] = { 0, 12, 0x12, 0x34, 0, 0x20, 0x0a, 0x0a, 0x56, 0x78, 0, 0x10,
                                  0, 0x20 };
    struct nk_rd r = rd_over(in, sizeof in);
    uint16_t v[2] = { 0 };
    size_t n = 0;
    ASSERT_EQ(nk_ext_read_u16_list(&r, v, 2, &n, keep_small), OK);
    ASSERT_EQ(n, 2u);
    EXPECT_EQ(v[0], 0x0020);
    EXPECT_EQ(v[1], 0x0010);

    /* Nothing kept is not an error. */
    static const uint8_t none[] = { 0, 4, 0x12, 0x34, 0x0a, 0x0a };
    r = rd_over(none, sizeof none);
    n = 7;
    ASSERT_EQ(nk_ext_read_u16_list(&r, v, 2, &n, keep_small), OK);
    EXPECT_EQ(n, 0u);
}

TEST(u16_list_longest)
{
    /* 0xfffe bytes, 32767 values, all the same: one stored. */
    struct nk_buf b = { 0 };
    struct nk_wr w;
    nk_wr_init(&w, &b);
    nk_wr_u16(&w, 0xfffe);
    for (int i = 0; i < 0x7fff; i++)
        nk_wr_u16(&w, NK_GROUP_X25519);
    ASSERT_EQ(nk_wr_status(&w), OK);
    struct nk_rd r = rd_over(b.p, b.len);
    uint16_t v[1];
    size_t n = 0;
    ASSERT_EQ(nk_ext_read_u16_list(&r, v, 1, &n, NULL), OK);
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(v[0], NK_GROUP_X25519);
    nk_buf_free(&b);
}

TEST(u16_list_malformed)
{
    static const struct { uint8_t in[8]; size_t n; } bad[] = {
        { { 0, 0 }, 2 },                  /* empty: the list is <2..2^16-2> */
        { { 0, 3, 0, 1, 2 }, 5 },         /* odd length */
        { { 0, 4, 0, 1 }, 4 },            /* longer than the input */
        { { 0, 2, 0, 1, 0 }, 5 },         /* a byte after the list */
        { { 0xff, 0xff }, 2 },            /* 0xffff: past the bound (and odd) */
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(bad); i++) {
        struct nk_rd r = rd_over(bad[i].in, bad[i].n);
        uint16_t v[4];
        size_t n;
        EXPECT_EQ(nk_ext_read_u16_list(&r, v, 4, &n, NULL), ERR_SSL_PROTOCOL) TH_LOG("row %zu", i);
    }
}

/* ---- server_name ---- */

/* The extension data of a server_name list with one entry of type t. */
static size_t sni_data(uint8_t *out, uint8_t t, const void *host, size_t n)
{
    nk_store16(out, (uint16_t)(3 + n));
    out[2] = t;
    nk_store16(out + 3, (uint16_t)n);
    memcpy(out + 5, host, n);
    return 5 + n;
}

TEST(sni_write_exact_and_read_back)
{
    static const uint8_t want[] = { 0, 0, 0, 16, 0, 14, 0, 0, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
                                    '.', 'c', 'o', 'm' };
    struct nk_buf b = { 0 };
    struct nk_wr w;
    nk_wr_init(&w, &b);
    nk_ext_write_sni(&w, "example.com");
    ASSERT_EQ(nk_wr_status(&w), OK);
    ASSERT_EQ(b.len, sizeof want);
    ASSERT_MEM_EQ(b.p, want, sizeof want);

    /* Back through the block parser, as a hello's extensions. */
    struct nk_ext e[NK_MAX_EXTS];
    size_t n = 0;
    uint8_t hdr[2];
    nk_store16(hdr, (uint16_t)b.len);
    struct nk_buf whole = { 0 };
    ASSERT_EQ(nk_buf_append(&whole, hdr, 2), OK);
    ASSERT_EQ(nk_buf_append(&whole, b.p, b.len), OK);
    struct nk_rd blk = rd_over(whole.p, whole.len);
    ASSERT_EQ(nk_ext_parse(&blk, e, &n), OK);
    ASSERT_EQ(n, 1u);
    char name[64];
    ASSERT_EQ(nk_ext_read_sni(&e[0].data, name, sizeof name), OK);
    EXPECT_STR_EQ(name, "example.com");
    EXPECT_EQ(nk_rd_left(&e[0].data), 0u);
    nk_buf_free(&whole);
    nk_buf_free(&b);
}

TEST(sni_names_accepted)
{
    char l63[64], n253[254], name[256];
    memset(l63, 'a', 63);
    l63[63] = 0;
    /* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
    memset(n253, 'b', 253);
    n253[63] = n253[127] = n253[191] = '.';
    n253[253] = 0;
    const char *ok[] = { "a", "localhost", "Example.COM", "xn--bcher-kva.example", "my_host-1.lan",
                         "1.2.3.4", l63, n253 };
    for (size_t i = 0; i < NK_ARRAY_LEN(ok); i++) {
        uint8_t d[300];
        size_t len = sni_data(d, 0, ok[i], strlen(ok[i]));
        struct nk_rd r = rd_over(d, len);
        EXPECT_EQ(nk_ext_read_sni(&r, name, sizeof name), OK) TH_LOG("\"%s\"", ok[i]);
        EXPECT_STR_EQ(name, ok[i]);
    }
}

TEST(sni_names_refused)
{
    /* RFC 6066 §3: ASCII host names only, no trailing dot, no NUL; labels of
     * 1 to 63 bytes, 253 in all. */
    char l64[65], n254[255];
    memset(l64, 'a', 64);
    l64[64] = 0;
    memset(n254, 'b', 254);
    n254[63] = n254[127] = n254[191] = '.';
    n254[254] = 0;
    static const struct { const char *s; size_t n; } lit[] = {
        { "example.com.", 12 }, { ".example.com", 12 }, { "a..b", 4 }, { ".", 1 },
        { "a b", 3 }, { "a\nb", 3 }, { "a\0b", 3 }, { "caf\xc3\xa9", 5 }, { "a/b", 3 },
        { "a:443", 5 }, { "*.example.com", 13 }, { "a\x7f", 2 },
    };
    char name[512];
    for (size_t i = 0; i < NK_ARRAY_LEN(lit) + 2; i++) {
        const char *s = i < NK_ARRAY_LEN(lit) ? lit[i].s : i == NK_ARRAY_LEN(lit) ? l64 : n254;
        size_t n = i < NK_ARRAY_LEN(lit) ? lit[i].n : strlen(s);
        uint8_t d[300];
        size_t len = sni_data(d, 0, s, n);
        struct nk_rd r = rd_over(d, len);
        EXPECT_EQ(nk_ext_read_sni(&r, name, sizeof name), ERR_SSL_ILLEGAL_PARAMETER)
            TH_LOG("row %zu", i);
    }
}

TEST(sni_capacity)
{
    /* The name and its NUL must fit: 11 bytes need 12. */
    uint8_t d[64];
    size_t len = sni_data(d, 0, "example.com", 11);
    char name[12];
    struct nk_rd r = rd_over(d, len);
    EXPECT_EQ(nk_ext_read_sni(&r, name, 12), OK);
    EXPECT_STR_EQ(name, "example.com");
    r = rd_over(d, len);
    EXPECT_EQ(nk_ext_read_sni(&r, name, 11), ERR_SSL_ILLEGAL_PARAMETER);
}

TEST(sni_list_entries)
{
    char name[64];
    /* A name of another type is passed over, whatever its bytes. */
    static const uint8_t other_then_host[] = { 0, 12, 1, 0, 3, 0xff, 0, ' ', 0, 0, 3, 'a', '.', 'b' };
    struct nk_rd r = rd_over(other_then_host, sizeof other_then_host);
    ASSERT_EQ(nk_ext_read_sni(&r, name, sizeof name), OK);
    EXPECT_STR_EQ(name, "a.b");

    static const uint8_t other_only[] = { 0, 4, 7, 0, 1, 0 };
    r = rd_over(other_only, sizeof other_only);
    name[0] = 'x';
    ASSERT_EQ(nk_ext_read_sni(&r, name, sizeof name), OK);
    EXPECT_STR_EQ(name, "");

    /* Two host names: at most one name of each type. */
    static const uint8_t two[] = { 0, 8, 0, 0, 1, 'a', 0, 0, 1, 'b' };
    r = rd_over(two, sizeof two);
    EXPECT_EQ(nk_ext_read_sni(&r, name, sizeof name), ERR_SSL_ILLEGAL_PARAMETER);

    static const struct { uint8_t in[8]; size_t n; } bad[] = {
        { { 0, 0 }, 2 },                        /* empty list */
        { { 0, 3, 0, 0, 0 }, 5 },               /* empty host name */
        { { 0, 4, 0, 0, 2, 'a' }, 6 },          /* name past the list */
        { { 0, 4, 0, 0, 1, 'a', 0 }, 7 },       /* a byte after the list */
        { { 0, 1, 0 }, 3 },                     /* half an entry */
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(bad); i++) {
        r = rd_over(bad[i].in, bad[i].n);
        EXPECT_EQ(nk_ext_read_sni(&r, name, sizeof name), ERR_SSL_PROTOCOL) TH_LOG("row %zu", i);
    }
}

/* ---- ALPN ---- */

TEST(alpn_list_read)
{
    static const uint8_t in[] = { 0, 12, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };
    struct nk_rd r = rd_over(in, sizeof in), list, name;
    ASSERT_EQ(nk_ext_read_alpn(&r, &list), OK);
    /* The list is handed back untouched, for the caller to walk. */
    EXPECT_TRUE(list.p == in + 2);
    EXPECT_EQ(nk_rd_left(&list), 12u);
    EXPECT_EQ(nk_rd_left(&r), 0u);
    ASSERT_EQ(nk_rd_vec8(&list, &name, 1, 255), OK);
    EXPECT_EQ(nk_rd_left(&name), 2u);
    EXPECT_MEM_EQ(name.p, "h2", 2);

    /* A name of 255 bytes is the longest. */
    uint8_t big[2 + 1 + 255];
    nk_store16(big, 256);
    big[2] = 255;
    memset(big + 3, 'p', 255);
    r = rd_over(big, sizeof big);
    EXPECT_EQ(nk_ext_read_alpn(&r, &list), OK);
    EXPECT_EQ(nk_rd_left(&list), 256u);
}

TEST(alpn_list_malformed)
{
    static const struct { uint8_t in[10]; size_t n; } bad[] = {
        { { 0, 0 }, 2 },                          /* empty list */
        { { 0, 1, 0 }, 3 },                       /* one byte: below the list's minimum */
        { { 0, 4, 0, 2, 'h', '2' }, 6 },          /* an empty name first */
        { { 0, 4, 2, 'h', '2', 0 }, 6 },          /* an empty name last */
        { { 0, 3, 2, 'h', '2', 0 }, 6 },          /* a byte after the list */
        { { 0, 3, 3, 'h', '2' }, 5 },             /* name past the list */
        { { 0, 4, 2, 'h', '2' }, 5 },             /* list past the input */
        { { 0, 4, 1, 'a', 2, 'b' }, 6 },          /* the second name past the list */
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(bad); i++) {
        struct nk_rd r = rd_over(bad[i].in, bad[i].n), list;
        EXPECT_EQ(nk_ext_read_alpn(&r, &list), ERR_SSL_PROTOCOL) TH_LOG("row %zu", i);
    }
}

TEST_HARNESS_MAIN
