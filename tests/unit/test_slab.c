/* test_slab.c — the fixed-size object pools (core/slab.c): object sizes
 * rounded to 16, zeroed and aligned objects, objects taken in address order
 * from 64 KiB chunks, the most recently freed reused first, growth by chunks,
 * one entirely free chunk kept as a spare and the next one unmapped, trimming
 * (one pool, every pool), the per-object cost, secrets wiped on free, many
 * threads at once, and the short-name pool (nk_name_dup). Built with
 * AddressSanitizer the pools hand out heap blocks: the chunk cases skip there
 * and the rest check the counts that both builds keep. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "core/nk.h"
#include "core/slab.h"

#ifdef __SANITIZE_ADDRESS__
#define POOLED 0
#else
#define POOLED 1
#endif
#define CHUNK ((uintptr_t)64 * 1024)
/* The chunk header (a pointer to the pool, two list links, the free list and
 * three counters) rounded to 16: where the first object starts. */
#define HEADER ((uintptr_t)48)

#define NEED_POOLS()                                                                   \
    do {                                                                               \
        if (!POOLED)                                                                   \
            SKIP(return, "built with AddressSanitizer: the pools hand out heap blocks"); \
    } while (0)

/* Each case runs in a process of its own: these start empty every time. */
static struct nk_slab pool64 = NK_SLAB_INIT(64);
static struct nk_slab pool100 = NK_SLAB_INIT(100);

