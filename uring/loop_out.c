/* uring/loop_out.c — the output side of a loop connection: bytes the engine
 * queued go out one send at a time (records with their type under kernel TX),
 * and data and file ranges the application queued go out in order. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "uring/loop.h"
#include "engine/dtls.h"
#include "ktls/ktls.h"

/* Software sendfile: read and encrypt this much at a time (four records). */
#define FILE_CHUNK (4 * NK_MAX_PLAIN)

/* Application data or a file range waiting behind a file range. */
struct lc_item {
    struct lc_item *next;
    int fd;               /* -1: data */
    int64_t off;
    uint64_t len;
    uint8_t data[];
};

size_t nk_lc_output_pending(const struct nk_lconn *lc)
{
    const struct nk_conn *c = lc->c;
    return (lc->tx ? lc->tx->buf.len - lc->tx->off : 0) + (c->out.len - c->out_off);
}

int nk_lc_output_idle(const struct nk_lconn *lc)
{
    return !lc->sending && !lc->file_busy && nk_lc_output_pending(lc) == 0;
}

/* Free the send side once nothing of it is in flight or unsent (a KeyUpdate
 * waiting for kernel TX keeps it: rekey_at is still to be reached). */
void nk_lc_release_tx(struct nk_lconn *lc)
{
    struct lc_tx *t = lc->tx;
    if (!t || lc->sending || t->off < t->buf.len || t->rekey_at != SIZE_MAX)
        return;
    nk_buf_free(&t->buf);
    free(t);
    lc->tx = NULL;
    lc->loop->churn++;   /* memory that may go back to the system (loop_idle.c) */
}

/* Teardown: whatever is left goes. */
void nk_lc_free_tx(struct nk_lconn *lc)
{
    if (!lc->tx)
        return;
    nk_buf_free(&lc->tx->buf);
    free(lc->tx);
    lc->tx = NULL;
}

/* ---- queue ---- */

static void file_free(struct nk_lconn *lc)
{
    struct lc_file *f = lc->file;
    if (!f)
        return;
    if (f->pipe[0] >= 0)
        close(f->pipe[0]);
    if (f->pipe[1] >= 0)
        close(f->pipe[1]);
    free(f->buf);
    free(f);
    lc->file = NULL;
}

static MSTATUS file_start(struct nk_lconn *lc, int fd, int64_t off, uint64_t len)
{
    struct lc_file *f = calloc(1, sizeof *f);
    NK_CHECK(f, ERR_MEM_ALLOC_FAIL);
    f->fd = fd;
    f->off = off;
    f->left = len;
    f->pipe[0] = f->pipe[1] = -1;
    lc->file = f;
    return OK;
}

static void report_file(struct nk_lconn *lc, MSTATUS st, uint64_t sent)
{
    struct nk_server *s = lc->loop->srv;
    if (s->cb.onFileSent)
        s->cb.onFileSent(lc->h, st, sent, s->arg);
}

/* The file range is done: report it, then release what waited behind it, up to
 * the next file range. */
static void file_finish(struct nk_lconn *lc, MSTATUS st)
{
    uint64_t sent = lc->file->sent;
    file_free(lc);
    report_file(lc, st, sent);
    while (lc->q_head && !lc->file && nk_lc_app_out(lc)) {
        struct lc_item *it = lc->q_head;
        lc->q_head = it->next;
        if (!lc->q_head)
            lc->q_tail = NULL;
        int is_data = it->fd < 0;
        MSTATUS r = is_data ? nk_app_write(lc->c, it->data, (size_t)it->len)
                            : file_start(lc, it->fd, it->off, it->len);
        free(it);
        if (r < 0 && !is_data)
            report_file(lc, r, 0);
        if (r < 0 && is_data) {
            nk_lc_close(lc, nk_fail(lc->c, r));
            return;
        }
    }
}

