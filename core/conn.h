/* core/conn.h — one TLS connection: settings, the engine's four buffers, record
 * keys, and the handshake state (allocated only while a handshake runs). */
#ifndef NK_CONN_H
#define NK_CONN_H

#include <pthread.h>
#include <time.h>
#include "core/nk.h"
#include "core/crypto.h"
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

struct nk_hs;

struct nk_conn {
    sbyte4 handle;
    int fd;
    enum nk_role role;
    int is_async;
    void *cookie;
    struct certStore *store;

    /* settings (copied from the stack's at creation, changed by per-connection calls) */
    ubyte4 flags;
    uint8_t min_minor, max_minor;  /* TLS minor versions: 3 = 1.2, 4 = 1.3 */
    uint16_t suites[NK_MAX_SUITES];
    size_t n_suites;
    uint16_t groups[NK_MAX_GROUPS];
    size_t n_groups;
    char *server_name;             /* client: SNI to send; server: SNI received */
    char *dns_name;                /* client: name to verify the certificate against */
    const CNMatchInfo *dns_names;  /* SSL_setDNSNames */
    uint8_t *alpn_offer;           /* client: ALPN list in wire form */
    size_t alpn_offer_len;
    char alpn[256];                /* negotiated protocol, "" if none */
    ubyte4 recv_timeout_ms;
    sbyte4 (*alpn_cb)(sbyte4, ubyte **[], sbyte4 *, ubyte *, sbyte4);
    MSTATUS (*cert_status_cb)(sbyte4, struct certChain *, MSTATUS);
    MSTATUS (*invalid_cert_cb)(sbyte4, MSTATUS);
    funcPtrClientSavePSK_t psk_save_cb;          /* client: keep tickets */
    funcPtrClientRetrievePSK_t psk_retrieve_cb;  /* client: offer one */
    uint8_t num_tickets;                         /* server: tickets after each handshake */
    int resumed;                                 /* the handshake used a PSK */

    /* engine buffers */
    struct nk_buf in;              /* raw bytes from the peer, records parsed from the front */
    size_t in_start;               /* start of the first unprocessed record in `in` */
    uint8_t *app;                  /* decrypted application data waiting (inside `in`) */
    size_t app_len;
    struct nk_buf out;             /* bytes for the peer */
    size_t out_off;                /* bytes of `out` already taken by the driver */
    struct nk_buf hs_in;           /* handshake message reassembly */
    int readahead;                 /* may read past the current record */

    /* record protection */
    struct nk_rec_key rd, wr;
    unsigned rd_epoch;             /* bumped at every read-key change */
    int rd_app, wr_app;            /* application traffic keys are installed */
    int first_record_sent;
    time_t now;                    /* set by the driver: the engine reads no clock */

    /* kernel offload (ktls/) */
    int ktls_mode, rekey_policy;
    unsigned ktls_opts;
    int ktls_tx, ktls_rx;          /* the kernel carries this direction */
    const char *tx_reason, *rx_reason;   /* why software carries it */
    size_t tx_rekey_at;            /* kernel TX key changes after this many queued bytes */
    int tx_rekey_pending;
    uint16_t send_limit;           /* max plaintext per record we send (RFC 8449) */

    /* negotiated state */
    ubyte4 status;                 /* SSL_CONNECTION_NEGOTIATE / SSL_CONNECTION_OPEN */
    uint8_t minor;                 /* negotiated TLS minor version */
    const struct nk_suite *suite;
    uint16_t group;
    uint16_t peer_sig;             /* scheme of the peer's CertificateVerify */
    uint32_t peer_groups_mask;     /* SSL_getCipherInfo's peerCurvesMask */
    uint8_t *peer_leaf;            /* peer leaf certificate (DER) */
    size_t peer_leaf_len;
    uint8_t c_ap[NK_MAX_HASH], s_ap[NK_MAX_HASH];   /* application traffic secrets */
    uint8_t exporter[NK_MAX_HASH];
    uint8_t resumption[NK_MAX_HASH];
    struct nk_hs *hs;

    /* errors and closure */
    MSTATUS err;                   /* sticky fatal error */
    int alert_in, alert_in_level;  /* last alert received (-1: none) */
    int alert_out;                 /* fatal alert we sent (-1: none) */
    int got_close_notify, sent_close_notify;
    unsigned key_updates_in_a_row; /* KeyUpdates received with no data between */
    int key_update_pending;        /* peer asked us to update (update_requested) */

    /* asynchronous API (core/api_async.c) */
    struct {
        int started;               /* engine started, hello timer running */
        int opened;                /* open-state upcall made */
        int offloaded;             /* NKTLS_asyncOffload has decided */
        int64_t t0_ms, limit_ms;   /* handshake clock: start, allowed run (0 = no limit) */
        struct nk_buf in;          /* bytes given but not yet processed: they wait
                                    * behind data kept for SSL_ASYNC_getRecvBuffer */
    } as;
};

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
