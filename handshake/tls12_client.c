/* handshake/tls12_client.c — the TLS 1.2 client (RFC 5246 §7.3): full
 * handshakes over ECDHE (RFC 8422), DHE (RFC 7919) or RSA key transport
 * (handshake/tls12_kx.c), extended master secret required (RFC 7627),
 * secure renegotiation (RFC 5746, handshake/tls12_reneg.c). The TLS 1.3 client's ClientHello
 * offers TLS 1.2 too when the connection allows it; its ServerHello handler
 * brings a TLS 1.2 ServerHello here. */
#include "handshake/tls12.h"
#include "handshake/tls12_resume.h"
#include "handshake/tls12_reneg.h"

MSTATUS nk_tls12_on_server_hello(struct nk_tls *c, uint16_t version, struct nk_rd sid, uint16_t suite,
                                 uint8_t comp, const struct nk_ext *e, size_t ne, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    /* RFC 5246 §7.4.1.3: a suite and a compression method we offered. */
    NK_CHECK(version == NK_TLS12, ERR_SSL_UNSUPPORTED_VERSION);
    NK_CHECK(nk_tls_suite_enabled(c, nk_suite12_by_id(suite)), ERR_SSL_ILLEGAL_PARAMETER);
    NK_CHECK(comp == 0, ERR_SSL_ILLEGAL_PARAMETER);
    /* RFC 7627 §5.3: we require the extended master secret unless the
     * application allows servers without it; one that does not echo the
     * extension then gets handshake_failure. */
    const struct nk_ext *x = nk_ext_find(e, ne, NK_EXT_EXTENDED_MASTER_SECRET);
    NK_CHECK(x || c->ems_optional, ERR_SSL_HANDSHAKE_FAILURE);
    NK_CHECK(!x || nk_rd_left(&x->data) == 0, ERR_SSL_PROTOCOL);
    hs->ems = x != NULL;
    /* RFC 5746 §3.4, §3.5 (tls12_reneg.c). */
    NK_TRY(nk_reneg_check_server_info(c, nk_ext_find(e, ne, NK_EXT_RENEGOTIATION_INFO)));
    c->suite = nk_suite12_by_id(suite);
    NK_TRY(nk_tls12_ocsp_server_hello(c, e, ne));
    x = nk_ext_find(e, ne, NK_EXT_HEARTBEAT);
    NK_TRY(nk_hb_read_ext(c, x ? &x->data : NULL));
    /* RFC 7366 §3: the server answers encrypt_then_mac (empty) only with a
     * CBC suite ("MUST NOT send an encrypt-then-MAC response extension"
     * with an AEAD one); server_hello12 let it in only if we asked. */
    if ((x = nk_ext_find(e, ne, NK_EXT_ENCRYPT_THEN_MAC))) {
        NK_CHECK(nk_rd_left(&x->data) == 0, ERR_SSL_PROTOCOL);
        NK_CHECK(c->suite->aead == NK_AES_CBC, ERR_SSL_ILLEGAL_PARAMETER);
        hs->etm = 1;
    }
    hs->hash = c->suite->hash;
    /* Our TLS 1.3 key share is of no use now. */
    nk_kex_free(hs->kex_priv);
    hs->kex_priv = NULL;
    /* Until we know whether a CertificateRequest comes, the messages are
     * kept for the CertificateVerify it would need (RFC 5246 §7.4.8). */
    hs->tr.keep = 1;
    NK_TRY(nk_transcript_set_hash(&hs->tr, hs->hash));
    NK_TRY(nk_transcript_add(&hs->tr, raw, n));
    c->proto = NK_PROTO_TLS12_CLIENT;
    MSTATUS st = nk_tls12_client_resume(c, sid, e, ne);   /* NK_HS_ALT: resumed */
    /* RFC 5246 §7.4.2: an anonymous server sends no Certificate; RFC 4279
     * §2: nor does a PSK suite's (a ServerKeyExchange, or for plain PSK
     * without a hint the ServerHelloDone, comes next). */
    int no_cert = c->suite->auth == NK_AUTH_ANON || c->suite->auth == NK_AUTH_PSK;
    return st == OK && no_cert ? NK_HS_ALT2 : st;
}

