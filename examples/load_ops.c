/* examples/load_ops.c — what an operation is in each mode of nktls-load.
 *
 *   handshake  connect, full handshake, close_notify, close
 *   resume     the same, offering the newest session ticket; a handshake that
 *              did not resume waits (up to 1 s) for a new ticket before closing
 *   bulk       send --size bytes of a fixed pattern (text lines, for echo
 *              servers that echo by line) and read them back from an echoing
 *              server, checking every byte; on a kept connection (opened when
 *              needed), or a new one each time with --reconnect
 *   request    send --request on a keep-alive connection (opened when needed;
 *              --reconnect: a new one each time) and read one reply: an HTTP
 *              response delimited by its Content-Length, its chunked framing
 *              or the close, or, when the server does not answer HTTP, as many
 *              bytes as the request had; with --resume each on a new
 *              connection resumed with the newest session, with --early-data
 *              sent as TLS 1.3 0-RTT data (what the server made of it counted)
 *   idle       connect, handshake, then hold the connection open without
 *              traffic until the run ends (its close_notify comes from the
 *              loop's stop); the handshake is the operation measured
 *
 * Everything here runs on the worker that owns the slot, from a loop
 * callback or a posted function (load_conn.h says how a slot moves). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "load_conn.h"

#define CHUNK 16384
/* Bulk: bytes sent ahead of the echo. The loop stops reading a connection
 * while 256 KiB of its output waits, so staying well below that keeps an
 * echo that fills both directions from stalling. */
#define BULK_WINDOW (128 * 1024)
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

/* One operation's latency sample, from when it was due. The priming
 * handshake of resume mode is not part of the load. */
static void count_op(struct lconn *c)
{
    struct load_stats *st = lc_stats(c);
    int64_t now = load_now_ns();
    uint64_t ns = (uint64_t)(now > c->op_sched ? now - c->op_sched : 0);
    struct load_sec *s;

    if (c->prime || !lc_counting())
        return;
    load_hist_add(&st->lat, ns);
    __atomic_fetch_add(&st->ops, 1, __ATOMIC_RELAXED);
    if (st != &lw_self->st)
        return;
    lw_self->t_done = now;
    if ((s = load_sec_at(lw_self, now)) != NULL)
        load_sec_add_op(s, ns);
}

/* Bytes the slot's operation moved, in the totals and in this second. */
static void count_bytes(struct lconn *c, uint64_t out, uint64_t in)
{
    struct load_stats *st = lc_stats(c);
    struct load_sec *s;

    st->bytes_out += out;
    st->bytes_in += in;
    if (st != &lw_self->st || !(s = load_sec_at(lw_self, load_now_ns())))
        return;
    __atomic_fetch_add(&s->bytes_out, out, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->bytes_in, in, __ATOMIC_RELAXED);
}

void lo_op_done(struct lconn *c)
{
    count_op(c);
    c->busy = 0;
    lw_slot_done(c, 1);
}

static void done_close(struct lconn *c)
{
    lc_release(c);
    lo_op_done(c);
}

static void handshake_done(struct lconn *c)
{
    struct load_stats *st = lc_stats(c);
    struct load_param p = { .n = 1 };
    ubyte4 curves = 0, alpn_len = 0;
    const ubyte *alpn = NULL;
    nktlsRecordLayerInfo info;

    if (c->prime)
        return;
    st->handshakes++;
    if (NKTLS_isSessionResumed(c->h))
        st->resumed++;
    SSL_getSSLTLSVersion(c->h, &p.version);
    SSL_getCipherInfo(c->h, &p.cipher, &curves);
    if (NKTLS_getNegotiatedGroup(c->h, &p.group) != OK)
        p.group = 0;
    if (SSL_getSelectedApplicationProtocol(c->h, &alpn, &alpn_len) == OK && alpn)
        snprintf(p.alpn, sizeof(p.alpn), "%.*s", (int)alpn_len, (const char *)alpn);
    load_param_add(st, &p);
    /* The loop decided the offload before onOpen: count what the kernel carries. */
    if (NKTLS_getRecordLayerInfo(c->h, &info) != OK)
        return;
    st->ktls_tx += info.txLayer == NKTLS_LAYER_KERNEL;
    st->ktls_rx += info.rxLayer == NKTLS_LAYER_KERNEL;
    if (info.txLayer != NKTLS_LAYER_KERNEL && !st->ktls_why[0] && info.txReason)
        snprintf(st->ktls_why, sizeof(st->ktls_why), "%s", info.txReason);
}

