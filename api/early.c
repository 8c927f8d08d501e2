/* api/early.c — TLS 1.3 0-RTT data (handshake/tls13_early.c says what each
 * side does). Server: SSL_setMaxEarlyDataSize puts max_early_data_size in the
 * tickets this connection issues; SSL_setRecvEarlyDataSize bounds what it
 * accepts (by default the same figure). Client: SSL_setEarlyData gives the
 * bytes to send before the handshake completes. SSL_ioctl's
 * SSL_GET_EARLY_DATA_STATUS tells either side what became of them; early data
 * arrives through SSL_setReceiveApplicationDataCallback's callback
 * (DATA_STATE_EARLY) or, without one, is read first by SSL_recv. */
#include <stdlib.h>
#include "api/api.h"
#include "handshake/early.h"

#define GET(h, c) struct nk_conn *c; NK_TRY(nk_conn_get((h), &c))

/* Settings that shape the handshake change only before it starts. */
static MSTATUS early_state(struct nk_conn *c, enum nk_role role, struct nk_early **e)
{
    NK_CHECK(c->role == role, ERR_SSL_BAD_STATE);
    NK_CHECK(c->status == SSL_CONNECTION_NEGOTIATE && !c->hs, ERR_SSL_BAD_STATE);
    return nk_early_get(&c->tls, e);
}

NK_API MSTATUS SSL_setMaxEarlyDataSize(sbyte4 h, sbyte4 size)
{
    GET(h, c);
    struct nk_early *e;
    NK_CHECK(size >= 0, ERR_INVALID_ARG);
    if (size == 0 && !c->early)
        return OK;
    NK_TRY(early_state(c, NK_SERVER, &e));
    e->max_ticket = (uint32_t)size;
    return OK;
}

NK_API MSTATUS SSL_setRecvEarlyDataSize(sbyte4 h, sbyte4 size)
{
    GET(h, c);
    struct nk_early *e;
    NK_CHECK(size >= 0, ERR_INVALID_ARG);
    if (size == 0 && !c->early)
        return OK;
    NK_TRY(early_state(c, NK_SERVER, &e));
    e->recv_max = (uint32_t)size;
    return OK;
}

NK_API MSTATUS SSL_setEarlyData(sbyte4 h, ubyte *data, ubyte4 size)
{
    GET(h, c);
    struct nk_early *e;
    NK_CHECK(data || size == 0, ERR_NULL_POINTER);
    if (size == 0 && !c->early)
        return OK;
    NK_TRY(early_state(c, NK_CLIENT, &e));
    e->data.len = 0;
    return nk_buf_append(&e->data, data, size);
}

NK_API MSTATUS SSL_setReceiveApplicationDataCallback(funcPtrReceiveApplicationData_t cb)
{
    nk_settings()->funcPtrReceiveApplicationData = cb;
    return OK;
}

/* SSL_ioctl's 0-RTT settings (api/conn.c passes them on). */
MSTATUS nk_api_early_ioctl(sbyte4 h, ubyte4 setting, void *value)
{
    GET(h, c);
    switch (setting) {
    case SSL_GET_EARLY_DATA_STATUS:
        NK_CHECK(value, ERR_NULL_POINTER);
        *(ubyte4 *)value = nk_early_status(&c->tls);
        return OK;
    case SSL_SET_MAX_EARLY_DATA:
        NK_CHECK((uintptr_t)value <= 0x7fffffff, ERR_INVALID_ARG);
        return SSL_setMaxEarlyDataSize(h, (sbyte4)(uintptr_t)value);
    case SSL_GET_MAX_EARLY_DATA:
        NK_CHECK(value, ERR_NULL_POINTER);
        *(ubyte4 *)value = c->early ? c->early->max_ticket : 0;
        return OK;
    default:
        return ERR_NOT_SUPPORTED;
    }
}
