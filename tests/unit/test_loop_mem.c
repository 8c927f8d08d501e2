/* test_loop_mem.c — the event-loop server under many connections, and what
 * they cost: many concurrent echo clients (in a forked process, so the
 * server's memory is measured alone) checked byte for byte, with the bytes an
 * idle connection holds counted block by block and its RSS measured; clients
 * that vanish mid-handshake, and memory returning to the baseline after them.
 * NKTLS_LOOP_CONNS sets the client count (default 1000). */
#include "loop_env.h"

/* ---- many concurrent clients -------------------------------------------- */

/* Connections made, used and closed before the baseline is taken. */
#define WARM_CONNS 32

/* The clients run in a child process, so the server's memory is measured
 * alone. Child -> parent: 'W' after a warm-up round, 'O' every connection
 * open, 'E' every echo back (the connections stay open), then its result;
 * parent -> child: 'S' start, 'G' send, 'C' close. The warm-up puts into the
 * baseline what the first connections cost once (code and data pages faulted
 * in, per-thread libcrypto state, the loop's first ring entries), so the growth
 * measured is what each further connection costs. */
static void echo_child(struct lenv *e, int up, int down)
{
    struct cli_ctx x;
    int r[3] = { 0 };   /* ok, closed, first failure */
    char ch = 0;
    if (cli_start(&x, e, WARM_CONNS, 1, 0) == OK && ctl_wait(x.ctl[0], 120000) == 'O')
        ch = ctl_wait(x.ctl[0], 120000) == 'D' ? 'W' : 0;
    cli_stop(&x);
    (void)!write(up, &ch, 1);
    if (ch != 'W' || ctl_wait(down, 120000) != 'S')
        _exit(1);
    ch = 0;
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

/* What a live heap block takes (the allocator's header included). */
static size_t held(const void *p)
{
    return p ? malloc_usable_size((void *)p) + 8 : 0;
}

/* A short name comes from the names pool, a long one from the heap. */
static size_t name_held(const char *p, unsigned pooled)
{
    return p && pooled ? nk_slab_cost(&nk_names_slab) : held(p);
}

struct mem_walk {
    struct srv_ctx *sc;
    atomic_int done;
    size_t conn, loop, keys, ctx, bufs, hs, names, ctx_cost;
    int ctxs, n, kernel_both;
    unsigned trims, churn, trim_pending;
    uint64_t events;
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
    struct nk_lconn *first = atomic_load(&w->sc->n_handles) ? nk_lc_find(w->sc->handles[0]) : NULL;
    if (first) {   /* what the loop's housekeeping did (uring/loop_idle.c) */
        w->trims = first->loop->trims;
        w->churn = first->loop->churn;
        w->trim_pending = first->loop->trim_at != 0;
        w->events = first->loop->events;
    }
    for (int i = 0; i < atomic_load(&w->sc->n_handles); i++) {
        struct nk_conn *c;
        struct nk_lconn *lc = nk_lc_find(w->sc->handles[i]);
        if (nk_conn_get(w->sc->handles[i], &c) < 0 || !lc)
            continue;
        int ctxs = c->rd ? (c->rd->aead.ctx != NULL) + (c->wr->aead.ctx != NULL) : 0;
        w->n++;
        w->kernel_both += c->ktls_tx && c->ktls_rx;
        w->conn += nk_slab_cost(&nk_conn_slab);
        w->loop += nk_slab_cost(&nk_lconn_slab) + held(lc->tx) + held(lc->file) + held(lc->peer);
        w->keys += c->rd ? nk_slab_cost(&nk_keys_slab) : 0;
        w->ctxs += ctxs;
        w->ctx += (size_t)ctxs * w->ctx_cost;
        w->bufs += held(c->in.p) + held(c->out.p) + held(c->hs_in.p) + held(c->as.in.p)
                   + (lc->tx ? held(lc->tx->buf.p) : 0);
        w->hs += held(c->hs);
        w->names += name_held(c->server_name, c->name_pooled) + held(c->dns_name) + held(c->alpn_offer)
                    + held(c->peer_chain) + (c->alpn != c->alpn_none ? name_held(c->alpn, c->alpn_pooled) : 0);
    }
    atomic_store(&w->done, 1);
}

/* The table's slot, its free-list link and the loop's handle registry entry. */
#define SLOT_BYTES (sizeof(struct nk_conn *) + 2 * sizeof(uint16_t) + sizeof(struct nk_lconn *))

static void report_mem(struct th_meta *_metadata, struct mem_walk *w, double rss)
{
    ASSERT_TRUE(atomic_load(&w->done));
    ASSERT_GT(w->n, 0);
    size_t n = (size_t)w->n;
    size_t sum = (w->conn + w->loop + w->keys + w->ctx + w->bufs + w->hs + w->names) / n + SLOT_BYTES;
    TH_LOG("idle connection, bytes: struct nk_conn %zu (%zu), loop connection %zu (%zu), record keys "
           "%zu (%zu), their contexts %zu (%.1f of %zu), buffers %zu, handshake %zu, names %zu, table "
           "slot %zu: %zu in all; RSS grew %.0f per connection (%d of %d: kernel TLS both ways)",
           w->conn / n, sizeof(struct nk_conn), w->loop / n, sizeof(struct nk_lconn), w->keys / n,
           sizeof(struct nk_rec_pair), w->ctx / n, (double)w->ctxs / w->n, w->ctx_cost, w->bufs / n,
           w->hs / n, w->names / n, SLOT_BYTES, sum, rss, w->kernel_both, w->n);
    /* Nothing of a record buffer or a handshake stays while idle, and the
     * totals stay within the budgets: 4 KiB in software, 1 KiB with both
     * directions in the kernel (counted blocks, so the check is exact). */
    TH_LOG("the loop gave memory back %u times; %u freed since, trim %s; %llu events", w->trims,
           w->churn, w->trim_pending ? "pending" : "not armed", (unsigned long long)w->events);
    EXPECT_EQ(w->bufs, 0u);
    EXPECT_EQ(w->hs, 0u);
    EXPECT_LE(sum, w->kernel_both == w->n ? 1024u : 4096u);
}

/* Server RSS growth per connection, as the process shows it: no trimming by
 * the test. The loop parks the contexts of connections quiet for a second
 * (looking once a second), and gives freed memory back once it has been quiet
 * for a second (uring/loop_idle.c): so RSS is read once it has not fallen for
 * 3 s (at most 20 s), as a user would look at a server that has calmed down. */
static double per_conn(long base, int n)
{
    long last = rss_kb();
    for (int polls = 0, stable = 0; polls < 80 && stable < 12; polls++) {
        usleep(250000);
        long now = rss_kb();
        stable = now < last ? 0 : stable + 1;
        last = now;
    }
    return (double)(last - base) * 1024 / n;
}

/* Resident KiB by kind of mapping: the main heap, io_uring's rings, other
 * anonymous memory (thread heaps, the pools' chunks, buffer rings, stacks),
 * files. Where RSS growth comes from, when it is more than the blocks. */
enum { RSS_HEAP, RSS_RING, RSS_ANON, RSS_FILE, RSS_USED, RSS_FREE, RSS_KINDS };

static void rss_parts(long kb[RSS_KINDS])
{
    char line[512];
    int kind = RSS_ANON;
    long v;
    FILE *f = fopen("/proc/self/smaps", "r");
    memset(kb, 0, RSS_KINDS * sizeof *kb);
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "Rss: %ld kB", &v) == 1) {
            kb[kind] += v;
        } else if (strchr(line, '-') && strchr(line, '-') < strchr(line, ' ')) {   /* a mapping */
            char *path = NULL;
            int fields = 0;
            for (char *q = line; *q && fields < 5; q++)
                if (*q == ' ' && q[1] != ' ' && ++fields == 5)
                    path = q + 1;
            while (path && *path == ' ')
                path++;
            kind = !path || *path == '\n' ? RSS_ANON
                   : strstr(path, "[heap]") ? RSS_HEAP
                   : strstr(path, "io_uring") ? RSS_RING
                   : *path == '[' ? RSS_ANON : RSS_FILE;
        }
    }
    if (f)
        fclose(f);
    struct mallinfo2 mi = mallinfo2();   /* heap blocks in use and free (not KiB) */
    kb[RSS_USED] = (long)(mi.uordblks + mi.hblkhd);
    kb[RSS_FREE] = (long)mi.fordblks;
}

