/* record/dtls12.c — DTLS 1.2 records (RFC 6347 §4.1): DTLSPlaintext in epoch
 * 0 (a keyless key object) and DTLSCiphertext under the TLS 1.2 AEAD suites
 * (§4.1.2.4: "exactly as with TLS 1.2"), with the 64-bit seq_num of the
 * additional data and of the nonce being epoch || sequence_number (§4.1.2.1;
 * RFC 7905 §2 for ChaCha20-Poly1305). The key object keeps its epoch in
 * k->epoch and the next sequence number to send in k->seq; a read key's
 * sequence numbers come from the records, and its window from the caller
 * (struct nk_dtls_in). */
#include "record/dtls12.h"
#include "core/wire.h"

/* GenericAEADCipher.nonce_explicit of AES-GCM/CCM (RFC 5288 §3, RFC 6655 §3). */
#define EXPLICIT 8
/* additional_data = seq_num(8) + type(1) + version(2) + length(2). */
#define AAD_LEN 13

/* §4.1: "the length should not exceed 2^14"; the ciphertext adds at most
 * the explicit nonce and the tag (TLS 1.2's 2^14 + 2048 bound is never
 * reached by an AEAD record that opens). */
#define MAX_BODY (NK_MAX_PLAIN + EXPLICIT + NK_AEAD_TAG)

static size_t explicit_len(const struct nk_suite *s)
{
    return s && s->fixed_iv_len < NK_AEAD_IV ? EXPLICIT : 0;
}

static size_t overhead(const struct nk_rec_key *k)
{
    return k && k->suite ? explicit_len(k->suite) + k->suite->tag_len : 0;
}

static MSTATUS dtls_parse(struct nk_rd *r, struct nk_rec *rec)
{
    uint16_t len, hi;
    uint32_t lo;
    NK_TRY(nk_rd_u8(r, &rec->type));
    NK_TRY(nk_rd_u16(r, &rec->version));
    NK_TRY(nk_rd_u16(r, &rec->epoch));
    NK_TRY(nk_rd_u16(r, &hi));
    NK_TRY(nk_rd_u32(r, &lo));
    NK_TRY(nk_rd_u16(r, &len));
    rec->seq = (uint64_t)hi << 32 | lo;
    rec->body_len = len;
    return OK;
}

static void put_header(struct nk_wr *w, uint8_t type, uint16_t version, uint16_t epoch, uint64_t seq, size_t n)
{
    nk_wr_u8(w, type);
    nk_wr_u16(w, version);
    nk_wr_u16(w, epoch);
    nk_wr_u16(w, (uint16_t)(seq >> 32));
    nk_wr_u32(w, (uint32_t)seq);
    nk_wr_u16(w, (uint16_t)n);
}

/* k NULL (a record's rest after a partial send, which datagrams never
 * have): epoch 0, sequence number 0. */
static void dtls_header(struct nk_wr *w, const struct nk_rec_key *k, uint8_t type, uint16_t version, size_t n)
{
    put_header(w, type, version, k ? k->epoch : 0, k ? k->seq : 0, n);
}

/* The key block share is write_key || write_IV as for TLS 1.2 (RFC 5246
 * §6.3); each install starts the next epoch at sequence number 0 (§4.1:
 * "incremented each time a ChangeCipherSpec message is sent"). */
static MSTATUS dtls_install(struct nk_rec_key *k, const struct nk_suite *s, const uint8_t *keys, int encrypt)
{
    NK_CHECK(s && s->minor == 3 && s->key_len <= NK_MAX_KEY && s->fixed_iv_len <= NK_AEAD_IV, ERR_SSL_INTERNAL);
    /* §4.1: "implementations MUST NOT allow the epoch to wrap". */
    NK_CHECK(k->epoch < 0xffff, ERR_SSL_SEQUENCE_EXHAUSTED);
    uint16_t epoch = (uint16_t)(k->epoch + 1);
    nk_aead_free(&k->aead);
    nk_wipe(k->key, sizeof k->key);
    memcpy(k->key, keys, s->key_len);
    memset(k->iv, 0, sizeof k->iv);
    memcpy(k->iv, keys + s->key_len, s->fixed_iv_len);
    k->seq = 0;
    k->epoch = epoch;
    k->suite = s;
    k->ops_id = NK_REC_OPS_DTLS12;
    MSTATUS st = nk_aead_init(&k->aead, s, k->key, encrypt);
    if (st < 0)
        nk_aead_free(&k->aead);   /* parked: the next use keys it again, or fails the same way */
    return st;
}

