/* engine/conn.h — one TLS connection: its protocol state (handshake/tls.h), the
 * engine's input side, the connection table, the engine's interface. */
#ifndef NK_CONN_H
#define NK_CONN_H

#include <pthread.h>
#include "core/slab.h"
#include "handshake/tls.h"
#include "nktls.h"   /* nktlsTransport */

/* What the engine wants from its driver (nk_conn_wants). */
enum {
    NK_WANT_SEND = 1,     /* bytes wait in the output buffer */
    NK_WANT_RECV = 2,     /* the engine needs more input */
    NK_WANT_APP = 4,      /* decrypted application data is waiting to be read */
    NK_DONE_HS = 8,       /* handshake complete */
    NK_CLOSED = 16,       /* peer's close_notify seen, or a fatal error */
    NK_WANT_TIMER = 32,   /* call nk_engine_timer once the driver's clock reaches nk_conn_deadline */
};

/* One connection: the protocol state (handshake/tls.h), reachable as c->tls
 * for the handshake and by its fields' names (c->role) here, then what the
 * engine and the drivers keep: the socket, the input buffer, the kernel
 * offload settings and the asynchronous API's state. */
struct nk_conn {
    union {
        struct nk_tls tls;
        struct { NK_TLS_FIELDS };
    };
    int fd;
    ubyte4 recv_timeout_ms;
    void *cookie;
    uint8_t ktls_mode, rekey_policy;   /* kernel offload settings (ktls/) */
    uint8_t ktls_opts;
    uint8_t tx_why, rx_why;        /* why software carries a direction (nk_ktls_why) */
    unsigned is_async : 1;
    unsigned readahead : 1;        /* may read past the current record */
    unsigned as_started : 1;       /* async API: engine started, hello timer running */
    unsigned as_opened : 1;        /* async API: open-state upcall made */
    unsigned as_offloaded : 1;     /* async API: NKTLS_asyncOffload has decided */
    unsigned has_xport : 1;        /* blocking API over the application's calls (xport), not fd */
    unsigned early_now : 1;        /* server: accepted 0-RTT data goes to `app` as it is opened
                                    * once our Finished is queued (the driver serves it then,
                                    * RFC 8446 §4.4.4's 0.5-RTT data) instead of waiting for
                                    * the handshake's end */
    uint32_t in_start;             /* start of the first unprocessed record in `in` */
    uint32_t app_len;              /* decrypted application data waiting (at app) */
    struct nk_buf in;              /* raw bytes from the peer, records parsed from the front */
    uint8_t *app;                  /* decrypted application data waiting (inside `in`) */
    int64_t hs_deadline;           /* the handshake's, ms on the driver's clock (0: none) */

    /* One driver's own state: an asynchronous connection never has an
     * application transport (its application moves the bytes already), so the
     * two share the room. */
    union {
        /* asynchronous driver (drive/async.c): is_async connections only */
        struct {
            int64_t t0_ms;         /* handshake start (driver's clock): funcPtrSSLHandleTimeout
                                    * is told the time run since */
            struct nk_buf in;      /* bytes given but not yet processed: they wait
                                    * behind data kept for SSL_ASYNC_getRecvBuffer */
        } as;
        /* blocking driver: the application's send and receive calls
         * (NKTLS_setTransport), when has_xport is set */
        nktlsTransport xport;
    };
};

/* The record keys of both directions, allocated with the connection. */
struct nk_rec_pair {
    struct nk_rec_key rd, wr;
};

/* The pools connection state comes from (engine/conn.c). */
extern struct nk_slab nk_conn_slab, nk_keys_slab;


/* The stack's settings and limits (engine/config.c): the instance drivers
 * pass to nk_conn_open; the public calls that change it are api/'s. */
extern struct nk_config nk_config;

/* connection table (engine/conn.c) */
MSTATUS nk_table_init(sbyte4 n_server, sbyte4 n_client) NK_MUST;
void nk_table_free(void);
int nk_table_ready(void);
/* A bare connection pointing to cfg; nk_conn_open fills in the defaults. */
MSTATUS nk_conn_new(enum nk_role role, int fd, struct certStore *store, const struct nk_config *cfg,
                    struct nk_conn **out) NK_MUST;
/* A connection with cfg's defaults: every suite and group we implement, in
 * our order, cfg's versions and kernel offload settings; a client asks for
 * and verifies dns (NULL or "": no name). */
MSTATUS nk_conn_open(enum nk_role role, int fd, struct certStore *store, const struct nk_config *cfg,
                     const char *dns, struct nk_conn **out) NK_MUST;
/* Look up a connection; ERR_SSL_BAD_ID for an unknown or stale handle. One
 * connection is used by one thread at a time (the application's duty); the
 * table itself is safe to use from many threads. */
