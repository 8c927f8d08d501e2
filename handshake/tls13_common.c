/* handshake/tls13_common.c — what the TLS 1.3 client and server share: message
 * framing, Certificate / CertificateVerify / Finished, post-handshake messages. */
#include <openssl/x509.h>
#include "handshake/hs.h"
#include "handshake/client_auth.h"
#include "handshake/dtls12.h"
#include "handshake/ocsp.h"
#include "handshake/rare.h"
#include "handshake/fips.h"
#include "handshake/psk.h"
#include "handshake/early.h"
#include "core/limits.h"
#include "nktls.h"

MSTATUS nk_hs_alloc(struct nk_tls *c)
{
    if (!c->hs && !(c->hs = calloc(1, sizeof *c->hs)))
        return ERR_MEM_ALLOC_FAIL;
    return OK;
}

static void free_peer_chain(struct nk_hs *hs)
{
    for (size_t i = 0; i < hs->peer_chain_len; i++)
        free(hs->peer_chain[i].p);
    free(hs->peer_chain);
    hs->peer_chain = NULL;
    hs->peer_chain_len = 0;
}

void nk_hs_free(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    if (!hs)
        return;
    nk_transcript_free(&hs->tr);
    nk_kex_free(hs->kex_priv);
    EVP_PKEY_free(hs->peer_pub);
    free_peer_chain(hs);
    nk_buf_free(&hs->cookie);
    nk_buf_free(&hs->msg);
    nk_buf_free(&hs->ocsp_resp);
    nk_buf_free(&hs->ticket);
    nk_buf_free(&hs->psk_id);
    nk_psk_free(hs->offer);
    nk_wipe(hs, sizeof *hs);
    free(hs);
    c->hs = NULL;
}

MSTATUS nk_hs_check_echo(struct nk_rd *r, const uint8_t *sent, size_t n)
{
    const uint8_t *echo;
    NK_CHECK(nk_rd_left(r) == n, ERR_SSL_ILLEGAL_PARAMETER);
    NK_TRY(nk_rd_bytes(r, n, &echo));
    NK_CHECK(nk_ct_equal(echo, sent, n), ERR_SSL_ILLEGAL_PARAMETER);
    return OK;
}

MSTATUS nk_hs_read_server_hello(struct nk_rd *b, uint16_t *version, uint8_t random[32], struct nk_rd *sid,
                                uint16_t *suite, uint8_t *comp, struct nk_ext *e, size_t *ne)
{
    NK_TRY(nk_rd_u16(b, version));
    NK_TRY(nk_rd_copy(b, random, 32));
    NK_TRY(nk_rd_vec8(b, sid, 0, 32));
    NK_TRY(nk_rd_u16(b, suite));
    NK_TRY(nk_rd_u8(b, comp));
    NK_TRY(nk_ext_parse(b, e, ne));
    return nk_rd_done(b);
}

void nk_hs_begin(struct nk_tls *c, struct nk_wr *w, uint8_t type)
{
    c->hs->msg.len = 0;
    nk_wr_init(w, &c->hs->msg);
    nk_wr_u8(w, type);
    nk_wr_u24(w, 0);
}

MSTATUS nk_hs_finish(struct nk_tls *c, struct nk_wr *w)
{
    NK_TRY(nk_wr_status(w));
    struct nk_buf *m = &c->hs->msg;
    nk_store24(m->p + 1, (uint32_t)(m->len - 4));
    if (c->is_dtls)   /* hashed in its DTLS form (handshake/dtls12_flight.c) */
        return nk_dtls_send_message(c, m->p, m->len, 1);
    NK_TRY(nk_transcript_add(&c->hs->tr, m->p, m->len));
    return nk_send_handshake(c, m->p, m->len);
}

