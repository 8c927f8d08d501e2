/* ktls/ktls_io.c — socket I/O once the kernel carries records: plaintext in and
 * out, non-data records through control messages (TLS_SET_RECORD_TYPE /
 * TLS_GET_RECORD_TYPE), and sendfile. */
#include <errno.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>
#include "ktls/ktls.h"
#include "drive/drive.h"
#include "core/wire.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

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

/* Send one record body: application data as plain bytes, anything else with
 * its record type in a control message. Returns bytes sent or -1 (errno). */
static ssize_t send_body(int fd, uint8_t type, const uint8_t *d, size_t n)
{
    if (type == NK_CT_APPLICATION_DATA)
        return send(fd, d, n, MSG_NOSIGNAL);
    char cbuf[CMSG_SPACE(sizeof type)] = { 0 };
    struct iovec iov = { .iov_base = (void *)d, .iov_len = n };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_TLS;
    cm->cmsg_type = TLS_SET_RECORD_TYPE;
    cm->cmsg_len = CMSG_LEN(sizeof type);
    *CMSG_DATA(cm) = type;
    return sendmsg(fd, &m, MSG_NOSIGNAL);
}

static void ack(struct nk_conn *c, size_t n)
{
    nk_out_ack(c, n);
    if (c->tx_rekey_pending)
        c->tx_rekey_at -= n < c->tx_rekey_at ? n : c->tx_rekey_at;
}

/* The engine queues plaintext records (5-byte header, body) when the kernel
 * carries TX; each goes out as one sendmsg. A partly sent body gets its header
 * rewritten over the sent bytes so the rest goes out with the same type. */
MSTATUS nk_ktls_flush(struct nk_conn *c)
{
    size_t len;
    const uint8_t *p;
    while ((p = nk_out_buf(c, &len)) != NULL) {
        if (c->tx_rekey_pending && c->tx_rekey_at == 0) {
            NK_TRY(nk_ktls_rekey(c, 1));
            c->tx_rekey_pending = 0;
        }
        NK_CHECK(len >= NK_REC_HDR, ERR_SSL_INTERNAL);
        uint8_t type = p[0];
        size_t body = nk_load16(p + 3);
        NK_CHECK(len >= NK_REC_HDR + body, ERR_SSL_INTERNAL);
        ssize_t n = send_body(c->fd, type, p + NK_REC_HDR, body);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return ERR_TCP_WRITE_ERROR;
            struct pollfd pf = { .fd = c->fd, .events = POLLOUT };
            if (poll(&pf, 1, -1) < 0 && errno != EINTR)
                return ERR_TCP_WRITE_ERROR;
            continue;
        }
        if ((size_t)n == body) {
            ack(c, NK_REC_HDR + body);
            continue;
        }
        uint8_t *h = (uint8_t *)p + n;
        h[0] = type;
        h[1] = h[2] = 3;
        nk_store16(h + 3, (uint16_t)(body - (size_t)n));
        ack(c, (size_t)n);
    }
    if (c->tx_rekey_pending && c->tx_rekey_at == 0) {
        NK_TRY(nk_ktls_rekey(c, 1));
        c->tx_rekey_pending = 0;
    }
    return OK;
}

MSTATUS nk_ktls_send(struct nk_conn *c, const uint8_t *d, size_t n)
{
    NK_TRY(nk_ktls_flush(c));
    while (n) {
        ssize_t k = send(c->fd, d, n, MSG_NOSIGNAL);
        if (k > 0 && socket_failed(c->fd))
            return ERR_TCP_WRITE_ERROR;
        if (k > 0) {
            d += k;
            n -= (size_t)k;
        } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pf = { .fd = c->fd, .events = POLLOUT };
            if (poll(&pf, 1, -1) < 0 && errno != EINTR)
                return ERR_TCP_WRITE_ERROR;
        } else if (k < 0 && errno != EINTR) {
            return ERR_TCP_WRITE_ERROR;
        }
    }
    return OK;
}

