/* drive/async.h — the asynchronous driver (drive/async.c): the application
 * owns the socket and moves the bytes, and the driver is the loop around the
 * engine, with NanoSSL's upcalls where the blocking driver would wait. The
 * contract the application sees is api/async.c's; the SSL_ASYNC_* calls there
 * are these. They take the handle, not the connection: an upcall may close it,
 * and the call then ends as if nothing had happened. */
#ifndef NK_DRIVE_ASYNC_H
#define NK_DRIVE_ASYNC_H

#include "engine/conn.h"

/* A connection whose bytes the application (or the event loop) moves: made
 * with cfg's defaults (nk_conn_open); the blocking calls refuse it. */
MSTATUS nk_async_new(enum nk_role role, int fd, struct certStore *store, const struct nk_config *cfg,
                     const char *dns, struct nk_conn **out) NK_MUST;
MSTATUS nk_async_start(sbyte4 h);                                        /* SSL_ASYNC_start */
MSTATUS nk_async_recv(sbyte4 h, const ubyte *bytes, ubyte4 n);           /* SSL_ASYNC_recvMessage */
sbyte4 nk_async_recv_one(sbyte4 h, ubyte *bytes, ubyte4 n, ubyte **rest, ubyte4 *rest_len);
                                                                         /* SSL_ASYNC_recvMessage2 */
MSTATUS nk_async_take(sbyte4 h, ubyte **data, ubyte4 *len, ubyte4 *protocol);  /* ..._getRecvBuffer */
MSTATUS nk_async_output(sbyte4 h, ubyte *data, ubyte4 *len);            /* ..._getSendBuffer */
MSTATUS nk_async_offload(sbyte4 h);                                      /* NKTLS_asyncOffload */
MSTATUS nk_async_record(sbyte4 h, ubyte4 type, const ubyte *data, ubyte4 len);  /* NKTLS_asyncRecvRecord */

#endif
