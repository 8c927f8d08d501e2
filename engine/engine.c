/* engine/engine.c — the sans-I/O connection engine: records in, records out,
 * application data in and out, alerts. Drivers (blocking, async, io_uring) are
 * loops around nk_in_buf/nk_in_ack and nk_out_buf/nk_out_ack. */
#include "engine/conn.h"
#include "core/wire.h"
#include "handshake/hs.h"
#include "handshake/tls12.h"
#include "handshake/rare.h"
#include "handshake/tls12_reneg.h"
#include "handshake/early.h"
#include "handshake/dtls12.h"


/* Room for the ALPN name the handshake may agree on (it writes c->alpn in
 * place); only where one can be agreed, so most connections never allocate it. */
MSTATUS nk_conn_alpn_scratch(struct nk_conn *c)
{
    int may = c->role == NK_SERVER ? c->alpn_cb != NULL : c->alpn_offer_len != 0;
    if (!may || c->alpn != c->alpn_none || c->status == SSL_CONNECTION_OPEN)
        return OK;
    NK_CHECK(c->alpn = malloc(NK_ALPN_MAX), ERR_MEM_ALLOC_FAIL);
    c->alpn[0] = 0;
    return OK;
}

MSTATUS nk_engine_start(struct nk_conn *c)
{
    NK_TRY(nk_conn_alpn_scratch(c));
    NK_TRY(nk_hs_alloc(&c->tls));
    return nk_fail(c, nk_hs_start(&c->tls));
}

unsigned nk_conn_wants(struct nk_conn *c)
{
    unsigned w = 0;
    if (c->out.len > c->out_off)
        w |= NK_WANT_SEND;
    if (c->app_len)
        w |= NK_WANT_APP;
    if (c->status == SSL_CONNECTION_OPEN)
        w |= NK_DONE_HS;
    if (c->err < 0 || c->got_close_notify)
        w |= NK_CLOSED;
    else if (!c->app_len)
        w |= NK_WANT_RECV;
    if (nk_conn_deadline(c))
        w |= NK_WANT_TIMER;
    return w;
}

/* ---- timers (engine/conn.h) ---- */

void nk_engine_hs_limit(struct nk_conn *c, int64_t now_ms, uint32_t limit_ms)
{
    c->hs_deadline = limit_ms ? now_ms + limit_ms : 0;
}

int nk_engine_reneg_limit(struct nk_conn *c, int64_t now_ms, uint32_t limit_ms)
{
    if (!nk_reneg_running(&c->tls) || c->hs->reneg_timed)
        return 0;
    c->hs->reneg_timed = 1;
    nk_engine_hs_limit(c, now_ms, limit_ms);
    return 1;
}

int64_t nk_conn_deadline(const struct nk_conn *c)
{
    /* Only a handshake still under way is timed: once it is over the field
     * is simply not looked at, so nothing has to clear it. A renegotiation
     * runs on an open connection: timed once its driver set the deadline. */
    if (c->err < 0)
        return 0;
    if (c->status == SSL_CONNECTION_OPEN)
        return nk_reneg_running(&c->tls) && c->hs->reneg_timed ? c->hs_deadline : 0;
    if (c->is_dtls && c->dtls->rtx_at)   /* DTLS: the retransmission timer too */
        return c->hs_deadline && c->hs_deadline < c->dtls->rtx_at ? c->hs_deadline : c->dtls->rtx_at;
    return c->hs_deadline;
}

MSTATUS nk_engine_timer(struct nk_conn *c, int64_t now_ms)
{
    if (c->err < 0)
        return c->err;
    if (c->is_dtls && c->status != SSL_CONNECTION_OPEN)
        NK_TRY(nk_fail(c, nk_dtls_on_timer(&c->tls, now_ms)));
    /* The handshake's own limit, or a renegotiation's once its driver set it
     * (nk_conn_deadline; DTLS's holds its retransmission timer too, so a
     * first handshake's is hs_deadline itself). */
    int64_t at = c->status == SSL_CONNECTION_OPEN ? nk_conn_deadline(c) : c->hs_deadline;
    if (!at || now_ms < at)
        return OK;
    /* nk_alert_for gives no alert for it: the peer broke no rule. */
    return nk_fail(c, ERR_SSL_HANDSHAKE_TIMEOUT);
}

