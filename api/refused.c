/* api/refused.c — NanoSSL calls for what nktls does not do: DTLS and SRTP
 * (the server-side PSK store, once refused here, is api/psk.c's). A program
 * that calls them must still link and must learn at run time, not by a
 * crash: each checks its connection instance (ERR_SSL_BAD_ID) and answers
 * ERR_NOT_SUPPORTED, except where the request is for the feature's absence
 * (no callback), which nktls honours with OK. docs/porting.md lists them. One has an honest answer of its own:
 * SSL_isSessionDTLS is FALSE (every connection is TLS). */
#include "api/api.h"

#define GET(h, c) struct nk_conn *c; NK_TRY(nk_conn_get((h), &c))

/* ---- real answers ---- */

NK_API sbyte4 SSL_isSessionDTLS(sbyte4 h)
{
    GET(h, c);
    (void)c;
    return FALSE;
}

/* ---- DTLS and SRTP: every connection is TLS over TCP ---- */

NK_API MSTATUS SSL_DTLS_getTimeout(sbyte4 h, void *time)
{
    GET(h, c);
    (void)c;
    return ERR_NOT_SUPPORTED;
}

NK_API sbyte4 DTLS_isTimerExpired(sbyte4 h)
{
    GET(h, c);
    (void)c;
    return ERR_NOT_SUPPORTED;
}

NK_API MSTATUS SSL_enableSrtpProfiles(sbyte4 h, ubyte2 *profiles, ubyte4 n)
{
    GET(h, c);
    (void)c;
    return ERR_NOT_SUPPORTED;
}

NK_API MSTATUS SSL_setSrtpInitCallback(funcPtrSrtpInitCallback_t cb)
{
    return cb ? ERR_NOT_SUPPORTED : OK;
}

NK_API MSTATUS SSL_setSrtpEncodeCallback(funcPtrSrtpEncodeCallback_t cb)
{
    return cb ? ERR_NOT_SUPPORTED : OK;
}
