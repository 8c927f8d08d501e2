/* handshake/hs.h — the handshake's state, its state tables (one per protocol)
 * and the helpers the TLS 1.3 client and server share. Sans-I/O: handlers
 * consume one handshake message and queue output for the engine
 * (engine/engine.c); they never touch sockets or clocks. */
#ifndef NK_HS_H
#define NK_HS_H

#include <openssl/evp.h>
#include "handshake/tls.h"
#include "core/wire.h"
#include "core/kex.h"
#include "handshake/cert.h"

enum {
    NK_HS_CLIENT_HELLO = 1, NK_HS_SERVER_HELLO = 2, NK_HS_NEW_SESSION_TICKET = 4,
    NK_HS_END_OF_EARLY_DATA = 5, NK_HS_ENCRYPTED_EXTENSIONS = 8, NK_HS_CERTIFICATE = 11,
    NK_HS_CERTIFICATE_REQUEST = 13, NK_HS_CERTIFICATE_VERIFY = 15, NK_HS_FINISHED = 20,
    NK_HS_KEY_UPDATE = 24, NK_HS_MESSAGE_HASH = 254,
    /* TLS 1.2 only (RFC 5246 §7.4) */
    NK_HS_HELLO_REQUEST = 0, NK_HS_SERVER_KEY_EXCHANGE = 12, NK_HS_SERVER_HELLO_DONE = 14,
    NK_HS_CLIENT_KEY_EXCHANGE = 16,
    NK_HS_CERTIFICATE_STATUS = 22,   /* RFC 6066 §8 */
};

enum {
    NK_EXT_SERVER_NAME = 0, NK_EXT_STATUS_REQUEST = 5, NK_EXT_SUPPORTED_GROUPS = 10, NK_EXT_SIGNATURE_ALGORITHMS = 13,
    NK_EXT_ALPN = 16, NK_EXT_RECORD_SIZE_LIMIT = 28, NK_EXT_PRE_SHARED_KEY = 41,
    NK_EXT_EARLY_DATA = 42, NK_EXT_SUPPORTED_VERSIONS = 43, NK_EXT_COOKIE = 44,
    NK_EXT_PSK_KEY_EXCHANGE_MODES = 45, NK_EXT_CERTIFICATE_AUTHORITIES = 47,
    NK_EXT_POST_HANDSHAKE_AUTH = 49, NK_EXT_SIGNATURE_ALGORITHMS_CERT = 50, NK_EXT_KEY_SHARE = 51,
    /* TLS 1.2 only: RFC 6066 §4, RFC 8422 §5.1.2, RFC 7366 §2, RFC 7627 §5.1,
     * RFC 5077 §3.2, RFC 5746 §3.2 */
    NK_EXT_MAX_FRAGMENT_LENGTH = 1, NK_EXT_EC_POINT_FORMATS = 11, NK_EXT_ENCRYPT_THEN_MAC = 22,
    NK_EXT_EXTENDED_MASTER_SECRET = 23, NK_EXT_SESSION_TICKET = 35, NK_EXT_RENEGOTIATION_INFO = 0xff01,
    NK_EXT_HEARTBEAT = 15,   /* RFC 6520 §2 */
};

#define NK_TLS13 0x0304
#define NK_TLS12 0x0303

/* Handshake states. ST_CONNECTED is where a connection is once its handshake
 * is over (it has no struct nk_hs then): its rows are the post-handshake
 * messages. ST_NONE is no state: a row's outcome that does not exist. */
enum {
    ST_NONE = 0,
    /* client */
    ST_C_WAIT_SH, ST_C_WAIT_EE, ST_C_WAIT_CERT_CR, ST_C_WAIT_CERT, ST_C_WAIT_CV, ST_C_WAIT_FIN,
    /* server */
    ST_S_WAIT_CH, ST_S_WAIT_CH2, ST_S_WAIT_CERT, ST_S_WAIT_CV, ST_S_WAIT_FIN,
    ST_CONNECTED,
    /* TLS 1.3 server, post-handshake authentication (handshake/tls13_pha.c) */
    ST_S_PHA_WAIT_CERT, ST_S_PHA_WAIT_CV, ST_S_PHA_WAIT_FIN,
    /* TLS 1.2 client (handshake/tls12_client.c) */
    ST_C12_WAIT_CERT, ST_C12_WAIT_SKE, ST_C12_WAIT_SHD, ST_C12_WAIT_CCS, ST_C12_WAIT_FIN,
    /* TLS 1.2 server (handshake/tls12_server.c) */
    ST_S12_WAIT_CKE, ST_S12_WAIT_CCS, ST_S12_WAIT_FIN,
    /* TLS 1.2 client authentication (handshake/tls12_auth.c) */
    ST_C12_WAIT_SHD_CR, ST_S12_WAIT_CERT, ST_S12_WAIT_CV,
    /* TLS 1.2 abbreviated handshakes (handshake/tls12_resume.c) */
    ST_C12R_WAIT_CCS, ST_C12R_WAIT_FIN, ST_S12R_WAIT_CCS, ST_S12R_WAIT_FIN,
};

