/* test_kex.c — (EC)DHE for every group: both sides agree, and invalid shares
 * (wrong length, all zero, small order, off the curve, FFDHE values outside
 * 1 < Y < p-1) are refused with no libcrypto error left behind; the RFC 7919
 * primes and generator. */
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


FIXTURE(kex) {
    EVP_PKEY *a, *b;
    uint8_t pa[NK_MAX_KEX_PUB], pb[NK_MAX_KEX_PUB];
    size_t la, lb;
};

FIXTURE_VARIANT(kex) {
    uint16_t group;
    size_t pub_len, secret_len;
    int ecx;     /* X25519/X448: raw u-coordinates, no point encoding */
    int ffdhe;   /* RFC 7919: Y padded to the size of p */
};

FIXTURE_VARIANT_ADD(kex, x25519) { .group = NK_GROUP_X25519, .pub_len = 32, .secret_len = 32, .ecx = 1 };
FIXTURE_VARIANT_ADD(kex, p256) { .group = NK_GROUP_SECP256R1, .pub_len = 65, .secret_len = 32 };
FIXTURE_VARIANT_ADD(kex, p384) { .group = NK_GROUP_SECP384R1, .pub_len = 97, .secret_len = 48 };
FIXTURE_VARIANT_ADD(kex, x448) { .group = NK_GROUP_X448, .pub_len = 56, .secret_len = 56, .ecx = 1 };
FIXTURE_VARIANT_ADD(kex, p521) { .group = NK_GROUP_SECP521R1, .pub_len = 133, .secret_len = 66 };
/* RFC 8446 §7.4.1: the FFDHE secret is padded to the size of p. */
FIXTURE_VARIANT_ADD(kex, ffdhe2048) { .group = NK_GROUP_FFDHE2048, .pub_len = 256, .secret_len = 256, .ffdhe = 1 };
FIXTURE_VARIANT_ADD(kex, ffdhe3072) { .group = NK_GROUP_FFDHE3072, .pub_len = 384, .secret_len = 384, .ffdhe = 1 };
FIXTURE_VARIANT_ADD(kex, ffdhe4096) { .group = NK_GROUP_FFDHE4096, .pub_len = 512, .secret_len = 512, .ffdhe = 1 };
FIXTURE_VARIANT_ADD(kex, ffdhe6144) { .group = NK_GROUP_FFDHE6144, .pub_len = 768, .secret_len = 768, .ffdhe = 1 };
FIXTURE_VARIANT_ADD(kex, ffdhe8192) { .group = NK_GROUP_FFDHE8192, .pub_len = 1024, .secret_len = 1024, .ffdhe = 1 };

FIXTURE_SETUP(kex)
{
    const struct nk_group *g = nk_group_by_id(variant->group);
    ASSERT_NOT_NULL(g);
    ASSERT_EQ(g->pub_len, variant->pub_len);
    ASSERT_EQ(nk_kex_keygen(variant->group, &self->a, self->pa, &self->la), OK);
    ASSERT_EQ(nk_kex_keygen(variant->group, &self->b, self->pb, &self->lb), OK);
}

FIXTURE_TEARDOWN(kex)
{
    EVP_PKEY_free(self->a);
    EVP_PKEY_free(self->b);
}

TEST_F(kex, both_ways_equal)
{
    uint8_t s1[NK_MAX_KEX_SECRET], s2[NK_MAX_KEX_SECRET];
    size_t n1 = 0, n2 = 0;

    EXPECT_EQ(self->la, variant->pub_len);
    EXPECT_EQ(self->lb, variant->pub_len);
    EXPECT_NE(memcmp(self->pa, self->pb, self->la), 0);
    if (!variant->ecx && !variant->ffdhe)
        EXPECT_EQ(self->pa[0], 4);   /* uncompressed point (§4.2.8.2) */
    ASSERT_EQ(nk_kex_derive(variant->group, self->a, self->pb, self->lb, s1, &n1), OK);
    ASSERT_EQ(nk_kex_derive(variant->group, self->b, self->pa, self->la, s2, &n2), OK);
    EXPECT_EQ(n1, variant->secret_len);
    EXPECT_EQ(n2, variant->secret_len);
    EXPECT_MEM_EQ(s1, s2, variant->secret_len);
    /* A different peer gives a different secret. */
    EVP_PKEY *c = NULL;
    uint8_t pc[NK_MAX_KEX_PUB], s3[NK_MAX_KEX_SECRET];
    size_t lc, n3;
    ASSERT_EQ(nk_kex_keygen(variant->group, &c, pc, &lc), OK);
    ASSERT_EQ(nk_kex_derive(variant->group, self->a, pc, lc, s3, &n3), OK);
    EXPECT_NE(memcmp(s1, s3, variant->secret_len), 0);
    EVP_PKEY_free(c);
}

