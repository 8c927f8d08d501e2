/* test_loop.c — the event-loop server and client (nktls_loop.h) over TCP
 * loopback, on each backend (io_uring, io_uring without multishot accept and
 * buffer rings, epoll): many concurrent echo clients checked byte for byte,
 * clients trickling one byte at a time, clients that vanish mid-handshake,
 * sendfile, idle timeout, stop, connection limit, workers, and the automatic
 * epoll fallback. NKTLS_LOOP_CONNS sets the client count (default 1000). */
#include <malloc.h>
#include <poll.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "api_env.h"
#include "nktls_loop.h"
#include "core/conn.h"
#include "ktls/ktls.h"
#include "uring/loop.h"

#ifdef __SANITIZE_ADDRESS__
#define UNDER_ASAN 1   /* freed memory waits in quarantine: RSS says nothing */
#else
#define UNDER_ASAN 0
#endif

static long rss_kb(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%ld %ld", &pages, &res) != 2)
        res = 0;
    if (f)
        fclose(f);
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Room for want descriptors (the hard limit too, where we may); how many. */
static long raise_nofile(long want)
{
    struct rlimit r = { (rlim_t)want, (rlim_t)want };
    if (setrlimit(RLIMIT_NOFILE, &r) < 0 && getrlimit(RLIMIT_NOFILE, &r) == 0) {
        r.rlim_cur = r.rlim_max < (rlim_t)want ? r.rlim_max : (rlim_t)want;
        setrlimit(RLIMIT_NOFILE, &r);
    }
    getrlimit(RLIMIT_NOFILE, &r);
    return (long)r.rlim_cur;
}

/* Byte i of stream seed: any offset can be checked without keeping the stream. */
static ubyte pat(uint32_t seed, size_t i)
{
    uint32_t x = (uint32_t)i * 0x9E3779B1u + seed * 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    x ^= x >> 12;
    return (ubyte)(x >> 24);
}

/* ---- the server side ---------------------------------------------------- */

enum { M_ECHO, M_SILENT, M_FILE };

struct srv_ctx {
    int mode;
    int file_fd;
    int64_t file_size;
    atomic_int opened, st_ok, st_idle, kernel_tx, kernel_rx;
    atomic_int files_ok, files_eof;
    char why[128];                  /* why a connection is not in the kernel */
    sbyte4 *handles;                /* when set: every opened connection's handle */
    atomic_int n_handles;
};

static void s_open(sbyte4 h, void *arg)
{
    struct srv_ctx *s = arg;
    nktlsRecordLayerInfo info;
    atomic_fetch_add(&s->opened, 1);
    if (s->handles)
        s->handles[atomic_fetch_add(&s->n_handles, 1)] = h;
    if (NKTLS_getRecordLayerInfo(h, &info) == OK) {
        atomic_fetch_add(&s->kernel_tx, info.txLayer == NKTLS_LAYER_KERNEL);
        atomic_fetch_add(&s->kernel_rx, info.rxLayer == NKTLS_LAYER_KERNEL);
        if (info.txLayer != NKTLS_LAYER_KERNEL || info.rxLayer != NKTLS_LAYER_KERNEL)
            snprintf(s->why, sizeof s->why, "tx: %s, rx: %s", info.txReason, info.rxReason);
    }
    if (s->mode != M_FILE)
        return;
    /* file[1000, size-7) "--mid--" file[size-10, size) (then EOF) file[0, 5000);
     * the close waits for all of it. */
    NKTLS_LOOP_sendFile(h, s->file_fd, 1000, (ubyte8)(s->file_size - 1007));
    NKTLS_LOOP_send(h, (const ubyte *)"--mid--", 7);
    NKTLS_LOOP_sendFile(h, s->file_fd, s->file_size - 10, 100);
    NKTLS_LOOP_sendFile(h, s->file_fd, 0, 5000);
    NKTLS_LOOP_close(h);
}

static void s_data(sbyte4 h, const ubyte *d, ubyte4 n, void *arg)
{
    struct srv_ctx *s = arg;
    if (s->mode == M_ECHO)
        NKTLS_LOOP_send(h, d, n);
}

static void s_close(sbyte4 h, MSTATUS st, void *arg)
{
    struct srv_ctx *s = arg;
    atomic_fetch_add(&s->st_ok, st == OK);
    atomic_fetch_add(&s->st_idle, st == ERR_TCP_READ_TIMEOUT);
}

static void s_file(sbyte4 h, MSTATUS st, ubyte8 sent, void *arg)
{
    struct srv_ctx *s = arg;
    atomic_fetch_add(&s->files_ok, st == OK);
    atomic_fetch_add(&s->files_eof, st == ERR_FILE_EOF && sent == 10);
}

static const nktlsLoopCallbacks srv_cb = { NULL, s_open, s_data, s_close, s_file };

/* One server (in a thread) on a loopback listener. */
struct lenv {
    struct srv_ctx sc;
    sbyte4 srv;
    int lfd;
    struct sockaddr_in addr;
    pthread_t th;
    int th_up;
    sbyte4 backend;
    int n;                          /* clients */
    long fds;                       /* descriptors this process may hold */
};

static int listen_lo(struct sockaddr_in *a, int reuseport)
{
    socklen_t len = sizeof *a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)a, sizeof *a) < 0 || listen(fd, 4096) < 0
        || getsockname(fd, (struct sockaddr *)a, &len) < 0)
        return -1;
    return fd;
}

