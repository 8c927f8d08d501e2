/* examples/http_loop.h — the file server (http_files.h) on the nktls event loop
 * (nktls_loop.h): `nktls-server --root DIR --io uring|epoll`. nktls-server's
 * callbacks hand each connection's events here; everything runs on the
 * connection's worker thread. Requests are answered in order, one file body
 * at a time (a pipelined request waits in the buffer until the body before it
 * is out). The head deadline is NKTLS_LOOP_setDeadline; the keep-alive
 * silence between requests is the loop's idle timeout. */
#ifndef EX_HTTP_LOOP_H
#define EX_HTTP_LOOP_H

#include "http_files.h"

struct http_lconn;

/* onOpen: start serving conn (peer names it in logs and must outlive it).
 * NULL when out of memory (the caller closes the connection). */
struct http_lconn *http_loop_open(sbyte4 conn, const struct http_files *hf, const char *peer);
/* onData, onFileSent, onClose. */
void http_loop_data(struct http_lconn *h, const ubyte *d, ubyte4 n);
void http_loop_file_sent(struct http_lconn *h, MSTATUS st, ubyte8 sent);
void http_loop_free(struct http_lconn *h);

#endif
