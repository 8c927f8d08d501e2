/* uring/loop_run.c — a worker's loop itself: the turn that takes new client
 * connections and posted work from other threads (the inbox), starts the
 * stop, runs what is due and waits on the backend (nk_loop_run). The
 * connections' steps are loop.c's. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include "uring/loop.h"

/* Wake the worker from another thread. Not through l->be: the worker sets
 * that itself as it starts (falling back to epoll there), perhaps while this
 * runs; the eventfd is fixed since nk_loop_init and every backend waits on it. */
static void wake_worker(struct nk_loop *l)
{
    uint64_t one = 1;
    (void)!write(l->wake_fd, &one, sizeof one);
}

void nk_loop_submit(struct nk_loop *l, struct nk_lconn *lc)
{
    pthread_mutex_lock(&l->inbox_mu);
    lc->kick_next = l->inbox;
    l->inbox = lc;
    pthread_mutex_unlock(&l->inbox_mu);
    wake_worker(l);
}

void nk_loop_post(struct nk_loop *l, struct nk_post *p)
{
    p->next = NULL;
    pthread_mutex_lock(&l->inbox_mu);
    if (l->posts_tail)
        l->posts_tail->next = p;
    else
        l->posts = p;
    l->posts_tail = p;
    pthread_mutex_unlock(&l->inbox_mu);
    wake_worker(l);
}

static void run_posts(struct nk_post *p)
{
    while (p) {
        struct nk_post *next = p->next;
        p->fn(p->arg);
        free(p);
        p = next;
    }
}

static void take_inbox(struct nk_loop *l)
{
    pthread_mutex_lock(&l->inbox_mu);
    struct nk_lconn *lc = l->inbox;
    struct nk_post *posts = l->posts;
    l->inbox = NULL;
    l->posts = l->posts_tail = NULL;
    pthread_mutex_unlock(&l->inbox_mu);
    run_posts(posts);
    while (lc) {
        struct nk_lconn *next = lc->kick_next;
        nk_lc_attach(l, lc);
        lc->state = LC_CONNECTING;
        lc->last_active = l->now;
        /* The connect counts against the handshake's time. */
        nk_engine_hs_limit(lc->c, l->now, l->srv->hs_timeout_ms);
        lc->deadline = nk_conn_deadline(lc->c);
        if (lc->close_req) {   /* NKTLS_LOOP_close came first */
            nk_lc_close(lc, ERR_SSL_NOT_OPEN);
        } else if (lc->dgram) {
            nk_lc_dgram_connect(lc);   /* UDP: connect() sends nothing, done at once */
        } else {
            lc->inflight++;
            l->be->connect(lc);
        }
        nk_lc_kick(lc);
        lc = next;
    }
}

static void begin_stop(struct nk_loop *l)
{
    l->stopping = 1;
    l->be->stop_accept(l);
    for (struct nk_lconn *lc = l->conns; lc; lc = lc->next)
        if (lc->state < LC_CLOSING)
            nk_lc_close(lc, lc->state == LC_OPEN ? OK : ERR_SSL_NOT_OPEN);
}

MSTATUS nk_loop_run(struct nk_loop *l)
{
    MSTATUS st = OK;
    l->now = nk_loop_clock();
    for (int i = 0; i < l->n_lfds; i++)
        l->be->accept(l, i);
    for (;;) {
        take_inbox(l);
        if (l->srv->stop && !l->stopping)
            begin_stop(l);
        nk_loop_run_kicks(l);
        if (l->stopping && l->live == 0 && l->accepts_armed == 0)
            break;
        nk_loop_idle_work(l);   /* everything due is done: a moment to tidy */
        st = l->be->wait(l);
        if (st < 0)
            break;
        nk_loop_run_kicks(l);
    }
    return st;
}
