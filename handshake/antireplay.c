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
 * single-use ticket store may take its place (nk_antireplay_set_hook).
 *
 * Where an entry goes is a keyed hash of the binder (SipHash-2-4 under a key
 * drawn at random once per process), not the binder's own bytes: a client
 * computes its binders and could grind ClientHellos until many start alike,
 * filling one slot's probe so that every later ClientHello hashing there has
 * its early data refused. Without the key it cannot tell where they land. */
#include <pthread.h>
#include "handshake/early.h"

#define SLOTS NK_ANTIREPLAY_SLOTS   /* entries: 16384 × 24 bytes */
#define PROBE NK_ANTIREPLAY_PROBE   /* slots looked at from the hashed one */
#define KEY 16             /* bytes of the binder kept: 128 bits tell ClientHellos apart */

struct slot {
    uint8_t key[KEY];
    int64_t until_ms;      /* 0: free */
};

static struct slot g_slots[SLOTS];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static nk_antireplay_hook g_hook;
static uint64_t g_sip[2];   /* the hash key, drawn at first use */
static int g_keyed;

/* ---- SipHash-2-4 (64-bit output) of n bytes under g_sip ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(uint64_t v[4])
{
    v[0] += v[1], v[1] = ROTL(v[1], 13), v[1] ^= v[0], v[0] = ROTL(v[0], 32);
    v[2] += v[3], v[3] = ROTL(v[3], 16), v[3] ^= v[2];
    v[0] += v[3], v[3] = ROTL(v[3], 21), v[3] ^= v[0];
    v[2] += v[1], v[1] = ROTL(v[1], 17), v[1] ^= v[2], v[2] = ROTL(v[2], 32);
}

static uint64_t le64(const uint8_t *p, size_t n)
{
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

static uint64_t siphash(const uint64_t k[2], const uint8_t *p, size_t n)
{
    uint64_t v[4] = { k[0] ^ 0x736f6d6570736575ull, k[1] ^ 0x646f72616e646f6dull,
                      k[0] ^ 0x6c7967656e657261ull, k[1] ^ 0x7465646279746573ull };
    size_t full = n & ~(size_t)7;
    for (size_t i = 0; i <= full; i += 8) {
        /* The last word holds the rest and the length in its top byte. */
        uint64_t m = i < full ? le64(p + i, 8) : le64(p + i, n - full) | (uint64_t)(n & 0xff) << 56;
        v[3] ^= m;
        sip_round(v), sip_round(v);
        v[0] ^= m;
    }
    v[2] ^= 0xff;
    for (int r = 0; r < 4; r++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* Under g_lock: the key, drawn once; 0 if no randomness came (refuse, and
 * try again next time: a known key would let clients aim entries). */
static int keyed(void)
{
    if (!g_keyed)
        g_keyed = nk_random(g_sip, sizeof g_sip) == OK;
    return g_keyed;
}

uint32_t nk_antireplay_slot(const uint8_t *binder, size_t len)
{
    uint8_t key[KEY] = { 0 };
    memcpy(key, binder, len < KEY ? len : KEY);
    pthread_mutex_lock(&g_lock);
    uint32_t h = keyed() ? (uint32_t)(siphash(g_sip, key, KEY) % SLOTS) : 0;
    pthread_mutex_unlock(&g_lock);
    return h;
}

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
    pthread_mutex_lock(&g_lock);
    struct slot *free_slot = NULL;
    if (!keyed()) {
        pthread_mutex_unlock(&g_lock);
        return st;
    }
    h = (uint32_t)(siphash(g_sip, key, KEY) % SLOTS);
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
