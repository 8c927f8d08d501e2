/* ktls/ktls_io.c — the control-message side of kernel TLS, for every driver
 * (drive/, uring/): records under kernel TX go out as their bodies, with their
 * type in a TLS_SET_RECORD_TYPE control message unless they carry data; under
 * kernel RX a record's type comes back in TLS_GET_RECORD_TYPE. No polling and
 * no driver here: the callers wait in their own way. */
#include <errno.h>
#include <linux/tls.h>
#include <sys/socket.h>
#include "ktls/ktls.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

MSTATUS nk_ktls_tx_msg(struct msghdr *m, uint8_t *p, size_t n, size_t *span)
{
    struct nk_rec_walk w;
    struct nk_rec rec;
    size_t k = 0, max = m->msg_iovlen;
    uint8_t type = NK_CT_APPLICATION_DATA;
    *span = 0;
    nk_rec_walk_init(&w, &nk_rec_plain, p, n);
    while (k < max) {
        MSTATUS st = nk_rec_walk_next(&w, &rec);
        if (st == NK_REC_END)
            break;
        /* The engine queues whole records: one cut short is our own bug. */
        NK_CHECK(st == OK, ERR_SSL_INTERNAL);
        if (k && (rec.type != NK_CT_APPLICATION_DATA || type != NK_CT_APPLICATION_DATA))
            break;
        type = rec.type;
        m->msg_iov[k].iov_base = rec.body;
        m->msg_iov[k++].iov_len = rec.body_len;
        *span += rec.len;
    }
    NK_CHECK(k > 0, ERR_SSL_INTERNAL);
    m->msg_iovlen = k;
    if (type == NK_CT_APPLICATION_DATA) {
        m->msg_control = NULL;
        m->msg_controllen = 0;
        return OK;
    }
    struct cmsghdr *cm = CMSG_FIRSTHDR(m);
    NK_CHECK(cm && m->msg_controllen >= NK_KTLS_CTL_LEN, ERR_SSL_INTERNAL);
    m->msg_controllen = NK_KTLS_CTL_LEN;
    cm->cmsg_level = SOL_TLS;
    cm->cmsg_type = TLS_SET_RECORD_TYPE;
    cm->cmsg_len = CMSG_LEN(sizeof type);
    *CMSG_DATA(cm) = type;
    return OK;
}

size_t nk_ktls_tx_sent(uint8_t *p, size_t n, size_t sent)
{
    struct nk_rec_walk w;
    struct nk_rec rec;
    size_t done = 0;
    nk_rec_walk_init(&w, &nk_rec_plain, p, n);
    do {
        if (nk_rec_walk_next(&w, &rec) != OK)
            break;
        if (sent < rec.body_len) {
            /* Partly sent: what is left becomes a record of the same type, so
             * it goes out with that type. */
            if (sent)
                (void)nk_rec_drop_front(&nk_rec_plain, &rec, sent);
            done += sent;
            break;
        }
        done += rec.len;
        sent -= rec.body_len;
    } while (sent);
    return done;
}

ssize_t nk_ktls_recv_typed(int fd, void *buf, size_t cap, int flags, uint8_t *type, int *lost)
{
    union nk_ktls_ctl ctl;
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b };
    ssize_t n = recvmsg(fd, &m, flags);
    *type = NK_CT_APPLICATION_DATA;
    *lost = 0;
    if (n < 0)
        return -errno;
    *lost = (m.msg_flags & MSG_CTRUNC) != 0;
    for (struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&m) : NULL; cm; cm = CMSG_NXTHDR(&m, cm))
        if (cm->cmsg_level == SOL_TLS && cm->cmsg_type == TLS_GET_RECORD_TYPE)
            *type = *CMSG_DATA(cm);
    return n;
}

MSTATUS nk_ktls_recv_failed(int fd, int err)
{
    /* The kernel parks a failed decryption as the socket's error, which would
     * also fail our alert: collect it (SO_ERROR clears it), so the alert
     * (bad_record_mac, ...) can still go out. */
    int soerr;
    socklen_t slen = sizeof soerr;
    (void)!getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen);
    switch (err) {
    case EBADMSG: return ERR_SSL_BAD_RECORD_MAC;     /* authentication failed */
    case EMSGSIZE: return ERR_SSL_RECORD_OVERFLOW;
    case EKEYEXPIRED: return ERR_SSL_KTLS_NO_REKEY;
    case EINVAL: return ERR_SSL_PROTOCOL;            /* malformed record header */
    default: return ERR_TCP_READ_ERROR;
    }
}