static void lenv_up(struct th_meta *_metadata, struct lenv *e, sbyte4 backend, const char *disable)
{
    const char *conns = getenv("NKTLS_LOOP_CONNS");
    memset(e, 0, sizeof *e);
    e->n = conns && atoi(conns) > 0 && atoi(conns) <= 30000 ? atoi(conns) : 1000;
    e->fds = raise_nofile(2L * e->n + 512);
    /* The busiest case keeps one end of each connection per process. */
    if (e->fds < e->n + 512L) {
        e->n = (int)(e->fds - 512);
        TH_LOG("RLIMIT_NOFILE %ld: %d connections", e->fds, e->n);
    }
    if (disable)
        setenv("NKTLS_URING_DISABLE", disable, 1);
    e->backend = backend;
    env_up(e->n + 64);
    e->lfd = listen_lo(&e->addr, 0);
    ASSERT_GE(e->lfd, 0);
}

static void *lsrv_thread(void *p)
{
    struct lenv *e = p;
    return (void *)(intptr_t)NKTLS_LOOP_run(e->srv);
}

static void lsrv_run(struct th_meta *_metadata, struct lenv *e)
{
    ASSERT_EQ(pthread_create(&e->th, NULL, lsrv_thread, e), 0);
    e->th_up = 1;
}

/* Returns 0 (after SKIP) where io_uring is not available. */
static int lsrv_create(struct th_meta *_metadata, struct lenv *e, nktlsLoopOptions o, int mode)
{
    e->sc.mode = mode;
    o.backend = e->backend;
    e->srv = NKTLS_LOOP_createServer(&e->lfd, 1, env.srv, &srv_cb, &e->sc, &o);
    if (e->srv == ERR_NOT_SUPPORTED)
        SKIP(return 0, "io_uring unavailable");
    ASSERT_GT(e->srv, 0) TH_LOG("createServer: %s", errname(e->srv));
    return 1;
}

static int lsrv_start(struct th_meta *_metadata, struct lenv *e, nktlsLoopOptions o, int mode)
{
    if (!lsrv_create(_metadata, e, o, mode))
        return 0;
    lsrv_run(_metadata, e);
    return 1;
}

static void lsrv_stop(struct th_meta *_metadata, struct lenv *e)
{
    void *r;
    if (!e->th_up)
        return;
    e->th_up = 0;
    ASSERT_EQ(NKTLS_LOOP_stop(e->srv), OK);
    ASSERT_EQ(pthread_join(e->th, &r), 0);
    EXPECT_EQ((MSTATUS)(intptr_t)r, OK);
    ASSERT_EQ(NKTLS_LOOP_destroy(e->srv), OK);
}

static void lenv_down(struct th_meta *_metadata, struct lenv *e)
{
    lsrv_stop(_metadata, e);
    if (e->lfd >= 0)
        close(e->lfd);
    env_down();
}

static nktlsLoopStats stats(struct lenv *e)
{
    nktlsLoopStats s;
    memset(&s, 0, sizeof s);
    NKTLS_LOOP_getStats(e->srv, &s);
    return s;
}

/* Poll cond for up to ms. */
#define WAIT_FOR(cond, ms) \
    for (int t_ = 0; t_ < (ms) && !(cond); t_ += 5) \
        usleep(5000)

/* Wait up to ms for the server to hold no connection. */
static unsigned wait_idle(struct lenv *e, int ms)
{
    WAIT_FOR(stats(e).live == 0, ms);
    return stats(e).live;
}

/* ---- the client side: a loop of its own --------------------------------- */

struct cli {
    sbyte4 h;
    uint32_t seed;
    size_t len, got;
    int opened, bad;
    MSTATUS st;
    ubyte *buf;                     /* M_FILE: everything received */
};

struct cli_ctx {
    sbyte4 loop;
    pthread_t th;
    struct sockaddr_in addr;
    struct cli *v;
    int n, next, in_hs, max_hs;
    int send_on_open, mode, hold;   /* hold: stay open after the echo */
    int phase;                      /* c_all */
    atomic_int opened, closed, ok, echoed;
    int ctl[2];                     /* 'O': all open, 'D': all closed */
};

static void c_more(struct cli_ctx *x);

static void c_send(struct cli_ctx *x, struct cli *c)
{
    if (c->len == 0) {   /* nothing to echo */
        if (!x->hold)
            NKTLS_LOOP_close(c->h);
        else if (atomic_fetch_add(&x->echoed, 1) + 1 == x->n)
            (void)!write(x->ctl[1], "E", 1);
        return;
    }
    ubyte *b = malloc(c->len);
    for (size_t i = 0; i < c->len; i++)
        b[i] = pat(c->seed, i);
    NKTLS_LOOP_send(c->h, b, (ubyte4)c->len);
    free(b);
}

static void c_open(sbyte4 h, void *arg)
{
    struct cli_ctx *x = arg;
    struct cli *c = NKTLS_LOOP_getConnArg(h);
    c->opened = 1;
    x->in_hs--;
    if (x->send_on_open)
        c_send(x, c);
    if (atomic_fetch_add(&x->opened, 1) + 1 == x->n)
        (void)!write(x->ctl[1], "O", 1);
    c_more(x);
}

static void c_data(sbyte4 h, const ubyte *d, ubyte4 n, void *arg)
{
    struct cli_ctx *x = arg;
    struct cli *c = NKTLS_LOOP_getConnArg(h);
    if (x->mode == M_FILE) {
        if (c->got + n <= c->len)
            memcpy(c->buf + c->got, d, n);
        c->got += n;
        return;
    }
    for (ubyte4 i = 0; i < n && !c->bad; i++)
        c->bad = c->got + i >= c->len || d[i] != pat(c->seed, c->got + i);
    c->got += n;
    if (c->got == c->len && x->hold && atomic_fetch_add(&x->echoed, 1) + 1 == x->n)
        (void)!write(x->ctl[1], "E", 1);
    if (c->bad || (c->got == c->len && !x->hold))
        NKTLS_LOOP_close(h);
}

