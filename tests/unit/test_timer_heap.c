/* test_timer_heap.c — the event loop's timer heap (uring/timer_heap.h): timers
 * come out earliest first and only once due, removal from anywhere (the root,
 * the middle, the last slot, one not in the heap), re-arming earlier and later,
 * ties, growth past the first 256 slots, and many timers under a mixed load.
 * After every change each entry's heap_idx names its slot and no parent fires
 * after its children. */
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "uring/timer_heap.h"

/* The heap's invariants: every entry knows its slot, parents fire first. */
static void check_heap(struct __test_metadata *_metadata, const struct nk_theap *h)
{
    for (size_t i = 0; i < h->n; i++) {
        ASSERT_EQ(h->v[i]->heap_idx, (int)i);
        if (i > 0)
            ASSERT_LE(h->v[(i - 1) / 2]->be_at, h->v[i]->be_at) TH_LOG("slot %zu", i);
    }
    ASSERT_EQ(nk_theap_next(h), h->n ? h->v[0]->be_at : 0);
}

static void push(struct __test_metadata *_metadata, struct nk_theap *h, struct nk_lconn *lc, int64_t at)
{
    lc->be_at = at;
    ASSERT_EQ(nk_theap_push(h, lc), 0);
    check_heap(_metadata, h);
}

/* Take out every timer due by now; their times go to out (at most max). */
static size_t drain(struct __test_metadata *_metadata, struct nk_theap *h, int64_t now, int64_t *out,
                    size_t max)
{
    size_t n = 0;
    struct nk_lconn *lc;
    while ((lc = nk_theap_pop_due(h, now))) {
        EXPECT_EQ(lc->heap_idx, -1);
        EXPECT_LE(lc->be_at, now);
        if (n < max)
            out[n] = lc->be_at;
        n++;
        check_heap(_metadata, h);
    }
    return n;
}

TEST(empty)
{
    struct nk_theap h = { 0 };
    EXPECT_EQ(nk_theap_next(&h), 0);
    EXPECT_NULL(nk_theap_pop_due(&h, INT64_MAX));
    EXPECT_EQ(h.n, 0u);
}

TEST(earliest_first)
{
    static const int64_t at[] = { 50, 10, 90, 30, 70, 20, 80, 60, 40, 100 };
    struct nk_lconn lc[NK_ARRAY_LEN(at)];
    struct nk_theap h = { 0 };
    memset(lc, 0, sizeof lc);
    for (size_t i = 0; i < NK_ARRAY_LEN(at); i++)
        push(_metadata, &h, &lc[i], at[i]);
    ASSERT_EQ(h.n, NK_ARRAY_LEN(at));
    EXPECT_EQ(h.cap, 256u);   /* the first allocation */
    EXPECT_EQ(nk_theap_next(&h), 10);
    EXPECT_TRUE(h.v[0] == &lc[1]);
    int64_t out[16];
    ASSERT_EQ(drain(_metadata, &h, INT64_MAX, out, 16), NK_ARRAY_LEN(at));
    for (size_t i = 0; i < NK_ARRAY_LEN(at); i++)
        EXPECT_EQ(out[i], (int64_t)(10 * (i + 1)));
    EXPECT_EQ(nk_theap_next(&h), 0);
    free(h.v);
}

TEST(only_when_due)
{
    struct nk_lconn lc[3];
    struct nk_theap h = { 0 };
    memset(lc, 0, sizeof lc);
    push(_metadata, &h, &lc[0], 30);
    push(_metadata, &h, &lc[1], 10);
    push(_metadata, &h, &lc[2], 20);
    EXPECT_NULL(nk_theap_pop_due(&h, 9));
    EXPECT_EQ(h.n, 3u);
    /* Due at or before now: 10 fires at 10. */
    EXPECT_TRUE(nk_theap_pop_due(&h, 10) == &lc[1]);
    EXPECT_NULL(nk_theap_pop_due(&h, 10));
    EXPECT_TRUE(nk_theap_pop_due(&h, 25) == &lc[2]);
    EXPECT_NULL(nk_theap_pop_due(&h, 25));
    EXPECT_EQ(nk_theap_next(&h), 30);
    EXPECT_EQ(lc[0].heap_idx, 0);
    EXPECT_TRUE(nk_theap_pop_due(&h, 1000) == &lc[0]);
    EXPECT_EQ(h.n, 0u);
    free(h.v);
}

