/* examples/load_conn.h — nktls-load's connections and worker loop, shared by
 * load_conn.c (sockets, TLS, errors) and load_ops.c (what each mode does,
 * scheduling). Internal to nktls-load. */
#ifndef EX_LOAD_CONN_H
#define EX_LOAD_CONN_H

#include "load.h"

enum lc_state { LC_FREE, LC_CONNECTING, LC_HANDSHAKE, LC_OPEN };

/* Request mode: where the reader is in the current reply. */
enum lc_reply { RP_HEAD, RP_BODY, RP_UNTIL_CLOSE, RP_RAW, RP_DONE };

struct lworker;

/* One slot of the worker's concurrency: at most one socket and one operation. */
struct lconn {
    struct lworker *x;
    unsigned idx, gen;           /* gen tells a stale epoll event from a live one */
    int fd;
    sbyte4 h;                    /* connection instance, 0 when none */
    enum lc_state state;
    int busy;                    /* an operation runs */
    int64_t op_sched, deadline;  /* ns: when the operation was due; when it times out */
    ubyte *out;                  /* records taken from the library, not yet written */
    size_t out_len, out_off;
    /* Set by upcalls, acted on after the receive call returns. */
    int opened, got_ticket, peer_closed;
    sbyte4 alert_in;             /* alert the peer sent, -1 none */
    const char *data_error;      /* bulk/request: what went wrong with the data */
    int ktls_tx, ktls_rx;        /* the kernel carries this direction */
    int waiting_ticket;          /* resume: a full handshake waits for its ticket */
    /* bulk */
    uint64_t sent, recvd;
    /* request */
    char *head;
    size_t head_len;
    enum lc_reply reply;
    uint64_t body_left;
    int status, keep_alive;
};

struct lworker {
    struct load_worker *w;
    const struct load_cfg *cfg;
    int ep;
    struct lconn *c;
    int n;
    int *idle;                   /* stack of slot indices with no operation */
    int n_idle;
    int active;                  /* slots with an operation */
    long started;
    int64_t interval;            /* open loop: ns between operations; 0 = closed loop */
    ubyte *rbuf;
    int prime;                   /* the one ticket-fetching handshake of resume mode */
};

#define LC_OUT_CAP (32 * 1024)
#define LC_READ_CAP (64 * 1024)
#define LC_HEAD_CAP (16 * 1024)
#define LC_TICKET_WAIT_MS 1000

/* load_conn.c */
void lc_open(struct lconn *c);
void lc_close(struct lconn *c, int notify);
int lc_flush(struct lconn *c);
void lc_on_writable(struct lconn *c);
void lc_on_readable(struct lconn *c);
void lc_fail_status(struct lconn *c, MSTATUS st);
void lc_fail(struct lconn *c, const char *kind, const char *detail);
MSTATUS lc_send(struct lconn *c, const void *p, size_t n);
void lc_offload(struct lconn *c);
int load_have_ticket(void);

/* load_ops.c */
void lo_advance(struct lconn *c);
void lo_on_data(struct lconn *c, const ubyte *p, ubyte4 n);
void lo_op_done(struct lconn *c);
void lo_peer_closed(struct lconn *c);
void lo_start(struct lconn *c, int64_t sched);
void lo_pattern_init(void);

#endif
