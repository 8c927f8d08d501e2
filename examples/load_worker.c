/* examples/load_worker.c — one nktls-load run on the nktls event loop: a
 * client-only loop (NKTLS_LOOP_createServer with no listening socket and
 * --threads workers, io_uring or epoll), the schedule of operations, and the
 * scheduler thread.
 *
 * Scheduling. Operations are numbered as they are claimed (one lock, taken
 * once per operation). Closed loop: a slot whose operation ended claims the
 * next one at once, on its own worker. Open loop (--rate R): operation k is
 * due at t0 + k/R; a slot that frees up takes an overdue one at once, and the
 * scheduler thread wakes when the next one is due to hand it to a free slot
 * (NKTLS_LOOP_post to the slot's worker). An operation's latency counts from
 * when it was due, so a server that falls behind shows its queueing in it.
 * The scheduler thread also ends the run, draws the progress line, posts the
 * resume-mode ticks and holds idle mode's connections for --duration.
 *
 * Time. --warmup W runs the load for W seconds before the figures start
 * (t_meas); operations due before then are counted apart and dropped. The
 * figures cover --duration seconds after it, and that end is a hard stop:
 * whatever still runs is given up and reported as in flight. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "load_conn.h"

#define TICK_MS 10                  /* the scheduler looks at least this often */

struct load_shared g_load;
__thread struct load_worker *lw_self;

static pthread_cond_t g_cv;         /* a slot came free: the scheduler may act */
static int g_loop_ended;            /* mu: NKTLS_LOOP_run returned */
static int64_t g_stopped;           /* ns: when the scheduler ended the run */
static char g_backend[32], g_backend_why[192];

int64_t load_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* When operation k is due: computed from the rate each time, so rounding
 * does not add up over a long run. */
static int64_t due(long k)
{
    return g_load.t0 + (int64_t)((double)k * 1e9 / g_load.cfg->rate);
}

/* mu held. Nothing more to start: the count is done, the time is up, or
 * SIGINT came. */
static int no_more(int64_t now)
{
    const struct load_cfg *cfg = g_load.cfg;

    if (*g_load.stop)
        return 1;
    if (cfg->mode == LOAD_IDLE)
        return g_load.started >= cfg->concurrency;
    if (cfg->count && g_load.started >= cfg->count)
        return 1;
    if (g_load.t_end) {
        int64_t next = cfg->rate > 0 ? due(g_load.started) : now;
        if (next >= g_load.t_end)
            return 1;
    }
    return 0;
}

/* mu held. The next operation, if one may start now; when it was due in *sched. */
static int claim(int64_t now, int64_t *sched)
{
    int64_t s;

    if (!g_load.running || no_more(now))
        return 0;
    s = g_load.cfg->rate > 0 ? due(g_load.started) : now;
    if (s > now)
        return 0;
    g_load.started++;
    if (s >= g_load.t_meas)
        g_load.started_counted++;
    g_load.active++;
    *sched = s;
    return 1;
}

void lw_slot_done(struct lconn *c, int chain)
{
    int64_t now = load_now_ns(), sched = 0;
    int go;

    pthread_mutex_lock(&g_load.mu);
    if (c->holding) {
        c->holding = 0;
        g_load.held--;
    }
    if (c->prime) {
        g_load.prime_done = 1;
        pthread_mutex_unlock(&g_load.mu);
        return;
    }
    g_load.active--;
    go = chain && claim(now, &sched);
    if (!go) {
        g_load.free_stack[g_load.n_free++] = (int)c->idx;
        pthread_cond_signal(&g_cv);
    }
    pthread_mutex_unlock(&g_load.mu);
    if (go)
        lo_start(c, sched);
}

void lw_slot_hold(struct lconn *c)
{
    (void)c;
    pthread_mutex_lock(&g_load.mu);
    g_load.held++;
    pthread_mutex_unlock(&g_load.mu);
}

/* ---- posted functions: they run on a worker's thread ---- */

static void worker_init(void *arg)
{
    lw_self = arg;
    lo_pattern_init();
}

static void start_post(void *arg)
{
    struct lconn *c = arg;
    lo_start(c, c->next_sched);
}

