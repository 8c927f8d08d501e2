/* record/tls13.c — TLSCiphertext under a TLS 1.3 traffic key (RFC 8446
 * §5.2–5.4): the header is the AEAD's additional data, the nonce is the IV
 * XORed with the sequence number, the content type travels inside. */
#include "record/protect.h"

static MSTATUS tls13_install(struct nk_rec_key *k, const struct nk_suite *s, const uint8_t *secret, int encrypt)
{
    NK_CHECK(s->minor == 4, ERR_SSL_INTERNAL);   /* a TLS 1.2 row has its own protection */
    NK_TRY(nk_rec_derive(k, s, secret));
    NK_TRY(nk_aead_init(&k->aead, s, k->key, encrypt));
    k->suite = s;
    k->ops_id = NK_REC_OPS_TLS13;
    return OK;
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

/* Header and body in place at the end of out (reserved); returns the record. */
static uint8_t *frame(struct nk_rec_key *k, size_t clen, struct nk_buf *out)
{
    struct nk_wr w;
    uint8_t *h = out->p + out->len;
    nk_wr_init(&w, out);
    /* §5.2: opaque_type 23, legacy_record_version 0x0303. */
    nk_rec_tls_header(&w, k, NK_CT_APPLICATION_DATA, NK_REC_V12, clen);
    return nk_wr_space(&w, clen) ? h : NULL;
}

static MSTATUS tls13_seal(struct nk_rec_key *k, uint8_t type, uint16_t version, const uint8_t *data,
                          size_t len, size_t pad, struct nk_buf *out)
{
    size_t inner = len + 1 + pad, clen = inner + k->suite->tag_len, start = out->len;
    NK_CHECK(len <= NK_MAX_PLAIN && clen <= NK_MAX_CIPHER, ERR_INVALID_ARG);
    NK_CHECK(k->seq < k->suite->aead_limit, ERR_SSL_SEQUENCE_EXHAUSTED);
    NK_TRY(unpark(k, 1));
    NK_TRY(nk_buf_reserve(out, NK_REC_HDR + clen));
    uint8_t *h = frame(k, clen, out), nonce[NK_AEAD_IV];
    NK_CHECK(h, ERR_SSL_INTERNAL);   /* within the reservation: not reached */
    uint8_t *body = h + NK_REC_HDR;
    if (len)
        memmove(body, data, len);
    body[len] = type;
    memset(body + len + 1, 0, pad);
    make_nonce(k, nonce);
    /* §5.2: additional_data is the record header. */
    MSTATUS st = nk_aead_seal(&k->aead, nonce, h, NK_REC_HDR, body, inner);
    if (st >= 0)
        st = next_seq(k);
    if (st < 0) {
        /* The plaintext sits past len, where freeing would not wipe it. */
        nk_wipe(h, NK_REC_HDR + clen);
        out->len = start;
        return st;
    }
    return OK;
}

static MSTATUS tls13_open(struct nk_rec_key *k, uint8_t *rec, size_t rec_len, uint8_t *type, uint8_t **data,
                          size_t *len)
{
    struct nk_rd r;
    struct nk_rec h;
    uint8_t nonce[NK_AEAD_IV];
    nk_rd_init(&r, rec, rec_len);
    NK_TRY(nk_rec_tls_parse(&r, &h));   /* not even a header: decode_error */
    size_t clen = rec_len - NK_REC_HDR;
    NK_CHECK(clen <= NK_MAX_CIPHER, ERR_SSL_RECORD_OVERFLOW);
    /* §5.2: protected records always carry opaque_type application_data. */
    NK_CHECK(h.type == NK_CT_APPLICATION_DATA, ERR_SSL_UNEXPECTED_MESSAGE);
    size_t tag = k->suite->tag_len;   /* 16; 8 for AES-128-CCM-8 */
    NK_CHECK(clen >= tag + 1, ERR_SSL_BAD_RECORD_MAC);
    NK_TRY(unpark(k, 0));
    make_nonce(k, nonce);
    NK_TRY(nk_aead_open(&k->aead, nonce, rec, NK_REC_HDR, rec + NK_REC_HDR, clen));
    NK_TRY(next_seq(k));
    /* §5.4: the full TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets. */
    NK_CHECK(clen - tag <= NK_MAX_PLAIN + 1, ERR_SSL_RECORD_OVERFLOW);
    /* §5.4: strip the zero padding; the last non-zero byte is the content type.
     * A plaintext of only zeros MUST be answered with unexpected_message.
     * This backward scan is the one read of peer bytes outside core/wire.c
     * (DESIGN.md, "Parse through one reader"): the reader reads forward, and
     * the padding can only be found from the end. */
    uint8_t *p = rec + NK_REC_HDR;
    size_t n = clen - tag;
    while (n > 0 && p[n - 1] == 0)
        n--;
    NK_CHECK(n > 0, ERR_SSL_UNEXPECTED_MESSAGE);
    *type = p[n - 1];
    n--;
    *data = p;
    *len = n;
    return OK;
}

const struct nk_rec_ops nk_rec_tls13 = {
    .name = "TLS 1.3 AEAD",
    .hdr_len = NK_REC_HDR,
    /* The tag (the longest), and the content type inside. */
    .overhead = NK_AEAD_TAG + 1,
    .max_body = NK_MAX_CIPHER,
    .parse = nk_rec_tls_parse,
    .header = nk_rec_tls_header,
    .install = tls13_install,
    .seal = tls13_seal,
    .open = tls13_open,
};
