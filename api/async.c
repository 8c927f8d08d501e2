/* api/async.c — the NanoSSL asynchronous API: the application owns the
 * socket, hands received bytes in and takes bytes to send out. The driver
 * behind it (drive/async.c) is a loop around the engine, like the blocking
 * one, with upcalls where that one waits; the calls here are its public names.
 *
 * The contract, as the application sees it:
 *
 * Start. h = SSL_ASYNC_connect(fd, ...) or SSL_ASYNC_acceptConnection(fd, store),
 *   then SSL_ASYNC_start(h): a client's ClientHello then waits in the send
 *   buffer. A server may skip the call; its first SSL_ASYNC_recvMessage starts
 *   it. Starting calls funcPtrClientStartTimer (client) or funcPtrStartTimer
 *   (server) with (h, sslTimeOutHello, 0): run a timer for the handshake.
 *
 * Sending. Whenever SSL_ASYNC_sendMessagePending(h) > 0, take the bytes with
 *   SSL_ASYNC_getSendBuffer(h, buf, &len) (len: capacity in, count out; taken
 *   bytes leave the library) and write them to the socket. Check after every
 *   call into the library: flights, KeyUpdate answers and alerts all wait there.
 *   SSL_ASYNC_sendMessage(h, data, n, &sent) encrypts n bytes into the send
 *   buffer (sent = n); before the handshake completes it queues nothing and
 *   returns ERR_SSL_NOT_OPEN, as NanoSSL applications expect, except on a
 *   server that accepted TLS 1.3 0-RTT data: from the receive-data callback's
 *   DATA_STATE_EARLY call on (its Finished is queued by then) the answer goes
 *   out at once, before the client's Finished (0.5-RTT data, RFC 8446
 *   §4.4.4). The receive upcall still gets early data only after the open
 *   upcall, in stream order.
 *
 * Receiving. Pass every byte read from the socket to SSL_ASYNC_recvMessage(h,
 *   bytes, n), split anywhere. In stream order it calls
 *     funcPtrOpenStateUpcall / funcPtrClientOpenStateUpcall(h, FALSE), once,
 *       when the handshake completes (the hello timer may be cancelled then);
 *     funcPtrReceiveUpcall / funcPtrClientReceiveUpcall(h, data, len) for each
 *       record of application data (data is valid during the call only).
 *   With SSL_FLAG_ENABLE_RECV_BUFFER, or when no receive upcall is set, data is
 *   not passed up but kept: SSL_ASYNC_getRecvBuffer(h, &p, &len, &proto) hands
 *   out one record's plaintext in place (proto 23) and marks it read; call it
 *   until len is 0. p stays valid until the next recvMessage, recvMessage2,
 *   getRecvBuffer or NKTLS_asyncOffload call on h. Bytes given behind kept data
 *   wait in the library and are processed as the data is taken — up to
 *   NKTLS_LIMIT_RECV_BUFFER bytes (nktls.h): a recvMessage that would go past
 *   it returns ERR_SSL_BUFFER_LIMIT and takes none of its bytes (the
 *   connection goes on: take the data, then give those bytes again).
 *   SSL_ASYNC_recvMessage2(h, bytes, n, &rest, &restLen) processes only up to
 *   the end of the record that completes the handshake or yields application
 *   data, returns the application bytes waiting (for getRecvBuffer; it makes no
 *   receive upcall) and leaves what it did not process at rest, inside bytes:
 *   call it again with those. Upcalls may send and may close h; they must not
 *   feed h.
 *
 * Errors and closure. A fatal error is returned by that receive call and every
 *   later one (sticky); the alert for it waits in the send buffer: send it, then
 *   close. After the peer's close_notify they return ERR_SSL_CONNECTION_CLOSED.
 *   To close: SSL_sendAlert(h, SSL_ALERT_CLOSE_NOTIFY, SSLALERTLEVEL_WARNING)
 *   queues close_notify, drain the send buffer, then SSL_ASYNC_closeConnection(h)
 *   frees h; it sends nothing (it cannot: the application holds the socket) and
 *   leaves the socket open. RFC 8446 §6.1: "Each party MUST send a
 *   "close_notify" alert before closing its write side of the connection,
 *   unless it has already sent some error alert."
 *
 * Timers. Before the handshake completes every receive call reads the clock:
 *   once sslTimeOutHello has passed since the start it calls
 *   funcPtrSSLHandleTimeout(h, &ms) with ms = the time run so far; returning OK
 *   with ms set to n > 0 grants n more ms, anything else (or no callback) fails
 *   with ERR_SSL_HANDSHAKE_TIMEOUT. So a peer that trickles bytes cannot hold a
 *   connection open. When the application's timer fires before the open-state
 *   upcall, the handshake has timed out: it closes h and the socket. A TLS 1.2
 *   renegotiation has sslTimeOutHello too, from the receive call (or
 *   SSL_initiateRehandshake) in which it began, checked the same way at each
 *   receive call (ms counts from its start); funcPtrStartTimer is not called
 *   for it.
 *   sslTimeOutReceive applies to SSL_recv only: the application times its reads.
 *
 * Kernel TLS. After the open-state upcall, with the send buffer drained and
 *   before reading the socket again, the application may call
 *   NKTLS_asyncOffload(h); NKTLS_getRecordLayerInfo then tells, per direction,
 *   who carries the records:
 *   - software: everything as above.
 *   - kernel TX: the application writes plaintext to the socket (send,
 *     sendfile); SSL_ASYNC_sendMessage returns ERR_SSL_BAD_STATE. Records the
 *     library makes (alerts, KeyUpdate) still count in sendMessagePending, and
 *     getSendBuffer then writes them to the socket itself, each with its record
 *     type in a control message, and returns len 0.
 *   - kernel RX: the application reads plaintext with recvmsg; a
 *     TLS_GET_RECORD_TYPE control message other than 23 marks a non-data record
 *     (alert, KeyUpdate, NewSessionTicket), whose bytes go to
 *     NKTLS_asyncRecvRecord(h, type, data, len): it returns what recvMessage
 *     would and may queue output. recvMessage* return ERR_SSL_BAD_STATE.
 *   RX can move to the kernel only if no byte past the handshake was given to
 *   the library (else rxReason is "data already read"): read with MSG_PEEK,
 *   feed with recvMessage2, then consume n - restLen bytes from the socket.
 *
 * DTLS 1.2 (drive/async_dtls.c). SSL_ASYNC_connect / SSL_ASYNC_acceptConnection
 *   on a UDP socket make a DTLS connection, as the blocking calls do (a
 *   connected socket: the server's cookie binds the client's address, from
 *   getpeername); on any other fd (or none, -1), SSL_ioctl(h, SSL_SET_VERSION,
 *   DTLS12_MINORVERSION) before the start makes it DTLS, with a cookie that
 *   binds no address (the application vouches for where datagrams come
 *   from). SSL_isSessionDTLS says which. What differs from the above:
 *   - Datagrams in: each SSL_ASYNC_recvMessage call is exactly one datagram
 *     as received, never split or joined (a cut record is dropped; RFC 6347
 *     §4.1.1 records never span datagrams). Records that fail to open, are
 *     replayed or belong to no epoch we read are dropped silently (§4.1.2.7),
 *     never an error. recvMessage2 takes the datagram whole (restLen 0) and
 *     returns the application bytes waiting; getRecvBuffer hands out each
 *     record's data, walking on through the datagram and those given behind
 *     it (held whole, within NKTLS_LIMIT_RECV_BUFFER; past it
 *     ERR_SSL_BUFFER_LIMIT refuses the datagram, untaken). The receive upcall
 *     gets each record's data once, in the order the records came. The SRTP
 *     init callback (SSL_setSrtpInitCallback) comes in the call that
 *     completes the handshake, before the open-state upcall.
 *   - Datagrams out: SSL_ASYNC_sendMessagePending(h) is the length of the
 *     next datagram (0: none); each getSendBuffer hands out exactly one, to
 *     be sent as one datagram. A buffer shorter than it gets
 *     ERR_SSL_DATAGRAM_BUFFER_TOO_SMALL with len 0, and the datagram stays
 *     queued: a datagram is sent whole or not at all.
 *   - SSL_ASYNC_sendMessage(h, data, n, &sent): one message, one record,
 *     alone in its own datagram — what a datagram application (media,
 *     games) expects: its units arrive whole or not at all. A message longer
 *     than one datagram carries (NKTLS_DTLS_getMaxMessage: the PMTU of
 *     DTLS_SET_PMTU, default 1200, less the record's 13-byte header and the
 *     suite's nonce and tag, 37 bytes for AES-GCM) is refused with
 *     ERR_SSL_DATAGRAM_TOO_LONG and nothing is sent; n = 0 sends nothing.
 *   - Retransmission: the handshake's flights are the application's to time.
 *     SSL_DTLS_getTimeout(h, &ms) says how long until the timer is due (the
 *     next retransmission, or the time limit), DTLS_isTimerExpired(h)
 *     returns TRUE once it is due and runs it: the flight waits in the send
 *     buffer again (doubling the wait, RFC 6347 §4.2.4.1), or, at
 *     sslTimeOutHello, funcPtrSSLHandleTimeout is asked as above, and without
 *     a grant the call returns ERR_SSL_HANDSHAKE_TIMEOUT. Every receive call
 *     runs a due timer first too, so SSL_ASYNC_recvMessage(h, NULL, 0) (no
 *     datagram) is another way to run it. A typical loop: drain the send
 *     buffer; getTimeout (0: due now, or no timer: DTLS_isTimerExpired
 *     tells which); poll the socket that long (no timer: without limit); a
 *     datagram: recvMessage; none: DTLS_isTimerExpired. funcPtrStartTimer
 *     is called at the start as for TLS.
 *   - A datagram that is not DTLS (RTP after DTLS-SRTP, RFC 7983: first
 *     byte outside 20..63) is the application's to keep out; given here,
 *     its "records" are dropped like any invalid one.
 *   - Alerts: a fatal error's alert waits in a datagram of its own;
 *     close_notify as above (SSL_sendAlert); the peer's close_notify makes
 *     the receive calls return ERR_SSL_CONNECTION_CLOSED.
 *   - NKTLS_asyncOffload returns ERR_NOT_SUPPORTED: the kernel has no DTLS. */
