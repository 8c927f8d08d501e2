/* examples/http_files.c — the file server behind `nktls-server --root`; see
 * http_files.h: files under the root, the response builder both drivers use,
 * and the driver for --io threads. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "http_files.h"

#define BODY_SKIP  (64 * 1024)   /* request bodies we read past to keep the connection */
#define LINGER_MS  2000          /* see linger() */
#define LINGER_MAX (1024 * 1024)

/* ---- files ---- */

/* Open path under dirfd without ever leaving it: openat2's RESOLVE_BENEATH
 * also stops symlinks that point outside. O_NONBLOCK so that a FIFO in the
 * tree cannot hang the server in open(); it does not affect regular files. */
static int open_beneath(int dirfd, const char *path)
{
    struct open_how how;
    long fd;

    memset(&how, 0, sizeof(how));
    how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    if (fd < 0 && errno == ENOSYS)
        /* Before Linux 5.6: ".." is already refused textually, but a symlink
         * inside the tree may lead out of it. */
        fd = openat(dirfd, path, (int)how.flags);
    return (int)fd;
}

static int errno_status(int err)
{
    switch (err) {
    case ENOENT: case ENOTDIR: case ENAMETOOLONG: return 404;
    case EXDEV: case ELOOP: case EACCES: case EPERM: return 403;
    default: return 500;
    }
}

static const char *content_type(const char *name)
{
    static const char *const types[][2] = {
        { "html", "text/html; charset=utf-8" }, { "htm", "text/html; charset=utf-8" },
        { "txt", "text/plain; charset=utf-8" }, { "css", "text/css" },
        { "js", "text/javascript" },            { "json", "application/json" },
        { "png", "image/png" },                 { "jpg", "image/jpeg" },
        { "jpeg", "image/jpeg" },               { "gif", "image/gif" },
        { "svg", "image/svg+xml" },             { "webp", "image/webp" },
        { "ico", "image/x-icon" },              { "pdf", "application/pdf" },
        { "wasm", "application/wasm" },         { "mp4", "video/mp4" },
    };
    const char *slash = strrchr(name, '/'), *dot;
    size_t i;

    dot = strrchr(slash ? slash + 1 : name, '.');
    if (dot)
        for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcasecmp(dot + 1, types[i][0]) == 0)
                return types[i][1];
    return "application/octet-stream";
}

/* Open the file a target names: a regular file, or a directory's index.html.
 * Returns 0 (with *pfd, *sb, *ctype) or an HTTP status. */
static int open_target(int root_fd, const char *target, int *pfd, struct stat *sb,
                       const char **ctype)
{
    char rel[HTTP_PATH_CAP];
    int st = http_target_path(target, rel, sizeof(rel)), fd;

    if (st)
        return st;
    if ((fd = open_beneath(root_fd, rel)) < 0)
        return errno_status(errno);
    if (fstat(fd, sb) < 0) {
        close(fd);
        return 500;
    }
    *ctype = content_type(rel);
    if (S_ISDIR(sb->st_mode)) {
        int ifd = open_beneath(fd, "index.html");
        close(fd);
        if (ifd < 0)
            return errno_status(errno);
        fd = ifd;
        if (fstat(fd, sb) < 0) {
            close(fd);
            return 500;
        }
        *ctype = content_type("index.html");
    }
    if (!S_ISREG(sb->st_mode)) {     /* devices, FIFOs, sockets: never */
        close(fd);
        return S_ISDIR(sb->st_mode) ? 404 : 403;
    }
    *pfd = fd;
    return 0;
}

int http_files_open_root(const char *dir)
{
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        ex_usage_error("cannot serve '%s': %s", dir, strerror(errno));
    return fd;
}

/* ---- responses ---- */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default:  return "Internal Server Error";
    }
}

static void http_date(time_t t, char *out, size_t cap)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* The client's words, kept printable for the log. */
static void printable(char *out, size_t cap, const char *s)
{
    size_t i;

    for (i = 0; s && s[i] && i < cap - 1; i++)
        out[i] = s[i] >= 0x21 && s[i] <= 0x7e ? s[i] : '?';
    out[i] = '\0';
    if (!i)
        snprintf(out, cap, "-");
}

void http_log_line(const struct http_files *hf, const char *peer, const char *method,
                   const char *target, int status, unsigned long long bytes, const char *note)
{
    if (!hf->verbose && !note)
        return;
    fprintf(stderr, "request %s: %s %s %d %llu%s%s%s\n", peer, method, target, status, bytes,
            note ? " (" : "", note ? note : "", note ? ")" : "");
}

