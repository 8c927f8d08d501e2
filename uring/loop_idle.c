/* uring/loop_idle.c — what a worker gives back when things go quiet: the
 * record-key contexts of connections idle for a while, and, after a burst,
 * the heap's free pages and the pools' spare chunks. Both run on the worker's
 * thread between events, when nothing of a connection is half done. */
#include <malloc.h>
#include "uring/loop.h"

/* Free pages go back once this many handshakes ended or buffers, contexts and
 * connections were freed, and the worker then saw fewer than QUIET_EVENTS
 * completions in a QUIET_MS window. */
#define TRIM_CHURN 64
#define QUIET_MS 1000
#define QUIET_EVENTS 256
/* A connection quiet for this long has its contexts parked. */
#define PARK_AFTER_MS 1000

/* Giving the heap's free pages back once a burst (of handshakes, of traffic,
 * of closes) is over. Why the library does it: each handshake allocates and
 * frees tens of KiB, and many at once leave the heap with megabytes of free
 * pages between the few blocks that stay; the allocator keeps those resident,
 * so a server that took a burst shows its peak memory for as long as it runs,
 * several KiB per connection that no longer exists. Why only when quiet: the
 * pages given back are faulted in again by the next allocations, and trimming
 * walks the heap, so a worker under steady load (which reuses that memory at
 * once) never pays; one that has calmed down pays once. Armed when enough was
 * freed; a second later, if the worker was quiet meanwhile, done, else looked
 * at again a second later. */
static void trim_arm(struct nk_loop *l)
{
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
    if (l->trim_at || l->churn < TRIM_CHURN)
        return;
    l->trim_at = l->now + QUIET_MS;
    l->trim_events = l->events;
    l->be->tick(l, l->trim_at);
#else
    (void)l;
#endif
}

static void trim_due(struct nk_loop *l)
{
    l->trim_at = 0;
    if (l->events - l->trim_events >= QUIET_EVENTS) {
        trim_arm(l);   /* still busy: what was freed is being reused */
        return;
    }
    l->churn = 0;
    l->trims++;
    nk_slab_trim_all();
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

/* Waiting for its peer with nothing of its own to do. */
static int lc_quiet(const struct nk_lconn *lc)
{
    /* A DTLS peer never arms a receive of its own: the loop's socket does. */
    return lc->state == LC_OPEN && (lc->recv_armed || lc->dgram) && !lc->file && !lc->q_head && !lc->close_req
           && nk_lc_output_idle(lc) && lc->c->app_len == 0 && lc->loop->now - lc->last_active >= PARK_AFTER_MS;
}

/* An open connection whose records userspace protects holds two libcrypto
 * AEAD contexts, ~2.3 KiB of heap scattered between the handshake's freed
 * temporaries: most of what an idle software connection costs. Parked, only
 * key, IV and sequence number stay (in the keys pool); the next record
 * rebuilds the context (a few microseconds, once per quiet period). The walk
 * repeats while the worker holds any such connection: one pass a second. */
static void sweep(struct nk_loop *l)
{
    int any = 0;
    for (struct nk_lconn *lc = l->conns; lc; lc = lc->next) {
        struct nk_conn *c = lc->c;
        if (lc->state != LC_OPEN || !c->rd)
            continue;
        any = 1;
        if ((c->rd->aead.ctx || c->wr->aead.ctx) && lc_quiet(lc)) {
            nk_engine_park(c);
            l->churn++;
        }
    }
    l->sweep_at = 0;
    if (any)
        nk_loop_sweep_soon(l);
}

void nk_loop_sweep_soon(struct nk_loop *l)
{
    if (l->sweep_at)
        return;
    l->sweep_at = l->now + PARK_AFTER_MS;
    l->be->tick(l, l->sweep_at);
}

void nk_loop_idle_work(struct nk_loop *l)
{
    if (l->sweep_at && l->now >= l->sweep_at)
        sweep(l);
    if (l->trim_at && l->now >= l->trim_at)
        trim_due(l);
    trim_arm(l);
}
