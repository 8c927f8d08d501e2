/* drive/blocking.c — the synchronous driver: the engine plus poll/recv/send
 * on the application's socket, with the NanoSSL timeouts; or, where the
 * application has no socket nktls can use (NKTLS_setTransport), the same loop
 * over its own send and receive calls. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include "drive/clock.h"
#include "drive/drive.h"
#include "ktls/ktls.h"

/* Wait for events; timeout_ms < 0 waits forever. 0 on timeout. */
static int wait_fd(int fd, short events, int64_t timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = events };
    for (;;) {
        int r = poll(&p, 1, timeout_ms < 0 ? -1 : (int)timeout_ms);
        if (r >= 0 || errno != EINTR)
            return r;
    }
}

MSTATUS nk_drive_set_transport(struct nk_conn *c, const nktlsTransport *t)
{
    /* Switching mid-handshake would split the byte stream between two carriers. */
    NK_CHECK(!c->is_async, ERR_SSL_BAD_STATE);
    NK_CHECK(!c->hs && c->status == SSL_CONNECTION_NEGOTIATE && c->err >= 0, ERR_SSL_BAD_STATE);
    if (!t) {
        memset(&c->xport, 0, sizeof c->xport);
        c->has_xport = 0;
        return OK;
    }
    NK_CHECK(t->funcPtrSend && t->funcPtrRecv, ERR_NULL_POINTER);
    c->xport = *t;
    c->has_xport = 1;
    return OK;
}

static ubyte4 clamp_u32(size_t n) { return n > UINT32_MAX ? UINT32_MAX : (ubyte4)n; }

/* One write of the bytes at p; *sent: how many went. */
static MSTATUS write_some(struct nk_conn *c, const uint8_t *p, size_t len, size_t *sent)
{
    *sent = 0;
    if (c->has_xport) {
        ubyte4 want = clamp_u32(len), k = 0;
        NK_TRY(c->xport.funcPtrSend(c->xport.pCtx, p, want, &k));
        /* A call that takes nothing would have this loop spin. */
        NK_CHECK(k > 0 && k <= want, ERR_TCP_WRITE_ERROR);
        *sent = k;
        return OK;
    }
    for (;;) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            *sent = (size_t)n;
            return OK;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(c->fd, POLLOUT, -1) < 0)
                return ERR_TCP_WRITE_ERROR;
            continue;
        }
        return ERR_TCP_WRITE_ERROR;
    }
}

MSTATUS nk_drive_flush(struct nk_conn *c)
{
    size_t len, n;
    const uint8_t *p;
    if (c->is_dtls)
        return nk_drive_dtls_flush(c);
    if (c->ktls_tx)
        return nk_drive_ktls_flush(c);
    while ((p = nk_out_buf(c, &len)) != NULL) {
        NK_TRY(write_some(c, p, len, &n));
        nk_out_ack(c, n);
    }
    return OK;
}

/* One read into p (waiting at most timeout_ms, < 0 = forever); *got > 0 on OK. */
static MSTATUS read_into(struct nk_conn *c, uint8_t *p, size_t len, size_t *got, int64_t timeout_ms)
{
    *got = 0;
    if (c->has_xport) {
        /* The callback's 0 means no limit; the waits here are never 0 ms. */
        ubyte4 want = clamp_u32(len), k = 0;
        ubyte4 ms = timeout_ms < 0 ? 0 : timeout_ms == 0 ? 1 : clamp_u32((size_t)timeout_ms);
        MSTATUS st = c->xport.funcPtrRecv(c->xport.pCtx, p, want, &k, ms);
        if (st == ERR_TCP_WOULDBLOCK)   /* nothing yet, as a timeout */
            st = ERR_TCP_READ_TIMEOUT;
        NK_TRY(st);
        NK_CHECK(k > 0, ERR_TCP_SOCKET_CLOSED);
        NK_CHECK(k <= want, ERR_TCP_READ_ERROR);
        *got = k;
        return OK;
    }
    for (;;) {
        int r = wait_fd(c->fd, POLLIN, timeout_ms);
        if (r == 0)
            return ERR_TCP_READ_TIMEOUT;
        if (r < 0)
            return ERR_TCP_READ_ERROR;
        ssize_t n = recv(c->fd, p, len, 0);
        if (n > 0) {
            *got = (size_t)n;
            return OK;
        }
        if (n == 0)
            return ERR_TCP_SOCKET_CLOSED;
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            return ERR_TCP_READ_ERROR;
    }
}

/* Read once into the engine (waiting at most timeout_ms, < 0 = forever). */
static MSTATUS read_some(struct nk_conn *c, int64_t timeout_ms)
{
    size_t len, n;
    uint8_t *p = nk_in_buf(c, &len);
    if (!p || !len)
        return c->err < 0 ? c->err : ERR_SSL_BAD_STATE;
    NK_TRY(read_into(c, p, len, &n, timeout_ms));
    c->now = nk_wall_ms();
    return nk_in_ack(c, n);
}

static MSTATUS wait_app_data(struct nk_conn *c, ubyte4 timeout_ms);

