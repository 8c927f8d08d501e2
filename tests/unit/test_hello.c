/* test_hello.c — the version-neutral ClientHello (handshake/hello.c): the
 * parsed struct of a real hello (RFC 8448 §3) and of built ones, every
 * malformed field with its exact error and, where several are wrong, the
 * one reported first; which versions a hello offers (§4.2.1); and the
 * server's choice of version, which makes the chosen version's protocol the
 * connection's. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "core/nk.h"
#include "core/wire.h"
#include "handshake/hs.h"
#include "handshake/hello.h"

/* RFC 8448 §3 "{client} construct a ClientHello handshake message"
 * (client_hello); the header's other vectors are not used here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-const-variable"
#pragma GCC diagnostic ignored "-Wunused-function"
#include "unit/rfc8448_vectors.h"
#pragma GCC diagnostic pop

/* ---- building hellos ---- */

struct ext_spec {
    uint16_t type;
    const uint8_t *data;
    size_t len;
};

/* A ClientHello body; each field may be made wrong. */
struct hello_spec {
    uint16_t legacy_version;
    size_t sid_len;                 /* bytes of session id (33: too long) */
    const uint8_t *suites;
    size_t suites_len;
    const uint8_t *comp;
    size_t comp_len;
    int no_exts;                    /* omit the extensions field entirely */
    struct ext_spec exts[8];
    size_t n_exts;
    int trailing;                   /* one byte after the extensions */
};

static const uint8_t two_suites[] = { 0x13, 0x01, 0x13, 0x02 };
static const uint8_t null_comp[] = { 0 };
static const uint8_t sv_13_12[] = { 6, 0x0a, 0x0a, 0x03, 0x04, 0x03, 0x03 };   /* GREASE first */
static const uint8_t sv_12[] = { 2, 0x03, 0x03 };
static const uint8_t groups[] = { 0, 2, 0, 0x1d };
static const uint8_t psk_ext[] = { 0, 0 };

static struct hello_spec good_spec(void)
{
    struct hello_spec s = {
        .legacy_version = 0x0303, .sid_len = 32,
        .suites = two_suites, .suites_len = sizeof two_suites,
        .comp = null_comp, .comp_len = sizeof null_comp,
        .exts = {
            { NK_EXT_SUPPORTED_GROUPS, groups, sizeof groups },
            { NK_EXT_SUPPORTED_VERSIONS, sv_13_12, sizeof sv_13_12 },
        },
        .n_exts = 2,
    };
    return s;
}

/* The body, and where the compression methods end (a hello may stop there). */
static size_t build(const struct hello_spec *s, struct nk_buf *b, size_t *comp_end)
{
    struct nk_wr w;
    b->len = 0;
    nk_wr_init(&w, b);
    nk_wr_u16(&w, s->legacy_version);
    for (int i = 0; i < 32; i++)
        nk_wr_u8(&w, (uint8_t)(0xa0 + i));
    nk_wr_u8(&w, (uint8_t)s->sid_len);
    for (size_t i = 0; i < s->sid_len; i++)
        nk_wr_u8(&w, (uint8_t)i);
    nk_wr_u16(&w, (uint16_t)s->suites_len);
    nk_wr_bytes(&w, s->suites, s->suites_len);
    nk_wr_u8(&w, (uint8_t)s->comp_len);
    nk_wr_bytes(&w, s->comp, s->comp_len);
    if (comp_end)
        *comp_end = b->len;
    if (!s->no_exts) {
        size_t block = nk_wr_open(&w, 2);
        for (size_t i = 0; i < s->n_exts; i++) {
            nk_wr_u16(&w, s->exts[i].type);
            nk_wr_u16(&w, (uint16_t)s->exts[i].len);
            nk_wr_bytes(&w, s->exts[i].data, s->exts[i].len);
        }
        nk_wr_close(&w, block, 2);
    }
    if (s->trailing)
        nk_wr_u8(&w, 0);
    if (nk_wr_status(&w) < 0)
        abort();
    return b->len;
}

static MSTATUS parse_n(const uint8_t *p, size_t n, struct nk_client_hello *ch)
{
    struct nk_rd r;
    nk_rd_init(&r, p, n);
    return nk_hello_parse(&r, ch);
}

