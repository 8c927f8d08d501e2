/* handshake/hello.h — the ClientHello as a server first meets it, before any
 * version is chosen (handshake/hello.c). */
#ifndef NK_HELLO_H
#define NK_HELLO_H

#include "handshake/hs.h"

/* RFC 8446 §4.1.2 (RFC 5246 §7.4.1.2 is the same up to the extensions):
 *   ProtocolVersion legacy_version; Random random;
 *   opaque legacy_session_id<0..32>; CipherSuite cipher_suites<2..2^16-2>;
 *   opaque legacy_compression_methods<1..2^8-1>; Extension extensions<8..2^16-1>;
 * The readers are views into the message, which outlives the struct. */
struct nk_client_hello {
    uint16_t legacy_version;
    uint8_t random[32];
    struct nk_rd session_id;       /* <0..32> */
    struct nk_rd suites;           /* whole two-byte suites, one at least */
    struct nk_rd compression;      /* <1..255> */
    struct nk_ext exts[NK_MAX_EXTS];   /* nk_ext_parse's selection */
    size_t n_exts;
    /* supported_versions (§4.2.1): whole two-byte versions, one at least;
     * has_versions is 0 when the extension is absent. */
    struct nk_rd versions;
    int has_versions;
};

/* Parse a ClientHello body and check what holds whatever the version:
 * decode_error for a malformed one, protocol_version for legacy_version
 * 0x0300 or below (Appendix D.5), illegal_parameter for a pre_shared_key
 * that is not the last extension (§4.2.11) or a duplicate extension (§4.2). */
MSTATUS nk_hello_parse(struct nk_rd *body, struct nk_client_hello *ch) NK_MUST;
/* Does the client offer this version: listed in supported_versions, or
 * without it, at most its legacy_version and TLS 1.2 (§4.2.1)? */
int nk_hello_offers(const struct nk_client_hello *ch, uint16_t version);
/* The server's first ClientHello row: parse, choose the version among the
 * server protocols this connection allows (protocol_version when none fits),
 * make it the connection's protocol and run its ClientHello logic. */
MSTATUS nk_hello_on_client_hello(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n) NK_MUST;

/* RFC 7301 §3.2: the application's choice (SSL_setAlpnCallback) among the
 * client's protocols into c->alpn ("" when either has none);
 * no_application_protocol when none of them suits it. TLS 1.3 and 1.2
 * servers both (handshake/tls13_server.c). */
MSTATUS nk_hello_choose_alpn(struct nk_tls *c, const struct nk_client_hello *ch) NK_MUST;

extern const struct nk_protocol nk_hello_server;

#endif
