/* handshake/tls.h — the protocol state of one connection: settings, what the
 * handshake negotiates, the record keys, the output buffer, the closure state.
 * The handshake works on this (struct nk_tls) and never sees the connection's
 * I/O side; engine/conn.h makes struct nk_conn of it plus the input buffers,
 * the socket and the drivers' state, with these fields reachable by the same
 * names (c->role) from either. */
#ifndef NK_HS_TLS_H
#define NK_HS_TLS_H

#include <time.h>
#include "core/nk.h"
#include "core/crypto.h"
#include "core/limits.h"
#include "core/wire.h"
#include "record/record.h"
#include "ssl/ssl.h"

enum nk_role { NK_CLIENT = 0, NK_SERVER = 1 };

#define NK_MAX_GROUPS 8
#define NK_MAX_SIGS 24
/* TLS 1.3 secrets are SHA-256 or SHA-384 sized (every suite's hash). */
#define NK_MAX_SECRET 48
/* Negotiated ALPN names are at most 255 bytes (RFC 7301 §3.1). */
#define NK_ALPN_MAX 256

struct nk_hs;
struct nk_rare;
struct nk_early;
struct nk_dtls;
struct nk_sig_prefs;
struct nk_cauth;
struct certStore;

/* The stack's settings and limits: one instance (engine/config.c), which every
 * connection points to from the moment it is made. */
struct nk_config {
    sslSettings ssl;               /* SSL_sslSettings() */
    struct nk_limits limits;       /* NKTLS_setLimit() */
    /* NKTLS_setDefaultKtlsMode, NKTLS_setDefaultRekeyPolicy: copied into each
     * new connection (engine/conn.c, nk_conn_open) */
    uint8_t ktls_mode, rekey_policy;
};

/* The fields, as a list, so that engine/conn.h can lay the same members out
 * both as a struct nk_tls and directly in struct nk_conn (an anonymous member
 * in a union with the named one). Thousands of connections sit idle in a
 * server, so the layout is packed: flags are bits, counters and codes the
 * smallest type that holds them, and what only a handshake needs lives in
 * struct nk_hs (allocated only while one runs). */
