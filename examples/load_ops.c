/* examples/load_ops.c — what an operation is in each mode of nktls-load, and
 * the worker loop that schedules operations onto its connections.
 *
 *   handshake  connect, full handshake, close_notify, close
 *   resume     the same, offering the newest session ticket; a handshake that
 *              did not resume waits (up to 1 s) for a new ticket before closing
 *   bulk       connect, handshake, send --size bytes of a fixed pattern (text
 *              lines, for echo servers that echo by line) and read them back
 *              from an echoing server, checking every byte
 *   request    send --request on a keep-alive connection (opened when needed)
 *              and read one reply: an HTTP response delimited by its
 *              Content-Length (or by the close, when it has none), or, when the
 *              server does not answer HTTP, as many bytes as the request had
 *
 * Closed loop: each idle connection starts the next operation at once. Open
 * loop (--rate): operation k is due at start + k/rate; it starts when a
 * connection is free, and its latency counts from when it was due, so a
 * server that falls behind shows its queueing in the latency. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "load_conn.h"

#define CHUNK 16384
#define BULK_WINDOW (256 * 1024)
#define PAT_P 65521u                /* prime: the pattern never lines up with records */

static ubyte g_pat[PAT_P + CHUNK];
static pthread_once_t g_pat_once = PTHREAD_ONCE_INIT;

/* Printable lines of pseudo-random letters: some echo servers echo per line. */
static void pat_fill(void)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t x = 0x9e3779b9u;
    size_t i;

    for (i = 0; i < sizeof(g_pat); i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        if (i >= PAT_P)
            g_pat[i] = g_pat[i - PAT_P];
        else
            g_pat[i] = i % 64 == 63 ? '\n' : (ubyte)alpha[x & 63];
    }
}

void lo_pattern_init(void)
{
    pthread_once(&g_pat_once, pat_fill);
}

void lo_op_done(struct lconn *c)
{
    struct lworker *x = c->x;
    struct load_stats *st = &x->w->st;
    int64_t now = load_now_ns();

    load_hist_add(&st->lat, (uint64_t)(now > c->op_sched ? now - c->op_sched : 0));
    __atomic_fetch_add(&st->ops, 1, __ATOMIC_RELAXED);
    c->busy = 0;
    x->active--;
    x->idle[x->n_idle++] = (int)c->idx;
}

static void done_close(struct lconn *c)
{
    lo_op_done(c);
    lc_close(c, 1);
}

static void handshake_done(struct lconn *c)
{
    struct load_stats *st = &c->x->w->st;
    ubyte4 version = 0, curves = 0;
    ubyte2 cipher = 0, group = 0;

    st->handshakes++;
    if (NKTLS_isSessionResumed(c->h))
        st->resumed++;
    SSL_getSSLTLSVersion(c->h, &version);
    SSL_getCipherInfo(c->h, &cipher, &curves);
    if (NKTLS_getNegotiatedGroup(c->h, &group) != OK)
        group = 0;
    load_param_add(st, version, cipher, group, 1);
}

/* ---- bulk ---- */

static void pump_bulk(struct lconn *c)
{
    uint64_t size = c->x->cfg->size;

    if (c->recvd >= size) {
        done_close(c);
        return;
    }
    while (c->sent < size && c->sent - c->recvd < BULK_WINDOW && c->out_len == 0) {
        size_t n = size - c->sent < CHUNK ? (size_t)(size - c->sent) : CHUNK;
        MSTATUS st = lc_send(c, g_pat + c->sent % PAT_P, n);
        int e;

        if (st < 0) {
            lc_fail_status(c, st);
            return;
        }
        if (st == 0)
            return;                 /* kernel TX and the socket is full */
        c->sent += (uint64_t)st;
        c->x->w->st.bytes_out += (uint64_t)st;
        if ((e = lc_flush(c)) < 0) {
            lc_fail(c, "io", strerrorname_np(-e) ? strerrorname_np(-e) : "send");
            return;
        }
    }
}

static void bulk_data(struct lconn *c, const ubyte *p, size_t n)
{
    while (n) {
        size_t off = c->recvd % PAT_P, k = n < PAT_P - off ? n : PAT_P - off;
        if (!c->data_error && memcmp(p, g_pat + off, k))
            c->data_error = "echo differs from what was sent";
        c->recvd += k;
        p += k;
        n -= k;
    }
    if (c->recvd > c->sent)
        c->data_error = "more bytes back than were sent";
}

