/* uring/loop.h — internal: the event loop that drives many connections from one
 * thread (loop.c, loop_out.c), the public server object around it (server.c), and
 * the interface its two backends implement (backend_uring.c, backend_epoll.c).
 *
 * The loop is written against completions: it asks the backend to receive, send,
 * connect, read a file or arm a timer for a connection, and the backend later
 * reports each request exactly once through nk_loop_done (-ECANCELED after
 * be->cancel). io_uring works that way natively; the epoll backend emulates it
 * (attempt when ready, report when done). So the loop never knows which runs. */
#ifndef NK_URING_LOOP_H
#define NK_URING_LOOP_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "engine/conn.h"
#include "nktls_loop.h"

/* What a request is; the io_uring backend keeps it in the low bits of user_data. */
enum lc_op {
    LOP_ACCEPT = 0, LOP_RECV, LOP_SEND, LOP_TIMER, LOP_CONNECT, LOP_FILE, LOP_LOOP, LOP_NONE,
};

enum lc_state {
    LC_CONNECTING,   /* client: TCP connect outstanding */
    LC_HANDSHAKE,    /* engine reads exactly one record at a time */
    LC_HS_FLUSH,     /* handshake done: sending its last bytes, then offload */
    LC_OPEN,
    LC_CLOSING,      /* flushing close_notify / a fatal alert */
    LC_DEAD,         /* socket shut down; freed when no request is outstanding */
};

enum lc_recv_mode {
    LRECV_ENGINE,    /* into lc->rx_buf (the engine's buffer), exactly rx_len */
    LRECV_POOL,      /* into a backend buffer (buffer ring, scratch) */
    LRECV_KTLS,      /* kernel-decrypted application data (see rx_buf below);
                      * into lc->rx_buf when set, else a backend buffer */
};

#define LC_IOV 16

struct lc_item;
struct lc_file;
struct nk_loop;

/* The send side of a connection: exists only while output is queued or in
 * flight (loop_out.c), so an idle connection holds none of it. */
struct lc_tx {
    struct nk_buf buf;              /* bytes taken from the engine, sent from off */
    size_t off;
    size_t rekey_at;                /* kTLS TX: offset where the next key applies */
    int flags;                      /* for the send: MSG_MORE ahead of a file range */
    struct msghdr msg;
    struct iovec iov[LC_IOV];
    union { char b[CMSG_SPACE(sizeof(uint8_t))]; struct cmsghdr align; } ctl;
};

/* Kept small: thousands of these sit idle. What only a send, a file range or a
 * client connect needs hangs off a pointer for as long as that lasts. */
struct nk_lconn {
    struct nk_loop *loop;
    struct nk_conn *c;
    sbyte4 h;
    int fd;
    void *arg;
    uint8_t state, recv_mode;
    uint8_t timers;                 /* timer requests outstanding */
    uint8_t be_tdone;               /* epoll: superseded timers to report */
    uint16_t inflight;              /* requests outstanding, timers included */
    uint16_t recv_armed : 1, sending : 1, file_busy : 1, kicked : 1, is_client : 1,
             told_app : 1, close_req : 1, notify_queued : 1, cancelled : 1, in_list : 1,
             hs_counted : 1,        /* counts in the server's handshaking */
             early_out : 1,         /* server: accepted 0-RTT data reached the application
                                     * before the handshake's end; it may answer already
                                     * (nk_lc_app_out) */
             dgram : 1,             /* DTLS (loop_dtls.c): datagrams, not a byte stream */
             shared_fd : 1;         /* a DTLS server's peer: fd is the worker's UDP
                                     * socket, shared, never closed here; peer is its
                                     * address. A DTLS client (dgram alone) has a UDP
                                     * socket of its own, connected to its server */
    MSTATUS status;                 /* why it closes */
    int heap_idx;                   /* place in the worker's timer heap (-1: none) */
    int64_t deadline;               /* ms (loop clock) at which the current limit expires */
    int64_t app_deadline;           /* NKTLS_LOOP_setDeadline's; 0: none */
    int64_t timer_at;               /* the latest timer requested */
    int64_t last_active;
    int64_t be_at;                  /* when its heap entry fires */