/* The protection that frames and checks the records from the peer. */
static const struct nk_rec_ops *in_ops(struct nk_conn *c)
{
    const struct nk_rec_ops *ops = nk_rec_ops_of(c->rd);
    /* Early data a server skips after a HelloRetryRequest is protected
     * although nothing else is yet. */
    if (ops == &nk_rec_plain && c->hs && c->hs->early_skip)
        ops = &nk_rec_tls13;
    return ops;
}

/* Room for the largest record the reading protection accepts, plus its
 * header: TLS 1.3's bound (2^14 + 256) for every connection, more only for
 * a protection that accepts more (TLS 1.2 CBC: 2^14 + 2048, RFC 5246
 * §6.2.3), from the moment its key reads. */
static MSTATUS in_ensure(struct nk_conn *c)
{
    size_t want = nk_rec_room(in_ops(c));
    if (c->in.cap >= want)
        return OK;
    return nk_buf_reserve(&c->in, want - c->in.len);
}

uint8_t *nk_in_buf(struct nk_conn *c, size_t *len)
{
    *len = 0;
    if (c->app_len || c->err < 0 || c->got_close_notify || in_ensure(c) < 0)
        return NULL;
    /* Drivers use read data in place until they ask for more input: 0-RTT
     * data that was read is freed only now. */
    if (c->early)
        nk_early_drained(&c->tls);
    if (c->in_start) {
        nk_buf_consume(&c->in, c->in_start);
        c->in_start = 0;
    }
    size_t need;
    if (c->readahead)
        need = c->in.cap - c->in.len;
    else  /* exactly the rest of this record: never read past it (kTLS handover) */
        need = nk_rec_frame_len(in_ops(c), c->in.p, c->in.len) - c->in.len;
    *len = need;
    return c->in.p + c->in.len;
}

static MSTATUS on_alert(struct nk_conn *c, const uint8_t *d, size_t n)
{
    struct nk_rd r;
    uint8_t level, desc;
    /* §5.4: an empty alert is unexpected_message; §5.1: otherwise alerts are
     * never fragmented or coalesced: exactly two bytes (decode_error else). */
    NK_CHECK(n > 0, ERR_SSL_UNEXPECTED_MESSAGE);
    nk_rd_init(&r, d, n);
    NK_TRY(nk_rd_u8(&r, &level));
    NK_TRY(nk_rd_u8(&r, &desc));
    NK_TRY(nk_rd_done(&r));
    c->alert_in_level = level;
    c->alert_in = desc;
    const sslSettings *s = &c->cfg->ssl;
    if (s->funcPtrAlertCallback)
        s->funcPtrAlertCallback(c->handle, desc, level);
    if (desc == NK_ALERT_CLOSE_NOTIFY) {
        c->got_close_notify = 1;
        return OK;
    }
    /* §6.1: user_canceled is a warning (a close_notify follows); every other alert
     * is an error alert whatever its level (§6). */
    if (desc == NK_ALERT_USER_CANCELED && level == SSLALERTLEVEL_WARNING)
        return OK;
    /* RFC 5246 §7.2.2: no_renegotiation "is always a warning": the peer
     * refused to renegotiate and the connection goes on; what we started
     * ends there (handshake/tls12_reneg.c). */
    if (desc == NK_ALERT_NO_RENEGOTIATION && level == SSLALERTLEVEL_WARNING && c->minor == 3) {
        nk_reneg_refused(&c->tls);
        return OK;
    }
    c->alert_out = NK_ALERT_NONE;      /* nothing goes back after a fatal alert */
    return ERR_SSL_FATAL_ALERT;
}

MSTATUS nk_engine_alert_in(struct nk_conn *c, const uint8_t *d, size_t n)
{
    return on_alert(c, d, n);
}

/* 0-RTT data the driver takes as it is opened, in place like data after the
 * handshake: only once our Finished is queued (what the application answers
 * goes under our application key, after the flight), only while nothing was
 * kept for later (its order), and not to the receive-data callback's
 * application (which gets it at once anyway, DATA_STATE_EARLY). */
static int early_now(const struct nk_conn *c)
{
    return c->early_now && c->wr_app && c->role == NK_SERVER && !c->early->data.len
           && !c->cfg->ssl.funcPtrReceiveApplicationData;
}

