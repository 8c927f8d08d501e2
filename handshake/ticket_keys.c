/* handshake/ticket_keys.c — the process-wide set of ticket keys
 * (handshake/ticket_keys.h), under one mutex: handshakes copy the key they
 * need out of it, a load replaces it whole. The key file's form is in
 * docs/ticket-keys.md:
 *
 *   nktls-ticket-keys 1
 *   <name: 32 hex digits> <key: 64 hex digits> <not_before> <not_after>
 *
 * one key a line (1 to 16), times in seconds since the epoch, not_after 0
 * for no end; '#' lines and blank lines are ignored. */
#include <pthread.h>
#include <stdlib.h>
#include "handshake/ticket_keys.h"
#include "core/crypto.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct nk_ticket_key g_keys[NK_TICKET_KEYS_MAX];
static size_t g_n;
static uint32_t g_gen;

/* Until a set is loaded: one random key, sealing from the start, no end. */
static MSTATUS ensure_keys(void)
{
    if (g_n)
        return OK;
    struct nk_ticket_key *k = &g_keys[0];
    memset(k, 0, sizeof *k);
    NK_TRY(nk_random(k->name, sizeof k->name));
    NK_TRY(nk_random_priv(k->key, sizeof k->key));
    k->gen = ++g_gen;
    g_n = 1;
    return OK;
}

static int ended(const struct nk_ticket_key *k, int64_t now)
{
    return k->not_after && now >= k->not_after;
}

MSTATUS nk_ticket_key_seal(int64_t now, struct nk_ticket_key *out)
{
    const struct nk_ticket_key *best = NULL;
    pthread_mutex_lock(&g_mu);
    MSTATUS st = ensure_keys();
    for (size_t i = 0; st == OK && i < g_n; i++) {
        const struct nk_ticket_key *k = &g_keys[i];
        if (ended(k, now))
            continue;
        int in_use = k->not_before <= now;
        int best_in_use = best && best->not_before <= now;
        if (!best || (in_use && (!best_in_use || k->not_before > best->not_before))
            || (!in_use && !best_in_use && k->not_before < best->not_before))
            best = k;
    }
    if (st == OK && best)
        *out = *best;
    pthread_mutex_unlock(&g_mu);
    return st == OK && !best ? ERR_SSL_HANDSHAKE_FAILURE : st;
}

MSTATUS nk_ticket_key_open(const uint8_t name[NK_TICKET_KEY_NAME], int64_t now, struct nk_ticket_key *out)
{
    MSTATUS st = ERR_SSL_HANDSHAKE_FAILURE;
    pthread_mutex_lock(&g_mu);
    if (ensure_keys() == OK)
        for (size_t i = 0; i < g_n; i++)
            if (memcmp(g_keys[i].name, name, NK_TICKET_KEY_NAME) == 0 && !ended(&g_keys[i], now)) {
                *out = g_keys[i];
                st = OK;
            }
    pthread_mutex_unlock(&g_mu);
    return st;
}

/* ---- the key file ---- */

static int hex_field(const char **p, const char *end, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < 2 * n; i++) {
        if (*p == end)
            return 0;
        char ch = *(*p)++;
        int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (v < 0)
            return 0;
        out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | v : v << 4);
    }
    return *p == end || **p == ' ' || **p == '\t';
}

static int num_field(const char **p, const char *end, int64_t *out)
{
    int digits = 0;
    *out = 0;
    while (*p < end && **p >= '0' && **p <= '9' && digits < 18) {
        *out = *out * 10 + (*(*p)++ - '0');
        digits++;
    }
    return digits && (*p == end || **p == ' ' || **p == '\t');
}

static void skip_blanks(const char **p, const char *end)
{
    while (*p < end && (**p == ' ' || **p == '\t'))
        (*p)++;
}

/* One key line (without its newline): name key not_before not_after. */
static int key_line(const char *p, const char *end, struct nk_ticket_key *k)
{
    skip_blanks(&p, end);
    if (!hex_field(&p, end, k->name, sizeof k->name))
        return 0;
    skip_blanks(&p, end);
    if (!hex_field(&p, end, k->key, sizeof k->key))
        return 0;
    skip_blanks(&p, end);
    if (!num_field(&p, end, &k->not_before))
        return 0;
    skip_blanks(&p, end);
    if (!num_field(&p, end, &k->not_after))
        return 0;
    skip_blanks(&p, end);
    return p == end && (k->not_after == 0 || k->not_after > k->not_before);
}

static int name_taken(const struct nk_ticket_key *keys, size_t n, const uint8_t *name)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(keys[i].name, name, NK_TICKET_KEY_NAME) == 0)
            return 1;
    return 0;
}

MSTATUS nk_ticket_keys_parse(const char *text, size_t n, unsigned *bad_line)
{
    static const char magic[] = "nktls-ticket-keys 1";
    struct nk_ticket_key keys[NK_TICKET_KEYS_MAX];
    size_t nk = 0;
    int header = 0;
    unsigned line = 0;
    const char *p = text, *end = text + n;
    MSTATUS st = OK;
    *bad_line = 0;
    while (p < end && st == OK) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        line++;
        if (le > p && le[-1] == '\r')
            le--;
        const char *q = p;
        skip_blanks(&q, le);
        if (q == le || *q == '#') {
            /* a comment or a blank line */
        } else if (!header) {
            header = (size_t)(le - q) == sizeof magic - 1 && memcmp(q, magic, sizeof magic - 1) == 0;
            st = header ? OK : ERR_TICKET_KEYS_FORMAT;
        } else if (nk == NK_TICKET_KEYS_MAX || !key_line(q, le, &keys[nk])
                   || name_taken(keys, nk, keys[nk].name)) {
            st = ERR_TICKET_KEYS_FORMAT;
        } else {
            nk++;
        }
        p = eol ? eol + 1 : end;
    }
    if (st == OK && (!header || nk == 0)) {
        st = ERR_TICKET_KEYS_FORMAT;   /* no header, or no key */
        line++;
    }
    if (st == OK) {
        pthread_mutex_lock(&g_mu);
        nk_wipe(g_keys, sizeof g_keys);
        g_gen++;
        for (size_t i = 0; i < nk; i++) {
            g_keys[i] = keys[i];
            g_keys[i].gen = g_gen;
        }
        g_n = nk;
        pthread_mutex_unlock(&g_mu);
    } else {
        *bad_line = line;
    }
    nk_wipe(keys, sizeof keys);
    return st;
}
