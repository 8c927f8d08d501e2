/* handshake/hs.h — the TLS 1.3 handshake engines' shared state and helpers.
 * Sans-I/O: handlers consume one handshake message and queue output through the
 * engine (core/engine.c); they never touch sockets or clocks. */
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
};

enum {
    NK_EXT_SERVER_NAME = 0, NK_EXT_SUPPORTED_GROUPS = 10, NK_EXT_SIGNATURE_ALGORITHMS = 13,
    NK_EXT_ALPN = 16, NK_EXT_RECORD_SIZE_LIMIT = 28, NK_EXT_PRE_SHARED_KEY = 41,
    NK_EXT_EARLY_DATA = 42, NK_EXT_SUPPORTED_VERSIONS = 43, NK_EXT_COOKIE = 44,
    NK_EXT_PSK_KEY_EXCHANGE_MODES = 45, NK_EXT_CERTIFICATE_AUTHORITIES = 47,
    NK_EXT_POST_HANDSHAKE_AUTH = 49, NK_EXT_SIGNATURE_ALGORITHMS_CERT = 50, NK_EXT_KEY_SHARE = 51,
};

#define NK_TLS13 0x0304
#define NK_TLS12 0x0303

/* Handshake states. */
enum {
    ST_START = 0,
    /* client */
    ST_C_WAIT_SH, ST_C_WAIT_EE, ST_C_WAIT_CERT_CR, ST_C_WAIT_CERT, ST_C_WAIT_CV, ST_C_WAIT_FIN,
    /* server */
    ST_S_WAIT_CH, ST_S_WAIT_CH2, ST_S_WAIT_CERT, ST_S_WAIT_CV, ST_S_WAIT_FIN,
    ST_CONNECTED,
};

struct tls13PSK;

struct nk_hs {
    int state;
    struct nk_transcript tr;
    uint8_t client_random[32], server_random[32];
    uint8_t session_id[32];
    uint8_t session_id_len;
    int hrr;                         /* a HelloRetryRequest was sent/received */
    int ccs_ok;                      /* an unprotected change_cipher_spec may arrive now */
    int early_skip;                  /* server: skipping the client's 0-RTT data (§4.2.10) */
    uint32_t early_skip_left;        /* bytes of it still allowed (core/limits.h) */

    /* client: our key shares (one, two after HRR at most) */
    EVP_PKEY *kex_priv;
    uint16_t kex_group;
    uint8_t kex_pub[NK_MAX_KEX_PUB]; /* the share sent, for a second ClientHello */
    uint8_t kex_pub_len;
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
};

/* One row of a state table. */
typedef MSTATUS (*nk_hs_handler)(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t raw_len);
struct nk_step {
    int state;
    uint8_t msg;
    nk_hs_handler fn;
};

/* engine → handshake: the content of handshake records (handshake/hs_input.c) */
MSTATUS nk_hs_input(struct nk_tls *c, const uint8_t *d, size_t n) NK_MUST;
void nk_hs_input_free(struct nk_tls *c);   /* the reassembly buffer */
/* Bytes the reassembly buffers of all connections hold now. */
uint64_t nk_hs_memory_held(void);

MSTATUS nk_hs_client_start(struct nk_tls *c) NK_MUST;
MSTATUS nk_hs_message(struct nk_tls *c, uint8_t type, const uint8_t *raw, size_t raw_len) NK_MUST;
/* A message's 4-byte header arrived: unexpected_message for a type this state
 * does not take, decode_error for a length over the type's limit (core/limits.h). */
MSTATUS nk_hs_check_header(struct nk_tls *c, uint8_t type, uint32_t len) NK_MUST;
int nk_hs_table_has(const struct nk_step *tab, size_t n, int state, uint8_t type);
void nk_hs_free(struct nk_tls *c);
MSTATUS nk_hs_alloc(struct nk_tls *c) NK_MUST;

/* shared helpers (handshake/tls13_common.c) */
MSTATUS nk_hs_dispatch(struct nk_tls *c, const struct nk_step *tab, size_t n, uint8_t type,
                       const uint8_t *raw, size_t raw_len) NK_MUST;
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
MSTATUS nk_hs_complete(struct nk_tls *c) NK_MUST;

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
#define NK_MAX_EXTS 16
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
int nk_ext_is_grease(uint16_t v);

#endif