struct tls13PSK;

struct nk_hs {
    int state;
    struct nk_transcript tr;
    uint8_t client_random[32], server_random[32];
    uint8_t session_id[32];
    uint8_t session_id_len;
    int hrr;                         /* a HelloRetryRequest was sent/received */
    int early_skip;                  /* server: skipping the client's 0-RTT data (§4.2.10) */
    uint32_t early_skip_left;        /* bytes of it still allowed (core/limits.h) */

    /* client: our key shares (one, two after HRR at most) */
    EVP_PKEY *kex_priv;
    uint16_t kex_group;
    uint8_t kex_pub[NK_MAX_KEX_PUB]; /* the share sent, for a second ClientHello */
    uint16_t kex_pub_len;
    struct nk_buf cookie;            /* HRR cookie to echo */
    uint8_t ch_exts[64];             /* extension types we sent in ClientHello (bitmap) */

    /* server */
    uint16_t peer_sigs[NK_MAX_SIGS]; /* peer's signature_algorithms */
    size_t n_peer_sigs;
    const struct nk_identity *identity;
    uint16_t sig_scheme;             /* scheme of our CertificateVerify */
    int cert_requested;              /* we sent / received a CertificateRequest */
    int client_cert_empty;           /* client: respond with an empty Certificate */
    uint8_t cr_context[255];
    uint8_t cr_context_len;
    uint8_t pha;                     /* post-handshake authentication may follow:
                                      * keep the transcript (handshake/tls13_pha.c) */
    uint8_t pha_exchange;            /* this is one, after the handshake */
    uint8_t ocsp_asked;              /* status_request sent (client) / received (server);
                                      * TLS 1.2: NK_OCSP_AGREED, NK_OCSP_SETTLED (tls12_ocsp.c) */
    struct nk_buf ocsp_resp;         /* client: the OCSP response stapled to the leaf */

    /* key schedule */
    enum nk_hash hash;
    int no_psk;                      /* the early stage is the no-PSK constant (keysched.c) */
    uint8_t secret[NK_MAX_HASH];     /* current stage: early, then handshake, then master */
    uint8_t c_hs[NK_MAX_HASH], s_hs[NK_MAX_HASH];
    uint8_t ticket_rnd[16];          /* server: the first ticket's random bytes, drawn
                                      * with server_random (handshake/ticket.c) */
    int fin_known;                   /* server: tickets went out before the client's */
    uint8_t fin_expect[NK_MAX_HASH]; /* Finished, whose verify_data this must be */
    EVP_PKEY *peer_pub;              /* from the peer's Certificate */
    struct nk_der *peer_chain;       /* as received, for verification and callbacks */
    size_t peer_chain_len;
    struct nk_buf msg;               /* scratch for building one message */

    /* resumption (handshake/psk.c) */
    struct tls13PSK *offer;          /* client: the ticket it offers */
    int psk_ok;                      /* the PSK was accepted */
    uint8_t psk[NK_MAX_HASH];
    uint8_t psk_len;
    uint8_t psk_ke;                  /* psk_ke: the PSK alone, no (EC)DHE (§4.2.9) */
    struct nk_buf psk_id;            /* TLS 1.2 client: the PSK identity chosen (psk: its key) */

    /* TLS 1.2 (handshake/tls12_*.c): the master secret lives in `secret`,
     * each side's share of the key block in keys12 (client, server) from the
     * ClientKeyExchange until its ChangeCipherSpec installs it. */
    uint8_t keys12[2][NK_REC12_KEYS];
    uint8_t etm;                     /* encrypt_then_mac (RFC 7366): client offered / both agreed */
    uint8_t ems;                     /* both ends sent extended_master_secret */
    uint16_t client_version;         /* server: the ClientHello's, for RSA key transport */
    uint8_t secure_reneg;            /* the peer signalled RFC 5746 support */
    uint8_t reneg;                   /* this handshake renegotiates (handshake/tls12_reneg.c) */
    uint8_t reneg_timed;             /* its deadline is set (nk_engine_reneg_limit) */
    uint16_t pms_len;
    uint8_t pms[NK_MAX_KEX_SECRET];  /* client: the ECDHE secret, SKE to CKE */