static MSTATUS enqueue(struct nk_lconn *lc, int fd, int64_t off, const uint8_t *d, uint64_t n)
{
    struct lc_item *it = malloc(sizeof *it + (fd < 0 ? (size_t)n : 0));
    NK_CHECK(it, ERR_MEM_ALLOC_FAIL);
    it->next = NULL;
    it->fd = fd;
    it->off = off;
    it->len = n;
    if (d)
        memcpy(it->data, d, (size_t)n);
    if (lc->q_tail)
        lc->q_tail->next = it;
    else
        lc->q_head = it;
    lc->q_tail = it;
    return OK;
}

MSTATUS nk_lc_queue_data(struct nk_lconn *lc, const uint8_t *d, size_t n)
{
    if (n == 0)
        return OK;
    if (lc->file || lc->q_head)
        return enqueue(lc, -1, 0, d, n);
    /* Nothing ahead of it: encrypt now (or frame it for kernel TX); a DTLS
     * peer's may go through the SRTP encode callback instead. */
    return lc->dgram ? nk_dtls_app_send(lc->c, d, n) : nk_app_write(lc->c, d, n);
}

MSTATUS nk_lc_queue_file(struct nk_lconn *lc, int fd, int64_t off, uint64_t len)
{
    if (lc->file || lc->q_head)
        return enqueue(lc, fd, off, NULL, len);
    return file_start(lc, fd, off, len);
}

void nk_lc_drop_queue(struct nk_lconn *lc, MSTATUS why)
{
    /* Every range is reported before onClose: one with a request still out is
     * reported now and freed when the request ends. */
    if (lc->file && lc->file_busy && !lc->file->reported) {
        lc->file->reported = 1;
        report_file(lc, why, lc->file->sent);
    } else if (lc->file && !lc->file_busy) {
        file_finish(lc, why);   /* lc is not open: nothing behind it is released */
    }
    while (lc->q_head) {
        struct lc_item *it = lc->q_head;
        lc->q_head = it->next;
        if (it->fd >= 0)
            report_file(lc, why, 0);
        free(it);
    }
    lc->q_tail = NULL;
}

void nk_lc_free_queue(struct nk_lconn *lc)
{
    while (lc->q_head) {
        struct lc_item *it = lc->q_head;
        lc->q_head = it->next;
        free(it);
    }
    lc->q_tail = NULL;
    file_free(lc);
}

/* ---- sending ---- */

/* Move the engine's queued output into tx without copying: the engine gets
 * tx's old (empty) buffer back, so neither side reallocates in steady state, and
 * the engine may queue more while tx is in flight. */
static MSTATUS take_output(struct nk_lconn *lc)
{
    struct nk_conn *c = lc->c;
    if (c->out.len <= c->out_off)
        return OK;
    if (!lc->tx) {
        NK_CHECK(lc->tx = calloc(1, sizeof *lc->tx), ERR_MEM_ALLOC_FAIL);
        lc->tx->rekey_at = SIZE_MAX;
    }
    struct lc_tx *t = lc->tx;
    struct nk_buf old = t->buf;
    t->buf = c->out;
    t->off = c->out_off;
    old.len = 0;
    c->out = old;
    c->out_off = 0;
    /* Kernel TX and a KeyUpdate queued: the new key applies right after it. */
    if (c->ktls_tx && c->tx_rekey_pending && t->rekey_at == SIZE_MAX)
        t->rekey_at = t->off + c->tx_rekey_at;
    return OK;
}

/* Kernel TX: everything before the KeyUpdate's end has left under the old key. */
static MSTATUS apply_rekey(struct nk_lconn *lc)
{
    struct lc_tx *t = lc->tx;
    if (t->off != t->rekey_at)
        return OK;
    NK_TRY(nk_ktls_tx_rekey_now(lc->c));
    t->rekey_at = SIZE_MAX;
    return OK;
}