void http_log(const struct http_files *hf, const char *peer, const struct http_resp *r,
              unsigned long long bytes, const char *note)
{
    http_log_line(hf, peer, r->method, r->target, r->status, bytes, note);
}

/* Status line and headers into out; extra is more header lines, each ending
 * in CRLF. minor: the request's HTTP/1.<minor> (-1: unknown). */
static void put_head(struct http_resp *r, int minor, const char *ctype, unsigned long long length,
                     const char *extra)
{
    char date[64];
    int n;

    r->fd = -1;
    http_date(time(NULL), date, sizeof(date));
    n = snprintf(r->out, 1024,
                 "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: nktls-server\r\n"
                 "Content-Type: %s\r\nContent-Length: %llu\r\n%s%s\r\n",
                 r->status, reason(r->status), date, ctype, length, extra,
                 !r->keep ? "Connection: close\r\n"
                          : minor == 0 ? "Connection: keep-alive\r\n" : "");
    r->len = n > 0 && n < 1024 ? (size_t)n : 0;
}

/* A short text/plain answer, body included unless the request was HEAD. */
static void put_error(struct http_resp *r, int status, int minor, int is_head, const char *extra)
{
    char body[80];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));

    r->status = status;
    put_head(r, minor, "text/plain; charset=utf-8", (unsigned long long)n, extra);
    if (!is_head && r->len) {
        memcpy(r->out + r->len, body, (size_t)n);
        r->len += (size_t)n;
    }
}

void http_respond_status(struct http_resp *r, int status)
{
    memset(r, 0, offsetof(struct http_resp, out));
    snprintf(r->method, sizeof(r->method), "-");
    snprintf(r->target, sizeof(r->target), "-");
    r->linger = 1;
    put_error(r, status, -1, 0, "");
}

/* A body that fits beside the head goes into the same record: the client gets
 * the whole answer in one read, and no second write waits on an ACK. A file
 * shorter than its fstat said (it shrank meanwhile) ends the connection. */
static void inline_body(struct http_resp *r, int fd)
{
    ssize_t n;

    do
        n = pread(fd, r->out + r->len, (size_t)r->count, (off_t)r->first);
    while (n < 0 && errno == EINTR);
    n = n < 0 ? 0 : n;
    r->len += (size_t)n;
    r->inline_body = (unsigned long long)n;
    if ((unsigned long long)n < r->count) {
        r->keep = 0;
        r->note = "file shrank, closing";
    }
}

static void serve_file(const struct http_files *hf, const struct http_req *rq, struct http_resp *r,
                       int is_head)
{
    unsigned long long size, first = 0, last = 0;
    char lastmod[64], extra[256];
    const char *ctype = NULL;
    struct stat sb;
    int fd = -1, status, n;

    status = open_target(hf->root_fd, rq->target, &fd, &sb, &ctype);
    if (status) {
        put_error(r, status, rq->minor, is_head, "");
        return;
    }
    size = (unsigned long long)sb.st_size;
    http_date(sb.st_mtime, lastmod, sizeof(lastmod));
    /* Ranges apply to GET only (RFC 9110 §14.2); If-Range with a date other
     * than ours means the client's copy is stale: send it all. */
    status = 200;
    if (rq->range && !rq->range_dup && !is_head && (!rq->if_range || strcmp(rq->if_range, lastmod) == 0))
        status = http_eval_range(rq->range, size, &first, &last);
    if (status == 416) {
        close(fd);
        snprintf(extra, sizeof(extra), "Content-Range: bytes */%llu\r\n", size);
        put_error(r, 416, rq->minor, is_head, extra);
        return;
    }
    r->status = status;
    r->count = status == 206 ? last - first + 1 : size;
    n = snprintf(extra, sizeof(extra), "Accept-Ranges: bytes\r\nLast-Modified: %s\r\n", lastmod);
    if (status == 206)
        snprintf(extra + n, sizeof(extra) - (size_t)n, "Content-Range: bytes %llu-%llu/%llu\r\n",
                 first, last, size);
    put_head(r, rq->minor, ctype, r->count, extra);
    r->first = first;
    if (is_head || r->count == 0 || !r->len)
        r->count = 0;
    else if (r->count <= sizeof(r->out) - r->len)
        inline_body(r, fd);
    else
        r->fd = fd, fd = -1;
    if (fd >= 0)
        close(fd);
}