    /* TLS 1.2 resumption by session id (handshake/tls12_resume.c) */
    uint8_t sess_id_len;             /* client: the session SSL_connect gave (tls12_resume.c) */
    uint8_t sess_id[32];
    uint8_t sess_master[48];
    uint8_t sess_offered;            /* client: the client cache knew it: offered */
    uint16_t sess_suite;             /* client: the offered session's suite */
    uint8_t sess_binding[32];        /* server: nk_ticket_binding at the ClientHello */
    uint8_t ticket12;                /* RFC 5077: a NewSessionTicket is due (1) or came (2) */
    uint8_t ticket_asked;            /* client: our ClientHello had the SessionTicket extension */
    struct nk_buf ticket;            /* client: the ticket offered, then the one received */
};

/* ---- state tables (handshake/protocol.c) ----
 *
 * A protocol is one version on one side (the TLS 1.3 client, the TLS 1.3
 * server; TLS 1.2 and DTLS 1.2 add theirs), and its state table is the whole
 * of what may arrive when: a row is {state, content type, message, handler,
 * next state}. A message with no row in the current state is
 * unexpected_message, whatever its type: that includes change_cipher_spec
 * records, which have rows where RFC 8446 §5 allows them, and post-handshake
 * messages, which are the rows of ST_CONNECTED.
 *
 * The transition is in the row, not in the handler. Where the protocol
 * branches on what only the message itself says (a HelloRetryRequest or a
 * ServerHello; a CertificateRequest sent or not; an empty client Certificate;
 * a resumed handshake), the handler answers which branch, NK_HS_ALT or
 * NK_HS_ALT2 instead of OK, and the row names the state each leads to. (The
 * other way, several rows for one message each with a condition, would not
 * read better: the condition is known only once the message has been read,
 * so those rows would share one handler run before any of them is chosen.) */
#define NK_HS_NEXT OK
#define NK_HS_ALT  ((MSTATUS)1)
#define NK_HS_ALT2 ((MSTATUS)2)
/* The message was dealt with where it came and the state stays (a refused
 * renegotiation: handshake/tls12_reneg.c). */
#define NK_HS_STAY ((MSTATUS)3)

typedef MSTATUS (*nk_hs_handler)(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t raw_len);
struct nk_step {
    uint8_t state;
    uint8_t content_type;          /* NK_CT_HANDSHAKE or NK_CT_CHANGE_CIPHER_SPEC */
    uint8_t msg;                   /* handshake message type; 0 for change_cipher_spec */
    nk_hs_handler fn;              /* body: the message body (the record's content for
                                    * change_cipher_spec); raw, raw_len: the whole message */
    uint8_t next, alt, alt2;       /* the state after fn returns OK, NK_HS_ALT, NK_HS_ALT2 */
};

struct nk_client_hello;

/* The protocols, by the number a connection keeps (c->proto). */
enum {
    NK_PROTO_NONE = 0,             /* before nk_hs_start: no message is expected */
    NK_PROTO_HELLO,                /* a server before the ClientHello chose a version */
    NK_PROTO_TLS13_CLIENT,
    NK_PROTO_TLS13_SERVER,
    NK_PROTO_TLS12_CLIENT,         /* entered from the TLS 1.3 client's ServerHello */
    NK_PROTO_TLS12_SERVER,
    NK_PROTO_DTLS12_CLIENT,        /* DTLS 1.2 hellos (handshake/dtls12_hello.c), then TLS 1.2's */
    NK_PROTO_DTLS12_SERVER,
    NK_PROTO_COUNT,
};

struct nk_protocol {
    uint8_t id;                    /* NK_PROTO_* */
    uint8_t first;                 /* the state a handshake starts in */
    uint16_t version;              /* the version it speaks on the wire (0: none yet) */
    const char *name;
    const struct nk_step *steps;
    size_t n_steps;
    /* Begin a handshake in `first` (a client sends its ClientHello); NULL: wait. */
    MSTATUS (*start)(struct nk_tls *c);
    /* A server's: run this version on a ClientHello that chose it, parsed by
     * handshake/hello.c; answers as the handler of its ClientHello row. */
    MSTATUS (*client_hello)(struct nk_tls *c, const struct nk_client_hello *ch, const uint8_t *raw,
                            size_t n);
};

