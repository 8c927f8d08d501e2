/* api/refused.c — the one NanoSSL call for what nktls does not do: the
 * SRTP encode callback (DTLS-SRTP's keys reach the application through
 * SSL_setSrtpInitCallback; include/nktls/srtp.h protects the packets). A
 * program that sets one must still link and learns at run time: it answers
 * ERR_NOT_SUPPORTED, and OK for NULL (no callback), which nktls honours.
 * docs/porting.md lists it. */
#include "api/api.h"

/* ---- DTLS-SRTP: the keys go to the init callback (api/dtls.c); nktls does
 * not encode packets for the application ---- */

NK_API MSTATUS SSL_setSrtpEncodeCallback(funcPtrSrtpEncodeCallback_t cb)
{
    return cb ? ERR_NOT_SUPPORTED : OK;
}
