/* examples/http_parse.h — the HTTP/1.1 request parser of `nktls-server --root`:
 * bytes in, a parsed request or an HTTP status out. No I/O, no allocation and
 * no nktls call, so the file server's drivers (threads, event loop) share it
 * and tests/fuzz/fuzz_http.c runs it on its own. */
#ifndef EX_HTTP_PARSE_H
#define EX_HTTP_PARSE_H

#include <stddef.h>

#define HTTP_HEAD_MAX (16 * 1024)   /* request line and headers; a larger head gets 431 */
#define HTTP_PATH_CAP 4096          /* decoded request path; longer gets 414 */

struct http_req {
    const char *method, *target;    /* point into the parsed head */
    int minor;                      /* HTTP/1.<minor> */
    int conn_close, conn_keep;      /* Connection: close / keep-alive */
    int has_host, has_te;
    const char *range, *if_range;
    int range_dup;                  /* two Range headers: ignore both */
    long long content_length;       /* -1: none */
};

/* Bytes of empty lines before a request line (RFC 9112 §2.2: ignored). */
size_t http_skip_empty_lines(const char *buf, size_t used);

/* Offset just past the blank line that ends the head in buf[0..used), or 0.
 * *scanned (0 at first) lets a caller that appends bytes resume the search. */
size_t http_find_head_end(const char *buf, size_t used, size_t *scanned);

/* Parse the head buf[0..len) in place (it is overwritten; rq points into it).
 * Returns 0 or the HTTP status to answer with (400, 505). */
int http_parse_head(char *head, size_t len, struct http_req *rq);

/* Whether the connection may carry another request after this one. */
int http_keep_alive(const struct http_req *rq);

/* Request target -> a path relative to the root ("." for the root itself),
 * never with a ".." segment. Returns 0 or an HTTP status (400, 403, 414). */
int http_target_path(const char *target, char *out, size_t cap);

/* One "bytes=" range against a file of size bytes (RFC 9110 §14). Returns 206
 * with [*first, *last], 416 when unsatisfiable, or 200 when the header is to be
 * ignored (malformed, another unit, several ranges). */
int http_eval_range(const char *v, unsigned long long size, unsigned long long *first,
                    unsigned long long *last);

#endif
