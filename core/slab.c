/* core/slab.c — fixed-size object pools (see slab.h for why).
 *
 * A chunk is CHUNK bytes of anonymous memory aligned to CHUNK, so an object's
 * chunk is found by masking its address. The chunk's header comes first, then
 * the objects. Objects never handed out are taken in address order (a bump
 * index), so a chunk's pages become resident only as it fills; freed ones form a
 * list through their first bytes. Allocation takes from the chunks that have
 * room (most recently freed-into first); a chunk whose last object is freed is
 * unmapped, except one spare per pool, so a server hovering around a multiple
 * of a chunk's capacity does not map and unmap at every connection. */
#include <stdlib.h>
#include <sys/mman.h>
#include "core/nk.h"
#include "core/slab.h"

#define CHUNK ((size_t)64 * 1024)

struct nk_slab_chunk {
    struct nk_slab *slab;
    struct nk_slab_chunk *next, *prev;   /* in slab->partial */
    void *free;                          /* freed objects, linked through their start */
    uint32_t used;                       /* objects handed out */
    uint32_t fresh;                      /* objects [fresh, per_chunk) were never used */
    uint32_t in_partial;
};

#define OBJ_OFF ((sizeof(struct nk_slab_chunk) + 15) & ~(size_t)15)

struct nk_slab nk_names_slab = NK_SLAB_INIT(NK_NAME_SHORT);

#ifdef __SANITIZE_ADDRESS__

void *nk_slab_alloc(struct nk_slab *s)
{
    void *p = calloc(1, s->size);
    if (p) {
        pthread_mutex_lock(&s->mu);
        s->live++;
        pthread_mutex_unlock(&s->mu);
    }
    return p;
}

void nk_slab_free(struct nk_slab *s, void *p)
{
    if (!p)
        return;
    nk_wipe(p, s->size);
    free(p);
    pthread_mutex_lock(&s->mu);
    s->live--;
    pthread_mutex_unlock(&s->mu);
}

size_t nk_slab_cost(struct nk_slab *s)
{
    return (s->size + 8 + 15) & ~(size_t)15;   /* the heap's header and rounding */
}

void nk_slab_trim(struct nk_slab *s)
{
    (void)s;
}

void nk_slab_trim_all(void)
{
}

#else

/* Every pool that mapped a chunk, for nk_slab_trim_all. */
static pthread_mutex_t g_pools_mu = PTHREAD_MUTEX_INITIALIZER;
static struct nk_slab *g_pools;

static void list_remove(struct nk_slab *s, struct nk_slab_chunk *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->partial = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    c->in_partial = 0;
}

static void list_push(struct nk_slab *s, struct nk_slab_chunk *c)
{
    c->prev = NULL;
    c->next = s->partial;
    if (s->partial)
        s->partial->prev = c;
    s->partial = c;
    c->in_partial = 1;
}

/* CHUNK bytes aligned to CHUNK: map twice that and unmap the ends. */
static struct nk_slab_chunk *chunk_map(struct nk_slab *s)
{
    uint8_t *m = mmap(NULL, 2 * CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)m + CHUNK - 1) & ~(uintptr_t)(CHUNK - 1);
    size_t head = a - (uintptr_t)m, tail = CHUNK - head;
    if (head)
        munmap(m, head);
    if (tail)
        munmap((uint8_t *)a + CHUNK, tail);
    struct nk_slab_chunk *c = (struct nk_slab_chunk *)a;   /* fresh mapping: zeroed */
    c->slab = s;
    s->chunks++;
    if (!s->listed) {   /* under s->mu; the list has a lock of its own */
        pthread_mutex_lock(&g_pools_mu);
        s->next_pool = g_pools;
        g_pools = s;
        s->listed = 1;
        pthread_mutex_unlock(&g_pools_mu);
    }
    return c;
}

static void chunk_unmap(struct nk_slab *s, struct nk_slab_chunk *c)
{
    s->chunks--;
    munmap(c, CHUNK);
}

void *nk_slab_alloc(struct nk_slab *s)
{
    void *p = NULL;
    pthread_mutex_lock(&s->mu);
    if (!s->per_chunk)
        s->per_chunk = (uint32_t)((CHUNK - OBJ_OFF) / s->size);
    struct nk_slab_chunk *c = s->partial;
    if (!c) {
        c = s->spare ? s->spare : chunk_map(s);
        s->spare = NULL;
        if (c)
            list_push(s, c);
    }
    if (c) {
        if (c->free) {
            p = c->free;
            memcpy(&c->free, p, sizeof c->free);
        } else {
            p = (uint8_t *)c + OBJ_OFF + (size_t)c->fresh++ * s->size;
        }
        if (++c->used == s->per_chunk)
            list_remove(s, c);
        s->live++;
    }
    pthread_mutex_unlock(&s->mu);
    if (p)
        memset(p, 0, s->size);
    return p;
}

void nk_slab_free(struct nk_slab *s, void *p)
{
    if (!p)
        return;
    struct nk_slab_chunk *c = (struct nk_slab_chunk *)((uintptr_t)p & ~(uintptr_t)(CHUNK - 1));
    nk_wipe(p, s->size);   /* outside the lock: it is ours alone until listed */
    pthread_mutex_lock(&s->mu);
    memcpy(p, &c->free, sizeof c->free);
    c->free = p;
    c->used--;
    s->live--;
    if (c->used == 0) {
        /* Entirely free: back to the system (or kept as the one spare), never
         * left half-resident between live chunks. */
        if (c->in_partial)
            list_remove(s, c);
        c->free = NULL;
        c->fresh = 0;
        if (s->spare)
            chunk_unmap(s, c);
        else
            s->spare = c;
    } else if (!c->in_partial) {
        list_push(s, c);
    }
    pthread_mutex_unlock(&s->mu);
}

size_t nk_slab_cost(struct nk_slab *s)
{
    uint32_t per = (uint32_t)((CHUNK - OBJ_OFF) / s->size);
    return (CHUNK + per - 1) / per;
}

void nk_slab_trim(struct nk_slab *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->spare)
        chunk_unmap(s, s->spare);
    s->spare = NULL;
    pthread_mutex_unlock(&s->mu);
}

void nk_slab_trim_all(void)
{
    pthread_mutex_lock(&g_pools_mu);
    struct nk_slab *s = g_pools;
    pthread_mutex_unlock(&g_pools_mu);
    /* Pools are static and never leave the list: walking it unlocked is safe
     * (one added meanwhile is simply not trimmed this time). */
    for (; s; s = s->next_pool)
        nk_slab_trim(s);
}

#endif

char *nk_name_dup(const char *s, size_t n, unsigned *pooled)
{
    char *p;
    *pooled = n < NK_NAME_SHORT;
    p = *pooled ? nk_slab_alloc(&nk_names_slab) : malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

void nk_name_free(char *p, unsigned pooled)
{
    if (!p)
        return;
    if (pooled) {
        nk_slab_free(&nk_names_slab, p);
    } else {
        nk_wipe(p, strlen(p));
        free(p);
    }
}
