/* engine/conn.c — the connection table. Handles are (generation << 16 | slot + 1),
 * so a handle kept after SSL_closeConnection is recognised as stale. Free slots
 * form a list (most recently freed first), so opening a connection does not
 * scan a table of tens of thousands. */
#include <stdlib.h>
#include "engine/conn.h"
#include "core/kex.h"
#include "handshake/hs.h"
#include "handshake/client_auth.h"

#define SLOT_BITS 16
#define GEN_MAX 32767
#define NO_SLOT 0xffffu    /* end of the free list: slots are fewer than 1 << 16 */

/* Connections and their record keys live in pools of their own, packed away
 * from the handshake's temporaries (core/slab.h). */
struct nk_slab nk_conn_slab = NK_SLAB_INIT(sizeof(struct nk_conn));
struct nk_slab nk_keys_slab = NK_SLAB_INIT(sizeof(struct nk_rec_pair));

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nk_conn **g_slots;
static uint16_t *g_gen;
static uint16_t *g_next_free;      /* per free slot: the next free one */
static uint16_t g_free = NO_SLOT;  /* first free slot */
static size_t g_n;

static void table_arrays_free(void)
{
    free(g_slots);
    free(g_gen);
    free(g_next_free);
    g_slots = NULL;
    g_gen = NULL;
    g_next_free = NULL;
}

MSTATUS nk_table_init(sbyte4 n_server, sbyte4 n_client)
{
    NK_CHECK(n_server >= 0 && n_client >= 0, ERR_INVALID_ARG);
    size_t n = (size_t)n_server + (size_t)n_client;
    NK_CHECK(n > 0 && n < (1u << SLOT_BITS), ERR_INVALID_ARG);
    pthread_mutex_lock(&g_lock);
    MSTATUS st = OK;
    if (g_slots) {
        st = n == g_n ? OK : ERR_SSL_BAD_STATE;   /* already initialised */
    } else {
        g_slots = calloc(n, sizeof *g_slots);
        g_gen = calloc(n, sizeof *g_gen);
        g_next_free = malloc(n * sizeof *g_next_free);
        if (!g_slots || !g_gen || !g_next_free) {
            table_arrays_free();
            st = ERR_MEM_ALLOC_FAIL;
        } else {
            g_n = n;
            for (size_t i = 0; i < n; i++)   /* slot 0 first, as the scan gave */
                g_next_free[i] = i + 1 < n ? (uint16_t)(i + 1) : NO_SLOT;
            g_free = 0;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return st;
}

int nk_table_ready(void)
{
    return g_slots != NULL;
}

void nk_conn_keys_free(struct nk_conn *c)
{
    if (!c->rd)
        return;
    nk_rec_clear(c->rd);
    nk_rec_clear(c->wr);
    nk_slab_free(&nk_keys_slab, c->rd);   /* rd is the pair's first member */
    c->rd = c->wr = NULL;
}

static void conn_destroy(struct nk_conn *c)
{
    nk_engine_release(c);
    nk_conn_keys_free(c);
    nk_name_free(c->server_name, c->name_pooled);
    free(c->dns_name);
    free(c->alpn_offer);
    free(c->peer_chain);
    free(c->sig_prefs);
    nk_cauth_free(&c->tls);
    if (c->alpn != c->alpn_none)
        nk_name_free(c->alpn, c->alpn_pooled);
    nk_slab_free(&nk_conn_slab, c);   /* wipes it */
}

void nk_table_free(void)
{
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; g_slots && i < g_n; i++) {
        if (g_slots[i]) {
            conn_destroy(g_slots[i]);
            g_slots[i] = NULL;
        }
    }
    table_arrays_free();
    g_free = NO_SLOT;
    g_n = 0;
    pthread_mutex_unlock(&g_lock);
}

MSTATUS nk_conn_new(enum nk_role role, int fd, struct certStore *store, const struct nk_config *cfg,
                    struct nk_conn **out)
{
    NK_CHECK(nk_table_ready(), ERR_SSL_NOT_INITIALIZED);
    struct nk_conn *c = nk_slab_alloc(&nk_conn_slab);
    struct nk_rec_pair *keys = c ? nk_slab_alloc(&nk_keys_slab) : NULL;
    if (!keys) {
        nk_slab_free(&nk_conn_slab, c);
        return ERR_MEM_ALLOC_FAIL;
    }
    c->rd = &keys->rd;
    c->wr = &keys->wr;
    pthread_mutex_lock(&g_lock);
    if (!g_slots || g_free == NO_SLOT) {
        pthread_mutex_unlock(&g_lock);
        nk_slab_free(&nk_keys_slab, keys);
        nk_slab_free(&nk_conn_slab, c);
        return g_slots ? ERR_SSL_TOO_MANY_CONNECTIONS : ERR_SSL_NOT_INITIALIZED;
    }
    size_t i = g_free;
    g_free = g_next_free[i];
    g_gen[i] = g_gen[i] >= GEN_MAX ? 1 : g_gen[i] + 1;
    c->handle = (sbyte4)((uint32_t)g_gen[i] << SLOT_BITS | (uint32_t)(i + 1));
    g_slots[i] = c;
    pthread_mutex_unlock(&g_lock);
    c->role = role;
    c->fd = fd;
    c->store = store;
    c->cfg = cfg;
    c->err = OK;
    c->alert_in = c->alert_out = -1;
    c->status = SSL_CONNECTION_NEGOTIATE;
    c->send_limit = NK_MAX_PLAIN;
    c->num_tickets = 1;
    c->alpn = c->alpn_none;
    *out = c;
    return OK;
}

MSTATUS nk_conn_open(enum nk_role role, int fd, struct certStore *store, const struct nk_config *cfg,
                     const char *dns, struct nk_conn **out)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_new(role, fd, store, cfg, &c));
    c->suites = nk_suites_default();
    for (size_t i = 0; i < nk_group_count && c->n_groups < NK_MAX_GROUPS; i++)
        if (!nk_group_is_ffdhe(nk_groups[i].id))   /* RFC 7919 groups: only when listed */
            c->groups[c->n_groups++] = nk_groups[i].id;
    c->ktls_mode = cfg->ktls_mode;
    c->rekey_policy = cfg->rekey_policy;
    c->min_minor = (uint8_t)cfg->ssl.sslMinProtoVersion;
    c->max_minor = (uint8_t)cfg->ssl.sslMaxProtoVersion;
    if (dns && dns[0]) {
        c->dns_name = strdup(dns);
        c->server_name = strdup(dns);
        if (!c->dns_name || !c->server_name) {
            nk_conn_free(c);
            return ERR_MEM_ALLOC_FAIL;
        }
    }
    *out = c;
    return OK;
}

