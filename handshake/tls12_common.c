/* handshake/tls12_common.c — what the TLS 1.2 client and server share
 * (handshake/tls12.h). */
#include "handshake/tls12.h"
#include "handshake/tls12_reneg.h"

const uint8_t nk_tls12_downgrade[8] = { 'D', 'O', 'W', 'N', 'G', 'R', 'D', 0x01 };

int nk_tls12_offers_cbc(const struct nk_tls *c)
{
    for (size_t i = 0; i < nk_suite12_count; i++)
        if (nk_suites12[i].aead == NK_AES_CBC && nk_tls_suite_enabled(c, &nk_suites12[i]))
            return 1;
    return 0;
}

void nk_tls12_write_client_exts(const struct nk_tls *c, struct nk_wr *w)
{
    /* RFC 7627 §5.1: empty extension_data. */
    nk_wr_u16(w, NK_EXT_EXTENDED_MASTER_SECRET);
    nk_wr_u16(w, 0);
    /* RFC 5746 §3.4, §3.5 (tls12_reneg.c). */
    nk_reneg_write_client_info(c, w);
    /* RFC 7366 §2: asked for with CBC suites offered; empty extension_data. */
    if (nk_tls12_offers_cbc(c)) {
        nk_wr_u16(w, NK_EXT_ENCRYPT_THEN_MAC);
        nk_wr_u16(w, 0);
    }
    (void)nk_hb_write_ext(c, w);   /* RFC 6520 §2, when enabled */
}

MSTATUS nk_tls12_send_certificate(struct nk_tls *c, const struct nk_identity *id)
{
    struct nk_wr w;
    nk_hs_begin(c, &w, NK_HS_CERTIFICATE);
    size_t list = nk_wr_open(&w, 3);
    for (size_t i = 0; id && i < id->chain_len; i++) {
        size_t e = nk_wr_open(&w, 3);
        nk_wr_bytes(&w, id->chain[i].p, id->chain[i].len);
        nk_wr_close(&w, e, 3);
    }
    nk_wr_close(&w, list, 3);
    return nk_hs_finish(c, &w);
}

static MSTATUS keep_cert(struct nk_tls *c, struct nk_rd *cert)
{
    struct nk_hs *hs = c->hs;
    NK_CHECK(hs->peer_chain_len < c->cfg->limits.cert_count, ERR_SSL_PROTOCOL_PROCESS_CERTIFICATE);
    struct nk_der *grown = realloc(hs->peer_chain, (hs->peer_chain_len + 1) * sizeof *grown);
    NK_CHECK(grown, ERR_MEM_ALLOC_FAIL);
    hs->peer_chain = grown;
    struct nk_der *d = &grown[hs->peer_chain_len];
    d->len = nk_rd_left(cert);
    NK_CHECK(d->p = malloc(d->len), ERR_MEM_ALLOC_FAIL);
    hs->peer_chain_len++;   /* counted now: nk_hs_free frees it on any failure */
    return nk_rd_copy(cert, d->p, d->len);
}

MSTATUS nk_tls12_on_certificate(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    struct nk_rd list;
    NK_TRY(nk_rd_vec24(body, &list, 0, 0xffffff));
    NK_TRY(nk_rd_done(body));
    NK_CHECK(hs->peer_chain_len == 0, ERR_SSL_INTERNAL);
    while (nk_rd_left(&list)) {
        struct nk_rd cert;
        NK_TRY(nk_rd_vec24(&list, &cert, 1, 0xffffff));
        NK_TRY(keep_cert(c, &cert));
    }
    NK_TRY(nk_transcript_add(&hs->tr, raw, n));
    /* RFC 5246 §7.4.2: the server's certificate is required with every
     * suite we speak; an empty list is a handshake_failure. */
    NK_CHECK(hs->peer_chain_len > 0 || c->role == NK_SERVER, ERR_SSL_HANDSHAKE_FAILURE);
    /* RFC 5246 §7.4.6: a client without a certificate sends an empty list;
     * "If the client does not send any certificates, the server MAY at its
     * discretion either continue the handshake without client
     * authentication, or respond with a fatal handshake_failure alert" —
     * the latter when it requires one (the TLS 1.3 error; the alert is
     * handshake_failure in TLS 1.2, engine/engine.c). */
    if (hs->peer_chain_len == 0)
        return (c->flags & SSL_FLAG_REQUIRE_MUTUAL_AUTH) ? ERR_SSL_CERTIFICATE_REQUIRED : OK;
    return nk_hs_verify_peer_chain(c);
}

size_t nk_tls12_ske_content(const struct nk_hs *hs, const uint8_t *params, size_t plen, uint8_t *out)
{
    memcpy(out, hs->client_random, 32);
    memcpy(out + 32, hs->server_random, 32);
    memcpy(out + 64, params, plen);
    return 64 + plen;
}

static void params_of(const struct nk_tls *c, struct nk_tls12_params *p)
{
    p->prf = c->suite->hash;
    memcpy(p->client_random, c->hs->client_random, 32);
    memcpy(p->server_random, c->hs->server_random, 32);
    memcpy(p->master, c->hs->secret, NK_TLS12_MASTER);
}

