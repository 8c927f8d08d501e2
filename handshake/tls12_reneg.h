/* handshake/tls12_reneg.h — TLS 1.2 renegotiation (RFC 5246 §7.4.1, RFC 5746):
 * the renegotiation_info extension in every hello, the verify_data it binds,
 * a new handshake under the current keys on an established connection, and
 * the policy that says when one may happen (handshake/tls12_reneg.c). */
#ifndef NK_TLS12_RENEG_H
#define NK_TLS12_RENEG_H

#include "handshake/hs.h"

struct nk_client_hello;

/* ---- the extension, in the hellos of every handshake (RFC 5746 §3) ---- */

/* Client: our ClientHello's renegotiation_info (empty in the first one). */
void nk_reneg_write_client_info(const struct nk_tls *c, struct nk_wr *w);
/* Server: the ClientHello's extension and SCSV (§3.6, §3.7). */
MSTATUS nk_reneg_check_client_info(struct nk_tls *c, const struct nk_client_hello *ch) NK_MUST;
/* Server: our ServerHello's, when the client signalled support. */
void nk_reneg_write_server_info(const struct nk_tls *c, struct nk_wr *w);
/* Client: the ServerHello's extension (x; NULL when absent) (§3.4, §3.5). */
MSTATUS nk_reneg_check_server_info(struct nk_tls *c, const struct nk_ext *x) NK_MUST;
/* A Finished's verify_data, sent or checked: the next renegotiation binds it. */
void nk_reneg_keep_verify(struct nk_tls *c, int client, const uint8_t *vd);
/* The handshake is about to end (before nk_hs_complete frees c->hs). */
MSTATUS nk_reneg_complete(struct nk_tls *c) NK_MUST;

/* Server, renegotiating: the connection keeps its ALPN protocol (RFC 7301
 * §3.1); the ClientHello's offer must name it (no_application_protocol
 * else); *answer: echo c->alpn in the ServerHello. The callback is not asked. */
MSTATUS nk_reneg_server_alpn(struct nk_tls *c, const struct nk_client_hello *ch, int *answer) NK_MUST;

/* ---- state-table rows ---- */

/* Server, connected: a ClientHello asks to renegotiate. */
MSTATUS nk_reneg_on_client_hello(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n) NK_MUST;
/* Client, connected: the server's HelloRequest. */
MSTATUS nk_reneg_on_hello_request(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n) NK_MUST;
/* Client: the ServerHello answering our renegotiation ClientHello. */
MSTATUS nk_reneg_on_server_hello(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n) NK_MUST;

/* ---- the engine and the API ---- */

/* Whether this connection may start a renegotiation now: OK, or why not
 * (ERR_SSL_RENEGOTIATION_TLS13, _INSECURE, _KTLS; ERR_SSL_BAD_STATE while
 * one runs). Nothing changes. */
MSTATUS nk_reneg_may_start(const struct nk_tls *c) NK_MUST;
/* Start one (after nk_reneg_may_start): a server queues a HelloRequest, a
 * client its ClientHello. */
MSTATUS nk_reneg_start(struct nk_tls *c) NK_MUST;
/* The peer answered with a no_renegotiation warning: what we started ends. */
void nk_reneg_refused(struct nk_tls *c);
/* n bytes of application data are about to be sent: the automatic
 * renegotiation of sslSettings.maxByteCount / maxTimerCountForRehandShake. */
MSTATUS nk_reneg_on_write(struct nk_tls *c, size_t n) NK_MUST;
/* A renegotiation's handshake is running (SSL_CONNECTION_RENEGOTIATE). */
int nk_reneg_running(const struct nk_tls *c);

#endif