static MSTATUS parse_spec(const struct hello_spec *s, struct nk_client_hello *ch)
{
    static struct nk_buf b;   /* the hello's views point into it */
    build(s, &b, NULL);
    return parse_n(b.p, b.len, ch);
}

/* ---- a real hello ---- */

TEST(rfc8448_client_hello)
{
    struct nk_client_hello ch;
    struct nk_rd r;
    uint16_t v;
    uint8_t comp;

    ASSERT_EQ(parse_n(client_hello + 4, sizeof client_hello - 4, &ch), OK);
    EXPECT_EQ(ch.legacy_version, 0x0303);
    EXPECT_MEM_EQ(ch.random, client_hello + 6, 32);
    EXPECT_EQ(nk_rd_left(&ch.session_id), 0u);
    ASSERT_EQ(nk_rd_left(&ch.suites), 6u);
    EXPECT_MEM_EQ(ch.suites.p, client_hello + 41, 6);   /* 1301 1303 1302 */
    r = ch.compression;
    ASSERT_EQ(nk_rd_u8(&r, &comp), OK);
    EXPECT_EQ(comp, 0);
    EXPECT_EQ(nk_rd_left(&r), 0u);
    /* Kept: the types read (renegotiation_info, 0xff01, among them since
     * TLS 1.2 reads it), plus the first unknown one (session_ticket, 0x0023);
     * a second unknown type would not be. */
    EXPECT_EQ(ch.n_exts, 9u);
    EXPECT_NOT_NULL(nk_ext_find(ch.exts, ch.n_exts, NK_EXT_SERVER_NAME));
    EXPECT_NOT_NULL(nk_ext_find(ch.exts, ch.n_exts, 0xff01));
    EXPECT_NOT_NULL(nk_ext_find(ch.exts, ch.n_exts, 0x0023));
    EXPECT_NOT_NULL(nk_ext_find(ch.exts, ch.n_exts, NK_EXT_KEY_SHARE));
    EXPECT_NOT_NULL(nk_ext_find(ch.exts, ch.n_exts, NK_EXT_RECORD_SIZE_LIMIT));
    ASSERT_TRUE(ch.has_versions);
    r = ch.versions;
    ASSERT_EQ(nk_rd_u16(&r, &v), OK);
    EXPECT_EQ(v, NK_TLS13);
    EXPECT_EQ(nk_rd_left(&r), 0u);
    EXPECT_TRUE(nk_hello_offers(&ch, NK_TLS13));
    EXPECT_FALSE(nk_hello_offers(&ch, NK_TLS12));
}

/* ---- built hellos: the fields ---- */

TEST(built_hello_fields)
{
    struct hello_spec s = good_spec();
    struct nk_client_hello ch;
    uint8_t sid[32], rnd[32];

    ASSERT_EQ(parse_spec(&s, &ch), OK);
    for (int i = 0; i < 32; i++) {
        sid[i] = (uint8_t)i;
        rnd[i] = (uint8_t)(0xa0 + i);
    }
    EXPECT_EQ(ch.legacy_version, 0x0303);
    EXPECT_MEM_EQ(ch.random, rnd, 32);
    ASSERT_EQ(nk_rd_left(&ch.session_id), 32u);
    EXPECT_MEM_EQ(ch.session_id.p, sid, 32);
    ASSERT_EQ(nk_rd_left(&ch.suites), 4u);
    EXPECT_MEM_EQ(ch.suites.p, two_suites, 4);
    EXPECT_EQ(nk_rd_left(&ch.compression), 1u);
    ASSERT_EQ(ch.n_exts, 2u);
    EXPECT_EQ(ch.exts[0].type, NK_EXT_SUPPORTED_GROUPS);
    EXPECT_EQ(ch.exts[1].type, NK_EXT_SUPPORTED_VERSIONS);
    EXPECT_TRUE(ch.exts[1].last);
    ASSERT_TRUE(ch.has_versions);
    EXPECT_EQ(nk_rd_left(&ch.versions), 6u);
    EXPECT_TRUE(nk_hello_offers(&ch, NK_TLS13));
    EXPECT_TRUE(nk_hello_offers(&ch, NK_TLS12));
    EXPECT_TRUE(nk_hello_offers(&ch, 0x0a0a));   /* listed; choosing is the server's */
    EXPECT_FALSE(nk_hello_offers(&ch, 0x0302));
}

