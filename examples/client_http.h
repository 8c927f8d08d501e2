/* examples/client_http.h — how nktls-client tells a whole HTTP response from a cut
 * one: it watches the first response's head for Content-Length and counts the
 * body bytes after it. Only what the response itself announces is judged; a
 * response without Content-Length (or to HEAD, or a 1xx/204/304) is not. It also
 * counts the request heads sent, so that after a single request the client need
 * not wait for a keep-alive server to close. No I/O, no allocation. */
#ifndef EX_CLIENT_HTTP_H
#define EX_CLIENT_HTTP_H

#include <stddef.h>

#define HTTP_CHECK_HEAD_MAX 16384

struct http_check {
    int request_seen;                /* the first bytes sent were looked at */
    int head_request;                /* they were a HEAD request: no body follows */
    unsigned requests;               /* blank lines ("\r\n\r\n") sent: request heads */
    int matched;                     /* bytes of "\r\n\r\n" matched at the end so far */
    int state;                       /* HC_HEAD, HC_BODY or HC_DONE (nothing to judge) */
    char head[HTTP_CHECK_HEAD_MAX];  /* the response head so far */
    size_t used;
    unsigned long long length;       /* Content-Length of the first response */
    unsigned long long body;         /* body bytes of it received */
};

enum { HC_HEAD, HC_BODY, HC_DONE };

/* The first bytes the client sends (a request line, if HTTP). */
void http_check_sent(struct http_check *h, const char *p, size_t n);
/* Bytes the server sent, in order. */
void http_check_received(struct http_check *h, const char *p, size_t n);
/* When the first response announced a Content-Length: 1 once that many body
 * bytes arrived, 0 before; -1 when there is nothing to judge. */
int http_check_complete(const struct http_check *h);
/* 1 when one request went out (one blank line in all that was sent) and its
 * response arrived whole by its Content-Length: nothing more can come unless
 * asked for, so a client whose input has ended may stop. */
int http_check_answered(const struct http_check *h);

#endif
