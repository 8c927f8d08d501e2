/* api/psk.c — the public calls around session tickets: on the client,
 * keeping, serializing and offering them; on the server, keeping the sessions
 * in the application's store instead of sealing them into the tickets (the
 * tickets themselves: handshake/ticket.c, handshake/ticket_store.c). */
#include <stdlib.h>
#include "api/api.h"
#include "handshake/psk.h"

NK_API MSTATUS SSL_freePSK(tls13PSK **pp)
{
    NK_CHECK(pp, ERR_NULL_POINTER);
    nk_psk_free(*pp);
    *pp = NULL;
    return OK;
}

/* The form is handshake/psk.c's (nk_psk_serialize), which the handshake uses
 * for the save and retrieve callbacks too. */
NK_API MSTATUS SSL_serializePSK(tls13PSK *p, ubyte **out, ubyte4 *out_len)
{
    NK_CHECK(p && out && out_len, ERR_NULL_POINTER);
    return nk_psk_serialize(p, out, out_len);
}

NK_API MSTATUS SSL_deserializePSK(ubyte *in, ubyte4 len, tls13PSK **out)
{
    NK_CHECK(in && out, ERR_NULL_POINTER);
    return nk_psk_deserialize(in, len, out);
}

NK_API MSTATUS SSL_setClientSavePSKCallback(sbyte4 h, funcPtrClientSavePSK_t cb)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    c->psk_save_cb = cb;
    return OK;
}

NK_API MSTATUS SSL_CLIENT_setRetrievePSKCallback(sbyte4 h, funcPtrClientRetrievePSK_t cb)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    c->psk_retrieve_cb = cb;
    return OK;
}

/* The server's session store, process-wide as the rest of sslSettings: with
 * save and lookup set, TLS 1.3 tickets carry only an identity and each
 * resumes once (handshake/ticket_store.c). NULL turns it off again. */
NK_API MSTATUS SSL_setServerSavePSKCallback(funcPtrServerSavePSK_t cb)
{
    SSL_sslSettings()->funcPtrServerSavePSK = cb;
    return OK;
}

NK_API MSTATUS SSL_setServerLookupPSKCallback(funcPtrServerLookupPSK_t cb)
{
    SSL_sslSettings()->funcPtrServerLookupPSK = cb;
    return OK;
}

NK_API MSTATUS SSL_setServerDeletePSKCallback(funcPtrServerDeletePSK_t cb)
{
    SSL_sslSettings()->funcPtrServerDeletePSK = cb;
    return OK;
}