static uintptr_t chunk_of(const void *p)
{
    return (uintptr_t)p & ~(CHUNK - 1);
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

TEST(size_rounded_to_16)
{
    struct nk_slab a = NK_SLAB_INIT(1), b = NK_SLAB_INIT(16), c = NK_SLAB_INIT(17),
                   d = NK_SLAB_INIT(NK_NAME_SHORT);
    EXPECT_EQ(a.size, 16u);
    EXPECT_EQ(b.size, 16u);
    EXPECT_EQ(c.size, 32u);
    EXPECT_EQ(d.size, 48u);
    EXPECT_EQ(pool100.size, 112u);
    EXPECT_EQ(nk_names_slab.size, 48u);
}

TEST(zeroed_aligned_counted)
{
    uint8_t *p = nk_slab_alloc(&pool100);
    ASSERT_NOT_NULL(p);
    EXPECT_EQ((uintptr_t)p % 16, 0u);
    EXPECT_TRUE(all_zero(p, pool100.size));
    EXPECT_EQ(pool100.live, 1u);
    EXPECT_EQ(pool100.chunks, (size_t)POOLED);
    memset(p, 0xa5, pool100.size);
    nk_slab_free(&pool100, p);
    EXPECT_EQ(pool100.live, 0u);
    /* Handed out again (the same object where pooled), zeroed again. */
    uint8_t *q = nk_slab_alloc(&pool100);
    ASSERT_NOT_NULL(q);
    if (POOLED)
        EXPECT_TRUE(q == p);
    EXPECT_TRUE(all_zero(q, pool100.size));
    EXPECT_EQ(pool100.live, 1u);
    nk_slab_free(&pool100, q);
}

TEST(free_null_does_nothing)
{
    void *p = nk_slab_alloc(&pool64);
    ASSERT_NOT_NULL(p);
    nk_slab_free(&pool64, NULL);
    EXPECT_EQ(pool64.live, 1u);
    nk_slab_free(&pool64, p);
    nk_slab_free(&pool64, NULL);
    EXPECT_EQ(pool64.live, 0u);
}

TEST(address_order_in_a_chunk)
{
    NEED_POOLS();
    uint8_t *a = nk_slab_alloc(&pool64), *b = nk_slab_alloc(&pool64), *c = nk_slab_alloc(&pool64);
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    ASSERT_NOT_NULL(c);
    EXPECT_EQ((uintptr_t)a - chunk_of(a), HEADER);
    EXPECT_TRUE(b == a + 64);
    EXPECT_TRUE(c == b + 64);
    EXPECT_EQ(pool64.per_chunk, (uint32_t)((CHUNK - HEADER) / 64));
    EXPECT_EQ(pool64.per_chunk, 1023u);
    EXPECT_EQ(pool64.chunks, 1u);
    EXPECT_EQ(pool64.live, 3u);
}

TEST(last_freed_reused_first)
{
    NEED_POOLS();
    uint8_t *a = nk_slab_alloc(&pool64), *b = nk_slab_alloc(&pool64), *c = nk_slab_alloc(&pool64);
    ASSERT_NOT_NULL(c);
    nk_slab_free(&pool64, b);
    nk_slab_free(&pool64, c);
    EXPECT_EQ(pool64.live, 1u);
    /* c lies first on the free list, linked to b through its first bytes:
     * handed out, those are zero again like the rest. */
    uint8_t *r = nk_slab_alloc(&pool64);
    EXPECT_TRUE(r == c);
    EXPECT_TRUE(all_zero(r, 64));
    EXPECT_TRUE(nk_slab_alloc(&pool64) == b);
    /* The free list is empty: the next object never handed out. */
    EXPECT_TRUE(nk_slab_alloc(&pool64) == a + 3 * 64);
    EXPECT_EQ(pool64.live, 4u);
}

TEST(freed_object_wiped)
{
    NEED_POOLS();
    /* It may have held keys: all of it but the free-list link is zero. */
    uint8_t *keep = nk_slab_alloc(&pool64), *p = nk_slab_alloc(&pool64);
    ASSERT_NOT_NULL(keep);
    ASSERT_NOT_NULL(p);
    memset(p, 0x5a, 64);
    nk_slab_free(&pool64, p);
    EXPECT_TRUE(all_zero(p + sizeof(void *), 64 - sizeof(void *)));
    /* The link: the list was empty before, so it ends here. */
    void *link;
    memcpy(&link, p, sizeof link);
    EXPECT_NULL(link);
}

TEST(grows_by_chunks)
{
    NEED_POOLS();
    enum { PER = 1023 };
    static uint8_t *o[PER + 1];
    for (int i = 0; i < PER; i++) {
        o[i] = nk_slab_alloc(&pool64);
        ASSERT_NOT_NULL(o[i]);
        ASSERT_EQ(chunk_of(o[i]), chunk_of(o[0]));
    }
    ASSERT_EQ(pool64.per_chunk, (uint32_t)PER);
    EXPECT_EQ(pool64.chunks, 1u);
    EXPECT_NULL(pool64.partial);   /* a full chunk is off the list */
    o[PER] = nk_slab_alloc(&pool64);
    ASSERT_NOT_NULL(o[PER]);
    EXPECT_EQ(pool64.chunks, 2u);
    EXPECT_NE(chunk_of(o[PER]), chunk_of(o[0]));
    EXPECT_EQ((uintptr_t)o[PER] - chunk_of(o[PER]), HEADER);
    /* A freed object of the full chunk puts it first in line. */
    nk_slab_free(&pool64, o[500]);
    EXPECT_TRUE(nk_slab_alloc(&pool64) == o[500]);
    EXPECT_TRUE(nk_slab_alloc(&pool64) == o[PER] + 64);
    EXPECT_EQ(pool64.live, (size_t)PER + 2);
    EXPECT_EQ(pool64.chunks, 2u);
}

TEST(spare_chunk_then_unmap_then_trim)
{
    NEED_POOLS();
    enum { PER = 1023 };
    static uint8_t *o[PER + 1];
    for (int i = 0; i <= PER; i++)
        ASSERT_NOT_NULL(o[i] = nk_slab_alloc(&pool64));
    ASSERT_EQ(pool64.chunks, 2u);
    uintptr_t first = chunk_of(o[0]);
    /* The first chunk emptied: kept as the spare, still mapped. */
    for (int i = 0; i < PER; i++)
        nk_slab_free(&pool64, o[i]);
    EXPECT_EQ(pool64.live, 1u);
    EXPECT_EQ(pool64.chunks, 2u);
    EXPECT_EQ((uintptr_t)pool64.spare, first);
    /* The second emptied while a spare exists: unmapped. */
    nk_slab_free(&pool64, o[PER]);
    EXPECT_EQ(pool64.live, 0u);
    EXPECT_EQ(pool64.chunks, 1u);
    EXPECT_NULL(pool64.partial);
    /* The next object comes from the spare, from its start again. */
    uint8_t *p = nk_slab_alloc(&pool64);
    EXPECT_TRUE(p == (uint8_t *)first + HEADER);
    EXPECT_NULL(pool64.spare);
    EXPECT_EQ(pool64.chunks, 1u);
    nk_slab_free(&pool64, p);
    EXPECT_EQ((uintptr_t)pool64.spare, first);
    nk_slab_trim(&pool64);
    EXPECT_EQ(pool64.chunks, 0u);
    EXPECT_NULL(pool64.spare);
    nk_slab_trim(&pool64);   /* nothing to trim */
    EXPECT_EQ(pool64.chunks, 0u);
    /* And a fresh chunk after that. */
    p = nk_slab_alloc(&pool64);
    ASSERT_NOT_NULL(p);
    EXPECT_EQ(pool64.chunks, 1u);
    nk_slab_free(&pool64, p);
}

TEST(trim_all_pools)
{
    NEED_POOLS();
    /* Each pool is listed once, however often it maps a chunk (a pool listed
     * twice would make the list a loop). */
    for (int round = 0; round < 3; round++) {
        void *a = nk_slab_alloc(&pool64), *b = nk_slab_alloc(&pool100);
        char *n = NULL;
        unsigned pooled = 0;
        ASSERT_NOT_NULL(a);
        ASSERT_NOT_NULL(b);
        ASSERT_NOT_NULL(n = nk_name_dup("x", 1, &pooled));
        nk_slab_free(&pool64, a);
        nk_slab_free(&pool100, b);
        nk_name_free(n, pooled);
        EXPECT_EQ(pool64.chunks, 1u);
        EXPECT_EQ(pool100.chunks, 1u);
        EXPECT_EQ(nk_names_slab.chunks, 1u);
        nk_slab_trim_all();
        EXPECT_EQ(pool64.chunks, 0u);
        EXPECT_EQ(pool100.chunks, 0u);
        EXPECT_EQ(nk_names_slab.chunks, 0u);
    }
    /* A pool in use keeps its chunk. */
    void *a = nk_slab_alloc(&pool64);
    nk_slab_trim_all();
    EXPECT_EQ(pool64.chunks, 1u);
    nk_slab_free(&pool64, a);
}

TEST(cost_per_object)
{
    if (POOLED) {
        /* A chunk's share: 65536 bytes over 1023 objects of 64, over 1364 of 48. */
        EXPECT_EQ(nk_slab_cost(&pool64), 65u);
        EXPECT_EQ(nk_slab_cost(&nk_names_slab), 49u);
        EXPECT_EQ(nk_slab_cost(&pool100), 113u);   /* 584 objects of 112 */
    } else {
        /* A heap block: the size, the allocator's 8-byte header, rounded to 16. */
        EXPECT_EQ(nk_slab_cost(&pool64), 80u);
        EXPECT_EQ(nk_slab_cost(&nk_names_slab), 64u);
        EXPECT_EQ(nk_slab_cost(&pool100), 128u);
    }
}

/* ---- several threads: each allocates, writes its mark, checks, frees ---- */

static void *churn(void *arg)
{
    uintptr_t mark = (uintptr_t)arg;
    uint8_t *held[8];
    for (int round = 0; round < 20000; round++) {
        for (int i = 0; i < 8; i++) {
            if (!(held[i] = nk_slab_alloc(&pool64)))
                return (void *)1;
            memset(held[i], (int)mark, 64);
        }
        for (int i = 0; i < 8; i++) {
            for (int k = 0; k < 64; k++)
                if (held[i][k] != (uint8_t)mark)
                    return (void *)2;   /* two threads were given one object */
            nk_slab_free(&pool64, held[i]);
        }
    }
    return NULL;
}

TEST(threads)
{
    pthread_t th[4];
    for (uintptr_t i = 0; i < 4; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, churn, (void *)(i + 1)), 0);
    for (int i = 0; i < 4; i++) {
        void *ret = (void *)-1;
        ASSERT_EQ(pthread_join(th[i], &ret), 0);
        EXPECT_NULL(ret);
    }
    EXPECT_EQ(pool64.live, 0u);
    /* All freed: at most the spare remains. */
    EXPECT_EQ(pool64.chunks, (size_t)POOLED);
}