/* The suite's authentication matches the server's key. */
static int key_fits_suite(const struct nk_tls *c, EVP_PKEY *pub)
{
    enum nk_key_type t = nk_key_type_of(pub);
    if (c->suite->auth == NK_AUTH_RSA)
        return t == NK_KEY_RSA || t == NK_KEY_RSA_PSS;
    if (c->suite->auth == NK_AUTH_DSA)
        return t == NK_KEY_DSA;
    /* RFC 8422 §2: an ECDSA- or EdDSA-capable key. */
    return t == NK_KEY_EC_P256 || t == NK_KEY_EC_P384 || t == NK_KEY_EC_P521 || t == NK_KEY_ED25519
           || t == NK_KEY_ED448;
}

/* RFC 8422 §5.4 ServerECDHParams (a named curve we offered and its point)
 * or RFC 5246 §7.4.3 ServerDHParams (an FFDHE group we offered, RFC 7919
 * §3), signed over both randoms with a scheme we offered. The premaster
 * secret is computed now and kept until the ClientKeyExchange is in the
 * transcript. */
static MSTATUS on_server_key_exchange(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    const uint8_t *params = b->p;
    uint16_t scheme;
    struct nk_rd peer, sig;
    /* RFC 5246 §7.4.3: not sent for RSA key transport. */
    NK_CHECK(c->suite->kx != NK_KX_RSA, ERR_SSL_UNEXPECTED_MESSAGE);
    if (c->suite->auth == NK_AUTH_PSK)
        return nk_tls12_psk_on_ske(c, b, raw, n);
    NK_TRY(nk_tls12_kx_client_params(c, b, &peer));   /* a curve or FFDHE group we offered */
    size_t plen = (size_t)(b->p - params);
    NK_CHECK(plen <= NK_TLS12_SKE_PARAMS, ERR_SSL_ILLEGAL_PARAMETER);
    if (c->suite->auth == NK_AUTH_ANON) {   /* RFC 5246 §7.4.3: unsigned */
        NK_TRY(nk_rd_done(b));
        NK_TRY(nk_tls12_kx_client_secret(c, peer));
        return nk_transcript_add(&hs->tr, raw, n);
    }
    NK_TRY(nk_rd_u16(b, &scheme));
    NK_TRY(nk_rd_vec16(b, &sig, 1, 0xffff));
    NK_TRY(nk_rd_done(b));
    /* RFC 5246 §7.4.3: "the hash and signature algorithms MUST be a pair
     * listed in [the client's signature_algorithms]": one we offered (our
     * ClientHello lists TLS 1.3's, then TLS 1.2's own: nk_tls12_sigs),
     * illegal_parameter otherwise. */
    NK_CHECK(nk_tls12_sig_listed(c, NK_SIGS_OFFERED, scheme), ERR_SSL_SIGALG_NOT_OFFERED);
    NK_CHECK(nk_tls12_sig_listed(c, NK_SIGS_ACCEPTED, scheme), ERR_SSL_NO_SIGALG_MATCH);
    NK_CHECK(key_fits_suite(c, hs->peer_pub), ERR_SSL_ILLEGAL_PARAMETER);
    uint8_t content[NK_TLS12_SKE_CONTENT];
    size_t clen = nk_tls12_ske_content(hs, params, plen, content);
    NK_TRY(nk_sig_verify12(hs->peer_pub, scheme, content, clen, sig.p, nk_rd_left(&sig)));
    c->peer_sig = scheme;
    NK_TRY(nk_tls12_kx_client_secret(c, peer));
    return nk_transcript_add(&hs->tr, raw, n);
}

/* ServerHelloDone (empty); our flight: [Certificate], ClientKeyExchange,
 * [CertificateVerify], ChangeCipherSpec, Finished. */