/* ---- request ---- */

static void send_request(struct lconn *c)
{
    const struct load_cfg *cfg = c->x->cfg;
    MSTATUS st;

    c->reply = RP_HEAD;
    c->head_len = 0;
    c->status = 0;
    c->keep_alive = 1;
    c->body_left = 0;
    st = lc_send(c, cfg->request, cfg->request_len);
    if (st < 0) {
        lc_fail_status(c, st);
        return;
    }
    c->x->w->st.bytes_out += cfg->request_len;
}

/* One header line: the two fields that delimit the reply, and keep-alive. */
static void header_line(struct lconn *c, const char *l, int *has_len, int *chunked)
{
    if (!strncasecmp(l, "content-length:", 15)) {
        c->body_left = strtoull(l + 15, NULL, 10);
        *has_len = 1;
    } else if (!strncasecmp(l, "transfer-encoding:", 18) && strcasestr(l, "chunked")) {
        *chunked = 1;
    } else if (!strncasecmp(l, "connection:", 11)) {
        if (strcasestr(l, "close"))
            c->keep_alive = 0;
        else if (strcasestr(l, "keep-alive"))
            c->keep_alive = 1;
    }
}

static void parse_head(struct lconn *c, size_t len)
{
    const struct load_cfg *cfg = c->x->cfg;
    int major = 0, minor = 0, has_len = 0, chunked = 0;
    char *line, *save = NULL;

    c->head[len] = '\0';
    if (sscanf(c->head, "HTTP/%d.%d %d", &major, &minor, &c->status) != 3) {
        c->data_error = "bad HTTP status line";
        return;
    }
    c->keep_alive = major > 1 || (major == 1 && minor >= 1);
    line = strtok_r(c->head, "\r\n", &save);
    while ((line = strtok_r(NULL, "\r\n", &save)) != NULL)
        header_line(c, line, &has_len, &chunked);
    if (chunked) {
        c->data_error = "chunked replies are not supported";
        return;
    }
    if (c->status / 100 == 1 || c->status == 204 || c->status == 304 ||
        (cfg->request_len >= 5 && !memcmp(cfg->request, "HEAD ", 5))) {
        c->body_left = 0;
        has_len = 1;
    }
    if (!has_len) {
        c->reply = RP_UNTIL_CLOSE;
        c->keep_alive = 0;
    } else {
        c->reply = c->body_left ? RP_BODY : RP_DONE;
    }
}

/* Bytes of the reply head; returns how many of p it took. */
static size_t take_head(struct lconn *c, const ubyte *p, size_t n)
{
    size_t old = c->head_len, k = LC_HEAD_CAP - old < n ? LC_HEAD_CAP - old : n;
    size_t from = old > 3 ? old - 3 : 0;
    char *end;

    memcpy(c->head + old, p, k);
    c->head_len += k;
    if (memcmp(c->head, "HTTP/", c->head_len < 5 ? c->head_len : 5)) {
        /* Not HTTP: the reply is as long as the request (an echo). */
        uint64_t want = c->x->cfg->request_len;
        c->reply = c->head_len >= want ? RP_DONE : RP_RAW;
        c->body_left = c->head_len >= want ? 0 : want - c->head_len;
        return k;
    }
    end = memmem(c->head + from, c->head_len - from, "\r\n\r\n", 4);
    if (!end) {
        if (c->head_len == LC_HEAD_CAP)
            c->data_error = "reply head over 16 KiB";
        return k;
    }
    k = (size_t)(end - c->head) + 4 - old;
    parse_head(c, (size_t)(end - c->head) + 4);
    return k;
}

static void request_data(struct lconn *c, const ubyte *p, size_t n)
{
    while (n && c->reply != RP_DONE && !c->data_error) {
        size_t k = n;
        if (c->reply == RP_HEAD) {
            k = take_head(c, p, n);
        } else if (c->reply == RP_BODY || c->reply == RP_RAW) {
            k = n < c->body_left ? n : (size_t)c->body_left;
            c->body_left -= k;
            if (!c->body_left)
                c->reply = RP_DONE;
        }
        p += k;
        n -= k;
    }
}

