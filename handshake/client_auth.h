/* handshake/client_auth.h — what a client authenticates with, beyond the store
 * it connected with, and the server's list of the authorities it accepts:
 * SSL_setClientCertAuthorityCallback, SSL_setClientCertCallback,
 * SSL_populateMutualAuthCertStore and funcPtrMutualAuthCertificateVerify
 * (api/client_auth.c), certificate_authorities (RFC 8446 §4.2.4, RFC 5246
 * §7.4.4). Rare: the state lives behind c->cauth, allocated only when an
 * application sets one of them. */
#ifndef NK_HS_CLIENT_AUTH_H
#define NK_HS_CLIENT_AUTH_H

#include "handshake/tls.h"
#include "core/wire.h"

struct nk_identity;

struct nk_cauth {
    funcPtrClientCertAuthorityCallback_t ca_cb;   /* the server's list, to the application */
    funcPtrClientCertCallback_t cert_cb;          /* the application chooses an identity */
    /* api/client_auth.c: asks cert_cb and makes `own` of its answer; set with it */
    MSTATUS (*choose)(struct nk_tls *c, int *declined);
    void (*release)(struct certStore **s);        /* frees `own` (CERT_STORE_releaseStore) */
    struct certStore *own;   /* this connection's identity (populate, or cert_cb's last answer) */
};

/* c->cauth, allocated on first use. */
MSTATUS nk_cauth_get(struct nk_tls *c, struct nk_cauth **out) NK_MUST;
void nk_cauth_free(struct nk_tls *c);

/* The client, on a CertificateRequest: the authorities the server named
 * (cas: the DistinguishedName list's content, possibly empty) go to the
 * application; then the store to choose our identity from: NULL for none
 * (SSL_FLAG_NO_MUTUAL_AUTH_REPLY, or the application declined). */
MSTATUS nk_cauth_request(struct nk_tls *c, struct nk_rd cas, const struct certStore **from) NK_MUST;

/* Sign our CertificateVerify (msg: what is signed, unhashed): the client's
 * through funcPtrMutualAuthCertificateVerify when the application set it,
 * else with the identity's key (TLS 1.2's rules when tls12). */
MSTATUS nk_cauth_sign(struct nk_tls *c, const struct nk_identity *id, uint16_t scheme, int tls12,
                      const uint8_t *msg, size_t n, uint8_t *sig, size_t *sig_len) NK_MUST;

/* The server: the subjects of the trust points it verifies client
 * certificates with, each as a DistinguishedName<1..2^16-1>, into w (no
 * outer length). Writes nothing when they are unknown (system trust), too
 * many (NK_CA_NAMES_MAX), or the application hides them
 * (NKTLS_FLAG_NO_CLIENT_CA_NAMES). */
void nk_ca_names_write(const struct nk_tls *c, struct nk_wr *w);
/* The same as the TLS 1.3 certificate_authorities extension (§4.2.4), or nothing. */
void nk_ca_names_ext(const struct nk_tls *c, struct nk_wr *w);

/* The most bytes of names a CertificateRequest carries: a store of a few
 * dozen private roots fits; a bigger one sends none, as an incomplete list
 * would turn away clients of the roots left out. */
#define NK_CA_NAMES_MAX 16384

#endif
