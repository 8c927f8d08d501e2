/* examples/load_conn.c — nktls-load's connections: a non-blocking socket per
 * slot, driven by epoll (edge-triggered) over the SSL_ASYNC_* API; the
 * upcalls; the shared session-ticket store of resume mode; and the naming of
 * errors by kind. What each mode does with an open connection is load_ops.c. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <linux/tls.h>
#include <time.h>
#include <unistd.h>

#include "load_conn.h"

static const struct load_cfg *g_cfg;

int64_t load_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct lconn *conn_of(sbyte4 h)
{
    void *p = NULL;
    return SSL_getCookie(h, &p) == OK ? p : NULL;
}

/* ---- upcalls: note what happened; the loop acts once the call returns ---- */

static sbyte4 up_open(sbyte4 h, intBoolean rehandshake)
{
    struct lconn *c = conn_of(h);
    if (c)
        c->opened = 1;
    return OK;
}

static sbyte4 up_data(sbyte4 h, ubyte *p, ubyte4 n)
{
    struct lconn *c = conn_of(h);
    if (c)
        lo_on_data(c, p, n);
    return OK;
}

static sbyte4 up_alert(sbyte4 h, sbyte4 alert, sbyte4 level)
{
    struct lconn *c = conn_of(h);
    if (c && alert != SSL_ALERT_CLOSE_NOTIFY)
        c->alert_in = alert;
    return OK;
}

/* ---- the ticket store: one ticket, shared by every thread, the newest wins.
 * A mutex is enough: it is taken once or twice per handshake. ---- */

static pthread_mutex_t g_ticket_lock = PTHREAD_MUTEX_INITIALIZER;
static ubyte *g_ticket;
static ubyte4 g_ticket_len;

static sbyte4 save_ticket(sbyte4 h, sbyte *server, ubyte4 server_len, ubyte *psk, ubyte4 len)
{
    struct lconn *c = conn_of(h);
    ubyte *copy = malloc(len);

    if (!copy)
        return -1;
    memcpy(copy, psk, len);
    pthread_mutex_lock(&g_ticket_lock);
    free(g_ticket);
    g_ticket = copy;
    g_ticket_len = len;
    pthread_mutex_unlock(&g_ticket_lock);
    if (c)
        c->got_ticket = 1;
    return 0;
}

static sbyte4 offer_ticket(sbyte4 h, sbyte *server, ubyte4 server_len, ubyte **psk, ubyte4 *len,
                           intBoolean *free_it)
{
    *psk = NULL;
    *free_it = TRUE;
    pthread_mutex_lock(&g_ticket_lock);
    if (g_ticket && (*psk = malloc(g_ticket_len)) != NULL) {
        memcpy(*psk, g_ticket, g_ticket_len);
        *len = g_ticket_len;
    }
    pthread_mutex_unlock(&g_ticket_lock);
    return 0;
}

int load_have_ticket(void)
{
    int have;
    pthread_mutex_lock(&g_ticket_lock);
    have = g_ticket != NULL;
    pthread_mutex_unlock(&g_ticket_lock);
    return have;
}

/* --insecure: accept whatever chain the server sent. */
static MSTATUS accept_any_cert(sbyte4 h, MSTATUS validation_status)
{
    return OK;
}

void load_conn_init(const struct load_cfg *cfg)
{
    sslSettings *s = SSL_sslSettings();

    g_cfg = cfg;
    s->funcPtrClientOpenStateUpcall = up_open;
    s->funcPtrClientReceiveUpcall = up_data;
    /* Each operation has its own timeout; the library's hello timer would only
     * cut the same handshakes short under a different name. */
    s->sslTimeOutHello = cfg->timeout_ms + 1000;
    SSL_setFuncPtrAlertCallback(up_alert);
}

/* ---- errors by kind ---- */

static int is_verification(MSTATUS st)
{
    return (st <= ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY && st >= ERR_CERT_SHA1_SIGNATURE) ||
           st == ERR_SSL_PROTOCOL_PROCESS_CERTIFICATE;
}

/* Kind and detail of a TLS failure: a received alert by its name; a
 * certificate the client refused; a handshake timeout; anything else by the
 * status's name (and the alert we sent for it). */
void lc_fail_status(struct lconn *c, MSTATUS st)
{
    char detail[64];
    const char *name;

    if (st == ERR_SSL_FATAL_ALERT && c->alert_in >= 0) {
        name = NKTLS_alertName(c->alert_in);
        if (!name) {
            snprintf(detail, sizeof(detail), "alert %d", (int)c->alert_in);
            name = detail;
        }
        lc_fail(c, "alert", name);
    } else if (is_verification(st)) {
        lc_fail(c, "verification", ex_status_name(st));
    } else if (st == ERR_SSL_HANDSHAKE_TIMEOUT) {
        lc_fail(c, "timeout", "handshake");
    } else if (st == ERR_SSL_CONNECTION_CLOSED) {
        lo_peer_closed(c);
    } else {
        snprintf(detail, sizeof(detail), "%s (sent %s)", ex_status_name(st),
                 c->h > 0 ? ex_alert_for(c->h, st) : "none");
        lc_fail(c, c->state == LC_OPEN ? "tls" : "handshake", detail);
    }
}

