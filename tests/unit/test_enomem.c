/* test_enomem.c — out of memory at every allocation of an in-memory handshake
 * (TLS 1.3, and DTLS 1.2 with its cookie exchange):
 * the Nth allocation fails, for N = 1, 2, 3, ... until a whole run (both
 * connections made, handshake, data both ways, close_notify both ways, both
 * closed) completes without reaching N. For every N: no crash, no hang (the
 * pump settles), nothing the library allocated left allocated (and, in the
 * sanitizer build, nothing of libcrypto's either: LeakSanitizer runs at the
 * case's exit), no data read that was not sent, and the side that ran out
 * ends with an error. A failure in the library's own allocation must be
 * ERR_MEM_ALLOC_FAIL (or another internal error) with internal_error sent;
 * one inside libcrypto may surface as a failed verification, which fails
 * closed with that error's alert (counted and listed). The peer receives
 * exactly the alert sent, or nothing when none could be sent. Or the library
 * absorbed the failure, and the run is a complete success with exactly the
 * data sent. ENOMEM_AT=N runs that one failure only (for a debugger).
 *
 * Allocations are interposed two ways. The library's own calls to malloc,
 * calloc, realloc, strdup and mmap (the slab's chunks) are wrapped at link time
 * (-Wl,--wrap, see tests/meson.build), so the wrappers reach the real allocator
 * underneath, the sanitizer's included. libcrypto's go through
 * CRYPTO_set_mem_functions, set before anything in the process allocates with
 * it. One counter covers both, armed only while a run is in progress. The
 * test moves bytes through static buffers of its own, so every allocation the
 * counter sees is the library's or libcrypto's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "engine/dtls.h"
#include "handshake/tls12_resume.h"

/* ---- the interposed allocator ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
void *__real_mmap(void *a, size_t n, int prot, int flags, int fd, off_t off);

#define MAX_SITES 4096
#define MAX_LIVE 8192

static struct {
    int armed;
    int side;                      /* TP_CLIENT or TP_SERVER: who is running */
    unsigned long count;           /* allocations seen since armed */
    unsigned long fail_at;         /* 1-based; 0: none fails */
    int injected, fail_side;
    const void *fail_site;         /* library call site, or NULL (libcrypto) */
    const char *fail_file;         /* libcrypto's file and line */
    int fail_line;
} inj;

/* Pointers the library allocated while armed and has not freed yet: after a run
 * this must be empty (the slab's pools are warmed up first, so a run that
 * frees what it took leaves nothing behind). */
static struct {
    void *p[MAX_LIVE];
    const void *site[MAX_LIVE];
    size_t n;
    int overflow;
} live;

/* Distinct call sites seen over all runs: library return addresses, and
 * libcrypto's file:line pairs (string pointer plus line). */
static struct {
    const void *lib[MAX_SITES];
    size_t n_lib;
    const char *file[MAX_SITES];
    int line[MAX_SITES];
    size_t n_crypto;
} sites;

static void site_lib(const void *ret)
{
    for (size_t i = 0; i < sites.n_lib; i++)
        if (sites.lib[i] == ret)
            return;
    if (sites.n_lib < MAX_SITES)
        sites.lib[sites.n_lib++] = ret;
}

static void site_crypto(const char *file, int line)
{
    for (size_t i = 0; i < sites.n_crypto; i++)
        if (sites.line[i] == line && (sites.file[i] == file || (file && sites.file[i]
                                                                && strcmp(sites.file[i], file) == 0)))
            return;
    if (sites.n_crypto < MAX_SITES) {
        sites.file[sites.n_crypto] = file;
        sites.line[sites.n_crypto++] = line;
    }
}

/* One allocation: whether it is the one that fails. */
static int inject(const void *site, const char *file, int line)
{
    if (!inj.armed)
        return 0;
    if (site)
        site_lib(site);
    else
        site_crypto(file, line);
    if (++inj.count != inj.fail_at)
        return 0;
    inj.injected = 1;
    inj.fail_side = inj.side;
    inj.fail_site = site;
    inj.fail_file = file;
    inj.fail_line = line;
    return 1;
}

static void live_add(void *p, const void *site)
{
    if (!p || !inj.armed)
        return;
    if (live.n == MAX_LIVE) {
        live.overflow = 1;
        return;
    }
    live.site[live.n] = site;
    live.p[live.n++] = p;
}