extern const struct nk_protocol nk_tls13_client, nk_tls13_server;
extern const struct nk_protocol nk_tls12_client, nk_tls12_server;
extern const struct nk_protocol nk_dtls12_client, nk_dtls12_server;

/* The protocol a connection runs (NK_PROTO_NONE's for an unknown number). */
const struct nk_protocol *nk_hs_proto(const struct nk_tls *c);
const struct nk_protocol *nk_hs_protocol(unsigned id);
/* The state the connection's table is in: ST_CONNECTED once the handshake is over. */
int nk_hs_state(const struct nk_tls *c);
/* The row for this content type and message in the current state, or NULL. */
const struct nk_step *nk_hs_row(const struct nk_tls *c, uint8_t content_type, uint8_t msg);
/* Run the row for a message, then move to the state it names. */
MSTATUS nk_hs_step(struct nk_tls *c, uint8_t content_type, uint8_t msg, struct nk_rd *body,
                   const uint8_t *raw, size_t raw_len) NK_MUST;
/* §5: the compatibility change_cipher_spec; its rows say when it may come. */
MSTATUS nk_hs_on_ccs(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n) NK_MUST;

/* engine → handshake */
/* Begin the handshake in the first protocol of the connection's role (the
 * struct nk_hs is allocated: nk_hs_alloc). */
MSTATUS nk_hs_start(struct nk_tls *c) NK_MUST;
/* The content of handshake records (handshake/hs_input.c). */
MSTATUS nk_hs_input(struct nk_tls *c, const uint8_t *d, size_t n) NK_MUST;
/* The content of a change_cipher_spec record (handshake/hs_input.c). */
MSTATUS nk_hs_ccs(struct nk_tls *c, const uint8_t *d, size_t n) NK_MUST;
void nk_hs_input_free(struct nk_tls *c);   /* the reassembly buffer */
/* Bytes the reassembly buffers of all connections hold now. */
uint64_t nk_hs_memory_held(void);
/* The same budget for DTLS's reassembler (handshake/dtls12_frag.c): take n
 * bytes within limit (NKTLS_LIMIT_HANDSHAKE_MEMORY) or
 * ERR_SSL_HANDSHAKE_MEMORY and nothing taken; give them back when freed. */
MSTATUS nk_hs_memory_take(uint32_t n, uint32_t limit) NK_MUST;
void nk_hs_memory_give(uint32_t n);
/* A message's 4-byte header arrived: unexpected_message for a type this state
 * does not take, decode_error for a length over the type's limit (core/limits.h). */
MSTATUS nk_hs_check_header(struct nk_tls *c, uint8_t type, uint32_t len) NK_MUST;
void nk_hs_free(struct nk_tls *c);
MSTATUS nk_hs_alloc(struct nk_tls *c) NK_MUST;

/* shared helpers (handshake/tls13_common.c) */
/* The rest of r must be the n bytes we sent (a session id, a cookie, a
 * certificate_request_context echoed): illegal_parameter otherwise. */
MSTATUS nk_hs_check_echo(struct nk_rd *r, const uint8_t *sent, size_t n) NK_MUST;
/* A ServerHello's fields (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3, RFC 6347
 * §4.2: the same layout in all three), its extensions split; nothing
 * judged but the form. */
struct nk_ext;
MSTATUS nk_hs_read_server_hello(struct nk_rd *b, uint16_t *version, uint8_t random[32], struct nk_rd *sid,
                                uint16_t *suite, uint8_t *comp, struct nk_ext *e, size_t *ne) NK_MUST;
/* Start a handshake message in hs->msg; finish it (length, transcript, send). */
void nk_hs_begin(struct nk_tls *c, struct nk_wr *w, uint8_t type);
MSTATUS nk_hs_finish(struct nk_tls *c, struct nk_wr *w) NK_MUST;
MSTATUS nk_hs_send_certificate(struct nk_tls *c, const struct nk_identity *id) NK_MUST;
MSTATUS nk_hs_send_cert_verify(struct nk_tls *c) NK_MUST;
MSTATUS nk_hs_send_finished(struct nk_tls *c) NK_MUST;
MSTATUS nk_hs_on_certificate(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n) NK_MUST;
MSTATUS nk_hs_on_cert_verify(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n) NK_MUST;
MSTATUS nk_hs_on_finished(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n) NK_MUST;
MSTATUS nk_hs_on_key_update(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n) NK_MUST;
MSTATUS nk_hs_on_new_session_ticket(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n) NK_MUST;
MSTATUS nk_hs_verify_peer_chain(struct nk_tls *c) NK_MUST;
/* The client asked for OCSP status: judge hs->ocsp_resp (empty: none came). */
MSTATUS nk_hs_check_status(struct nk_tls *c, time_t now) NK_MUST;
/* The verified chain becomes the connection's peer chain (c->peer_chain). */
MSTATUS nk_hs_keep_peer_chain(struct nk_tls *c) NK_MUST;
MSTATUS nk_hs_complete(struct nk_tls *c) NK_MUST;
/* CertificateRequest (§4.3.2) with hs->cr_context (empty in the handshake). */
MSTATUS nk_hs_send_certificate_request(struct nk_tls *c) NK_MUST;
/* The client: a CertificateRequest's body after its context: the extensions,
 * the transcript, and the identity we answer with (NULL: none suits). */
