/* record/record.c — the record layer's shared part: framing records in a
 * buffer (RFC 8446 §5.1), the calls that pick a key object's protection, and
 * the kernel as a protection. The protections themselves: record/plain.c,
 * record/tls13.c, record/tls12.c. */
#include "record/record.h"
#include "core/wire.h"

const struct nk_rec_ops *const nk_rec_ops_by_id[NK_REC_OPS_COUNT] = {
    [NK_REC_OPS_NONE] = &nk_rec_plain,
    [NK_REC_OPS_TLS13] = &nk_rec_tls13,
    [NK_REC_OPS_TLS12_AEAD] = &nk_rec_tls12,
    [NK_REC_OPS_DTLS12] = &nk_rec_dtls12,
    [NK_REC_OPS_TLS12_CBC] = &nk_rec_tls12_cbc,
    [NK_REC_OPS_TLS12_CBC_ETM] = &nk_rec_tls12_cbc_etm,
};

/* ---- key objects ---- */

MSTATUS nk_rec_derive(struct nk_rec_key *k, const struct nk_suite *s, const uint8_t *secret)
{
    NK_TRY(nk_hkdf_expand_label(s->hash, secret, "key", NULL, 0, k->key, s->key_len));
    NK_TRY(nk_hkdf_expand_label(s->hash, secret, "iv", NULL, 0, k->iv, NK_AEAD_IV));
    k->seq = 0;
    return OK;
}

MSTATUS nk_rec_install(struct nk_rec_key *k, const struct nk_suite *s, const uint8_t *secret, int encrypt)
{
    return nk_rec_tls13.install(k, s, secret, encrypt);
}

void nk_rec_clear(struct nk_rec_key *k)
{
    nk_aead_free(&k->aead);
    nk_wipe(k, sizeof *k);
}

void nk_rec_park(struct nk_rec_key *k)
{
    if (k->suite && k->aead.ctx)
        nk_aead_free(&k->aead);
}

MSTATUS nk_rec_write(struct nk_rec_key *k, uint8_t type, uint16_t version, const uint8_t *d, size_t n,
                     struct nk_buf *out)
{
    return nk_rec_ops_of(k)->seal(k, type, version, d, n, 0, out);
}

MSTATUS nk_rec_seal(struct nk_rec_key *k, uint8_t type, const uint8_t *data, size_t len, size_t pad,
                    struct nk_buf *out)
{
    return nk_rec_ops_of(k)->seal(k, type, NK_REC_V12, data, len, pad, out);
}

MSTATUS nk_rec_open(struct nk_rec_key *k, uint8_t *rec, size_t rec_len, uint8_t *type, uint8_t **data,
                    size_t *len)
{
    return nk_rec_ops_of(k)->open(k, rec, rec_len, type, data, len);
}

/* ---- framing ---- */

/* The header at the front of [p, p + n), which holds at least hdr_len bytes. */
static MSTATUS parse(const struct nk_rec_ops *ops, uint8_t *p, size_t n, struct nk_rec *rec)
{
    struct nk_rd r;
    nk_rd_init(&r, p, n);
    NK_TRY(ops->parse(&r, rec));
    rec->p = p;
    rec->body = p + ops->hdr_len;
    rec->len = ops->hdr_len + rec->body_len;
    return OK;
}

size_t nk_rec_frame_len(const struct nk_rec_ops *ops, const uint8_t *p, size_t n)
{
    struct nk_rec rec;
    if (n < ops->hdr_len || parse(ops, (uint8_t *)p, n, &rec) < 0)
        return ops->hdr_len;
    return rec.len;
}

size_t nk_rec_room(const struct nk_rec_ops *ops)
{
    size_t n = (size_t)ops->hdr_len + ops->max_body;
    return n > NK_MAX_RECORD ? n : NK_MAX_RECORD;
}

MSTATUS nk_rec_peek_header(const struct nk_rec_ops *ops, uint8_t *p, size_t n, struct nk_rec *rec)
{
    if (n < ops->hdr_len)
        return NK_REC_SHORT;
    NK_TRY(parse(ops, p, n, rec));
    /* §5.1: the version is ignored, but a non-TLS peer (plain HTTP, say) is
     * recognised by its first byte and major version. */
    NK_CHECK(rec->type >= NK_CT_CHANGE_CIPHER_SPEC && rec->type <= 24 && rec->version >> 8 == 3,
             ERR_SSL_NOT_TLS);
    NK_CHECK(rec->body_len <= ops->max_body, ERR_SSL_RECORD_OVERFLOW);
    return n < rec->len ? NK_REC_SHORT : OK;
}

MSTATUS nk_rec_walk_next(struct nk_rec_walk *w, struct nk_rec *rec)
{
    if (w->left == 0)
        return NK_REC_END;
    if (w->left < w->ops->hdr_len)
        return NK_REC_SHORT;
    NK_TRY(parse(w->ops, w->p, w->left, rec));
    if (w->left < rec->len)
        return NK_REC_SHORT;
    w->p += rec->len;
    w->left -= rec->len;
    return OK;
}

uint8_t *nk_rec_drop_front(const struct nk_rec_ops *ops, const struct nk_rec *rec, size_t n)
{
    /* The writer appends to a buffer: one over exactly the header's bytes. */
    struct nk_buf b = { .p = rec->p + n, .len = 0, .cap = ops->hdr_len, .hw = ops->hdr_len };
    struct nk_wr w;
    nk_wr_init(&w, &b);
    ops->header(&w, NULL, rec->type, NK_REC_V12, rec->body_len - n);
    return rec->p + n;
}

/* ---- the kernel as a protection ---- */

MSTATUS nk_rec_can_rekey(const struct nk_rec_kernel *kt, int dir)
{
    if (dir != NK_REC_TX || !kt->ktls_tx)
        return OK;
    /* The kernel still waits to switch to the key our last KeyUpdate
     * announced: a second one now would leave under the key that one retires
     * while our secret moved on twice, and the kernel would jump two
     * generations. */
    if (kt->tx_rekey_pending)
        return NK_REC_KEY_PENDING;
    /* A kernel that cannot replace its TX key cannot follow: refused before
     * anything is queued, so the stream stays intact. */
    return kt->ktls_tx_rekey ? OK : ERR_SSL_KTLS_NO_REKEY;
}

MSTATUS nk_rec_next_key(struct nk_rec_key *k, struct nk_rec_kernel *kt, int dir, const struct nk_suite *s,
                        const uint8_t *secret, uint32_t queued)
{
    if (dir == NK_REC_TX && kt->ktls_tx) {
        /* The driver hands the new key to the kernel once the record that
         * announces it, still under the old key, has left. */
        kt->tx_rekey_pending = 1;
        kt->tx_rekey_at = queued;
        return OK;
    }
    if (dir == NK_REC_RX && kt->ktls_rx) {
        /* The kernel holds decryption paused until it has the key: whoever
         * fed us this record (ktls/) hands it over before reading on. */
        kt->rx_rekey_pending = 1;
        return OK;
    }
    /* Keys go away only when the kernel carries the direction; and only TLS
     * 1.3 has a next key (TLS 1.2 keys change by a new handshake). */
    NK_CHECK(k && k->ops_id == NK_REC_OPS_TLS13, ERR_SSL_INTERNAL);
    return nk_rec_ops_of(k)->install(k, s, secret, dir == NK_REC_TX);
}
