/* examples/client_http.c — see client_http.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client_http.h"

void http_check_sent(struct http_check *h, const char *p, size_t n)
{
    static const char blank[] = "\r\n\r\n";

    if (n && !h->request_seen) {
        h->request_seen = 1;
        h->head_request = n >= 5 && memcmp(p, "HEAD ", 5) == 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] == blank[h->matched])
            h->matched++;
        else
            h->matched = p[i] == '\r';
        if (h->matched == 4) {
            h->requests++;
            h->matched = 0;
        }
    }
}

/* The status line and headers in h->head (NUL-terminated, blank line included):
 * HC_BODY with the length when the response announces one, else HC_DONE. */
static int parse_head(struct http_check *h)
{
    const char *line = h->head, *next;
    char *end;
    int status;

    if (strncmp(line, "HTTP/1.", 7) != 0)
        return HC_DONE;
    status = (int)strtol(line + 9, &end, 10);
    if (line[8] != ' ' || end == line + 9 || status < 200 || status == 204 || status == 304
        || h->head_request)
        return HC_DONE;                          /* no body by definition */
    for (; (next = strchr(line, '\n')) != NULL; line = next + 1) {
        if (strncasecmp(next + 1, "transfer-encoding:", 18) == 0)
            return HC_DONE;                      /* chunked: the length is not announced */
        if (strncasecmp(next + 1, "content-length:", 15) == 0) {
            const char *v = next + 16;
            unsigned long long len;
            while (*v == ' ' || *v == '\t')
                v++;
            len = strtoull(v, &end, 10);
            if (end == v || (*end != '\r' && *end != '\n' && *end != ' '))
                return HC_DONE;                  /* not a number: not ours to judge */
            h->length = len;
            return HC_BODY;
        }
    }
    return HC_DONE;
}

/* Collect the head; returns how many of the n bytes at p are body after it. */
static size_t take_head(struct http_check *h, const char *p, size_t n)
{
    size_t room = sizeof(h->head) - 1 - h->used, take = n < room ? n : room, head_len;
    char *blank;

    memcpy(h->head + h->used, p, take);
    h->used += take;
    h->head[h->used] = '\0';
    blank = strstr(h->head, "\r\n\r\n");
    if (!blank) {
        if (h->used == sizeof(h->head) - 1 || (h->used >= 5 && strncmp(h->head, "HTTP/", 5)))
            h->state = HC_DONE;                  /* not an HTTP response head */
        return 0;
    }
    head_len = (size_t)(blank - h->head) + 4;
    blank[2] = '\0';                             /* keep the last header's CRLF */
    h->state = parse_head(h);
    return h->used - head_len + (n - take);
}

void http_check_received(struct http_check *h, const char *p, size_t n)
{
    if (h->state == HC_HEAD)
        n = take_head(h, p, n);
    if (h->state == HC_BODY)
        h->body += n;
}

int http_check_complete(const struct http_check *h)
{
    if (h->state != HC_BODY)
        return -1;
    return h->body >= h->length;
}

int http_check_answered(const struct http_check *h)
{
    return h->requests == 1 && http_check_complete(h) == 1;
}