/* One record's content, after any decryption. */
static MSTATUS on_content(struct nk_conn *c, uint8_t type, uint8_t *data, size_t n)
{
    if (c->hs_in.len && type != NK_CT_HANDSHAKE)   /* §5.1: no interleaving */
        return ERR_SSL_UNEXPECTED_MESSAGE;
    switch (type) {
    case NK_CT_ALERT:
        return on_alert(c, data, n);
    case NK_CT_HANDSHAKE:
        NK_TRY(nk_hs_input(&c->tls, data, n));
        /* 0-RTT data kept during the handshake is read first (tls13_early.c). */
        if (c->early && c->status == SSL_CONNECTION_OPEN && !c->app_len)
            nk_early_to_app(&c->tls, &c->app, &c->app_len);
        return OK;
    case NK_CT_HEARTBEAT:
        return nk_hb_on_record(&c->tls, data, n);
    case NK_CT_CHANGE_CIPHER_SPEC:   /* TLS 1.2, protected: a renegotiation's (TLS 1.3 never protects one) */
        NK_CHECK(c->minor == 3, ERR_SSL_UNEXPECTED_MESSAGE);
        return nk_hs_ccs(&c->tls, data, n);
    case NK_CT_APPLICATION_DATA:
        if (!c->rd_app && c->early) {   /* accepted 0-RTT data, or unexpected_message */
            if (!early_now(c))
                return nk_early_server_data(&c->tls, data, n);
            NK_TRY(nk_early_server_count(&c->tls, n));   /* within its limit */
        } else {
            NK_CHECK(c->rd_app, ERR_SSL_UNEXPECTED_MESSAGE);
        }
        if (n) {   /* §5.4: zero-length application data is allowed and carries nothing */
            c->app = data;
            c->app_len = n;
            c->key_updates_in_a_row = 0;
        }
        return OK;
    default:
        return ERR_SSL_UNEXPECTED_MESSAGE;
    }
}

/* §4.2.10: a server that does not accept the client's 0-RTT data skips it —
 * after a ServerHello the records that fail to decrypt under the handshake key,
 * after a HelloRetryRequest the records of outer type application_data — "up
 * to the configured max_early_data_size", and past that MUST answer with
 * unexpected_message. A record counts the plaintext it can carry (its body less
 * what TLS 1.3 protection adds: the tag and the inner type byte). */
static MSTATUS skip_early_data(struct nk_conn *c, const struct nk_rec *rec)
{
    struct nk_hs *hs = c->hs;
    /* Under a key, its suite's tag (8 bytes for AES-128-CCM-8); before
     * one (after a HelloRetryRequest), the longest. */
    size_t body = rec->body_len, ov = nk_rd_protected(&c->tls) ? c->rd->suite->tag_len + 1u
                                                               : nk_rec_tls13.overhead;
    size_t plain = body > ov ? body - ov : 0;
    NK_CHECK(plain <= hs->early_skip_left, ERR_SSL_EARLY_DATA_LIMIT);
    hs->early_skip_left -= (uint32_t)plain;
    return OK;
}

static MSTATUS on_record(struct nk_conn *c, struct nk_rec *rec)
{
    uint8_t type = rec->type, *data = rec->body;
    size_t n = rec->body_len;
    /* §5: the handshake's table says when, and drops it. A TLS 1.2
     * renegotiation's comes under the keys in use (RFC 5246 §7.1): opened below. */
    if (type == NK_CT_CHANGE_CIPHER_SPEC && !(c->minor == 3 && nk_rd_protected(&c->tls)))
        return nk_hs_ccs(&c->tls, data, n);
    struct nk_hs *hs = c->hs;
    if (nk_rd_protected(&c->tls) && type == NK_CT_ALERT && c->role == NK_SERVER && hs && c->rd->seq == 0
        && nk_rec_ops_of(c->rd) == &nk_rec_tls13) {
        /* A client that rejects our ServerHello has no keys: its alert then
         * arrives unprotected although we already expect protected records
         * (RFC 8446 Appendix A.1). A protected record never has outer type 21.
         * Our ServerHello is the last unprotected message a client waits for,
         * so a client never takes an unprotected alert once it has keys.
         * (TLS 1.2 keeps the outer type: its protected alerts are opened.) */
    } else if (nk_rd_protected(&c->tls)) {
        MSTATUS st = nk_rec_open(c->rd, rec->p, rec->len, &type, &data, &n);
        if (st == ERR_SSL_BAD_RECORD_MAC && hs && hs->early_skip)
            return skip_early_data(c, rec);
        NK_TRY(st);
        if (hs)
            hs->early_skip = 0;   /* §4.2.10: the client's second flight has begun */
        if (c->early)
            NK_TRY(nk_early_server_record(&c->tls, type, data, n));
    } else if (type == NK_CT_APPLICATION_DATA && hs && hs->early_skip) {
        return skip_early_data(c, rec);   /* after a HelloRetryRequest */
    } else {
        /* Before keys exist only handshake and alert records can be understood. */
        NK_CHECK(type == NK_CT_HANDSHAKE || type == NK_CT_ALERT, ERR_SSL_UNEXPECTED_MESSAGE);
    }
    return on_content(c, type, data, n);
}

