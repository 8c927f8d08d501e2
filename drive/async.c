/* drive/async.c — the asynchronous driver: the application owns the socket,
 * hands received bytes in (SSL_ASYNC_recvMessage*) and takes bytes to send
 * out (SSL_ASYNC_getSendBuffer). Like the blocking driver it is a loop around
 * the engine: where that one would wait, this one returns, and where it would
 * tell its caller something, this one makes an upcall (the settings'
 * funcPtr*). The contract the application sees is written at api/async.c.
 *
 * How it goes: feed gives the engine bytes, at most one record at a time;
 * pump makes the upcalls in stream order (open state, then each record's
 * data); bytes given behind data kept for SSL_ASYNC_getRecvBuffer wait in
 * c->as.in (pump_kept). Any upcall may close the connection: every call
 * after one looks the handle up again (nk_async_still_there). DTLS
 * connections take the same calls, one datagram at a time: drive/async_dtls.c. */
#include "drive/async.h"
#include "drive/clock.h"
#include "drive/drive.h"
#include "engine/dtls.h"
#include "ktls/ktls.h"

/* After an upcall: the application may have closed the connection. */
static MSTATUS nk_async_still_there(sbyte4 h, struct nk_conn **pc)
{
    return nk_conn_get(h, pc) == OK ? OK : NK_ASYNC_GONE;
}

static MSTATUS start(sbyte4 h, struct nk_conn **pc)
{
    struct nk_conn *c = *pc;
    const sslSettings *s = &c->cfg->ssl;
    c->as_started = 1;
    c->as.t0_ms = nk_mono_ms();
    nk_engine_hs_limit(c, c->as.t0_ms, s->sslTimeOutHello);
    c->now = nk_wall_ms();
    NK_TRY(nk_fail(c, c->is_dtls ? nk_dtls_engine_start(c, c->as.t0_ms) : nk_engine_start(c)));
    sbyte4 (*timer)(sbyte4, ubyte4, sbyte4) =
        c->role == NK_SERVER ? s->funcPtrStartTimer : s->funcPtrClientStartTimer;
    if (!timer)
        return OK;
    timer(h, s->sslTimeOutHello, 0);
    return nk_async_still_there(h, pc);
}

void nk_drive_reneg_clock(struct nk_conn *c)
{
    if (!c->hs || c->status != SSL_CONNECTION_OPEN)
        return;   /* no renegotiation running: no clock read */
    int64_t now = nk_mono_ms();
    if (nk_engine_reneg_limit(c, now, c->cfg->ssl.sslTimeOutHello) && c->is_async)
        c->as.t0_ms = now;   /* funcPtrSSLHandleTimeout counts from here */
}

/* The handshake may run sslTimeOutHello ms (the engine's deadline), and
 * longer if the application's funcPtrSSLHandleTimeout grants it; a
 * renegotiation the same, from the first clock read after it began (here, or
 * in feed once a record started it). Every
 * receive call looks before it feeds anything: the API has no timer call of
 * its own (the application's timer, from funcPtrStartTimer, closes instead).
 * DTLS has its retransmission timer besides (nk_conn_deadline holds both):
 * run here when due, and by DTLS_isTimerExpired. */
MSTATUS nk_async_clock(sbyte4 h, struct nk_conn **pc)
{
    struct nk_conn *c = *pc;
    nk_drive_reneg_clock(c);
    if (!(nk_conn_wants(c) & NK_WANT_TIMER))
        return OK;
    int64_t now = nk_mono_ms();
    int64_t limit = c->is_dtls ? c->hs_deadline : nk_conn_deadline(c);
    if (!limit || now < limit)
        return c->is_dtls ? nk_engine_timer(c, now) : OK;
    const sslSettings *s = &c->cfg->ssl;
    int64_t ran = now - c->as.t0_ms;
    ubyte4 ms = ran > (int64_t)UINT32_MAX ? UINT32_MAX : (ubyte4)ran;
    if (s->funcPtrSSLHandleTimeout) {
        sbyte4 r = s->funcPtrSSLHandleTimeout(h, &ms);
        MSTATUS st = nk_async_still_there(h, pc);
        if (st != OK)
            return st;
        c = *pc;
        if (r == OK && ms > 0) {
            nk_engine_hs_limit(c, now, ms);   /* ms more from now */
            return c->is_dtls ? nk_engine_timer(c, now) : OK;
        }
    }
    return nk_engine_timer(c, now);
}