static void live_del(void *p)
{
    for (size_t i = live.n; p && i-- > 0;)
        if (live.p[i] == p) {
            live.p[i] = live.p[--live.n];
            live.site[i] = live.site[live.n];
            return;
        }
}

#define RET __builtin_return_address(0)

void *__wrap_malloc(size_t n)
{
    if (inject(RET, NULL, 0))
        return NULL;
    void *p = __real_malloc(n);
    live_add(p, RET);
    return p;
}

void *__wrap_calloc(size_t k, size_t n)
{
    if (inject(RET, NULL, 0))
        return NULL;
    void *p = __real_calloc(k, n);
    live_add(p, RET);
    return p;
}

void *__wrap_realloc(void *old, size_t n)
{
    if (inject(RET, NULL, 0))
        return NULL;   /* the old block stays the caller's */
    void *p = __real_realloc(old, n);
    if (p || !n)
        live_del(old);
    live_add(p, RET);
    return p;
}

void __wrap_free(void *p)
{
    live_del(p);
    __real_free(p);
}

char *__wrap_strdup(const char *s)
{
    if (inject(RET, NULL, 0))
        return NULL;
    char *p = __real_strdup(s);
    live_add(p, RET);
    return p;
}

/* The slab's chunks (outside the sanitizer build, where it uses calloc). */
void *__wrap_mmap(void *a, size_t n, int prot, int flags, int fd, off_t off)
{
    if ((flags & MAP_ANONYMOUS) && inject(RET, NULL, 0))
        return MAP_FAILED;
    return __real_mmap(a, n, prot, flags, fd, off);
}

static void *cr_malloc(size_t n, const char *file, int line)
{
    return inject(NULL, file, line) ? NULL : __real_malloc(n);
}

static void *cr_realloc(void *p, size_t n, const char *file, int line)
{
    return inject(NULL, file, line) ? NULL : __real_realloc(p, n);
}

static void cr_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    live_del(p);   /* the library may hand libcrypto a block of its own */
    __real_free(p);
}

/* Before cert_pki's constructor (default priority), which is the first to
 * allocate through libcrypto: afterwards the functions can no longer be set. */
static int cr_hooked;
static void __attribute__((constructor(101))) hook_crypto(void)
{
    cr_hooked = CRYPTO_set_mem_functions(cr_malloc, cr_realloc, cr_free);
}

/* ---- moving bytes without allocating ---- */

#define WIRE_CAP (256 * 1024)
#define DATA_LEN 3000

struct run {
    sbyte4 h[2];
    struct nk_conn *c[2];
    MSTATUS made[2], started[2];   /* SSL_acceptConnection / SSL_connect, nk_engine_start */
    MSTATUS wrote[2];              /* nk_app_write (data, echo) */
    MSTATUS closed[2];             /* queueing our close_notify */
    struct end {                   /* each connection as it was before closing */
        MSTATUS err;
        int open, got_close_notify;
        int alert_in, alert_out;
    } end[2];
    int stuck;                     /* the pump never settled */
    uint8_t wire[2][WIRE_CAP];
    size_t wire_len[2];
    uint8_t rx[2][2 * DATA_LEN];
    size_t rx_len[2];
};

static struct run g_run;
static uint8_t g_data[DATA_LEN];

/* DTLS: the datagrams side d sent, each behind a 2-byte length on its wire. */
static int collect_dtls(struct run *r, int d)
{
    size_t len;
    const uint8_t *p;
    int moved = 0;
    while ((p = nk_dtls_out(r->c[d], &len)) && r->wire_len[d] + 2 + len <= WIRE_CAP) {
        nk_store16(r->wire[d] + r->wire_len[d], (uint16_t)len);
        memcpy(r->wire[d] + r->wire_len[d] + 2, p, len);
        r->wire_len[d] += 2 + len;
        nk_dtls_out_ack(r->c[d]);
        moved = 1;
    }
    return moved;
}

/* Take what side d has written onto its wire. */
static int collect(struct run *r, int d)
{
    size_t len;
    inj.side = d;
    if (r->c[d]->is_dtls)
        return collect_dtls(r, d);
    const uint8_t *out = nk_out_buf(r->c[d], &len);
    if (!len || r->wire_len[d] + len > WIRE_CAP)
        return 0;
    memcpy(r->wire[d] + r->wire_len[d], out, len);
    r->wire_len[d] += len;
    nk_out_ack(r->c[d], len);
    return 1;
}

