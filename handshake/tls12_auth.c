/* handshake/tls12_auth.c — client authentication in TLS 1.2 (RFC 5246
 * §7.4.4 CertificateRequest, §7.4.6 client Certificate, §7.4.8
 * CertificateVerify; RFC 8422 §5.5 and §5.8 for ECDSA and EdDSA), both
 * sides. The policy is the TLS 1.3 server's: the same flags ask for a
 * certificate, the chain is verified by the same code (nk_hs_verify_peer_chain),
 * a missing one fails with the same MSTATUS. */
#include "handshake/tls12.h"
#include "handshake/client_auth.h"
#include "nktls.h"

/* RFC 5246 §7.4.4 ClientCertificateType values (RFC 8422 §5.5: ecdsa_sign
 * also stands for EdDSA keys). */
enum { NK_TLS12_CT_RSA_SIGN = 1, NK_TLS12_CT_ECDSA_SIGN = 64 };

static int is_sha1(uint16_t scheme)
{
    return scheme == NK_SIG_RSA_PKCS1_SHA1 || scheme == NK_SIG_ECDSA_SHA1 || scheme == NK_SIG_DSA_SHA1;
}

size_t nk_tls12_sigs(const struct nk_tls *c, int which, uint16_t out[NK_TLS12_MAX_SIGS])
{
    /* RFC 5246 §7.4.1.4.1 signs handshakes with PKCS#1 v1.5 too (RFC 8446
     * §4.2.3 keeps rsa_pkcs1_* out of TLS 1.3 handshakes only). */
    static const uint16_t tls12_only[] = {
        NK_SIG_RSA_PKCS1_SHA256, NK_SIG_RSA_PKCS1_SHA384, NK_SIG_RSA_PKCS1_SHA512,
        NK_SIG_RSA_PKCS1_SHA1, NK_SIG_ECDSA_SHA1,
    };
    int sha1 = c->cfg->ssl.allowSha1SigAlg;
    size_t n_list, n = 0;
    const uint16_t *list = nk_sig_list(c->sig_prefs, which, &n_list);
    for (size_t i = 0; i < n_list; i++)
        if (sha1 || !is_sha1(list[i]))
            out[n++] = list[i];
    if (c->sig_prefs && c->sig_prefs->n[which])   /* the application's own list */
        return n;
    for (size_t i = 0; i < NK_ARRAY_LEN(tls12_only); i++)
        if (sha1 || !is_sha1(tls12_only[i]))
            out[n++] = tls12_only[i];
    /* DSA (RFC 5246 §7.4.1.4.1) only where a DHE_DSS suite is enabled. */
    static const uint16_t dsa[] = { NK_SIG_DSA_SHA256, NK_SIG_DSA_SHA384, NK_SIG_DSA_SHA512, NK_SIG_DSA_SHA1 };
    for (size_t i = 0; nk_tls12_auth_enabled(c, NK_AUTH_DSA) && i < NK_ARRAY_LEN(dsa); i++)
        if (sha1 || !is_sha1(dsa[i]))
            out[n++] = dsa[i];
    return n;
}

int nk_tls12_sig_listed(const struct nk_tls *c, int which, uint16_t scheme)
{
    uint16_t v[NK_TLS12_MAX_SIGS];
    size_t n = nk_tls12_sigs(c, which, v);
    for (size_t i = 0; i < n; i++)
        if (v[i] == scheme)
            return 1;
    return 0;
}

int nk_tls12_wants_client_cert(const struct nk_tls *c)
{
    return (c->flags & (SSL_FLAG_REQUIRE_MUTUAL_AUTH | NKTLS_FLAG_REQUEST_MUTUAL_AUTH))
           && !(c->flags & SSL_FLAG_NO_MUTUAL_AUTH_REQUEST);
}

/* RFC 5246 §7.4.4: certificate_types, supported_signature_algorithms (what
 * we accept in the CertificateVerify), certificate_authorities (the subjects
 * of our trust points, as the TLS 1.3 server names them; empty when we name
 * none: "the client MAY send any certificate"). The handshake messages are kept from here on: the
 * client's CertificateVerify signs them all. */
MSTATUS nk_tls12_send_certificate_request(struct nk_tls *c)
{
    struct nk_wr w;
    uint16_t sigs[NK_TLS12_MAX_SIGS];
    size_t n_sigs = nk_tls12_sigs(c, NK_SIGS_OFFERED, sigs);
    nk_hs_begin(c, &w, NK_HS_CERTIFICATE_REQUEST);
    nk_wr_u8(&w, 2);
    nk_wr_u8(&w, NK_TLS12_CT_RSA_SIGN);
    nk_wr_u8(&w, NK_TLS12_CT_ECDSA_SIGN);
    size_t list = nk_wr_open(&w, 2);
    for (size_t i = 0; i < n_sigs; i++)
        nk_wr_u16(&w, sigs[i]);
    nk_wr_close(&w, list, 2);
    size_t cas = nk_wr_open(&w, 2);
    nk_ca_names_write(c, &w);
    nk_wr_close(&w, cas, 2);
    c->hs->cert_requested = 1;
    return nk_hs_finish(c, &w);
}

/* The client's Certificate came (RFC 5246 §7.4.6), empty or not
 * (nk_tls12_on_certificate read it). A client that sent a certificate
 * owes a CertificateVerify right after its ClientKeyExchange: the server's
 * next state after that message depends on it. */