/* ---- resume: waiting for the ticket ---- */

static void wait_ticket(struct lconn *c)
{
    struct load_worker *w = lw_self;

    c->waiting_ticket = 1;
    c->ticket_deadline = load_now_ns() + (int64_t)LC_TICKET_WAIT_MS * 1000000;
    c->wprev = NULL;
    c->wnext = w->waiters;
    if (w->waiters)
        w->waiters->wprev = c;
    w->waiters = c;
}

void lo_unwait(struct lconn *c)
{
    if (!c->waiting_ticket)
        return;
    if (c->wprev)
        c->wprev->wnext = c->wnext;
    else
        lw_self->waiters = c->wnext;
    if (c->wnext)
        c->wnext->wprev = c->wprev;
    c->wnext = c->wprev = NULL;
    c->waiting_ticket = 0;
}

void lo_on_ticket(struct lconn *c)
{
    c->got_ticket = 1;
    if (c->waiting_ticket)
        done_close(c);
}

/* Posted to each worker while resume mode runs: a handshake whose server sent
 * no ticket in time is done all the same. */
void lo_tick(void *arg)
{
    struct load_worker *w = arg;
    int64_t now = load_now_ns();
    struct lconn *c, *next;

    for (c = w->waiters; c; c = next) {
        next = c->wnext;
        if (now >= c->ticket_deadline)
            done_close(c);
    }
}

/* ---- bulk ---- */

/* Each send's size, and how far sending may run ahead of the echo. DTLS
 * resends no data, so a datagram a full socket buffer drops is bytes lost:
 * each send is what one record in one datagram carries (the PMTU less the
 * record's overhead) and only DTLS_WINDOW of them are in flight. */
#define DTLS_WINDOW 4
static void bulk_sizes(const struct lconn *c, size_t *chunk, uint64_t *window)
{
    ubyte4 max = 0;

    *chunk = CHUNK;
    *window = BULK_WINDOW;
    if (g_load.cfg->dtls.on && NKTLS_DTLS_getMaxMessage(c->h, &max) == OK && max) {
        *chunk = max < CHUNK ? max : CHUNK;
        *window = (uint64_t)DTLS_WINDOW * *chunk;
    }
}