void http_respond(const struct http_files *hf, char *head, size_t head_len, struct http_resp *r)
{
    struct http_req rq;
    int status, is_head;

    memset(r, 0, offsetof(struct http_resp, out));
    r->fd = -1;
    status = http_parse_head(head, head_len, &rq);
    printable(r->method, sizeof(r->method), status ? NULL : rq.method);
    printable(r->target, sizeof(r->target), status ? NULL : rq.target);
    if (status) {
        r->linger = 1;                 /* half-parsed: HEAD or not is unknown */
        put_error(r, status, -1, 0, "");
        return;
    }
    r->keep = http_keep_alive(&rq);
    is_head = strcmp(rq.method, "HEAD") == 0;
    /* A body we will not read (chunked, or large) ends the connection after
     * the answer: we cannot find where the next request starts otherwise. */
    if (rq.content_length > BODY_SKIP || rq.has_te) {
        r->keep = 0;
        r->linger = 1;
    } else if (rq.content_length > 0) {
        r->discard = (unsigned long long)rq.content_length;
    }
    if (rq.has_te) {
        r->keep = 0;
        put_error(r, 501, rq.minor, is_head, "");
    } else if (strcmp(rq.method, "GET") != 0 && !is_head) {
        put_error(r, 405, rq.minor, is_head, "Allow: GET, HEAD\r\n");
    } else {
        serve_file(hf, &rq, r, is_head);
    }
    if (!r->len)                       /* the head did not fit: cannot happen with our headers */
        r->keep = 0;
}

/* ---- --io threads ---- */

struct hconn {
    sbyte4 conn;
    const struct http_files *hf;
    const char *peer;
    int64_t deadline;              /* ms: the current head must be whole by then */
    int before_head;               /* no byte of the next head yet: deadline is idle_ms */
    size_t used;                   /* bytes in buf */
    size_t scanned;                /* buf[0..scanned) holds no end of head */
    int linger;                    /* closing with the request maybe unread */
    char buf[HTTP_HEAD_MAX];
};

static int64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void consume(struct hconn *hc, size_t n)
{
    memmove(hc->buf, hc->buf + n, hc->used - n);
    hc->used -= n;
    hc->scanned = 0;
}

/* One SSL_recv into the free end of buf, waiting at most until the head's
 * deadline (or, before a keep-alive request's first byte, idle_ms). 0 with data
 * (or none yet), -1 when the connection is over. */
static int fill(struct hconn *hc)
{
    int64_t left = hc->deadline - now_ms();
    sbyte4 n = 0;
    MSTATUS st = left <= 0 ? ERR_TCP_READ_TIMEOUT
                           : SSL_recv(hc->conn, (sbyte *)hc->buf + hc->used,
                                      (sbyte4)(sizeof(hc->buf) - hc->used), &n, (ubyte4)left);

    if (st < 0 && st != ERR_TCP_WOULDBLOCK) {
        /* The client closing (with or without close_notify) is the normal end. */
        if (hc->hf->verbose && st != ERR_SSL_CONNECTION_CLOSED && st != ERR_TCP_SOCKET_CLOSED)
            fprintf(stderr, "%s: %s: %s\n", ex_prog, hc->peer,
                    st == ERR_TCP_READ_TIMEOUT ? "request head too slow or idle, closing"
                                               : ex_status_name(st));
        return -1;
    }
    /* The head's deadline runs from its first byte; no later byte moves it. */
    if (n > 0 && hc->before_head) {
        hc->before_head = 0;
        hc->deadline = now_ms() + hc->hf->header_ms;
    }
    hc->used += (size_t)(n > 0 ? n : 0);
    return 0;
}

enum { HEAD_OK, HEAD_CLOSED, HEAD_TOO_LARGE };

static int read_head(struct hconn *hc, size_t *head_len)
{
    for (;;) {
        size_t skip = http_skip_empty_lines(hc->buf, hc->used);
        if (skip)
            consume(hc, skip);
        if ((*head_len = http_find_head_end(hc->buf, hc->used, &hc->scanned)) != 0)
            return HEAD_OK;
        if (hc->used == sizeof(hc->buf))
            return HEAD_TOO_LARGE;
        if (fill(hc) < 0)
            return HEAD_CLOSED;
    }
}

/* Read past n bytes of request body so the next request lines up. */
static int discard_body(struct hconn *hc, unsigned long long n)
{
    hc->before_head = 0;
    hc->deadline = now_ms() + hc->hf->header_ms;
    while (n) {
        size_t take;
        if (!hc->used && fill(hc) < 0)
            return -1;
        take = hc->used < n ? hc->used : (size_t)n;
        consume(hc, take);
        n -= take;
    }
    return 0;
}