/* Common checks of the receive calls; starts a server that was not started. */
static MSTATUS enter(sbyte4 h, struct nk_conn **pc, const void *bytes, ubyte4 n)
{
    NK_TRY(nk_conn_get(h, pc));
    struct nk_conn *c = *pc;
    NK_CHECK(bytes || n == 0, ERR_NULL_POINTER);
    NK_CHECK(c->is_async, ERR_SSL_BAD_STATE);
    if (c->err < 0)
        return c->err;
    NK_CHECK(!c->ktls_rx, ERR_SSL_BAD_STATE);   /* the kernel reads the socket now */
    if (!c->as_started) {
        MSTATUS st = start(h, pc);
        if (st != OK)
            return st;
    }
    return nk_async_clock(h, pc);
}

/* Give the engine bytes, at most the rest of its current record at a time, until
 * they run out, or it stops taking them (data waiting, error, close_notify), or
 * the handshake has just completed. */
static MSTATUS feed(struct nk_conn *c, const uint8_t *p, size_t n, size_t *used)
{
    *used = 0;
    c->now = nk_wall_ms();
    while (*used < n && !c->app_len) {
        size_t room;
        uint8_t *dst = nk_in_buf(c, &room);
        if (!dst || !room) {
            /* Not waiting data, an error or close_notify: the buffer could not grow. */
            if (!c->app_len && c->err >= 0 && !c->got_close_notify)
                return nk_fail(c, ERR_MEM_ALLOC_FAIL);
            break;
        }
        size_t k = n - *used < room ? n - *used : room;
        memcpy(dst, p + *used, k);
        *used += k;
        int was_open = c->status == SSL_CONNECTION_OPEN;
        NK_TRY(nk_in_ack(c, k));
        nk_drive_reneg_clock(c);   /* that record may have begun a renegotiation */
        if ((!was_open && c->status == SSL_CONNECTION_OPEN) || c->reneg_done)
            break;   /* the open-state upcall comes before anything behind it */
    }
    return OK;
}

static MSTATUS nk_async_open_upcall(sbyte4 h, struct nk_conn **pc)
{
    struct nk_conn *c = *pc;
    const sslSettings *s = &c->cfg->ssl;
    sbyte4 (*cb)(sbyte4, intBoolean) =
        c->role == NK_SERVER ? s->funcPtrOpenStateUpcall : s->funcPtrClientOpenStateUpcall;
    /* A renegotiation ended (handshake/tls12_reneg.c): isRehandshake TRUE. */
    intBoolean again = c->as_opened;
    c->as_opened = 1;
    c->reneg_done = 0;
    if (!cb)
        return OK;
    cb(h, again);
    return nk_async_still_there(h, pc);
}

/* Pass the waiting data up, unless the application takes it with
 * SSL_ASYNC_getRecvBuffer. 1: passed up; 0: kept. */
static int nk_async_receive_upcall(sbyte4 h, struct nk_conn *c)
{
    const sslSettings *s = &c->cfg->ssl;
    sbyte4 (*cb)(sbyte4, ubyte *, ubyte4) =
        c->role == NK_SERVER ? s->funcPtrReceiveUpcall : s->funcPtrClientReceiveUpcall;
    if (!cb || (c->flags & SSL_FLAG_ENABLE_RECV_BUFFER))
        return 0;
    uint8_t *d = c->app;
    size_t n = c->app_len;
    nk_app_ack(c, n);   /* first: the upcall may send, or close */
    cb(h, d, (ubyte4)n);
    return 1;
}

MSTATUS nk_async_upcalls(sbyte4 h, struct nk_conn **pc, int keep, int stop_at_open)
{
    for (;;) {
        struct nk_conn *c = *pc;
        MSTATUS st;
        if (c->status == SSL_CONNECTION_OPEN && (!c->as_opened || c->reneg_done)) {
            if ((st = nk_async_open_upcall(h, pc)) != OK)
                return st;
            if (stop_at_open)
                return NK_ASYNC_STOP;
            continue;
        }
        if (c->app_len) {
            if (keep || !nk_async_receive_upcall(h, c))
                return NK_ASYNC_STOP;
            if ((st = nk_async_still_there(h, pc)) != OK)
                return st;
            continue;
        }
        if (c->err < 0)
            return c->err;
        return c->got_close_notify ? ERR_SSL_CONNECTION_CLOSED : OK;
    }
}