static void pump_bulk(struct lconn *c)
{
    uint64_t size = g_load.cfg->size, window;
    size_t chunk;

    if (c->recvd >= size) {
        if (g_load.cfg->reconnect)
            done_close(c);
        else
            lo_op_done(c);
        return;
    }
    bulk_sizes(c, &chunk, &window);
    while (c->sent < size && c->sent - c->recvd < window) {
        size_t n = size - c->sent < chunk ? (size_t)(size - c->sent) : chunk;
        MSTATUS st = NKTLS_LOOP_send(c->h, g_pat + c->sent % PAT_P, (ubyte4)n);

        if (st < 0) {
            lc_fail(c, "tls", ex_status_name(st));
            return;
        }
        c->sent += n;
        count_bytes(c, n, 0);
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

/* The reader waits for a new reply's head. */
static void reply_reset(struct lconn *c)
{
    c->reply = RP_HEAD;
    c->head_len = 0;
    c->status = 0;
    c->keep_alive = 1;
    c->body_left = 0;
    c->line_len = 0;
    c->got_first = 0;
}

static void send_request(struct lconn *c)
{
    const struct load_cfg *cfg = g_load.cfg;
    MSTATUS st;

    reply_reset(c);
    st = NKTLS_LOOP_send(c->h, (const ubyte *)cfg->request, (ubyte4)cfg->request_len);
    if (st < 0) {
        lc_fail(c, "tls", ex_status_name(st));
        return;
    }
    count_bytes(c, cfg->request_len, 0);
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
    const struct load_cfg *cfg = g_load.cfg;
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
        c->reply = RP_CHUNK_SIZE;       /* Transfer-Encoding overrides Content-Length */
        c->line_len = 0;
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
        uint64_t want = g_load.cfg->request_len;
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

/* Bytes of a line of the chunked framing; returns how many of p it took and
 * sets *done when the line ended (its text, without CRLF, in c->line). */
static size_t take_line(struct lconn *c, const ubyte *p, size_t n, int *done)
{
    const ubyte *nl = memchr(p, '\n', n);
    size_t k = nl ? (size_t)(nl - p) + 1 : n;

    for (size_t i = 0; i < k; i++, c->line_len++)
        if (c->line_len < LC_LINE_CAP - 1)
            c->line[c->line_len] = (char)p[i];
    *done = nl != NULL;
    if (*done) {
        size_t len = c->line_len - 1;           /* without the LF */
        if (len && c->line_len <= LC_LINE_CAP - 1 && c->line[len - 1] == '\r')
            len--;
        c->line[len < LC_LINE_CAP - 1 ? len : LC_LINE_CAP - 1] = '\0';
        c->line_len = len;
    }
    return k;
}

/* A chunk-size line ended: hex digits, then perhaps ";extension". */
static void chunk_size(struct lconn *c)
{
    char *end;
    unsigned long long size;

    if (c->line_len >= LC_LINE_CAP - 1 || !strchr("0123456789abcdefABCDEF", c->line[0]) ||
        !c->line[0]) {
        c->data_error = "bad chunk size line";
        return;
    }
    size = strtoull(c->line, &end, 16);
    while (*end == ' ' || *end == '\t')
        end++;
    if ((*end && *end != ';') || end - c->line > 15) {
        c->data_error = "bad chunk size line";
        return;
    }
    c->body_left = size;
    c->reply = size ? RP_CHUNK_DATA : RP_TRAILER;
}

/* One step of a chunked body; returns how many of p it took. */
static size_t take_chunked(struct lconn *c, const ubyte *p, size_t n)
{
    size_t k;
    int done;

    if (c->reply == RP_CHUNK_DATA) {
        k = n < c->body_left ? n : (size_t)c->body_left;
        c->body_left -= k;
        if (!c->body_left)
            c->reply = RP_CHUNK_END;
        return k;
    }
    k = take_line(c, p, n, &done);
    if (!done)
        return k;
    if (c->reply == RP_CHUNK_SIZE)
        chunk_size(c);
    else if (c->reply == RP_CHUNK_END && c->line_len)
        c->data_error = "chunk data longer than its size";
    else if (c->reply == RP_CHUNK_END)
        c->reply = RP_CHUNK_SIZE;
    else if (c->line_len == 0)
        c->reply = RP_DONE;                     /* the blank line after the trailer */
    c->line_len = 0;
    return k;
}

static void request_data(struct lconn *c, const ubyte *p, size_t n)
{
    while (n && c->reply != RP_DONE && !c->data_error) {
        size_t k = n;
        if (c->reply == RP_HEAD) {
            k = take_head(c, p, n);
        } else if (c->reply >= RP_CHUNK_SIZE && c->reply <= RP_TRAILER) {
            k = take_chunked(c, p, n);
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

/* A whole reply: counted by status class; one other than 2xx is an error
 * unless --accept-status says otherwise. */
static void finish_reply(struct lconn *c)
{
    struct load_stats *st = lc_stats(c);
    int ok = c->status == 0 || c->status / 100 == 2;
    char detail[32];

    if (lc_counting() && !c->prime) {
        if (c->status >= 100 && c->status < 600)
            st->status_class[c->status / 100]++;
        if (ok)
            st->replies_ok++;
        else
            st->replies_other++;
    }
    if (!c->keep_alive || g_load.cfg->reconnect)
        lc_release(c);
    if (ok || g_load.cfg->accept_status) {
        lo_op_done(c);
        return;
    }
    snprintf(detail, sizeof(detail), "status %d", c->status);
    lc_op_failed(c, "http", detail);
}

/* --early-data, the handshake done: the request went as 0-RTT data and the
 * server took it, or it did not and goes now (nktls never resends it by
 * itself), at a round trip's cost the report shows as rejected. */
static void early_outcome(struct lconn *c)
{
    struct load_stats *st = lc_stats(c);
    ubyte4 status = SSL_EARLY_DATA_NOT_SENT;

    if (SSL_ioctl(c->h, SSL_GET_EARLY_DATA_STATUS, &status) != OK)
        status = SSL_EARLY_DATA_NOT_SENT;
    if (lc_counting()) {
        st->early_accepted += status == SSL_EARLY_DATA_ACCEPTED;
        st->early_rejected += status == SSL_EARLY_DATA_REJECTED;
        st->early_not_sent += status == SSL_EARLY_DATA_NOT_SENT;
    }
    if (status != SSL_EARLY_DATA_ACCEPTED) {
        send_request(c);
        return;
    }
    count_bytes(c, g_load.cfg->request_len, 0);
}

/* The reply's first byte: its time from when the operation was due. */
static void first_byte(struct lconn *c)
{
    int64_t now = load_now_ns();

    c->got_first = 1;
    if (!c->prime && lc_counting())
        load_hist_add(&lc_stats(c)->first_byte,
                      (uint64_t)(now > c->op_sched ? now - c->op_sched : 0));
}

/* ---- events from load_conn.c ---- */

void lo_on_data(struct lconn *c, const ubyte *p, ubyte4 n)
{
    enum load_mode mode = g_load.cfg->mode;

    count_bytes(c, 0, n);
    if (!c->busy) {
        lc_fail(c, "data", "data on an idle connection");
        return;
    }
    if (mode == LOAD_BULK)
        bulk_data(c, p, n);
    else if (mode == LOAD_REQUEST && !c->got_first)
        first_byte(c);
    if (mode == LOAD_REQUEST)
        request_data(c, p, n);
    if (c->data_error)
        lc_fail(c, "data", c->data_error);
    else if (mode == LOAD_BULK)
        pump_bulk(c);
    else if (mode == LOAD_REQUEST && c->reply == RP_DONE)
        finish_reply(c);
}

/* The peer ended the connection (the loop already closed it). */
void lo_peer_closed(struct lconn *c, int was_open)
{
    if (!c->busy)
        return;                     /* an idle keep-alive connection timed out */
    if (c->holding) {
        lc_fail(c, "closed", "by the peer while idle");
        return;
    }
    if (g_load.cfg->mode == LOAD_REQUEST && was_open && c->reply == RP_UNTIL_CLOSE) {
        finish_reply(c);
        return;
    }
    if (g_load.cfg->mode == LOAD_REQUEST && was_open && (c->reply != RP_HEAD || c->head_len)) {
        lc_fail(c, "data", "reply cut short by the close");
        return;
    }
    if (c->waiting_ticket) {
        done_close(c);
        return;
    }
    lc_fail(c, "closed", was_open ? "by the peer during the operation"
                                  : "by the peer during the handshake");
}

void lo_on_open(struct lconn *c)
{
    handshake_done(c);
    switch (g_load.cfg->mode) {
    case LOAD_HANDSHAKE:
        done_close(c);
        break;
    case LOAD_RESUME:
        if (NKTLS_isSessionResumed(c->h) || c->got_ticket)
            done_close(c);
        else
            wait_ticket(c);
        break;
    case LOAD_BULK:
        pump_bulk(c);
        break;
    case LOAD_REQUEST:
        if (g_load.cfg->early_data && !c->prime)
            early_outcome(c);
        else
            send_request(c);
        break;
    case LOAD_IDLE:
        count_op(c);
        c->holding = 1;
        lw_slot_hold(c);
        break;
    }
}

/* Start an operation on slot c, due at sched (ns). */
void lo_start(struct lconn *c, int64_t sched)
{
    c->busy = 1;
    c->op_sched = sched;
    c->worker = lw_self->id;
    c->sent = c->recvd = 0;
    c->data_error = NULL;
    if (c->h > 0 && c->state == LC_OPEN && !g_load.cfg->reconnect) {
        if (g_load.cfg->mode == LOAD_REQUEST)
            send_request(c);
        else
            pump_bulk(c);               /* bulk on the kept connection */
        return;
    }
    lc_release(c);
    c->got_ticket = 0;
    c->holding = 0;
    reply_reset(c);                     /* a 0-RTT request's reply may come first */
    lc_connect(c);
}