/* Kernel TX: tx holds plaintext records. Application data records go out as
 * their bodies (several per sendmsg); any other type alone, with its type in a
 * TLS_SET_RECORD_TYPE control message (ktls/). *span: the bytes they take. */
static MSTATUS frame_ktls(struct nk_lconn *lc, size_t *span)
{
    struct lc_tx *t = lc->tx;
    NK_TRY(apply_rekey(lc));
    size_t end = t->rekey_at < t->buf.len ? t->rekey_at : t->buf.len;
    t->msg.msg_iovlen = LC_IOV;
    t->msg.msg_control = t->ctl.b;
    t->msg.msg_controllen = sizeof t->ctl.b;
    return nk_ktls_tx_msg(&t->msg, t->buf.p + t->off, end - t->off, span);
}

/* Kernel TX, application data and a file range right behind it (an HTTP
 * head before its body): MSG_MORE keeps the kernel's record open and the
 * segment unsent, so the first splice or sendfile fills the same record and
 * both leave in one flight; the range's last chunk (sent without it) closes
 * the record and pushes. Only when this send takes everything queued. */
static int more_follows(const struct nk_lconn *lc, size_t span)
{
    const struct lc_tx *t = lc->tx;
    return nk_lc_app_out(lc) && lc->file && !lc->file->started && lc->file->left
           && !t->msg.msg_control && t->off + span == t->buf.len
           && lc->c->out.len == lc->c->out_off;
}

static void submit_send(struct nk_lconn *lc)
{
    struct lc_tx *t = lc->tx;
    memset(&t->msg, 0, sizeof t->msg);
    t->msg.msg_iov = t->iov;
    t->flags = 0;
    if (lc->c->ktls_tx) {
        size_t span;
        MSTATUS st = frame_ktls(lc, &span);
        if (st < 0) {
            nk_lc_close(lc, nk_fail(lc->c, st));
            return;
        }
        if (more_follows(lc, span))
            t->flags = MSG_MORE;
    } else {
        t->iov[0].iov_base = t->buf.p + t->off;
        t->iov[0].iov_len = t->buf.len - t->off;
        t->msg.msg_iovlen = 1;
    }
    lc->sending = 1;
    lc->inflight++;
    lc->loop->be->send(lc);
}

/* Kernel TX: n body bytes left; whole records are done, a partial one keeps
 * the rest with its type (ktls/). */
static void ktls_advance(struct nk_lconn *lc, size_t n)
{
    struct lc_tx *t = lc->tx;
    t->off += nk_ktls_tx_sent(t->buf.p + t->off, t->buf.len - t->off, n);
}

void nk_lc_send_done(struct nk_lconn *lc, ssize_t res)
{
    struct lc_tx *t = lc->tx;
    if (lc->dgram) {
        nk_lc_dgram_sent(lc, res);
        return;
    }
    lc->sending = 0;
    if (lc->state == LC_DEAD || res == -ECANCELED)
        return;
    if (res < 0) {
        nk_lc_close(lc, nk_fail(lc->c, ERR_TCP_WRITE_ERROR));
        if (lc->state == LC_CLOSING)   /* nothing more can leave */
            t->off = t->buf.len, t->rekey_at = SIZE_MAX, lc->c->out.len = lc->c->out_off = 0;
        return;
    }
    lc->last_active = lc->loop->now;
    if (lc->c->ktls_tx)
        ktls_advance(lc, (size_t)res);
    else
        t->off += (size_t)res;
    /* A KeyUpdate that was the last thing out: its key applies before anything
     * the engine queues next (rekey_at would not match a later buffer). */
    if (lc->c->ktls_tx && t->off == t->rekey_at) {
        MSTATUS st = apply_rekey(lc);
        if (st < 0) {
            nk_lc_close(lc, nk_fail(lc->c, st));
            return;
        }
    }
    if (t->off >= t->buf.len)
        t->buf.len = t->off = 0;
}

/* ---- file ranges ---- */

