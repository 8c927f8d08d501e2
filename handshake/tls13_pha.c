/* handshake/tls13_pha.c — post-handshake client authentication (RFC 8446
 * §4.6.2): after the handshake the server sends a CertificateRequest with a
 * fresh certificate_request_context; the client answers with Certificate,
 * CertificateVerify (when it has a certificate) and Finished. Both ends
 * compute those over the handshake's transcript (ClientHello .. client
 * Finished) followed by the request and the answer (§4.4), so each keeps that
 * transcript's hash state (c->pha_md) when post-handshake authentication may
 * follow: the client offered post_handshake_auth, and on the server the
 * application allowed it too (SSL_FLAG_ENABLE_POST_HANDSHAKE_AUTH on both). */
#include <openssl/evp.h>
#include "handshake/hs.h"

/* §4.6.2: the context is unique within the connection; 16 random bytes. */
#define PHA_CONTEXT_LEN 16

void nk_pha_keep(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    if (!hs->pha || c->minor != 4 || !hs->tr.hash_known)
        return;
    c->pha_md = hs->tr.ctx;   /* taken: nk_hs_free frees what is left */
    hs->tr.ctx = NULL;
    hs->tr.hash_known = 0;
}

void nk_pha_free(struct nk_tls *c)
{
    EVP_MD_CTX_free(c->pha_md);
    c->pha_md = NULL;
}

/* A handshake state for one exchange, its transcript the handshake's. The
 * Finished of §4.4.4 is keyed from client_application_traffic_secret_N: the
 * current one, which the handshake's Finished code finds in c_hs. */
static MSTATUS pha_begin(struct nk_tls *c)
{
    NK_TRY(nk_hs_alloc(c));
    struct nk_hs *hs = c->hs;
    hs->hash = c->suite->hash;
    MSTATUS st = nk_transcript_copy_from(&hs->tr, c->pha_md, hs->hash);
    if (st == OK) {
        size_t hl = nk_hash_len(hs->hash);
        memcpy(hs->c_hs, c->c_ap, hl);
        hs->pha_exchange = 1;
    }
    if (st < 0)
        nk_hs_free(c);
    return st;
}

MSTATUS nk_pha_request(struct nk_tls *c)
{
    NK_CHECK(c->role == NK_SERVER && c->minor == 4, ERR_SSL_BAD_STATE);
    /* The client did not offer post_handshake_auth (or we did not allow it):
     * §4.6.2 forbids the request. One exchange at a time. */
    NK_CHECK(c->pha_md, ERR_SSL_BAD_STATE);
    NK_CHECK(!c->hs, ERR_SSL_BAD_STATE);
    NK_TRY(pha_begin(c));
    struct nk_hs *hs = c->hs;
    hs->state = ST_S_PHA_WAIT_CERT;
    hs->cert_requested = 1;
    hs->cr_context_len = PHA_CONTEXT_LEN;
    MSTATUS st = nk_random(hs->cr_context, PHA_CONTEXT_LEN);
    if (st == OK)
        st = nk_hs_send_certificate_request(c);
    if (st < 0)
        nk_hs_free(c);
    return st;
}

/* The server: the answer's Finished ends the exchange. An empty Certificate
 * ends it too, without authentication, unless the connection requires a
 * client certificate (§4.4.2.4: certificate_required; nk_hs_on_certificate). */
MSTATUS nk_pha_on_finished(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    NK_TRY(nk_hs_on_finished(c, b, raw, n));
    if (c->hs->peer_chain_len)
        NK_TRY(nk_hs_keep_peer_chain(c));
    nk_hs_free(c);
    return OK;
}

/* The client: a CertificateRequest after the handshake. §4.6.2: "A client
 * that receives a CertificateRequest message without having sent the
 * "post_handshake_auth" extension MUST send an "unexpected_message" fatal
 * alert." Otherwise the whole answer goes out at once. */
MSTATUS nk_pha_on_request(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_rd ctx;
    NK_CHECK(c->pha_md, ERR_SSL_UNEXPECTED_MESSAGE);
    NK_TRY(pha_begin(c));
    struct nk_hs *hs = c->hs;
    MSTATUS st = nk_rd_vec8(b, &ctx, 0, 255);
    if (st == OK) {   /* §4.3.2: the context, echoed in our Certificate */
        hs->cr_context_len = (uint8_t)nk_rd_left(&ctx);
        st = nk_rd_copy(&ctx, hs->cr_context, hs->cr_context_len);
    }
    if (st == OK)
        st = nk_hs_read_certificate_request(c, b, raw, n);
    if (st == OK)   /* §4.4.2: with no suitable certificate, an empty one */
        st = nk_hs_send_certificate(c, hs->identity);
    if (st == OK && hs->identity)
        st = nk_hs_send_cert_verify(c);
    if (st == OK)
        st = nk_hs_send_finished(c);
    nk_hs_free(c);
    return st;
}
