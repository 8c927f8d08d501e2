/* drive/dtls_blocking.c — the synchronous driver for DTLS 1.2: the engine
 * (engine/dtls.c) over a connected UDP socket, one datagram per recv and per
 * send, the retransmission timer run from the poll timeout. NanoSSL opens a
 * DTLS connection with the same SSL_connect / SSL_acceptConnection calls, on
 * a UDP socket: nk_drive_dtls_adopt makes such a connection DTLS. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include "drive/clock.h"
#include "drive/drive.h"
#include "engine/dtls.h"

/* The largest datagram read: a record of 2^14 bytes and its protection;
 * a longer one arrives truncated, and its records are dropped. */
#define DGRAM_MAX (NK_MAX_CIPHER12 + NK_DTLS_HDR)

int nk_drive_is_datagram(int fd)
{
    int type = 0;
    socklen_t tl = sizeof type;
    return fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_DGRAM;
}

MSTATUS nk_drive_dtls_adopt(struct nk_conn *c)
{
    if (!nk_drive_is_datagram(c->fd))
        return OK;
    /* The server's cookie binds the client's address (RFC 6347 §4.2.1). */
    struct sockaddr_storage peer;
    socklen_t pl = sizeof peer;
    if (getpeername(c->fd, (struct sockaddr *)&peer, &pl) < 0 || pl > NK_DTLS_ADDR_MAX)
        pl = 0;
    return nk_dtls_conn(c, &peer, pl);
}

MSTATUS nk_drive_dtls_flush(struct nk_conn *c)
{
    size_t n;
    const uint8_t *p;
    while ((p = nk_dtls_out(c, &n))) {
        ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pf = { .fd = c->fd, .events = POLLOUT };
            (void)poll(&pf, 1, -1);
            continue;
        }
        /* A datagram the network refused (ICMP port unreachable from an
         * earlier one, a full buffer) is a lost datagram: the timer sends
         * the flight again. */
        if (r < 0 && errno != ECONNREFUSED && errno != ENOBUFS && errno != EMSGSIZE)
            return ERR_TCP_WRITE_ERROR;
        nk_dtls_out_ack(c);
    }
    return OK;
}

/* One datagram of the application's own (an SRTP packet) on the
 * connection's socket. As for our records, a datagram the network refused
 * is lost, not an error: SRTP carries media that tolerates loss. */
static MSTATUS send_raw(struct nk_conn *c, const uint8_t *p, size_t n)
{
    for (;;) {
        ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
        if (r >= 0 || errno == ECONNREFUSED || errno == ENOBUFS)
            return OK;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd pf = { .fd = c->fd, .events = POLLOUT };
            (void)poll(&pf, 1, -1);
        } else if (errno != EINTR) {
            return errno == EMSGSIZE ? ERR_INVALID_ARG : ERR_TCP_WRITE_ERROR;
        }
    }
}

MSTATUS nk_drive_dtls_send(struct nk_conn *c, const uint8_t *buf, size_t len)
{
    uint8_t *pkt;
    size_t n;
    NK_TRY(nk_fail(c, nk_drive_dtls_flush(c)));   /* what we owe the peer goes first */
    MSTATUS st = nk_dtls_srtp_encode(c, buf, len, &pkt, &n);
    if (st == 0) {
        NK_TRY(nk_app_write(c, buf, len));
        return nk_fail(c, nk_drive_dtls_flush(c));
    }
    if (st > 0) {
        st = send_raw(c, pkt, n);
        free(pkt);
    }
    return st;   /* the callback's error leaves the connection as it was */
}

static MSTATUS fail_flush(struct nk_conn *c, MSTATUS err)
{
    err = nk_fail(c, err);
    (void)!nk_drive_dtls_flush(c);
    return err;
}

/* RFC 7983 §7: a datagram whose first byte is 20..63 is DTLS; RTP and RTCP
 * (128..191), STUN (0..3) and the rest are the application's. */
static int is_dtls_byte(uint8_t b)
{
    return b >= 20 && b <= 63;
}

/* One datagram into the engine, waiting at most wait_ms (< 0: forever).
 * leave_others: a datagram that is not DTLS stays in the socket for the
 * application to read (ERR_TCP_WOULDBLOCK), rather than being dropped. */