    /* receive request: a plain receive in every mode; under kernel RX a
     * record other than application data fails it with EIO and is then read
     * with its type by a synchronous recvmsg (loop.c), so no msghdr waits here */
    uint8_t *rx_buf;
    size_t rx_len;

    struct lc_tx *tx;               /* NULL while nothing is being sent */
    /* queued data and file ranges (loop_out.c) */
    struct lc_item *q_head, *q_tail;
    struct lc_file *file;

    struct sockaddr_storage *peer;  /* client: where to connect, until connected; DTLS server peer: its address */
    socklen_t peer_len;
    uint8_t be_pend, be_ready;      /* backend-private request and readiness bits */

    struct nk_lconn *next, *prev;   /* the loop's connections */
    struct nk_lconn *kick_next;     /* the loop's list of connections to look at */
    struct nk_lconn *be_next;       /* backend-private list */
};

/* Loop connections come from a pool of their own (core/slab.h): made by a
 * worker (accept) or any thread (a client's connect), freed by the worker. */
extern struct nk_slab nk_lconn_slab;

/* A file range being sent. Software: read into buf, encrypt. Kernel TX:
 * io_uring splices file -> pipe -> socket; epoll calls sendfile(2). */
struct lc_file {
    int fd;
    int64_t off;
    uint64_t left, sent;
    uint8_t *buf;                   /* software: one chunk */
    size_t chunk;                   /* request size of the current operation */
    int pipe[2];                    /* io_uring kernel path */
    size_t in_pipe;                 /* bytes spliced into the pipe, not yet out */
    int to_sock;                    /* the current splice goes pipe -> socket */
    int sock_err;                   /* the backend's error came from the socket */
    int reported;                   /* onFileSent already told (connection closing) */
    int started;                    /* its first chunk was asked for */
};

struct nk_backend {
    const char *name;
    MSTATUS (*init)(struct nk_loop *l, char *why, size_t why_len);
    void (*fini)(struct nk_loop *l);
    void (*accept)(struct nk_loop *l, int idx);          /* arm accepts on lfds[idx]; a DTLS
                                                          * worker's (l->dg): its datagram
                                                          * receives (nk_loop_dgram) */
    void (*stop_accept)(struct nk_loop *l);
    void (*recv)(struct nk_lconn *lc);                   /* lc->recv_mode, rx_buf, rx_len */
    void (*send)(struct nk_lconn *lc);                   /* lc->tx->msg */
    void (*connect)(struct nk_lconn *lc);                /* lc->peer */
    void (*timer)(struct nk_lconn *lc, int64_t at_ms);
    void (*file)(struct nk_lconn *lc);                   /* lc->file: read or send a chunk */
    void (*cancel)(struct nk_lconn *lc);                 /* end every outstanding request */
    void (*forget)(struct nk_lconn *lc);                 /* lc is freed: drop references */
    void (*tick)(struct nk_loop *l, int64_t at_ms);      /* one loop-level wake-up */
    MSTATUS (*wait)(struct nk_loop *l);                  /* block, then report completions;
                                                          * returns when l->wake_fd is written */
};

extern const struct nk_backend nk_backend_uring;
extern const struct nk_backend nk_backend_epoll;

struct nk_server;

struct nk_post {
    struct nk_post *next;
    void (*fn)(void *arg);
    void *arg;
};

