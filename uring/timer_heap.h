/* uring/timer_heap.h — the connections' timers of one worker, as a binary heap
 * keyed by lc->be_at (ms, loop clock), lc->heap_idx its place (-1: not in it).
 * Both backends keep timers here and ask the kernel for one wake-up, at the
 * earliest: a kernel timer per connection costs the kernel a walk of all of
 * them at every removal, which at ten thousand connections outweighs the TLS
 * work. Header only: two small users. */
#ifndef NK_TIMER_HEAP_H
#define NK_TIMER_HEAP_H

#include <stdlib.h>
#include "uring/loop.h"

struct nk_theap {
    struct nk_lconn **v;
    size_t n, cap;
};

static inline void nk_theap_swap(struct nk_theap *h, size_t i, size_t j)
{
    struct nk_lconn *t = h->v[i];
    h->v[i] = h->v[j];
    h->v[j] = t;
    h->v[i]->heap_idx = (int)i;
    h->v[j]->heap_idx = (int)j;
}

/* Restore the heap order around entry i after its be_at changed. */
static inline void nk_theap_fix(struct nk_theap *h, size_t i)
{
    while (i > 0 && h->v[(i - 1) / 2]->be_at > h->v[i]->be_at) {
        nk_theap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->v[l]->be_at < h->v[m]->be_at)
            m = l;
        if (r < h->n && h->v[r]->be_at < h->v[m]->be_at)
            m = r;
        if (m == i)
            return;
        nk_theap_swap(h, i, m);
        i = m;
    }
}

/* -1 when there is no memory for it. */
static inline int nk_theap_push(struct nk_theap *h, struct nk_lconn *lc)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 256;
        struct nk_lconn **v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return -1;
        h->v = v;
        h->cap = cap;
    }
    lc->heap_idx = (int)h->n;
    h->v[h->n++] = lc;
    nk_theap_fix(h, h->n - 1);
    return 0;
}

static inline void nk_theap_remove(struct nk_theap *h, struct nk_lconn *lc)
{
    size_t i = (size_t)lc->heap_idx;
    lc->heap_idx = -1;
    if (i >= h->n)
        return;
    h->n--;
    if (i != h->n) {
        h->v[i] = h->v[h->n];
        h->v[i]->heap_idx = (int)i;
        nk_theap_fix(h, i);
    }
}

/* The connection whose timer is due at or before now, taken out; NULL if none. */
static inline struct nk_lconn *nk_theap_pop_due(struct nk_theap *h, int64_t now)
{
    if (!h->n || h->v[0]->be_at > now)
        return NULL;
    struct nk_lconn *lc = h->v[0];
    nk_theap_remove(h, lc);
    return lc;
}

/* When the earliest timer is due; 0 when there is none. */
static inline int64_t nk_theap_next(const struct nk_theap *h)
{
    return h->n ? h->v[0]->be_at : 0;
}

#endif
