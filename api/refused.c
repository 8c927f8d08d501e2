/* api/refused.c — NanoSSL calls for what nktls does not do: the SRTP
 * encode callback and a server-side PSK store. A program that calls them must
 * still link and must learn at run time, not by a crash: each answers
 * ERR_NOT_SUPPORTED, except where the request is for the feature's absence
 * (no callback), which nktls honours with OK. docs/porting.md lists them. */
#include "api/api.h"

#define GET(h, c) struct nk_conn *c; NK_TRY(nk_conn_get((h), &c))

/* ---- DTLS-SRTP: the keys go to the init callback (api/dtls.c); nktls does
 * not encode packets for the application ---- */

NK_API MSTATUS SSL_setSrtpEncodeCallback(funcPtrSrtpEncodeCallback_t cb)
{
    return cb ? ERR_NOT_SUPPORTED : OK;
}

/* ---- a server-side PSK store: nktls's tickets are sealed and stateless ---- */

NK_API MSTATUS SSL_setServerSavePSKCallback(funcPtrServerSavePSK_t cb)
{
    return cb ? ERR_NOT_SUPPORTED : OK;
}

NK_API MSTATUS SSL_setServerLookupPSKCallback(funcPtrServerLookupPSK_t cb)
{
    return cb ? ERR_NOT_SUPPORTED : OK;
}

NK_API MSTATUS SSL_setServerDeletePSKCallback(funcPtrServerDeletePSK_t cb)
{
    return cb ? ERR_NOT_SUPPORTED : OK;
}