TEST(without_extensions)
{
    /* A TLS 1.2-style hello may end after its compression methods. */
    struct hello_spec s = good_spec();
    struct nk_client_hello ch;
    s.no_exts = 1;
    ASSERT_EQ(parse_spec(&s, &ch), OK);
    EXPECT_EQ(ch.n_exts, 0u);
    EXPECT_FALSE(ch.has_versions);
    EXPECT_EQ(nk_rd_left(&ch.versions), 0u);
    /* §4.2.1: without supported_versions, TLS 1.2 or below up to legacy_version. */
    EXPECT_TRUE(nk_hello_offers(&ch, NK_TLS12));
    EXPECT_TRUE(nk_hello_offers(&ch, 0x0301));
    EXPECT_FALSE(nk_hello_offers(&ch, NK_TLS13));

    s.legacy_version = 0x0301;
    ASSERT_EQ(parse_spec(&s, &ch), OK);
    EXPECT_FALSE(nk_hello_offers(&ch, NK_TLS12));
    EXPECT_TRUE(nk_hello_offers(&ch, 0x0301));

    /* legacy_version 0x0304 is not a TLS 1.3 offer: only supported_versions makes one. */
    s.legacy_version = 0x0304;
    ASSERT_EQ(parse_spec(&s, &ch), OK);
    EXPECT_FALSE(nk_hello_offers(&ch, NK_TLS13));
    EXPECT_TRUE(nk_hello_offers(&ch, NK_TLS12));
}

TEST(supported_versions_without_tls13)
{
    struct hello_spec s = good_spec();
    struct nk_client_hello ch;
    s.exts[1].data = sv_12;
    s.exts[1].len = sizeof sv_12;
    ASSERT_EQ(parse_spec(&s, &ch), OK);
    EXPECT_FALSE(nk_hello_offers(&ch, NK_TLS13));
    EXPECT_TRUE(nk_hello_offers(&ch, NK_TLS12));
}

/* ---- malformed hellos ---- */

TEST(every_truncation_is_decode_error)
{
    struct hello_spec s = good_spec();
    struct nk_buf b = { 0 };
    struct nk_client_hello ch;
    size_t comp_end, n = build(&s, &b, &comp_end);
    for (size_t len = 0; len < n; len++) {
        MSTATUS want = len == comp_end ? OK : ERR_SSL_PROTOCOL;   /* no extensions field: fine */
        EXPECT_EQ(parse_n(b.p, len, &ch), want);
    }
    nk_buf_free(&b);
}

TEST(field_bounds_are_decode_error)
{
    static const uint8_t odd[] = { 0x13, 0x01, 0x13 };
    struct nk_client_hello ch;
    struct hello_spec s;

    s = good_spec();
    s.trailing = 1;
    EXPECT_EQ(parse_spec(&s, &ch), ERR_SSL_PROTOCOL);
    s = good_spec();
    s.sid_len = 33;                      /* legacy_session_id<0..32> */
    EXPECT_EQ(parse_spec(&s, &ch), ERR_SSL_PROTOCOL);
    s = good_spec();
    s.suites_len = 0;                    /* cipher_suites<2..2^16-2> */
    EXPECT_EQ(parse_spec(&s, &ch), ERR_SSL_PROTOCOL);
    s = good_spec();
    s.suites = odd;                      /* a half suite */
    s.suites_len = sizeof odd;
    EXPECT_EQ(parse_spec(&s, &ch), ERR_SSL_PROTOCOL);
    s = good_spec();
    s.comp_len = 0;                      /* legacy_compression_methods<1..2^8-1> */
    EXPECT_EQ(parse_spec(&s, &ch), ERR_SSL_PROTOCOL);
}

TEST(supported_versions_malformed)
{
    static const uint8_t empty[] = { 0 };
    static const uint8_t one[] = { 1, 0x03 };
    static const uint8_t odd[] = { 3, 0x03, 0x04, 0x03 };
    static const uint8_t trailing[] = { 2, 0x03, 0x04, 0x00 };
    static const uint8_t short_list[] = { 4, 0x03, 0x04 };
    const struct ext_spec bad[] = {
        { NK_EXT_SUPPORTED_VERSIONS, empty, sizeof empty },
        { NK_EXT_SUPPORTED_VERSIONS, one, sizeof one },
        { NK_EXT_SUPPORTED_VERSIONS, odd, sizeof odd },
        { NK_EXT_SUPPORTED_VERSIONS, trailing, sizeof trailing },
        { NK_EXT_SUPPORTED_VERSIONS, short_list, sizeof short_list },
        { NK_EXT_SUPPORTED_VERSIONS, NULL, 0 },
    };
    struct nk_client_hello ch;
    for (size_t i = 0; i < NK_ARRAY_LEN(bad); i++) {
        struct hello_spec s = good_spec();
        s.exts[1] = bad[i];
        EXPECT_EQ(parse_spec(&s, &ch), ERR_SSL_PROTOCOL);
    }
}