/* mu held. Hand operations that may start now to free slots. */
static void launch(int64_t now)
{
    int64_t sched;

    while (g_load.n_free > 0 && claim(now, &sched)) {
        struct lconn *c = &g_load.slots[g_load.free_stack[--g_load.n_free]];
        c->next_sched = sched;
        if (NKTLS_LOOP_post(g_load.srv, (ubyte4)c->worker, start_post, c) != OK) {
            g_load.started--;               /* out of memory: try again later */
            g_load.started_counted -= sched >= g_load.t_meas;
            g_load.active--;
            g_load.free_stack[g_load.n_free++] = (int)c->idx;
            break;
        }
    }
}

static void post_ticks(void)
{
    for (int i = 0; i < g_load.cfg->threads; i++)
        NKTLS_LOOP_post(g_load.srv, (ubyte4)i, lo_tick, &g_load.w[i]);
}

/* mu held. Sleep until at, or until a slot comes free. */
static void wait_until(int64_t at)
{
    struct timespec ts = { (time_t)(at / 1000000000), (long)(at % 1000000000) };
    pthread_cond_timedwait(&g_cv, &g_load.mu, &ts);
}

/* Resume mode (and request mode with --resume): one full handshake (with
 * its request) fetches the ticket the run then offers. */
static void prime(void)
{
    struct lconn *c = &g_load.slots[0];

    c->prime = 1;
    c->next_sched = load_now_ns();
    if (NKTLS_LOOP_post(g_load.srv, (ubyte4)c->worker, start_post, c) != OK)
        ex_fail("out of memory");
    pthread_mutex_lock(&g_load.mu);
    /* The loop's timeouts bound it; only a second SIGINT cuts it short. */
    while (!g_load.prime_done && !g_loop_ended && *g_load.stop < 2) {
        pthread_mutex_unlock(&g_load.mu);
        post_ticks();
        pthread_mutex_lock(&g_load.mu);
        wait_until(load_now_ns() + TICK_MS * 1000000LL);
    }
    pthread_mutex_unlock(&g_load.mu);
    c->prime = 0;
    if (!load_have_ticket())
        fprintf(stderr, "%s: the first handshake brought no session ticket\n", ex_prog);
}

/* On a terminal, once a second: one line kept up to date, with the latency
 * of the last whole second. */
static void progress(int64_t now, int held)
{
    static int64_t last;
    static uint64_t last_ops;
    static struct load_sec sec;
    uint64_t ops = 0, errs = 0;

    if (!isatty(STDERR_FILENO) || now - last < 1000000000)
        return;
    for (int i = 0; i < g_load.cfg->threads; i++) {
        ops += __atomic_load_n(&g_load.w[i].st.ops, __ATOMIC_RELAXED);
        errs += __atomic_load_n(&g_load.w[i].st.errors, __ATOMIC_RELAXED);
    }
    if (!last)
        last = g_load.t0;
    fprintf(stderr, "\r\033[K%6.1f s  %llu ops  %.1f ops/s  %llu errors",
            (double)(now - g_load.t0) / 1e9, (unsigned long long)ops,
            (double)(ops - last_ops) * 1e9 / (double)(now - last), (unsigned long long)errs);
    if (now < g_load.t_meas) {
        fprintf(stderr, "  warm-up");
    } else if (now - g_load.t_meas >= 1000000000) {
        load_sec_sum(g_load.w, g_load.cfg->threads,
                     (unsigned)((now - g_load.t_meas) / 1000000000 - 1), &sec);
        if (sec.ops)
            fprintf(stderr, "  p50 %.3f ms  p99 %.3f ms",
                    (double)load_sec_quantile(&sec, 0.50) / 1e6,
                    (double)load_sec_quantile(&sec, 0.99) / 1e6);
    }
    if (g_load.cfg->mode == LOAD_IDLE)
        fprintf(stderr, "  %d open", held);
    last_ops = ops;
    last = now;
}

/* Idle mode, once every connection is open or failed: say so (a benchmark
 * measures the server now), then hold them for --duration. Returns 1 when
 * the hold is over. */