MSTATUS nk_hs_send_certificate(struct nk_tls *c, const struct nk_identity *id)
{
    /* §4.4.2: certificate_request_context, then CertificateEntry list (leaf first),
     * each with an empty extensions block. */
    struct nk_wr w;
    nk_hs_begin(c, &w, NK_HS_CERTIFICATE);
    nk_wr_u8(&w, c->hs->cr_context_len);
    nk_wr_bytes(&w, c->hs->cr_context, c->hs->cr_context_len);
    /* RFC 8446 §4.4.2.1: the OCSP response the client asked for goes in the
     * leaf's entry; without one the list is the one encoded once, when the
     * identity was added. */
    int staple = c->role == NK_SERVER && c->hs->ocsp_asked && id && id->ocsp;
    if (id && id->cert_list.p && !staple) {
        nk_wr_bytes(&w, id->cert_list.p, id->cert_list.len);
        return nk_hs_finish(c, &w);
    }
    size_t list = nk_wr_open(&w, 3);
    for (size_t i = 0; id && i < id->chain_len; i++) {
        size_t e = nk_wr_open(&w, 3);
        nk_wr_bytes(&w, id->chain[i].p, id->chain[i].len);
        nk_wr_close(&w, e, 3);
        size_t x = nk_wr_open(&w, 2);
        if (i == 0 && staple)
            (void)nk_ocsp_write_status(id, &w);
        nk_wr_close(&w, x, 2);
    }
    nk_wr_close(&w, list, 3);
    return nk_hs_finish(c, &w);
}

/* §4.4.3: 64 spaces, the context string, a zero byte, the transcript hash. */
static MSTATUS cv_content(struct nk_tls *c, int from_server, uint8_t *out, size_t *len)
{
    static const char srv[] = "TLS 1.3, server CertificateVerify";
    static const char cli[] = "TLS 1.3, client CertificateVerify";
    const char *ctx = from_server ? srv : cli;
    memset(out, 0x20, 64);
    memcpy(out + 64, ctx, sizeof srv);   /* both strings have the same length; NUL included */
    NK_TRY(nk_transcript_hash(&c->hs->tr, out + 64 + sizeof srv));
    *len = 64 + sizeof srv + nk_hash_len(c->hs->hash);
    return OK;
}

MSTATUS nk_hs_send_cert_verify(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    uint8_t content[64 + 34 + NK_MAX_HASH];
    size_t clen, slen = nk_sig_max_len(hs->identity->key);
    NK_TRY(cv_content(c, c->role == NK_SERVER, content, &clen));
    struct nk_wr w;
    nk_hs_begin(c, &w, NK_HS_CERTIFICATE_VERIFY);
    nk_wr_u16(&w, hs->sig_scheme);
    size_t pos = nk_wr_open(&w, 2);
    uint8_t *sig = nk_wr_space(&w, slen);
    NK_TRY(nk_wr_status(&w));
    NK_TRY(nk_cauth_sign(c, hs->identity, hs->sig_scheme, 0, content, clen, sig, &slen));
    hs->msg.len = (size_t)(sig - hs->msg.p) + slen;   /* trim to the real signature length */
    nk_wr_close(&w, pos, 2);
    return nk_hs_finish(c, &w);
}

MSTATUS nk_hs_send_finished(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    uint8_t th[NK_MAX_HASH], vd[NK_MAX_HASH];
    NK_TRY(nk_transcript_hash(&hs->tr, th));
    NK_TRY(nk_ks_finished(hs->hash, c->role == NK_CLIENT ? hs->c_hs : hs->s_hs, th, vd));
    struct nk_wr w;
    nk_hs_begin(c, &w, NK_HS_FINISHED);
    nk_wr_bytes(&w, vd, nk_hash_len(hs->hash));
    return nk_hs_finish(c, &w);
}

/* §4.4.2: a CertificateEntry's extensions must answer ones we sent: the only
 * one is status_request, for the leaf (§4.4.2.1), when we asked for it. Its
 * body is a CertificateStatus (RFC 6066 §8), kept for the check. */
static MSTATUS read_entry_exts(struct nk_tls *c, struct nk_rd *exts, int leaf)
{
    struct nk_hs *hs = c->hs;
    struct nk_ext e[NK_MAX_EXTS];
    size_t ne;
    NK_TRY(nk_ext_parse(exts, e, &ne));
    for (size_t i = 0; i < ne; i++) {
        uint8_t type;
        struct nk_rd r = e[i].data, resp;
        NK_CHECK(e[i].type == NK_EXT_STATUS_REQUEST && leaf && c->role == NK_CLIENT && hs->ocsp_asked,
                 ERR_SSL_UNSUPPORTED_EXTENSION);
        NK_TRY(nk_rd_u8(&r, &type));
        NK_CHECK(type == NK_OCSP_STATUS_TYPE, ERR_SSL_ILLEGAL_PARAMETER);
        NK_TRY(nk_rd_vec24(&r, &resp, 1, 0xffffff));
        NK_TRY(nk_rd_done(&r));
        hs->ocsp_resp.len = 0;
        NK_TRY(nk_buf_append(&hs->ocsp_resp, resp.p, nk_rd_left(&resp)));
    }
    return OK;
}