#define NK_TLS_FIELDS \
    sbyte4 handle;                 /* the application's name for the connection */ \
    ubyte4 flags;                  /* SSL_FLAG_* (settings from here on are copied from \
                                    * the stack's at creation, changed by per-connection calls) */ \
    struct certStore *store; \
    const struct nk_config *cfg;   /* the stack's settings and limits, set at creation */ \
    \
    uint8_t role;                  /* enum nk_role */ \
    uint8_t min_minor, max_minor;  /* TLS minor versions: 3 = 1.2, 4 = 1.3 */ \
    uint8_t num_tickets;           /* server: tickets after each handshake */ \
    uint8_t n_groups; \
    uint16_t groups[NK_MAX_GROUPS]; \
    uint64_t suites;               /* enabled suites of both versions, nk_suite_bit's set \
                                    * (SSL_enableCiphers; table order is our preference) */ \
    \
    /* small negotiated and closure state */ \
    uint8_t minor;                 /* negotiated TLS minor version */ \
    uint8_t key_updates_in_a_row;  /* KeyUpdates received with no data between */ \
    char alpn_none[1];             /* "": where alpn points when none was agreed */ \
    union {                        /* the kernel's share of the record layer (record/record.h), here to fill a gap */ \
        struct nk_rec_kernel kernel; \
        struct __attribute__((packed)) { NK_REC_KERNEL_FIELDS }; \
    }; \
    uint16_t rd_epoch;             /* bumped at every read-key change (compared across one message) */ \
    ubyte4 status;                 /* SSL_CONNECTION_NEGOTIATE / SSL_CONNECTION_OPEN */ \
    uint16_t send_limit;           /* max plaintext per record we send (RFC 8449) */ \
    uint16_t group; \
    uint16_t peer_sig;             /* scheme of the peer's CertificateVerify */ \
    int16_t alert_in, alert_in_level;  /* last alert received (-1: none) */ \
    int16_t alert_out;             /* fatal alert we sent (-1: none) */ \
    uint32_t peer_groups_mask;     /* SSL_getCipherInfo's peerCurvesMask */ \
    MSTATUS err;                   /* sticky fatal error */ \
    \
    unsigned resumed : 1;          /* the handshake used a PSK */ \
    unsigned rd_app : 1, wr_app : 1;   /* application traffic keys are installed */ \
    unsigned first_record_sent : 1; \
    unsigned got_close_notify : 1, sent_close_notify : 1; \
    unsigned key_update_pending : 1;     /* peer asked us to update (update_requested) */ \
    unsigned name_pooled : 1;      /* server_name came from nk_name_dup's pool */ \
    unsigned alpn_pooled : 1;      /* so did alpn (when not alpn_none) */ \
    unsigned tickets_ok : 1;       /* server: the client can resume with psk_dhe_ke (§4.2.9) */ \
    unsigned ccs_sent : 1;         /* our compatibility change_cipher_spec is out */ \
    unsigned hello_retried : 1;    /* the handshake had a HelloRetryRequest */ \
    unsigned ems_optional : 1;     /* TLS 1.2: a peer without extended_master_secret \
                                    * is accepted (SSL_SET_USE_EXTENDED_MASTERSECRET \
                                    * FALSE); its session is never resumed */ \
    unsigned peer_versions : 5;    /* no version in common: what the client offered, \
                                    * or the server chose; bit n for 3.n \
                                    * (NKTLS_getPeerVersions) */ \
    unsigned proto : 4;            /* the protocol whose state table applies \
                                    * (NK_PROTO_*, handshake/hs.h): it outlives the \
                                    * handshake for the post-handshake rows */ \
    unsigned rare_on : 1;          /* rare holds state of features few connections \
                                    * use (handshake/rare.h) */ \
    /* TLS 1.2 renegotiation (handshake/tls12_reneg.c) */ \
    unsigned secure_reneg : 1;     /* the peer signalled RFC 5746 in the last handshake */ \
    unsigned reneg_asked : 1;      /* server: our HelloRequest waits for a ClientHello */ \
    unsigned reneg_done : 1;       /* a renegotiation ended: the async open-state upcall is due */ \
    unsigned is_dtls : 1;          /* DTLS 1.2: c->dtls holds its state */ \
    unsigned early_offered : 1;    /* server: the ClientHello had early_data (skipped when \
                                    * there is no c->early: SSL_EARLY_DATA_REJECTED) */ \
    uint32_t alpn_offer_len; \
    uint32_t peer_chain_len; \
    uint32_t out_off;              /* bytes of `out` already taken by the driver (< 4 GiB, as `out`) */ \
    \
    char *server_name;             /* client: SNI to send; server: SNI received */ \
    char *dns_name;                /* client: name to verify the certificate against */ \
    const CNMatchInfo *dns_names;  /* SSL_setDNSNames */ \
    uint8_t *alpn_offer;           /* client: ALPN list in wire form */ \
    /* Negotiated protocol, "" if none. During a handshake that may agree on one \
     * it points to NK_ALPN_MAX writable bytes; afterwards to a copy of the name \
     * or to alpn_none (handshake/hs_input.c). */ \
    char *alpn; \
    sbyte4 (*alpn_cb)(sbyte4, ubyte **[], sbyte4 *, ubyte *, sbyte4); \
    MSTATUS (*cert_status_cb)(sbyte4, struct certChain *, MSTATUS); \
    MSTATUS (*invalid_cert_cb)(sbyte4, MSTATUS); \
    funcPtrClientSavePSK_t psk_save_cb;          /* client: keep tickets */ \
    funcPtrClientRetrievePSK_t psk_retrieve_cb;  /* client: offer one */ \
    struct nk_sig_prefs *sig_prefs;  /* NKTLS_setSignatureSchemes; NULL: the defaults */ \
    struct nk_cauth *cauth;        /* client-certificate callbacks and identity \
                                    * (handshake/client_auth.h); NULL: none set */ \
    \
    struct nk_buf out;             /* bytes for the peer */ \
    struct nk_buf hs_in;           /* handshake message reassembly */ \
    \
    /* Record protection: both point into one pooled object (struct \
     * nk_rec_pair), which goes away once the kernel carries both directions, \
     * so an idle kTLS connection holds no key state in userspace. NULL then: \
     * records are plaintext to the engine (the kernel protects them). */ \
    struct nk_rec_key *rd, *wr; \
    /* Wall-clock time, ms since the Unix epoch, set by the driver (the engine \
     * reads no clock): ticket ages and certificate dates, in seconds where \
     * those count seconds. Timers run on the driver's own clock (engine/). */ \
    int64_t now; \
    \
    /* negotiated state */ \
    const struct nk_suite *suite; \
    /* The peer's certificate chain as it authenticated (leaf first), each \
     * certificate as <u24 length, DER>; from the ticket after a resumption. */ \
    uint8_t *peer_chain; \
    uint8_t c_ap[NK_MAX_SECRET], s_ap[NK_MAX_SECRET];   /* application traffic secrets */ \
    uint8_t exporter[NK_MAX_SECRET]; \
    uint8_t resumption[NK_MAX_SECRET]; \
    struct nk_hs *hs; \
    /* TLS 1.3: the transcript through the client's Finished (an EVP_MD_CTX), \
     * kept only where post-handshake authentication may follow (RFC 8446 \
     * §4.6.2, handshake/tls13_pha.c); or, while rare_on, the state of \
     * rare features, which a TLS 1.3 connection no longer needs once its \
     * handshake completes (handshake/rare.h: heartbeats, the version \
     * callback, TLS 1.2 renegotiation's counters) */ \
    union { \
        void *pha_md; \
        struct nk_rare *rare; \
    }; \
    struct nk_early *early;        /* TLS 1.3 0-RTT data, once asked for (handshake/early.h) */ \
    struct nk_dtls *dtls;          /* DTLS 1.2 (is_dtls): its state (handshake/dtls12.h) */

