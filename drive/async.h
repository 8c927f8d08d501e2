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

/* DTLS 1.2 through the same calls (drive/async_dtls.c): one datagram per
 * receive call and per getSendBuffer, one record per datagram sent. The
 * calls above hand a DTLS connection to these once their common checks are
 * done. */
MSTATUS nk_async_dtls_recv(sbyte4 h, struct nk_conn *c, const ubyte *d, ubyte4 n);
sbyte4 nk_async_dtls_recv_one(sbyte4 h, struct nk_conn *c, ubyte *d, ubyte4 n, ubyte **rest, ubyte4 *rest_len);
MSTATUS nk_async_dtls_take(sbyte4 h, struct nk_conn **pc);   /* data for getRecvBuffer, if any */
MSTATUS nk_async_dtls_output(struct nk_conn *c, ubyte *data, ubyte4 *len);
sbyte4 nk_async_dtls_pending(struct nk_conn *c);             /* the next datagram's length */
MSTATUS nk_async_dtls_send(struct nk_conn *c, const ubyte *d, ubyte4 n);   /* SSL_ASYNC_sendMessage */
sbyte4 nk_async_dtls_timer(sbyte4 h);                        /* DTLS_isTimerExpired */

/* Between drive/async.c and drive/async_dtls.c. An upcall closed the
 * connection: not an error for the caller, but nothing may touch the
 * connection any more. Positive, so NK_TRY does not pass it on: every call
 * that can return it is checked with != OK. */
#define NK_ASYNC_GONE ((MSTATUS)1)
/* The upcalls due, in stream order: the open state (once, and after a
 * renegotiation), then the data waiting, passed up unless keep (or no
 * receive upcall is set). OK: nothing waits, feed the engine on;
 * NK_ASYNC_STOP: data is kept, or the open-state upcall was made and
 * stop_at_open; else the connection's error, ERR_SSL_CONNECTION_CLOSED, or
 * NK_ASYNC_GONE. */
#define NK_ASYNC_STOP ((MSTATUS)2)
MSTATUS nk_async_upcalls(sbyte4 h, struct nk_conn **pc, int keep, int stop_at_open);
/* The handshake's time limit (funcPtrSSLHandleTimeout) and, for DTLS, the
 * retransmission timer, run when due. */
MSTATUS nk_async_clock(sbyte4 h, struct nk_conn **pc);

#endif