MSTATUS nk_hs_read_certificate_request(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n) NK_MUST;

/* post-handshake authentication (handshake/tls13_pha.c, RFC 8446 §4.6.2) */
/* At the end of a TLS 1.3 handshake: keep the transcript when it may follow. */
void nk_pha_keep(struct nk_tls *c);
void nk_pha_free(struct nk_tls *c);
/* The server asks (SSL_sendPosthandshakeAuthCertificateRequest). */
MSTATUS nk_pha_request(struct nk_tls *c) NK_MUST;
MSTATUS nk_pha_on_finished(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n) NK_MUST;
/* The client answers. */
MSTATUS nk_pha_on_request(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n) NK_MUST;

/* key schedule (handshake/keysched.c), RFC 8446 §7.1 */
MSTATUS nk_ks_derive_secret(enum nk_hash h, const uint8_t *secret, const char *label,
                            const uint8_t *thash, uint8_t *out) NK_MUST;
MSTATUS nk_ks_early(struct nk_hs *hs, const uint8_t *psk, size_t psk_len) NK_MUST;
MSTATUS nk_ks_handshake(struct nk_tls *c, const uint8_t *dhe, size_t dhe_len) NK_MUST;
MSTATUS nk_ks_application(struct nk_tls *c) NK_MUST;
MSTATUS nk_ks_resumption(struct nk_tls *c) NK_MUST;
MSTATUS nk_ks_finished(enum nk_hash h, const uint8_t *base, const uint8_t *thash, uint8_t *out) NK_MUST;
MSTATUS nk_ks_update(enum nk_hash h, uint8_t *secret) NK_MUST;
MSTATUS nk_ks_export(enum nk_hash h, const uint8_t *exporter, const uint8_t *label, size_t llen,
                     const uint8_t *ctx, size_t clen, uint8_t *out, size_t olen) NK_MUST;

/* extensions (handshake/ext.c) */
struct nk_ext {
    uint16_t type;
    uint8_t last;            /* the last extension of its block (§4.2.11: pre_shared_key) */
    struct nk_rd data;
};
/* An extensions block keeps the types nktls reads plus the first unknown one. */
#define NK_MAX_EXTS 24
/* Split an extensions block of any length; duplicates are illegal_parameter (§4.2). */
MSTATUS nk_ext_parse(struct nk_rd *r, struct nk_ext *exts, size_t *n) NK_MUST;
const struct nk_ext *nk_ext_find(const struct nk_ext *exts, size_t n, uint16_t type);
void nk_ext_write_u16_list(struct nk_wr *w, uint16_t type, const uint16_t *v, size_t n);
/* keep: which values to store (once each); NULL stores every non-GREASE value
 * and fails with ERR_SSL_INTERNAL past max. */
MSTATUS nk_ext_read_u16_list(struct nk_rd *r, uint16_t *v, size_t max, size_t *n,
                             int (*keep)(uint16_t)) NK_MUST;
void nk_ext_write_sni(struct nk_wr *w, const char *name);
MSTATUS nk_ext_read_sni(struct nk_rd *r, char *name, size_t cap) NK_MUST;
MSTATUS nk_ext_read_alpn(struct nk_rd *r, struct nk_rd *list) NK_MUST;
/* A server's ALPN extension: the one protocol it chose (RFC 7301 §3.1). */
void nk_ext_write_alpn_choice(struct nk_wr *w, const char *proto);
/* A client's ALPN extension: the application's protocols (SSL_setApplicationLayerProtocol),
 * nothing when it set none; the server's answer, one of those, into c->alpn
 * (illegal_parameter otherwise). */
void nk_ext_write_alpn_offer(const struct nk_tls *c, struct nk_wr *w);
MSTATUS nk_ext_client_on_alpn(struct nk_tls *c, const struct nk_ext *x) NK_MUST;
int nk_ext_is_grease(uint16_t v);

#endif