static void file_step(struct nk_lconn *lc)
{
    struct lc_file *f = lc->file;
    if (f->left == 0) {
        file_finish(lc, OK);
        return;
    }
    if (lc->c->ktls_tx) {
        f->chunk = f->left > (1u << 20) ? (1u << 20) : (size_t)f->left;
    } else {
        if (!f->buf && !(f->buf = malloc(FILE_CHUNK))) {
            file_finish(lc, ERR_MEM_ALLOC_FAIL);
            return;
        }
        f->chunk = f->left > FILE_CHUNK ? FILE_CHUNK : (size_t)f->left;
    }
    f->started = 1;
    lc->file_busy = 1;
    lc->inflight++;
    lc->loop->be->file(lc);
}

/* Software: a few records queued just before a file range (an HTTP head) wait
 * for its first chunk, which is encrypted behind them: one send carries both,
 * where two would cost a second write and, for a client that waits for the
 * whole answer, a round trip. Once per range, and only for a short prefix. */
#define HOLD_MAX 4096
static int hold_for_file(const struct nk_lconn *lc)
{
    const struct nk_conn *c = lc->c;
    size_t queued = c->out.len - c->out_off;
    return nk_lc_app_out(lc) && lc->file && !lc->file->started && lc->file->left && !c->ktls_tx
           && queued > 0 && queued <= HOLD_MAX && (!lc->tx || lc->tx->off >= lc->tx->buf.len);
}

/* Software: res bytes were read into f->buf. Kernel: res bytes reached the
 * socket. A negative res is the file's fault unless the backend set sock_err. */
void nk_lc_file_done(struct nk_lconn *lc, ssize_t res)
{
    struct lc_file *f = lc->file;
    lc->file_busy = 0;
    if (f && f->reported) {
        file_free(lc);
        return;
    }
    if (!nk_lc_app_out(lc) || !f) {
        if (f)
            file_finish(lc, lc->status < 0 ? lc->status : ERR_SSL_CONNECTION_CLOSED);
        return;
    }
    if (res < 0 && (f->sock_err || res == -ECANCELED)) {
        file_finish(lc, ERR_TCP_WRITE_ERROR);
        nk_lc_close(lc, nk_fail(lc->c, ERR_TCP_WRITE_ERROR));
        return;
    }
    if (res <= 0) {
        /* The file failed or ended early: the connection itself is fine. */
        file_finish(lc, res == 0 ? ERR_FILE_EOF : ERR_FILE_READ_FAILED);
        return;
    }
    lc->last_active = lc->loop->now;
    if (!lc->c->ktls_tx) {
        MSTATUS st = nk_app_write(lc->c, f->buf, (size_t)res);
        if (st < 0) {
            file_finish(lc, st);
            nk_lc_close(lc, nk_fail(lc->c, st));
            return;
        }
    }
    f->sent += (uint64_t)res;
    f->off += res;
    f->left -= (uint64_t)res;
}

/* Start whatever output can start: the engine's bytes first, then the next
 * step of a file range; finishing a range may release the next one. */
void nk_lc_pump_output(struct nk_lconn *lc)
{
    if (lc->dgram) {
        nk_lc_dgram_pump(lc);
        return;
    }
    for (;;) {
        if (lc->sending || lc->file_busy || lc->state == LC_DEAD || lc->state == LC_CONNECTING)
            return;
        if (hold_for_file(lc)) {
            file_step(lc);
            continue;
        }
        if (!lc->tx || lc->tx->off >= lc->tx->buf.len) {
            MSTATUS st = take_output(lc);
            if (st < 0) {
                nk_lc_close(lc, nk_fail(lc->c, st));
                return;
            }
        }
        if (lc->tx && lc->tx->off < lc->tx->buf.len) {
            submit_send(lc);
            return;
        }
        /* A file range goes out only behind everything queued before it. */
        if (!lc->file || !nk_lc_app_out(lc))
            return;
        file_step(lc);
    }
}