static void c_close(sbyte4 h, MSTATUS st, void *arg)
{
    struct cli_ctx *x = arg;
    struct cli *c = NKTLS_LOOP_getConnArg(h);
    c->st = st;
    if (!c->opened)
        x->in_hs--;
    atomic_fetch_add(&x->ok, st == OK && !c->bad && (x->mode == M_FILE || c->got == c->len));
    if (atomic_fetch_add(&x->closed, 1) + 1 == x->n)
        (void)!write(x->ctl[1], "D", 1);
    c_more(x);
}

static const nktlsLoopCallbacks cli_cb = { NULL, c_open, c_data, c_close, NULL };

/* Keep at most max_hs handshakes running: a burst larger than the listen
 * backlog only costs SYN retransmits. */
static void c_more(struct cli_ctx *x)
{
    while (x->next < x->n && x->in_hs < x->max_hs) {
        struct cli *c = &x->v[x->next++];
        x->in_hs++;
        c->h = NKTLS_LOOP_connect(x->loop, (struct sockaddr *)&x->addr, sizeof x->addr,
                                  (const sbyte *)"server.example.com", env.cli, c);
        if (c->h < 0) {
            x->in_hs--;
            c->st = c->h;
            if (atomic_fetch_add(&x->closed, 1) + 1 == x->n)
                (void)!write(x->ctl[1], "D", 1);
        }
    }
}

static void c_start(void *arg) { c_more(arg); }

/* On the client loop, each open connection sends (phase 1) or closes (2). */
static void c_all(void *arg)
{
    struct cli_ctx *x = arg;
    for (int i = 0; i < x->n; i++) {
        if (!x->v[i].opened || x->v[i].st != 0)
            continue;
        if (x->phase == 1)
            c_send(x, &x->v[i]);
        else
            NKTLS_LOOP_close(x->v[i].h);
    }
}

static void *cli_thread(void *p)
{
    struct cli_ctx *x = p;
    return (void *)(intptr_t)NKTLS_LOOP_run(x->loop);
}

/* n clients with payloads of up to 40 KB (several records), len 0 for some. */
static int cli_start(struct cli_ctx *x, struct lenv *e, int n, int send_on_open, size_t file_len)
{
    nktlsLoopOptions o = { .backend = e->backend, .handshakeTimeoutMs = 20000 };
    memset(x, 0, sizeof *x);
    x->v = calloc((size_t)n, sizeof *x->v);
    x->n = n;
    x->max_hs = 128;
    x->addr = e->addr;
    x->send_on_open = send_on_open;
    x->mode = file_len ? M_FILE : M_ECHO;
    if (!x->v || pipe(x->ctl) < 0)
        return ERR_MEM_ALLOC_FAIL;
    for (int i = 0; i < n; i++) {
        x->v[i].seed = (uint32_t)i + 1;
        /* Some send nothing and close at once (not where kernel TLS is
         * checked: a peer that closed first leaves nothing to offload). */
        x->v[i].len = (size_t)(i % 5 == 4 && !send_on_open ? 0 : (i * 7919) % 40000 + 1);
        if (file_len) {   /* one byte more than expected: too much shows */
            x->v[i].len = file_len + 1;
            x->v[i].buf = malloc(file_len + 1);
        }
    }
    x->loop = NKTLS_LOOP_createServer(NULL, 0, NULL, &cli_cb, x, &o);
    if (x->loop < 0)
        return x->loop;
    if (pthread_create(&x->th, NULL, cli_thread, x) != 0)
        return ERR_GENERAL;
    return NKTLS_LOOP_post(x->loop, 0, c_start, x);
}

/* Wait for a control byte; 0 on timeout. */
static char ctl_wait(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char ch = 0;
    if (poll(&p, 1, ms) == 1 && read(fd, &ch, 1) == 1)
        return ch;
    return 0;
}

static void cli_stop(struct cli_ctx *x)
{
    NKTLS_LOOP_stop(x->loop);
    pthread_join(x->th, NULL);
    NKTLS_LOOP_destroy(x->loop);
    for (int i = 0; i < x->n; i++)
        free(x->v[i].buf);
    free(x->v);
    close(x->ctl[0]);
    close(x->ctl[1]);
}

/* n echo clients sending at once; all must come back byte for byte. */
static void cli_run(struct th_meta *_metadata, struct lenv *e, int n)
{
    struct cli_ctx x;
    ASSERT_EQ(cli_start(&x, e, n, 1, 0), OK);
    ASSERT_EQ(ctl_wait(x.ctl[0], 60000), 'O');
    ASSERT_EQ(ctl_wait(x.ctl[0], 60000), 'D');
    EXPECT_EQ(atomic_load(&x.ok), n);
    cli_stop(&x);
}

/* ---- the fixture: one variant per backend --------------------------------- */

FIXTURE(loop) {
    struct lenv e;
};

FIXTURE_VARIANT(loop) {
    sbyte4 backend;
    const char *disable;     /* NKTLS_URING_DISABLE */
    const char *name;
};

