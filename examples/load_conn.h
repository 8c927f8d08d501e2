/* examples/load_conn.h — nktls-load's concurrency slots and the run they
 * share, between load_conn.c (the loop's callbacks, errors by kind, the
 * ticket store), load_ops.c (what each mode does) and load_worker.c (the
 * scheduler). Internal to nktls-load.
 *
 * Who touches a slot. The loop runs each connection on a worker of its own
 * choosing (round robin), so a slot moves: its fields belong to the worker
 * whose callback or posted function runs for it. A slot hands itself over in
 * two ways only, both through a lock: NKTLS_LOOP_connect (the new worker's
 * onSetup/onClose takes over; the caller must not touch the slot after the
 * call), and the free stack (the scheduler pops it and posts the next
 * operation to slot->worker, writing only slot->next_sched). */
#ifndef EX_LOAD_CONN_H
#define EX_LOAD_CONN_H

#include "load.h"
#include "nktls_loop.h"

enum lc_state {
    LC_FREE,         /* no connection */
    LC_CONNECTING,   /* NKTLS_LOOP_connect(DTLS) made one; not yet in onSetup */
    LC_HANDSHAKE,    /* onSetup came: the handshake runs */
    LC_OPEN,         /* onOpen came */
};

/* Request mode: where the reader is in the current reply. A chunked body
 * (RFC 9112 §7.1) goes size line, data, CRLF, ..., the 0 size line, trailer. */
enum lc_reply { RP_HEAD, RP_BODY, RP_CHUNK_SIZE, RP_CHUNK_DATA, RP_CHUNK_END, RP_TRAILER,
                RP_UNTIL_CLOSE, RP_RAW, RP_DONE };
#define LC_LINE_CAP 64               /* a chunk-size line (extensions are not kept) */

/* One slot of --concurrency: at most one connection and one operation. */
struct lconn {
    unsigned idx;
    int worker;                  /* the worker its state lives on */
    sbyte4 h;                    /* the connection attached, 0 when none */
    enum lc_state state;
    int busy;                    /* an operation runs */
    int prime;                   /* resume: the ticket-fetching handshake before the run */
    int holding;                 /* idle: open and held until the end */
    int64_t op_sched;            /* ns: when the operation was due */
    int64_t next_sched;          /* set by whoever claimed the next operation for it */
    int got_ticket;
    int waiting_ticket;          /* resume: a full handshake waits for its ticket */
    int64_t ticket_deadline;
    struct lconn *wnext, *wprev; /* the worker's list of ticket waiters */
    const char *data_error;      /* bulk/request: what went wrong with the data */
    /* bulk */
    uint64_t sent, recvd;
    /* request */
    char *head;
    size_t head_len;
    enum lc_reply reply;
    uint64_t body_left;
    int status, keep_alive;
    int got_first;               /* the reply's first byte came (its time is counted) */
    char line[LC_LINE_CAP];      /* the chunk-size or trailer line being read */
    size_t line_len;             /* its length so far, counting what did not fit */
};

/* What every part of a run shares. Fields under mu are marked; the rest are
 * set before the loop runs and only read afterwards. */
struct load_shared {
    const struct load_cfg *cfg;
    sbyte4 srv;
    struct load_worker *w;
    struct lconn *slots;
    const volatile int *stop;
    pthread_mutex_t mu;
    int *free_stack;             /* mu: slot indices with no operation */
    int n_free;                  /* mu */
    int active;                  /* mu: slots with an operation */
    int held;                    /* mu: idle mode, slots holding an open connection */
    long started;                /* mu: operations claimed; open loop: the next one's index */
    uint64_t started_counted;    /* mu: those of them due after the warm-up */
    int running;                 /* mu: claims allowed (after the resume priming) */
    int prime_done;              /* mu */
    int64_t t0, t_end;           /* mu: ns; t_end 0 = no deadline (a hard stop) */
    int64_t t_meas;              /* ns: the warm-up's end; set before anything runs */
    volatile int closing;        /* the loop is being stopped: closes are ours */
};

extern struct load_shared g_load;
/* The worker whose thread this is (set by a post when the loop starts). */
extern __thread struct load_worker *lw_self;

/* Where the slot's current operation is counted: the warm-up's operations
 * (due before its end) go to a scratch copy that is never reported. */
static inline struct load_stats *lc_stats(const struct lconn *c)
{
    return c->op_sched >= g_load.t_meas ? &lw_self->st : &lw_self->warm;
}

/* Whether an operation ending now is counted at all: from the end of
 * --duration (the hard stop), what was still running is "in flight",
 * neither ok nor failed. t_end is written before the first operation is
 * claimed and never again. */
static inline int lc_counting(void)
{
    return !__atomic_load_n(&g_load.closing, __ATOMIC_ACQUIRE) &&
           (!g_load.t_end || load_now_ns() < g_load.t_end);
}

#define LC_HEAD_CAP (16 * 1024)
#define LC_TICKET_WAIT_MS 1000

/* load_conn.c: the loop's callbacks and the connection's life. */
MSTATUS lc_on_setup(sbyte4 h, void *arg);
void lc_on_open(sbyte4 h, void *arg);
void lc_on_data(sbyte4 h, const ubyte *p, ubyte4 n, void *arg);
void lc_on_close(sbyte4 h, MSTATUS st, void *arg);
void lc_connect(struct lconn *c);
void lc_release(struct lconn *c);
void lc_fail(struct lconn *c, const char *kind, const char *detail);
/* The operation failed but the connection stays (an HTTP error status). */
void lc_op_failed(struct lconn *c, const char *kind, const char *detail);
void load_ticket_free(void);
int load_have_ticket(void);

/* load_ops.c: what each mode does. */
void lo_start(struct lconn *c, int64_t sched);
void lo_on_open(struct lconn *c);
void lo_on_data(struct lconn *c, const ubyte *p, ubyte4 n);
void lo_on_ticket(struct lconn *c);
void lo_peer_closed(struct lconn *c, int was_open);
void lo_op_done(struct lconn *c);
void lo_unwait(struct lconn *c);
void lo_tick(void *worker);
void lo_pattern_init(void);

/* load_worker.c: an operation ended on slot c (its stats are counted): the
 * next one starts on it, or it goes back to the free stack. chain 0: never
 * at once (after a failure that would only repeat). */
void lw_slot_done(struct lconn *c, int chain);
/* Idle mode: slot c holds an open connection until the end. */
void lw_slot_hold(struct lconn *c);

#endif