/* One worker: one thread, one backend instance. */
struct nk_loop {
    struct nk_server *srv;
    int idx;
    const struct nk_backend *be;
    void *bp;                        /* backend-private */
    char be_why[160];                /* why this worker runs epoll, or io_uring's features */
    int wake_fd;                     /* eventfd: stop and inbox */
    const int *lfds;
    int n_lfds;
    int shared_listener;             /* other workers accept on the same socket */
    int accepts_armed;               /* accept requests outstanding (backend counts) */
    int be_pool;                     /* receives can use backend buffers (LRECV_POOL) */
    int stopping;
    int64_t now;                     /* ms, CLOCK_MONOTONIC, updated after each wait */
    int64_t stop_at;                 /* stopping: force-close what remains then */
    int64_t accept_resume_at;        /* accepts paused (EMFILE) until then; 0 = not */
    /* Giving memory back when things go quiet (loop_idle.c). */
    uint64_t events;                 /* completions and accepts so far */
    uint64_t trim_events;            /* events when the pending trim was armed */
    unsigned churn;                  /* handshakes ended; buffers, contexts, connections freed */
    unsigned trims;                  /* times memory was given back (tests look) */
    int64_t trim_at;                 /* look at trimming then, if quiet; 0 = not armed */
    int64_t sweep_at;                /* next look for idle connections to park; 0 = none */
    struct nk_dgram *dg;             /* lfds[0] is a UDP socket serving DTLS (loop_dtls.c); NULL: TCP */
    struct nk_lconn *conns;
    unsigned live;
    struct nk_lconn *kick_head;
    pthread_mutex_t inbox_mu;
    struct nk_lconn *inbox;          /* new client connections */
    struct nk_post *posts, *posts_tail;   /* NKTLS_LOOP_post, in order */
    uint8_t *scratch;                /* onData delivery and the epoll receive buffer */
    size_t scratch_len;
    pthread_t tid;
    int thread_started;
};

struct nk_server {
    sbyte4 handle;
    nktlsLoopCallbacks cb;
    nktlsLoopDatagramCallback on_datagram;   /* NKTLS_LOOP_setDatagramCallback */
    void *arg;
    struct certStore *store;
    ubyte4 hs_timeout_ms, idle_timeout_ms, max_conns, max_hs, workers;
    ubyte4 dtls_max_peers, dtls_max_hs;   /* DTLS: maxConnections, maxHandshakes or their defaults */
    const struct nk_backend *be;
    const char *be_name;
    char be_why[192];
    struct nk_loop *loops;
    int *lfds;
    int n_lfds, n_own_lfds;          /* own: the SO_REUSEPORT siblings we opened */
    int lfds_nodelay;                /* every listener has TCP_NODELAY: accepted sockets inherit it */
    atomic_int stop;                 /* set by any thread or a signal handler (lock-free) */
    atomic_int running;
    atomic_uint next_worker;
    atomic_uint live;
    atomic_uint handshaking;        /* server connections accepted, not yet open */
    atomic_ullong accepted, connected, opened, rejected, hs_timeouts, idle_timeouts, deadlines;
    int ur_multishot, ur_bufring;    /* what the io_uring probe found */
};

/* uring_probe.c: can io_uring run here, with which features (s->be_why). */
MSTATUS nk_uring_probe(struct nk_server *s);
struct io_uring;
int nk_uring_bufring_works(struct io_uring *ring);   /* backend_uring.c, for the probe */

/* loop.c */
MSTATUS nk_loop_init(struct nk_loop *l, struct nk_server *srv, int idx);
void nk_loop_fini(struct nk_loop *l);
MSTATUS nk_loop_run(struct nk_loop *l);
int64_t nk_loop_clock(void);
/* The backend reports: a request finished (buf: the pool buffer a LRECV_POOL or
 * LRECV_KTLS receive filled, NULL otherwise; valid during the call only). */
void nk_loop_done(struct nk_lconn *lc, enum lc_op op, ssize_t res, const uint8_t *buf);
void nk_loop_accepted(struct nk_loop *l, int fd);   /* fd or -errno */
int nk_loop_accept_error(struct nk_loop *l, int err);   /* 1: pause, do not re-arm */
void nk_loop_tick(struct nk_loop *l);
/* A new client connection enters its loop (from any thread). */
void nk_loop_submit(struct nk_loop *l, struct nk_lconn *lc);
void nk_loop_post(struct nk_loop *l, struct nk_post *p);
/* Look at lc after the current event: arm what it needs, free it when done. */
void nk_lc_kick(struct nk_lconn *lc);
/* loop.c, for loop_run.c: a new connection joins the worker's list; the
 * connections kicked since the last turn take their next step. */
void nk_lc_attach(struct nk_loop *l, struct nk_lconn *lc);
void nk_loop_run_kicks(struct nk_loop *l);
void nk_lc_close(struct nk_lconn *lc, MSTATUS why);
struct nk_lconn *nk_lc_new(struct nk_loop *l, sbyte4 h, int fd);