FIXTURE_VARIANT_ADD(loop, uring) {
    .backend = NKTLS_LOOP_BACKEND_URING, .name = "io_uring",
};
FIXTURE_VARIANT_ADD(loop, uring_basic) {
    .backend = NKTLS_LOOP_BACKEND_URING, .disable = "multishot,bufring", .name = "io_uring",
};
FIXTURE_VARIANT_ADD(loop, epoll) {
    .backend = NKTLS_LOOP_BACKEND_EPOLL, .name = "epoll",
};

FIXTURE_SETUP(loop)
{
    lenv_up(_metadata, &self->e, variant->backend, variant->disable);
}

FIXTURE_TEARDOWN(loop)
{
    lenv_down(_metadata, &self->e);
}

TEST_F(loop, backend)
{
    const char *name = NULL, *why = NULL;
    if (!lsrv_start(_metadata, &self->e, (nktlsLoopOptions){ 0 }, M_ECHO))
        return;
    ASSERT_EQ(NKTLS_LOOP_getBackend(self->e.srv, &name, &why), OK);
    ASSERT_STR_EQ(name, variant->name);
    ASSERT_NOT_NULL(why);
    TH_LOG("backend %s: %s", name, why);
    if (variant->disable)
        ASSERT_STR_EQ(why, "single-shot accept, poll, then receive into a shared buffer");
    ASSERT_EQ(NKTLS_LOOP_getBackend(0x7fff00ff, &name, &why), ERR_SSL_BAD_ID);
    ASSERT_EQ(NKTLS_LOOP_send(1, (const ubyte *)"x", 1), ERR_SSL_BAD_ID);
}

/* ---- many concurrent clients -------------------------------------------- */

/* The clients run in a child process, so the server's memory is measured
 * alone. Child -> parent: 'O' every connection open, 'E' every echo back (the
 * connections stay open), then its result; parent -> child: 'G' send, 'C' close. */
static void echo_child(struct lenv *e, int up, int down)
{
    struct cli_ctx x;
    int r[3] = { 0 };   /* ok, closed, first failure */
    char ch = 0;
    if (cli_start(&x, e, e->n, 0, 0) == OK) {
        x.hold = 1;
        ch = ctl_wait(x.ctl[0], 120000);
    }
    (void)!write(up, &ch, 1);
    if (ch == 'O' && ctl_wait(down, 120000) == 'G') {
        x.phase = 1;
        NKTLS_LOOP_post(x.loop, 0, c_all, &x);
        ch = ctl_wait(x.ctl[0], 120000);
        (void)!write(up, &ch, 1);
    }
    if (ch == 'E' && ctl_wait(down, 120000) == 'C') {
        x.phase = 2;
        NKTLS_LOOP_post(x.loop, 0, c_all, &x);
        ctl_wait(x.ctl[0], 120000);
    }
    r[0] = atomic_load(&x.ok);
    r[1] = atomic_load(&x.closed);
    for (int i = 0; i < x.n && !r[2]; i++)
        r[2] = x.v[i].st ? x.v[i].st : x.v[i].bad ? ERR_GENERAL : OK;
    cli_stop(&x);
    (void)!write(up, &r, sizeof r);
    _exit(0);
}

/* ---- where an idle connection's bytes go ----------------------------------- */

/* What the allocator sets aside for a block of n bytes (glibc: 8-byte header,
 * 16-byte steps, 32 at least), and for a live block. */
static size_t chunk_of(size_t n)
{
    size_t c = (n + 8 + 15) & ~(size_t)15;
    return c < 32 ? 32 : c;
}

static size_t held(const void *p)
{
    return p ? malloc_usable_size((void *)p) + 8 : 0;
}

struct mem_walk {
    struct srv_ctx *sc;
    atomic_int done;
    size_t conn, loop, keys, bufs, hs, names, ctx_cost;
    int ctxs, n, kernel_both;
};

/* Heap one AEAD context (the libcrypto cipher context and what it holds) costs. */
static size_t aead_cost(void)
{
    static const uint8_t key[32];
    struct nk_aead a[8] = { { 0 } };
    size_t before = mallinfo2().uordblks, after;
    for (int i = 0; i < 8; i++)
        if (nk_aead_init(&a[i], nk_suite_by_id(0x1301), key, 1) < 0)
            return 0;
    after = mallinfo2().uordblks;
    for (int i = 0; i < 8; i++)
        nk_aead_free(&a[i]);
    return after > before ? (after - before) / 8 : 0;
}

/* Runs on the server's loop thread: it may look inside its connections. */
static void mem_walk_fn(void *arg)
{
    struct mem_walk *w = arg;
    w->ctx_cost = aead_cost();
    for (int i = 0; i < atomic_load(&w->sc->n_handles); i++) {
        struct nk_conn *c;
        struct nk_lconn *lc = nk_lc_find(w->sc->handles[i]);
        if (nk_conn_get(w->sc->handles[i], &c) < 0 || !lc)
            continue;
        int ctxs = (c->rd.aead.ctx != NULL) + (c->wr.aead.ctx != NULL);
        w->n++;
        w->kernel_both += c->ktls_tx && c->ktls_rx;
        w->conn += held(c);
        w->loop += held(lc) + held(lc->tx) + held(lc->file) + held(lc->peer);
        w->ctxs += ctxs;
        w->keys += (size_t)ctxs * w->ctx_cost;
        w->bufs += held(c->in.p) + held(c->out.p) + held(c->hs_in.p) + held(c->as.in.p)
                   + (lc->tx ? held(lc->tx->buf.p) : 0);
        w->hs += held(c->hs);
        w->names += held(c->server_name) + held(c->dns_name) + held(c->alpn_offer) + held(c->peer_leaf)
                    + (c->alpn != c->alpn_none ? held(c->alpn) : 0);
    }
    atomic_store(&w->done, 1);
}