static void log_rss_parts(struct th_meta *_metadata, const long a[RSS_KINDS], int n)
{
    long b[RSS_KINDS];
    rss_parts(b);
    size_t chunks = nk_conn_slab.chunks + nk_keys_slab.chunks + nk_lconn_slab.chunks + nk_names_slab.chunks;
    TH_LOG("RSS growth per connection by kind: main heap %.0f, io_uring rings %.0f, other anonymous "
           "(thread heaps, pools, buffer rings) %.0f, files %.0f; heap blocks in use grew %.0f, free "
           "%.0f; pools map %.0f",
           (b[RSS_HEAP] - a[RSS_HEAP]) * 1024.0 / n, (b[RSS_RING] - a[RSS_RING]) * 1024.0 / n,
           (b[RSS_ANON] - a[RSS_ANON]) * 1024.0 / n, (b[RSS_FILE] - a[RSS_FILE]) * 1024.0 / n,
           (double)(b[RSS_USED] - a[RSS_USED]) / n, (double)(b[RSS_FREE] - a[RSS_FREE]) / n,
           chunks * 65536.0 / n);
}

/* The same after the test itself returns every free page (for comparison). */
static double per_conn_trimmed(long base, int n)
{
    malloc_trim(0);
    return (double)(rss_kb() - base) * 1024 / n;
}

