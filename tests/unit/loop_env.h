/* loop_env.h — shared by the event-loop tests (test_loop.c, test_loop_mem.c):
 * a loop server in a thread on a loopback listener, echo clients on a loop of
 * their own in the same or a forked process, and the fixture with one variant
 * per backend (io_uring, io_uring without multishot accept and buffer rings,
 * epoll). NKTLS_LOOP_CONNS sets the client count of the big cases (default
 * 1000). Header-only: each test program includes it once. */
#ifndef NKTLS_TEST_LOOP_ENV_H
#define NKTLS_TEST_LOOP_ENV_H

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
#include "engine/conn.h"
#include "ktls/ktls.h"
#include "uring/loop.h"

/* RSS says nothing about our memory under a sanitizer or valgrind: freed
 * memory waits in quarantine (AddressSanitizer), shadow memory grows with what
 * the threads touch (ThreadSanitizer), valgrind's own memory counts. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RSS_UNRELIABLE 1
#elif __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define RSS_UNRELIABLE (RUNNING_ON_VALGRIND != 0)
#else
#define RSS_UNRELIABLE 0
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

/* ---- the server side ---------------------------------------------------- */

enum { M_ECHO, M_SILENT, M_FILE };

struct srv_ctx {
    int mode;
    int file_fd;
    int64_t file_size;
    atomic_int opened, st_ok, st_idle, kernel_tx, kernel_rx;
    atomic_int files_ok, files_eof;
    ubyte4 deadline_ms;             /* M_ECHO: NKTLS_LOOP_setDeadline at the first data */
    atomic_int deadlines_set;
    char why[128];                  /* why a connection is not in the kernel */
    atomic_int why_taken;           /* workers race for why: the first one writes it */
    sbyte4 *handles;                /* when set: every opened connection's handle */
    atomic_int n_handles;
    atomic_int tls12;               /* connections that negotiated TLS 1.2 */
    atomic_int st_hs_timeout;       /* closed with ERR_SSL_HANDSHAKE_TIMEOUT */
    atomic_int early_data;          /* onData calls before the handshake's end (0-RTT) */
    atomic_int closed, last_st;     /* onClose calls, the latest one's status */
};

static void s_open(sbyte4 h, void *arg)
{
    struct srv_ctx *s = arg;
    nktlsRecordLayerInfo info;
    ubyte4 minor = 0;
    atomic_fetch_add(&s->opened, 1);
    atomic_fetch_add(&s->tls12, SSL_getSSLTLSVersion(h, &minor) == OK && minor == 3);
    if (s->handles)
        s->handles[atomic_fetch_add(&s->n_handles, 1)] = h;
    if (NKTLS_getRecordLayerInfo(h, &info) == OK) {
        atomic_fetch_add(&s->kernel_tx, info.txLayer == NKTLS_LAYER_KERNEL);
        atomic_fetch_add(&s->kernel_rx, info.rxLayer == NKTLS_LAYER_KERNEL);
        if ((info.txLayer != NKTLS_LAYER_KERNEL || info.rxLayer != NKTLS_LAYER_KERNEL)
            && atomic_exchange(&s->why_taken, 1) == 0)
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
    /* Once per connection (the handle's arg marks it): set after the idle
     * timer was armed, so the connection's deadline moves earlier. */
    if (s->deadline_ms && !NKTLS_LOOP_getConnArg(h)) {
        NKTLS_LOOP_setConnArg(h, s);
        if (NKTLS_LOOP_setDeadline(h, s->deadline_ms) == OK)
            atomic_fetch_add(&s->deadlines_set, 1);
    }
    ubyte4 ss = 0;
    if (SSL_getSessionStatus(h, &ss) == OK && ss != SSL_CONNECTION_OPEN)
        atomic_fetch_add(&s->early_data, 1);
    if (s->mode == M_ECHO)
        NKTLS_LOOP_send(h, d, n);
}

static void s_close(sbyte4 h, MSTATUS st, void *arg)
{
    struct srv_ctx *s = arg;
    atomic_fetch_add(&s->st_ok, st == OK);
    atomic_fetch_add(&s->st_idle, st == ERR_TCP_READ_TIMEOUT);
    atomic_fetch_add(&s->st_hs_timeout, st == ERR_SSL_HANDSHAKE_TIMEOUT);
    atomic_store(&s->last_st, st);
    atomic_fetch_add(&s->closed, 1);
}

static void s_file(sbyte4 h, MSTATUS st, ubyte8 sent, void *arg)
{
    struct srv_ctx *s = arg;
    atomic_fetch_add(&s->files_ok, st == OK);
    atomic_fetch_add(&s->files_eof, st == ERR_FILE_EOF && sent == 10);
}

/* The server's tickets allow this much 0-RTT data (0: none). */
static sbyte4 srv_max_early;
/* The server's session flags (SSL_setSessionFlags; 0: none set). */
static ubyte4 srv_flags;
/* The server's connections stay in software (NKTLS_KTLS_OFF): the kernel
 * cannot take a TLS 1.2 renegotiation's keys, and in the VM it would carry
 * them. */
static int srv_ktls_off;

static MSTATUS s_setup(sbyte4 h, void *arg)
{
    (void)arg;
    if (srv_flags)
        NK_TRY(SSL_setSessionFlags(h, srv_flags));
    if (srv_ktls_off)
        NK_TRY(NKTLS_setKtlsMode(h, NKTLS_KTLS_OFF));
    return srv_max_early ? SSL_setMaxEarlyDataSize(h, srv_max_early) : OK;
}

static const nktlsLoopCallbacks srv_cb = { s_setup, s_open, s_data, s_close, s_file };

/* The clients' highest protocol version (SSL_SET_VERSION's minor number);
 * 0: the default (TLS 1.3, then 1.2). */
static ubyte4 cli_minor;

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
    cli_minor = 0;
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

static MSTATUS c_setup(sbyte4 h, void *arg)
{
    (void)arg;
    return cli_minor ? SSL_ioctl(h, SSL_SET_VERSION, (void *)(uintptr_t)cli_minor) : OK;
}

static const nktlsLoopCallbacks cli_cb = { c_setup, c_open, c_data, c_close, NULL };

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
    nktlsLoopOptions o = { .backend = e->backend, .handshakeTimeoutMs = 60000 };
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

#endif
