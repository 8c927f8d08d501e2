/* drive/ktls_blocking.c — the blocking driver once the kernel carries records:
 * plaintext in and out of the socket, waiting with poll, non-data records
 * through ktls/'s control-message helpers, and sendfile. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>
#include "drive/drive.h"
#include "ktls/ktls.h"

/* After the peer resets the connection, kernel TX can go on accepting data
 * that never leaves: the reset may already have been consumed as an error
 * inside the kernel. The TCP state still tells. */
static int socket_failed(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0)
        return 1;
    struct tcp_info ti;
    len = sizeof ti;
    return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0
           && ti.tcpi_state != TCP_ESTABLISHED && ti.tcpi_state != TCP_CLOSE_WAIT;
}

static MSTATUS wait_writable(int fd)
{
    struct pollfd pf = { .fd = fd, .events = POLLOUT };
    return poll(&pf, 1, -1) < 0 && errno != EINTR ? ERR_TCP_WRITE_ERROR : OK;
}

static void ack(struct nk_conn *c, size_t n)
{
    nk_out_ack(c, n);
    if (c->tx_rekey_pending)
        c->tx_rekey_at -= n < c->tx_rekey_at ? n : c->tx_rekey_at;
}

static MSTATUS rekey_if_due(struct nk_conn *c)
{
    return c->tx_rekey_pending && c->tx_rekey_at == 0 ? nk_ktls_tx_rekey_now(c) : OK;
}

/* The engine queues plaintext records when the kernel carries TX; each goes
 * out as one sendmsg of its body. */
MSTATUS nk_drive_ktls_flush(struct nk_conn *c)
{
    size_t len;
    const uint8_t *p;
    while ((p = nk_out_buf(c, &len)) != NULL) {
        NK_TRY(rekey_if_due(c));
        union nk_ktls_ctl ctl;
        struct iovec iov;
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
                            .msg_controllen = sizeof ctl.b };
        size_t span;
        NK_TRY(nk_ktls_tx_msg(&m, (uint8_t *)p, len, &span));
        ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return ERR_TCP_WRITE_ERROR;
            NK_TRY(wait_writable(c->fd));
            continue;
        }
        ack(c, nk_ktls_tx_sent((uint8_t *)p, len, (size_t)n));
    }
    return rekey_if_due(c);
}

MSTATUS nk_drive_ktls_send(struct nk_conn *c, const uint8_t *d, size_t n)
{
    NK_TRY(nk_drive_ktls_flush(c));
    while (n) {
        ssize_t k = send(c->fd, d, n, MSG_NOSIGNAL);
        if (k > 0 && socket_failed(c->fd))
            return ERR_TCP_WRITE_ERROR;
        if (k > 0) {
            d += k;
            n -= (size_t)k;
        } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            NK_TRY(wait_writable(c->fd));
        } else if (k < 0 && errno != EINTR) {
            return ERR_TCP_WRITE_ERROR;
        }
    }
    return OK;
}

/* One record from the kernel, or a failure (already recorded on c). *type
 * and the bytes: as nk_ktls_recv_typed. */
static MSTATUS recv_one(struct nk_conn *c, uint8_t *dst, size_t room, uint8_t *type, size_t *got, int staged)
{
    int lost;
    ssize_t n = nk_ktls_recv_typed(c->fd, dst, room, 0, type, &lost);
    *got = 0;
    if (n == 0)
        return nk_fail(c, ERR_TCP_SOCKET_CLOSED);
    if (n < 0) {
        if (n == -EINTR || n == -EAGAIN || n == -EWOULDBLOCK)
            return OK;
        MSTATUS st = nk_fail(c, nk_ktls_recv_failed(c->fd, (int)-n));
        (void)!nk_drive_flush(c);   /* the alert (bad_record_mac, ...) */
        return st;
    }
    if (staged)   /* plaintext in the engine's buffer, beyond its len */
        nk_buf_mark(&c->in, (size_t)n);
    /* A truncated control message would lose the record type. */
    NK_CHECK(!lost, nk_fail(c, ERR_SSL_INTERNAL));
    *got = (size_t)n;
    return OK;
}

/* Wait until the socket is readable, having sent what the engine queued. */
static MSTATUS wait_readable(struct nk_conn *c, int64_t timeout_ms)
{
    for (;;) {
        NK_TRY(nk_fail(c, nk_drive_flush(c)));   /* a KeyUpdate answer, say */
        struct pollfd pf = { .fd = c->fd, .events = POLLIN };
        int r = poll(&pf, 1, timeout_ms < 0 ? -1 : (int)timeout_ms);
        if (r > 0)
            return OK;
        if (r == 0)
            return ERR_TCP_READ_TIMEOUT;
        if (errno != EINTR)
            return nk_fail(c, ERR_TCP_READ_ERROR);
    }
}

