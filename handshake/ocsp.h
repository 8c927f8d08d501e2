/* handshake/ocsp.h — OCSP stapling (handshake/ocsp.c): the server's responses
 * per identity, the client's check of a stapled one. */
#ifndef NK_HS_OCSP_H
#define NK_HS_OCSP_H

#include <time.h>
#include "core/nk.h"
#include "core/wire.h"
#include "handshake/cert.h"

/* RFC 6066 §8: CertificateStatusType ocsp. */
#define NK_OCSP_STATUS_TYPE 1

struct certStore;

/* Staple this DER OCSPResponse for every identity of the store whose leaf it
 * covers (replacing what it had; safe while handshakes run). ERR_CERT_DECODE:
 * not a successful OCSP response; ERR_INVALID_ARG: for no identity here. */
MSTATUS nk_ocsp_set(struct certStore *s, const uint8_t *der, size_t len) NK_MUST;
void nk_ocsp_release(struct nk_identity *id);
/* Write the leaf's status_request extension (type, length, CertificateStatus)
 * when the identity has a response; 1 if it wrote one. */
int nk_ocsp_write_status(const struct nk_identity *id, struct nk_wr *w);
/* The same CertificateStatus alone (TLS 1.2's message body, RFC 6066 §8);
 * 1 if the identity had a response. */
int nk_ocsp_write_cert_status(const struct nk_identity *id, struct nk_wr *w);
/* Does the identity have a response to staple now? (Once it has one it keeps
 * one: nk_ocsp_set only replaces.) */
int nk_ocsp_has(const struct nk_identity *id);
/* The server: a ClientHello's status_request (x); *asked = 1 when it asks for
 * OCSP (another status_type is ignored). */
struct nk_ext;
MSTATUS nk_ocsp_read_request(const struct nk_ext *x, uint8_t *asked) NK_MUST;
/* Check a stapled response for chain[0] (the peer's chain as sent): signed by
 * the leaf's issuer or its delegated responder, chained to the store's trust
 * points, naming the leaf, fresh at now, good. ERR_CERT_REVOKED, or
 * ERR_CERT_STATUS for anything else that is not good. */
MSTATUS nk_ocsp_check(const uint8_t *resp, size_t resp_len, const struct nk_der *chain, size_t chain_len,
                      const struct certStore *store, time_t now) NK_MUST;
/* RFC 7633: the certificate says its server must staple (TLS Feature
 * status_request). */
int nk_ocsp_must_staple(const uint8_t *leaf_der, size_t len);

#endif