TEST_F(kex, wrong_length)
{
    uint8_t s[NK_MAX_KEX_SECRET], big[NK_MAX_KEX_PUB + 1];
    size_t n;

    memcpy(big, self->pb, self->lb);
    big[self->lb] = 0;
    EXPECT_EQ(nk_kex_derive(variant->group, self->a, self->pb, self->lb - 1, s, &n), ERR_SSL_BAD_KEY_SHARE);
    EXPECT_EQ(nk_kex_derive(variant->group, self->a, big, self->lb + 1, s, &n), ERR_SSL_BAD_KEY_SHARE);
    EXPECT_EQ(nk_kex_derive(variant->group, self->a, self->pb, 0, s, &n), ERR_SSL_BAD_KEY_SHARE);
    EXPECT_EQ(nk_kex_derive(variant->group, self->a, self->pb, 1, s, &n), ERR_SSL_BAD_KEY_SHARE);
}

TEST_F(kex, all_zero_share)
{
    /* X25519/X448: the zero u-coordinate gives an all-zero secret (§7.4.2).
     * NIST curves: 04 00..00 is not a point on the curve. */
    uint8_t zero[NK_MAX_KEX_PUB] = { 0 }, s[NK_MAX_KEX_SECRET];
    size_t n;

    if (!variant->ecx && !variant->ffdhe)
        zero[0] = 4;
    EXPECT_EQ(nk_kex_derive(variant->group, self->a, zero, variant->pub_len, s, &n), ERR_SSL_BAD_KEY_SHARE);
    memset(zero, 0, sizeof zero);
    EXPECT_EQ(nk_kex_derive(variant->group, self->a, zero, variant->pub_len, s, &n), ERR_SSL_BAD_KEY_SHARE);
}

TEST_F(kex, small_order_share)
{
    /* u = 1 is a point of small order on both Montgomery curves: the secret is
     * all zeros and must be refused. */
    uint8_t one[NK_MAX_KEX_PUB] = { 1 }, s[NK_MAX_KEX_SECRET];
    size_t n;

    if (variant->ffdhe) {
        /* RFC 7919 §5.1: 1 and p-1 (the 2-element subgroup), and anything
         * not below p, are refused; 2 is accepted. */
        uint8_t p[NK_MAX_KEX_PUB], g[8], y[NK_MAX_KEX_PUB];
        size_t gl, len = variant->pub_len;
        ASSERT_EQ(nk_kex_ffdhe_pg(variant->group, p, g, &gl), OK);
        memset(y, 0, len);
        y[len - 1] = 1;
        EXPECT_EQ(nk_kex_derive(variant->group, self->a, y, len, s, &n), ERR_SSL_BAD_KEY_SHARE);
        memcpy(y, p, len);
        y[len - 1] -= 1;   /* p is odd: p-1 only changes the last byte */
        EXPECT_EQ(nk_kex_derive(variant->group, self->a, y, len, s, &n), ERR_SSL_BAD_KEY_SHARE);
        EXPECT_EQ(nk_kex_derive(variant->group, self->a, p, len, s, &n), ERR_SSL_BAD_KEY_SHARE);
        memset(y, 0xff, len);
        EXPECT_EQ(nk_kex_derive(variant->group, self->a, y, len, s, &n), ERR_SSL_BAD_KEY_SHARE);
        memset(y, 0, len);
        y[len - 1] = 2;   /* g itself: in range, and in the prime-order subgroup */
        EXPECT_EQ(nk_kex_derive(variant->group, self->a, y, len, s, &n), OK);
        return;
    }
    if (!variant->ecx)
        SKIP(return, "small-order points exist only on X25519/X448");
    EXPECT_EQ(nk_kex_derive(variant->group, self->a, one, variant->pub_len, s, &n), ERR_SSL_BAD_KEY_SHARE);
}

TEST_F(kex, point_not_on_curve)
{
    uint8_t bad[NK_MAX_KEX_PUB], s[NK_MAX_KEX_SECRET];
    size_t n, len = variant->pub_len;

    if (variant->ecx)
        SKIP(return, "every u-coordinate is accepted on X25519/X448");
    if (variant->ffdhe)
        SKIP(return, "FFDHE has no points: its range check is small_order_share");
    /* Y changed: (X, Y+1) is not on the curve. */
    memcpy(bad, self->pb, len);
    bad[len - 1] ^= 1;
    EXPECT_EQ(nk_kex_derive(variant->group, self->a, bad, len, s, &n), ERR_SSL_BAD_KEY_SHARE);
    /* Coordinates not below p. */
    memset(bad, 0xff, len);
    bad[0] = 4;
    EXPECT_EQ(nk_kex_derive(variant->group, self->a, bad, len, s, &n), ERR_SSL_BAD_KEY_SHARE);
    /* Other point formats are not allowed in TLS 1.3, even at the right length. */
    static const uint8_t forms[] = { 0, 2, 3, 6, 7 };
    for (size_t i = 0; i < sizeof forms; i++) {
        memcpy(bad, self->pb, len);
        bad[0] = forms[i];
        EXPECT_EQ(nk_kex_derive(variant->group, self->a, bad, len, s, &n), ERR_SSL_BAD_KEY_SHARE)
            TH_LOG("format byte %u", forms[i]);
    }
}

