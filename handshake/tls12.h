/* handshake/tls12.h — what the TLS 1.2 client and server (RFC 5246) share
 * (handshake/tls12_common.c): the suites they speak, the Certificate message
 * in its TLS 1.2 form, the ECDHE ServerKeyExchange's signed content, the
 * key derivation through handshake/keysched12.c, ChangeCipherSpec, Finished,
 * and what the connection keeps for the exporter; the key exchanges
 * (handshake/tls12_kx.c). No renegotiation (resumption: handshake/tls12_resume.h). */
#ifndef NK_TLS12_H
#define NK_TLS12_H

#include "handshake/hs.h"
#include "handshake/keysched12.h"
#include "handshake/heartbeat.h"

/* RFC 5746 §3.3: the signalling cipher suite value. */
#define NK_TLS12_SCSV_RENEG 0x00ff
/* RFC 7507 §6: TLS_FALLBACK_SCSV. */
#define NK_TLS12_SCSV_FALLBACK 0x5600
/* RFC 5746 §4.5 / RFC 5246 §7.2.2: no_renegotiation, a warning. */
#define NK_ALERT_NO_RENEGOTIATION 100
/* RFC 8422 §5.4: ECCurveType named_curve. */
#define NK_TLS12_NAMED_CURVE 3

/* RFC 8446 §4.1.3: the last 8 bytes of a TLS 1.3 server's random when it
 * negotiates TLS 1.2 ("DOWNGRD" 01) or below ("DOWNGRD" 00). */
extern const uint8_t nk_tls12_downgrade[8];

/* Certificate (RFC 5246 §7.4.2): certificate_list<0..2^24-1> of
 * ASN.1Cert<1..2^24-1>, leaf first. */
MSTATUS nk_tls12_send_certificate(struct nk_tls *c, const struct nk_identity *id) NK_MUST;
MSTATUS nk_tls12_on_certificate(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n) NK_MUST;

/* RFC 8422 §5.4: what a ServerKeyExchange signs: client_random +
 * server_random + ServerECDHParams (params, plen bytes). */
size_t nk_tls12_ske_content(const struct nk_hs *hs, const uint8_t *params, size_t plen, uint8_t *out);
/* The longest parameters we write or accept: ServerDHParams of ffdhe8192
 * (p and Ys 1024 bytes, g at most 8, three 2-byte lengths); a
 * ServerECDHParams is shorter. */
#define NK_TLS12_SKE_PARAMS (6 + 2 * NK_MAX_KEX_PUB + 8)
#define NK_TLS12_SKE_CONTENT (64 + NK_TLS12_SKE_PARAMS)

/* After the ClientKeyExchange is in the transcript: the (extended) master
 * secret from the ECDHE secret, and the key block for both directions. */
MSTATUS nk_tls12_derive(struct nk_tls *c, const uint8_t *pms, size_t pms_len) NK_MUST;
/* The peer's ChangeCipherSpec (RFC 5246 §7.1): its read key goes on. */
MSTATUS nk_tls12_on_ccs(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n) NK_MUST;
/* Our ChangeCipherSpec, then our write key. */
MSTATUS nk_tls12_send_ccs(struct nk_tls *c) NK_MUST;
MSTATUS nk_tls12_send_finished(struct nk_tls *c) NK_MUST;
MSTATUS nk_tls12_on_finished(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n) NK_MUST;
/* The handshake is over: keep what the exporter needs, free the rest. */
MSTATUS nk_tls12_complete(struct nk_tls *c) NK_MUST;
/* RFC 5705 exporter of an open TLS 1.2 connection. */
MSTATUS nk_tls12_conn_export(const struct nk_tls *c, const uint8_t *label, size_t llen, const uint8_t *ctx,
                             size_t clen, uint8_t *out, size_t olen) NK_MUST;

/* The client: a ServerHello without supported_versions came to the TLS 1.3
 * client, which read it (its extensions are ones we sent); this takes the
 * connection into TLS 1.2. NK_HS_ALT when the session id resumes ours. */
