/* handshake/tls12_ext.c — the TLS 1.2 server's answers, in its ServerHello,
 * to the client's extensions that TLS 1.3 answers in EncryptedExtensions:
 * server_name (RFC 6066 §3), ALPN (RFC 7301), record_size_limit (RFC 8449),
 * and those only TLS 1.2 has here: ec_point_formats (RFC 8422 §5.2) and
 * max_fragment_length (RFC 6066 §4). */
#include "handshake/tls12.h"
#include "handshake/hello.h"
#include "handshake/dtls12.h"
#include "handshake/tls12_reneg.h"

MSTATUS nk_tls12_server_hello_exts(struct nk_tls *c, const struct nk_client_hello *ch, struct nk_wr *w)
{
    const struct nk_ext *x;
    /* RFC 6066 §3: a server that used the name "SHALL include an extension
     * of type "server_name" in the (extended) server hello. The
     * "extension_data" field of this extension SHALL be empty." Only in
     * answer to this hello's (a renegotiating one may have none: the
     * connection's name stays). */
    if (c->server_name && c->server_name[0] && nk_ext_find(ch->exts, ch->n_exts, NK_EXT_SERVER_NAME)) {
        nk_wr_u16(w, NK_EXT_SERVER_NAME);
        nk_wr_u16(w, 0);
    }
    /* RFC 8422 §5.2: answer the client's ec_point_formats with ours,
     * uncompressed only (the client's list holds it: read_tls12_exts). */
    if (nk_ext_find(ch->exts, ch->n_exts, NK_EXT_EC_POINT_FORMATS)) {
        nk_wr_u16(w, NK_EXT_EC_POINT_FORMATS);
        nk_wr_u16(w, 2);
        nk_wr_u8(w, 1);
        nk_wr_u8(w, 0);
    }
    nk_tls12_ocsp_write_agreed(c, w);
    (void)nk_hb_write_ext(c, w);   /* RFC 6520 §2: in answer to the client's */
    int answer = 0;
    if (c->hs->reneg) {
        NK_TRY(nk_reneg_server_alpn(c, ch, &answer));
    } else {
        NK_TRY(nk_hello_choose_alpn(c, ch));
        answer = c->alpn[0] != 0;
    }
    if (answer)
        nk_ext_write_alpn_choice(w, c->alpn);
    nk_dtls_srtp_write_server(c, w);   /* DTLS-SRTP's use_srtp (handshake/dtls12_srtp.c) */
    if ((x = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_RECORD_SIZE_LIMIT))) {
        struct nk_rd r = x->data;
        uint16_t lim;
        NK_TRY(nk_rd_u16(&r, &lim));
        NK_TRY(nk_rd_done(&r));
        /* RFC 8449 §4: below 64 is illegal_parameter; above the TLS 1.2
         * maximum (2^14) a server MUST NOT refuse (a client that also offers
         * TLS 1.3 says 2^14+1): our records are never larger anyway. In TLS
         * 1.2 the limit is the plaintext, no content type inside. */
        NK_CHECK(lim >= 64, ERR_SSL_ILLEGAL_PARAMETER);
        c->send_limit = lim < NK_MAX_PLAIN ? lim : NK_MAX_PLAIN;
        nk_wr_u16(w, NK_EXT_RECORD_SIZE_LIMIT);
        nk_wr_u16(w, 2);
        nk_wr_u16(w, NK_MAX_PLAIN);   /* we take any record TLS 1.2 allows */
    } else if ((x = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_MAX_FRAGMENT_LENGTH))) {
        /* RFC 8449 §5: "A server that supports the record_size_limit
         * extension MUST ignore a max_fragment_length that appears in a
         * ClientHello if both extensions appear" — hence the else. */
        struct nk_rd r = x->data;
        uint8_t code;
        NK_TRY(nk_rd_u8(&r, &code));
        NK_TRY(nk_rd_done(&r));
        /* RFC 6066 §4: 2^9 (1), 2^10 (2), 2^11 (3), 2^12 (4); "If a server
         * receives a maximum fragment length negotiation request for a value
         * other than the allowed values, it MUST abort the handshake with an
         * illegal_parameter alert." Accepted, the same value is echoed and
         * from here on no record we send is longer (our Certificate, too). */
        NK_CHECK(code >= 1 && code <= 4, ERR_SSL_ILLEGAL_PARAMETER);
        c->send_limit = (uint16_t)(1u << (8 + code));
        nk_wr_u16(w, NK_EXT_MAX_FRAGMENT_LENGTH);
        nk_wr_u16(w, 1);
        nk_wr_u8(w, code);
    }
    return OK;
}

/* The client: the server's record_size_limit in a TLS 1.2 ServerHello. */
MSTATUS nk_tls12_on_record_size_limit(struct nk_tls *c, const struct nk_ext *x)
{
    struct nk_rd r = x->data;
    uint16_t lim;
    NK_TRY(nk_rd_u16(&r, &lim));
    NK_TRY(nk_rd_done(&r));
    /* RFC 8449 §4: at least 64; "A client MAY abort the handshake with an
     * illegal_parameter alert if the record_size_limit extension includes a
     * value greater than the maximum record size permitted by the
     * negotiated protocol version", 2^14 in TLS 1.2: we do. */
    NK_CHECK(lim >= 64 && lim <= NK_MAX_PLAIN, ERR_SSL_ILLEGAL_PARAMETER);
    c->send_limit = lim;
    return OK;
}