/* Read whatever application data side s holds. */
static int drain(struct run *r, int s)
{
    int moved = 0;
    inj.side = s;
    while (r->c[s]->app_len) {
        size_t room = sizeof r->rx[s] - r->rx_len[s];
        size_t got = nk_app_read(r->c[s], r->rx[s] + r->rx_len[s], room);
        if (!got)
            break;
        r->rx_len[s] += got;
        moved = 1;
    }
    return moved;
}

/* DTLS: each datagram on d's wire to the receiver, its data read. */
static int deliver_dtls(struct run *r, int d)
{
    int to = 1 - d, moved = 0;
    struct nk_conn *c = r->c[to];
    size_t off = 0;
    while (off + 2 <= r->wire_len[d]) {
        size_t n = nk_load16(r->wire[d] + off);
        inj.side = to;
        MSTATUS st = nk_dtls_in(c, r->wire[d] + off + 2, n, 1000);
        off += 2 + n;
        moved = 1;
        while (st >= 0 && (c->app_len || nk_dtls_in_pending(c))) {
            drain(r, to);
            inj.side = to;
            if (!c->app_len && nk_dtls_in_pending(c))
                st = nk_dtls_in(c, NULL, 0, 1000);
        }
        if (st < 0)
            break;
    }
    memmove(r->wire[d], r->wire[d] + off, r->wire_len[d] - off);
    r->wire_len[d] -= off;
    return moved;
}

/* Feed the receiver of d's wire what it takes. */
static int deliver(struct run *r, int d)
{
    int to = 1 - d, moved = 0;
    size_t off = 0;
    if (r->c[to]->is_dtls)
        return deliver_dtls(r, d);
    while (off < r->wire_len[d]) {
        moved |= drain(r, to);
        size_t cap;
        inj.side = to;
        uint8_t *in = nk_in_buf(r->c[to], &cap);
        if (!in || !cap)
            break;
        size_t n = r->wire_len[d] - off < cap ? r->wire_len[d] - off : cap;
        memcpy(in, r->wire[d] + off, n);
        off += n;
        moved = 1;
        if (nk_in_ack(r->c[to], n) < 0)
            break;
    }
    memmove(r->wire[d], r->wire[d] + off, r->wire_len[d] - off);
    r->wire_len[d] -= off;
    return drain(r, to) | moved;
}

static void pump(struct run *r)
{
    for (int rounds = 0; rounds < 1000; rounds++) {
        int moved = 0;
        for (int d = 0; d < 2; d++) {
            moved |= collect(r, d);
            moved |= deliver(r, d);
        }
        if (!moved)
            return;
    }
    r->stuck = 1;
}

static int is_open(const struct run *r, int s)
{
    return r->c[s] && r->c[s]->status == SSL_CONNECTION_OPEN && r->c[s]->err == OK;
}

/* ---- one run ---- */

/* What a run is made of: the stores, the name the client asks for, and the
 * server's settings. */
static struct cfg {
    certStorePtr store[2];
    const char *host;
    int mutual;                    /* the server asks for a client certificate */
    int hrr;                       /* the client's first key share is refused */
    int dtls;                      /* DTLS 1.2 with its cookie exchange (engine/dtls.c) */
} g_cfg;

