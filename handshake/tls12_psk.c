/* handshake/tls12_psk.c — TLS 1.2 pre-shared key suites: PSK and DHE_PSK
 * (RFC 4279 §2, §3), ECDHE_PSK (RFC 5489 §2). No certificate is sent; the
 * ServerKeyExchange carries the server's identity hint (and the (EC)DHE
 * parameters, unsigned), the ClientKeyExchange the client's identity (and its
 * public value). The (EC)DHE part is tls12_kx.c's. Keys come from the
 * application: sslSettings.funcPtrGetHintPSK / funcPtrLookupPSK on a server,
 * funcPtrChoosePSK on a client, else the connection's store
 * (CERT_STORE_addIdentityPSK). */
#include <stdlib.h>
#include "handshake/tls12.h"
#include "handshake/psk.h"
#include "handshake/store.h"

#define HINT_MAX SSL_PSK_SERVER_IDENTITY_LENGTH

/* RFC 4279 §2: premaster = other_secret<0..2^16-1> | psk<0..2^16-1>, where
 * other_secret is N zero bytes for plain PSK (N the PSK's length), the
 * Diffie-Hellman Z for DHE_PSK (§3) and the ECDH x-coordinate for ECDHE_PSK
 * (RFC 5489 §2). */
static MSTATUS derive_with(struct nk_tls *c, const uint8_t *z, size_t zlen, const uint8_t *psk, size_t plen)
{
    uint8_t pms[2 + NK_MAX_KEX_SECRET + 2 + NK_MAX_HASH];
    NK_CHECK(zlen <= NK_MAX_KEX_SECRET && plen <= NK_MAX_HASH, ERR_SSL_INTERNAL);
    if (!z)
        zlen = plen;
    nk_store16(pms, (uint16_t)zlen);
    if (z)
        memcpy(pms + 2, z, zlen);
    else
        memset(pms + 2, 0, zlen);
    nk_store16(pms + 2 + zlen, (uint16_t)plen);
    memcpy(pms + 4 + zlen, psk, plen);
    MSTATUS st = nk_tls12_derive(c, pms, 4 + zlen + plen);
    nk_wipe(pms, sizeof pms);
    return st;
}

/* ---- server ---- */

int nk_tls12_psk_server_has(const struct nk_tls *c)
{
    return c->cfg->ssl.funcPtrLookupPSK || (c->store && c->store->n_psks);
}

/* funcPtrGetHintPSK's hint, else the first one in the store; none: 0. */
static size_t server_hint(struct nk_tls *c, uint8_t hint[HINT_MAX])
{
    if (c->cfg->ssl.funcPtrGetHintPSK) {
        ubyte4 len = 0;
        if (c->cfg->ssl.funcPtrGetHintPSK(c->handle, hint, &len) < 0 || len > HINT_MAX)
            return 0;
        return len;
    }
    for (size_t i = 0; c->store && i < c->store->n_psks; i++)
        if (c->store->psks[i].hint_len && c->store->psks[i].hint_len <= HINT_MAX) {
            memcpy(hint, c->store->psks[i].hint, c->store->psks[i].hint_len);
            return c->store->psks[i].hint_len;
        }
    return 0;
}

MSTATUS nk_tls12_psk_send_ske(struct nk_tls *c)
{
    uint8_t hint[HINT_MAX];
    size_t hint_len = server_hint(c, hint);
    struct nk_buf params = { 0 };
    struct nk_wr w;
    /* RFC 4279 §2: "If no hint is provided, the ServerKeyExchange message is
     * omitted" for plain PSK; DHE_PSK and ECDHE_PSK always send it. */
    if (c->suite->kx == NK_KX_PSK && !hint_len)
        return OK;
    if (c->suite->kx != NK_KX_PSK) {
        MSTATUS st = nk_tls12_kx_server_params(c, &params);
        if (st < 0) {
            nk_buf_free(&params);
            return st;
        }
    }
    nk_hs_begin(c, &w, NK_HS_SERVER_KEY_EXCHANGE);
    nk_wr_u16(&w, (uint16_t)hint_len);
    nk_wr_bytes(&w, hint, hint_len);
    nk_wr_bytes(&w, params.p, params.len);   /* unsigned: the PSK authenticates */
    nk_buf_free(&params);
    return nk_hs_finish(c, &w);
}