MSTATUS nk_tls12_on_server_hello(struct nk_tls *c, uint16_t version, struct nk_rd sid, uint16_t suite,
                                 uint8_t comp, const struct nk_ext *e, size_t ne, const uint8_t *raw,
                                 size_t n) NK_MUST;
/* Key exchange (handshake/tls12_kx.c), ECDHE or DHE as the suite says.
 * Server: the FFDHE group for a DHE suite given the client's supported_groups
 * list (NULL: none sent), 0 when none may be used (RFC 7919 §4); our
 * ServerKeyExchange parameters (a fresh key pair), appended to params; the
 * premaster secret from the ClientKeyExchange body.
 * Client: the parameters read and checked (a curve or FFDHE group we
 * offered), c->group set, the server's public value left in *peer for after
 * the signature check; then our key pair and the premaster secret into
 * hs->pms; then our public value for the ClientKeyExchange. RSA key
 * transport has no parameters: the server decrypts the premaster secret
 * with its certificate's key; the client makes and encrypts it. 
 * DH values out of range are ERR_SSL_BAD_DH_VALUE (handshake_failure). */
uint16_t nk_tls12_dhe_group(const struct nk_tls *c, const struct nk_rd *client_groups);
MSTATUS nk_tls12_kx_server_params(struct nk_tls *c, struct nk_buf *params) NK_MUST;
MSTATUS nk_tls12_kx_server_secret(struct nk_tls *c, struct nk_rd *b, uint8_t *pms, size_t *pms_len) NK_MUST;
MSTATUS nk_tls12_kx_client_params(struct nk_tls *c, struct nk_rd *b, struct nk_rd *peer) NK_MUST;
MSTATUS nk_tls12_kx_client_secret(struct nk_tls *c, struct nk_rd peer) NK_MUST;
/* PSK suites (handshake/tls12_psk.c). Server: whether a PSK can be looked
 * up at all; our ServerKeyExchange (omitted for plain PSK without a hint);
 * the ClientKeyExchange read, the PSK found (ERR_SSL_UNKNOWN_PSK_IDENTITY:
 * unknown_psk_identity) and the keys derived. Client: the
 * ServerKeyExchange's handler; the identity and key chosen by the
 * ServerHelloDone (ERR_SSL_NO_PSK: none); the ClientKeyExchange; the keys. */
int nk_tls12_psk_server_has(const struct nk_tls *c);
MSTATUS nk_tls12_psk_send_ske(struct nk_tls *c) NK_MUST;
MSTATUS nk_tls12_psk_server_derive(struct nk_tls *c, struct nk_rd *b) NK_MUST;
MSTATUS nk_tls12_psk_on_ske(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n) NK_MUST;
MSTATUS nk_tls12_psk_client_ready(struct nk_tls *c) NK_MUST;
void nk_tls12_psk_write_cke(struct nk_tls *c, struct nk_wr *w);
MSTATUS nk_tls12_psk_client_derive(struct nk_tls *c) NK_MUST;
/* Client, RSA key transport (no ServerKeyExchange): the premaster secret into
 * hs->pms and its encryption to the server's key as our public value. */
MSTATUS nk_tls12_kx_client_rsa(struct nk_tls *c) NK_MUST;
/* The certificate lets its key take an RSA key transport (keyEncipherment,
 * RFC 5246 §7.4.2); a client refuses one that does not with
 * ERR_CERT_KEY_USAGE, a server does not choose such a suite. */
int nk_tls12_rsa_kx_allowed(X509 *leaf);
/* RFC 5246 §7.4.7.1: the RSA-transported premaster secret's length. */
#define NK_TLS12_PMS 48
void nk_tls12_kx_write_client_public(const struct nk_tls *c, struct nk_wr *w);

/* The client: the TLS 1.2 extensions (extended_master_secret,
 * renegotiation_info, and encrypt_then_mac when it offers a CBC suite). */
void nk_tls12_write_client_exts(const struct nk_tls *c, struct nk_wr *w);
int nk_tls12_offers_cbc(const struct nk_tls *c);

