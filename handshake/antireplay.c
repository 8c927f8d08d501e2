/* handshake/antireplay.c — the server's 0-RTT anti-replay register (RFC 8446
 * §8.2, §8.3), shared by every connection of the process.
 *
 * §8.2 "ClientHello recording": the server keeps a unique value of each
 * ClientHello whose early data it accepts — the first PSK binder, which
 * covers the whole ClientHello (its random included) — for a window, and
 * refuses the 0-RTT data of a ClientHello it has seen. §8.3 bounds the window:
 * a ClientHello whose ticket age disagrees with ours by more than the window
 * (plus a second: tickets keep seconds) has its early data refused before it
 * gets here (tls13_early.c), so a copy of one is acceptable for twice that at
 * most; an entry older than that can never match and its slot is free again.
 *
 * The memory is fixed (SLOTS entries, under a megabyte): an attacker who
 * floods the server with fresh ClientHellos fills it, and then — §8.2: "If
 * the server cannot verify ... it MUST reject 0-RTT" — early data is refused
 * (the handshakes go on without it) until entries age out. It never grows and
 * never forgets a live entry, so it is safe on the internet. A server-side
 * single-use ticket store may take its place (nk_antireplay_set_hook). */
#include <pthread.h>
#include "handshake/early.h"

#define SLOTS 16384        /* entries: 16384 × 24 bytes */
#define PROBE 16           /* slots looked at from the hashed one */
#define KEY 16             /* bytes of the binder kept: 128 bits tell ClientHellos apart */

struct slot {
    uint8_t key[KEY];
    int64_t until_ms;      /* 0: free */
};

static struct slot g_slots[SLOTS];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static nk_antireplay_hook g_hook;

void nk_antireplay_set_hook(nk_antireplay_hook fn)
{
    pthread_mutex_lock(&g_lock);
    g_hook = fn;
    pthread_mutex_unlock(&g_lock);
}

void nk_antireplay_reset(void)
{
    pthread_mutex_lock(&g_lock);
    memset(g_slots, 0, sizeof g_slots);
    pthread_mutex_unlock(&g_lock);
}

MSTATUS nk_antireplay_check(const struct nk_tls *c, const uint8_t *binder, size_t len, int64_t now_ms)
{
    pthread_mutex_lock(&g_lock);
    nk_antireplay_hook hook = g_hook;
    pthread_mutex_unlock(&g_lock);
    if (hook)
        return hook(c, binder, len);
    uint8_t key[KEY] = { 0 };
    uint32_t h;
    MSTATUS st = ERR_SSL_EARLY_DATA_REPLAY;   /* no room: refused (§8.2) */
    memcpy(key, binder, len < KEY ? len : KEY);
    /* The binder is an HMAC output: its first bytes are already uniform. */
    memcpy(&h, key, sizeof h);
    pthread_mutex_lock(&g_lock);
    struct slot *free_slot = NULL;
    for (unsigned i = 0; i < PROBE; i++) {
        struct slot *s = &g_slots[(h + i) % SLOTS];
        int live = s->until_ms > now_ms;
        if (live && !memcmp(s->key, key, KEY)) {
            free_slot = NULL;   /* seen: a replay */
            break;
        }
        if (!live && !free_slot)
            free_slot = s;
        if (i == PROBE - 1 && free_slot)
            st = OK;
    }
    if (st == OK) {
        memcpy(free_slot->key, key, KEY);
        /* Accepted ages stray up to the tolerance either way from ours, so
         * a copy stays acceptable for twice it: kept that long. */
        free_slot->until_ms = now_ms + 2 * (NK_ANTIREPLAY_WINDOW_MS + 1000);
    }
    pthread_mutex_unlock(&g_lock);
    return st;
}
