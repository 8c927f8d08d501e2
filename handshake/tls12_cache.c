/* handshake/tls12_cache.c — the two TLS 1.2 session caches (the server's and
 * the client's, handshake/tls12_resume.h): bounded in entries and lifetime
 * (limits.session_cache, limits.session_lifetime), shared by every thread
 * under one mutex each, every removed entry wiped. Entries sit in a ring in
 * the order they came, so the oldest, which goes first when the cache is
 * full and expires first, is always at its head: a put costs one walk
 * comparing ids (their first bytes, kept apart in a compact array, then
 * the rest), not the two more walks an unordered array needs to find the
 * expired and the oldest. An entry that
 * expires before it reaches the head (the clock stepped back) is refused
 * by nk_cache12_get all the same. */
#include <pthread.h>
#include <stdlib.h>
#include "handshake/tls12_resume.h"

struct cache {
    pthread_mutex_t mu;
    struct nk_session12 *e;   /* the ring: entry j (0 the oldest) is e[(head + j) % cap] */
    uint64_t *tag;            /* beside each entry the first bytes of its id: a walk of
                               * 8 bytes an entry, not a cache line */
    size_t head, n, cap;
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

/* (head + j) % cap, for j <= cap, without a division per entry walked. */
static size_t slot(const struct cache *k, size_t j)
{
    size_t i = k->head + j;
    return i >= k->cap ? i - k->cap : i;
}

static struct nk_session12 *at(const struct cache *k, size_t j)
{
    return &k->e[slot(k, j)];
}

/* The id's length and its first seven bytes. */
static uint64_t tag_of(const uint8_t *id, size_t id_len)
{
    uint64_t t = (uint64_t)id_len << 56;
    for (size_t i = 0; i < id_len && i < 7; i++)
        t |= (uint64_t)id[i] << (8 * i);
    return t;
}

/* Wipe entry j; the younger ones move up a place (none for the oldest). */
static void drop(struct cache *k, size_t j)
{
    nk_session12_clear(at(k, j));
    if (j == 0) {
        k->head = slot(k, 1);
    } else {
        for (; j + 1 < k->n; j++) {
            *at(k, j) = *at(k, j + 1);
            k->tag[slot(k, j)] = k->tag[slot(k, j + 1)];
        }
        nk_wipe(at(k, j), sizeof *at(k, j));   /* the moved copy */
    }
    k->n--;
}

static int expired(const struct nk_session12 *s, const struct nk_limits *lim, int64_t now)
{
    return now < s->made || now - s->made >= (int64_t)lim->session_lifetime;
}

static long find(const struct cache *k, const uint8_t *id, size_t id_len)
{
    uint64_t t = tag_of(id, id_len);
    for (size_t j = 0; j < k->n; j++) {
        if (k->tag[slot(k, j)] != t)
            continue;
        const struct nk_session12 *e = at(k, j);
        if (e->id_len == id_len && memcmp(e->id, id, id_len) == 0)
            return (long)j;
    }
    return -1;
}

/* Room for one more: drop the expired oldest, then the oldest while full. */
static MSTATUS make_room(struct cache *k, const struct nk_limits *lim, int64_t now)
{
    uint32_t max = __atomic_load_n(&lim->session_cache, __ATOMIC_RELAXED);
    while (k->n && expired(at(k, 0), lim, now))
        drop(k, 0);
    while (k->n && k->n >= max)
        drop(k, 0);
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 16;
        if (cap > max)
            cap = max;
        /* Not realloc: the old array holds master secrets, wiped before it goes. */
        struct nk_session12 *grown = calloc(cap, sizeof *grown);
        uint64_t *tags = calloc(cap, sizeof *tags);
        if (!grown || !tags) {
            free(grown);
            free(tags);
            return ERR_MEM_ALLOC_FAIL;
        }
        for (size_t j = 0; j < k->n; j++) {
            grown[j] = *at(k, j);
            tags[j] = k->tag[slot(k, j)];
        }
        if (k->e)
            nk_wipe(k->e, k->cap * sizeof *k->e);
        free(k->e);
        free(k->tag);
        k->e = grown;
        k->tag = tags;
        k->cap = cap;
        k->head = 0;
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
    if (st == OK && (st = copy_session(at(k, k->n), s)) != OK)
        nk_wipe(at(k, k->n), sizeof *at(k, k->n));   /* a half copy: its master secret */
    if (st == OK)
        k->tag[slot(k, k->n++)] = tag_of(s->id, s->id_len);
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
    if (i >= 0 && expired(at(k, (size_t)i), lim, now))
        drop(k, (size_t)i);
    else if (i >= 0)
        found = copy_session(out, at(k, (size_t)i)) == OK;
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
    free(k->tag);
    k->e = NULL;
    k->tag = NULL;
    k->cap = k->head = 0;
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