/* ---- short names ---- */

TEST(name_dup_pooled_or_heap)
{
    static const char src[] = "server.example.com and what follows";
    char long_name[NK_NAME_SHORT + 1];
    memset(long_name, 'n', NK_NAME_SHORT);
    long_name[NK_NAME_SHORT] = 0;
    unsigned pooled = 7;

    /* Only n bytes are copied, and terminated. */
    char *a = nk_name_dup(src, 18, &pooled);
    ASSERT_NOT_NULL(a);
    EXPECT_EQ(pooled, 1u);
    EXPECT_STR_EQ(a, "server.example.com");
    EXPECT_EQ(nk_names_slab.live, 1u);

    /* NK_NAME_SHORT - 1 characters and their NUL fill one pool object. */
    char *b = nk_name_dup(long_name, NK_NAME_SHORT - 1, &pooled);
    ASSERT_NOT_NULL(b);
    EXPECT_EQ(pooled, 1u);
    EXPECT_EQ(strlen(b), (size_t)NK_NAME_SHORT - 1);
    EXPECT_EQ(nk_names_slab.live, 2u);

    /* One more and it comes from the heap. */
    char *c = nk_name_dup(long_name, NK_NAME_SHORT, &pooled);
    ASSERT_NOT_NULL(c);
    EXPECT_EQ(pooled, 0u);
    EXPECT_STR_EQ(c, long_name);
    EXPECT_EQ(nk_names_slab.live, 2u);
    nk_name_free(c, 0);

    char *e = nk_name_dup("", 0, &pooled);
    ASSERT_NOT_NULL(e);
    EXPECT_EQ(pooled, 1u);
    EXPECT_STR_EQ(e, "");
    EXPECT_EQ(nk_names_slab.live, 3u);

    nk_name_free(NULL, 1);
    nk_name_free(NULL, 0);
    EXPECT_EQ(nk_names_slab.live, 3u);
    nk_name_free(e, 1);
    nk_name_free(b, 1);
    nk_name_free(a, 1);
    EXPECT_EQ(nk_names_slab.live, 0u);
}

TEST_HARNESS_MAIN