static void finish_reply(struct lconn *c)
{
    struct load_stats *st = &c->x->w->st;

    if (c->status == 0 || c->status / 100 == 2)
        st->replies_ok++;
    else
        st->replies_other++;
    lo_op_done(c);
    if (!c->keep_alive)
        lc_close(c, 1);
}

/* ---- events from load_conn.c ---- */

void lo_on_data(struct lconn *c, const ubyte *p, ubyte4 n)
{
    c->x->w->st.bytes_in += n;
    if (!c->busy) {
        c->data_error = "data on an idle connection";
        return;
    }
    if (c->x->cfg->mode == LOAD_BULK)
        bulk_data(c, p, n);
    else if (c->x->cfg->mode == LOAD_REQUEST)
        request_data(c, p, n);
}

static void on_progress(struct lconn *c);

void lo_peer_closed(struct lconn *c)
{
    /* The last data may have come in the same read as the close: let the
     * operation finish with it first. */
    if (c->busy && c->state == LC_OPEN)
        on_progress(c);
    if (c->state == LC_FREE)
        return;
    if (!c->busy) {
        lc_close(c, 0);             /* an idle keep-alive connection timed out */
        return;
    }
    if (c->x->cfg->mode == LOAD_REQUEST && c->reply == RP_UNTIL_CLOSE) {
        finish_reply(c);
        lc_close(c, 1);
        return;
    }
    if (c->waiting_ticket) {
        done_close(c);
        return;
    }
    lc_fail(c, "closed", c->state == LC_OPEN ? "by the peer during the operation"
                                             : "by the peer during the handshake");
}

static void on_open(struct lconn *c)
{
    switch (c->x->cfg->mode) {
    case LOAD_HANDSHAKE:
        done_close(c);
        break;
    case LOAD_RESUME:
        if (NKTLS_isSessionResumed(c->h) || c->got_ticket) {
            done_close(c);
        } else {
            int64_t wait = load_now_ns() + (int64_t)LC_TICKET_WAIT_MS * 1000000;
            c->waiting_ticket = 1;
            if (wait < c->deadline)
                c->deadline = wait;
        }
        break;
    case LOAD_BULK:
        pump_bulk(c);
        break;
    case LOAD_REQUEST:
        send_request(c);
        break;
    }
}

static void on_progress(struct lconn *c)
{
    switch (c->x->cfg->mode) {
    case LOAD_RESUME:
        if (c->waiting_ticket && c->got_ticket)
            done_close(c);
        break;
    case LOAD_BULK:
        pump_bulk(c);
        break;
    case LOAD_REQUEST:
        if (c->reply == RP_DONE)
            finish_reply(c);
        break;
    default:
        break;
    }
}

/* Called after every event on an open or opening connection. */
void lo_advance(struct lconn *c)
{
    unsigned gen = c->gen;
    int e;

    if ((e = lc_flush(c)) < 0) {
        lc_fail(c, "io", strerrorname_np(-e) ? strerrorname_np(-e) : "send");
        return;
    }
    if (c->state == LC_HANDSHAKE && c->opened) {
        c->state = LC_OPEN;
        handshake_done(c);
        lc_offload(c);
        on_open(c);
    } else if (c->state == LC_OPEN && c->busy) {
        on_progress(c);
    }
    if (c->gen == gen && c->state != LC_FREE && (e = lc_flush(c)) < 0)
        lc_fail(c, "io", strerrorname_np(-e) ? strerrorname_np(-e) : "send");
}

void lo_start(struct lconn *c, int64_t sched)
{
    struct lworker *x = c->x;
    int64_t now = load_now_ns();

    c->busy = 1;
    c->op_sched = sched;
    c->deadline = now + (int64_t)x->cfg->timeout_ms * 1000000;
    x->active++;
    x->started++;
    c->sent = c->recvd = 0;
    c->data_error = NULL;
    c->waiting_ticket = 0;
    if (x->cfg->mode == LOAD_REQUEST && c->state == LC_OPEN) {
        send_request(c);
        if (c->busy && c->state != LC_FREE)
            lo_advance(c);
        return;
    }
    if (c->state != LC_FREE)
        lc_close(c, 1);
    c->opened = c->got_ticket = c->peer_closed = 0;
    c->ktls_tx = c->ktls_rx = 0;
    c->alert_in = -1;
    lc_open(c);
}