TEST(remove_anywhere)
{
    static const int64_t at[] = { 10, 20, 30, 40, 50, 60, 70, 80, 90 };
    struct nk_lconn lc[NK_ARRAY_LEN(at)], outside;
    struct nk_theap h = { 0 };
    memset(lc, 0, sizeof lc);
    for (size_t i = 0; i < NK_ARRAY_LEN(at); i++)
        push(_metadata, &h, &lc[i], at[i]);
    /* Pushed in order: each is in its own slot. From the middle (slot 4,
     * whose place the last entry takes and must sink or rise from). */
    ASSERT_EQ(lc[4].heap_idx, 4);
    nk_theap_remove(&h, &lc[4]);
    EXPECT_EQ(lc[4].heap_idx, -1);
    EXPECT_EQ(h.n, 8u);
    check_heap(_metadata, &h);
    /* Again: not in the heap any more, nothing happens. */
    nk_theap_remove(&h, &lc[4]);
    EXPECT_EQ(h.n, 8u);
    /* One that never was (heap_idx -1). */
    memset(&outside, 0, sizeof outside);
    outside.heap_idx = -1;
    nk_theap_remove(&h, &outside);
    EXPECT_EQ(h.n, 8u);
    check_heap(_metadata, &h);
    /* The entry in the last slot, and the root. */
    nk_theap_remove(&h, h.v[h.n - 1]);
    EXPECT_EQ(h.n, 7u);
    check_heap(_metadata, &h);
    nk_theap_remove(&h, &lc[0]);
    EXPECT_EQ(h.n, 6u);
    check_heap(_metadata, &h);
    EXPECT_EQ(nk_theap_next(&h), 20);

    int64_t out[16];
    size_t n = drain(_metadata, &h, INT64_MAX, out, 16);
    ASSERT_EQ(n, 6u);
    for (size_t i = 1; i < n; i++)
        EXPECT_LT(out[i - 1], out[i]);
    for (size_t i = 0; i < n; i++) {
        EXPECT_NE(out[i], 10);
        EXPECT_NE(out[i], 50);
    }
    free(h.v);
}

TEST(remove_shifts_the_last_entry_up)
{
    /* The last entry moved into a removed slot may be earlier than that
     * slot's parent: it must rise, not only sink. Pushed in this order each
     * stays in its slot: 0 | 100 1 | 101 102 3 2. Removing slot 3 (under 100)
     * moves the 2 from slot 6 there, and it must rise above the 100. */
    static const int64_t at[] = { 0, 100, 1, 101, 102, 3, 2 };
    struct nk_lconn lc[NK_ARRAY_LEN(at)];
    struct nk_theap h = { 0 };
    memset(lc, 0, sizeof lc);
    for (size_t i = 0; i < NK_ARRAY_LEN(at); i++)
        push(_metadata, &h, &lc[i], at[i]);
    ASSERT_EQ(lc[3].heap_idx, 3);
    ASSERT_EQ(lc[6].heap_idx, 6);
    nk_theap_remove(&h, &lc[3]);
    check_heap(_metadata, &h);
    /* 2 took slot 3 and rose above 100. */
    EXPECT_EQ(lc[6].heap_idx, 1);
    EXPECT_EQ(lc[1].heap_idx, 3);
    free(h.v);
}

TEST(rearm)
{
    static const int64_t at[] = { 10, 20, 30, 40, 50, 60, 70 };
    struct nk_lconn lc[NK_ARRAY_LEN(at)];
    struct nk_theap h = { 0 };
    memset(lc, 0, sizeof lc);
    for (size_t i = 0; i < NK_ARRAY_LEN(at); i++)
        push(_metadata, &h, &lc[i], at[i]);
    /* Earlier than everything: it becomes the root. */
    lc[6].be_at = 5;
    nk_theap_fix(&h, (size_t)lc[6].heap_idx);
    check_heap(_metadata, &h);
    EXPECT_EQ(lc[6].heap_idx, 0);
    EXPECT_EQ(nk_theap_next(&h), 5);
    /* The root re-armed later than everything: it sinks to a leaf. */
    lc[6].be_at = 1000;
    nk_theap_fix(&h, 0);
    check_heap(_metadata, &h);
    EXPECT_GE(lc[6].heap_idx, 3);
    EXPECT_EQ(nk_theap_next(&h), 10);
    /* Re-armed to the same time: nothing moves. */
    int idx = lc[2].heap_idx;
    nk_theap_fix(&h, (size_t)idx);
    EXPECT_EQ(lc[2].heap_idx, idx);
    /* One in the middle, to between its neighbours. */
    lc[1].be_at = 45;
    nk_theap_fix(&h, (size_t)lc[1].heap_idx);
    check_heap(_metadata, &h);

    static const int64_t want[] = { 10, 30, 40, 45, 50, 60, 1000 };
    int64_t out[16];
    ASSERT_EQ(drain(_metadata, &h, INT64_MAX, out, 16), NK_ARRAY_LEN(want));
    ASSERT_MEM_EQ(out, want, sizeof want);
    free(h.v);
}

