/* core/conn.h — one TLS connection: settings, the engine's four buffers, record
 * keys, and the handshake state (allocated only while a handshake runs). */
#ifndef NK_CONN_H
#define NK_CONN_H

#include <pthread.h>
#include <time.h>
#include "core/nk.h"
#include "core/crypto.h"
#include "core/slab.h"
#include "record/record.h"
#include "ssl/ssl.h"

enum nk_role { NK_CLIENT = 0, NK_SERVER = 1 };

/* What the engine wants from its driver (nk_conn_wants). */
enum {
    NK_WANT_SEND = 1,     /* bytes wait in the output buffer */
    NK_WANT_RECV = 2,     /* the engine needs more input */
    NK_WANT_APP = 4,      /* decrypted application data is waiting to be read */
    NK_DONE_HS = 8,       /* handshake complete */
    NK_CLOSED = 16,       /* peer's close_notify seen, or a fatal error */
};

#define NK_MAX_SUITES 8
#define NK_MAX_GROUPS 8
#define NK_MAX_SIGS 24
/* TLS 1.3 secrets are SHA-256 or SHA-384 sized (every suite's hash). */
#define NK_MAX_SECRET 48
/* Negotiated ALPN names are at most 255 bytes (RFC 7301 §3.1). */
#define NK_ALPN_MAX 256

struct nk_hs;
struct nk_sig_prefs;

/* Thousands of these sit idle in a server, so the layout is packed: flags are
 * bits, counters and codes the smallest type that holds them, and what only a
 * handshake needs lives in struct nk_hs (allocated only while one runs). The
 * negotiated ALPN name is a small allocation, present only when one was agreed. */
struct nk_conn {
    sbyte4 handle;
    int fd;
    void *cookie;
    struct certStore *store;

    /* settings (copied from the stack's at creation, changed by per-connection calls) */
    ubyte4 flags;
    ubyte4 recv_timeout_ms;
    uint8_t role;                  /* enum nk_role */
    uint8_t min_minor, max_minor;  /* TLS minor versions: 3 = 1.2, 4 = 1.3 */
    uint8_t num_tickets;           /* server: tickets after each handshake */
    uint8_t n_suites, n_groups;
    uint8_t ktls_mode, rekey_policy;   /* kernel offload settings (ktls/) */
    uint16_t suites[NK_MAX_SUITES];
    uint16_t groups[NK_MAX_GROUPS];
    uint8_t ktls_opts;
    uint8_t tx_why, rx_why;        /* why software carries a direction (nk_ktls_why) */

    /* small negotiated and closure state (the rest is further down) */
    uint8_t minor;                 /* negotiated TLS minor version */
    uint8_t key_updates_in_a_row;  /* KeyUpdates received with no data between */
    char alpn_none[1];             /* "": where alpn points when none was agreed */
    ubyte4 status;                 /* SSL_CONNECTION_NEGOTIATE / SSL_CONNECTION_OPEN */
    uint16_t send_limit;           /* max plaintext per record we send (RFC 8449) */
    uint16_t group;
    uint16_t peer_sig;             /* scheme of the peer's CertificateVerify */
    int16_t alert_in, alert_in_level;  /* last alert received (-1: none) */
    int16_t alert_out;             /* fatal alert we sent (-1: none) */
    uint32_t peer_groups_mask;     /* SSL_getCipherInfo's peerCurvesMask */
    MSTATUS err;                   /* sticky fatal error */
    unsigned rd_epoch;             /* bumped at every read-key change */

