/* handshake/tls12_ocsp.c — OCSP stapling in TLS 1.2 (RFC 6066 §8). The
 * client's ClientHello asks as in TLS 1.3 (handshake/tls13_client.c); a
 * server that will staple answers with an empty status_request in its
 * ServerHello and sends a CertificateStatus message straight after its
 * Certificate. The client judges the response as in TLS 1.3
 * (nk_hs_check_status, handshake/ocsp.c): when the CertificateStatus comes,
 * or, if the server agreed but sent none ("a server MAY also choose not to
 * send a CertificateStatus message"), at the ServerHelloDone. A server that
 * did not agree leaves it to the Certificate (nk_hs_verify_peer_chain). */
#include "handshake/tls12.h"
#include "handshake/ocsp.h"
#include "handshake/hello.h"

MSTATUS nk_tls12_ocsp_choose(struct nk_tls *c, const struct nk_client_hello *ch)
{
    struct nk_hs *hs = c->hs;
    const struct nk_ext *x = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_STATUS_REQUEST);
    if (x)
        NK_TRY(nk_ocsp_read_request(x, &hs->ocsp_asked));
    if (hs->ocsp_asked && hs->identity && nk_ocsp_has(hs->identity))
        hs->ocsp_asked = NK_OCSP_AGREED;
    return OK;
}

void nk_tls12_ocsp_write_agreed(const struct nk_tls *c, struct nk_wr *w)
{
    /* RFC 6066 §8: "the server MUST include an extension of type
     * "status_request" with empty "extension_data" in the extended server
     * hello" when it sends a CertificateStatus. */
    if (c->hs->ocsp_asked == NK_OCSP_AGREED) {
        nk_wr_u16(w, NK_EXT_STATUS_REQUEST);
        nk_wr_u16(w, 0);
    }
}

MSTATUS nk_tls12_send_cert_status(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    struct nk_wr w;
    if (hs->ocsp_asked != NK_OCSP_AGREED)
        return OK;
    nk_hs_begin(c, &w, NK_HS_CERTIFICATE_STATUS);
    /* The identity keeps a response once it has one (nk_ocsp_has). */
    NK_CHECK(nk_ocsp_write_cert_status(hs->identity, &w), ERR_SSL_INTERNAL);
    return nk_hs_finish(c, &w);
}

MSTATUS nk_tls12_ocsp_server_hello(struct nk_tls *c, const struct nk_ext *e, size_t ne)
{
    const struct nk_ext *x = nk_ext_find(e, ne, NK_EXT_STATUS_REQUEST);
    if (!x)
        return OK;
    /* The TLS 1.3 client let it in only as the answer to ours (an extension
     * we did not send is unsupported_extension); RFC 6066 §8: empty. */
    NK_CHECK(c->hs->ocsp_asked == 1, ERR_SSL_UNSUPPORTED_EXTENSION);
    NK_CHECK(nk_rd_left(&x->data) == 0, ERR_SSL_PROTOCOL);
    c->hs->ocsp_asked = NK_OCSP_AGREED;
    return OK;
}

MSTATUS nk_tls12_on_cert_status(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    uint8_t type;
    struct nk_rd resp;
    /* RFC 6066 §8: only from a server whose ServerHello said it would send
     * one, once, right after its Certificate (the state's row). */
    NK_CHECK(hs->ocsp_asked == NK_OCSP_AGREED, ERR_SSL_UNEXPECTED_MESSAGE);
    NK_TRY(nk_rd_u8(b, &type));
    NK_CHECK(type == NK_OCSP_STATUS_TYPE, ERR_SSL_ILLEGAL_PARAMETER);   /* the type we asked for */
    NK_TRY(nk_rd_vec24(b, &resp, 1, 0xffffff));
    NK_TRY(nk_rd_done(b));
    NK_TRY(nk_transcript_add(&hs->tr, raw, n));
    hs->ocsp_resp.len = 0;
    NK_TRY(nk_buf_append(&hs->ocsp_resp, resp.p, nk_rd_left(&resp)));
    hs->ocsp_asked = NK_OCSP_SETTLED;
    /* "a client that receives an invalid response aborts with
     * bad_certificate_status_response" (ERR_CERT_STATUS's alert). */
    return nk_hs_check_status(c, (time_t)(c->now / 1000));
}

MSTATUS nk_tls12_ocsp_settle(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    if (hs->ocsp_asked != NK_OCSP_AGREED)
        return OK;
    hs->ocsp_asked = NK_OCSP_SETTLED;
    return nk_hs_check_status(c, (time_t)(c->now / 1000));   /* with none */
}
