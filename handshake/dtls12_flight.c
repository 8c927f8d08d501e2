/* handshake/dtls12_flight.c — what a DTLS 1.2 connection sends (RFC 6347
 * §4.2): the TLS 1.2 handshake's messages given message_seq and hashed in
 * their DTLS form (§4.2.6), cut into fragments that fit the PMTU (§4.2.3),
 * records packed into datagrams (c->out holds each datagram behind a 2-byte
 * length), the last flight kept and sent again when the timer fires or the
 * peer repeats its own (§4.2.4). */
#include "handshake/dtls12.h"

/* The datagram at d->dg_start is the last in c->out and not yet taken. */
static int dg_open(const struct nk_tls *c, const struct nk_dtls *d)
{
    return c->out.len > c->out_off && d->dg_start >= c->out_off && d->dg_start + 2 <= c->out.len;
}

static size_t dg_len(const struct nk_tls *c, const struct nk_dtls *d)
{
    return c->out.len - d->dg_start - 2;
}

/* What a record of k adds to its content. */
static size_t rec_cost(const struct nk_dtls *d, const struct nk_rec_key *k)
{
    return d->pmtu - nk_dtls_room(k, d->pmtu);
}

/* §4.1.1: "Multiple DTLS records may be placed in a single datagram"; each
 * record lies whole in one. The open datagram takes the record if it stays
 * within the PMTU, else a new one starts. */
static MSTATUS put_record(struct nk_tls *c, struct nk_rec_key *k, uint8_t type, const uint8_t *p, size_t n)
{
    struct nk_dtls *d = c->dtls;
    if (!dg_open(c, d) || dg_len(c, d) + n + rec_cost(d, k) > d->pmtu) {
        static const uint8_t none[2];
        NK_CHECK(c->out.len <= UINT32_MAX - 2, ERR_SSL_INTERNAL);
        d->dg_start = c->out.len;
        NK_TRY(nk_buf_append(&c->out, none, 2));
    }
    NK_TRY(nk_rec_write(k, type, NK_DTLS_V12, p, n, &c->out));
    nk_store16(c->out.p + d->dg_start, (uint16_t)dg_len(c, d));
    return OK;
}

void nk_dtls_end_datagram(struct nk_tls *c)
{
    /* dg_open needs the length at dg_start inside c->out: here it is not,
     * until put_record starts the next datagram there. */
    c->dtls->dg_start = (uint32_t)c->out.len;
}

MSTATUS nk_dtls_put_datagram(struct nk_tls *c, const uint8_t *p, size_t n)
{
    NK_CHECK(n && n <= 0xffff, ERR_INVALID_ARG);
    NK_TRY(nk_buf_reserve(&c->out, n + 2));   /* both appends below then succeed: the queue stays whole */
    uint8_t len[2];
    nk_store16(len, (uint16_t)n);
    NK_TRY(nk_buf_append(&c->out, len, 2));
    NK_TRY(nk_buf_append(&c->out, p, n));
    nk_dtls_end_datagram(c);
    return OK;
}

/* §4.2.3: a message "MUST be fragmented into multiple DTLS records" when it
 * does not fit; each fragment fills what the open datagram has left, or a
 * new one when that is too little to be worth a fragment header. */
static MSTATUS put_message(struct nk_tls *c, struct nk_rec_key *k, uint8_t type, uint16_t seq,
                           const uint8_t *body, uint32_t len)
{
    struct nk_dtls *d = c->dtls;
    uint8_t frag[NK_MAX_PLAIN];
    uint32_t off = 0;
    do {
        struct nk_buf fb = { .p = frag, .cap = sizeof frag };
        size_t room = dg_open(c, d) ? d->pmtu - dg_len(c, d) : d->pmtu;
        size_t max = nk_dtls_room(k, room), left = len - off;
        if (max < NK_DTLS_HS_HDR + (left < 64 ? left : 64))
            max = nk_dtls_room(k, d->pmtu);
        uint32_t taken;
        NK_TRY(nk_dtls_frag_put(&fb, type, seq, body, len, off, max, &taken));
        NK_TRY(put_record(c, k, NK_CT_HANDSHAKE, fb.p, fb.len));
        off += taken;
    } while (off < len);
    return OK;
}

/* Our first message after receiving begins a new flight: the previous one
 * was answered and is forgotten. */
static void begin_flight(struct nk_dtls *d)
{
    if (d->new_flight) {
        d->flight.len = 0;
        d->new_flight = 0;
        d->peer_flight_start = d->ra.next_seq;
        d->rto_ms = d->rto_init_ms;
    }
    d->sent_flight = 1;
}

