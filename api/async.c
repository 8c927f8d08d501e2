/* core/api_async.c — the NanoSSL asynchronous API: the application owns the
 * socket, hands received bytes in and takes bytes to send out. Like the blocking
 * driver it is a loop around the engine, with upcalls where that one waits.
 *
 * The contract, as the application sees it:
 *
 * Start. h = SSL_ASYNC_connect(fd, ...) or SSL_ASYNC_acceptConnection(fd, store),
 *   then SSL_ASYNC_start(h): a client's ClientHello then waits in the send
 *   buffer. A server may skip the call; its first SSL_ASYNC_recvMessage starts
 *   it. Starting calls funcPtrClientStartTimer (client) or funcPtrStartTimer
 *   (server) with (h, sslTimeOutHello, 0): run a timer for the handshake.
 *
 * Sending. Whenever SSL_ASYNC_sendMessagePending(h) > 0, take the bytes with
 *   SSL_ASYNC_getSendBuffer(h, buf, &len) (len: capacity in, count out; taken
 *   bytes leave the library) and write them to the socket. Check after every
 *   call into the library: flights, KeyUpdate answers and alerts all wait there.
 *   SSL_ASYNC_sendMessage(h, data, n, &sent) encrypts n bytes into the send
 *   buffer (sent = n); before the handshake completes it queues nothing and
 *   returns ERR_SSL_NOT_OPEN, as NanoSSL applications expect.
 *
 * Receiving. Pass every byte read from the socket to SSL_ASYNC_recvMessage(h,
 *   bytes, n), split anywhere. In stream order it calls
 *     funcPtrOpenStateUpcall / funcPtrClientOpenStateUpcall(h, FALSE), once,
 *       when the handshake completes (the hello timer may be cancelled then);
 *     funcPtrReceiveUpcall / funcPtrClientReceiveUpcall(h, data, len) for each
 *       record of application data (data is valid during the call only).
 *   With SSL_FLAG_ENABLE_RECV_BUFFER, or when no receive upcall is set, data is
 *   not passed up but kept: SSL_ASYNC_getRecvBuffer(h, &p, &len, &proto) hands
 *   out one record's plaintext in place (proto 23) and marks it read; call it
 *   until len is 0. p stays valid until the next recvMessage, recvMessage2,
 *   getRecvBuffer or NKTLS_asyncOffload call on h. Bytes given behind kept data
 *   wait in the library and are processed as the data is taken — up to
 *   NKTLS_LIMIT_RECV_BUFFER bytes (nktls.h): a recvMessage that would go past
 *   it returns ERR_SSL_BUFFER_LIMIT and takes none of its bytes (the
 *   connection goes on: take the data, then give those bytes again).
 *   SSL_ASYNC_recvMessage2(h, bytes, n, &rest, &restLen) processes only up to
 *   the end of the record that completes the handshake or yields application
 *   data, returns the application bytes waiting (for getRecvBuffer; it makes no
 *   receive upcall) and leaves what it did not process at rest, inside bytes:
 *   call it again with those. Upcalls may send and may close h; they must not
 *   feed h.
 *
 * Errors and closure. A fatal error is returned by that receive call and every
 *   later one (sticky); the alert for it waits in the send buffer: send it, then
 *   close. After the peer's close_notify they return ERR_SSL_CONNECTION_CLOSED.
 *   To close: SSL_sendAlert(h, SSL_ALERT_CLOSE_NOTIFY, SSLALERTLEVEL_WARNING)
 *   queues close_notify, drain the send buffer, then SSL_ASYNC_closeConnection(h)
 *   frees h; it sends nothing (it cannot: the application holds the socket) and
 *   leaves the socket open. RFC 8446 §6.1: "Each party MUST send a
 *   "close_notify" alert before closing its write side of the connection,
 *   unless it has already sent some error alert."
 *
 * Timers. Before the handshake completes every receive call reads the clock:
 *   once sslTimeOutHello has passed since the start it calls
 *   funcPtrSSLHandleTimeout(h, &ms) with ms = the time run so far; returning OK
 *   with ms set to n > 0 grants n more ms, anything else (or no callback) fails
 *   with ERR_SSL_HANDSHAKE_TIMEOUT. So a peer that trickles bytes cannot hold a
 *   connection open. When the application's timer fires before the open-state
 *   upcall, the handshake has timed out: it closes h and the socket.
 *   sslTimeOutReceive applies to SSL_recv only: the application times its reads.
 *
 * Kernel TLS. After the open-state upcall, with the send buffer drained and
 *   before reading the socket again, the application may call
 *   NKTLS_asyncOffload(h); NKTLS_getRecordLayerInfo then tells, per direction,
 *   who carries the records:
 *   - software: everything as above.
 *   - kernel TX: the application writes plaintext to the socket (send,
 *     sendfile); SSL_ASYNC_sendMessage returns ERR_SSL_BAD_STATE. Records the
 *     library makes (alerts, KeyUpdate) still count in sendMessagePending, and
 *     getSendBuffer then writes them to the socket itself, each with its record
 *     type in a control message, and returns len 0.
 *   - kernel RX: the application reads plaintext with recvmsg; a
 *     TLS_GET_RECORD_TYPE control message other than 23 marks a non-data record
 *     (alert, KeyUpdate, NewSessionTicket), whose bytes go to
 *     NKTLS_asyncRecvRecord(h, type, data, len): it returns what recvMessage
 *     would and may queue output. recvMessage* return ERR_SSL_BAD_STATE.
 *   RX can move to the kernel only if no byte past the handshake was given to
 *   the library (else rxReason is "data already read"): read with MSG_PEEK,
 *   feed with recvMessage2, then consume n - restLen bytes from the socket. */