void nk_dtls_start(struct nk_rec_key *k)
{
    nk_wipe(k, sizeof *k);
    k->ops_id = NK_REC_OPS_DTLS12;   /* suite NULL: DTLSPlaintext, epoch 0 */
}

static MSTATUS unpark(struct nk_rec_key *k, int encrypt)
{
    return k->aead.ctx ? OK : nk_aead_init(&k->aead, k->suite, k->key, encrypt);
}

/* §4.1.2.1: the 64-bit sequence number is epoch || sequence_number. */
static uint64_t seq64(uint16_t epoch, uint64_t seq)
{
    return (uint64_t)epoch << 48 | seq;
}

/* The IV XORed with the left-padded 64-bit sequence number: RFC 7905 §2
 * ("In DTLS, the 64-bit seq_num is the 16-bit epoch concatenated with the
 * 48-bit seq_num"); for AES-GCM/CCM the salt then epoch || sequence_number,
 * the nonce_explicit RFC 5288 §3 allows, unique per key. */
static void make_nonce(const struct nk_rec_key *k, uint64_t s64, uint8_t nonce[NK_AEAD_IV])
{
    memcpy(nonce, k->iv, NK_AEAD_IV);
    for (int i = 0; i < 8; i++)
        nonce[NK_AEAD_IV - 1 - i] ^= (uint8_t)(s64 >> (8 * i));
}

/* RFC 5246 §6.2.3.3 with §4.1.2.1's seq_num and the on-the-wire version. */
static void make_aad(uint8_t aad[AAD_LEN], uint64_t s64, uint8_t type, uint16_t version, size_t len)
{
    for (int i = 0; i < 8; i++)
        aad[i] = (uint8_t)(s64 >> (56 - 8 * i));
    aad[8] = type;
    nk_store16(aad + 9, version);
    nk_store16(aad + 11, (uint16_t)len);
}

/* The last sequence number this key may send: §4.1, "implementations MUST
 * either abandon an association or rehandshake prior to allowing the
 * sequence number to wrap"; the AEAD's own limit may come first. */
static uint64_t last_seq(const struct nk_rec_key *k)
{
    uint64_t lim = k->suite && k->suite->aead_limit - 1 < NK_DTLS_SEQ_MAX ? k->suite->aead_limit - 1
                                                                          : NK_DTLS_SEQ_MAX;
    return lim;
}

/* Protected records say DTLS 1.2; a keyless one says DTLS 1.0 only when
 * asked (a first ClientHello). pad is ignored: no padding. */
static MSTATUS dtls_seal(struct nk_rec_key *k, uint8_t type, uint16_t version, const uint8_t *data, size_t len,
                         size_t pad, struct nk_buf *out)
{
    const struct nk_suite *s = k->suite;
    size_t xl = explicit_len(s), clen = len + overhead(k), start = out->len;
    uint16_t v = !s && version == NK_DTLS_V10 ? NK_DTLS_V10 : NK_DTLS_V12;
    struct nk_wr w;
    (void)pad;
    /* §4.1: the length should not exceed 2^14 (RFC 5246 §6.2.1: MUST NOT). */
    NK_CHECK(len <= NK_MAX_PLAIN, ERR_INVALID_ARG);
    NK_CHECK(k->seq <= last_seq(k), ERR_SSL_SEQUENCE_EXHAUSTED);
    if (s)
        NK_TRY(unpark(k, 1));
    NK_TRY(nk_buf_reserve(out, NK_DTLS_HDR + clen));
    nk_wr_init(&w, out);
    put_header(&w, type, v, k->epoch, k->seq, clen);
    uint8_t *body = nk_wr_space(&w, clen);
    NK_CHECK(body, ERR_SSL_INTERNAL);   /* within the reservation: not reached */
    if (len)
        memmove(body + xl, data, len);
    MSTATUS st = OK;
    if (s) {
        uint8_t nonce[NK_AEAD_IV], aad[AAD_LEN];
        uint64_t s64 = seq64(k->epoch, k->seq);
        make_nonce(k, s64, nonce);
        memcpy(body, nonce + NK_AEAD_IV - xl, xl);
        make_aad(aad, s64, type, v, len);
        st = nk_aead_seal(&k->aead, nonce, aad, AAD_LEN, body + xl, len);
    }
    if (st < 0) {
        nk_wipe(out->p + start, out->len - start);
        out->len = start;
        return st;
    }
    k->seq++;   /* at most NK_DTLS_SEQ_MAX + 1: the check above then refuses */
    return OK;
}