static int idle_hold(struct load_cfg *cfg, int64_t now, int settled, int held)
{
    static int64_t hold_start, hold_end;

    if (!hold_start && settled) {
        hold_start = now;
        hold_end = now + (int64_t)(cfg->duration * 1e9);
        g_load.w[0].st.idle_open = (uint64_t)held;
        fprintf(cfg->out, "idle: %d connections open\n", held);
        fflush(cfg->out);
    }
    if (hold_start && (now >= hold_end || held == 0 || *g_load.stop)) {
        cfg->idle_held_s = (double)(now - hold_start) / 1e9;
        return 1;
    }
    return *g_load.stop != 0;
}

static void *scheduler(void *arg)
{
    struct load_cfg *cfg = arg;
    sigset_t set;

    /* SIGINT and SIGTERM land here; the loop's threads block them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    if (load_resuming(cfg))
        prime();
    pthread_mutex_lock(&g_load.mu);
    g_load.t0 = load_now_ns();
    g_load.t_meas = g_load.t0 + (int64_t)(cfg->warmup * 1e9);
    g_load.t_end = cfg->duration > 0 && cfg->mode != LOAD_IDLE
                       ? g_load.t_meas + (int64_t)(cfg->duration * 1e9) : 0;
    for (int i = cfg->concurrency - 1; i >= 0; i--)
        g_load.free_stack[g_load.n_free++] = i;     /* slot 0 first */
    g_load.running = 1;
    for (;;) {
        int64_t now = load_now_ns(), next = now + TICK_MS * 1000000LL;
        int done, settled, held;

        launch(now);
        done = no_more(now) && g_load.active == 0;
        settled = no_more(now) && g_load.active == g_load.held;
        held = g_load.held;
        done = done || g_loop_ended || *g_load.stop > 1;
        if (g_load.t_end && now >= g_load.t_end)
            done = 1;                               /* the hard stop */
        pthread_mutex_unlock(&g_load.mu);
        if (cfg->mode == LOAD_IDLE)
            done = idle_hold(cfg, now, settled, held) || done;
        if (cfg->mode == LOAD_RESUME)
            post_ticks();
        progress(now, held);
        pthread_mutex_lock(&g_load.mu);
        if (done) {
            g_stopped = now;
            break;
        }
        if (cfg->rate > 0 && g_load.n_free > 0 && !no_more(now) && due(g_load.started) < next)
            next = due(g_load.started);
        if (g_load.t_end && g_load.t_end < next)
            next = g_load.t_end;
        wait_until(next);
    }
    pthread_mutex_unlock(&g_load.mu);
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\r\033[K");
    /* What remains open (keep-alive and idle connections) closes with
     * close_notify: the loop's stop does it. */
    __atomic_store_n(&g_load.closing, 1, __ATOMIC_RELEASE);
    NKTLS_LOOP_stop(g_load.srv);
    return NULL;
}

/* ---- the run ---- */

static void setup_shared(struct load_cfg *cfg, const volatile int *stop)
{
    pthread_condattr_t ca;

    memset(&g_load, 0, sizeof(g_load));
    g_load.cfg = cfg;
    g_load.stop = stop;
    pthread_mutex_init(&g_load.mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_cv, &ca);
    pthread_condattr_destroy(&ca);
    g_load.w = calloc((size_t)cfg->threads, sizeof(*g_load.w));
    g_load.slots = calloc((size_t)cfg->concurrency, sizeof(*g_load.slots));
    g_load.free_stack = calloc((size_t)cfg->concurrency, sizeof(int));
    if (!g_load.w || !g_load.slots || !g_load.free_stack)
        ex_fail("out of memory");
    for (int i = 0; i < cfg->concurrency; i++) {
        struct lconn *c = &g_load.slots[i];
        c->idx = (unsigned)i;
        c->worker = i % cfg->threads;
        if (cfg->mode == LOAD_REQUEST && !(c->head = malloc(LC_HEAD_CAP + 1)))
            ex_fail("out of memory");
    }
}

static sbyte4 create_loop(struct load_cfg *cfg)
{
    static const nktlsLoopCallbacks cb = { lc_on_setup, lc_on_open, lc_on_data, lc_on_close,
                                           NULL };
    nktlsLoopOptions o;
    const char *name = "?", *why = "";
    sbyte4 srv;

    memset(&o, 0, sizeof(o));
    o.workers = (ubyte4)cfg->threads;
    o.backend = NKTLS_LOOP_BACKEND_AUTO;        /* NKTLS_IO=epoll forces epoll */
    o.handshakeTimeoutMs = cfg->timeout_ms;     /* from connect to onOpen */
    /* A stalled operation ends after as long; idle mode's connections are
     * meant to be quiet. */
    o.idleTimeoutMs = cfg->mode == LOAD_IDLE ? 0 : cfg->timeout_ms;
    srv = NKTLS_LOOP_createServer(NULL, 0, NULL, &cb, NULL, &o);
    if (srv < 0)
        ex_fail("NKTLS_LOOP_createServer: %s", ex_status_name((MSTATUS)srv));
    NKTLS_LOOP_getBackend(srv, &name, &why);
    snprintf(g_backend, sizeof(g_backend), "%s", name ? name : "?");
    snprintf(g_backend_why, sizeof(g_backend_why), "%s", why ? why : "");
    cfg->backend = g_backend;
    cfg->backend_why = g_backend_why;
    return srv;
}

/* Open loop: how many operations fall due before t (the first k with due(k) >= t). */
static uint64_t due_before(int64_t t)
{
    long k = (long)((double)(t - g_load.t0) * g_load.cfg->rate / 1e9);

    while (k > 0 && due(k - 1) >= t)
        k--;
    while (due(k) < t)
        k++;
    return (uint64_t)k;
}

double load_run(struct load_cfg *cfg, struct load_stats *total, const volatile int *stop,
                struct load_sec **series, unsigned *n_series)
{
    sigset_t set, old;
    pthread_t tid;
    int64_t t_end;
    MSTATUS st;

    setup_shared(cfg, stop);
    g_load.srv = create_loop(cfg);
    for (int i = 0; i < cfg->threads; i++) {
        g_load.w[i].id = i;
        if (NKTLS_LOOP_post(g_load.srv, (ubyte4)i, worker_init, &g_load.w[i]) != OK)
            ex_fail("out of memory");
    }
    /* The loop's workers inherit this mask: signals go to the scheduler. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    if (pthread_create(&tid, NULL, scheduler, cfg) != 0)
        ex_fail("cannot start the scheduler thread");
    st = NKTLS_LOOP_run(g_load.srv);
    if (st != OK)
        fprintf(stderr, "%s: NKTLS_LOOP_run: %s\n", ex_prog, ex_status_name(st));
    pthread_mutex_lock(&g_load.mu);
    g_loop_ended = 1;
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_load.mu);
    pthread_join(tid, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    NKTLS_LOOP_destroy(g_load.srv);

    /* Up to the last operation's end, not to when the run noticed it. */
    t_end = g_load.t_meas;
    for (int i = 0; i < cfg->threads; i++) {
        load_stats_merge(total, &g_load.w[i].st);
        if (g_load.w[i].t_done > t_end)
            t_end = g_load.w[i].t_done;
    }
    total->started = g_load.started_counted;
    if (cfg->rate > 0 && g_load.t_end)
        cfg->scheduled = due_before(g_load.t_end) - due_before(g_load.t_meas);
    if (g_load.t_end && g_stopped > g_load.t_end)
        g_stopped = g_load.t_end;
    cfg->span_s = g_stopped > g_load.t_meas ? (double)(g_stopped - g_load.t_meas) / 1e9 : 0;
    *series = load_series(g_load.w, cfg->threads, cfg->span_s, n_series);
    load_series_free(g_load.w, cfg->threads);
    for (int i = 0; i < cfg->concurrency; i++)
        free(g_load.slots[i].head);
    free(g_load.slots);
    free(g_load.free_stack);
    free(g_load.w);
    load_ticket_free();
    return (double)(t_end - g_load.t_meas) / 1e9;
}
