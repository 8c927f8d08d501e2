/* record/tls12.c — TLSCiphertext under a TLS 1.2 AEAD suite (RFC 5246
 * §6.2.3.3): the real content type stays in the header, the additional data
 * is seq_num || type || version || length of the plaintext, and there is no
 * inner type and no padding. AES-GCM and AES-CCM records carry an 8-byte
 * explicit nonce before the ciphertext (RFC 5288 §3, RFC 6655 §3); ChaCha20-
 * Poly1305 sends none and XORs the sequence number into its 12-byte IV as TLS
 * 1.3 does (RFC 7905 §2). */
#include "record/protect.h"

/* GenericAEADCipher.nonce_explicit: SecurityParameters.record_iv_length. */
#define EXPLICIT 8
/* additional_data = seq_num(8) + type(1) + version(2) + length(2). */
#define AAD_LEN 13

/* record_iv_length: 8 where the fixed IV is the 4-byte salt of a partly
 * explicit nonce (AES-GCM/CCM), 0 where it is the whole nonce (ChaCha). */
static size_t explicit_len(const struct nk_suite *s)
{
    return s->fixed_iv_len < NK_AEAD_IV ? EXPLICIT : 0;
}

static MSTATUS tls12_install(struct nk_rec_key *k, const struct nk_suite *s, const uint8_t *keys, int encrypt)
{
    /* Only a TLS 1.2 row says how the key block's IV is used. */
    NK_CHECK(s && s->minor == 3 && s->key_len <= NK_MAX_KEY && s->fixed_iv_len <= NK_AEAD_IV, ERR_SSL_INTERNAL);
    nk_wipe(k->key, sizeof k->key);
    memcpy(k->key, keys, s->key_len);
    /* The salt, then zeros: the nonce's last 8 bytes are then the sequence
     * number, which ktls/ hands the kernel as the next explicit nonce. */
    memset(k->iv, 0, sizeof k->iv);
    memcpy(k->iv, keys + s->key_len, s->fixed_iv_len);
    k->seq = 0;
    k->suite = s;
    k->ops_id = NK_REC_OPS_TLS12_AEAD;
    MSTATUS st = nk_aead_init(&k->aead, s, k->key, encrypt);
    if (st < 0)
        nk_aead_free(&k->aead);   /* parked: the next use keys it again, or fails the same way */
    return st;
}

/* A parked key gets its context back (same key: the stream goes on). */
static MSTATUS unpark(struct nk_rec_key *k, int encrypt)
{
    return k->aead.ctx ? OK : nk_aead_init(&k->aead, k->suite, k->key, encrypt);
}

/* The nonce of the record at sequence number seq as we send it: the IV XORed
 * with the left-padded sequence number. RFC 7905 §2 for ChaCha20-Poly1305;
 * for AES-GCM/CCM the salt followed by the sequence number, the
 * nonce_explicit that RFC 5288 §3 allows ("MAY be the 64-bit sequence
 * number"), unique per key because the sequence number never repeats. */
static void make_nonce(const struct nk_rec_key *k, uint8_t nonce[NK_AEAD_IV])
{
    memcpy(nonce, k->iv, NK_AEAD_IV);
    for (int i = 0; i < 8; i++)
        nonce[NK_AEAD_IV - 1 - i] ^= (uint8_t)(k->seq >> (8 * i));
}

/* §6.2.3.3: additional_data = seq_num + TLSCompressed.type +
 * TLSCompressed.version + TLSCompressed.length (the plaintext's length). */
static void make_aad(uint8_t aad[AAD_LEN], uint64_t seq, uint8_t type, uint16_t version, size_t len)
{
    for (int i = 0; i < 8; i++)
        aad[i] = (uint8_t)(seq >> (56 - 8 * i));
    aad[8] = type;
    nk_store16(aad + 9, version);
    nk_store16(aad + 11, (uint16_t)len);
}

static MSTATUS next_seq(struct nk_rec_key *k)
{
    /* §6.1: sequence numbers MUST NOT wrap; the AEAD's own limit comes first
     * (TLS 1.2 has no KeyUpdate: the connection ends there). */
    NK_CHECK(k->seq < k->suite->aead_limit, ERR_SSL_SEQUENCE_EXHAUSTED);
    k->seq++;
    return OK;
}

/* version and pad are not used: a TLS 1.2 protected record says 0x0303, the
 * version it was negotiated under, and AEAD records have no padding. */