MSTATUS nk_in_plain(struct nk_conn *c, uint8_t type, const uint8_t *d, size_t n)
{
    /* A record the kernel decrypted (RX offload): only the non-data types reach
     * the engine; application data goes straight to the application. */
    if (c->err < 0)
        return c->err;
    if (type == NK_CT_APPLICATION_DATA)
        return nk_fail(c, ERR_SSL_INTERNAL);
    return nk_fail(c, on_content(c, type, (uint8_t *)d, n));
}

void nk_in_kernel_data(struct nk_conn *c, uint8_t *d, size_t n)
{
    /* Data, not only KeyUpdates: the peer is not flooding us with rekeys. */
    c->key_updates_in_a_row = 0;
    if (d) {
        c->app = d;
        c->app_len = (uint32_t)n;
    }
}

static MSTATUS process(struct nk_conn *c)
{
    while (!c->app_len && c->err >= 0 && !c->got_close_notify) {
        struct nk_rec rec;
        MSTATUS st = nk_rec_peek_header(in_ops(c), c->in.p + c->in_start, c->in.len - c->in_start, &rec);
        NK_TRY(st);
        if (st == NK_REC_SHORT)
            break;
        c->in_start += rec.len;
        NK_TRY(on_record(c, &rec));
    }
    if (!c->app_len && c->in_start == c->in.len)
        c->in.len = c->in_start = 0;
    return OK;
}

MSTATUS nk_in_ack(struct nk_conn *c, size_t n)
{
    if (c->err < 0)
        return c->err;
    nk_buf_wrote(&c->in, n);
    return nk_fail(c, process(c));
}

const uint8_t *nk_out_buf(struct nk_conn *c, size_t *len)
{
    *len = c->out.len - c->out_off;
    return *len ? c->out.p + c->out_off : NULL;
}

void nk_out_ack(struct nk_conn *c, size_t n)
{
    c->out_off += n;
    if (c->out_off >= c->out.len)
        c->out.len = c->out_off = 0;
}

MSTATUS nk_in_datagram(struct nk_conn *c, const uint8_t *d, size_t n, size_t *used)
{
    *used = 0;
    if (c->err < 0)
        return c->err;
    NK_CHECK(!c->readahead && !c->app_len && c->in.len == c->in_start, ERR_SSL_BAD_STATE);
    while (*used < n && !c->app_len && !c->got_close_notify) {
        size_t room;   /* exactly what the current record still lacks */
        uint8_t *p = nk_in_buf(c, &room);
        if (!p || !room)
            return nk_fail(c, ERR_MEM_ALLOC_FAIL);   /* its buffer could not grow */
        if (room > n - *used)   /* this record would go on past the datagram */
            return nk_fail(c, ERR_SSL_PROTOCOL);
        memcpy(p, d + *used, room);
        *used += room;
        NK_TRY(nk_in_ack(c, room));
    }
    return OK;
}

int nk_conn_alert_for(const struct nk_conn *c, MSTATUS err)
{
    int alert = nk_alert_for(err);
    /* certificate_required is TLS 1.3's (RFC 8446 §6.2); a TLS 1.2 server
     * refuses a client without a certificate with handshake_failure (RFC
     * 5246 §7.4.6). */
    if (alert == NK_ALERT_CERTIFICATE_REQUIRED && nk_hs_proto(&c->tls)->version == NK_TLS12)
        return NK_ALERT_HANDSHAKE_FAILURE;
    return alert;
}