struct nk_tls {
    NK_TLS_FIELDS
};

/* Protected records in this direction (else plaintext, or the kernel's). */
static inline int nk_rd_protected(const struct nk_tls *c) { return c->rd && c->rd->suite; }
static inline int nk_wr_protected(const struct nk_tls *c) { return c->wr && c->wr->suite; }

/* Output (handshake/tls.c): records of one content type, fragmented to what
 * we may send and protected when keys are in place. */
MSTATUS nk_send_records(struct nk_tls *c, uint8_t type, const uint8_t *d, size_t n) NK_MUST;
MSTATUS nk_send_handshake(struct nk_tls *c, const uint8_t *msg, size_t n) NK_MUST;
MSTATUS nk_send_ccs(struct nk_tls *c) NK_MUST;
MSTATUS nk_send_alert(struct nk_tls *c, int level, int alert) NK_MUST;
MSTATUS nk_key_update_send(struct nk_tls *c, int request) NK_MUST;
/* Replace server_name with a copy of name (NULL: none). */
MSTATUS nk_tls_set_server_name(struct nk_tls *c, const char *name) NK_MUST;

/* The connection's suites (c->suites): is this one enabled; are any of this
 * version's (minor 4: TLS 1.3, 3: TLS 1.2); write those in our order (a
 * client's cipher_suites); and the one a server takes from the client's
 * cipher_suites: of this version and, for TLS 1.2, this authentication
 * (enum nk_auth; NK_AUTH_ANY for TLS 1.3) and a key exchange in kx_ok (bits
 * 1 << enum nk_kx; ~0u: any), the first in our order, or in the
 * client's with NKTLS_FLAG_CLIENT_CIPHER_ORDER. NULL: none in common. */
int nk_tls_suite_enabled(const struct nk_tls *c, const struct nk_suite *s);
int nk_tls_has_suites(const struct nk_tls *c, uint8_t minor);
void nk_tls_write_suites(const struct nk_tls *c, struct nk_wr *w, uint8_t minor);
const struct nk_suite *nk_tls_pick_suite(const struct nk_tls *c, struct nk_rd offered, uint8_t minor, uint8_t auth,
                                         unsigned kx_ok);

#endif