static void make_conn(struct run *r, int s)
{
    static const ubyte2 cli_groups[] = { NK_GROUP_X25519, NK_GROUP_SECP256R1 };
    static const ubyte2 srv_groups[] = { NK_GROUP_SECP384R1, NK_GROUP_SECP256R1 };
    inj.side = s;
    r->h[s] = s == TP_SERVER ? SSL_acceptConnection(-1, g_cfg.store[s])
                             : SSL_connect(-1, 0, NULL, NULL, (const sbyte *)g_cfg.host,
                                           g_cfg.store[s]);
    r->made[s] = r->h[s] > 0 ? OK : (MSTATUS)r->h[s];
    if (r->h[s] <= 0 || nk_conn_get(r->h[s], &r->c[s]) != OK) {
        r->c[s] = NULL;
        return;
    }
    r->c[s]->now = (int64_t)time(NULL) * 1000;
    r->c[s]->is_async = 1;   /* the test is the driver */
    if (g_cfg.dtls) {        /* its state is allocated here: under test too */
        static const uint8_t addr[] = { 2, 0, 0x13, 0x88, 127, 0, 0, 1 };
        MSTATUS st = nk_dtls_conn(r->c[s], s == TP_SERVER ? addr : NULL, s == TP_SERVER ? sizeof addr : 0);
        if (st < 0) {
            r->made[s] = st;
            (void)SSL_closeConnection(r->h[s]);
            r->h[s] = 0;
            r->c[s] = NULL;
            return;
        }
    }
    /* Settings are not what is under test: they are made with nothing failing. */
    int armed = inj.armed;
    inj.armed = 0;
    if (s == TP_SERVER && g_cfg.mutual)
        (void)!SSL_setSessionFlags(r->h[s], SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    if (g_cfg.hrr)
        (void)!NKTLS_setGroups(r->h[s], s == TP_SERVER ? srv_groups : cli_groups, 2);
    inj.armed = armed;
}

/* Side s sends what it has in data (n bytes); the write's status is kept. */
static void send_data(struct run *r, int s, const uint8_t *d, size_t n)
{
    inj.side = s;
    r->wrote[s] = nk_app_write(r->c[s], d, n);
    pump(r);
}

static void close_notify(struct run *r, int s)
{
    inj.side = s;
    if (is_open(r, s))
        r->closed[s] = nk_send_alert(&r->c[s]->tls, SSLALERTLEVEL_WARNING, NK_ALERT_CLOSE_NOTIFY);
    pump(r);
}

/* Everything from making both connections to closing them, with the Nth
 * allocation failing (0: none). Returns with both closed. */
static void run_once(struct run *r, unsigned long n)
{
    memset(r, 0, sizeof *r);
    live.n = 0;
    inj.count = 0;
    inj.fail_at = n;
    inj.injected = 0;
    inj.armed = 1;
    make_conn(r, TP_SERVER);
    if (r->c[TP_SERVER])
        make_conn(r, TP_CLIENT);
    for (int s = TP_SERVER; s >= TP_CLIENT && r->c[TP_CLIENT]; s--) {
        inj.side = s;
        r->started[s] = g_cfg.dtls ? nk_dtls_engine_start(r->c[s], 1000) : nk_engine_start(r->c[s]);
        if (r->started[s] < 0)
            break;
    }
    if (r->c[TP_CLIENT])
        pump(r);   /* an alert queued by a failed start goes out too */
    if (is_open(r, TP_CLIENT) && is_open(r, TP_SERVER)) {
        send_data(r, TP_CLIENT, g_data, DATA_LEN);
        if (r->rx_len[TP_SERVER] == DATA_LEN)
            send_data(r, TP_SERVER, r->rx[TP_SERVER], DATA_LEN);
        close_notify(r, TP_CLIENT);
        close_notify(r, TP_SERVER);
    }
    for (int s = 0; s < 2; s++) {
        struct nk_conn *c = r->c[s];
        r->end[s] = (struct end){ c ? c->err : OK, is_open(r, s), c && c->got_close_notify,
                                  c ? c->alert_in : -1, c ? c->alert_out : -1 };
    }
    for (int s = 0; s < 2; s++) {
        inj.side = s;
        if (r->h[s] > 0)
            (void)SSL_closeConnection(r->h[s]);
        r->c[s] = NULL;
    }
    /* The sessions a run leaves in the process-wide TLS 1.2 caches (the
     * DTLS client keeps the server's ticket) belong to the process, not to
     * a connection: emptied, so that what stays allocated is a leak. */
    nk_cache12_flush(NK_CACHE12_CLIENT);
    nk_cache12_flush(NK_CACHE12_SERVER);
    inj.armed = 0;
}

/* The run went through completely and exactly. */
static int run_whole(const struct run *r)
{
    for (int s = 0; s < 2; s++)
        if (r->made[s] != OK || r->started[s] != OK || r->wrote[s] != OK || r->closed[s] != OK
            || r->end[s].err != OK || !r->end[s].got_close_notify)
            return 0;
    return r->rx_len[TP_SERVER] == DATA_LEN && r->rx_len[TP_CLIENT] == DATA_LEN
           && memcmp(r->rx[TP_SERVER], g_data, DATA_LEN) == 0
           && memcmp(r->rx[TP_CLIENT], g_data, DATA_LEN) == 0;
}

/* ---- what a failed run may look like ---- */

extern const char __executable_start[];

/* The first error side s met: making it, starting it, writing, closing, or
 * the engine's sticky error. */
static MSTATUS first_error(const struct run *r, int s)
{
    MSTATUS steps[] = { r->made[s], r->started[s], r->wrote[s], r->closed[s], r->end[s].err };
    for (size_t i = 0; i < NK_ARRAY_LEN(steps); i++)
        if (steps[i] < 0)
            return steps[i];
    return OK;
}

/* What each side read is a prefix of what was sent to it: the client's data
 * to the server, the server's echo of it back. */
static int data_is_prefix(const struct run *r)
{
    return r->rx_len[TP_SERVER] <= DATA_LEN && r->rx_len[TP_CLIENT] <= DATA_LEN
           && memcmp(r->rx[TP_SERVER], g_data, r->rx_len[TP_SERVER]) == 0
           && memcmp(r->rx[TP_CLIENT], g_data, r->rx_len[TP_CLIENT]) == 0;
}

/* NULL when the run ended as it may after an allocation failed on side f;
 * else what is wrong. A failure in the library's own allocation must end in
 * ERR_MEM_ALLOC_FAIL (or another internal error) and internal_error. One inside
 * libcrypto may reach us as "this certificate, signature or key share did not
 * verify": that side then fails closed with the alert its error maps to (the
 * sweep counts these). Either way the peer receives exactly that alert, or
 * nothing when none could be sent. */
static const char *verdict(const struct run *r, int f, int lib_site, MSTATUS *why)
{
    int o = 1 - f;
    *why = first_error(r, f);
    if (r->stuck)
        return "the pump never settled";
    if (!data_is_prefix(r))
        return "a side read data that was not sent";
    if (run_whole(r))
        return NULL;   /* absorbed: the run is complete and exact */
    if (*why == OK)
        return "the failing side reports no error, yet the run is incomplete";
    int internal = *why == ERR_MEM_ALLOC_FAIL || nk_alert_for(*why) == NK_ALERT_INTERNAL_ERROR;
    if (lib_site && !internal)
        return "the failing side's error is not an internal one";
    int sent = r->end[f].alert_out;
    if (sent != -1 && sent != NK_ALERT_NONE && sent != (internal ? NK_ALERT_INTERNAL_ERROR
                                                                  : nk_alert_for(*why)))
        return "the failing side sent an alert its error does not map to";
    MSTATUS oe = first_error(r, o);
    if (oe != OK && oe != ERR_SSL_FATAL_ALERT) {
        *why = oe;
        return "the other side failed with its own error";
    }
    /* The test delivers everything: an alert that was sent arrived. */
    if (sent != -1 && sent != NK_ALERT_NONE && r->h[o] > 0
        && (oe != ERR_SSL_FATAL_ALERT || r->end[o].alert_in != sent))
        return "the other side did not receive the alert sent";
    if (oe == ERR_SSL_FATAL_ALERT && (sent == -1 || sent == NK_ALERT_NONE))
        return "the other side received an alert that was not sent";
    return NULL;
}

static void describe(struct __test_metadata *_metadata, unsigned long n, const struct run *r,
                     const char *what, MSTATUS why)
{
    if (inj.fail_site)
        TH_LOG("allocation %lu (%s, library call site exe+0x%lx): %s: %s (%d); "
               "alerts sent %d/%d",
               n, inj.fail_side == TP_SERVER ? "server" : "client",
               (unsigned long)((const char *)inj.fail_site - __executable_start), what,
               MERROR_lookUpErrorCode(why), (int)why, r->end[0].alert_out, r->end[1].alert_out);
    else
        TH_LOG("allocation %lu (%s, libcrypto %s:%d): %s: %s (%d); alerts sent %d/%d", n,
               inj.fail_side == TP_SERVER ? "server" : "client",
               inj.fail_file ? inj.fail_file : "?", inj.fail_line, what,
               MERROR_lookUpErrorCode(why), (int)why, r->end[0].alert_out, r->end[1].alert_out);
}

/* ---- the sweep ---- */

FIXTURE(enomem) {
    int unused;
};

FIXTURE_VARIANT(enomem) {
    int srv_key, cli_key;   /* cli_key -1: no client certificate */
    int hrr;
    int dtls;
};

FIXTURE_VARIANT_ADD(enomem, p256) { .srv_key = K_P256, .cli_key = -1 };
FIXTURE_VARIANT_ADD(enomem, rsa_mutual_hrr) { .srv_key = K_RSA, .cli_key = K_P256, .hrr = 1 };
FIXTURE_VARIANT_ADD(enomem, dtls_p256) { .srv_key = K_P256, .cli_key = -1, .dtls = 1 };

FIXTURE_SETUP(enomem)
{
    certStorePtr srv = tp_store_new(), cli = tp_store_new();
    ASSERT_EQ(tp_stack(), OK);
    ASSERT_NOT_NULL(srv);
    ASSERT_NOT_NULL(cli);
    g_cfg = (struct cfg){ { cli, srv }, key_host[variant->srv_key], variant->cli_key >= 0,
                          variant->hrr, variant->dtls };
    /* DTLS runs TLS 1.2, whose server keeps each session in its process-wide
     * cache: held small, its array is made by the warm-up runs and never
     * grows during the sweep (a grown cache is no leak of the run). */
    if (variant->dtls)
        ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_SESSION_CACHE, 16), OK);
    int k = variant->srv_key;
    ASSERT_EQ(tp_store_identity(srv, pki.leaf[k], pki.key[k], pki.inter), OK);
    ASSERT_EQ(tp_store_trust(cli, pki.root), OK);
    if (variant->cli_key >= 0) {
        k = variant->cli_key;
        ASSERT_EQ(tp_store_identity(cli, pki.leaf[k], pki.key[k], pki.inter), OK);
        ASSERT_EQ(tp_store_trust(srv, pki.root), OK);
    }
}