#include "api/api.h"
#include "drive/async.h"
#include "handshake/early.h"
#include "nktls.h"

NK_API MSTATUS SSL_ASYNC_start(sbyte4 h) { return nk_async_start(h); }

NK_API MSTATUS SSL_ASYNC_recvMessage(sbyte4 h, ubyte *bytes, ubyte4 n) { return nk_async_recv(h, bytes, n); }

NK_API sbyte4 SSL_ASYNC_recvMessage2(sbyte4 h, ubyte *bytes, ubyte4 n, ubyte **rest, ubyte4 *rest_len)
{
    return nk_async_recv_one(h, bytes, n, rest, rest_len);
}

NK_API MSTATUS SSL_ASYNC_getRecvBuffer(sbyte4 h, ubyte **data, ubyte4 *len, ubyte4 *protocol)
{
    return nk_async_take(h, data, len, protocol);
}

NK_API MSTATUS SSL_ASYNC_getSendBuffer(sbyte4 h, ubyte *data, ubyte4 *len) { return nk_async_output(h, data, len); }


NK_API sbyte4 SSL_ASYNC_sendMessagePending(sbyte4 h)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    if (c->is_dtls && c->is_async)
        return nk_async_dtls_pending(c);
    size_t len;
    (void)nk_out_buf(c, &len);
    return len > INT32_MAX ? INT32_MAX : (sbyte4)len;
}