TEST(legacy_version_ssl3_is_protocol_version)
{
    static const uint8_t odd[] = { 3, 0x03, 0x04, 0x03 };
    struct hello_spec s = good_spec();
    struct nk_client_hello ch;
    s.legacy_version = 0x0300;           /* Appendix D.5 */
    EXPECT_EQ(parse_spec(&s, &ch), ERR_SSL_UNSUPPORTED_VERSION);
    s.legacy_version = 0x0200;
    EXPECT_EQ(parse_spec(&s, &ch), ERR_SSL_UNSUPPORTED_VERSION);
    s.legacy_version = 0x0301;
    EXPECT_EQ(parse_spec(&s, &ch), OK);
    /* Before a malformed supported_versions. */
    s.legacy_version = 0x0300;
    s.exts[1].data = odd;
    s.exts[1].len = sizeof odd;
    EXPECT_EQ(parse_spec(&s, &ch), ERR_SSL_UNSUPPORTED_VERSION);
}

TEST(pre_shared_key_must_be_last)
{
    static const uint8_t odd[] = { 3, 0x03, 0x04, 0x03 };
    struct hello_spec s = good_spec();
    struct nk_client_hello ch;
    s.exts[2] = (struct ext_spec){ NK_EXT_PRE_SHARED_KEY, psk_ext, sizeof psk_ext };
    s.n_exts = 3;
    EXPECT_EQ(parse_spec(&s, &ch), OK);   /* the parse does not read the offer */
    s.exts[2] = s.exts[1];
    s.exts[1] = (struct ext_spec){ NK_EXT_PRE_SHARED_KEY, psk_ext, sizeof psk_ext };
    EXPECT_EQ(parse_spec(&s, &ch), ERR_SSL_ILLEGAL_PARAMETER);   /* §4.2.11 */
    /* Before a malformed supported_versions. */
    s.exts[2].data = odd;
    s.exts[2].len = sizeof odd;
    EXPECT_EQ(parse_spec(&s, &ch), ERR_SSL_ILLEGAL_PARAMETER);
}

TEST(duplicate_extension_is_illegal_parameter)
{
    struct hello_spec s = good_spec();
    struct nk_client_hello ch;
    s.exts[2] = s.exts[0];
    s.n_exts = 3;
    EXPECT_EQ(parse_spec(&s, &ch), ERR_SSL_ILLEGAL_PARAMETER);   /* §4.2 */
}

/* ---- choosing the version ---- */

/* A server connection waiting for its first ClientHello, with no suites or
 * groups: the TLS 1.3 logic stops at its first check it cannot pass. */
struct server {
    struct nk_tls c;
    struct nk_hs hs;
    struct nk_config cfg;
};

static void server_init(struct server *s, uint8_t min_minor, uint8_t max_minor)
{
    memset(s, 0, sizeof *s);
    s->c.role = NK_SERVER;
    s->c.min_minor = min_minor;
    s->c.max_minor = max_minor;
    s->c.cfg = &s->cfg;
    s->c.hs = &s->hs;
    ASSERT_EQ(nk_hs_start(&s->c), OK);
}

static MSTATUS give_hello(struct server *s, const struct hello_spec *spec)
{
    struct nk_buf b = { 0 };
    struct nk_wr w;
    size_t body_len;
    struct nk_buf body = { 0 };
    body_len = build(spec, &body, NULL);
    nk_wr_init(&w, &b);
    nk_wr_u8(&w, NK_HS_CLIENT_HELLO);
    nk_wr_u24(&w, (uint32_t)body_len);
    nk_wr_bytes(&w, body.p, body_len);
    if (nk_wr_status(&w) < 0)
        abort();
    struct nk_rd r;
    nk_rd_init(&r, b.p + 4, body_len);
    MSTATUS st = nk_hs_step(&s->c, NK_CT_HANDSHAKE, NK_HS_CLIENT_HELLO, &r, b.p, b.len);
    nk_buf_free(&b);
    nk_buf_free(&body);
    return st;
}

