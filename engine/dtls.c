/* engine/dtls.c — DTLS 1.2 datagrams in and out of the engine (RFC 6347):
 * records walked and opened under the key of their epoch, invalid ones
 * dropped silently (§4.1.2.7), handshake fragments reassembled in
 * message_seq order (handshake/dtls12_frag.c) and run through the state
 * tables, the peer's repeated flights answered with our last one (§4.2.4). */
#include "engine/dtls.h"

MSTATUS nk_dtls_conn(struct nk_conn *c, const void *peer, size_t peer_len)
{
    NK_CHECK(peer_len <= NK_DTLS_ADDR_MAX, ERR_INVALID_ARG);
    NK_TRY(nk_dtls_init(&c->tls));
    c->readahead = 0;
    c->dtls->peer_len = (uint8_t)peer_len;
    if (peer_len)
        memcpy(c->dtls->peer, peer, peer_len);
    return OK;
}

MSTATUS nk_dtls_engine_start(struct nk_conn *c, int64_t now_ms)
{
    NK_CHECK(c->is_dtls, ERR_SSL_BAD_STATE);
    c->dtls->now_ms = now_ms;
    MSTATUS st = nk_engine_start(c);
    nk_dtls_flight_done(&c->tls);
    return st;
}

/* §4.2.4: a message of a flight of the peer's that we answered already: our
 * answer was lost, send it again — once per datagram, and only while we
 * wait, or as the sender of the handshake's last flight. */
static MSTATUS on_repeat(struct nk_conn *c, uint16_t seq)
{
    struct nk_dtls *d = c->dtls;
    if (seq >= d->peer_flight_start || d->rtx_done || !(c->hs || d->last_sender) || !d->flight.len)
        return OK;
    d->rtx_done = 1;
    return nk_dtls_retransmit(&c->tls);
}

/* The messages now whole, in order, through the state table; each one
 * received makes our next message begin a new flight. */
static MSTATUS deliver(struct nk_conn *c)
{
    struct nk_dtls *d = c->dtls;
    const uint8_t *msg;
    size_t n;
    while (c->err >= 0 && !c->got_close_notify && nk_dtls_reasm_next(&d->ra, &msg, &n) == OK) {
        struct nk_rd body;
        nk_rd_init(&body, msg + NK_DTLS_HS_HDR, n - NK_DTLS_HS_HDR);
        d->new_flight = 1;
        NK_TRY(nk_hs_step(&c->tls, NK_CT_HANDSHAKE, msg[0], &body, msg, n));
    }
    return OK;
}

/* §4.2.1, §4.1.2.7: before a valid cookie, a ClientHello that is wrong
 * (too long, malformed, of a version we refuse) may come from anyone; it is
 * dropped, the reassembler emptied, and the connection waits on for its
 * client instead of failing. Only our own failures (memory, libcrypto)
 * stay errors. */
static int dropped_hello(struct nk_conn *c, MSTATUS st)
{
    int alert = nk_alert_for(st);
    if (alert == NK_ALERT_INTERNAL_ERROR || alert == NK_ALERT_NONE || !nk_dtls_hello_stateless(&c->tls))
        return 0;
    nk_dtls_reasm_free(&c->dtls->ra);
    nk_dtls_reasm_init(&c->dtls->ra, &c->cfg->limits);
    return 1;
}

static MSTATUS on_handshake(struct nk_conn *c, const uint8_t *p, size_t n)
{
    struct nk_dtls *d = c->dtls;
    struct nk_rd r;
    nk_rd_init(&r, p, n);
    while (nk_rd_left(&r) && c->err >= 0) {
        struct nk_dtls_frag f;
        if (nk_dtls_frag_read(&r, &f) < 0)
            return OK;   /* the rest of the record is dropped; a retransmission brings it */
        int hello = f.type == NK_HS_CLIENT_HELLO && nk_dtls_hello_stateless(&c->tls);
        if (hello) {
            /* §4.2.1: before a valid cookie the server keeps nothing of
             * the client: each ClientHello starts over at its message_seq,
             * which our answer takes (§4.2.2). */
            if (f.seq != d->ra.next_seq) {
                nk_dtls_reasm_free(&d->ra);
                nk_dtls_reasm_init(&d->ra, &c->cfg->limits);
                d->ra.next_seq = f.seq;
            }
            d->send_seq = f.seq;
            nk_dtls_number_answer(c->wr, d->in_rec_seq);
        }
        MSTATUS st = nk_dtls_reasm_add(&d->ra, &f);
        if (st == ERR_SSL_ILLEGAL_PARAMETER)
            continue;   /* inconsistent with what came before: discarded, rebuilt from a retransmission */
        if (st == NK_DTLS_MSG_OLD)
            st = on_repeat(c, f.seq);
        else if (st == NK_DTLS_MSG_READY)
            st = deliver(c);
        if (hello && st < 0 && dropped_hello(c, st))
            return OK;
        NK_TRY(st);
    }
    return OK;
}

/* A ChangeCipherSpec the table does not expect now, or that comes before
 * the rest of its flight (its earlier messages were lost: nk_dtls_ccs_early),
 * or a repeat, is dropped: the peer sends it again with them. Epoch 0's
 * read state stays for the peer's repeats. */
static MSTATUS on_ccs(struct nk_conn *c, const uint8_t *p, size_t n)
{
    struct nk_dtls *d = c->dtls;
    if (!nk_hs_row(&c->tls, NK_CT_CHANGE_CIPHER_SPEC, 0) || nk_dtls_ccs_early(&c->tls))
        return OK;
    if (!c->rd->suite) {
        d->rd0 = *c->rd;
        d->in_old = d->in_cur;
    }
    return nk_hs_ccs(&c->tls, p, n);
}

