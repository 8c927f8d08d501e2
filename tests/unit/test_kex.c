/* test_kex.c — (EC)DHE for every group: both sides agree, and invalid shares
 * (wrong length, all zero, small order, off the curve) are refused with no
 * libcrypto error left behind. */
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
};

FIXTURE_VARIANT_ADD(kex, x25519) { .group = NK_GROUP_X25519, .pub_len = 32, .secret_len = 32, .ecx = 1 };
FIXTURE_VARIANT_ADD(kex, p256) { .group = NK_GROUP_SECP256R1, .pub_len = 65, .secret_len = 32 };
FIXTURE_VARIANT_ADD(kex, p384) { .group = NK_GROUP_SECP384R1, .pub_len = 97, .secret_len = 48 };
FIXTURE_VARIANT_ADD(kex, x448) { .group = NK_GROUP_X448, .pub_len = 56, .secret_len = 56, .ecx = 1 };
FIXTURE_VARIANT_ADD(kex, p521) { .group = NK_GROUP_SECP521R1, .pub_len = 133, .secret_len = 66 };

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
    if (!variant->ecx)
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

    if (!variant->ecx)
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

    if (!variant->ecx)
        zero[0] = 4;
    ERR_clear_error();
    EXPECT_EQ(nk_kex_derive(variant->group, self->a, zero, variant->pub_len, s, &n), ERR_SSL_BAD_KEY_SHARE);
    EXPECT_EQ(ERR_peek_error(), 0ul);
    ERR_clear_error();
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

TEST_HARNESS_MAIN
