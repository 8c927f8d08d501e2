/* test_mdblock.c — core/mdblock.c: SHA-1, SHA-256 and SHA-384 one
 * compression at a time. A message padded by hand (FIPS 180-4 §5.1) and
 * compressed block by block gives libcrypto's digest; the chaining value
 * after the first block differs from the digest; each call is counted. */
#include <string.h>
#include <openssl/evp.h>

#include "harness.h"
#include "core/mdblock.h"

static const EVP_MD *md_of(enum nk_hash h)
{
    return h == NK_SHA1 ? EVP_sha1() : h == NK_SHA256 ? EVP_sha256() : EVP_sha384();
}

/* msg[0..n) padded: 0x80, zeros, the bit length in the last lf bytes. */
static size_t pad(enum nk_hash h, uint8_t *buf, size_t n)
{
    size_t bl = nk_mdb_block_len(h), lf = nk_mdb_lenfield_len(h), total = (n + 1 + lf + bl - 1) / bl * bl;
    buf[n] = 0x80;
    memset(buf + n + 1, 0, total - n - 1);
    uint64_t bits = (uint64_t)n * 8;
    for (size_t e = 0; e < 8; e++)
        buf[total - 1 - e] = (uint8_t)(bits >> (8 * e));
    return total;
}

TEST(blocks_give_the_digest)
{
    static const enum nk_hash hs[] = { NK_SHA1, NK_SHA256, NK_SHA384 };
    static const size_t lens[] = { 0, 3, 55, 56, 64, 111, 112, 200, 1000 };
    uint8_t buf[1200], want[64], got[64];
    for (size_t hi = 0; hi < NK_ARRAY_LEN(hs); hi++) {
        enum nk_hash h = hs[hi];
        size_t bl = nk_mdb_block_len(h);
        for (size_t li = 0; li < NK_ARRAY_LEN(lens); li++) {
            size_t n = lens[li];
            for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t)(i * 31 + 7);
            unsigned wl = 0;
            ASSERT_EQ(EVP_Digest(buf, n, want, &wl, md_of(h), NULL), 1);
            ASSERT_EQ(wl, nk_hash_len(h));
            size_t total = pad(h, buf, n);
            struct nk_mdb m;
            ASSERT_EQ(nk_mdb_init(&m, h), OK);
            uint64_t before = nk_mdb_compressions();
            for (size_t off = 0; off < total; off += bl) {
                nk_mdb_compress(&m, buf + off);
                nk_mdb_value(&m, got);
                if (off + bl < total)
                    EXPECT_NE(memcmp(got, want, wl), 0);
            }
            EXPECT_EQ(nk_mdb_compressions() - before, (uint64_t)(total / bl));
            EXPECT_MEM_EQ(got, want, wl) TH_LOG("hash %d length %zu", (int)h, n);
        }
    }
}

TEST(sizes_and_refusals)
{
    EXPECT_EQ(nk_mdb_block_len(NK_SHA1), 64u);
    EXPECT_EQ(nk_mdb_block_len(NK_SHA256), 64u);
    EXPECT_EQ(nk_mdb_block_len(NK_SHA384), 128u);
    EXPECT_EQ(nk_mdb_lenfield_len(NK_SHA256), 8u);
    EXPECT_EQ(nk_mdb_lenfield_len(NK_SHA384), 16u);
    EXPECT_EQ(nk_mdb_block_len(NK_SHA512), 0u);   /* not offered here */
    struct nk_mdb m;
    EXPECT_EQ(nk_mdb_init(&m, NK_SHA512), ERR_CRYPTO);
}

TEST_HARNESS_MAIN