static MSTATUS keep_peer_chain(struct nk_tls *c, struct nk_rd *list)
{
    struct nk_hs *hs = c->hs;
    free_peer_chain(hs);
    while (nk_rd_left(list)) {
        struct nk_rd cert, exts, block;
        NK_TRY(nk_rd_vec24(list, &cert, 1, 0xffffff));
        block = *list;   /* the extensions with their length, for nk_ext_parse */
        NK_TRY(nk_rd_vec16(list, &exts, 0, 0xffff));
        if (nk_rd_left(&exts))
            NK_TRY(read_entry_exts(c, &block, hs->peer_chain_len == 0));
        NK_CHECK(hs->peer_chain_len < c->cfg->limits.cert_count, ERR_SSL_PROTOCOL_PROCESS_CERTIFICATE);
        struct nk_der *grown = realloc(hs->peer_chain, (hs->peer_chain_len + 1) * sizeof *grown);
        NK_CHECK(grown, ERR_MEM_ALLOC_FAIL);
        hs->peer_chain = grown;
        struct nk_der *d = &grown[hs->peer_chain_len];
        d->len = nk_rd_left(&cert);
        NK_CHECK(d->p = malloc(d->len), ERR_MEM_ALLOC_FAIL);
        hs->peer_chain_len++;   /* counted now: freed with the rest on any failure */
        NK_TRY(nk_rd_copy(&cert, d->p, d->len));
    }
    return OK;
}

/* The verified chain outlives the handshake (and goes into tickets): one
 * allocation of <u24 length, DER> entries. */
MSTATUS nk_hs_keep_peer_chain(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    struct nk_buf b = { 0 };
    struct nk_wr w;
    nk_wr_init(&w, &b);
    for (size_t i = 0; i < hs->peer_chain_len; i++) {
        nk_wr_u24(&w, (uint32_t)hs->peer_chain[i].len);
        nk_wr_bytes(&w, hs->peer_chain[i].p, hs->peer_chain[i].len);
    }
    if (nk_wr_status(&w) < 0) {
        nk_buf_free(&b);
        return ERR_MEM_ALLOC_FAIL;
    }
    free(c->peer_chain);
    c->peer_chain = b.p;
    c->peer_chain_len = (uint32_t)b.len;
    return OK;
}

/* The client asked for the server's OCSP status (NKTLS_FLAG_OCSP_*): a
 * stapled response must be good; none is acceptable unless the application
 * requires one or the certificate demands it (RFC 7633 must-staple). The
 * application's funcPtrCertStatusCallback hears whether a good response came,
 * and may refuse. */
MSTATUS nk_hs_check_status(struct nk_tls *c, time_t now)
{
    struct nk_hs *hs = c->hs;
    int have = hs->ocsp_resp.len > 0;
    if (have)
        NK_TRY(nk_ocsp_check(hs->ocsp_resp.p, hs->ocsp_resp.len, hs->peer_chain, hs->peer_chain_len,
                             c->store, now));
    else if ((c->flags & NKTLS_FLAG_OCSP_REQUIRE)
             || nk_ocsp_must_staple(hs->peer_chain[0].p, hs->peer_chain[0].len))
        return ERR_CERT_STATUS;
    sbyte4 (*cb)(sbyte4, intBoolean) = c->cfg->ssl.funcPtrCertStatusCallback;
    NK_CHECK(!cb || cb(c->handle, have ? TRUE : FALSE) >= 0, ERR_CERT_STATUS);
    return OK;
}