/* The table's slot, its free-list link and the loop's handle registry entry. */
#define SLOT_BYTES (sizeof(struct nk_conn *) + 2 * sizeof(uint16_t) + sizeof(struct nk_lconn *))

static void report_mem(struct th_meta *_metadata, struct mem_walk *w, double rss)
{
    ASSERT_TRUE(atomic_load(&w->done));
    ASSERT_GT(w->n, 0);
    size_t sum = (w->conn + w->loop + w->keys + w->bufs + w->hs + w->names) / (size_t)w->n + SLOT_BYTES;
    TH_LOG("idle connection, bytes: struct nk_conn %zu (%zu), loop connection %zu (%zu), record-key "
           "contexts %zu (%.1f of %zu), buffers %zu, handshake %zu, names %zu, table slot %zu: "
           "%zu in all; RSS grew %.0f per connection (%d of %d: kernel TLS both ways)",
           w->conn / (size_t)w->n, sizeof(struct nk_conn), w->loop / (size_t)w->n, sizeof(struct nk_lconn),
           w->keys / (size_t)w->n, (double)w->ctxs / w->n, w->ctx_cost, w->bufs / (size_t)w->n,
           w->hs / (size_t)w->n, w->names / (size_t)w->n, SLOT_BYTES, sum, rss, w->kernel_both, w->n);
    /* Nothing of a record buffer or a handshake stays while idle, and the
     * totals stay within the budgets: 4 KiB in software, 1 KiB with both
     * directions in the kernel (counted blocks, so the check is exact). */
    EXPECT_EQ(w->bufs, 0u);
    EXPECT_EQ(w->hs, 0u);
    EXPECT_LE(sum, w->kernel_both == w->n ? 1024u : 4096u);
}

/* Server RSS growth per connection, after returning freed memory to the system. */
static double per_conn(long base, int n)
{
    usleep(50000);
    malloc_trim(0);
    return (double)(rss_kb() - base) * 1024 / n;
}

TEST_F_TIMEOUT(loop, echo_many, 300)
{
    struct lenv *e = &self->e;
    int r[3] = { 0 }, up[2], down[2];
    struct mem_walk w = { .sc = &e->sc };
    if (!lsrv_create(_metadata, e, (nktlsLoopOptions){ .handshakeTimeoutMs = 20000 }, M_ECHO))
        return;
    ASSERT_NOT_NULL(e->sc.handles = calloc((size_t)e->n, sizeof *e->sc.handles));
    ASSERT_EQ(pipe(up), 0);
    ASSERT_EQ(pipe(down), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0)
        echo_child(e, up[1], down[0]);
    lsrv_run(_metadata, e);
    usleep(50000);
    malloc_trim(0);
    long base = rss_kb();
    double t0 = ms_now();
    char ch = ctl_wait(up[0], 150000);
    double t_open = ms_now() - t0;
    WAIT_FOR(atomic_load(&e->sc.opened) == e->n, 10000);
    nktlsLoopStats s = stats(e);
    double idle_open = per_conn(base, e->n);
    ASSERT_EQ(NKTLS_LOOP_post(e->srv, 0, mem_walk_fn, &w), OK);
    WAIT_FOR(atomic_load(&w.done), 10000);
    report_mem(_metadata, &w, idle_open);
    (void)!write(down[1], "G", 1);
    char ch2 = ch == 'O' ? ctl_wait(up[0], 150000) : 0;
    double idle_used = per_conn(base, e->n);
    (void)!write(down[1], "C", 1);
    ssize_t got = ch2 == 'E' ? read(up[0], &r, sizeof r) : 0;
    waitpid(pid, NULL, 0);
    TH_LOG("%d connections open in %.0f ms, server held %u at once; server RSS per idle "
           "connection: %.0f bytes after the handshake, %.0f after echoing up to 40 KB",
           e->n, t_open, s.live, idle_open, idle_used);
    ASSERT_EQ(ch, 'O');
    ASSERT_EQ(s.live, (unsigned)e->n);
    ASSERT_EQ(ch2, 'E');
    ASSERT_EQ(got, (ssize_t)sizeof r);
    EXPECT_EQ(r[1], e->n);
    ST_EXPECT(r[2], OK);
    ASSERT_EQ(r[0], e->n);
    ASSERT_EQ(wait_idle(e, 10000), 0u);
    ASSERT_EQ(atomic_load(&e->sc.opened), e->n);
    ASSERT_EQ(atomic_load(&e->sc.st_ok), e->n);
    ASSERT_EQ(stats(e).accepted, (ubyte8)e->n);
    free(e->sc.handles);
}

/* ---- clients that trickle one byte at a time ------------------------------- */

struct trickle {
    struct sockaddr_in addr;
    int id;
    MSTATUS st;
};

/* Every byte the engine queued goes out in its own segment. */
static MSTATUS trickle_out(struct nk_conn *c, int fd)
{
    size_t len;
    const uint8_t *p;
    while ((p = nk_out_buf(c, &len)) != NULL) {
        if (send(fd, p, 1, MSG_NOSIGNAL) != 1)
            return ERR_TCP_WRITE_ERROR;
        nk_out_ack(c, 1);
        usleep(50);
    }
    return OK;
}