int nk_tls12_client_sent_cert(const struct nk_tls *c)
{
    return c->hs->peer_chain_len > 0;
}

/* RFC 5246 §7.4.8: digitally-signed over handshake_messages, every message
 * from the ClientHello up to (not including) this one. */
MSTATUS nk_tls12_on_cert_verify(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    uint16_t scheme;
    struct nk_rd sig;
    NK_TRY(nk_rd_u16(body, &scheme));
    NK_TRY(nk_rd_vec16(body, &sig, 1, 0xffff));
    NK_TRY(nk_rd_done(body));
    /* RFC 5246 §7.4.8: "The hash and signature algorithms used in the
     * signature MUST be one of those present in the
     * supported_signature_algorithms field of the CertificateRequest". */
    NK_CHECK(nk_tls12_sig_listed(c, NK_SIGS_OFFERED, scheme), ERR_SSL_SIGALG_NOT_OFFERED);
    NK_CHECK(nk_tls12_sig_listed(c, NK_SIGS_ACCEPTED, scheme), ERR_SSL_NO_SIGALG_MATCH);
    NK_CHECK(hs->tr.keep, ERR_SSL_INTERNAL);
    NK_TRY(nk_sig_verify12(hs->peer_pub, scheme, hs->tr.pending.p, hs->tr.pending.len, sig.p, nk_rd_left(&sig)));
    c->peer_sig = scheme;
    return nk_transcript_add(&hs->tr, raw, n);
}

/* ---- the client ---- */

static int type_listed(struct nk_rd types, enum nk_key_type kt)
{
    uint8_t want = kt == NK_KEY_RSA || kt == NK_KEY_RSA_PSS ? NK_TLS12_CT_RSA_SIGN : NK_TLS12_CT_ECDSA_SIGN;
    uint8_t t;
    while (nk_rd_u8(&types, &t) == OK)
        if (t == want)
            return 1;
    return 0;
}

/* RFC 5246 §7.4.4: which identity answers is ours to choose among those
 * whose key type the server listed and that can sign with a scheme it
 * listed; none fits → an empty Certificate (§7.4.6). */
MSTATUS nk_tls12_on_certificate_request(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    struct nk_rd types, sigs, cas;
    /* RFC 5246 §7.4.4: "It is a fatal handshake_failure alert for an
     * anonymous server to request client authentication." */
    NK_CHECK(c->suite->auth != NK_AUTH_ANON, ERR_SSL_HANDSHAKE_FAILURE);
    NK_TRY(nk_rd_vec8(b, &types, 1, 255));
    struct nk_rd sigs_field = *b;   /* the vector with its length, as the reader wants it */
    NK_TRY(nk_rd_vec16(b, &sigs, 2, 0xfffe));
    sigs_field.end = sigs.end;
    NK_TRY(nk_rd_vec16(b, &cas, 0, 0xffff));
    NK_TRY(nk_rd_done(b));
    NK_TRY(nk_ext_read_u16_list(&sigs_field, hs->peer_sigs, NK_MAX_SIGS, &hs->n_peer_sigs, nk_sig_known));
    NK_TRY(nk_transcript_add(&hs->tr, raw, n));
    hs->cert_requested = 1;
    const struct certStore *from;
    NK_TRY(nk_cauth_request(c, cas, &from));   /* reads the DistinguishedNames */
    if (from) {
        uint16_t ours[NK_TLS12_MAX_SIGS];
        size_t n_ours = nk_tls12_sigs(c, NK_SIGS_SIGNING, ours);
        hs->identity = nk_store_pick_identity12(from, NULL, hs->peer_sigs, hs->n_peer_sigs, ours, n_ours,
                                                &hs->sig_scheme);
    }
    if (hs->identity && !type_listed(types, hs->identity->type))
        hs->identity = NULL;
    return OK;
}

/* Before our ClientKeyExchange: our Certificate when one was asked for
 * (RFC 5246 §7.4.6: "This message is only sent if the server requests a
 * certificate"), empty when we have none that fits. Without a request the
 * messages kept for a CertificateVerify are not needed any more. */
MSTATUS nk_tls12_send_client_certificate(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    if (hs->cert_requested)
        return nk_tls12_send_certificate(c, hs->identity);
    hs->tr.keep = 0;
    nk_buf_free(&hs->tr.pending);
    return OK;
}

/* After our ClientKeyExchange: the CertificateVerify when our Certificate
 * carried one (RFC 5246 §7.4.8), over the messages kept so far. */
MSTATUS nk_tls12_send_cert_verify(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    if (!hs->identity)
        return OK;
    NK_CHECK(hs->tr.keep, ERR_SSL_INTERNAL);
    size_t slen = nk_sig_max_len(hs->identity->key);
    struct nk_wr w;
    nk_hs_begin(c, &w, NK_HS_CERTIFICATE_VERIFY);
    nk_wr_u16(&w, hs->sig_scheme);
    size_t pos = nk_wr_open(&w, 2);
    uint8_t *sig = nk_wr_space(&w, slen);
    NK_TRY(nk_wr_status(&w));
    NK_TRY(nk_cauth_sign(c, hs->identity, hs->sig_scheme, 1, hs->tr.pending.p, hs->tr.pending.len, sig, &slen));
    hs->msg.len = (size_t)(sig - hs->msg.p) + slen;   /* the signature's real length */
    nk_wr_close(&w, pos, 2);
    return nk_hs_finish(c, &w);
}
