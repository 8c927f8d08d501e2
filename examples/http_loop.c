/* examples/http_loop.c — the file server on the event loop; see http_loop.h. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_loop.h"
#include "nktls_loop.h"

#define BUF_START  1024          /* most heads fit: grow only for those that do not */
#define LINGER_MS  2000          /* see enter_linger() */
#define LINGER_MAX (1024 * 1024)

struct http_lconn {
    sbyte4 conn;
    const struct http_files *hf;
    const char *peer;
    int busy;                    /* a file body is queued: later requests wait */
    int done;                    /* no more requests: closing, or lingering */
    int lingering;
    int head_timed;              /* the current head's deadline is armed */
    size_t lingered;
    unsigned long long discard;  /* request body bytes still to drop */
    int fd;                      /* the body being sent */
    int status, keep;            /* of the request whose body is out, for the log */
    char method[40], target[256];
    size_t used, cap, scanned;
    char *buf;
};

struct http_lconn *http_loop_open(sbyte4 conn, const struct http_files *hf, const char *peer)
{
    struct http_lconn *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    h->conn = conn;
    h->hf = hf;
    h->peer = peer;
    h->fd = -1;
    /* The first request's head: from the open. */
    h->head_timed = NKTLS_LOOP_setDeadline(conn, hf->header_ms) == OK;
    return h;
}

void http_loop_free(struct http_lconn *h)
{
    if (!h)
        return;
    if (h->fd >= 0)
        close(h->fd);
    free(h->buf);
    free(h);
}

static void consume(struct http_lconn *h, size_t n)
{
    memmove(h->buf, h->buf + n, h->used - n);
    h->used -= n;
    h->scanned = 0;
}

static void drop_body(struct http_lconn *h)
{
    size_t take = h->used < h->discard ? h->used : (size_t)h->discard;

    consume(h, take);
    h->discard -= take;
}

/* Closing a socket with unread input makes the kernel send a reset, which can
 * destroy the answer before the client reads it (a 431 to a client still
 * sending its oversized head): drop what comes until the client closes, for
 * LINGER_MS or LINGER_MAX bytes at most, then close. */
static void enter_linger(struct http_lconn *h)
{
    h->done = h->lingering = 1;
    h->used = 0;
    if (NKTLS_LOOP_setDeadline(h->conn, LINGER_MS) != OK)
        NKTLS_LOOP_close(h->conn);
}

static void finish(struct http_lconn *h, int linger)
{
    h->done = 1;
    if (linger)
        enter_linger(h);
    else
        NKTLS_LOOP_close(h->conn);   /* after everything queued */
}

/* Head deadline while a head (or a body to drop) is on its way; none while a
 * file goes out (the loop's idle timeout watches a stuck transfer) or while
 * the connection waits between requests (the idle timeout again). Armed once
 * per head: no byte moves it. */
static void arm_deadline(struct http_lconn *h)
{
    if (h->done)
        return;
    if (!h->busy && (h->used || h->discard)) {
        if (!h->head_timed)
            h->head_timed = NKTLS_LOOP_setDeadline(h->conn, h->hf->header_ms) == OK;
    } else if (h->head_timed) {
        h->head_timed = 0;
        (void)NKTLS_LOOP_setDeadline(h->conn, 0);
    }
}

/* Queue one answer; whether the connection may carry the next request. */
static int send_resp(struct http_lconn *h, struct http_resp *r)
{
    MSTATUS st = NKTLS_LOOP_send(h->conn, (const ubyte *)r->out, r->len);

    if (st == OK && r->fd >= 0)
        st = NKTLS_LOOP_sendFile(h->conn, r->fd, (sbyte8)r->first, r->count);
    if (st != OK) {
        http_log(h->hf, h->peer, r, 0, h->hf->verbose ? "client went away" : NULL);
        if (r->fd >= 0)
            close(r->fd);
        return 0;
    }
    if (r->fd < 0) {
        http_log(h->hf, h->peer, r, r->inline_body, r->note);
        return r->keep;
    }
    /* The body's log line waits for onFileSent. */
    h->busy = 1;
    h->fd = r->fd;
    h->status = r->status;
    h->keep = r->keep;
    memcpy(h->method, r->method, sizeof(h->method));
    memcpy(h->target, r->target, sizeof(h->target));
    return r->keep;
}

/* Answer every whole head buffered, in order, until a body is out. The
 * answer is built on the worker's stack (16 KiB): NKTLS_LOOP_send copies it. */
static void process(struct http_lconn *h)
{
    struct http_resp resp;

    while (!h->busy && !h->done) {
        size_t head_len;
        if (h->discard)
            drop_body(h);
        if (h->discard)
            break;
        if (h->used)
            consume(h, http_skip_empty_lines(h->buf, h->used));
        head_len = http_find_head_end(h->buf, h->used, &h->scanned);
        if (!head_len && h->used < HTTP_HEAD_MAX)
            break;
        if (!head_len)
            http_respond_status(&resp, 431);
        else
            http_respond(h->hf, h->buf, head_len, &resp);
        int go_on = send_resp(h, &resp);
        consume(h, head_len);
        h->discard = resp.discard;
        if (h->head_timed) {         /* the next head gets a deadline of its own */
            h->head_timed = 0;
            (void)NKTLS_LOOP_setDeadline(h->conn, 0);
        }
        if (!go_on) {
            finish(h, resp.linger);
            return;
        }
    }
    arm_deadline(h);
}

/* Room for n more bytes; 0 when the head limit is reached. */
static int reserve(struct http_lconn *h, size_t n)
{
    size_t cap = h->cap ? h->cap : BUF_START;
    char *p;

    if (h->used + n <= h->cap)
        return 1;
    while (cap < h->used + n && cap < HTTP_HEAD_MAX)
        cap *= 2;
    if (cap > HTTP_HEAD_MAX)
        cap = HTTP_HEAD_MAX;
    if (cap > h->cap) {
        if (!(p = realloc(h->buf, cap)))
            return 0;
        h->buf = p;
        h->cap = cap;
    }
    return h->used + n <= h->cap;
}

void http_loop_data(struct http_lconn *h, const ubyte *d, ubyte4 n)
{
    if (h->lingering) {
        h->lingered += n;
        if (h->lingered >= LINGER_MAX)
            NKTLS_LOOP_close(h->conn);
        return;
    }
    if (h->done)
        return;
    while (n) {
        size_t take;
        /* A full buffer with no whole head got its 431 from process(); one
         * that filled with pipelined requests while a body is out cannot
         * take more: answer what we have, then close (the client sends the
         * rest again). Out of memory ends the connection too. */
        if (!reserve(h, 1)) {
            h->done = 1;
            NKTLS_LOOP_close(h->conn);
            return;
        }
        (void)reserve(h, n);
        take = n < h->cap - h->used ? n : h->cap - h->used;
        memcpy(h->buf + h->used, d, take);
        h->used += take;
        d += take;
        n -= (ubyte4)take;
        process(h);
        if (h->done)
            return;
    }
}

void http_loop_file_sent(struct http_lconn *h, MSTATUS st, ubyte8 sent)
{
    const char *note = NULL;

    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
    h->busy = 0;
    /* Content-Length was promised, so a failure ends the connection. */
    if (st == ERR_FILE_EOF)
        note = "file shrank, closing";
    else if (st != OK && h->hf->verbose)
        note = "client went away";
    http_log_line(h->hf, h->peer, h->method, h->target, h->status, sent, note);
    if (st != OK) {
        h->done = 1;
        NKTLS_LOOP_close(h->conn);
        return;
    }
    if (h->keep)
        process(h);
}