TEST_F(kex, failure_leaves_no_libcrypto_error)
{
    /* An invalid share is the peer's doing, reported as ERR_SSL_BAD_KEY_SHARE; the
     * thread's libcrypto error queue must be left as it was. */
    uint8_t zero[NK_MAX_KEX_PUB] = { 0 }, s[NK_MAX_KEX_SECRET];
    size_t n;

    if (!variant->ecx && !variant->ffdhe)
        zero[0] = 4;
    ERR_clear_error();
    EXPECT_EQ(nk_kex_derive(variant->group, self->a, zero, variant->pub_len, s, &n), ERR_SSL_BAD_KEY_SHARE);
    EXPECT_EQ(ERR_peek_error(), 0ul);
    ERR_clear_error();
}

/* RFC 7919 Appendix A.1: ffdhe2048's p begins and ends with 64 one bits,
 * then 0xADF85458A2BB4A9A (the bits of e); g = 2 for every group. */
TEST(ffdhe_parameters)
{
    static const uint8_t head[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xad, 0xf8, 0x54, 0x58, 0xa2, 0xbb, 0x4a, 0x9a };
    static const uint8_t tail[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint16_t groups[] = { NK_GROUP_FFDHE2048, NK_GROUP_FFDHE3072, NK_GROUP_FFDHE4096,
                                       NK_GROUP_FFDHE6144, NK_GROUP_FFDHE8192 };
    static const char *const names[] = { "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192" };
    for (size_t i = 0; i < NK_ARRAY_LEN(groups); i++) {
        uint8_t p[NK_MAX_KEX_PUB], g[8];
        size_t gl = 0, len = nk_group_by_id(groups[i])->pub_len;
        ASSERT_EQ(nk_kex_ffdhe_pg(groups[i], p, g, &gl), OK);
        EXPECT_MEM_EQ(p, head, sizeof head);
        EXPECT_MEM_EQ(p + len - 8, tail, sizeof tail);
        EXPECT_EQ(gl, 1u);
        EXPECT_EQ(g[0], 2);
        EXPECT_STR_EQ(nk_group_by_id(groups[i])->name, names[i]);
    }
    uint8_t p[NK_MAX_KEX_PUB], g[8];
    size_t gl;
    EXPECT_EQ(nk_kex_ffdhe_pg(NK_GROUP_X25519, p, g, &gl), ERR_SSL_INTERNAL);
    EXPECT_TRUE(nk_group_is_ffdhe(0x0100) && nk_group_is_ffdhe(0x01ff));
    EXPECT_FALSE(nk_group_is_ffdhe(0x00ff) || nk_group_is_ffdhe(0x0200));
}

TEST(kex_unknown_group)
{
    EVP_PKEY *k = NULL, *ok = NULL;
    uint8_t pub[NK_MAX_KEX_PUB], s[NK_MAX_KEX_SECRET];
    size_t n;

    EXPECT_EQ(nk_kex_keygen(0x9999, &k, pub, &n), ERR_SSL_ILLEGAL_PARAMETER);
    ASSERT_EQ(nk_kex_keygen(NK_GROUP_X25519, &ok, pub, &n), OK);
    EXPECT_EQ(nk_kex_derive(0x9999, ok, pub, n, s, &n), ERR_SSL_BAD_KEY_SHARE);
    EVP_PKEY_free(ok);
}

/* The derive contexts kept for X25519 keys (kex.c, crypto.h): a key freed
 * before its derive (a handshake that ended early) takes its context with
 * it, so no slot holds the key after its connection let it go; a derived
 * key's context left at its derive. */
static int kept_contexts(void)
{
    struct nk_thread_ctx *t = nk_thread_ctx();
    int n = 0;
    for (size_t i = 0; t && i < NK_TC_KEX_NEXT; i++)
        n += t->kex_next[i] != NULL;
    return n;
}

TEST(freed_key_leaves_kept_contexts)
{
    EVP_PKEY *a = NULL, *b = NULL, *peer = NULL;
    uint8_t pub[NK_MAX_KEX_PUB], peer_pub[NK_MAX_KEX_PUB], secret[NK_MAX_KEX_SECRET];
    size_t pub_len = 0, peer_len = 0, secret_len = 0;
    int base = kept_contexts();
    ASSERT_EQ(nk_kex_keygen(NK_GROUP_X25519, &a, pub, &pub_len), OK);
    ASSERT_EQ(nk_kex_keygen(NK_GROUP_X25519, &b, pub, &pub_len), OK);
    ASSERT_EQ(nk_kex_keygen(NK_GROUP_X25519, &peer, peer_pub, &peer_len), OK);
    ASSERT_EQ(kept_contexts(), base + 3);
    nk_kex_free(a);                       /* ended before its derive */
    ASSERT_EQ(kept_contexts(), base + 2);
    ASSERT_EQ(nk_kex_derive(NK_GROUP_X25519, b, peer_pub, peer_len, secret, &secret_len), OK);
    ASSERT_EQ(kept_contexts(), base + 1);   /* the derive took b's */
    nk_kex_free(b);
    nk_kex_free(peer);
    ASSERT_EQ(kept_contexts(), base);
    nk_kex_free(NULL);
}

TEST_HARNESS_MAIN