/* Read one byte into the engine (the socket has a receive timeout). */
static MSTATUS trickle_in(struct nk_conn *c, int fd)
{
    size_t len;
    uint8_t *b = nk_in_buf(c, &len);
    if (!b || !len)
        return c->err < 0 ? c->err : ERR_SSL_BAD_STATE;
    if (recv(fd, b, 1, 0) != 1)
        return ERR_TCP_SOCKET_CLOSED;
    c->now = time(NULL);
    return nk_in_ack(c, 1);
}

static MSTATUS trickle_run(struct trickle *t, int fd, struct nk_conn *c)
{
    ubyte msg[3000], back[3000];
    size_t got = 0;
    fill(msg, sizeof msg, (uint32_t)t->id);
    c->ktls_mode = NKTLS_KTLS_OFF;
    NK_TRY(nk_engine_start(c));
    while (c->status != SSL_CONNECTION_OPEN) {
        NK_TRY(trickle_out(c, fd));
        if (c->status != SSL_CONNECTION_OPEN)
            NK_TRY(trickle_in(c, fd));
    }
    NK_TRY(trickle_out(c, fd));
    NK_TRY(nk_app_write(c, msg, 1000));   /* two writes: two records */
    NK_TRY(nk_app_write(c, msg + 1000, sizeof msg - 1000));
    NK_TRY(trickle_out(c, fd));
    while (got < sizeof msg) {
        if (!c->app_len)
            NK_TRY(trickle_in(c, fd));
        got += nk_app_read(c, back + got, sizeof back - got);
    }
    NK_CHECK(memcmp(msg, back, sizeof msg) == 0, ERR_GENERAL);
    NK_TRY(nk_send_alert(c, SSLALERTLEVEL_WARNING, NK_ALERT_CLOSE_NOTIFY));
    NK_TRY(trickle_out(c, fd));
    while (!c->got_close_notify)
        NK_TRY(trickle_in(c, fd));   /* the server answers with its own */
    return OK;
}

static void *trickle_thread(void *p)
{
    struct trickle *t = p;
    struct nk_conn *c;
    struct timeval tv = { .tv_sec = 10 };
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    t->st = connect(fd, (struct sockaddr *)&t->addr, sizeof t->addr) == 0 ? OK : ERR_TCP_CONNECT_ERROR;
    sbyte4 h = SSL_ASYNC_connect(fd, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    if (t->st == OK && nk_conn_get(h, &c) == OK)
        t->st = trickle_run(t, fd, c);
    SSL_ASYNC_closeConnection(h);
    close(fd);
    return NULL;
}

TEST_F(loop, trickle)
{
    struct trickle t[16];
    pthread_t th[16];
    if (!lsrv_start(_metadata, &self->e, (nktlsLoopOptions){ 0 }, M_ECHO))
        return;
    for (int i = 0; i < 16; i++) {
        t[i] = (struct trickle){ .addr = self->e.addr, .id = i + 1 };
        ASSERT_EQ(pthread_create(&th[i], NULL, trickle_thread, &t[i]), 0);
    }
    for (int i = 0; i < 16; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 16; i++)
        ST_EXPECT_AT(t[i].st, OK, at("client %d: ", i));
    ASSERT_EQ(wait_idle(&self->e, 5000), 0u);
    ASSERT_EQ(atomic_load(&self->e.sc.st_ok), 16);
}

/* ---- clients that vanish mid-handshake ------------------------------------ */

/* A real ClientHello, made once by a client engine. */
static size_t client_hello(ubyte *out, size_t cap)
{
    struct nk_conn *c;
    size_t len = 0;
    sbyte4 h = SSL_ASYNC_connect(-1, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    if (h > 0 && nk_conn_get(h, &c) == OK && nk_engine_start(c) == OK) {
        const uint8_t *p = nk_out_buf(c, &len);
        len = len < cap ? len : cap;
        memcpy(out, p, len);
    }
    if (h > 0)
        SSL_ASYNC_closeConnection(h);
    return len;
}

/* Silent, a torn record, a whole ClientHello: then nothing more, socket open. */
static int vanish_one(const struct sockaddr_in *a, int kind, const ubyte *ch, size_t ch_len)
{
    static const ubyte torn[] = { 22, 3, 1, 2, 0, 1, 0, 1, 252, 3, 3 };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)a, sizeof *a) < 0)
        return fd < 0 ? -1 : (close(fd), -1);
    if (kind == 1)
        (void)!send(fd, torn, sizeof torn, MSG_NOSIGNAL);
    else if (kind == 2)
        (void)!send(fd, ch, ch_len, MSG_NOSIGNAL);
    return fd;
}