static MSTATUS on_server_hello_done(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    NK_TRY(nk_rd_done(b));
    NK_TRY(nk_tls12_ocsp_settle(c));   /* an agreed OCSP status that never came */
    /* Straight after the Certificate only for RSA key transport; every other
     * key exchange had its ServerKeyExchange (which left the premaster). */
    int psk = c->suite->auth == NK_AUTH_PSK;
    if (psk)
        NK_TRY(nk_tls12_psk_client_ready(c));
    else
        NK_CHECK((c->suite->kx == NK_KX_RSA) == (hs->pms_len == 0), ERR_SSL_UNEXPECTED_MESSAGE);
    if (c->suite->kx == NK_KX_RSA)
        NK_TRY(nk_tls12_kx_client_rsa(c));
    NK_TRY(nk_transcript_add(&hs->tr, raw, n));
    NK_TRY(nk_tls12_send_client_certificate(c));
    struct nk_wr w;
    nk_hs_begin(c, &w, NK_HS_CLIENT_KEY_EXCHANGE);
    if (psk)
        nk_tls12_psk_write_cke(c, &w);
    else
        nk_tls12_kx_write_client_public(c, &w);
    NK_TRY(nk_hs_finish(c, &w));
    MSTATUS st = psk ? nk_tls12_psk_client_derive(c) : nk_tls12_derive(c, hs->pms, hs->pms_len);
    nk_wipe(hs->pms, sizeof hs->pms);
    NK_TRY(st);
    NK_TRY(nk_tls12_send_cert_verify(c));
    NK_TRY(nk_tls12_send_ccs(c));
    return nk_tls12_send_finished(c);
}

static MSTATUS on_server_finished(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    NK_TRY(nk_tls12_on_finished(c, b, raw, n));
    nk_tls12_client_keep(c);
    return nk_tls12_complete(c);
}

/* RFC 5246 §7.4.1.1: "This message will be ignored by the client if the
 * client is currently negotiating a session", and it is not part of the
 * handshake hashes. */
static MSTATUS ignore_hello_request(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    return nk_rd_done(b);
}

/* RFC 5246 §7.3: the client's states for a full handshake; a
 * CertificateRequest may come between the ServerKeyExchange and the
 * ServerHelloDone (RFC 5246 §7.4.4), once. The
 * ServerHello row is the one the TLS 1.3 client's handler chose this
 * protocol from (handshake/protocol.c); its handler runs only in a
 * renegotiation, whose ClientHello is TLS 1.2's (tls12_reneg.c). A
 * HelloRequest after the handshake starts one, or is refused and stays. */