/* Count the error against the running operation and drop the connection. An
 * idle keep-alive connection that goes away is no error: the next operation
 * opens another. */
void lc_fail(struct lconn *c, const char *kind, const char *detail)
{
    struct load_stats *st = &c->x->w->st;

    lc_close(c, 0);
    if (!c->busy)
        return;
    load_err_add(st, kind, detail, 1);
    __atomic_fetch_add(&st->errors, 1, __ATOMIC_RELAXED);
    c->busy = 0;
    c->x->active--;
    c->x->idle[c->x->n_idle++] = (int)c->idx;
}

/* ---- sockets ---- */

static uint64_t ev_key(const struct lconn *c)
{
    return (uint64_t)c->idx | (uint64_t)c->gen << 32;
}

void lc_open(struct lconn *c)
{
    const struct load_cfg *cfg = c->x->cfg;
    struct epoll_event ev;
    int one = 1;

    c->fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        lc_fail(c, "connect", strerrorname_np(errno) ? strerrorname_np(errno) : "socket");
        return;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (const struct sockaddr *)&cfg->addr, cfg->addr_len) < 0 &&
        errno != EINPROGRESS) {
        const char *e = strerrorname_np(errno);
        lc_fail(c, "connect", e ? e : "connect");
        return;
    }
    c->state = LC_CONNECTING;
    /* Edge-triggered, both directions, once: no epoll_ctl per state change. */
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = ev_key(c);
    if (epoll_ctl(c->x->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        lc_fail(c, "connect", "epoll_ctl");
}

void lc_close(struct lconn *c, int notify)
{
    if (c->h > 0) {
        /* The close_notify goes out if the socket takes it now; a load
         * generator does not wait on a slow peer to say goodbye. */
        if (notify && c->state == LC_OPEN &&
            SSL_sendAlert(c->h, SSL_ALERT_CLOSE_NOTIFY, SSLALERTLEVEL_WARNING) == OK)
            lc_flush(c);
        else if (!notify)
            lc_flush(c);            /* the fatal alert, if one waits */
        SSL_ASYNC_closeConnection(c->h);
        c->h = 0;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = LC_FREE;
    c->gen++;
    c->out_len = c->out_off = 0;
}

/* Write what waits; 0 when all went out or the socket is full, -errno on error. */
int lc_flush(struct lconn *c)
{
    for (;;) {
        ubyte4 len = LC_OUT_CAP;

        while (c->out_off < c->out_len) {
            ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return errno == EAGAIN ? 0 : -errno;
            c->out_off += (size_t)n;
        }
        c->out_off = c->out_len = 0;
        if (c->h <= 0 || SSL_ASYNC_sendMessagePending(c->h) <= 0)
            return 0;
        if (SSL_ASYNC_getSendBuffer(c->h, c->out, &len) != OK)
            return -EIO;
        if (len == 0)
            return 0;               /* kernel TX: the library wrote it itself */
        c->out_len = len;
    }
}

/* Application data out: through the library, or straight to the socket when
 * the kernel encrypts. Only called with nothing waiting in c->out. */
MSTATUS lc_send(struct lconn *c, const void *p, size_t n)
{
    sbyte4 sent = 0;

    if (c->ktls_tx) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0)
            return errno == EAGAIN ? OK : ERR_TCP_WRITE_ERROR;
        return (MSTATUS)w;     /* short writes are the caller's to continue */
    }
    MSTATUS st = SSL_ASYNC_sendMessage(c->h, (sbyte *)p, (sbyte4)n, &sent);
    if (st < 0)
        return st;
    return (MSTATUS)n;
}

static void start_tls(struct lconn *c)
{
    const struct load_cfg *cfg = c->x->cfg;
    MSTATUS st;

    c->h = SSL_ASYNC_connect(c->fd, 0, NULL, NULL, (const sbyte *)cfg->servername, cfg->store);
    if (c->h < 0) {
        st = (MSTATUS)c->h;
        c->h = 0;
        lc_fail(c, "setup", ex_status_name(st));
        return;
    }
    st = SSL_setCookie(c->h, c);
    if (st == OK)
        st = ex_apply_opts(c->h, &cfg->tls);
    if (st == OK && cfg->insecure)
        st = SSL_setInvalidCertCallback(c->h, accept_any_cert);
    if (st == OK && cfg->mode == LOAD_RESUME)
        st = SSL_setClientSavePSKCallback(c->h, save_ticket);
    if (st == OK && cfg->mode == LOAD_RESUME && !c->x->prime)
        st = SSL_CLIENT_setRetrievePSKCallback(c->h, offer_ticket);
    if (st == OK) {
        c->state = LC_HANDSHAKE;
        st = SSL_ASYNC_start(c->h);
    }
    if (st != OK) {
        lc_fail(c, "setup", ex_status_name(st));
        return;
    }
    if ((st = (MSTATUS)lc_flush(c)) != OK)
        lc_fail(c, "io", strerrorname_np(-(int)st) ? strerrorname_np(-(int)st) : "send");
}