static MSTATUS recv_error(int err)
{
    switch (err) {
    case EBADMSG: return ERR_SSL_BAD_RECORD_MAC;     /* authentication failed */
    case EMSGSIZE: return ERR_SSL_RECORD_OVERFLOW;
    case EKEYEXPIRED: return ERR_SSL_KTLS_NO_REKEY;
    case EINVAL: return ERR_SSL_PROTOCOL;            /* malformed record header */
    default: return ERR_TCP_READ_ERROR;
    }
}

/* One recvmsg: *type is the record type the kernel reports. */
static ssize_t recv_record(int fd, uint8_t *buf, size_t cap, uint8_t *type, int *ctrunc)
{
    char cbuf[CMSG_SPACE(sizeof(uint8_t))];
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    ssize_t n = recvmsg(fd, &m, 0);
    *type = NK_CT_APPLICATION_DATA;
    *ctrunc = n >= 0 && (m.msg_flags & MSG_CTRUNC);
    for (struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&m) : NULL; cm; cm = CMSG_NXTHDR(&m, cm))
        if (cm->cmsg_level == SOL_TLS && cm->cmsg_type == TLS_GET_RECORD_TYPE)
            *type = *CMSG_DATA(cm);
    return n;
}

MSTATUS nk_ktls_recv(struct nk_conn *c, uint8_t *buf, size_t cap, size_t *got, int64_t timeout_ms)
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
        NK_TRY(nk_fail(c, nk_drive_flush(c)));   /* a KeyUpdate answer, say */
        struct pollfd pf = { .fd = c->fd, .events = POLLIN };
        int r = poll(&pf, 1, timeout_ms < 0 ? -1 : (int)timeout_ms);
        if (r == 0)
            return ERR_TCP_READ_TIMEOUT;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return nk_fail(c, ERR_TCP_READ_ERROR);
        }
        uint8_t type;
        int ctrunc;
        ssize_t n = recv_record(c->fd, dst, room, &type, &ctrunc);
        if (n == 0)
            return nk_fail(c, ERR_TCP_SOCKET_CLOSED);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            MSTATUS st = nk_fail(c, recv_error(errno));
            /* The kernel parks a failed decryption as the socket's error, which
             * would also fail our alert: collect it (SO_ERROR clears it), then
             * send the alert (bad_record_mac, ...). */
            int soerr;
            socklen_t slen = sizeof soerr;
            (void)!getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &slen);
            (void)!nk_drive_flush(c);
            return st;
        }
        if (staged)   /* plaintext in the engine's buffer, beyond its len */
            nk_buf_mark(&c->in, (size_t)n);
        /* A truncated control message would lose the record type. */
        NK_CHECK(!ctrunc, nk_fail(c, ERR_SSL_INTERNAL));
        if (type != NK_CT_APPLICATION_DATA) {
            MSTATUS st = nk_ktls_in_record(c, type, dst, (size_t)n);
            if (st < 0) {
                (void)!nk_drive_flush(c);
                return st;
            }
            continue;
        }
        c->key_updates_in_a_row = 0;
        if (staged) {
            c->app = c->in.p;
            c->app_len = (size_t)n;
            *got = nk_app_read(c, buf, cap);
        } else {
            *got = (size_t)n;
        }
        return OK;
    }
}

static MSTATUS wait_writable(int fd)
{
    struct pollfd pf = { .fd = fd, .events = POLLOUT };
    return poll(&pf, 1, -1) < 0 && errno != EINTR ? ERR_TCP_WRITE_ERROR : OK;
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

MSTATUS nk_ktls_sendfile(struct nk_conn *c, int fd, int64_t off, uint64_t len, uint64_t *sent)
{
    *sent = 0;
    NK_CHECK(fd >= 0 && off >= 0, ERR_INVALID_ARG);
    if (c->err < 0)
        return c->err;
    NK_CHECK(c->status == SSL_CONNECTION_OPEN && !c->sent_close_notify, ERR_SSL_NOT_OPEN);
    if (!c->ktls_tx)
        return sendfile_software(c, fd, off, len, sent);
    NK_TRY(nk_fail(c, nk_ktls_flush(c)));
    MSTATUS st = sendfile_kernel(c, fd, off, len, sent);
    /* A short file or an unreadable one leaves the connection usable; a dead
     * peer does not. */
    return st == ERR_TCP_WRITE_ERROR ? nk_fail(c, st) : st;
}