static const struct nk_step client12[] = {
    /* state             content type              message                     handler                 next */
    { ST_C_WAIT_SH,      NK_CT_HANDSHAKE,          NK_HS_SERVER_HELLO,         nk_reneg_on_server_hello, ST_C12_WAIT_CERT, ST_C12R_WAIT_CCS,
      .alt2 = ST_C12_WAIT_SKE /* an anonymous or PSK suite: no Certificate */ },
    { ST_C12_WAIT_CERT,  NK_CT_HANDSHAKE,          NK_HS_CERTIFICATE,          nk_tls12_on_certificate, ST_C12_WAIT_SKE },
    { ST_C12_WAIT_SKE,   NK_CT_HANDSHAKE,          NK_HS_CERTIFICATE_STATUS,   nk_tls12_on_cert_status, ST_C12_WAIT_SKE },
    { ST_C12_WAIT_SKE,   NK_CT_HANDSHAKE,          NK_HS_SERVER_KEY_EXCHANGE,  on_server_key_exchange, ST_C12_WAIT_SHD },
    { ST_C12_WAIT_SKE,   NK_CT_HANDSHAKE,          NK_HS_SERVER_HELLO_DONE,    on_server_hello_done,   ST_C12_WAIT_CCS },
    { ST_C12_WAIT_SHD,   NK_CT_HANDSHAKE,          NK_HS_SERVER_HELLO_DONE,    on_server_hello_done,   ST_C12_WAIT_CCS },
    { ST_C12_WAIT_SHD,   NK_CT_HANDSHAKE,          NK_HS_CERTIFICATE_REQUEST,  nk_tls12_on_certificate_request, ST_C12_WAIT_SHD_CR },
    { ST_C12_WAIT_SHD_CR, NK_CT_HANDSHAKE,         NK_HS_SERVER_HELLO_DONE,    on_server_hello_done,   ST_C12_WAIT_CCS },
    { ST_C12_WAIT_CCS,   NK_CT_HANDSHAKE,          NK_HS_NEW_SESSION_TICKET,   nk_tls12_on_new_session_ticket, ST_C12_WAIT_CCS },
    { ST_C12_WAIT_CCS,   NK_CT_CHANGE_CIPHER_SPEC, 0,                          nk_tls12_client_on_ccs, ST_C12_WAIT_FIN },
    { ST_C12_WAIT_FIN,   NK_CT_HANDSHAKE,          NK_HS_FINISHED,             on_server_finished,     ST_CONNECTED },
    /* RFC 5246 §7.3, Figure 2: the server resumed our session */
    { ST_C12R_WAIT_CCS,  NK_CT_HANDSHAKE,          NK_HS_NEW_SESSION_TICKET,   nk_tls12_on_new_session_ticket, ST_C12R_WAIT_CCS },
    { ST_C12R_WAIT_CCS,  NK_CT_CHANGE_CIPHER_SPEC, 0,                          nk_tls12_client_on_ccs, ST_C12R_WAIT_FIN },
    { ST_C12R_WAIT_FIN,  NK_CT_HANDSHAKE,          NK_HS_FINISHED,             nk_tls12_on_resumed_server_finished, ST_CONNECTED },
    { ST_CONNECTED,      NK_CT_HANDSHAKE,          NK_HS_HELLO_REQUEST,        nk_reneg_on_hello_request, ST_C_WAIT_SH },

    { ST_C_WAIT_SH,      NK_CT_HANDSHAKE,          NK_HS_HELLO_REQUEST,        ignore_hello_request,   ST_C_WAIT_SH },
    { ST_C12_WAIT_CERT,  NK_CT_HANDSHAKE,          NK_HS_HELLO_REQUEST,        ignore_hello_request,   ST_C12_WAIT_CERT },
    { ST_C12_WAIT_SKE,   NK_CT_HANDSHAKE,          NK_HS_HELLO_REQUEST,        ignore_hello_request,   ST_C12_WAIT_SKE },
    { ST_C12_WAIT_SHD,   NK_CT_HANDSHAKE,          NK_HS_HELLO_REQUEST,        ignore_hello_request,   ST_C12_WAIT_SHD },
    { ST_C12_WAIT_SHD_CR, NK_CT_HANDSHAKE,         NK_HS_HELLO_REQUEST,        ignore_hello_request,   ST_C12_WAIT_SHD_CR },
    { ST_C12_WAIT_CCS,   NK_CT_HANDSHAKE,          NK_HS_HELLO_REQUEST,        ignore_hello_request,   ST_C12_WAIT_CCS },
    { ST_C12_WAIT_FIN,   NK_CT_HANDSHAKE,          NK_HS_HELLO_REQUEST,        ignore_hello_request,   ST_C12_WAIT_FIN },
    { ST_C12R_WAIT_CCS,  NK_CT_HANDSHAKE,          NK_HS_HELLO_REQUEST,        ignore_hello_request,   ST_C12R_WAIT_CCS },
    { ST_C12R_WAIT_FIN,  NK_CT_HANDSHAKE,          NK_HS_HELLO_REQUEST,        ignore_hello_request,   ST_C12R_WAIT_FIN },
};

const struct nk_protocol nk_tls12_client = {
    .id = NK_PROTO_TLS12_CLIENT, .first = ST_C_WAIT_SH, .version = NK_TLS12, .name = "TLS 1.2 client",
    .steps = client12, .n_steps = NK_ARRAY_LEN(client12),
};