MSTATUS nk_tls12_psk_server_derive(struct nk_tls *c, struct nk_rd *b)
{
    struct nk_rd id;
    uint8_t key[NK_MAX_HASH], z[NK_MAX_KEX_SECRET];
    size_t key_len = 0, zlen = 0;
    NK_TRY(nk_rd_vec16(b, &id, 0, 0xffff));   /* psk_identity<0..2^16-1> */
    if (c->suite->kx == NK_KX_PSK)
        NK_TRY(nk_rd_done(b));
    else
        NK_TRY(nk_tls12_kx_server_secret(c, b, z, &zlen));
    /* RFC 4279 §2: an identity the server does not know: "it MAY respond
     * with an 'unknown_psk_identity' alert message". */
    MSTATUS st = ERR_SSL_UNKNOWN_PSK_IDENTITY;
    if (nk_psk_ext_server_lookup(c, id.p, nk_rd_left(&id), key, &key_len))
        st = derive_with(c, c->suite->kx == NK_KX_PSK ? NULL : z, zlen, key, key_len);
    nk_wipe(key, sizeof key);
    nk_wipe(z, sizeof z);
    return st;
}

/* ---- client ---- */

/* The identity and key to answer this hint with (hint NULL: none came):
 * funcPtrChoosePSK's, else the store's PSK with this hint, else its first. */
static MSTATUS choose(struct nk_tls *c, const uint8_t *hint, size_t hint_len)
{
    struct nk_hs *hs = c->hs;
    ubyte id[SSL_PSK_SERVER_IDENTITY_LENGTH], key[SSL_PSK_MAX_LENGTH], h[HINT_MAX];
    ubyte4 id_len = 0, key_len = 0;
    const struct nk_psk_identity *p = NULL;
    if (hint_len > HINT_MAX)
        hint_len = 0;   /* longer than the callbacks take: as if none */
    if (c->cfg->ssl.funcPtrChoosePSK) {
        if (hint_len)
            memcpy(h, hint, hint_len);
        if (c->cfg->ssl.funcPtrChoosePSK(c->handle, hint_len ? h : NULL, (ubyte4)hint_len, id, &id_len, key,
                                         &key_len) < 0)
            id_len = 0;
    } else if (c->store && c->store->n_psks) {
        p = &c->store->psks[0];
        for (size_t i = 0; i < c->store->n_psks && hint_len; i++)
            if (c->store->psks[i].hint_len == hint_len && !memcmp(c->store->psks[i].hint, hint, hint_len))
                p = &c->store->psks[i];
        id_len = (ubyte4)p->id_len;
        key_len = (ubyte4)p->secret_len;
    }
    MSTATUS st = ERR_SSL_NO_PSK;
    if (id_len >= 1 && id_len <= sizeof id && key_len >= 1 && key_len <= NK_MAX_HASH) {
        nk_buf_free(&hs->psk_id);
        st = nk_buf_append(&hs->psk_id, p ? p->id : id, id_len);
        memcpy(hs->psk, p ? p->secret : key, key_len);
        hs->psk_len = (uint8_t)key_len;
    }
    nk_wipe(key, sizeof key);
    return st;
}

MSTATUS nk_tls12_psk_on_ske(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_rd hint, peer;
    NK_TRY(nk_rd_vec16(b, &hint, 0, 0xffff));
    if (c->suite->kx != NK_KX_PSK)
        NK_TRY(nk_tls12_kx_client_params(c, b, &peer));   /* a group we offered */
    NK_TRY(nk_rd_done(b));
    NK_TRY(choose(c, hint.p, nk_rd_left(&hint)));
    if (c->suite->kx != NK_KX_PSK)
        NK_TRY(nk_tls12_kx_client_secret(c, peer));
    return nk_transcript_add(&c->hs->tr, raw, n);
}

MSTATUS nk_tls12_psk_client_ready(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    if (c->suite->kx != NK_KX_PSK)   /* RFC 4279 §3, RFC 5489 §2: always a ServerKeyExchange */
        NK_CHECK(hs->pms_len, ERR_SSL_UNEXPECTED_MESSAGE);
    return hs->psk_len ? OK : choose(c, NULL, 0);
}

void nk_tls12_psk_write_cke(struct nk_tls *c, struct nk_wr *w)
{
    struct nk_hs *hs = c->hs;
    nk_wr_u16(w, (uint16_t)hs->psk_id.len);
    nk_wr_bytes(w, hs->psk_id.p, hs->psk_id.len);
    if (c->suite->kx != NK_KX_PSK)
        nk_tls12_kx_write_client_public(c, w);
}

MSTATUS nk_tls12_psk_client_derive(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    MSTATUS st = derive_with(c, c->suite->kx == NK_KX_PSK ? NULL : hs->pms, hs->pms_len, hs->psk, hs->psk_len);
    nk_wipe(hs->psk, sizeof hs->psk);
    return st;
}