MSTATUS nk_conn_get(sbyte4 handle, struct nk_conn **out)
{
    MSTATUS st = ERR_SSL_BAD_ID;
    if (handle <= 0)
        return st;
    size_t i = ((uint32_t)handle & ((1u << SLOT_BITS) - 1)) - 1;
    pthread_mutex_lock(&g_lock);
    if (g_slots && i < g_n && g_slots[i] && g_slots[i]->handle == handle) {
        *out = g_slots[i];
        st = OK;
    }
    pthread_mutex_unlock(&g_lock);
    return st;
}

void nk_conn_free(struct nk_conn *c)
{
    size_t i = ((uint32_t)c->handle & ((1u << SLOT_BITS) - 1)) - 1;
    pthread_mutex_lock(&g_lock);
    if (g_slots && i < g_n && g_slots[i] == c) {
        g_slots[i] = NULL;
        g_next_free[i] = g_free;
        g_free = (uint16_t)i;
    }
    pthread_mutex_unlock(&g_lock);
    conn_destroy(c);
}

sbyte4 nk_conn_by_fd(int fd)
{
    sbyte4 h = ERR_SSL_BAD_ID;
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; g_slots && i < g_n; i++)
        if (g_slots[i] && g_slots[i]->fd == fd) {
            h = g_slots[i]->handle;
            break;
        }
    pthread_mutex_unlock(&g_lock);
    return h;
}