    unsigned is_async : 1;
    unsigned resumed : 1;          /* the handshake used a PSK */
    unsigned readahead : 1;        /* may read past the current record */
    unsigned rd_app : 1, wr_app : 1;   /* application traffic keys are installed */
    unsigned first_record_sent : 1;
    unsigned ktls_tx : 1, ktls_rx : 1;   /* the kernel carries this direction */
    unsigned tx_rekey_pending : 1;
    unsigned got_close_notify : 1, sent_close_notify : 1;
    unsigned key_update_pending : 1;     /* peer asked us to update (update_requested) */
    unsigned as_started : 1;       /* async API: engine started, hello timer running */
    unsigned as_opened : 1;        /* async API: open-state upcall made */
    unsigned as_offloaded : 1;     /* async API: NKTLS_asyncOffload has decided */
    unsigned name_pooled : 1;      /* server_name came from nk_name_dup's pool */
    unsigned alpn_pooled : 1;      /* so did alpn (when not alpn_none) */
    unsigned tickets_ok : 1;       /* server: the client can resume with psk_dhe_ke (§4.2.9) */
    unsigned ccs_sent : 1;         /* our compatibility change_cipher_spec is out */
    unsigned hello_retried : 1;    /* the handshake had a HelloRetryRequest */
    uint32_t alpn_offer_len;
    uint32_t tx_rekey_at;          /* kernel TX key changes after this many queued bytes */
    uint32_t peer_chain_len;
    uint32_t in_start;             /* start of the first unprocessed record in `in` */
    uint32_t app_len;              /* decrypted application data waiting (at app) */

    char *server_name;             /* client: SNI to send; server: SNI received */
    char *dns_name;                /* client: name to verify the certificate against */
    const CNMatchInfo *dns_names;  /* SSL_setDNSNames */
    uint8_t *alpn_offer;           /* client: ALPN list in wire form */
    /* Negotiated protocol, "" if none. During a handshake that may agree on one
     * it points to NK_ALPN_MAX writable bytes; afterwards to a copy of the name
     * or to alpn_none (nk_conn_alpn_settle). */
    char *alpn;
    sbyte4 (*alpn_cb)(sbyte4, ubyte **[], sbyte4 *, ubyte *, sbyte4);
    MSTATUS (*cert_status_cb)(sbyte4, struct certChain *, MSTATUS);
    MSTATUS (*invalid_cert_cb)(sbyte4, MSTATUS);
    funcPtrClientSavePSK_t psk_save_cb;          /* client: keep tickets */
    funcPtrClientRetrievePSK_t psk_retrieve_cb;  /* client: offer one */
    struct nk_sig_prefs *sig_prefs;  /* NKTLS_setSignatureSchemes; NULL: the defaults */

    /* engine buffers */
    struct nk_buf in;              /* raw bytes from the peer, records parsed from the front */
    uint8_t *app;                  /* decrypted application data waiting (inside `in`) */
    struct nk_buf out;             /* bytes for the peer */
    size_t out_off;                /* bytes of `out` already taken by the driver */
    struct nk_buf hs_in;           /* handshake message reassembly */

    /* Record protection: both point into one pooled object (struct
     * nk_rec_pair), which goes away once the kernel carries both directions,
     * so an idle kTLS connection holds no key state in userspace. NULL then:
     * records are plaintext to the engine (the kernel protects them). */
    struct nk_rec_key *rd, *wr;
    time_t now;                    /* set by the driver: the engine reads no clock */

    /* negotiated state */
    const struct nk_suite *suite;
    /* The peer's certificate chain as it authenticated (leaf first), each
     * certificate as <u24 length, DER>; from the ticket after a resumption. */
    uint8_t *peer_chain;
    uint8_t c_ap[NK_MAX_SECRET], s_ap[NK_MAX_SECRET];   /* application traffic secrets */
    uint8_t exporter[NK_MAX_SECRET];
    uint8_t resumption[NK_MAX_SECRET];
    struct nk_hs *hs;

    /* asynchronous API (core/api_async.c) */
    struct {
        int64_t t0_ms, limit_ms;   /* handshake clock: start, allowed run (0 = no limit) */
        struct nk_buf in;          /* bytes given but not yet processed: they wait
                                    * behind data kept for SSL_ASYNC_getRecvBuffer */
    } as;
};

/* The record keys of both directions, allocated with the connection. */
struct nk_rec_pair {
    struct nk_rec_key rd, wr;
};

/* The pools connection state comes from (core/conn.c). */
extern struct nk_slab nk_conn_slab, nk_keys_slab;