static MSTATUS keep(struct nk_dtls *d, uint8_t ct, uint16_t epoch, uint8_t type, uint16_t seq,
                    const uint8_t *body, uint32_t len)
{
    uint8_t h[10] = { ct, (uint8_t)(epoch >> 8), (uint8_t)epoch, type, (uint8_t)(seq >> 8), (uint8_t)seq,
                      (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
    NK_TRY(nk_buf_append(&d->flight, h, sizeof h));
    return len ? nk_buf_append(&d->flight, body, len) : OK;
}

MSTATUS nk_dtls_send_message(struct nk_tls *c, const uint8_t *msg, size_t n, int add_transcript)
{
    struct nk_dtls *d = c->dtls;
    NK_CHECK(n >= 4 && nk_load24(msg + 1) == n - 4, ERR_SSL_INTERNAL);
    uint8_t type = msg[0];
    const uint8_t *body = msg + 4;
    uint32_t len = (uint32_t)(n - 4);
    begin_flight(d);
    uint16_t seq = d->send_seq++;
    if (add_transcript) {
        /* §4.2.6: hashed "as if each handshake message had been sent as a
         * single fragment": the 12-byte header, then the body. */
        uint8_t h[NK_DTLS_HS_HDR];
        h[0] = type;
        nk_store24(h + 1, len);
        nk_store16(h + 4, seq);
        nk_store24(h + 6, 0);
        nk_store24(h + 9, len);
        NK_TRY(nk_transcript_add(&c->hs->tr, h, sizeof h));
        NK_TRY(nk_transcript_add(&c->hs->tr, body, len));
    }
    NK_TRY(keep(d, NK_CT_HANDSHAKE, c->wr->epoch, type, seq, body, len));
    return put_message(c, c->wr, type, seq, body, len);
}

MSTATUS nk_dtls_send_unkept(struct nk_tls *c, uint8_t type, uint16_t seq, const uint8_t *body, size_t len)
{
    return put_message(c, c->wr, type, seq, body, (uint32_t)len);
}

MSTATUS nk_dtls_send(struct nk_tls *c, uint8_t type, const uint8_t *p, size_t n)
{
    struct nk_dtls *d = c->dtls;
    if (type == NK_CT_HANDSHAKE)
        return nk_dtls_send_message(c, p, n, 0);
    if (type == NK_CT_CHANGE_CIPHER_SPEC) {
        begin_flight(d);
        NK_TRY(keep(d, type, c->wr->epoch, 0, 0, p, (uint32_t)n));
        NK_TRY(put_record(c, c->wr, type, p, n));
        /* The write key moves on after this record; epoch 0 stays for
         * sending this flight's earlier messages again. */
        if (!c->wr->suite)
            d->wr0 = *c->wr;
        return OK;
    }
    /* Alerts and application data: records as long as a datagram allows. */
    do {
        size_t chunk = nk_dtls_room(c->wr, d->pmtu);
        NK_CHECK(chunk > 0, ERR_SSL_INTERNAL);
        chunk = n < chunk ? n : chunk;
        NK_TRY(put_record(c, c->wr, type, p, chunk));
        p += chunk;
        n -= chunk;
    } while (n);
    return OK;
}

MSTATUS nk_dtls_retransmit(struct nk_tls *c)
{
    struct nk_dtls *d = c->dtls;
    struct nk_rd r;
    nk_rd_init(&r, d->flight.p, d->flight.len);
    while (nk_rd_left(&r)) {
        uint8_t ct, type;
        uint16_t epoch, seq;
        uint32_t len;
        const uint8_t *body;
        NK_TRY(nk_rd_u8(&r, &ct));
        NK_TRY(nk_rd_u16(&r, &epoch));
        NK_TRY(nk_rd_u8(&r, &type));
        NK_TRY(nk_rd_u16(&r, &seq));
        NK_TRY(nk_rd_u32(&r, &len));
        NK_TRY(nk_rd_bytes(&r, len, &body));
        /* §4.2.4: retransmitted messages go in the epoch they first went in. */
        struct nk_rec_key *k = epoch == c->wr->epoch ? c->wr : epoch == 0 ? &d->wr0 : NULL;
        NK_CHECK(k, ERR_SSL_INTERNAL);
        if (ct == NK_CT_CHANGE_CIPHER_SPEC)
            NK_TRY(put_record(c, k, ct, body, len));
        else
            NK_TRY(put_message(c, k, type, seq, body, len));
    }
    d->retransmits++;
    return OK;
}

void nk_dtls_flight_done(struct nk_tls *c)
{
    struct nk_dtls *d = c->dtls;
    if (!c->hs) {
        /* §4.2.4: the side that sent the last flight answers the peer's
         * repeats of its own; no timer runs once the handshake is over. */
        if (d->sent_flight)
            d->last_sender = 1;
        d->rtx_at = 0;
        if (!d->last_sender)   /* nothing of ours will be asked for again */
            nk_buf_free(&d->flight);
    } else if (d->sent_flight) {
        d->rtx_at = d->now_ms + d->rto_ms;
    }
    d->sent_flight = 0;
    d->rtx_done = 0;
}

MSTATUS nk_dtls_on_timer(struct nk_tls *c, int64_t now_ms)
{
    struct nk_dtls *d = c->dtls;
    d->now_ms = now_ms;
    if (!d->rtx_at || now_ms < d->rtx_at || !c->hs)
        return OK;
    /* §4.2.4.1: double the timer at each retransmission, up to 60 s. */
    d->rto_ms = d->rto_ms * 2 > NK_DTLS_RTO_MAX_MS ? NK_DTLS_RTO_MAX_MS : d->rto_ms * 2;
    d->rtx_at = now_ms + d->rto_ms;
    return nk_dtls_retransmit(c);
}

size_t nk_dtls_out_datagram_len(const struct nk_tls *c)
{
    return c->out.len - c->out_off >= 2 ? nk_load16(c->out.p + c->out_off) : 0;
}

const uint8_t *nk_dtls_out_datagram(const struct nk_tls *c, size_t *len)
{
    *len = nk_dtls_out_datagram_len(c);
    return c->out.len - c->out_off >= 2 ? c->out.p + c->out_off + 2 : NULL;
}