static MSTATUS read_datagram(struct nk_conn *c, int64_t wait_ms, int leave_others)
{
    uint8_t buf[DGRAM_MAX];
    struct pollfd pf = { .fd = c->fd, .events = POLLIN };
    int r = poll(&pf, 1, wait_ms < 0 ? -1 : (int)wait_ms);
    if (r < 0 && errno == EINTR)
        return OK;
    if (r < 0)
        return ERR_TCP_READ_ERROR;
    if (r == 0)
        return ERR_TCP_READ_TIMEOUT;
    if (leave_others) {
        ssize_t k = recv(c->fd, buf, 1, MSG_PEEK);
        if (k == 1 && !is_dtls_byte(buf[0]))
            return ERR_TCP_WOULDBLOCK;
    }
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n < 0)   /* ECONNREFUSED: the peer is not there (yet); go on waiting */
        return errno == EINTR || errno == EAGAIN || errno == ECONNREFUSED ? OK : ERR_TCP_READ_ERROR;
    c->now = nk_wall_ms();
    return nk_dtls_in(c, buf, (size_t)n, nk_mono_ms());
}

/* Run a due timer (*wait 0: go round again, to send the flight and set
 * the next wait); else how long to wait for a datagram (< 0: forever). */
static MSTATUS timer_or_wait(struct nk_conn *c, int64_t limit_at, int64_t *wait)
{
    int64_t now = nk_mono_ms(), at = nk_conn_deadline(c);
    if (at && at <= now) {
        *wait = 0;
        return nk_engine_timer(c, now);
    }
    if (limit_at >= 0 && (!at || limit_at < at))
        at = limit_at;
    *wait = at ? (at > now ? at - now : 0) : -1;
    return OK;
}

MSTATUS nk_drive_dtls_handshake(struct nk_conn *c)
{
    nk_engine_hs_limit(c, nk_mono_ms(), c->cfg->ssl.sslTimeOutHello);
    c->now = nk_wall_ms();
    if (!c->hs && c->status != SSL_CONNECTION_OPEN)
        NK_TRY(fail_flush(c, nk_dtls_engine_start(c, nk_mono_ms())));
    while (c->status != SSL_CONNECTION_OPEN) {
        if (c->err < 0)
            return fail_flush(c, c->err);
        if (c->got_close_notify)
            return nk_fail(c, ERR_SSL_CONNECTION_CLOSED);
        MSTATUS st = nk_drive_dtls_flush(c);
        int64_t wait = -1;
        if (st == OK)
            st = timer_or_wait(c, -1, &wait);
        if (st == OK && wait != 0)
            st = read_datagram(c, wait, 0);
        if (st < 0 && st != ERR_TCP_READ_TIMEOUT)
            return fail_flush(c, st);
    }
    return nk_fail(c, nk_drive_dtls_flush(c));
}

/* After a DTLS-SRTP handshake the peer's SRTP shares the socket (RFC 5764
 * §5.1.2): a datagram that is not DTLS (RFC 7983) ends the call with
 * ERR_TCP_WOULDBLOCK and stays in the socket for the application. */
MSTATUS nk_drive_dtls_recv(struct nk_conn *c, uint8_t *buf, size_t cap, size_t *got, ubyte4 timeout_ms)
{
    int leave_others = c->dtls && c->dtls->srtp_profile != 0;
    int64_t limit_at = timeout_ms ? nk_mono_ms() + timeout_ms : -1;
    *got = 0;
    while (!c->app_len) {
        if (c->err < 0)
            return c->err;
        if (c->got_close_notify)
            return ERR_SSL_CONNECTION_CLOSED;
        MSTATUS st = OK;
        if (nk_dtls_in_pending(c)) {
            NK_TRY(nk_dtls_in(c, NULL, 0, nk_mono_ms()));
            continue;
        }
        if ((st = nk_drive_dtls_flush(c)) < 0)
            return fail_flush(c, st);
        int64_t wait = -1;
        if ((st = timer_or_wait(c, limit_at, &wait)) < 0)
            return fail_flush(c, st);
        if (limit_at >= 0 && nk_mono_ms() >= limit_at)
            return ERR_TCP_READ_TIMEOUT;
        st = read_datagram(c, wait, leave_others);
        if (st == ERR_TCP_WOULDBLOCK)
            return st;
        if (st < 0 && st != ERR_TCP_READ_TIMEOUT)
            return fail_flush(c, st);
    }
    *got = nk_app_read(c, buf, cap);
    return nk_fail(c, nk_drive_dtls_flush(c));
}