static void echo_many(struct th_meta *_metadata, struct lenv *e)
{
    int r[3] = { 0 }, up[2], down[2];
    struct mem_walk w = { .sc = &e->sc };
    if (!lsrv_create(_metadata, e, (nktlsLoopOptions){ .handshakeTimeoutMs = 20000 }, M_ECHO))
        return;
    ASSERT_NOT_NULL(e->sc.handles = calloc((size_t)e->n + WARM_CONNS, sizeof *e->sc.handles));
    ASSERT_EQ(pipe(up), 0);
    ASSERT_EQ(pipe(down), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0)
        echo_child(e, up[1], down[0]);
    lsrv_run(_metadata, e);
    char warm = ctl_wait(up[0], 150000);
    ASSERT_EQ(warm, 'W');
    ASSERT_EQ(wait_idle(e, 10000), 0u);
    usleep(50000);
    malloc_trim(0);
    long base = rss_kb(), parts[RSS_KINDS];
    rss_parts(parts);
    atomic_store(&e->sc.n_handles, 0);   /* walk only the connections measured */
    (void)!write(down[1], "S", 1);
    double t0 = ms_now();
    char ch = ctl_wait(up[0], 150000);
    double t_open = ms_now() - t0;
    WAIT_FOR(atomic_load(&e->sc.opened) == e->n + WARM_CONNS, 10000);
    nktlsLoopStats s = stats(e);
    double idle_open = per_conn(base, e->n);
    log_rss_parts(_metadata, parts, e->n);
    double idle_open_trim = per_conn_trimmed(base, e->n);
    ASSERT_EQ(NKTLS_LOOP_post(e->srv, 0, mem_walk_fn, &w), OK);
    WAIT_FOR(atomic_load(&w.done), 10000);
    report_mem(_metadata, &w, idle_open);
    (void)!write(down[1], "G", 1);
    char ch2 = ch == 'O' ? ctl_wait(up[0], 150000) : 0;
    double idle_used = per_conn(base, e->n), idle_used_trim = per_conn_trimmed(base, e->n);
    (void)!write(down[1], "C", 1);
    ssize_t got = ch2 == 'E' ? read(up[0], &r, sizeof r) : 0;
    waitpid(pid, NULL, 0);
    TH_LOG("%d connections open in %.0f ms, server held %u at once; server RSS per idle "
           "connection: %.0f bytes after the handshake, %.0f after echoing up to 40 KB "
           "(%.0f and %.0f once the test also trims the heap)",
           e->n, t_open, s.live, idle_open, idle_used, idle_open_trim, idle_used_trim);
    /* RSS as the process shows it stays within the software budget (kernel TLS
     * both ways is checked by blocks above: in the emulated VM, RSS is only
     * reported, its pages settle too slowly to be a stable check). */
    if (!RSS_UNRELIABLE && !getenv("NKTLS_IN_VM"))
        EXPECT_LE(idle_open, 4096.0);
    ASSERT_EQ(ch, 'O');
    ASSERT_EQ(s.live, (unsigned)e->n);
    ASSERT_EQ(ch2, 'E');
    ASSERT_EQ(got, (ssize_t)sizeof r);
    EXPECT_EQ(r[1], e->n);
    ST_EXPECT(r[2], OK);
    ASSERT_EQ(r[0], e->n);
    ASSERT_EQ(wait_idle(e, 10000), 0u);
    ASSERT_EQ(atomic_load(&e->sc.opened), e->n + WARM_CONNS);
    ASSERT_EQ(atomic_load(&e->sc.st_ok), e->n + WARM_CONNS);
    ASSERT_EQ(stats(e).accepted, (ubyte8)(e->n + WARM_CONNS));
    free(e->sc.handles);
}