/* A fatal error: get the alert out if we can, then report the error. */
static MSTATUS fail_flush(struct nk_conn *c, MSTATUS err)
{
    err = nk_fail(c, err);
    if (nk_drive_flush(c) < 0)
        return err;
    return err;
}

/* How long the next handshake read may wait (< 0: forever): sslTimeOutReceive,
 * cut short by the engine's deadline. Once that has passed, the engine's timer
 * fails the handshake. */
static MSTATUS read_wait(struct nk_conn *c, int64_t *wait)
{
    ubyte4 per_read = c->cfg->ssl.sslTimeOutReceive;
    *wait = per_read ? (int64_t)per_read : -1;
    if (!(nk_conn_wants(c) & NK_WANT_TIMER))
        return OK;
    int64_t now = nk_mono_ms(), left = nk_conn_deadline(c) - now;
    if (left <= 0)
        return nk_engine_timer(c, now);
    if (*wait < 0 || left < *wait)
        *wait = left;
    return OK;
}

MSTATUS nk_drive_handshake(struct nk_conn *c)
{
    if (c->is_dtls)
        return nk_drive_dtls_handshake(c);
    /* sslTimeOutHello from this call on: the engine keeps the deadline. */
    nk_engine_hs_limit(c, nk_mono_ms(), c->cfg->ssl.sslTimeOutHello);
    c->now = nk_wall_ms();
    if (!c->hs && c->status != SSL_CONNECTION_OPEN)
        NK_TRY(fail_flush(c, nk_engine_start(c)));
    while (c->status != SSL_CONNECTION_OPEN) {
        if (c->err < 0)
            return fail_flush(c, c->err);
        MSTATUS st = nk_drive_flush(c);
        if (st < 0)
            return nk_fail(c, st);
        if (c->got_close_notify)
            return nk_fail(c, ERR_SSL_CONNECTION_CLOSED);
        int64_t wait;
        if ((st = read_wait(c, &wait)) < 0)
            return fail_flush(c, st);
        st = read_some(c, wait);
        /* The read's wait may have ended at the handshake's deadline. */
        if (st == ERR_TCP_READ_TIMEOUT && nk_engine_timer(c, nk_mono_ms()) < 0)
            st = c->err;
        if (st < 0)
            return fail_flush(c, st);
    }
    /* The last flight (client Finished) goes out under the software keys; only
     * then may the kernel take over. */
    NK_TRY(nk_fail(c, nk_drive_flush(c)));
    return fail_flush(c, nk_ktls_offload(c));
}

MSTATUS nk_drive_recv(struct nk_conn *c, uint8_t *buf, size_t cap, size_t *got, ubyte4 timeout_ms)
{
    *got = 0;
    if (c->is_dtls)
        return nk_drive_dtls_recv(c, buf, cap, got, timeout_ms);
    if (c->ktls_rx && !c->app_len)
        return nk_drive_ktls_recv(c, buf, cap, got, timeout_ms ? (int64_t)timeout_ms : -1);
    NK_TRY(wait_app_data(c, timeout_ms));
    *got = nk_app_read(c, buf, cap);
    return OK;
}

/* A renegotiation running (handshake/tls12_reneg.c) has the handshake's
 * deadline: the read waits no longer than that (*left), and once it has
 * passed the engine's timer fails the connection. */
static MSTATUS reneg_wait(struct nk_conn *c, int64_t *left)
{
    nk_drive_reneg_clock(c);
    if (!(nk_conn_wants(c) & NK_WANT_TIMER))
        return OK;
    int64_t now = nk_mono_ms(), hs = nk_conn_deadline(c) - now;
    if (hs <= 0)
        return nk_engine_timer(c, now);
    if (*left < 0 || hs < *left)
        *left = hs;
    return OK;
}

static MSTATUS wait_app_data(struct nk_conn *c, ubyte4 timeout_ms)
{
    int64_t deadline = timeout_ms ? nk_mono_ms() + timeout_ms : -1;
    while (!c->app_len) {
        if (c->err < 0)
            return c->err;
        if (c->got_close_notify)
            return ERR_SSL_CONNECTION_CLOSED;
        /* Post-handshake messages may have queued output (a KeyUpdate reply). */
        MSTATUS st = nk_drive_flush(c);
        if (st < 0)
            return nk_fail(c, st);
        int64_t left = deadline < 0 ? -1 : deadline - nk_mono_ms();
        if (deadline >= 0 && left <= 0)
            return ERR_TCP_READ_TIMEOUT;
        if ((st = reneg_wait(c, &left)) < 0)
            return fail_flush(c, st);
        st = read_some(c, left);
        /* The wait may have ended at the renegotiation's deadline. */
        if (st == ERR_TCP_READ_TIMEOUT && nk_engine_timer(c, nk_mono_ms()) < 0)
            st = c->err;
        if (st == ERR_TCP_READ_TIMEOUT)
            return st;   /* not fatal: the caller may try again */
        if (st < 0)
            return fail_flush(c, st);
    }
    MSTATUS st = nk_drive_flush(c);
    return st < 0 ? nk_fail(c, st) : OK;
}