MSTATUS nk_fail(struct nk_conn *c, MSTATUS err)
{
    if (err >= 0)
        return err;
    if (c->err < 0)
        return c->err;
    c->err = err;
    int alert = c->alert_out == NK_ALERT_NONE ? NK_ALERT_NONE : nk_conn_alert_for(c, err);
    if (alert != NK_ALERT_NONE && !c->sent_close_notify) {
        c->alert_out = alert;
        if (nk_send_alert(&c->tls, SSLALERTLEVEL_FATAL, alert) < 0)
            c->alert_out = NK_ALERT_NONE;   /* out of memory: nothing more to do */
    }
    nk_log(2, "connection %d: %s (alert %s)", c->handle, nk_err_name(err),
           alert == NK_ALERT_NONE ? "none" : nk_alert_name(alert));
    return err;
}

MSTATUS nk_app_write(struct nk_conn *c, const uint8_t *d, size_t n)
{
    if (c->err < 0)
        return c->err;
    /* A server may send after its first flight, before the client's Finished
     * (RFC 8446 §4.4.4): its application keys are in place by then. */
    NK_CHECK(c->wr_app && !c->sent_close_notify, ERR_SSL_NOT_OPEN);
    /* Rekey before the AEAD limit (§5.5) and when the peer asked us to (§4.6.3). */
    uint64_t records = n / c->send_limit + 1;
    int at_limit = (c->wr ? c->wr->seq : 0) + records + 1 >= c->suite->aead_limit;
    if (at_limit && c->minor == 3) {
        /* TLS 1.2 has no KeyUpdate, and RFC 5246 §6.1's way out ("it must
         * renegotiate instead") we do not take: the connection ends here,
         * in order (close_notify), and the writer learns why. */
        (void)!nk_send_alert(&c->tls, SSLALERTLEVEL_WARNING, NK_ALERT_CLOSE_NOTIFY);
        return nk_fail(c, ERR_SSL_SEQUENCE_EXHAUSTED);
    }
    if (c->key_update_pending || at_limit)
        NK_TRY(nk_fail(c, nk_key_update_send(&c->tls, 0)));
    NK_TRY(nk_fail(c, nk_reneg_on_write(&c->tls, n)));   /* maxByteCount, maxTimerCountForRehandShake */
    return nk_fail(c, nk_send_records(&c->tls, NK_CT_APPLICATION_DATA, d, n));
}

void nk_app_ack(struct nk_conn *c, size_t n)
{
    if (n > c->app_len)
        n = c->app_len;
    c->app += n;
    c->app_len -= n;
    if (!c->app_len) {
        c->app = NULL;
        if (c->in_start == c->in.len)
            c->in.len = c->in_start = 0;
        else if (c->readahead && c->err >= 0)
            /* Whole records may wait behind the one just read (read-ahead): go
             * on to them now, so no driver has to poke the engine for them. A
             * failure is sticky (nk_fail) and shows in nk_conn_wants. */
            (void)nk_fail(c, process(c));
    }
}

size_t nk_app_read(struct nk_conn *c, uint8_t *d, size_t n)
{
    if (n > c->app_len)
        n = c->app_len;
    if (n == 0)
        return 0;
    memcpy(d, c->app, n);
    nk_app_ack(c, n);
    return n;
}

void nk_engine_park(struct nk_conn *c)
{
    if (c->early && !c->app_len)
        nk_early_drained(&c->tls);
    if (c->rd) {
        nk_rec_park(c->rd);
        nk_rec_park(c->wr);
    }
}

void nk_engine_release(struct nk_conn *c)
{
    nk_hs_free(&c->tls);
    nk_rare_free(&c->tls);   /* first: while it holds them, pha_md is not the transcript */
    nk_dtls_free(&c->tls);
    nk_pha_free(&c->tls);
    nk_early_free(&c->tls);
    nk_buf_free(&c->in);
    nk_buf_free(&c->out);
    nk_hs_input_free(&c->tls);
    if (c->is_async)   /* else the room holds the blocking driver's transport */
        nk_buf_free(&c->as.in);
    if (c->rd) {
        nk_rec_clear(c->rd);
        nk_rec_clear(c->wr);
    }
    nk_wipe(c->c_ap, sizeof c->c_ap);
    nk_wipe(c->s_ap, sizeof c->s_ap);
    nk_wipe(c->exporter, sizeof c->exporter);
    nk_wipe(c->resumption, sizeof c->resumption);
    c->app = NULL;
    c->app_len = c->in_start = c->out_off = 0;
}