TEST_F_TIMEOUT(loop, vanish, 120)
{
    struct lenv *e = &self->e;
    ubyte ch[2048];
    size_t ch_len = client_hello(ch, sizeof ch);
    /* Both ends live in this process here. */
    if (e->fds < 2L * e->n + 512)
        e->n = (int)((e->fds - 512) / 2);
    int *fds = calloc((size_t)e->n, sizeof *fds);
    ASSERT_GT(ch_len, 100u);
    if (!lsrv_start(_metadata, e, (nktlsLoopOptions){ .handshakeTimeoutMs = 300 }, M_ECHO))
        return;
    /* A round of real connections first, so lazily made state is in the baseline. */
    for (int i = 0; i < 20; i++)
        close(vanish_one(&e->addr, 2, ch, ch_len));
    ASSERT_EQ(wait_idle(e, 5000), 0u);
    malloc_trim(0);
    long base = rss_kb();
    double t0 = ms_now();
    for (int i = 0; i < e->n; i++) {
        fds[i] = vanish_one(&e->addr, i % 3, ch, ch_len);
        ASSERT_GE(fds[i], 0) TH_LOG("connection %d", i);
        while (i - (long)stats(e).accepted > 256)   /* stay within the backlog */
            usleep(1000);
    }
    long peak = rss_kb();
    unsigned live_peak = stats(e).live;
    ASSERT_EQ(wait_idle(e, 20000), 0u);
    double t_all = ms_now() - t0;
    malloc_trim(0);
    long after = rss_kb();
    TH_LOG("%d vanished clients: held %u, timed out within %.0f ms; RSS %ld -> %ld -> %ld KiB",
           e->n, live_peak, t_all, base, peak, after);
    EXPECT_EQ(stats(e).handshakeTimeouts, (ubyte8)e->n);
    EXPECT_EQ(atomic_load(&e->sc.opened), 0);
    /* Freed means back near the baseline: within 2 MiB or a tenth of the peak.
     * Checked on the host; in the emulated VM (NKTLS_IN_VM) resident pages of
     * the rings and thread arenas settle too slowly for RSS to say anything, so
     * there the counts above carry the case (leaks: the ASan run's LeakSanitizer). */
    long slack = (peak - base) / 10 > 2048 ? (peak - base) / 10 : 2048;
    if (!UNDER_ASAN && !getenv("NKTLS_IN_VM"))
        EXPECT_LE(after, base + slack);
    for (int i = 0; i < e->n; i++)
        close(fds[i]);
    free(fds);
}

/* ---- sendfile through the loop -------------------------------------------- */

static int make_file(int64_t size)
{
    char path[] = "/tmp/nktls-loop-XXXXXX";
    int fd = mkstemp(path);
    ubyte *b = malloc((size_t)size);
    if (fd < 0 || !b)
        return -1;
    unlink(path);
    for (int64_t i = 0; i < size; i++)
        b[i] = pat(77, (size_t)i);
    ssize_t n = write(fd, b, (size_t)size);
    free(b);
    return n == size ? fd : -1;
}

/* What s_open sends for a file of this size (M_FILE). */
static size_t file_expect(ubyte *out, int64_t size)
{
    size_t o = 0;
    for (int64_t i = 1000; i < size - 7; i++)
        out[o++] = pat(77, (size_t)i);
    memcpy(out + o, "--mid--", 7), o += 7;
    for (int64_t i = size - 10; i < size; i++)
        out[o++] = pat(77, (size_t)i);
    for (int64_t i = 0; i < 5000; i++)
        out[o++] = pat(77, (size_t)i);
    return o;
}

static void run_file_clients(struct th_meta *_metadata, struct lenv *e, int n)
{
    struct cli_ctx x;
    const int64_t size = (1 << 20) + 12345;
    ubyte *want = malloc((size_t)size + 6000);
    size_t want_len = file_expect(want, size);
    e->sc.file_fd = make_file(size);
    e->sc.file_size = size;
    ASSERT_GE(e->sc.file_fd, 0);
    /* No timer may come to the rescue of a connection the loop forgot. */
    if (!lsrv_start(_metadata, e, (nktlsLoopOptions){ .handshakeTimeoutMs = 60000 }, M_FILE))
        return;
    ASSERT_EQ(cli_start(&x, e, n, 0, want_len), OK);
    char ch = ctl_wait(x.ctl[0], 20000);
    if (ch == 'O')
        ch = ctl_wait(x.ctl[0], 20000);
    ASSERT_EQ(ch, 'D');
    for (int i = 0; i < n; i++) {
        ST_EXPECT_AT(x.v[i].st, OK, at("client %d: ", i));
        ASSERT_EQ(x.v[i].got, want_len);
        ASSERT_MEM_EQ(x.v[i].buf, want, want_len);
    }
    EXPECT_EQ(atomic_load(&e->sc.files_ok), 2 * n);
    EXPECT_EQ(atomic_load(&e->sc.files_eof), n);
    cli_stop(&x);
    close(e->sc.file_fd);
    free(want);
}

TEST_F(loop, sendfile)
{
    run_file_clients(_metadata, &self->e, 3);
}

/* ---- kernel TLS (the VM): offload under the loop, proven by the counters ---- */

static long tls_stat(const char *name)
{
    char key[64];
    long v, found = -1;
    FILE *f = fopen("/proc/net/tls_stat", "r");
    while (f && fscanf(f, "%63s %ld", key, &v) == 2)
        if (strcmp(key, name) == 0)
            found = v;
    if (f)
        fclose(f);
    return found;
}

TEST_F(loop, ktls)
{
    struct lenv *e = &self->e;
    const char *why = nk_ktls_unavailable_reason();
    if (why)
        SKIP(return, "no kernel TLS: %s", why);
    long tx0 = tls_stat("TlsTxSw"), rx0 = tls_stat("TlsRxSw");
    if (!lsrv_start(_metadata, e, (nktlsLoopOptions){ 0 }, M_ECHO))
        return;
    cli_run(_metadata, e, 50);
    ASSERT_EQ(wait_idle(e, 5000), 0u);
    EXPECT_EQ(atomic_load(&e->sc.kernel_tx), 50) TH_LOG("%s", e->sc.why);
    EXPECT_EQ(atomic_load(&e->sc.kernel_rx), 50);
    /* Both ends of 50 connections: the kernel installed 100 keys each way. */
    EXPECT_GE(tls_stat("TlsTxSw") - tx0, 100);
    EXPECT_GE(tls_stat("TlsRxSw") - rx0, 100);
    lsrv_stop(_metadata, e);
    memset(&e->sc, 0, sizeof e->sc);
    run_file_clients(_metadata, e, 2);
    EXPECT_EQ(atomic_load(&e->sc.kernel_tx), 2);
}