MSTATUS nk_conn_get(sbyte4 handle, struct nk_conn **out) NK_MUST;
void nk_conn_free(struct nk_conn *c);
/* Clear and free the record keys (the kernel carries both directions). */
void nk_conn_keys_free(struct nk_conn *c);
sbyte4 nk_conn_by_fd(int fd);

/* engine (engine/engine.c) */
MSTATUS nk_engine_start(struct nk_conn *c) NK_MUST;      /* client: queue ClientHello */
unsigned nk_conn_wants(struct nk_conn *c);

/* Timers. The engine reads no clock: every time is given by the driver, in
 * ms on the driver's own clock (CLOCK_MONOTONIC in each driver here), and the
 * engine only compares those times with each other. While nk_conn_wants says
 * NK_WANT_TIMER, the driver calls nk_engine_timer once its clock reaches
 * nk_conn_deadline(c). The one deadline so far is the handshake's (a first
 * handshake's or a renegotiation's). */
/* The handshake must be done limit_ms after now_ms (0: no limit). Drivers
 * call it as a handshake starts, and again to grant more time. */
void nk_engine_hs_limit(struct nk_conn *c, int64_t now_ms, uint32_t limit_ms);
/* A TLS 1.2 renegotiation (handshake/tls12_reneg.c) starts inside the engine,
 * which has no clock: drivers call this whenever they read theirs, and a
 * renegotiation that began since gets limit_ms from now_ms, as a first
 * handshake does (the same limit, the same failure). 1 when it set that
 * deadline now, else 0 (none running, or already timed). */
int nk_engine_reneg_limit(struct nk_conn *c, int64_t now_ms, uint32_t limit_ms);
/* When to call nk_engine_timer; 0: no timer (none set, the handshake is
 * over, or the connection has failed). */
int64_t nk_conn_deadline(const struct nk_conn *c);
/* The driver's clock reads now_ms: past the deadline, the handshake fails
 * with ERR_SSL_HANDSHAKE_TIMEOUT (sticky; no alert, the limit is our own).
 * OK before it, or with none; a failed connection's error. */
MSTATUS nk_engine_timer(struct nk_conn *c, int64_t now_ms) NK_MUST;

uint8_t *nk_in_buf(struct nk_conn *c, size_t *len);     /* space for received bytes */
MSTATUS nk_in_ack(struct nk_conn *c, size_t n) NK_MUST;  /* n bytes were received: process */
/* One datagram (records never span datagrams, as in DTLS; for TLS only a unit
 * test uses it). The engine frames it, one record at a time as nk_in_buf
 * offers, so the connection must hold nothing of an earlier record and not
 * read ahead: ERR_SSL_BAD_STATE otherwise, nothing taken. Its records are
 * processed in order; one that does not end inside it fails the connection
 * with ERR_SSL_PROTOCOL (decode_error). Application data stops the walk:
 * *used says how far it got, and the rest (whole records) is given again once
 * the data is read. */
MSTATUS nk_in_datagram(struct nk_conn *c, const uint8_t *d, size_t n, size_t *used) NK_MUST;
const uint8_t *nk_out_buf(struct nk_conn *c, size_t *len);
void nk_out_ack(struct nk_conn *c, size_t n);
MSTATUS nk_app_write(struct nk_conn *c, const uint8_t *d, size_t n) NK_MUST;
size_t nk_app_read(struct nk_conn *c, uint8_t *d, size_t n);
/* Mark n bytes of the waiting application data (c->app, c->app_len) as read,
 * for callers that use them in place. */
void nk_app_ack(struct nk_conn *c, size_t n);
/* An alert record's content arrived (DTLS: engine/dtls.c). */
MSTATUS nk_engine_alert_in(struct nk_conn *c, const uint8_t *d, size_t n) NK_MUST;
MSTATUS nk_fail(struct nk_conn *c, MSTATUS err);         /* record a fatal error, queue its alert */
/* The alert err sends on this connection (nk_alert_for, in the version's terms). */
int nk_conn_alert_for(const struct nk_conn *c, MSTATUS err);
void nk_engine_release(struct nk_conn *c);               /* free buffers and keys */
/* Idle: free the record keys' AEAD contexts; the next record rebuilds them. */
void nk_engine_park(struct nk_conn *c);
/* Before a handshake that may agree on ALPN: NK_ALPN_MAX bytes at c->alpn. */
MSTATUS nk_conn_alpn_scratch(struct nk_conn *c) NK_MUST;

/* kernel offload (ktls/) */
MSTATUS nk_in_plain(struct nk_conn *c, uint8_t type, const uint8_t *d, size_t n) NK_MUST;
/* Application data the kernel decrypted arrived. When it lies in the input
 * buffer (d, n bytes), it waits there for nk_app_read. */
void nk_in_kernel_data(struct nk_conn *c, uint8_t *d, size_t n);

#endif