TEST_F_TIMEOUT(loop, echo_many, 300)
{
    echo_many(_metadata, &self->e);
    EXPECT_EQ(atomic_load(&self->e.sc.tls12), 0);
}

/* The same with every client held to TLS 1.2: an idle TLS 1.2 connection
 * keeps what TLS 1.3's does (its exporter secret and randoms take the places
 * TLS 1.3's traffic secrets have), so the same block budget holds. Fewer
 * connections: the blocks are counted, not sampled. */
TEST_F_TIMEOUT(loop, echo_many_tls12, 300)
{
    struct lenv *e = &self->e;
    cli_minor = 3;
    e->n = e->n < 500 ? e->n : 500;
    echo_many(_metadata, e);
    EXPECT_EQ(atomic_load(&e->sc.tls12), e->n + WARM_CONNS);
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
    /* No connection held says nothing until the loop has taken all 20; on a
     * slow host (a sanitizer, valgrind) some of them may also time out. */
    WAIT_FOR(stats(e).accepted >= 20, 5000);
    ASSERT_EQ(wait_idle(e, 5000), 0u);
    ubyte8 warm_timeouts = stats(e).handshakeTimeouts;
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
    EXPECT_EQ(stats(e).handshakeTimeouts - warm_timeouts, (ubyte8)e->n);
    EXPECT_EQ(atomic_load(&e->sc.opened), 0);
    /* Freed means back near the baseline: within 2 MiB or a tenth of the peak.
     * Checked on the host; in the emulated VM (NKTLS_IN_VM) resident pages of
     * the rings and thread arenas settle too slowly for RSS to say anything, so
     * there the counts above carry the case (leaks: the ASan run's LeakSanitizer). */
    long slack = (peak - base) / 10 > 2048 ? (peak - base) / 10 : 2048;
    if (!RSS_UNRELIABLE && !getenv("NKTLS_IN_VM"))
        EXPECT_LE(after, base + slack);
    for (int i = 0; i < e->n; i++)
        close(fds[i]);
    free(fds);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    return api_env_main(argc, argv);
}