/* The ops table's open: one whole record under k's epoch, no window (that
 * is nk_dtls_open's). Errors: ERR_SSL_PROTOCOL (no header, length not the
 * record's, another epoch), ERR_SSL_UNSUPPORTED_VERSION,
 * ERR_SSL_RECORD_OVERFLOW, ERR_SSL_BAD_RECORD_MAC. */
static MSTATUS dtls_open(struct nk_rec_key *k, uint8_t *rec, size_t rec_len, uint8_t *type, uint8_t **data,
                         size_t *len)
{
    const struct nk_suite *s = k->suite;
    size_t xl = explicit_len(s);
    struct nk_rd r;
    struct nk_rec h;
    nk_rd_init(&r, rec, rec_len);
    NK_TRY(dtls_parse(&r, &h));
    size_t body = nk_rd_left(&r);
    NK_CHECK(h.body_len == body && h.epoch == k->epoch, ERR_SSL_PROTOCOL);
    /* §4.1: version { 254, 253 }; before keys also a first ClientHello's
     * { 254, 255 }. */
    NK_CHECK(h.version == NK_DTLS_V12 || (!s && h.version == NK_DTLS_V10), ERR_SSL_UNSUPPORTED_VERSION);
    NK_CHECK(body <= (s ? MAX_BODY : NK_MAX_PLAIN), ERR_SSL_RECORD_OVERFLOW);
    uint8_t *p = rec + NK_DTLS_HDR;
    if (!s) {
        *type = h.type;
        *data = p;
        *len = body;
        return OK;
    }
    /* Too short to hold the explicit nonce and the tag: a bad length. */
    NK_CHECK(body >= overhead(k), ERR_SSL_PROTOCOL);
    uint8_t nonce[NK_AEAD_IV], aad[AAD_LEN];
    size_t n = body - overhead(k);
    uint64_t s64 = seq64(h.epoch, h.seq);
    make_nonce(k, s64, nonce);
    /* RFC 5288 §3: the explicit part is the sender's choice: as it came. */
    NK_TRY(nk_rd_copy(&r, nonce + NK_AEAD_IV - xl, xl));
    NK_TRY(unpark(k, 0));
    make_aad(aad, s64, h.type, h.version, n);
    NK_TRY(nk_aead_open(&k->aead, nonce, aad, AAD_LEN, p + xl, n + s->tag_len));
    /* RFC 5246 §6.2.1: TLSPlaintext.length MUST NOT exceed 2^14. */
    NK_CHECK(n <= NK_MAX_PLAIN, ERR_SSL_RECORD_OVERFLOW);
    *type = h.type;
    *data = p + xl;
    *len = n;
    return OK;
}

const struct nk_rec_ops nk_rec_dtls12 = {
    .name = "DTLS 1.2",
    .hdr_len = NK_DTLS_HDR,
    .overhead = 0,   /* keyless; an AEAD key adds nk_dtls_room's difference */
    .max_body = MAX_BODY,
    .parse = dtls_parse,
    .header = dtls_header,
    .install = dtls_install,
    .seal = dtls_seal,
    .open = dtls_open,
};

size_t nk_dtls_room(const struct nk_rec_key *k, size_t room)
{
    size_t o = NK_DTLS_HDR + overhead(k);
    if (room <= o)
        return 0;
    return room - o < NK_MAX_PLAIN ? room - o : NK_MAX_PLAIN;
}

/* ---- the anti-replay window (§4.1.2.6) ---- */

