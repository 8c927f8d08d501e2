/* examples/http_files.c — the file server behind `nktls-server --root`; see
 * http_files.h. One connection per call, requests answered in order. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "http_files.h"

#define HEAD_MAX   (16 * 1024)   /* request line and headers; a larger head gets 431 */
#define IDLE_MS    60000         /* a keep-alive client silent this long is dropped */
#define PATH_CAP   4096          /* decoded request path; longer gets 414 */
#define BODY_SKIP  (64 * 1024)   /* request bodies we read past to keep the connection */
#define LINGER_MS  2000          /* see linger() */
#define LINGER_MAX (1024 * 1024)

struct req {
    const char *method, *target;   /* point into the connection's buffer */
    int minor;                     /* HTTP/1.<minor> */
    int conn_close, conn_keep;     /* Connection: close / keep-alive */
    int has_host, has_te;
    const char *range, *if_range;
    int range_dup;                 /* two Range headers: ignore both */
    long long content_length;      /* -1: none */
};

struct hconn {
    sbyte4 conn;
    const struct http_files *hf;
    const char *peer;
    size_t used;                   /* bytes in buf */
    size_t scanned;                /* buf[0..scanned) holds no end of head */
    int linger;                    /* closing with the request maybe unread */
    char buf[HEAD_MAX];
};

/* ---- reading requests ---- */

static void consume(struct hconn *hc, size_t n)
{
    memmove(hc->buf, hc->buf + n, hc->used - n);
    hc->used -= n;
    hc->scanned = 0;
}

/* Offset just past the blank line that ends the head, or 0. Lines may end in
 * CRLF or a bare LF (RFC 9112 §2.2 lets a server accept the latter). */
static size_t find_head_end(struct hconn *hc)
{
    size_t i = hc->scanned > 2 ? hc->scanned - 2 : 0;   /* a CRLF may straddle reads */

    for (; i < hc->used; i++) {
        if (hc->buf[i] != '\n')
            continue;
        if (i + 1 < hc->used && hc->buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < hc->used && hc->buf[i + 1] == '\r' && hc->buf[i + 2] == '\n')
            return i + 3;
    }
    hc->scanned = hc->used;
    return 0;
}

/* One SSL_recv into the free end of buf. 0 with data (or none yet), -1 when
 * the connection is over: closed by the client, idle too long, or failed. */
static int fill(struct hconn *hc)
{
    sbyte4 n = 0;
    MSTATUS st = SSL_recv(hc->conn, (sbyte *)hc->buf + hc->used,
                          (sbyte4)(sizeof(hc->buf) - hc->used), &n, IDLE_MS);

    if (st < 0 && st != ERR_TCP_WOULDBLOCK) {
        /* The client closing (with or without close_notify) is the normal end. */
        if (hc->hf->verbose && st != ERR_SSL_CONNECTION_CLOSED && st != ERR_TCP_SOCKET_CLOSED)
            fprintf(stderr, "%s: %s: %s\n", ex_prog, hc->peer,
                    st == ERR_TCP_READ_TIMEOUT ? "idle, closing" : ex_status_name(st));
        return -1;
    }
    hc->used += (size_t)(n > 0 ? n : 0);
    return 0;
}

enum { HEAD_OK, HEAD_CLOSED, HEAD_TOO_LARGE };

static int read_head(struct hconn *hc, size_t *head_len)
{
    for (;;) {
        /* RFC 9112 §2.2: ignore empty lines before a request line. */
        while ((hc->used >= 1 && hc->buf[0] == '\n') ||
               (hc->used >= 2 && hc->buf[0] == '\r' && hc->buf[1] == '\n'))
            consume(hc, hc->buf[0] == '\n' ? 1 : 2);
        if ((*head_len = find_head_end(hc)) != 0)
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
    size_t total = 0;
    struct timespec t0, t;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        long ms;
        sbyte4 n = 0;
        clock_gettime(CLOCK_MONOTONIC, &t);
        ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms >= LINGER_MS || total >= LINGER_MAX)
            return;
        if (SSL_recv(hc->conn, (sbyte *)hc->buf, sizeof(hc->buf), &n,
                     (ubyte4)(LINGER_MS - ms)) < 0)
            return;                  /* closed, timed out or failed: done either way */
        total += (size_t)(n > 0 ? n : 0);
    }
}

