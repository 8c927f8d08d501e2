/* examples/http_parse.c — the request parser of the file server; see
 * http_parse.h. Plain C over a buffer: what the drivers read goes through
 * here before anything touches the file system. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "http_parse.h"

size_t http_skip_empty_lines(const char *buf, size_t used)
{
    size_t i = 0;

    for (;;) {
        if (i < used && buf[i] == '\n')
            i++;
        else if (i + 1 < used && buf[i] == '\r' && buf[i + 1] == '\n')
            i += 2;
        else
            return i;
    }
}

/* Lines may end in CRLF or a bare LF (RFC 9112 §2.2 lets a server accept the
 * latter). */
size_t http_find_head_end(const char *buf, size_t used, size_t *scanned)
{
    size_t i = *scanned > 2 ? *scanned - 2 : 0;   /* a CRLF may straddle reads */

    for (; i < used; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < used && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < used && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    *scanned = used;
    return 0;
}

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
static int parse_request_line(char *line, struct http_req *rq)
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

static void parse_connection(const char *v, struct http_req *rq)
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

static int parse_header(char *line, struct http_req *rq)
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

int http_parse_head(char *head, size_t len, struct http_req *rq)
{
    char *p = head, *end = head + len, *line;
    int bad = 0, st;

    memset(rq, 0, sizeof(*rq));
    rq->content_length = -1;
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

int http_keep_alive(const struct http_req *rq)
{
    return rq->minor >= 1 ? !rq->conn_close : rq->conn_keep && !rq->conn_close;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decoding comes first and the segments are checked after it, so an encoded
 * "%2e%2e%2f" cannot slip a ".." past the check. */
int http_target_path(const char *target, char *out, size_t cap)
{
    char dec[HTTP_PATH_CAP];
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

int http_eval_range(const char *v, unsigned long long size, unsigned long long *first,
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
