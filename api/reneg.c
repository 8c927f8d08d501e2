/* api/reneg.c — SSL_initiateRehandshake: a new handshake on an established
 * TLS 1.2 connection (RFC 5746 secure renegotiation, handshake/tls12_reneg.c).
 * A server sends a HelloRequest, a client its ClientHello; the rest of the
 * handshake runs with the data that follows (SSL_recv and SSL_send, the
 * asynchronous calls), and application data keeps flowing meanwhile.
 * SSL_getSessionStatus says SSL_CONNECTION_RENEGOTIATE until it ends; an
 * asynchronous connection then hears funcPtrOpenStateUpcall (or its client
 * twin) with isRehandshake TRUE. Refused, with the connection unchanged:
 * ERR_SSL_RENEGOTIATION_TLS13 (TLS 1.3 renews keys with
 * SSL_sendKeyUpdateRequest), ERR_SSL_RENEGOTIATION_INSECURE (the peer did
 * not signal RFC 5746), ERR_SSL_RENEGOTIATION_KTLS (the kernel carries the
 * records and cannot take TLS 1.2 keys again), ERR_SSL_BAD_STATE (one is
 * already running), ERR_SSL_NOT_OPEN (no handshake yet, or closing). */
#include "api/api.h"
#include "handshake/tls12_reneg.h"

NK_API MSTATUS SSL_initiateRehandshake(sbyte4 h)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    NK_TRY(nk_reneg_may_start(&c->tls));
    NK_TRY(nk_fail(c, nk_reneg_start(&c->tls)));
    nk_drive_reneg_clock(c);   /* a client's handshake runs from here */
    return c->is_async ? OK : nk_drive_flush(c);
}