#include <time.h>
#include "api/api.h"
#include "core/limits.h"
#include "ktls/ktls.h"
#include "nktls.h"

/* An upcall closed the connection: not an error for the caller, but nothing
 * may touch the connection any more. Positive, so NK_TRY does not pass it on:
 * every call that can return it is checked with != OK. */
#define GONE ((MSTATUS)1)

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* After an upcall: the application may have closed the connection. */
static MSTATUS still_there(sbyte4 h, struct nk_conn **pc)
{
    return nk_conn_get(h, pc) == OK ? OK : GONE;
}

static MSTATUS start(sbyte4 h, struct nk_conn **pc)
{
    struct nk_conn *c = *pc;
    sslSettings *s = nk_settings();
    c->as_started = 1;
    c->as.t0_ms = now_ms();
    c->as.limit_ms = s->sslTimeOutHello;
    c->now = time(NULL);
    NK_TRY(nk_fail(c, nk_engine_start(c)));
    sbyte4 (*timer)(sbyte4, ubyte4, sbyte4) =
        c->role == NK_SERVER ? s->funcPtrStartTimer : s->funcPtrClientStartTimer;
    if (!timer)
        return OK;
    timer(h, s->sslTimeOutHello, 0);
    return still_there(h, pc);
}

/* The handshake may run sslTimeOutHello ms, and longer if the application's
 * funcPtrSSLHandleTimeout grants it. */
static MSTATUS hello_clock(sbyte4 h, struct nk_conn **pc)
{
    struct nk_conn *c = *pc;
    if (c->status == SSL_CONNECTION_OPEN || c->as.limit_ms <= 0)
        return OK;
    int64_t ran = now_ms() - c->as.t0_ms;
    if (ran < c->as.limit_ms)
        return OK;
    sslSettings *s = nk_settings();
    ubyte4 ms = ran > (int64_t)UINT32_MAX ? UINT32_MAX : (ubyte4)ran;
    if (s->funcPtrSSLHandleTimeout) {
        sbyte4 r = s->funcPtrSSLHandleTimeout(h, &ms);
        MSTATUS st = still_there(h, pc);
        if (st != OK)
            return st;
        c = *pc;
        if (r == OK && ms > 0) {
            c->as.limit_ms = ran + ms;
            return OK;
        }
    }
    return nk_fail(c, ERR_SSL_HANDSHAKE_TIMEOUT);
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
    return hello_clock(h, pc);
}

/* Give the engine bytes, at most the rest of its current record at a time, until
 * they run out, or it stops taking them (data waiting, error, close_notify), or
 * the handshake has just completed. */
static MSTATUS feed(struct nk_conn *c, const uint8_t *p, size_t n, size_t *used)
{
    *used = 0;
    c->now = time(NULL);
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
        if (!was_open && c->status == SSL_CONNECTION_OPEN)
            break;   /* the open-state upcall comes before anything behind it */
    }
    return OK;
}

