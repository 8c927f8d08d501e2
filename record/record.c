/* record/record.c — software TLS 1.3 record protection (RFC 8446 §5.2–5.4). */
#include "record/record.h"
#include "core/wire.h"

MSTATUS nk_rec_derive(struct nk_rec_key *k, const struct nk_suite *s, const uint8_t *secret)
{
    NK_TRY(nk_hkdf_expand_label(s->hash, secret, "key", NULL, 0, k->key, s->key_len));
    NK_TRY(nk_hkdf_expand_label(s->hash, secret, "iv", NULL, 0, k->iv, NK_AEAD_IV));
    k->seq = 0;
    return OK;
}

MSTATUS nk_rec_install(struct nk_rec_key *k, const struct nk_suite *s, const uint8_t *secret, int encrypt)
{
    NK_TRY(nk_rec_derive(k, s, secret));
    NK_TRY(nk_aead_init(&k->aead, s, k->key, encrypt));
    k->suite = s;
    return OK;
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

/* A parked key gets its context back (same key: the stream goes on). */
static MSTATUS unpark(struct nk_rec_key *k, int encrypt)
{
    return k->aead.ctx ? OK : nk_aead_init(&k->aead, k->suite, k->key, encrypt);
}

/* §5.3: the per-record nonce is the IV XORed with the 64-bit sequence number,
 * left-padded to the IV length. */
static void make_nonce(const struct nk_rec_key *k, uint8_t nonce[NK_AEAD_IV])
{
    memcpy(nonce, k->iv, NK_AEAD_IV);
    for (int i = 0; i < 8; i++)
        nonce[NK_AEAD_IV - 1 - i] ^= (uint8_t)(k->seq >> (8 * i));
}

static MSTATUS next_seq(struct nk_rec_key *k)
{
    /* §5.3: the sequence number MUST NOT wrap; §5.5: keys MUST NOT be used past
     * the AEAD's limit. The engine rekeys before this is reached. */
    NK_CHECK(k->seq < k->suite->aead_limit, ERR_SSL_SEQUENCE_EXHAUSTED);
    k->seq++;
    return OK;
}

MSTATUS nk_rec_seal(struct nk_rec_key *k, uint8_t type, const uint8_t *data, size_t len, size_t pad,
                    struct nk_buf *out)
{
    size_t inner = len + 1 + pad, clen = inner + NK_AEAD_TAG;
    NK_CHECK(len <= NK_MAX_PLAIN && clen <= NK_MAX_CIPHER, ERR_INVALID_ARG);
    NK_CHECK(k->seq < k->suite->aead_limit, ERR_SSL_SEQUENCE_EXHAUSTED);
    NK_TRY(unpark(k, 1));
    NK_TRY(nk_buf_reserve(out, NK_REC_HDR + clen));
    uint8_t *h = out->p + out->len, *body = h + NK_REC_HDR, nonce[NK_AEAD_IV];
    /* §5.2: opaque_type 23, legacy_record_version 0x0303. */
    h[0] = NK_CT_APPLICATION_DATA;
    h[1] = 3;
    h[2] = 3;
    nk_store16(h + 3, (uint16_t)clen);
    if (len)
        memmove(body, data, len);
    body[len] = type;
    memset(body + len + 1, 0, pad);
    make_nonce(k, nonce);
    MSTATUS st = nk_aead_seal(&k->aead, nonce, h, NK_REC_HDR, body, inner);
    if (st >= 0)
        st = next_seq(k);
    if (st < 0) {
        /* The plaintext sits past len, where freeing would not wipe it. */
        nk_wipe(h, NK_REC_HDR + clen);
        return st;
    }
    nk_buf_wrote(out, NK_REC_HDR + clen);
    return OK;
}

MSTATUS nk_rec_open(struct nk_rec_key *k, uint8_t *rec, size_t rec_len, uint8_t *type, uint8_t **data,
                    size_t *len)
{
    uint8_t nonce[NK_AEAD_IV];
    NK_CHECK(rec_len >= NK_REC_HDR, ERR_SSL_PROTOCOL);
    size_t clen = rec_len - NK_REC_HDR;
    NK_CHECK(clen <= NK_MAX_CIPHER, ERR_SSL_RECORD_OVERFLOW);
    /* §5.2: protected records always carry opaque_type application_data. */
    NK_CHECK(rec[0] == NK_CT_APPLICATION_DATA, ERR_SSL_UNEXPECTED_MESSAGE);
    NK_CHECK(clen >= NK_AEAD_TAG + 1, ERR_SSL_BAD_RECORD_MAC);
    NK_TRY(unpark(k, 0));
    make_nonce(k, nonce);
    NK_TRY(nk_aead_open(&k->aead, nonce, rec, NK_REC_HDR, rec + NK_REC_HDR, clen));
    NK_TRY(next_seq(k));
    /* §5.4: the full TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets. */
    NK_CHECK(clen - NK_AEAD_TAG <= NK_MAX_PLAIN + 1, ERR_SSL_RECORD_OVERFLOW);
    /* §5.4: strip the zero padding; the last non-zero byte is the content type.
     * A plaintext of only zeros MUST be answered with unexpected_message. */
    uint8_t *p = rec + NK_REC_HDR;
    size_t n = clen - NK_AEAD_TAG;
    while (n > 0 && p[n - 1] == 0)
        n--;
    NK_CHECK(n > 0, ERR_SSL_UNEXPECTED_MESSAGE);
    *type = p[n - 1];
    n--;
    *data = p;
    *len = n;
    return OK;
}
