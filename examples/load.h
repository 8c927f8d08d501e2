/* examples/load.h — what the parts of nktls-load share: the run's settings,
 * the statistics each loop worker keeps (merged at the end), and the entry
 * point of a run. Public API only. */
#ifndef EX_LOAD_H
#define EX_LOAD_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "common.h"
#include "dtls.h"

enum load_mode { LOAD_HANDSHAKE, LOAD_RESUME, LOAD_BULK, LOAD_REQUEST, LOAD_IDLE };

struct load_cfg {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    const char *target;          /* HOST:PORT as given, for the report */
    const char *servername;      /* SNI and the name verified */
    certStorePtr store;
    int insecure;
    enum load_mode mode;
    double duration;             /* seconds; 0 = until count. idle: how long to hold */
    long count;                  /* operations; 0 = until duration */
    int concurrency, threads;
    double rate;                 /* operations per second, all threads; 0 = closed loop */
    unsigned long long size;     /* bulk: bytes per connection */
    char *request;               /* request: bytes to send (--request, or built from the URL) */
    size_t request_len;
    int reconnect;               /* bulk/request: a new connection for every operation */
    int accept_status;           /* request: a non-2xx reply counts as success */
    int resume;                  /* request: each on a new connection, resumed (--resume) */
    int early_data;              /* request: and sent as TLS 1.3 0-RTT data (--early-data) */
    double warmup;               /* seconds before --duration whose operations are not counted */
    const char *tls_name;        /* --tls as given: "1.2", "1.3" or "any" */
    unsigned timeout_ms;         /* handshake (from connect), and a stall afterwards */
    struct ex_opts tls;
    int ktls_auto;               /* --ktls auto (the default): the kernel where it can */
    struct ex_dtls dtls;         /* --dtls: DTLS 1.2 (NKTLS_LOOP_connectDTLS); --srtp, --pmtu */
    /* Filled in by the run: which I/O backend the loop chose, and why. */
    const char *backend, *backend_why;
    double idle_held_s;          /* idle: how long the connections were held */
    double span_s;               /* from the end of the warm-up to the run's end */
    uint64_t scheduled;          /* open loop: operations due within --duration */
    FILE *out;                   /* the report and idle mode's "idle:" line */
};

/* A log-linear histogram of nanoseconds: 64 sub-buckets per power of two, so a
 * reported percentile is within about 1.6% of the true sample; exact min/max. */
#define LOAD_HIST_SUB  64
#define LOAD_HIST_N    (2 * LOAD_HIST_SUB + 40 * LOAD_HIST_SUB)
struct load_hist {
    uint64_t n, min, max;
    uint64_t b[LOAD_HIST_N];
};

/* The per-second series: a coarser histogram (8 sub-buckets per power of
 * two, about 6%: enough for a plot) and the counts of one second of the run.
 * Workers add with relaxed atomics, so the progress line may read the
 * previous second while they run. */
#define LOAD_SEC_SUB     8
#define LOAD_SEC_HIST_N  (2 * LOAD_SEC_SUB + 40 * LOAD_SEC_SUB)
#define LOAD_SEC_BLOCK   64             /* seconds per allocation */
#define LOAD_SEC_BLOCKS  1024           /* at most 65536 s are recorded */
struct load_sec {
    uint32_t ops, errors;
    uint64_t bytes_out, bytes_in;
    uint32_t h[LOAD_SEC_HIST_N];
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
    char alpn[32];               /* the protocol the server selected, "" for none */
    uint64_t n;
};