static MSTATUS open_upcall(sbyte4 h, struct nk_conn **pc)
{
    struct nk_conn *c = *pc;
    sslSettings *s = nk_settings();
    sbyte4 (*cb)(sbyte4, intBoolean) =
        c->role == NK_SERVER ? s->funcPtrOpenStateUpcall : s->funcPtrClientOpenStateUpcall;
    c->as_opened = 1;
    if (!cb)
        return OK;
    cb(h, FALSE);
    return still_there(h, pc);
}

/* Pass the waiting data up, unless the application takes it with
 * SSL_ASYNC_getRecvBuffer. 1: passed up; 0: kept. */
static int receive_upcall(sbyte4 h, struct nk_conn *c)
{
    sslSettings *s = nk_settings();
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

/* Process p[0..n) and make the upcalls, in stream order. one (recvMessage2,
 * getRecvBuffer): stop at the handshake's completion or at the first data, and
 * keep data for getRecvBuffer. Returns with *used = the bytes processed. */
static MSTATUS pump(sbyte4 h, struct nk_conn **pc, const uint8_t *p, size_t n, size_t *used, int one)
{
    *used = 0;
    for (;;) {
        struct nk_conn *c = *pc;
        MSTATUS st;
        if (c->status == SSL_CONNECTION_OPEN && !c->as_opened) {
            if ((st = open_upcall(h, pc)) != OK)
                return st;
            if (one)
                return OK;
            continue;
        }
        if (c->app_len) {
            if (one || !receive_upcall(h, c))
                return OK;
            if ((st = still_there(h, pc)) != OK)
                return st;
            continue;
        }
        if (c->err < 0)
            return c->err;
        if (c->got_close_notify)
            return ERR_SSL_CONNECTION_CLOSED;
        if (*used == n)
            return OK;
        size_t k;
        st = feed(c, p + *used, n - *used, &k);
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
    if (st == GONE)
        return GONE;
    c = *pc;
    nk_buf_consume(&c->as.in, used);
    if (st < 0 || c->as.in.len == 0)   /* nothing after an error or close_notify counts */
        nk_buf_free(&c->as.in);
    return st;
}

NK_API MSTATUS SSL_ASYNC_start(sbyte4 h)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(c->is_async, ERR_SSL_BAD_STATE);
    NK_CHECK(!c->as_started, ERR_SSL_BAD_STATE);
    MSTATUS st = start(h, &c);
    return st == GONE ? OK : st;
}

NK_API MSTATUS SSL_ASYNC_recvMessage(sbyte4 h, ubyte *bytes, ubyte4 n)
{
    struct nk_conn *c;
    MSTATUS st = enter(h, &c, bytes, n);
    if (st != OK)
        return st == GONE ? OK : st;
    if (c->as.in.len) {   /* older bytes wait: the new ones go behind them */
        /* An application that never takes its data (SSL_ASYNC_getRecvBuffer)
         * must not make us hold all the peer sends: past the limit the bytes
         * are refused, untaken; give them again once the data is taken. */
        NK_CHECK(c->as.in.len + n <= nk_limits()->recv_buffer, ERR_SSL_BUFFER_LIMIT);
        if (n)
            NK_TRY(nk_fail(c, nk_buf_append(&c->as.in, bytes, n)));
        st = pump_kept(h, &c, 0);
        return st == GONE ? OK : st;
    }
    size_t used;
    st = pump(h, &c, bytes, n, &used, 0);
    if (st == GONE)
        return OK;
    if (st == OK && used < n)   /* data waits for getRecvBuffer; keep what follows */
        st = nk_fail(c, nk_buf_append(&c->as.in, bytes + used, n - used));
    return st;
}

NK_API sbyte4 SSL_ASYNC_recvMessage2(sbyte4 h, ubyte *bytes, ubyte4 n, ubyte **rest, ubyte4 *rest_len)
{
    struct nk_conn *c;
    NK_CHECK(rest && rest_len, ERR_NULL_POINTER);
    *rest = bytes;
    *rest_len = n;
    MSTATUS st = enter(h, &c, bytes, n);
    if (st != OK)
        return st == GONE ? 0 : st;
    if (c->as.in.len) {   /* bytes kept by recvMessage come first */
        st = pump_kept(h, &c, 1);
        if (st != OK || c->app_len || c->as.in.len)
            return st == GONE ? 0 : st < 0 ? st : (sbyte4)c->app_len;
    }
    size_t used;
    st = pump(h, &c, bytes, n, &used, 1);
    if (used) {
        *rest = bytes + used;
        *rest_len = n - (ubyte4)used;
    }
    if (st != OK)
        return st == GONE ? 0 : st;
    return (sbyte4)c->app_len;
}

NK_API MSTATUS SSL_ASYNC_getRecvBuffer(sbyte4 h, ubyte **data, ubyte4 *len, ubyte4 *protocol)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(data && len, ERR_NULL_POINTER);
    *data = NULL;
    *len = 0;
    if (protocol)
        *protocol = 0;
    NK_CHECK(c->is_async, ERR_SSL_BAD_STATE);
    if (!c->app_len && c->as.in.len) {
        MSTATUS st = pump_kept(h, &c, 1);
        if (st == GONE)
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

NK_API MSTATUS SSL_ASYNC_getSendBuffer(sbyte4 h, ubyte *data, ubyte4 *len)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(len, ERR_NULL_POINTER);
    NK_CHECK(data || *len == 0, ERR_NULL_POINTER);
    NK_CHECK(c->is_async, ERR_SSL_BAD_STATE);
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

NK_API sbyte4 SSL_ASYNC_sendMessagePending(sbyte4 h)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    size_t len;
    (void)nk_out_buf(c, &len);
    return len > INT32_MAX ? INT32_MAX : (sbyte4)len;
}

NK_API MSTATUS SSL_ASYNC_sendMessage(sbyte4 h, sbyte *buf, sbyte4 len, sbyte4 *sent)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    if (sent)
        *sent = 0;
    NK_CHECK(buf || len == 0, ERR_NULL_POINTER);
    NK_CHECK(len >= 0, ERR_INVALID_ARG);
    NK_CHECK(c->is_async, ERR_SSL_BAD_STATE);
    if (c->err < 0)
        return c->err;
    NK_CHECK(c->status == SSL_CONNECTION_OPEN, ERR_SSL_NOT_OPEN);
    NK_CHECK(!c->ktls_tx, ERR_SSL_BAD_STATE);   /* the application writes plaintext */
    if (len)
        NK_TRY(nk_app_write(c, (const uint8_t *)buf, (size_t)len));
    if (sent)
        *sent = len;
    return OK;
}