/* Process p[0..n) and make the upcalls, in stream order. one (recvMessage2,
 * getRecvBuffer): stop at the handshake's completion or at the first data, and
 * keep data for getRecvBuffer. Returns with *used = the bytes processed. */
static MSTATUS pump(sbyte4 h, struct nk_conn **pc, const uint8_t *p, size_t n, size_t *used, int one)
{
    *used = 0;
    for (;;) {
        MSTATUS st = nk_async_upcalls(h, pc, one, one);
        if (st != OK)
            return st == NK_ASYNC_STOP ? OK : st;
        if (*used == n)
            return OK;
        size_t k;
        st = feed(*pc, p + *used, n - *used, &k);
        *used += k;
        NK_TRY(st);
    }
}

/* Process the bytes that waited behind kept data. */
static MSTATUS pump_kept(sbyte4 h, struct nk_conn **pc, int one)
{
    size_t used;
    struct nk_conn *c = *pc;
    MSTATUS st = pump(h, pc, c->as.in.p, c->as.in.len, &used, one);
    if (st == NK_ASYNC_GONE)
        return NK_ASYNC_GONE;
    c = *pc;
    nk_buf_consume(&c->as.in, used);
    if (st < 0 || c->as.in.len == 0)   /* nothing after an error or close_notify counts */
        nk_buf_free(&c->as.in);
    return st;
}

MSTATUS nk_async_new(enum nk_role role, int fd, struct certStore *store, const struct nk_config *cfg,
                     const char *dns, struct nk_conn **out)
{
    NK_TRY(nk_conn_open(role, fd, store, cfg, dns, out));
    (*out)->is_async = 1;
    return OK;
}

MSTATUS nk_async_start(sbyte4 h)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(c->is_async, ERR_SSL_BAD_STATE);
    NK_CHECK(!c->as_started, ERR_SSL_BAD_STATE);
    MSTATUS st = start(h, &c);
    return st == NK_ASYNC_GONE ? OK : st;
}

MSTATUS nk_async_recv(sbyte4 h, const ubyte *bytes, ubyte4 n)
{
    struct nk_conn *c;
    MSTATUS st = enter(h, &c, bytes, n);
    if (st != OK)
        return st == NK_ASYNC_GONE ? OK : st;
    if (c->is_dtls)
        return nk_async_dtls_recv(h, c, bytes, n);
    if (c->as.in.len) {   /* older bytes wait: the new ones go behind them */
        /* An application that never takes its data (SSL_ASYNC_getRecvBuffer)
         * must not make us hold all the peer sends: past the limit the bytes
         * are refused, untaken; give them again once the data is taken. */
        NK_CHECK(c->as.in.len + n <= c->cfg->limits.recv_buffer, ERR_SSL_BUFFER_LIMIT);
        if (n)
            NK_TRY(nk_fail(c, nk_buf_append(&c->as.in, bytes, n)));
        st = pump_kept(h, &c, 0);
        return st == NK_ASYNC_GONE ? OK : st;
    }
    size_t used;
    st = pump(h, &c, bytes, n, &used, 0);
    if (st == NK_ASYNC_GONE)
        return OK;
    if (st == OK && used < n)   /* data waits for getRecvBuffer; keep what follows */
        st = nk_fail(c, nk_buf_append(&c->as.in, bytes + used, n - used));
    return st;
}

sbyte4 nk_async_recv_one(sbyte4 h, ubyte *bytes, ubyte4 n, ubyte **rest, ubyte4 *rest_len)
{
    struct nk_conn *c;
    NK_CHECK(rest && rest_len, ERR_NULL_POINTER);
    *rest = bytes;
    *rest_len = n;
    MSTATUS st = enter(h, &c, bytes, n);
    if (st != OK)
        return st == NK_ASYNC_GONE ? 0 : st;
    if (c->is_dtls)
        return nk_async_dtls_recv_one(h, c, bytes, n, rest, rest_len);
    if (c->as.in.len) {   /* bytes kept by recvMessage come first */
        st = pump_kept(h, &c, 1);
        if (st != OK || c->app_len || c->as.in.len)
            return st == NK_ASYNC_GONE ? 0 : st < 0 ? st : (sbyte4)c->app_len;
    }
    size_t used;
    st = pump(h, &c, bytes, n, &used, 1);
    if (used) {
        *rest = bytes + used;
        *rest_len = n - (ubyte4)used;
    }
    if (st != OK)
        return st == NK_ASYNC_GONE ? 0 : st;
    return (sbyte4)c->app_len;
}

