/* examples/http_files.h — the HTTP/1.1 file server behind `nktls-server --root`:
 * GET and HEAD of regular files under one directory, single byte ranges,
 * keep-alive and pipelining. Two drivers share the request parser
 * (http_parse.h) and the response builder here: http_files_serve for
 * `--io threads` (blocking calls, one thread per connection) and http_loop.h
 * for the event loop. Either way a request head must arrive whole within
 * header_ms (a deadline that no trickle of bytes moves), a keep-alive
 * connection may be silent idle_ms between requests, and a response's head and
 * body leave together: in one record when they fit, else corked (threads) or
 * in one send (the loop). File bodies go out with NKTLS_sendFile /
 * NKTLS_LOOP_sendFile, so under kernel TX they never pass through userspace.
 * Public API only. */
#ifndef EX_HTTP_FILES_H
#define EX_HTTP_FILES_H

#include "common.h"
#include "http_parse.h"

#define HTTP_HEADER_MS 10000   /* default: a request head must be whole within this */
#define HTTP_IDLE_MS   30000   /* default: keep-alive silence between requests */
#define HTTP_OUT_MAX   16384   /* one record's plaintext: a head, and a body that fits */

struct http_files {
    int root_fd;          /* the served directory, from http_files_open_root */
    int verbose;          /* one log line per request on stderr */
    unsigned header_ms;   /* from the connection's open, or a request's first byte */
    unsigned idle_ms;     /* from the end of one response to the next request's first byte */
};

/* How to answer one request: out[0..len) first (the head, and the whole body
 * when it fits), then, when fd >= 0, count bytes of fd from first. */
struct http_resp {
    int status;
    int keep;                       /* the connection carries another request */
    int linger;                     /* closing with input maybe unread: see http_files.c */
    unsigned long long discard;     /* request body bytes to read past first */
    int fd;                         /* the caller closes it */
    unsigned long long first, count;
    unsigned long long inline_body; /* body bytes already in out (for the log) */
    const char *note;               /* set when the answer itself had a problem */
    char method[40], target[256];   /* for the log, printable */
    size_t len;
    char out[HTTP_OUT_MAX];
};

/* Open DIR for serving; exits with status 2 when it is not a directory. */
int http_files_open_root(const char *dir);

/* Answer the request whose head is head[0..head_len) (parsed in place). */
void http_respond(const struct http_files *hf, char *head, size_t head_len, struct http_resp *r);
/* An answer with no request behind it (431: the head did not fit). */
void http_respond_status(struct http_resp *r, int status);

/* "request PEER: METHOD TARGET STATUS BYTES (note)"; every request when
 * verbose, otherwise only those with a note. */
void http_log(const struct http_files *hf, const char *peer, const struct http_resp *r,
              unsigned long long bytes, const char *note);
void http_log_line(const struct http_files *hf, const char *peer, const char *method,
                   const char *target, int status, unsigned long long bytes, const char *note);

/* --io threads: answer requests on an open connection until the client
 * closes, a request asks to close, a deadline passes or an error ends it. */
void http_files_serve(sbyte4 conn, const struct http_files *hf, const char *peer);

#endif