/* ---- timeouts, stop, limits, workers -------------------------------------- */

TEST_F(loop, idle_timeout)
{
    struct cli_ctx x;
    if (!lsrv_start(_metadata, &self->e, (nktlsLoopOptions){ .idleTimeoutMs = 200 }, M_ECHO))
        return;
    ASSERT_EQ(cli_start(&x, &self->e, 2, 0, 0), OK);
    double t0 = ms_now();
    ASSERT_EQ(ctl_wait(x.ctl[0], 10000), 'O');
    ASSERT_EQ(ctl_wait(x.ctl[0], 10000), 'D');
    double dt = ms_now() - t0;
    EXPECT_GE(dt, 180.0);
    /* Our policy, not a failure: the server said close_notify. */
    ST_EXPECT(x.v[0].st, OK);
    ST_EXPECT(x.v[1].st, OK);
    cli_stop(&x);
    EXPECT_EQ(stats(&self->e).idleTimeouts, 2u);
    /* The server reports after its close_notify left: the client may be first. */
    WAIT_FOR(atomic_load(&self->e.sc.st_idle) == 2, 5000);
    EXPECT_EQ(atomic_load(&self->e.sc.st_idle), 2);
}

TEST_F(loop, stop)
{
    struct cli_ctx x;
    if (!lsrv_start(_metadata, &self->e, (nktlsLoopOptions){ 0 }, M_ECHO))
        return;
    ASSERT_EQ(cli_start(&x, &self->e, 40, 0, 0), OK);
    ASSERT_EQ(ctl_wait(x.ctl[0], 10000), 'O');
    WAIT_FOR(atomic_load(&self->e.sc.opened) == 40, 5000);
    lsrv_stop(_metadata, &self->e);      /* run returns once every connection closed */
    ASSERT_EQ(ctl_wait(x.ctl[0], 10000), 'D');
    for (int i = 0; i < 40; i++)
        ST_EXPECT_AT(x.v[i].st, OK, at("client %d: ", i));
    EXPECT_EQ(atomic_load(&self->e.sc.st_ok), 40);
    cli_stop(&x);
}

TEST_F(loop, max_connections)
{
    struct cli_ctx x;
    if (!lsrv_start(_metadata, &self->e, (nktlsLoopOptions){ .maxConnections = 5 }, M_SILENT))
        return;
    ASSERT_EQ(cli_start(&x, &self->e, 12, 0, 0), OK);
    WAIT_FOR(atomic_load(&x.opened) + atomic_load(&x.closed) == 12, 10000);
    EXPECT_EQ(atomic_load(&x.opened), 5);
    EXPECT_EQ(atomic_load(&x.closed), 7);
    EXPECT_EQ(stats(&self->e).rejected, 7u);
    EXPECT_EQ(stats(&self->e).live, 5u);
    cli_stop(&x);
}

static void workers_round(struct th_meta *_metadata, struct lenv *e, int reuseport)
{
    close(e->lfd);
    e->lfd = listen_lo(&e->addr, reuseport);
    memset(&e->sc, 0, sizeof e->sc);
    if (!lsrv_start(_metadata, e, (nktlsLoopOptions){ .workers = 3 }, M_ECHO))
        return;
    cli_run(_metadata, e, 300);
    ASSERT_EQ(wait_idle(e, 5000), 0u);
    EXPECT_EQ(stats(e).opened, 300u);
    lsrv_stop(_metadata, e);
}

TEST_F(loop, workers)
{
    workers_round(_metadata, &self->e, 1);   /* one SO_REUSEPORT socket per worker */
    workers_round(_metadata, &self->e, 0);   /* one socket shared by the workers */
}

/* ---- the automatic fallback ---------------------------------------------- */

/* io_uring_setup fails with err for this process, as under a container's
 * seccomp profile. */
static int block_io_uring(int err)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = NK_ARRAY_LEN(f), .filter = f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* AUTO runs epoll, says why, and works: under a seccomp filter that fails
 * io_uring_setup with ENOSYS, or with NKTLS_IO=epoll. */
static void fallback(struct th_meta *_metadata, int seccomp)
{
    struct lenv e;
    const char *name, *why;
    lenv_up(_metadata, &e, NKTLS_LOOP_BACKEND_AUTO, NULL);
    if (seccomp) {
        ASSERT_EQ(block_io_uring(ENOSYS), 0);
        sbyte4 s = NKTLS_LOOP_createServer(&e.lfd, 1, env.srv, &srv_cb, &e.sc,
                                           &(nktlsLoopOptions){ .backend = NKTLS_LOOP_BACKEND_URING });
        ST_EXPECT(s, ERR_NOT_SUPPORTED);
    } else {
        setenv("NKTLS_IO", "epoll", 1);
    }
    ASSERT_EQ(lsrv_start(_metadata, &e, (nktlsLoopOptions){ 0 }, M_ECHO), 1);
    ASSERT_EQ(NKTLS_LOOP_getBackend(e.srv, &name, &why), OK);
    TH_LOG("%s: %s", name, why);
    ASSERT_STR_EQ(name, "epoll");
    ASSERT_NOT_NULL(strstr(why, seccomp ? "ENOSYS" : "NKTLS_IO=epoll"));
    cli_run(_metadata, &e, 20);
    lenv_down(_metadata, &e);
}

TEST(fallback_seccomp) { fallback(_metadata, 1); }
TEST(fallback_env) { fallback(_metadata, 0); }

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    return api_env_main(argc, argv);
}