/* ---- parsing ---- */

static int is_tchar(int c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int all_tchars(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return 0;
    return 1;
}

/* "METHOD SP target SP HTTP/d.d"; returns 0 or an HTTP status. */
static int parse_request_line(char *line, struct req *rq)
{
    char *sp1 = strchr(line, ' '), *sp2, *v;
    const char *p;

    if (!sp1)
        return 400;
    *sp1 = '\0';
    sp2 = strchr(sp1 + 1, ' ');
    if (!sp2)
        return 400;
    *sp2 = '\0';
    rq->method = line;
    rq->target = sp1 + 1;
    v = sp2 + 1;
    if (!all_tchars(rq->method) || strlen(rq->method) > 32 || !*rq->target)
        return 400;
    for (p = rq->target; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return 400;
    if (strlen(v) != 8 || strncmp(v, "HTTP/", 5) != 0 || !isdigit((unsigned char)v[5]) ||
        v[6] != '.' || !isdigit((unsigned char)v[7]))
        return 400;
    if (v[5] != '1')
        return 505;
    rq->minor = v[7] - '0';
    return 0;
}

static void parse_connection(const char *v, struct req *rq)
{
    while (*v) {
        size_t len;
        v += strspn(v, " \t,");
        len = strcspn(v, " \t,");
        if (len == 5 && strncasecmp(v, "close", 5) == 0)
            rq->conn_close = 1;
        else if (len == 10 && strncasecmp(v, "keep-alive", 10) == 0)
            rq->conn_keep = 1;
        v += len;
    }
}

/* Digits only, no sign or space; -1 when not a number or absurdly large. */
static long long parse_length(const char *s)
{
    long long v = 0;

    if (!*s)
        return -1;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s) || v > (1LL << 50))
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

static int parse_header(char *line, struct req *rq)
{
    char *colon = strchr(line, ':'), *v, *e;

    /* A line starting with white space continues the previous one (obsolete
     * folding, RFC 9112 §5.2): refuse rather than guess. No space may come
     * before the colon either (§5.1), since that is how requests get smuggled. */
    if (!colon)
        return 400;
    *colon = '\0';
    if (!all_tchars(line))
        return 400;
    v = colon + 1;
    v += strspn(v, " \t");
    for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
        ;
    *e = '\0';

    if (strcasecmp(line, "host") == 0) {
        if (rq->has_host++)
            return 400;              /* §3.2: exactly one Host */
    } else if (strcasecmp(line, "connection") == 0) {
        parse_connection(v, rq);
    } else if (strcasecmp(line, "range") == 0) {
        rq->range_dup |= rq->range != NULL;
        rq->range = v;
    } else if (strcasecmp(line, "if-range") == 0) {
        rq->if_range = v;
    } else if (strcasecmp(line, "content-length") == 0) {
        long long n = parse_length(v);
        if (n < 0 || (rq->content_length >= 0 && rq->content_length != n))
            return 400;
        rq->content_length = n;
    } else if (strcasecmp(line, "transfer-encoding") == 0) {
        rq->has_te = 1;
    }
    return 0;
}

/* Cut the next line out of [*p, end): NUL-terminated, CR stripped. NULL when
 * none is left; a CR anywhere else in the line makes it malformed (*bad). */
static char *next_line(char **p, char *end, int *bad)
{
    char *line = *p, *nl;

    if (line >= end || !(nl = memchr(line, '\n', (size_t)(end - line))))
        return NULL;
    *nl = '\0';
    if (nl > line && nl[-1] == '\r')
        nl[-1] = '\0';
    if (strchr(line, '\r'))
        *bad = 1;
    *p = nl + 1;
    return line;
}

/* Parse the head in place (it is overwritten). Returns 0 or an HTTP status. */
static int parse_head(char *head, size_t len, struct req *rq)
{
    char *p = head, *end = head + len, *line;
    int bad = 0, st;

    if (memchr(head, '\0', len))
        return 400;
    line = next_line(&p, end, &bad);
    if (!line || bad)
        return 400;
    if ((st = parse_request_line(line, rq)) != 0)
        return st;
    while ((line = next_line(&p, end, &bad)) != NULL && *line) {
        if (bad)
            return 400;
        if ((st = parse_header(line, rq)) != 0)
            return st;
    }
    if (rq->minor >= 1 && !rq->has_host)
        return 400;                  /* RFC 9112 §3.2 */
    return 0;
}

/* ---- files ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Request target → a path relative to the root ("." for the root itself).
 * Decoding comes first and the segments are checked after it, so an encoded
 * "%2e%2e%2f" cannot slip a ".." past the check. Returns 0 or an HTTP status. */
static int target_to_path(const char *target, char *out, size_t cap)
{
    char dec[PATH_CAP];
    size_t n = 0, o = 0;
    const char *p = target;
    char *seg, *save = NULL;

    /* absolute-form (RFC 9112 §3.2.2): keep only the path. */
    if (strncasecmp(p, "http://", 7) == 0 || strncasecmp(p, "https://", 8) == 0) {
        p = strstr(p, "://") + 3;
        p += strcspn(p, "/?#");
        if (*p != '/')
            p = "/";
    }
    if (*p != '/')
        return 400;
    for (; *p && *p != '?' && *p != '#'; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int hi = hexval((unsigned char)p[1]), lo = hi < 0 ? -1 : hexval((unsigned char)p[2]);
            if (lo < 0)
                return 400;
            c = hi * 16 + lo;
            p += 2;
            if (c == 0)
                return 400;          /* would end the path early */
        }
        if (n + 1 >= sizeof(dec))
            return 414;
        dec[n++] = (char)c;
    }
    dec[n] = '\0';

    for (seg = strtok_r(dec, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
        size_t len = strlen(seg);
        if (strcmp(seg, ".") == 0)
            continue;
        if (strcmp(seg, "..") == 0)
            return 403;
        if (o + len + 2 > cap)
            return 414;
        if (o)
            out[o++] = '/';
        memcpy(out + o, seg, len);
        o += len;
    }
    if (!o)
        out[o++] = '.';
    out[o] = '\0';
    return 0;
}

/* Open path under dirfd without ever leaving it: openat2's RESOLVE_BENEATH
 * also stops symlinks that point outside. O_NONBLOCK so that a FIFO in the
 * tree cannot hang the thread in open(); it does not affect regular files. */
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
    char rel[PATH_CAP];
    int st = target_to_path(target, rel, sizeof(rel)), fd;

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

/* ---- ranges ---- */

/* Digits at *p into *v (saturating); 0 when there are none. */
static int parse_pos(const char **p, unsigned long long *v)
{
    const char *s = *p;

    *v = 0;
    for (; isdigit((unsigned char)*s); s++)
        *v = *v > (1ULL << 60) ? *v : *v * 10 + (unsigned long long)(*s - '0');
    if (s == *p)
        return 0;
    *p = s;
    return 1;
}

/* One "bytes=" range against a file of size bytes (RFC 9110 §14). Returns 206
 * with [*first, *last], 416 when unsatisfiable, or 200 when the header is to
 * be ignored: malformed, another unit, or several ranges (which we may
 * answer with the whole file rather than a multipart body). */
static int eval_range(const char *v, unsigned long long size, unsigned long long *first,
                      unsigned long long *last)
{
    unsigned long long a, b;
    int has_b;

    if (strncasecmp(v, "bytes=", 6) != 0)
        return 200;
    v += 6;
    v += strspn(v, " \t");
    if (*v == '-') {                                 /* -n: the last n bytes */
        v++;
        if (!parse_pos(&v, &a))
            return 200;
        v += strspn(v, " \t");
        if (*v)
            return 200;
        if (a == 0 || size == 0)
            return 416;
        *first = a >= size ? 0 : size - a;
        *last = size - 1;
        return 206;
    }
    if (!parse_pos(&v, &a) || *v++ != '-')
        return 200;
    has_b = parse_pos(&v, &b);
    v += strspn(v, " \t");
    if (*v || (has_b && b < a))
        return 200;
    if (a >= size)
        return 416;
    *first = a;
    *last = has_b && b < size - 1 ? b : size - 1;
    return 206;
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

static void log_request(const struct hconn *hc, const struct req *rq, int status,
                        unsigned long long bytes, const char *note)
{
    char target[256];
    const char *t = rq->target ? rq->target : "-";
    size_t i;

    if (!hc->hf->verbose && !note)
        return;
    /* The target comes from the client: keep terminal controls out of the log. */
    for (i = 0; t[i] && i < sizeof(target) - 1; i++)
        target[i] = t[i] >= 0x21 && t[i] <= 0x7e ? t[i] : '?';
    target[i] = '\0';
    fprintf(stderr, "request %s: %s %s %d %llu%s%s%s\n", hc->peer,
            rq->method ? rq->method : "-", target, status, bytes,
            note ? " (" : "", note ? note : "", note ? ")" : "");
}

/* Status line and headers; extra is more header lines, each ending in CRLF. */
static MSTATUS send_head(struct hconn *hc, const struct req *rq, int status, int keep,
                         const char *ctype, unsigned long long length, const char *extra)
{
    char date[64], head[1024];
    int n;

    http_date(time(NULL), date, sizeof(date));
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: nktls-server\r\n"
                 "Content-Type: %s\r\nContent-Length: %llu\r\n%s%s\r\n",
                 status, reason(status), date, ctype, length, extra,
                 !keep ? "Connection: close\r\n"
                       : rq->minor == 0 ? "Connection: keep-alive\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof(head))
        return ERR_INVALID_ARG;
    return ex_ssl_send_all(hc->conn, head, (size_t)n);
}

static int is_head(const struct req *rq)
{
    return rq->method && strcmp(rq->method, "HEAD") == 0;
}

/* A short text/plain answer. Returns whether the connection goes on. */
static int send_error(struct hconn *hc, const struct req *rq, int status, int keep,
                      const char *extra)
{
    char body[80];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));

    if (send_head(hc, rq, status, keep, "text/plain; charset=utf-8", (unsigned long long)n,
                  extra) != OK ||
        (!is_head(rq) && ex_ssl_send_all(hc->conn, body, (size_t)n) != OK)) {
        log_request(hc, rq, status, 0, hc->hf->verbose ? "client went away" : NULL);
        return 0;
    }
    log_request(hc, rq, status, 0, NULL);
    return keep;
}