/* Protected records in this direction (else plaintext, or the kernel's). */
static inline int nk_rd_protected(const struct nk_conn *c) { return c->rd && c->rd->suite; }
static inline int nk_wr_protected(const struct nk_conn *c) { return c->wr && c->wr->suite; }

/* connection table (core/conn.c) */
MSTATUS nk_table_init(sbyte4 n_server, sbyte4 n_client) NK_MUST;
void nk_table_free(void);
int nk_table_ready(void);
MSTATUS nk_conn_new(enum nk_role role, int fd, struct certStore *store, struct nk_conn **out) NK_MUST;
/* Look up a connection; ERR_SSL_BAD_ID for an unknown or stale handle. One
 * connection is used by one thread at a time (the application's duty); the
 * table itself is safe to use from many threads. */
MSTATUS nk_conn_get(sbyte4 handle, struct nk_conn **out) NK_MUST;
void nk_conn_free(struct nk_conn *c);
/* Clear and free the record keys (the kernel carries both directions). */
void nk_conn_keys_free(struct nk_conn *c);
/* Replace server_name with a copy of name (NULL: none). */
MSTATUS nk_conn_set_server_name(struct nk_conn *c, const char *name) NK_MUST;
sbyte4 nk_conn_by_fd(int fd);

/* engine (core/engine.c) */
MSTATUS nk_engine_start(struct nk_conn *c) NK_MUST;      /* client: queue ClientHello */
unsigned nk_conn_wants(struct nk_conn *c);
uint8_t *nk_in_buf(struct nk_conn *c, size_t *len);     /* space for received bytes */
MSTATUS nk_in_ack(struct nk_conn *c, size_t n) NK_MUST;  /* n bytes were received: process */
const uint8_t *nk_out_buf(struct nk_conn *c, size_t *len);
void nk_out_ack(struct nk_conn *c, size_t n);
MSTATUS nk_app_write(struct nk_conn *c, const uint8_t *d, size_t n) NK_MUST;
size_t nk_app_read(struct nk_conn *c, uint8_t *d, size_t n);
/* Mark n bytes of the waiting application data (c->app, c->app_len) as read,
 * for callers that use them in place. */
void nk_app_ack(struct nk_conn *c, size_t n);
MSTATUS nk_send_alert(struct nk_conn *c, int level, int alert) NK_MUST;
MSTATUS nk_fail(struct nk_conn *c, MSTATUS err);         /* record a fatal error, queue its alert */
MSTATUS nk_send_handshake(struct nk_conn *c, const uint8_t *msg, size_t n) NK_MUST;
MSTATUS nk_send_ccs(struct nk_conn *c) NK_MUST;
MSTATUS nk_key_update_send(struct nk_conn *c, int request) NK_MUST;
void nk_engine_release(struct nk_conn *c);               /* free buffers and keys */
/* Idle: free the record keys' AEAD contexts; the next record rebuilds them. */
void nk_engine_park(struct nk_conn *c);
/* The handshake is over: keep the agreed ALPN name in an allocation of its size. */
void nk_conn_alpn_settle(struct nk_conn *c);
/* Before a handshake that may agree on ALPN: NK_ALPN_MAX bytes at c->alpn. */
MSTATUS nk_conn_alpn_scratch(struct nk_conn *c) NK_MUST;

/* blocking driver (core/drive_blocking.c) */
MSTATUS nk_drive_flush(struct nk_conn *c) NK_MUST;
MSTATUS nk_drive_handshake(struct nk_conn *c) NK_MUST;
/* Receive application data, waiting up to timeout_ms (0: forever). */
MSTATUS nk_drive_recv(struct nk_conn *c, uint8_t *buf, size_t cap, size_t *got, ubyte4 timeout_ms) NK_MUST;

/* settings shared by the API files */
void nk_settings_defaults(void);
sslSettings *nk_settings(void);

/* kernel offload (ktls/) */
MSTATUS nk_in_plain(struct nk_conn *c, uint8_t type, const uint8_t *d, size_t n) NK_MUST;

#endif