static MSTATUS tls12_seal(struct nk_rec_key *k, uint8_t type, uint16_t version, const uint8_t *data,
                          size_t len, size_t pad, struct nk_buf *out)
{
    const struct nk_suite *s = k->suite;
    size_t xl = explicit_len(s), clen = xl + len + s->tag_len, start = out->len;
    uint8_t nonce[NK_AEAD_IV], aad[AAD_LEN];
    struct nk_wr w;
    (void)version;
    (void)pad;
    /* §6.2.1: TLSPlaintext.length MUST NOT exceed 2^14. */
    NK_CHECK(len <= NK_MAX_PLAIN, ERR_INVALID_ARG);
    NK_CHECK(k->seq < s->aead_limit, ERR_SSL_SEQUENCE_EXHAUSTED);
    NK_TRY(unpark(k, 1));
    NK_TRY(nk_buf_reserve(out, NK_REC_HDR + clen));
    nk_wr_init(&w, out);
    nk_rec_tls_header(&w, k, type, NK_REC_V12, clen);
    uint8_t *body = nk_wr_space(&w, clen);
    NK_CHECK(body, ERR_SSL_INTERNAL);   /* within the reservation: not reached */
    /* The content first, the explicit nonce in front of it after: data may
     * overlap the bytes the nonce takes. */
    if (len)
        memmove(body + xl, data, len);
    make_nonce(k, nonce);
    memcpy(body, nonce + NK_AEAD_IV - xl, xl);
    make_aad(aad, k->seq, type, NK_REC_V12, len);
    MSTATUS st = nk_aead_seal(&k->aead, nonce, aad, AAD_LEN, body + xl, len);
    if (st >= 0)
        st = next_seq(k);
    if (st < 0) {
        /* The plaintext sits past len, where freeing would not wipe it. */
        nk_wipe(out->p + start, out->len - start);
        out->len = start;
    }
    return st;
}

/* The header and, for AES-GCM/CCM, the explicit nonce of a whole record:
 * the nonce to open it with; *n is the plaintext length. */
static MSTATUS open_prefix(const struct nk_rec_key *k, const uint8_t *rec, size_t rec_len, struct nk_rec *h,
                           uint8_t nonce[NK_AEAD_IV], size_t *n)
{
    const struct nk_suite *s = k->suite;
    size_t xl = explicit_len(s);
    struct nk_rd r;
    nk_rd_init(&r, rec, rec_len);
    NK_TRY(nk_rec_tls_parse(&r, h));   /* not even a header: decode_error */
    size_t body = nk_rd_left(&r);
    /* §6.2.3: TLSCiphertext.length MUST NOT exceed 2^14 + 2048; §7.2.2:
     * record_overflow. */
    NK_CHECK(body <= NK_MAX_CIPHER12, ERR_SSL_RECORD_OVERFLOW);
    NK_CHECK(h->body_len == body, ERR_SSL_PROTOCOL);
    /* After the hello every record carries the negotiated version (§6.2.1,
     * Appendix E.1); the additional data covers it as well. */
    NK_CHECK(h->version == NK_REC_V12, ERR_SSL_UNSUPPORTED_VERSION);
    NK_CHECK(body >= xl + s->tag_len, ERR_SSL_BAD_RECORD_MAC);
    make_nonce(k, nonce);
    /* RFC 5288 §3: the explicit part is the sender's choice: as it came. */
    NK_TRY(nk_rd_copy(&r, nonce + NK_AEAD_IV - xl, xl));
    *n = body - xl - s->tag_len;
    return OK;
}

static MSTATUS tls12_open(struct nk_rec_key *k, uint8_t *rec, size_t rec_len, uint8_t *type, uint8_t **data,
                          size_t *len)
{
    struct nk_rec h;
    uint8_t nonce[NK_AEAD_IV], aad[AAD_LEN];
    size_t n;
    NK_TRY(open_prefix(k, rec, rec_len, &h, nonce, &n));
    NK_TRY(unpark(k, 0));
    uint8_t *p = rec + NK_REC_HDR + explicit_len(k->suite);
    make_aad(aad, k->seq, h.type, h.version, n);
    NK_TRY(nk_aead_open(&k->aead, nonce, aad, AAD_LEN, p, n + k->suite->tag_len));
    NK_TRY(next_seq(k));
    /* §6.2.1: TLSPlaintext.length MUST NOT exceed 2^14 (without compression
     * the plaintext is TLSCompressed too, §6.2.2); §7.2.2: record_overflow. */
    NK_CHECK(n <= NK_MAX_PLAIN, ERR_SSL_RECORD_OVERFLOW);
    *type = h.type;
    *data = p;
    *len = n;
    return OK;
}

const struct nk_rec_ops nk_rec_tls12 = {
    .name = "TLS 1.2 AEAD",
    .hdr_len = NK_REC_HDR,
    /* ChaCha20-Poly1305's tag, or AES-CCM_8's explicit nonce and short tag;
     * AES-GCM/CCM add 24. */
    .overhead = NK_AEAD_TAG,
    /* §6.2.3 allows 2^14 + 2048, but an AEAD record longer than 2^14 of
     * plaintext, explicit nonce and tag can only overflow once opened: it is
     * refused at its header with the same record_overflow, before it is
     * buffered (and it fits the buffer sized for TLS 1.3's records). */
    .max_body = NK_MAX_PLAIN + EXPLICIT + NK_AEAD_TAG,
    .parse = nk_rec_tls_parse,
    .header = nk_rec_tls_header,
    .install = tls12_install,
    .seal = tls12_seal,
    .open = tls12_open,
};