MSTATUS nk_async_take(sbyte4 h, ubyte **data, ubyte4 *len, ubyte4 *protocol)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(data && len, ERR_NULL_POINTER);
    *data = NULL;
    *len = 0;
    if (protocol)
        *protocol = 0;
    NK_CHECK(c->is_async, ERR_SSL_BAD_STATE);
    if (!c->app_len && (c->as.in.len || (c->is_dtls && nk_dtls_in_pending(c)))) {
        MSTATUS st = c->is_dtls ? nk_async_dtls_take(h, &c) : pump_kept(h, &c, 1);
        if (st == NK_ASYNC_GONE)
            return OK;
        if (st < 0 && !c->app_len)
            return st;
    }
    if (!c->app_len)
        return OK;
    /* In place: the record stays where the engine decrypted it until the engine
     * is next given bytes, which only the calls named above do. */
    *data = c->app;
    *len = (ubyte4)c->app_len;
    if (protocol)
        *protocol = SSL_APPLICATION_DATA;
    nk_app_ack(c, c->app_len);
    return OK;
}

MSTATUS nk_async_output(sbyte4 h, ubyte *data, ubyte4 *len)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(len, ERR_NULL_POINTER);
    NK_CHECK(data || *len == 0, ERR_NULL_POINTER);
    NK_CHECK(c->is_async, ERR_SSL_BAD_STATE);
    if (c->is_dtls)
        return nk_async_dtls_output(c, data, len);
    if (c->ktls_tx) {
        /* The kernel encrypts: plaintext records go out through it, each with
         * its type in a control message, which the application cannot add to
         * bytes it writes. Only alerts and KeyUpdates are ever queued here. */
        *len = 0;
        return nk_fail(c, nk_drive_ktls_flush(c));
    }
    size_t avail;
    const uint8_t *p = nk_out_buf(c, &avail);
    size_t k = avail < *len ? avail : *len;
    if (k)
        memcpy(data, p, k);
    nk_out_ack(c, k);
    *len = (ubyte4)k;
    return OK;
}

/* ---- kernel offload (nktls extensions) ---- */

MSTATUS nk_async_offload(sbyte4 h)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(c->is_async, ERR_SSL_BAD_STATE);
    if (c->err < 0)
        return c->err;
    NK_CHECK(c->status == SSL_CONNECTION_OPEN, ERR_SSL_NOT_OPEN);
    NK_CHECK(!c->is_dtls, ERR_NOT_SUPPORTED);   /* the kernel's TLS has no DTLS records */
    if (c->as_offloaded)
        return OK;
    if (c->as.in.len && !c->app_len) {
        /* Kept bytes were read past the handshake: the engine must see them to
         * keep RX in software ("data already read"). */
        MSTATUS st = pump_kept(h, &c, 1);
        if (st != OK)
            return st == NK_ASYNC_GONE ? OK : st;
    }
    c->as_offloaded = 1;
    return nk_fail(c, nk_ktls_offload(c));
}

MSTATUS nk_async_record(sbyte4 h, ubyte4 type, const ubyte *data, ubyte4 len)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(data || len == 0, ERR_NULL_POINTER);
    NK_CHECK(c->is_async && c->ktls_rx, ERR_SSL_BAD_STATE);
    /* Application data never comes here: the application reads it itself. */
    NK_CHECK(type != SSL_APPLICATION_DATA && type <= 0xff, ERR_INVALID_ARG);
    if (c->err >= 0 && c->got_close_notify)
        return ERR_SSL_CONNECTION_CLOSED;
    c->now = nk_wall_ms();
    NK_TRY(nk_ktls_in_record(c, (uint8_t)type, data, len));
    return c->got_close_notify ? ERR_SSL_CONNECTION_CLOSED : OK;
}