MSTATUS nk_dtls_window_check(const struct nk_dtls_window *w, uint64_t seq)
{
    if (seq >= w->next)
        return OK;   /* right of the window */
    uint64_t back = w->next - 1 - seq;
    /* "Records that contain sequence numbers lower than the "left" edge of
     * the window are rejected"; inside it, those received already. */
    if (back >= 64 || (w->bits >> back & 1))
        return NK_DTLS_DROPPED;
    return OK;
}

void nk_dtls_window_mark(struct nk_dtls_window *w, uint64_t seq)
{
    if (seq >= w->next) {
        uint64_t shift = seq - w->next + 1;
        w->bits = shift >= 64 ? 1 : w->bits << shift | 1;
        w->next = seq + 1;
    } else if (w->next - 1 - seq < 64) {   /* left of the window: nothing to mark */
        w->bits |= 1ULL << (w->next - 1 - seq);
    }
}

/* ---- a datagram's records ---- */

static MSTATUS drop(struct nk_dtls_in *in, enum nk_dtls_drop why)
{
    in->why = (uint8_t)why;
    in->drops[why]++;
    return NK_DTLS_DROPPED;
}

MSTATUS nk_dtls_walk_next(struct nk_rec_walk *w, struct nk_dtls_in *in, struct nk_rec *rec)
{
    MSTATUS st = nk_rec_walk_next(w, rec);
    if (st == NK_REC_END)
        return st;
    if (st != OK) {
        /* §4.1.1: "Each DTLS record MUST fit within a single datagram": a
         * truncated one, and whatever follows it, is dropped: rec spans
         * those bytes, with no header read. */
        memset(rec, 0, sizeof *rec);
        rec->p = w->p;
        rec->len = w->left;
        w->p += w->left;
        w->left = 0;
        return drop(in, NK_DTLS_DROP_TRUNCATED);
    }
    /* §4.1.2.7: invalid records "SHOULD be silently discarded"; the length
     * is known, so the walk goes on with the next one. */
    if (rec->type < NK_CT_CHANGE_CIPHER_SPEC || rec->type > 24)
        return drop(in, NK_DTLS_DROP_TYPE);
    if (rec->version >> 8 != 0xfe)
        return drop(in, NK_DTLS_DROP_VERSION);
    if (rec->body_len > MAX_BODY)
        return drop(in, NK_DTLS_DROP_LENGTH);
    return OK;
}

static enum nk_dtls_drop drop_reason(MSTATUS st)
{
    switch (st) {
    case ERR_SSL_BAD_RECORD_MAC: return NK_DTLS_DROP_MAC;
    case ERR_SSL_UNSUPPORTED_VERSION: return NK_DTLS_DROP_VERSION;
    case ERR_SSL_RECORD_OVERFLOW:
    case ERR_SSL_PROTOCOL: return NK_DTLS_DROP_LENGTH;
    default: return NK_DTLS_DROP_NONE;   /* a local failure */
    }
}

MSTATUS nk_dtls_open(struct nk_rec_key *k, struct nk_dtls_in *in, struct nk_rec *rec, uint8_t *type,
                     uint8_t **data, size_t *n)
{
    NK_CHECK(k->ops_id == NK_REC_OPS_DTLS12, ERR_SSL_INTERNAL);
    if (in->win.epoch != k->epoch) {
        /* §4.1.2.6: the window starts anew with each read epoch. */
        memset(&in->win, 0, sizeof in->win);
        in->win.epoch = k->epoch;
    }
    if (rec->epoch != k->epoch)
        return k->epoch < 0xffff && rec->epoch == k->epoch + 1 ? NK_DTLS_NEXT_EPOCH : drop(in, NK_DTLS_DROP_EPOCH);
    /* §4.1.2.6: the duplicate check "SHOULD be the first check applied". */
    if (nk_dtls_window_check(&in->win, rec->seq) != OK)
        return drop(in, NK_DTLS_DROP_REPLAY);
    MSTATUS st = dtls_open(k, rec->p, rec->len, type, data, n);
    if (st < 0) {
        enum nk_dtls_drop why = drop_reason(st);
        return why == NK_DTLS_DROP_NONE ? st : drop(in, why);
    }
    /* "The receive window is updated only if the MAC verification succeeds." */
    nk_dtls_window_mark(&in->win, rec->seq);
    return OK;
}
