/* core/slab.h — fixed-size object pools for state that lives as long as a
 * connection (struct nk_conn, its record keys, the loop's connection, short
 * names).
 *
 * Why not malloc: a server opens connections in bursts, and each handshake
 * allocates and frees tens of KiB of temporaries. Long-lived blocks handed out
 * by malloc in the middle of that churn end up scattered over heap pages that
 * are otherwise free, so those pages stay resident after the burst: an idle
 * kTLS connection holding ~1 KiB of live state cost 2.5–2.9 KiB of RSS. A pool
 * packs the long-lived objects densely into chunks of their own, and gives a
 * chunk back to the system as soon as every object in it is freed.
 *
 * Thread safety: each pool has its own mutex (connections are created by one
 * thread and freed by another, e.g. a loop worker). Built with AddressSanitizer
 * the pools hand out plain heap blocks instead, so use-after-free and leaks stay
 * visible to the sanitizer (it neither tracks nor scans our private chunks). */
#ifndef NK_SLAB_H
#define NK_SLAB_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct nk_slab_chunk;

struct nk_slab {
    uint32_t size;                   /* object size, rounded up to 16 */
    uint32_t per_chunk;              /* objects in one chunk (set on first use) */
    pthread_mutex_t mu;
    struct nk_slab_chunk *partial;   /* chunks with at least one free object */
    struct nk_slab_chunk *spare;     /* one entirely free chunk, kept against churn */
    size_t live;                     /* objects handed out */
    size_t chunks;                   /* chunks mapped, the spare included */
    struct nk_slab *next_pool;       /* every pool that mapped a chunk (nk_slab_trim_all) */
    int listed;
};

#define NK_SLAB_INIT(objsize) \
    { .size = (uint32_t)(((objsize) + 15) & ~(size_t)15), .mu = PTHREAD_MUTEX_INITIALIZER }

/* A zeroed object; NULL when out of memory. */
void *nk_slab_alloc(struct nk_slab *s);
/* Wipe the whole object (it may hold secrets), then return it; NULL is a no-op. */
void nk_slab_free(struct nk_slab *s, void *p);
/* Bytes of memory one object accounts for (its share of a chunk, header and
 * tail included; the heap block under AddressSanitizer). */
size_t nk_slab_cost(struct nk_slab *s);
/* Give the spare chunk back; _all: every pool's (after a burst, with the
 * heap's trim: a spare is kept against churn, not for ever). */
void nk_slab_trim(struct nk_slab *s);
void nk_slab_trim_all(void);

/* Short strings that live as long as a connection (server name, agreed ALPN
 * protocol): up to NK_NAME_SHORT - 1 characters come from a pool, longer ones
 * from malloc. *pooled tells nk_name_free which it was. */
#define NK_NAME_SHORT 48
char *nk_name_dup(const char *s, size_t n, unsigned *pooled);
void nk_name_free(char *p, unsigned pooled);

/* The pools (core/slab.c). */
extern struct nk_slab nk_names_slab;

#endif