MSTATUS nk_drive_ktls_recv(struct nk_conn *c, uint8_t *buf, size_t cap, size_t *got, int64_t timeout_ms)
{
    *got = 0;
    /* A control record never fits a tiny buffer whole (an alert is 2 bytes and
     * must arrive in one piece): small reads go through our own buffer. */
    int staged = cap < 256;
    uint8_t *dst = buf;
    size_t room = cap;
    if (staged) {
        NK_TRY(nk_buf_reserve(&c->in, NK_MAX_PLAIN));
        dst = c->in.p;
        room = NK_MAX_PLAIN;
    }
    for (;;) {
        if (c->err < 0)
            return c->err;
        if (c->got_close_notify)
            return ERR_SSL_CONNECTION_CLOSED;
        NK_TRY(wait_readable(c, timeout_ms));
        uint8_t type;
        size_t n;
        NK_TRY(recv_one(c, dst, room, &type, &n, staged));
        if (n == 0)
            continue;   /* interrupted, or nothing after all */
        if (type != NK_CT_APPLICATION_DATA) {
            MSTATUS st = nk_ktls_in_record(c, type, dst, n);
            if (st < 0) {
                (void)!nk_drive_flush(c);
                return st;
            }
            continue;
        }
        nk_in_kernel_data(c, staged ? c->in.p : NULL, n);
        *got = staged ? nk_app_read(c, buf, cap) : n;
        return OK;
    }
}

static MSTATUS sendfile_kernel(struct nk_conn *c, int fd, int64_t off, uint64_t len, uint64_t *sent)
{
    off_t pos = (off_t)off;
    while (*sent < len) {
        /* Chunks of 4 MiB, so a peer that went away is noticed within one. */
        size_t chunk = len - *sent > (4u << 20) ? (4u << 20) : (size_t)(len - *sent);
        ssize_t n = sendfile(c->fd, fd, &pos, chunk);
        if (n > 0) {
            *sent += (uint64_t)n;
            if (socket_failed(c->fd))
                return ERR_TCP_WRITE_ERROR;
        } else if (n == 0) {
            return ERR_FILE_EOF;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            NK_TRY(wait_writable(c->fd));
        } else if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) {
            return ERR_TCP_WRITE_ERROR;
        } else if (errno != EINTR) {
            return ERR_FILE_READ_FAILED;
        }
    }
    return OK;
}

/* Without the kernel: read 64 KiB at a time and encrypt it as four records. */
static MSTATUS sendfile_software(struct nk_conn *c, int fd, int64_t off, uint64_t len, uint64_t *sent)
{
    enum { CHUNK = 4 * NK_MAX_PLAIN };
    uint8_t *buf = malloc(CHUNK);
    MSTATUS st = OK;
    NK_CHECK(buf, ERR_MEM_ALLOC_FAIL);
    while (st == OK && *sent < len) {
        size_t want = len - *sent < CHUNK ? (size_t)(len - *sent) : CHUNK;
        ssize_t n = pread(fd, buf, want, (off_t)(off + (int64_t)*sent));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            st = ERR_FILE_READ_FAILED;
        else if (n == 0)
            st = ERR_FILE_EOF;
        else if ((st = nk_app_write(c, buf, (size_t)n)) == OK && (st = nk_fail(c, nk_drive_flush(c))) == OK)
            *sent += (uint64_t)n;
    }
    free(buf);
    return st;
}

MSTATUS nk_drive_sendfile(struct nk_conn *c, int fd, int64_t off, uint64_t len, uint64_t *sent)
{
    *sent = 0;
    NK_CHECK(fd >= 0 && off >= 0, ERR_INVALID_ARG);
    if (c->err < 0)
        return c->err;
    NK_CHECK(c->status == SSL_CONNECTION_OPEN && !c->sent_close_notify, ERR_SSL_NOT_OPEN);
    if (!c->ktls_tx)
        return sendfile_software(c, fd, off, len, sent);
    NK_TRY(nk_fail(c, nk_drive_ktls_flush(c)));
    MSTATUS st = sendfile_kernel(c, fd, off, len, sent);
    /* A short file or an unreadable one leaves the connection usable; a dead
     * peer does not. */
    return st == ERR_TCP_WRITE_ERROR ? nk_fail(c, st) : st;
}