/* loop.c, for loop_dtls.c: the engine ended the session (an error, or the
 * peer's close_notify): the connection closes (1). */
int nk_lc_engine_ended(struct nk_lconn *lc);
/* The handshake is done (TLS: and the kernel offload decided): the
 * connection counts as open, its contexts may be parked while idle, and
 * onOpen is called (loop.c; loop_dtls.c for DTLS peers). */
void nk_lc_mark_open(struct nk_lconn *lc);

/* loop_dtls.c: a worker's DTLS socket. Its peers' table; a datagram the
 * backend received from the socket (from: its source); a peer's step (in
 * place of the TCP handshake and open steps), its output, one datagram per
 * send, and the end of a send; a freed peer leaves the table. A DTLS
 * client: its socket connected and its handshake started (from the
 * inbox), and a datagram its own receive brought (buf, res as for
 * nk_loop_done). */
#define NK_LOOP_DTLS_PEERS 4096      /* peers per server when maxConnections is 0 */
#define NK_LOOP_DTLS_HANDSHAKES 1024 /* handshaking peers when maxHandshakes is 0 */
MSTATUS nk_dgram_init(struct nk_loop *l);
void nk_dgram_fini(struct nk_loop *l);
void nk_loop_dgram(struct nk_loop *l, uint8_t *d, size_t n, const struct sockaddr *from, socklen_t fl);
void nk_lc_dgram_step(struct nk_lconn *lc);
void nk_lc_dgram_pump(struct nk_lconn *lc);
void nk_lc_dgram_sent(struct nk_lconn *lc, ssize_t res);
void nk_lc_dgram_forget(struct nk_lconn *lc);
void nk_lc_dgram_connect(struct nk_lconn *lc);
void nk_lc_dgram_recv(struct nk_lconn *lc, ssize_t res, const uint8_t *buf);

/* loop_idle.c: what idle connections and a finished burst give back */
void nk_loop_idle_work(struct nk_loop *l);   /* before the loop waits, and at ticks */
void nk_loop_sweep_soon(struct nk_loop *l);  /* a connection with userspace keys opened */

/* The application's output (data, file ranges) may go out: open, or a server
 * whose application got accepted 0-RTT data and whose Finished is queued
 * (RFC 8446 §4.4.4: 0.5-RTT data under its application key) while the
 * client's Finished is still to come. */
static inline int nk_lc_app_out(const struct nk_lconn *lc)
{
    return lc->state == LC_OPEN || (lc->early_out && (lc->state == LC_HANDSHAKE || lc->state == LC_HS_FLUSH));
}

/* loop_out.c */
void nk_lc_pump_output(struct nk_lconn *lc);
void nk_lc_send_done(struct nk_lconn *lc, ssize_t res);
void nk_lc_file_done(struct nk_lconn *lc, ssize_t res);
int nk_lc_output_idle(const struct nk_lconn *lc);   /* nothing queued or in flight */
size_t nk_lc_output_pending(const struct nk_lconn *lc);
MSTATUS nk_lc_queue_data(struct nk_lconn *lc, const uint8_t *d, size_t n);
MSTATUS nk_lc_queue_file(struct nk_lconn *lc, int fd, int64_t off, uint64_t len);
void nk_lc_drop_queue(struct nk_lconn *lc, MSTATUS why);   /* onFileSent(why) each */
void nk_lc_free_queue(struct nk_lconn *lc);                 /* silently */
void nk_lc_release_tx(struct nk_lconn *lc);                 /* when nothing is left in it */
void nk_lc_free_tx(struct nk_lconn *lc);

/* server.c: a socket the epoll backend reads until EAGAIN must not block. */
void nk_set_nonblock(int fd, int on);

/* server.c: handle -> connection, for the public calls */
void nk_lc_register(struct nk_lconn *lc);
void nk_lc_unregister(struct nk_lconn *lc);
/* Handle -> loop connection, unchecked (tests look at what an idle one holds,
 * from its loop's thread). */
struct nk_lconn *nk_lc_find(sbyte4 h);

#endif