MSTATUS nk_hs_verify_peer_chain(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    const sslSettings *s = &c->cfg->ssl;
    struct nk_verify_req req = {
        .store = c->store, .chain = hs->peer_chain, .chain_len = hs->peer_chain_len,
        .host = c->role == NK_CLIENT ? c->dns_name : NULL,
        .names = c->role == NK_CLIENT ? c->dns_names : NULL,
        .min_rsa_bits = nk_fips_min_rsa_bits(c), .allow_sha1 = s->allowSha1SigAlg,
        .now = (time_t)(c->now / 1000), .peer_is_server = c->role == NK_CLIENT,
    };
    /* §4.4.2.2: the leaf must allow signing in its role; no trust decision,
     * the application's callbacks included, overrides that. */
    NK_TRY(nk_cert_usage_check(hs->peer_chain[0].p, hs->peer_chain[0].len, c->role == NK_CLIENT));
    MSTATUS st = nk_chain_verify(&req, &hs->peer_pub);
    NK_CHECK(hs->peer_pub, st < 0 ? st : ERR_CERT_DECODE);
    if (c->cert_status_cb) {
        struct certChain chain = { hs->peer_chain, hs->peer_chain_len };
        st = c->cert_status_cb(c->handle, &chain, st);
    } else if (st < 0 && c->invalid_cert_cb) {
        st = c->invalid_cert_cb(c->handle, st);
    }
    /* Kept even when refused: the application may say which certificate failed
     * (NKTLS_getPeerCertificate); the connection goes no further. After the
     * handshake the chain becomes the connection's only once the exchange's
     * Finished verifies (handshake/tls13_pha.c): until then the connection is
     * still authenticated as before. */
    MSTATUS kept = c->hs->pha_exchange ? OK : nk_hs_keep_peer_chain(c);
    NK_TRY(st);
    /* TLS 1.2: a server that agreed sends its status after the Certificate
     * (handshake/tls12_ocsp.c judges it there). */
    if (c->role == NK_CLIENT && hs->ocsp_asked == 1)
        NK_TRY(nk_hs_check_status(c, req.now));
    return kept;
}

MSTATUS nk_hs_on_certificate(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    struct nk_rd ctx, list;
    NK_TRY(nk_rd_vec8(body, &ctx, 0, 255));
    NK_TRY(nk_rd_vec24(body, &list, 0, 0xffffff));
    NK_TRY(nk_rd_done(body));
    /* §4.4.2: the context echoes the CertificateRequest's (empty for a server). */
    NK_TRY(nk_hs_check_echo(&ctx, hs->cr_context, hs->cr_context_len));
    NK_TRY(keep_peer_chain(c, &list));
    NK_TRY(nk_transcript_add(&hs->tr, raw, n));
    if (hs->peer_chain_len == 0) {
        /* §4.4.2.4: a server MUST send a certificate (decode_error otherwise); a
         * client may send none, and certificate_required answers that when the
         * server insists. */
        NK_CHECK(c->role == NK_SERVER, ERR_SSL_PROTOCOL);
        NK_CHECK(!(c->flags & SSL_FLAG_REQUIRE_MUTUAL_AUTH), ERR_SSL_CERTIFICATE_REQUIRED);
        return NK_HS_ALT;   /* no CertificateVerify follows an empty Certificate */
    }
    return nk_hs_verify_peer_chain(c);
}

MSTATUS nk_hs_on_cert_verify(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    uint16_t scheme;
    struct nk_rd sig;
    uint8_t content[64 + 34 + NK_MAX_HASH];
    size_t clen;
    NK_TRY(nk_rd_u16(body, &scheme));
    NK_TRY(nk_rd_vec16(body, &sig, 1, 0xffff));
    NK_TRY(nk_rd_done(body));
    /* §4.4.3: the scheme must be one we offered in signature_algorithms;
     * then one this connection accepts (NKTLS_setSignatureSchemes). */
    NK_CHECK(nk_sig_in_list(c->sig_prefs, NK_SIGS_OFFERED, scheme), ERR_SSL_ILLEGAL_PARAMETER);
    NK_CHECK(nk_sig_in_list(c->sig_prefs, NK_SIGS_ACCEPTED, scheme), ERR_SSL_NO_SIGALG_MATCH);
    NK_TRY(cv_content(c, c->role == NK_CLIENT, content, &clen));
    NK_TRY(nk_sig_verify(hs->peer_pub, scheme, content, clen, sig.p, nk_rd_left(&sig)));
    c->peer_sig = scheme;
    return nk_transcript_add(&hs->tr, raw, n);
}