/* The body, straight from the file: sendfile(2) under kernel TX. */
static int send_body(struct hconn *hc, const struct req *rq, int status, int fd,
                     unsigned long long first, unsigned long long count, int keep)
{
    ubyte8 sent = 0;
    MSTATUS st = NKTLS_sendFile(hc->conn, fd, (sbyte8)first, count, &sent);

    if (st == OK) {
        log_request(hc, rq, status, sent, NULL);
        return keep;
    }
    /* Content-Length is already promised, so any failure ends the connection:
     * the client sees a short body rather than a wrong one. */
    if (st == ERR_FILE_EOF)
        log_request(hc, rq, status, sent, "file shrank, closing");
    else if (st == ERR_TCP_WRITE_ERROR)
        log_request(hc, rq, status, sent, hc->hf->verbose ? "client went away" : NULL);
    else
        log_request(hc, rq, status, sent, ex_status_name(st));
    return 0;
}

static int serve_file(struct hconn *hc, const struct req *rq, int keep)
{
    unsigned long long size, first = 0, last = 0, count;
    char lastmod[64], extra[256];
    const char *ctype = NULL;
    struct stat sb;
    int fd = -1, status, n, r;

    status = open_target(hc->hf->root_fd, rq->target, &fd, &sb, &ctype);
    if (status)
        return send_error(hc, rq, status, keep, "");
    size = (unsigned long long)sb.st_size;
    count = size;
    status = 200;
    http_date(sb.st_mtime, lastmod, sizeof(lastmod));

    /* Ranges apply to GET only (RFC 9110 §14.2); If-Range with a date other
     * than ours means the client's copy is stale: send it all. */
    if (rq->range && !rq->range_dup && !is_head(rq) &&
        (!rq->if_range || strcmp(rq->if_range, lastmod) == 0))
        status = eval_range(rq->range, size, &first, &last);
    if (status == 416) {
        close(fd);
        snprintf(extra, sizeof(extra), "Content-Range: bytes */%llu\r\n", size);
        return send_error(hc, rq, 416, keep, extra);
    }
    n = snprintf(extra, sizeof(extra), "Accept-Ranges: bytes\r\nLast-Modified: %s\r\n", lastmod);
    if (status == 206) {
        count = last - first + 1;
        snprintf(extra + n, sizeof(extra) - (size_t)n, "Content-Range: bytes %llu-%llu/%llu\r\n",
                 first, last, size);
    }
    if (send_head(hc, rq, status, keep, ctype, count, extra) != OK) {
        log_request(hc, rq, status, 0, hc->hf->verbose ? "client went away" : NULL);
        r = 0;
    } else if (is_head(rq) || count == 0) {
        log_request(hc, rq, status, 0, NULL);
        r = keep;
    } else {
        r = send_body(hc, rq, status, fd, first, count, keep);
    }
    close(fd);
    return r;
}