static MSTATUS on_content(struct nk_conn *c, struct nk_rec_key *k, uint8_t type, uint8_t *data, size_t n);

static MSTATUS on_record(struct nk_conn *c, struct nk_rec *rec)
{
    struct nk_dtls *d = c->dtls;
    struct nk_rec_key *k = c->rd;
    struct nk_dtls_in *in = &d->in_cur;
    if (rec->epoch == 0 && c->rd->epoch != 0) {   /* §4.1: "MUST accept packets from the old epoch" */
        k = &d->rd0;
        in = &d->in_old;
    }
    uint8_t type, *data;
    size_t n;
    d->in_rec_seq = rec->seq;
    MSTATUS st = nk_dtls_open(k, in, rec, &type, &data, &n);
    NK_TRY(st);
    if (st != OK)   /* dropped; or of the next epoch, which comes again once we have its key */
        return OK;
    st = on_content(c, k, type, data, n);
    /* §4.2.1: before a valid cookie the server keeps nothing of what it
     * was sent, not even the replay window: a record from any source
     * (spoofed ones with sequence numbers far ahead included) would
     * otherwise push the real client's first ClientHello out of it. */
    if (nk_dtls_hello_stateless(&c->tls))
        memset(&in->win, 0, sizeof in->win);
    return st;
}

static MSTATUS on_content(struct nk_conn *c, struct nk_rec_key *k, uint8_t type, uint8_t *data, size_t n)
{
    switch (type) {
    case NK_CT_HANDSHAKE:
        return on_handshake(c, data, n);
    case NK_CT_CHANGE_CIPHER_SPEC:
        return on_ccs(c, data, n);
    case NK_CT_ALERT:
        return nk_engine_alert_in(c, data, n);
    case NK_CT_APPLICATION_DATA:
        /* Only under the handshake's keys; before them it is dropped. */
        if (c->rd_app && k == c->rd && n) {
            c->app = data;
            c->app_len = (uint32_t)n;
        }
        return OK;
    default:
        return OK;
    }
}

static MSTATUS walk(struct nk_conn *c)
{
    struct nk_dtls *d = c->dtls;
    struct nk_rec_walk w;
    if (!c->in.p) {   /* an empty datagram, and nothing kept: nothing to walk */
        c->in.len = d->in_pos = 0;
        return OK;
    }
    nk_rec_walk_init(&w, &nk_rec_dtls12, c->in.p + d->in_pos, c->in.len - d->in_pos);
    while (c->err >= 0 && !c->app_len && !c->got_close_notify) {
        struct nk_rec rec;
        MSTATUS st = nk_dtls_walk_next(&w, &d->in_cur, &rec);
        NK_TRY(st);
        if (st == NK_REC_END)
            break;
        if (st == OK)
            NK_TRY(on_record(c, &rec));
    }
    d->in_pos = (uint32_t)(w.p - c->in.p);
    if (!c->app_len && (d->in_pos >= c->in.len || c->got_close_notify || c->err < 0))
        c->in.len = d->in_pos = 0;
    return OK;
}

int nk_dtls_in_pending(const struct nk_conn *c)
{
    return c->is_dtls && !c->app_len && c->dtls->in_pos < c->in.len;
}

/* RFC 5764 §4.2: once the handshake is over, the SRTP keying material goes
 * to the application's init callback (SSL_setSrtpInitCallback), once. */
static MSTATUS srtp_ready(struct nk_conn *c)
{
    struct nk_dtls *d = c->dtls;
    funcPtrSrtpInitCallback_t cb = c->cfg->ssl.funcPtrSrtpInitCallback;
    if (d->srtp_told || !d->srtp_profile || c->status != SSL_CONNECTION_OPEN)
        return OK;
    d->srtp_told = 1;
    if (!cb)
        return OK;
    uint8_t km[NK_DTLS_SRTP_KM];
    size_t n;
    NK_TRY(nk_dtls_srtp_keys(&c->tls, km, &n));
    uint8_t key_len, salt_len;
    nk_dtls_srtp_sizes(d->srtp_profile, &key_len, &salt_len);
    SrtpProfileInfo info = { .profileId = d->srtp_profile, .supported = 1, .keySize = (sbyte)key_len,
                             .saltSize = (sbyte)salt_len };
    peerDescr peer;
    nk_dtls_peer_descr(c, &peer);
    sbyte4 r = cb(c->handle, &peer, &info, km, d->mki_len ? d->mki : NULL);
    nk_wipe(km, sizeof km);
    return r < 0 ? (MSTATUS)r : OK;
}

MSTATUS nk_dtls_in(struct nk_conn *c, const uint8_t *p, size_t n, int64_t now_ms)
{
    if (c->err < 0)
        return c->err;
    NK_CHECK(c->is_dtls && !c->app_len, ERR_SSL_BAD_STATE);
    struct nk_dtls *d = c->dtls;
    d->now_ms = now_ms;
    if (p) {
        NK_CHECK(!nk_dtls_in_pending(c), ERR_SSL_BAD_STATE);
        c->in.len = d->in_pos = 0;
        NK_TRY(nk_fail(c, nk_buf_append(&c->in, p, n)));
    }
    MSTATUS st = walk(c);
    nk_dtls_flight_done(&c->tls);
    if (st == OK)
        st = srtp_ready(c);
    return nk_fail(c, st);
}

const uint8_t *nk_dtls_out(struct nk_conn *c, size_t *len)
{
    return nk_dtls_out_datagram(&c->tls, len);
}

void nk_dtls_out_ack(struct nk_conn *c)
{
    size_t n = nk_dtls_out_datagram_len(&c->tls);
    if (c->out.len - c->out_off >= 2)
        nk_out_ack(c, n + 2);
}