struct load_stats {
    /* Read by the progress line while the workers run: atomic access. */
    uint64_t ops, errors;
    uint64_t handshakes, resumed, bytes_out, bytes_in;
    uint64_t replies_ok, replies_other;  /* request: 2xx (or non-HTTP) / other statuses */
    uint64_t status_class[6];            /* request: replies by status / 100 (1..5) */
    uint64_t started;                    /* operations begun after the warm-up */
    uint64_t ktls_tx, ktls_rx;           /* connections whose TX/RX the kernel carried */
    uint64_t idle_open;                  /* idle: connections open when the hold began */
    /* --early-data: what became of each request sent as 0-RTT data. */
    uint64_t early_accepted, early_rejected, early_not_sent;
    uint64_t srtp;                       /* --srtp: handshakes that agreed a profile */
    char ktls_why[64];                   /* why software carried TX, as first seen */
    struct load_hist lat;                /* one sample per operation */
    struct load_hist first_byte;         /* request: from when due to the reply's first byte */
    struct load_err err[LOAD_MAX_ERR];
    unsigned n_err;
    struct load_param par[LOAD_MAX_PARAM];
    unsigned n_par;
};

/* One loop worker: its statistics, kept by its own thread. */
struct load_worker {
    int id;
    int64_t t_done;              /* monotonic ns: when its last counted operation ended */
    struct load_stats st;
    struct load_stats warm;      /* what the warm-up did: kept apart, never reported */
    struct load_sec *sec[LOAD_SEC_BLOCKS];  /* the series, allocated as the run goes */
    struct lconn *waiters;       /* resume: its connections waiting for a ticket */
};

/* load_worker.c: the whole run, from the first connection to the last close.
 * stop: set by SIGINT/SIGTERM (start nothing new; a second one ends at once).
 * Returns the seconds the counted operations took (from the warm-up's end);
 * stats merged into *total, the per-second series in *series (caller frees). */
double load_run(struct load_cfg *cfg, struct load_stats *total, const volatile int *stop,
                struct load_sec **series, unsigned *n_series);
int64_t load_now_ns(void);
/* load_conn.c: --srtp's SRTP init callback (SSL_setSrtpInitCallback): counts
 * the handshakes that agreed a profile. */
sbyte4 load_srtp_agreed(sbyte4 h, peerDescr *peer, const SrtpProfileInfo *info, void *km, ubyte *mki);

/* load_stats.c */
void load_hist_add(struct load_hist *h, uint64_t ns);
uint64_t load_hist_quantile(const struct load_hist *h, double q);
/* Bucket i of a histogram with 2^sub_bits sub-buckets: its index for a value,
 * and the range [lo, hi) it covers. */
unsigned load_bucket_index(uint64_t v, unsigned sub_bits);
void load_bucket_range(unsigned i, unsigned sub_bits, uint64_t *lo, uint64_t *hi);
void load_hist_merge(struct load_hist *into, const struct load_hist *h);
void load_err_add(struct load_stats *st, const char *kind, const char *detail, uint64_t n);
void load_param_add(struct load_stats *st, const struct load_param *p);
void load_stats_merge(struct load_stats *into, const struct load_stats *s);
const char *load_mode_name(enum load_mode m);
/* Resume mode, or request mode with --resume: a priming handshake fetches the
 * session every later connection offers. */
static inline int load_resuming(const struct load_cfg *cfg)
{
    return cfg->mode == LOAD_RESUME || cfg->resume;
}
/* The final report, for people and as JSON. elapsed in seconds. */
void load_report_text(FILE *f, const struct load_cfg *cfg, const struct load_stats *st,
                      double elapsed);
int load_report_json(const char *path, const struct load_cfg *cfg, const struct load_stats *st,
                     double elapsed, const struct load_sec *series, unsigned n_series);

/* load_series.c: the per-second series. */
struct load_sec *load_sec_at(struct load_worker *w, int64_t now);
void load_sec_add_op(struct load_sec *s, uint64_t ns);
uint64_t load_sec_quantile(const struct load_sec *s, double q);
/* Second k of every worker summed (atomic loads: the workers may be running). */
void load_sec_sum(const struct load_worker *w, int n_workers, unsigned k, struct load_sec *out);
/* The whole series, one row per second of cfg->span_s; caller frees. */
struct load_sec *load_series(const struct load_worker *w, int n_workers, double span_s,
                             unsigned *n);
void load_series_free(struct load_worker *w, int n_workers);
void load_series_json(FILE *f, const struct load_sec *rows, unsigned n);
int load_series_csv(const char *path, const struct load_sec *rows, unsigned n);

#endif
