/* handshake/tls12_cache.c — the two TLS 1.2 session caches (the server's and
 * the client's, handshake/tls12_resume.h): bounded in entries and lifetime
 * (limits.session_cache, limits.session_lifetime), shared by every thread
 * under one mutex each, every removed entry wiped. Entries sit in one array
 * in no order; a lookup compares ids one by one, which at the default 4096
 * entries costs less than the handshake's one signature. */
#include <pthread.h>
#include <stdlib.h>
#include "handshake/tls12_resume.h"

struct cache {
    pthread_mutex_t mu;
    struct nk_session12 *e;
    size_t n, cap;
};

static struct cache caches[2] = {
    { .mu = PTHREAD_MUTEX_INITIALIZER },
    { .mu = PTHREAD_MUTEX_INITIALIZER },
};

void nk_session12_clear(struct nk_session12 *s)
{
    if (s->chain) {
        nk_wipe(s->chain, s->chain_len);
        free(s->chain);
    }
    free(s->ticket);   /* sealed: nothing to wipe */
    nk_wipe(s, sizeof *s);
}

static MSTATUS copy_session(struct nk_session12 *to, const struct nk_session12 *from)
{
    *to = *from;
    to->chain = NULL;
    to->ticket = NULL;
    if (from->chain_len) {
        NK_CHECK(to->chain = malloc(from->chain_len), ERR_MEM_ALLOC_FAIL);
        memcpy(to->chain, from->chain, from->chain_len);
    }
    if (from->ticket_len) {
        if (!(to->ticket = malloc(from->ticket_len))) {
            nk_session12_clear(to);
            return ERR_MEM_ALLOC_FAIL;
        }
        memcpy(to->ticket, from->ticket, from->ticket_len);
    }
    return OK;
}

/* Wipe entry i; the last takes its place. */
static void drop(struct cache *k, size_t i)
{
    nk_session12_clear(&k->e[i]);
    if (i != --k->n) {
        k->e[i] = k->e[k->n];
        nk_wipe(&k->e[k->n], sizeof k->e[k->n]);   /* the moved copy */
    }
}

static int expired(const struct nk_session12 *s, const struct nk_limits *lim, int64_t now)
{
    return now < s->made || now - s->made >= (int64_t)lim->session_lifetime;
}

static long find(const struct cache *k, const uint8_t *id, size_t id_len)
{
    for (size_t i = 0; i < k->n; i++)
        if (k->e[i].id_len == id_len && memcmp(k->e[i].id, id, id_len) == 0)
            return (long)i;
    return -1;
}

/* Room for one more: drop the expired, then the oldest while full. */
static MSTATUS make_room(struct cache *k, const struct nk_limits *lim, int64_t now)
{
    uint32_t max = __atomic_load_n(&lim->session_cache, __ATOMIC_RELAXED);
    for (size_t i = k->n; i-- > 0;)
        if (expired(&k->e[i], lim, now))
            drop(k, i);
    while (k->n && k->n >= max) {
        size_t old = 0;
        for (size_t i = 1; i < k->n; i++)
            if (k->e[i].made < k->e[old].made)
                old = i;
        drop(k, old);
    }
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 16;
        if (cap > max)
            cap = max;
        /* Not realloc: the old array holds master secrets, wiped before it goes. */
        struct nk_session12 *grown = calloc(cap, sizeof *grown);
        NK_CHECK(grown, ERR_MEM_ALLOC_FAIL);
        if (k->n)
            memcpy(grown, k->e, k->n * sizeof *grown);
        if (k->e)
            nk_wipe(k->e, k->cap * sizeof *k->e);
        free(k->e);
        k->e = grown;
        k->cap = cap;
    }
    return OK;
}

MSTATUS nk_cache12_put(int which, const struct nk_session12 *s, const struct nk_limits *lim, int64_t now)
{
    struct cache *k = &caches[which];
    NK_CHECK(s->id_len >= 1 && s->id_len <= 32, ERR_SSL_INTERNAL);
    if (__atomic_load_n(&lim->session_cache, __ATOMIC_RELAXED) == 0)
        return OK;
    pthread_mutex_lock(&k->mu);
    long i = find(k, s->id, s->id_len);
    if (i >= 0)
        drop(k, (size_t)i);
    MSTATUS st = make_room(k, lim, now);
    if (st == OK)
        st = copy_session(&k->e[k->n], s);
    if (st == OK)
        k->n++;
    pthread_mutex_unlock(&k->mu);
    return st;
}

int nk_cache12_get(int which, const uint8_t *id, size_t id_len, const struct nk_limits *lim, int64_t now,
                   struct nk_session12 *out)
{
    struct cache *k = &caches[which];
    int found = 0;
    memset(out, 0, sizeof *out);
    if (id_len == 0 || id_len > 32)
        return 0;
    pthread_mutex_lock(&k->mu);
    long i = find(k, id, id_len);
    if (i >= 0 && expired(&k->e[i], lim, now))
        drop(k, (size_t)i);
    else if (i >= 0)
        found = copy_session(out, &k->e[i]) == OK;
    pthread_mutex_unlock(&k->mu);
    if (!found)
        nk_session12_clear(out);
    return found;
}

void nk_cache12_flush(int which)
{
    struct cache *k = &caches[which];
    pthread_mutex_lock(&k->mu);
    while (k->n)
        drop(k, k->n - 1);
    free(k->e);   /* every entry wiped by drop */
    k->e = NULL;
    k->cap = 0;
    pthread_mutex_unlock(&k->mu);
}

size_t nk_cache12_count(int which)
{
    struct cache *k = &caches[which];
    pthread_mutex_lock(&k->mu);
    size_t n = k->n;
    pthread_mutex_unlock(&k->mu);
    return n;
}