MSTATUS nk_tls12_derive(struct nk_tls *c, const uint8_t *pms, size_t pms_len)
{
    struct nk_hs *hs = c->hs;
    struct nk_tls12_params p;
    uint8_t session_hash[NK_MAX_HASH];
    params_of(c, &p);
    /* RFC 7627 §4: session_hash = Hash(handshake_messages) through the
     * ClientKeyExchange, which the caller added. */
    NK_TRY(nk_transcript_hash(&hs->tr, session_hash));
    MSTATUS st = hs->ems ? nk_tls12_master_secret_ems(&p, pms, pms_len, session_hash)
                         : nk_tls12_master_secret(&p, pms, pms_len);
    if (st == OK)
        st = nk_tls12_key_block(&p, c->suite, hs->keys12[0], hs->keys12[1]);
    if (st == OK)
        memcpy(hs->secret, p.master, NK_TLS12_MASTER);
    nk_tls12_params_clear(&p);
    return st;
}

/* AEAD, or CBC in the order the hellos agreed (RFC 7366). */
static const struct nk_rec_ops *record_ops(const struct nk_tls *c)
{
    if (c->suite->aead != NK_AES_CBC)
        return &nk_rec_tls12;
    return c->hs->etm ? &nk_rec_tls12_cbc_etm : &nk_rec_tls12_cbc;
}

MSTATUS nk_tls12_on_ccs(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n)
{
    /* RFC 5246 §7.1: the single byte 1, between whole handshake messages. */
    NK_CHECK(c->hs_in.len == 0, ERR_SSL_UNEXPECTED_MESSAGE);
    NK_TRY(nk_hs_on_ccs(c, body, raw, n));
    const uint8_t *keys = c->hs->keys12[c->role == NK_CLIENT];
    NK_TRY(record_ops(c)->install(c->rd, c->suite, keys, 0));
    c->rd_epoch++;
    return OK;
}

MSTATUS nk_tls12_send_ccs(struct nk_tls *c)
{
    static const uint8_t one = 1;
    const uint8_t *keys = c->hs->keys12[c->role != NK_CLIENT];
    /* RFC 5246 §7.1: under the current write keys, which a renegotiation has. */
    if (nk_wr_protected(c))
        NK_TRY(nk_send_records(c, NK_CT_CHANGE_CIPHER_SPEC, &one, 1));
    else
        NK_TRY(nk_send_ccs(c));
    return record_ops(c)->install(c->wr, c->suite, keys, 1);
}

/* RFC 5246 §7.4.9: verify_data over the transcript so far, from `client`'s side. */
static MSTATUS verify_data(struct nk_tls *c, int client, uint8_t out[NK_TLS12_VERIFY])
{
    struct nk_tls12_params p;
    uint8_t th[NK_MAX_HASH];
    NK_TRY(nk_transcript_hash(&c->hs->tr, th));
    params_of(c, &p);
    MSTATUS st = nk_tls12_finished(&p, client, th, out);
    nk_tls12_params_clear(&p);
    return st;
}

MSTATUS nk_tls12_send_finished(struct nk_tls *c)
{
    uint8_t vd[NK_TLS12_VERIFY];
    NK_TRY(verify_data(c, c->role == NK_CLIENT, vd));
    nk_reneg_keep_verify(c, c->role == NK_CLIENT, vd);
    struct nk_wr w;
    nk_hs_begin(c, &w, NK_HS_FINISHED);
    nk_wr_bytes(&w, vd, sizeof vd);
    return nk_hs_finish(c, &w);
}

MSTATUS nk_tls12_on_finished(struct nk_tls *c, struct nk_rd *body, const uint8_t *raw, size_t n)
{
    uint8_t vd[NK_TLS12_VERIFY];
    const uint8_t *got;
    NK_TRY(nk_rd_bytes(body, NK_TLS12_VERIFY, &got));
    NK_TRY(nk_rd_done(body));
    NK_TRY(verify_data(c, c->role != NK_CLIENT, vd));
    /* RFC 5246 §7.4.9: "Recipients of Finished messages MUST verify that the
     * contents are correct"; a wrong one is decrypt_error (§7.2.2). */
    NK_CHECK(nk_ct_equal(vd, got, sizeof vd), ERR_SSL_BAD_FINISHED);
    nk_reneg_keep_verify(c, c->role != NK_CLIENT, vd);
    return nk_transcript_add(&c->hs->tr, raw, n);
}

/* After the handshake a TLS 1.2 connection has no traffic secrets: the
 * exporter's inputs go where TLS 1.3 keeps them — the master secret in
 * c->exporter (48 bytes both), the randoms in c->c_ap and c->s_ap (no
 * KeyUpdate in TLS 1.2, so nothing else reads them; the verify_data that
 * renegotiation needs follow them there, tls12_reneg.c). */
MSTATUS nk_tls12_complete(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    _Static_assert(sizeof c->exporter >= NK_TLS12_MASTER && sizeof c->c_ap >= 32, "room for the exporter");
    memcpy(c->exporter, hs->secret, NK_TLS12_MASTER);
    memcpy(c->c_ap, hs->client_random, 32);
    memcpy(c->s_ap, hs->server_random, 32);
    c->rd_app = 1;
    c->wr_app = 1;
    NK_TRY(nk_reneg_complete(c));
    return nk_hs_complete(c);
}

MSTATUS nk_tls12_conn_export(const struct nk_tls *c, const uint8_t *label, size_t llen, const uint8_t *ctx,
                             size_t clen, uint8_t *out, size_t olen)
{
    struct nk_tls12_params p;
    p.prf = c->suite->hash;
    memcpy(p.client_random, c->c_ap, 32);
    memcpy(p.server_random, c->s_ap, 32);
    memcpy(p.master, c->exporter, NK_TLS12_MASTER);
    MSTATUS st = nk_tls12_export(&p, label, llen, ctx, clen, out, olen);
    nk_tls12_params_clear(&p);
    return st;
}
