/* examples/load_worker.c — one nktls-load worker thread: its own epoll set and
 * its share of the connections; starts operations when they are due (open
 * loop) or when a connection is free (closed loop), enforces the per-operation
 * timeout, and stops when the count or the duration is reached. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "load_conn.h"

#define MAX_EVENTS 256
#define TICK_MS 10                  /* timeouts and the stop flag are checked this often */

/* When operation k is due: computed from the rate each time, so rounding
 * does not add up over a long run. */
static int64_t due(const struct lworker *x, long k)
{
    return x->w->t_start + (int64_t)((double)k * 1e9 / x->w->rate);
}

/* Nothing more to start: the count is done, the time is up, or SIGINT came. */
static int no_more(const struct lworker *x, int64_t now)
{
    const struct load_worker *w = x->w;

    if (*w->stop)
        return 1;
    if (w->count && x->started >= w->count)
        return 1;
    if (w->t_end) {
        int64_t next = x->interval ? due(x, x->started) : now;
        if (next >= w->t_end)
            return 1;
    }
    return 0;
}

static void dispatch(struct lworker *x, int64_t now)
{
    while (x->n_idle > 0 && !no_more(x, now)) {
        int64_t sched = x->interval ? due(x, x->started) : now;
        if (sched > now)
            break;
        lo_start(&x->c[x->idle[--x->n_idle]], sched);
    }
}

/* An operation past its deadline: a timeout, except for a full handshake in
 * resume mode whose server sent no ticket in time (that one is done). */
static void check_timeouts(struct lworker *x, int64_t now)
{
    int i;

    for (i = 0; i < x->n; i++) {
        struct lconn *c = &x->c[i];
        if (!c->busy || now < c->deadline)
            continue;
        if (c->waiting_ticket) {
            lo_op_done(c);
            lc_close(c, 1);
            continue;
        }
        lc_fail(c, "timeout", c->state == LC_CONNECTING ? "connect"
                              : c->state == LC_HANDSHAKE ? "handshake" : "operation");
    }
}

/* How long epoll may sleep: until the next operation is due, at most a tick. */
static int wait_ms(const struct lworker *x, int64_t now)
{
    int64_t sched, ms;

    if (!x->interval || x->n_idle == 0 || no_more(x, now))
        return TICK_MS;
    sched = due(x, x->started);
    ms = (sched - now + 999999) / 1000000;
    return ms < 0 ? 0 : ms > TICK_MS ? TICK_MS : (int)ms;
}

static void on_event(struct lworker *x, const struct epoll_event *ev)
{
    unsigned idx = (unsigned)(ev->data.u64 & 0xffffffffu);
    unsigned gen = (unsigned)(ev->data.u64 >> 32);
    struct lconn *c;

    if (idx >= (unsigned)x->n)
        return;
    c = &x->c[idx];
    if (c->gen != gen || c->state == LC_FREE)
        return;                     /* the socket this event was for is gone */
    if (ev->events & (EPOLLOUT | EPOLLERR))
        lc_on_writable(c);
    if (c->gen == gen && c->state >= LC_HANDSHAKE &&
        (ev->events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR)))
        lc_on_readable(c);
}

static int setup(struct lworker *x, struct load_worker *w)
{
    int i;

    memset(x, 0, sizeof(*x));
    x->w = w;
    x->cfg = w->cfg;
    x->n = w->conns;
    x->ep = epoll_create1(EPOLL_CLOEXEC);
    x->c = calloc((size_t)x->n, sizeof(*x->c));
    x->idle = calloc((size_t)x->n, sizeof(*x->idle));
    x->rbuf = malloc(LC_READ_CAP);
    if (x->ep < 0 || !x->c || !x->idle || !x->rbuf)
        return -1;
    x->interval = w->rate > 0 ? (int64_t)(1e9 / w->rate) : 0;
    for (i = 0; i < x->n; i++) {
        struct lconn *c = &x->c[i];
        c->x = x;
        c->idx = (unsigned)i;
        c->fd = -1;
        c->alert_in = -1;
        c->out = malloc(LC_OUT_CAP);
        c->head = x->cfg->mode == LOAD_REQUEST ? malloc(LC_HEAD_CAP + 1) : NULL;
        if (!c->out || (x->cfg->mode == LOAD_REQUEST && !c->head))
            return -1;
        x->idle[x->n_idle++] = x->n - 1 - i;    /* slot 0 first */
    }
    return 0;
}

static void teardown(struct lworker *x)
{
    int i;

    for (i = 0; x->c && i < x->n; i++) {
        lc_close(&x->c[i], 1);
        free(x->c[i].out);
        free(x->c[i].head);
    }
    free(x->c);
    free(x->idle);
    free(x->rbuf);
    if (x->ep >= 0)
        close(x->ep);
}

static void run_loop(struct lworker *x)
{
    struct epoll_event ev[MAX_EVENTS];
    int64_t last_scan = load_now_ns();

    for (;;) {
        int64_t now = load_now_ns();
        int n, i;

        dispatch(x, now);
        if (x->active == 0 && no_more(x, now))
            break;
        n = epoll_wait(x->ep, ev, MAX_EVENTS, wait_ms(x, now));
        if (n < 0 && errno != EINTR)
            break;
        for (i = 0; i < n; i++)
            on_event(x, &ev[i]);
        now = load_now_ns();
        if (now - last_scan >= TICK_MS * 1000000LL) {
            check_timeouts(x, now);
            last_scan = now;
        }
    }
}

static void run_worker(struct load_worker *w, int prime)
{
    struct lworker x;

    lo_pattern_init();
    if (setup(&x, w) == 0) {
        x.prime = prime;
        run_loop(&x);
    } else {
        load_err_add(&w->st, "setup", "out of memory", 1);
        w->st.errors++;
    }
    teardown(&x);
}

void *load_worker_run(void *arg)
{
    run_worker(arg, 0);
    return NULL;
}

int load_prime_ticket(const struct load_cfg *cfg, struct load_stats *st)
{
    static const volatile int never;
    struct load_worker w;

    memset(&w, 0, sizeof(w));
    w.cfg = cfg;
    w.conns = 1;
    w.count = 1;
    w.stop = &never;
    w.t_start = load_now_ns();
    run_worker(&w, 1);
    /* Only its errors count: the priming handshake is not part of the load. */
    for (unsigned i = 0; i < w.st.n_err; i++)
        load_err_add(st, w.st.err[i].kind, w.st.err[i].detail, w.st.err[i].n);
    st->errors += w.st.errors;
    return load_have_ticket() ? 0 : -1;
}
