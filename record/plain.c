/* record/plain.c — TLSPlaintext (RFC 8446 §5.1): the records before any key,
 * the compatibility change_cipher_spec, and the records the kernel protects
 * once it carries a direction (ktls/ strips their headers). */
#include "record/protect.h"

MSTATUS nk_rec_tls_parse(struct nk_rd *r, struct nk_rec *rec)
{
    uint16_t len;
    NK_TRY(nk_rd_u8(r, &rec->type));
    NK_TRY(nk_rd_u16(r, &rec->version));
    NK_TRY(nk_rd_u16(r, &len));
    rec->epoch = 0;
    rec->seq = 0;
    rec->body_len = len;
    return OK;
}

void nk_rec_tls_header(struct nk_wr *w, const struct nk_rec_key *k, uint8_t type, uint16_t version, size_t n)
{
    nk_wr_u8(w, type);
    nk_wr_u16(w, version);
    nk_wr_u16(w, (uint16_t)n);
}

static MSTATUS plain_seal(struct nk_rec_key *k, uint8_t type, uint16_t version, const uint8_t *d, size_t n,
                          size_t pad, struct nk_buf *out)
{
    struct nk_wr w;
    NK_CHECK(n <= NK_MAX_PLAIN, ERR_INVALID_ARG);
    /* One reservation of the record's size: an empty buffer is then allocated
     * at exactly that (nk_buf_reserve), as per-connection memory wants. */
    NK_TRY(nk_buf_reserve(out, NK_REC_HDR + n));
    nk_wr_init(&w, out);
    nk_rec_tls_header(&w, k, type, version, n);
    nk_wr_bytes(&w, d, n);
    return nk_wr_status(&w);
}

static MSTATUS plain_open(struct nk_rec_key *k, uint8_t *rec, size_t len, uint8_t *type, uint8_t **data,
                          size_t *n)
{
    struct nk_rd r;
    struct nk_rec h;
    nk_rd_init(&r, rec, len);
    NK_TRY(nk_rec_tls_parse(&r, &h));
    *type = h.type;
    *data = rec + NK_REC_HDR;
    *n = len - NK_REC_HDR;
    return OK;
}

const struct nk_rec_ops nk_rec_plain = {
    .name = "plaintext",
    .hdr_len = NK_REC_HDR,
    .overhead = 0,
    /* §5.1: TLSPlaintext.length MUST NOT exceed 2^14. */
    .max_body = NK_MAX_PLAIN,
    .parse = nk_rec_tls_parse,
    .header = nk_rec_tls_header,
    .install = NULL,
    .seal = plain_seal,
    .open = plain_open,
};

MSTATUS nk_rec_write_ccs(struct nk_buf *out)
{
    /* Middlebox compatibility (RFC 8446 Appendix D.4): an unprotected
     * change_cipher_spec record of the single byte 0x01. */
    static const uint8_t one = 1;
    return plain_seal(NULL, NK_CT_CHANGE_CIPHER_SPEC, NK_REC_V12, &one, 1, 0, out);
}

int nk_rec_is_ccs(const struct nk_rec *rec)
{
    struct nk_rd r;
    uint8_t v;
    nk_rd_init(&r, rec->body, rec->body_len);
    return rec->type == NK_CT_CHANGE_CIPHER_SPEC && nk_rd_u8(&r, &v) == OK && v == 1 && nk_rd_done(&r) == OK;
}