TEST(ties)
{
    /* Eight timers at one time, two before: all eight fire at that time, each
     * once, after the two. */
    struct nk_lconn lc[10];
    struct nk_theap h = { 0 };
    memset(lc, 0, sizeof lc);
    for (int i = 0; i < 8; i++)
        push(_metadata, &h, &lc[i], 500);
    push(_metadata, &h, &lc[8], 499);
    push(_metadata, &h, &lc[9], 7);
    EXPECT_TRUE(nk_theap_pop_due(&h, 500) == &lc[9]);
    EXPECT_TRUE(nk_theap_pop_due(&h, 500) == &lc[8]);
    EXPECT_NULL(nk_theap_pop_due(&h, 499));
    unsigned seen = 0;
    struct nk_lconn *x;
    while ((x = nk_theap_pop_due(&h, 500))) {
        ptrdiff_t i = x - lc;
        ASSERT_TRUE(i >= 0 && i < 8);
        EXPECT_FALSE(seen & 1u << i) TH_LOG("timer %td twice", i);
        seen |= 1u << i;
        check_heap(_metadata, &h);
    }
    EXPECT_EQ(seen, 0xffu);
    EXPECT_EQ(h.n, 0u);
    free(h.v);
}

/* A fixed pseudo-random sequence (the same on every run). */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

TEST(many)
{
    /* 10,000 timers (the heap grows 256 → 16384), a third removed, a third
     * re-armed, then everything drained in order. */
    enum { N = 10000 };
    static struct nk_lconn lc[N];
    struct nk_theap h = { 0 };
    uint32_t seed = 1;
    memset(lc, 0, sizeof lc);
    for (int i = 0; i < N; i++) {
        lc[i].be_at = (int64_t)(lcg(&seed) % 5000);   /* many ties */
        ASSERT_EQ(nk_theap_push(&h, &lc[i]), 0);
    }
    EXPECT_EQ(h.n, (size_t)N);
    EXPECT_EQ(h.cap, 16384u);
    check_heap(_metadata, &h);
    size_t left = N;
    for (int i = 0; i < N; i += 3) {
        nk_theap_remove(&h, &lc[i]);
        left--;
    }
    for (int i = 1; i < N; i += 3) {
        lc[i].be_at = (int64_t)(lcg(&seed) % 5000);
        nk_theap_fix(&h, (size_t)lc[i].heap_idx);
    }
    ASSERT_EQ(h.n, left);
    check_heap(_metadata, &h);
    /* Half due by 2500, then the rest. */
    size_t due = 0;
    for (int i = 0; i < N; i++)
        due += i % 3 != 0 && lc[i].be_at <= 2500;
    int64_t prev = INT64_MIN;
    size_t n = 0;
    struct nk_lconn *x;
    while ((x = nk_theap_pop_due(&h, 2500))) {
        ASSERT_LE(prev, x->be_at);
        ASSERT_NE((x - lc) % 3, 0);
        prev = x->be_at;
        n++;
    }
    EXPECT_EQ(n, due);
    EXPECT_GT(nk_theap_next(&h), 2500);
    while ((x = nk_theap_pop_due(&h, INT64_MAX))) {
        ASSERT_LE(prev, x->be_at);
        prev = x->be_at;
        n++;
    }
    EXPECT_EQ(n, left);
    for (int i = 0; i < N; i++)
        EXPECT_EQ(lc[i].heap_idx, -1);
    free(h.v);
}

TEST_HARNESS_MAIN
