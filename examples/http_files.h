/* examples/http_files.h — the HTTP/1.1 file server behind `nktls-server --root`:
 * GET and HEAD of regular files under one directory, single byte ranges,
 * keep-alive and pipelining. File bodies go out with NKTLS_sendFile, so under
 * kernel TX they never pass through userspace. Public API only. */
#ifndef EX_HTTP_FILES_H
#define EX_HTTP_FILES_H

#include "common.h"

struct http_files {
    int root_fd;     /* the served directory, from http_files_open_root */
    int verbose;     /* one log line per request on stderr */
};

/* Open DIR for serving; exits with status 2 when it is not a directory. */
int http_files_open_root(const char *dir);

/* Answer requests on an open connection until the client closes, a request
 * asks to close, or an error ends it. peer ("addr:port") names it in logs. */
void http_files_serve(sbyte4 conn, const struct http_files *hf, const char *peer);

#endif