FIXTURE_TEARDOWN(enomem)
{
    for (int s = 0; s < 2; s++)
        CERT_STORE_releaseStore(&g_cfg.store[s]);
}

TEST_F_TIMEOUT(enomem, every_allocation, 900)
{
    struct run *r = &g_run;
    ASSERT_TRUE(cr_hooked) TH_LOG("CRYPTO_set_mem_functions came too late");
    tp_fill(g_data, DATA_LEN, 7);

    /* Warm up: process-wide state (the pools' first chunks, libcrypto's
     * caches) is made by the first run and kept; a clean run after it leaves
     * nothing of ours behind. */
    for (int i = 0; i < 2; i++) {
        run_once(r, 0);
        ASSERT_TRUE(run_whole(r)) TH_LOG("clean run %d failed: %s", i,
                                         MERROR_lookUpErrorCode(first_error(r, TP_CLIENT)));
    }
    ASSERT_EQ(live.n, 0u);
    unsigned long total = inj.count;
    ASSERT_GT(total, 0ul);

    unsigned long n, absorbed = 0, bad = 0;
    static unsigned long as_alert[256];   /* libcrypto failures seen as a protocol alert */
    const char *at = getenv("ENOMEM_AT");
    /* ENOMEM_STRIDE=k fails every k-th allocation only: for runs under
     * valgrind, where the whole sweep would take an hour; the plain and ASan
     * builds sweep every one. */
    const char *stride = getenv("ENOMEM_STRIDE");
    unsigned long step = stride && strtoul(stride, NULL, 10) > 0 ? strtoul(stride, NULL, 10) : 1;
    for (n = at ? strtoul(at, NULL, 10) : 1; n < 100000; n += step) {
        run_once(r, n);
        ERR_clear_error();
        if (!inj.injected)
            break;   /* the run allocated fewer than n times: all were covered */
        MSTATUS why;
        const char *what = verdict(r, inj.fail_side, inj.fail_site != NULL, &why);
        if (!what && live.n)
            what = "library memory left allocated after both connections closed";
        if (what && bad++ < 40)
            describe(_metadata, n, r, what, why);
        if (!what && run_whole(r))
            absorbed++;
        else if (!what && nk_alert_for(why) != NK_ALERT_INTERNAL_ERROR)
            as_alert[nk_alert_for(why) & 0xff]++;
        if (live.overflow || at)
            break;
    }
    ASSERT_FALSE(live.overflow);
    if (at) {
        ASSERT_EQ(bad, 0ul);
        return;
    }
    ASSERT_LT(n, 100000ul) TH_LOG("the runs never stopped allocating");
    ASSERT_TRUE(run_whole(r)) TH_LOG("the final run, with nothing failing, did not complete");
    TH_LOG("%lu allocations per run (clean run: %lu), every %lu%s failed once: %zu library call sites, "
           "%zu libcrypto sites; %lu failures absorbed with the run intact",
           total, total, step, step == 1 ? "" : "th", sites.n_lib, sites.n_crypto, absorbed);
    for (int a = 0; a < 256; a++)
        if (as_alert[a])
            TH_LOG("%lu libcrypto allocation failures ended in alert %s (%d), not internal_error",
                   as_alert[a], nk_alert_name(a), a);
    ASSERT_EQ(bad, 0ul);
}

TEST_HARNESS_MAIN