NK_API MSTATUS SSL_ASYNC_sendMessage(sbyte4 h, sbyte *buf, sbyte4 len, sbyte4 *sent)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    if (sent)
        *sent = 0;
    NK_CHECK(buf || len == 0, ERR_NULL_POINTER);
    NK_CHECK(len >= 0, ERR_INVALID_ARG);
    NK_CHECK(c->is_async, ERR_SSL_BAD_STATE);
    if (c->err < 0)
        return c->err;
    /* Or 0.5-RTT: a server that accepted 0-RTT data may answer it (from the
     * SSL_setReceiveApplicationDataCallback callback, DATA_STATE_EARLY) once
     * its Finished is queued, under its application key (RFC 8446 §4.4.4). */
    int half_rtt = c->role == NK_SERVER && c->wr_app && nk_early_accepted(&c->tls);
    NK_CHECK(c->status == SSL_CONNECTION_OPEN || half_rtt, ERR_SSL_NOT_OPEN);
    NK_CHECK(!c->ktls_tx, ERR_SSL_BAD_STATE);   /* the application writes plaintext */
    if (c->is_dtls)
        NK_TRY(nk_async_dtls_send(c, (const ubyte *)buf, (ubyte4)len));
    else if (len)
        NK_TRY(nk_app_write(c, (const uint8_t *)buf, (size_t)len));
    if (sent)
        *sent = len;
    return OK;
}

NK_API MSTATUS SSL_ASYNC_closeConnection(sbyte4 h)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    if (!c->is_async)   /* the library owns that socket: it says close_notify itself */
        return SSL_closeConnection(h);
    nk_buf_free(&c->as.in);
    nk_conn_free(c);
    return OK;
}

/* ---- kernel offload (nktls extensions) ---- */

NK_API MSTATUS NKTLS_asyncOffload(sbyte4 h) { return nk_async_offload(h); }

NK_API MSTATUS NKTLS_asyncRecvRecord(sbyte4 h, ubyte4 type, const ubyte *data, ubyte4 len)
{
    return nk_async_record(h, type, data, len);
}