/* Closing a socket that still has unread input makes the kernel send a reset,
 * and a reset can destroy the answer we just sent before the client reads it
 * (a 431 to a client still sending its oversized head). So read and drop what
 * comes until the client closes, within limits. */
static void linger(struct hconn *hc)
{
    int64_t end = now_ms() + LINGER_MS;
    size_t total = 0;

    while (total < LINGER_MAX) {
        int64_t left = end - now_ms();
        sbyte4 n = 0;
        if (left <= 0 || SSL_recv(hc->conn, (sbyte *)hc->buf, sizeof(hc->buf), &n, (ubyte4)left) < 0)
            return;                  /* closed, timed out or failed: done either way */
        total += (size_t)(n > 0 ? n : 0);
    }
}

static void set_cork(sbyte4 conn, int on)
{
    TCP_SOCKET fd = -1;

    if (SSL_getSocketId(conn, &fd) == OK)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
}

/* Send one answer. A head with a file body behind it is corked: both leave
 * in full segments, and uncorking sends the tail at once. Whether to go on. */
static int send_resp(struct hconn *hc, struct http_resp *r)
{
    ubyte8 sent = 0;
    MSTATUS st;

    if (r->fd < 0) {
        st = ex_ssl_send_all(hc->conn, r->out, r->len);
        http_log(hc->hf, hc->peer, r, st == OK ? r->inline_body : 0,
                 st != OK ? (hc->hf->verbose ? "client went away" : NULL) : r->note);
        return st == OK && r->keep;
    }
    set_cork(hc->conn, 1);
    st = ex_ssl_send_all(hc->conn, r->out, r->len);
    if (st == OK)
        st = NKTLS_sendFile(hc->conn, r->fd, (sbyte8)r->first, r->count, &sent);
    set_cork(hc->conn, 0);
    /* Content-Length is already promised, so any failure ends the connection:
     * the client sees a short body rather than a wrong one. */
    if (st == OK)
        http_log(hc->hf, hc->peer, r, sent, NULL);
    else if (st == ERR_FILE_EOF)
        http_log(hc->hf, hc->peer, r, sent, "file shrank, closing");
    else if (st == ERR_TCP_WRITE_ERROR || st == ERR_TCP_SOCKET_CLOSED)
        http_log(hc->hf, hc->peer, r, sent, hc->hf->verbose ? "client went away" : NULL);
    else
        http_log(hc->hf, hc->peer, r, sent, ex_status_name(st));
    return st == OK && r->keep;
}

/* One request whose head is buf[0..head_len). Returns whether to go on. */
static int handle_request(struct hconn *hc, size_t head_len, struct http_resp *r)
{
    int go_on;

    http_respond(hc->hf, hc->buf, head_len, r);
    hc->linger |= r->linger;
    go_on = send_resp(hc, r);
    if (r->fd >= 0)
        close(r->fd);
    consume(hc, head_len);
    if (go_on && r->discard && discard_body(hc, r->discard) < 0)
        return 0;
    return go_on;
}

void http_files_serve(sbyte4 conn, const struct http_files *hf, const char *peer)
{
    struct hconn *hc = calloc(1, sizeof(*hc));
    struct http_resp *r = malloc(sizeof(*r));
    int one = 1;
    TCP_SOCKET fd = -1;

    if (!hc || !r) {
        fprintf(stderr, "%s: %s: out of memory\n", ex_prog, peer);
        free(hc);
        free(r);
        return;
    }
    /* Records leave whole: Nagle would only hold the last one for an ACK. */
    if (SSL_getSocketId(conn, &fd) == OK)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    hc->conn = conn;
    hc->hf = hf;
    hc->peer = peer;
    hc->deadline = now_ms() + hf->header_ms;    /* the first request: from the open */
    for (;;) {
        size_t head_len;
        int rc = read_head(hc, &head_len);
        if (rc == HEAD_CLOSED)
            break;
        if (rc == HEAD_TOO_LARGE) {
            http_respond_status(r, 431);
            hc->linger = 1;
            send_resp(hc, r);
            break;
        }
        if (!handle_request(hc, head_len, r))
            break;
        /* Between requests: idle_ms of silence, then the head's own deadline
         * from its first byte (fill). Bytes already here start it now. */
        hc->before_head = hc->used == 0;
        hc->deadline = now_ms() + (hc->before_head ? hf->idle_ms : hf->header_ms);
    }
    if (hc->linger)
        linger(hc);
    free(hc);
    free(r);
}