MSTATUS nk_hs_on_finished(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    uint8_t th[NK_MAX_HASH], vd[NK_MAX_HASH];
    const uint8_t *verify_data;
    size_t hl = nk_hash_len(hs->hash);
    /* §4.4.4: verify_data is exactly Hash.length bytes (decode_error else). */
    NK_TRY(nk_rd_bytes(body, hl, &verify_data));
    NK_TRY(nk_rd_done(body));
    NK_TRY(nk_transcript_hash(&hs->tr, th));
    NK_TRY(nk_ks_finished(hs->hash, c->role == NK_CLIENT ? hs->s_hs : hs->c_hs, th, vd));
    /* §4.4.4: recipients MUST verify the Finished; mismatch is decrypt_error. */
    NK_CHECK(nk_ct_equal(vd, verify_data, hl), ERR_SSL_BAD_FINISHED);
    return nk_transcript_add(&hs->tr, raw, n);
}

MSTATUS nk_hs_complete(struct nk_tls *c)
{
    c->status = SSL_CONNECTION_OPEN;
    c->minor = (uint8_t)nk_hs_proto(c)->version;
    c->resumed = c->hs->psk_ok;
    c->hello_retried = c->hs->hrr != 0;
    if (c->minor == 4)
        nk_rare_free(c);   /* heartbeats are TLS 1.2's; pha_md may take the room */
    nk_pha_keep(c);
    nk_hs_free(c);
    return OK;
}

/* Switch the read key to the peer's next application traffic secret. */
static MSTATUS update_read_key(struct nk_tls *c)
{
    uint8_t *secret = c->role == NK_CLIENT ? c->s_ap : c->c_ap;
    NK_TRY(nk_ks_update(c->suite->hash, secret));
    c->rd_epoch++;
    return nk_rec_next_key(c->rd, &c->kernel, NK_REC_RX, c->suite, secret, 0);
}

MSTATUS nk_hs_on_key_update(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n)
{
    uint8_t req;
    NK_TRY(nk_rd_u8(body, &req));
    NK_TRY(nk_rd_done(body));
    /* §4.6.3: request_update is 0 or 1; anything else is illegal_parameter. */
    NK_CHECK(req <= 1, ERR_SSL_ILLEGAL_PARAMETER);
    /* A peer that only rekeys, never sending data, is flooding us: only a
     * record that carries data resets the count (an empty one does not). */
    NK_CHECK(++c->key_updates_in_a_row <= c->cfg->limits.key_updates, ERR_SSL_KEY_UPDATE_LIMIT);
    NK_TRY(update_read_key(c));
    const sslSettings *s = &c->cfg->ssl;
    if (s->funcPtrKeyUpdateRequest)
        s->funcPtrKeyUpdateRequest(c->handle);
    /* §4.6.3: on update_requested, send our own KeyUpdate (update_not_requested)
     * before our next application data — we send it now. */
    if (req && !c->sent_close_notify)
        return nk_key_update_send(c, 0);
    return OK;
}

MSTATUS nk_hs_on_new_session_ticket(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n)
{
    uint32_t lifetime, age_add;
    struct nk_rd nonce, ticket;
    NK_TRY(nk_rd_u32(body, &lifetime));
    NK_TRY(nk_rd_u32(body, &age_add));
    NK_TRY(nk_rd_vec8(body, &nonce, 0, 255));
    NK_TRY(nk_rd_vec16(body, &ticket, 1, 0xffff));
    /* §4.6.1: unknown extensions (all but early_data) are ignored, but the
     * block must parse, without duplicates (§4.2). */
    struct nk_ext e[NK_MAX_EXTS];
    size_t ne;
    NK_CHECK(nk_rd_left(body) >= 2, ERR_SSL_PROTOCOL);
    NK_TRY(nk_ext_parse(body, e, &ne));
    NK_TRY(nk_rd_done(body));
    /* §4.6.1: lifetime MUST NOT exceed 7 days. */
    NK_CHECK(lifetime <= 604800, ERR_SSL_ILLEGAL_PARAMETER);
    uint32_t max_early;
    NK_TRY(nk_early_ticket_read(e, ne, &max_early));
    return nk_ticket_received(c, lifetime, age_add, nonce.p, nk_rd_left(&nonce), ticket.p,
                              nk_rd_left(&ticket), max_early);
}