NK_API MSTATUS SSL_ASYNC_closeConnection(sbyte4 h)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    if (!c->is_async)   /* the library owns that socket: it says close_notify itself */
        return SSL_closeConnection(h);
    nk_buf_free(&c->as.in);
    nk_conn_free(c);
    return OK;
}

/* ---- kernel offload (nktls extensions) ---- */

NK_API MSTATUS NKTLS_asyncOffload(sbyte4 h)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(c->is_async, ERR_SSL_BAD_STATE);
    if (c->err < 0)
        return c->err;
    NK_CHECK(c->status == SSL_CONNECTION_OPEN, ERR_SSL_NOT_OPEN);
    if (c->as_offloaded)
        return OK;
    if (c->as.in.len && !c->app_len) {
        /* Kept bytes were read past the handshake: the engine must see them to
         * keep RX in software ("data already read"). */
        MSTATUS st = pump_kept(h, &c, 1);
        if (st != OK)
            return st == GONE ? OK : st;
    }
    c->as_offloaded = 1;
    return nk_fail(c, nk_ktls_offload(c));
}

NK_API MSTATUS NKTLS_asyncRecvRecord(sbyte4 h, ubyte4 type, const ubyte *data, ubyte4 len)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_CHECK(data || len == 0, ERR_NULL_POINTER);
    NK_CHECK(c->is_async && c->ktls_rx, ERR_SSL_BAD_STATE);
    /* Application data never comes here: the application reads it itself. */
    NK_CHECK(type != SSL_APPLICATION_DATA && type <= 0xff, ERR_INVALID_ARG);
    if (c->err >= 0 && c->got_close_notify)
        return ERR_SSL_CONNECTION_CLOSED;
    c->now = time(NULL);
    NK_TRY(nk_ktls_in_record(c, (uint8_t)type, data, len));
    return c->got_close_notify ? ERR_SSL_CONNECTION_CLOSED : OK;
}