TEST(server_starts_without_a_version)
{
    struct server s;
    server_init(&s, 3, 4);
    EXPECT_EQ((unsigned)s.c.proto, (unsigned)NK_PROTO_HELLO);
    EXPECT_EQ(s.hs.state, ST_S_WAIT_CH);
}

TEST(tls13_chosen_then_its_checks_run)
{
    static const uint8_t deflate[] = { 1, 0 };
    struct server s;
    struct hello_spec spec = good_spec();
    server_init(&s, 3, 4);
    spec.comp = deflate;
    spec.comp_len = sizeof deflate;
    /* TLS 1.3 is chosen; its own rule (§4.1.2: exactly one null method) refuses. */
    EXPECT_EQ(give_hello(&s, &spec), ERR_SSL_ILLEGAL_PARAMETER);
    EXPECT_EQ((unsigned)s.c.proto, (unsigned)NK_PROTO_TLS13_SERVER);
    EXPECT_EQ(s.hs.state, ST_S_WAIT_CH);   /* a failed step moves nowhere */
}

TEST(no_common_version_is_protocol_version)
{
    struct server s;
    struct hello_spec spec = good_spec();

    server_init(&s, 4, 4);               /* held to TLS 1.3 */
    spec.exts[1].data = sv_12;           /* TLS 1.2 only, which it does not allow */
    spec.exts[1].len = sizeof sv_12;
    EXPECT_EQ(give_hello(&s, &spec), ERR_SSL_UNSUPPORTED_VERSION);
    EXPECT_EQ((unsigned)s.c.proto, (unsigned)NK_PROTO_HELLO);

    server_init(&s, 4, 4);
    spec = good_spec();
    spec.n_exts = 1;                     /* no supported_versions: TLS 1.2 or older */
    EXPECT_EQ(give_hello(&s, &spec), ERR_SSL_UNSUPPORTED_VERSION);
    EXPECT_EQ((unsigned)s.c.proto, (unsigned)NK_PROTO_HELLO);
}

TEST(tls12_only_hello_chooses_tls12_where_allowed)
{
    struct server s;
    struct hello_spec spec = good_spec();

    /* The default range allows TLS 1.2: a hello that offers only it chooses
     * the TLS 1.2 server, whose own checks then run (this hello has no
     * extended_master_secret: handshake_failure, RFC 7627). */
    server_init(&s, 3, 4);
    spec.exts[1].data = sv_12;
    spec.exts[1].len = sizeof sv_12;
    EXPECT_EQ(give_hello(&s, &spec), ERR_SSL_HANDSHAKE_FAILURE);
    EXPECT_EQ((unsigned)s.c.proto, (unsigned)NK_PROTO_TLS12_SERVER);

    server_init(&s, 3, 4);
    spec = good_spec();
    spec.n_exts = 1;                     /* no supported_versions, legacy_version 0x0303 */
    EXPECT_EQ(give_hello(&s, &spec), ERR_SSL_HANDSHAKE_FAILURE);
    EXPECT_EQ((unsigned)s.c.proto, (unsigned)NK_PROTO_TLS12_SERVER);
}

TEST(server_held_to_tls12_parses_then_chooses_it)
{
    struct server s;
    struct hello_spec spec = good_spec();
    server_init(&s, 3, 3);
    spec.trailing = 1;                   /* malformed: TLS 1.2 is implemented, so parsing answers */
    EXPECT_EQ(give_hello(&s, &spec), ERR_SSL_PROTOCOL);
    EXPECT_EQ((unsigned)s.c.proto, (unsigned)NK_PROTO_HELLO);
}

TEST(malformed_hello_keeps_no_version)
{
    struct server s;
    struct hello_spec spec = good_spec();
    server_init(&s, 3, 4);
    spec.sid_len = 33;
    EXPECT_EQ(give_hello(&s, &spec), ERR_SSL_PROTOCOL);
    EXPECT_EQ((unsigned)s.c.proto, (unsigned)NK_PROTO_HELLO);
}

TEST_HARNESS_MAIN