/* One request whose head is buf[0..head_len). Returns whether to go on. */
static int handle_request(struct hconn *hc, size_t head_len)
{
    struct req rq;
    int status, keep, r;

    memset(&rq, 0, sizeof(rq));
    rq.content_length = -1;
    status = parse_head(hc->buf, head_len, &rq);
    if (status) {
        rq.method = NULL;            /* half-parsed: HEAD or not is unknown */
        hc->linger = 1;
        send_error(hc, &rq, status, 0, "");
        return 0;
    }
    keep = rq.minor >= 1 ? !rq.conn_close : rq.conn_keep && !rq.conn_close;
    /* A body we will not read (chunked, or large) ends the connection after
     * the answer: we cannot find where the next request starts otherwise. */
    if (rq.content_length > BODY_SKIP || rq.has_te) {
        keep = 0;
        hc->linger = 1;
    }
    if (rq.has_te)
        r = send_error(hc, &rq, 501, 0, "");
    else if (strcmp(rq.method, "GET") != 0 && strcmp(rq.method, "HEAD") != 0)
        r = send_error(hc, &rq, 405, keep, "Allow: GET, HEAD\r\n");
    else
        r = serve_file(hc, &rq, keep);
    consume(hc, head_len);           /* rq points into the head: done with it now */
    if (r && rq.content_length > 0 && discard_body(hc, (unsigned long long)rq.content_length) < 0)
        return 0;
    return r;
}

int http_files_open_root(const char *dir)
{
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        ex_usage_error("cannot serve '%s': %s", dir, strerror(errno));
    return fd;
}

void http_files_serve(sbyte4 conn, const struct http_files *hf, const char *peer)
{
    struct hconn *hc = calloc(1, sizeof(*hc));

    if (!hc) {
        fprintf(stderr, "%s: %s: out of memory\n", ex_prog, peer);
        return;
    }
    hc->conn = conn;
    hc->hf = hf;
    hc->peer = peer;
    for (;;) {
        size_t head_len;
        int r = read_head(hc, &head_len);
        if (r == HEAD_CLOSED)
            break;
        if (r == HEAD_TOO_LARGE) {
            struct req rq;
            memset(&rq, 0, sizeof(rq));
            hc->linger = 1;
            send_error(hc, &rq, 431, 0, "");
            break;
        }
        if (!handle_request(hc, head_len))
            break;
    }
    if (hc->linger)
        linger(hc);
    free(hc);
}