/* Our TLS 1.2 signature schemes, list `which` (NK_SIGS_*): the
 * application's when it set one, else the TLS 1.3 default followed by
 * rsa_pkcs1_sha256/384/512; SHA-1 ones (rsa_pkcs1_sha1, ecdsa_sha1) last,
 * and only while SSL_setSha1SigAlg allows them. */
#define NK_TLS12_MAX_SIGS (NK_SIGS_MAX + 9)   /* + dsa_*, with a DHE_DSS suite */
size_t nk_tls12_sigs(const struct nk_tls *c, int which, uint16_t out[NK_TLS12_MAX_SIGS]);
int nk_tls12_sig_listed(const struct nk_tls *c, int which, uint16_t scheme);

/* Client authentication (handshake/tls12_auth.c), RFC 5246 §7.4.4-§7.4.8.
 * Server: does this connection ask for a client certificate (the TLS 1.3
 * server's flags)? Then the CertificateRequest; after the client's
 * ClientKeyExchange, did its Certificate carry one (a CertificateVerify
 * follows)? The CertificateVerify itself. */
int nk_tls12_wants_client_cert(const struct nk_tls *c);
MSTATUS nk_tls12_send_certificate_request(struct nk_tls *c) NK_MUST;
int nk_tls12_client_sent_cert(const struct nk_tls *c);
MSTATUS nk_tls12_on_cert_verify(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n) NK_MUST;
/* Client: the CertificateRequest, then our Certificate (before the
 * ClientKeyExchange) and CertificateVerify (after it); each does nothing
 * when it has no place. */
MSTATUS nk_tls12_on_certificate_request(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n) NK_MUST;
MSTATUS nk_tls12_send_client_certificate(struct nk_tls *c) NK_MUST;
MSTATUS nk_tls12_send_cert_verify(struct nk_tls *c) NK_MUST;

/* Anonymous suites (handshake/tls12_anon.c), RFC 5246 §7.4.2-§7.4.4: only
 * where the application enabled one. Is a suite of this authentication
 * (anonymous, DSS) enabled here; the server's
 * one to choose among those offered (NULL: none, or we ask for a client
 * certificate, which an anonymous server must not). */
int nk_tls12_auth_enabled(const struct nk_tls *c, uint8_t auth);   /* enum nk_auth */
const struct nk_suite *nk_tls12_anon_pick(const struct nk_tls *c, struct nk_rd offered, unsigned kx_ok);

/* ServerHello extensions (handshake/tls12_ext.c). The server: its answers
 * to the client's server_name, ec_point_formats, ALPN (chosen here),
 * record_size_limit or else max_fragment_length, written into the open
 * extensions block. The client: the
 * server's record_size_limit. */
struct nk_client_hello;
MSTATUS nk_tls12_server_hello_exts(struct nk_tls *c, const struct nk_client_hello *ch, struct nk_wr *w) NK_MUST;
MSTATUS nk_tls12_on_record_size_limit(struct nk_tls *c, const struct nk_ext *x) NK_MUST;

/* OCSP stapling (handshake/tls12_ocsp.c, RFC 6066 §8). hs->ocsp_asked
 * beyond 1 (asked): the ServerHello agreed (a CertificateStatus may follow
 * the server's Certificate), then the status was judged. Server: the
 * ClientHello's request, agreed when the chosen identity has a response;
 * the ServerHello's empty extension; the CertificateStatus. Client: the
 * ServerHello's extension; the CertificateStatus message; at the
 * ServerHelloDone, the verdict on an agreed status that never came. */
#define NK_OCSP_AGREED 2
#define NK_OCSP_SETTLED 3
MSTATUS nk_tls12_ocsp_choose(struct nk_tls *c, const struct nk_client_hello *ch) NK_MUST;
void nk_tls12_ocsp_write_agreed(const struct nk_tls *c, struct nk_wr *w);
MSTATUS nk_tls12_send_cert_status(struct nk_tls *c) NK_MUST;
MSTATUS nk_tls12_ocsp_server_hello(struct nk_tls *c, const struct nk_ext *e, size_t ne) NK_MUST;
MSTATUS nk_tls12_on_cert_status(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n) NK_MUST;
MSTATUS nk_tls12_ocsp_settle(struct nk_tls *c) NK_MUST;

#endif