void lc_on_writable(struct lconn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (c->state == LC_CONNECTING) {
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err) {
            lc_fail(c, "connect", strerrorname_np(err) ? strerrorname_np(err) : "connect");
            return;
        }
        start_tls(c);
        if (c->state == LC_HANDSHAKE)
            lc_on_readable(c);      /* edge-triggered: bytes may have come already */
        return;
    }
    if (c->state == LC_FREE)
        return;
    if ((err = lc_flush(c)) < 0) {
        lc_fail(c, "io", strerrorname_np(-err) ? strerrorname_np(-err) : "send");
        return;
    }
    lo_advance(c);
}

/* After the handshake, with --ktls auto: hand the keys to the kernel where it
 * takes them. Needs the send buffer empty (the client Finished went out). */
void lc_offload(struct lconn *c)
{
    nktlsRecordLayerInfo info;

    if (!c->x->cfg->ktls_auto || c->out_len || SSL_ASYNC_sendMessagePending(c->h) > 0)
        return;
    if (NKTLS_asyncOffload(c->h) != OK || NKTLS_getRecordLayerInfo(c->h, &info) != OK)
        return;
    c->ktls_tx = info.txLayer == NKTLS_LAYER_KERNEL;
    c->ktls_rx = info.rxLayer == NKTLS_LAYER_KERNEL;
    if (c->ktls_tx)
        c->x->w->st.ktls_tx++;
    if (c->ktls_rx)
        c->x->w->st.ktls_rx++;
}

/* One read. With kernel RX the record type comes in a control message; a
 * non-data record goes to the library, data straight to the mode. */
static ssize_t read_some(struct lconn *c, ubyte *buf, size_t cap, unsigned char *type)
{
    char cbuf[CMSG_SPACE(sizeof(unsigned char))];
    struct iovec iov = { buf, cap };
    struct msghdr m;
    struct cmsghdr *cm;
    ssize_t n;

    *type = SSL_APPLICATION_DATA;
    if (!c->ktls_rx)
        return recv(c->fd, buf, cap, 0);
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = sizeof(cbuf);
    n = recvmsg(c->fd, &m, 0);
    for (cm = n > 0 ? CMSG_FIRSTHDR(&m) : NULL; cm; cm = CMSG_NXTHDR(&m, cm))
        if (cm->cmsg_level == SOL_TLS && cm->cmsg_type == TLS_GET_RECORD_TYPE)
            *type = *CMSG_DATA(cm);
    return n;
}

/* During the handshake with --ktls auto: peek, let the library take exactly
 * up to the record that completes the handshake, and consume only that from
 * the socket, so the bytes after it can still go to the kernel. */
static ssize_t feed_handshake(struct lconn *c, ubyte *buf, MSTATUS *pst)
{
    ubyte *rest = NULL;
    ubyte4 rest_len = 0;
    ssize_t n = recv(c->fd, buf, LC_READ_CAP, MSG_PEEK);
    sbyte4 r;

    if (n <= 0)
        return n;
    r = SSL_ASYNC_recvMessage2(c->h, buf, (ubyte4)n, &rest, &rest_len);
    *pst = r < 0 ? (MSTATUS)r : OK;
    if (recv(c->fd, buf, (size_t)n - rest_len, 0) < 0)
        return -1;
    return n;
}

static MSTATUS feed(struct lconn *c, ubyte *buf, size_t n, unsigned char type)
{
    if (!c->ktls_rx)
        return SSL_ASYNC_recvMessage(c->h, buf, (ubyte4)n);
    if (type == SSL_APPLICATION_DATA) {
        lo_on_data(c, buf, (ubyte4)n);
        return OK;
    }
    return NKTLS_asyncRecvRecord(c->h, type, buf, (ubyte4)n);
}

static void read_error(struct lconn *c, int err)
{
    const char *e = strerrorname_np(err);
    lc_fail(c, "io", e ? e : "recv");
}

void lc_on_readable(struct lconn *c)
{
    unsigned gen = c->gen;
    ubyte *buf = c->x->rbuf;

    while (c->gen == gen && c->state >= LC_HANDSHAKE) {
        unsigned char type;
        MSTATUS st = OK;
        ssize_t n;

        if (c->state == LC_HANDSHAKE && c->x->cfg->ktls_auto)
            n = feed_handshake(c, buf, &st);
        else if ((n = read_some(c, buf, LC_READ_CAP, &type)) > 0)
            st = feed(c, buf, (size_t)n, type);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (errno != EAGAIN)
                read_error(c, errno);
            return;
        }
        if (n == 0) {
            lo_peer_closed(c);
            return;
        }
        if (st < 0) {
            lc_fail_status(c, st);
            return;
        }
        if (c->data_error) {
            lc_fail(c, "data", c->data_error);
            return;
        }
        lo_advance(c);
    }
}
