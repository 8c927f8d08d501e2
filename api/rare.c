/* api/rare.c — calls for features few connections use (their state:
 * handshake/rare.h): the version callback, and TLS heartbeats (RFC 6520; handshake/heartbeat.c), TLS
 * 1.2 only. SSL_enableHeartbeatSupport, before the handshake, says which
 * HeartbeatMode this end sends in its hello: peerAllowedToSend (we answer
 * the peer's requests) or peerNotAllowedToSend (we do not want them; ours
 * may still go out if the peer allows them); noHeartbeatMessages (the
 * default) sends no extension, and a heartbeat record then fails the
 * connection with unexpected_message. SSL_sendHeartbeatMessage sends one
 * request (16 random bytes of payload) once the connection is open, to a
 * peer whose hello allowed it, one at a time. The callback hears, with
 * status OK, heartbeatType 1 for a request we answered and 2 for the
 * response to ours; what it returns is ignored. The answer to a request is
 * sent as the record that carried it is read (SSL_recv, the async calls,
 * the loop). */
#include "api/api.h"
#include "handshake/rare.h"
#include "drive/drive.h"

#define GET(h, c) struct nk_conn *c; NK_TRY(nk_conn_get((h), &c))

/* The version callback (handshake/rare.h, nk_version_tell): told, as the
 * hellos settle it, the version this connection's handshake chose and the
 * highest the client offered; a negative answer ends the handshake with
 * protocol_version (ERR_SSL_VERSION_REFUSED). Without one the stack's
 * funcPtrVersionCallback is told. Set before the handshake; NULL removes it. */
NK_API MSTATUS SSL_setVersionCallback(sbyte4 h, funcPtrVersionCallback_t cb)
{
    struct nk_rare *r;
    GET(h, c);
    NK_CHECK(!c->hs && c->status != SSL_CONNECTION_OPEN && c->err >= 0, ERR_SSL_BAD_STATE);
    if (!cb && !c->rare_on)
        return OK;
    NK_TRY(nk_rare_get(&c->tls, &r));
    r->version_cb = cb;
    return OK;
}

NK_API MSTATUS SSL_enableHeartbeatSupport(sbyte4 h, E_HeartbeatExtension value, funcPtrHeartbeatCallback_t cb)
{
    GET(h, c);
    /* The hellos carry the mode: a handshake begun or done keeps its own. */
    NK_CHECK(!c->hs && c->status != SSL_CONNECTION_OPEN && c->err >= 0, ERR_SSL_BAD_STATE);
    return nk_hb_enable(&c->tls, (int)value, cb);
}

NK_API MSTATUS SSL_sendHeartbeatMessage(sbyte4 h)
{
    GET(h, c);
    NK_CHECK(c->status == SSL_CONNECTION_OPEN && c->err >= 0, ERR_SSL_NOT_OPEN);
    MSTATUS st = nk_hb_send_request(&c->tls);
    if (st == ERR_SSL_HEARTBEAT_REFUSED || st == ERR_SSL_HEARTBEAT_IN_FLIGHT)
        return st;   /* nothing was sent: the connection goes on */
    NK_TRY(nk_fail(c, st));
    return c->is_async ? OK : nk_fail(c, nk_drive_flush(c));
}
