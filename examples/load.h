/* examples/load.h — what the parts of nktls-load share: the run's settings,
 * the statistics each worker thread keeps (merged at the end), and the
 * worker's entry point. Public API only. */
#ifndef EX_LOAD_H
#define EX_LOAD_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "common.h"

enum load_mode { LOAD_HANDSHAKE, LOAD_RESUME, LOAD_BULK, LOAD_REQUEST };

struct load_cfg {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    const char *target;          /* HOST:PORT as given, for the report */
    const char *servername;      /* SNI and the name verified */
    certStorePtr store;
    int insecure;
    enum load_mode mode;
    double duration;             /* seconds; 0 = until count */
    long count;                  /* operations; 0 = until duration */
    int concurrency, threads;
    double rate;                 /* operations per second, all threads; 0 = closed loop */
    unsigned long long size;     /* bulk: bytes per connection */
    char *request;               /* request: bytes to send, escapes resolved */
    size_t request_len;
    unsigned timeout_ms;         /* per operation, from its actual start */
    struct ex_opts tls;
    int ktls_auto;               /* try kernel offload after each handshake */
};

/* A log-linear histogram of nanoseconds: 64 sub-buckets per power of two, so a
 * reported percentile is within about 1.6% of the true sample; exact min/max. */
#define LOAD_HIST_SUB  64
#define LOAD_HIST_N    (2 * LOAD_HIST_SUB + 40 * LOAD_HIST_SUB)
struct load_hist {
    uint64_t n, min, max;
    uint64_t b[LOAD_HIST_N];
};

/* Errors by kind ("connect", "timeout", "verification", "alert", ...) and
 * detail ("ECONNREFUSED", "handshake_failure", ...). */
#define LOAD_MAX_ERR 32
struct load_err {
    char kind[16];
    char detail[64];
    uint64_t n;
};

/* Negotiated parameters, counted per distinct combination. */
#define LOAD_MAX_PARAM 8
struct load_param {
    ubyte4 version;
    ubyte2 cipher, group;
    uint64_t n;
};

struct load_stats {
    /* Read by the progress line while the worker runs: atomic access. */
    uint64_t ops, errors;
    uint64_t handshakes, resumed, bytes_out, bytes_in;
    uint64_t replies_ok, replies_other;  /* request: 2xx (or non-HTTP) / other statuses */
    uint64_t ktls_tx, ktls_rx;           /* connections whose TX/RX the kernel carried */
    struct load_hist lat;                /* one sample per operation */
    struct load_err err[LOAD_MAX_ERR];
    unsigned n_err;
    struct load_param par[LOAD_MAX_PARAM];
    unsigned n_par;
};

struct load_worker {
    const struct load_cfg *cfg;
    int id;
    int conns;                   /* this thread's share of --concurrency */
    double rate;                 /* this thread's share of --rate */
    long count;                  /* this thread's share of --count; 0 = no limit */
    int64_t t_start, t_end;      /* monotonic ns; t_end 0 = no deadline */
    int64_t t_done;              /* when its last operation ended */
    const volatile int *stop;    /* set by SIGINT: start nothing new */
    struct load_stats st;
    pthread_t tid;
};

/* load_conn.c */
int64_t load_now_ns(void);
/* Process-wide setup (upcalls, ticket store); once, before any worker. */
void load_conn_init(const struct load_cfg *cfg);
/* Run one worker to its end; the thread function. */
void *load_worker_run(void *worker);
/* Resume mode: one full handshake that leaves a ticket in the store; OK or why not. */
int load_prime_ticket(const struct load_cfg *cfg, struct load_stats *st);

/* load_stats.c */
void load_hist_add(struct load_hist *h, uint64_t ns);
uint64_t load_hist_quantile(const struct load_hist *h, double q);
void load_hist_merge(struct load_hist *into, const struct load_hist *h);
void load_err_add(struct load_stats *st, const char *kind, const char *detail, uint64_t n);
void load_param_add(struct load_stats *st, ubyte4 version, ubyte2 cipher, ubyte2 group,
                    uint64_t n);
void load_stats_merge(struct load_stats *into, const struct load_stats *s);
const char *load_mode_name(enum load_mode m);
/* The final report, for people and as JSON. elapsed in seconds. */
void load_report_text(FILE *f, const struct load_cfg *cfg, const struct load_stats *st,
                      double elapsed);
int load_report_json(const char *path, const struct load_cfg *cfg, const struct load_stats *st,
                     double elapsed);

#endif
