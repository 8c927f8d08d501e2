/* api/srtp.c — the public SRTP calls (include/nktls/srtp.h): argument checks
 * around srtp/, which does the work. The public handle is srtp/'s session. */
#include "core/nk.h"
#include "srtp/srtp.h"
#include "srtp.h"

_Static_assert(NKTLS_SRTP_DEFAULT_MAX_STREAMS == NK_SRTP_MAX_STREAMS && NKTLS_SRTP_MAX_MKI == NK_SRTP_MAX_MKI
               && NKTLS_SRTP_REPLAY_WINDOW == NK_SRTP_WINDOW, "srtp.h and srtp/srtp.h agree");

static struct nk_srtp *session(nktlsSrtpSession *p)
{
    return (struct nk_srtp *)(void *)p;
}

NK_API MSTATUS NKTLS_srtpGetProfileInfo(ubyte2 profile, nktlsSrtpProfileInfo *pInfo)
{
    const struct nk_srtp_profile *p = nk_srtp_profile(profile);
    NK_CHECK(pInfo, ERR_NULL_POINTER);
    NK_CHECK(p, ERR_NOT_SUPPORTED);
    pInfo->profile = p->id;
    pInfo->keyLen = p->key_len;
    pInfo->saltLen = p->salt_len;
    pInfo->rtpTagLen = p->rtp_tag;
    pInfo->rtcpTagLen = p->rtcp_tag;
    pInfo->keyingMaterialLen = 2u * (p->key_len + p->salt_len);
    return OK;
}

NK_API MSTATUS NKTLS_srtpSplitKeyingMaterial(ubyte2 profile, const ubyte *pMaterial, ubyte4 materialLen,
                                             intBoolean isClient, nktlsSrtpMasterKey *pOutbound,
                                             nktlsSrtpMasterKey *pInbound)
{
    const struct nk_srtp_profile *p = nk_srtp_profile(profile);
    NK_CHECK(pMaterial && pOutbound && pInbound, ERR_NULL_POINTER);
    NK_CHECK(p, ERR_NOT_SUPPORTED);
    memset(pOutbound, 0, sizeof *pOutbound);
    memset(pInbound, 0, sizeof *pInbound);
    NK_TRY(nk_srtp_split(p, pMaterial, materialLen, isClient != 0, pOutbound->key, pOutbound->salt,
                         pInbound->key, pInbound->salt));
    pOutbound->keyLen = pInbound->keyLen = p->key_len;
    pOutbound->saltLen = pInbound->saltLen = p->salt_len;
    return OK;
}

NK_API MSTATUS NKTLS_srtpCreate(ubyte2 profile, sbyte4 direction, const ubyte *pMasterKey, ubyte4 keyLen,
                                const ubyte *pMasterSalt, ubyte4 saltLen, const ubyte *pMki, ubyte4 mkiLen,
                                nktlsSrtpSession **ppSession)
{
    struct nk_srtp *s;
    NK_CHECK(ppSession && pMasterKey && pMasterSalt && (pMki || !mkiLen), ERR_NULL_POINTER);
    *ppSession = NULL;
    NK_CHECK(direction == NKTLS_SRTP_INBOUND || direction == NKTLS_SRTP_OUTBOUND, ERR_INVALID_ARG);
    NK_CHECK(mkiLen <= NKTLS_SRTP_MAX_MKI, ERR_INVALID_ARG);
    NK_TRY(nk_srtp_new(&s, profile, direction == NKTLS_SRTP_OUTBOUND, pMasterKey, keyLen, pMasterSalt, saltLen,
                       pMki, mkiLen));
    *ppSession = (nktlsSrtpSession *)(void *)s;
    return OK;
}

NK_API MSTATUS NKTLS_srtpSetMaxStreams(nktlsSrtpSession *pSession, ubyte4 maxStreams)
{
    NK_CHECK(pSession, ERR_NULL_POINTER);
    return nk_srtp_set_max_streams(session(pSession), maxStreams);
}

/* One shape for the four packet calls: the length goes through size_t. */
typedef MSTATUS (*protect_fn)(struct nk_srtp *, uint8_t *, size_t *, size_t);
typedef MSTATUS (*unprotect_fn)(struct nk_srtp *, uint8_t *, size_t *);

static MSTATUS protect(protect_fn fn, nktlsSrtpSession *pSession, ubyte *pPacket, ubyte4 *pLength,
                       ubyte4 bufferSize)
{
    NK_CHECK(pSession && pPacket && pLength, ERR_NULL_POINTER);
    size_t n = *pLength;
    NK_TRY(fn(session(pSession), pPacket, &n, bufferSize));
    *pLength = (ubyte4)n;
    return OK;
}

static MSTATUS unprotect(unprotect_fn fn, nktlsSrtpSession *pSession, ubyte *pPacket, ubyte4 *pLength)
{
    NK_CHECK(pSession && pPacket && pLength, ERR_NULL_POINTER);
    size_t n = *pLength;
    NK_TRY(fn(session(pSession), pPacket, &n));
    *pLength = (ubyte4)n;
    return OK;
}

NK_API MSTATUS NKTLS_srtpProtect(nktlsSrtpSession *pSession, ubyte *pPacket, ubyte4 *pLength, ubyte4 bufferSize)
{
    return protect(nk_srtp_protect, pSession, pPacket, pLength, bufferSize);
}

NK_API MSTATUS NKTLS_srtpUnprotect(nktlsSrtpSession *pSession, ubyte *pPacket, ubyte4 *pLength)
{
    return unprotect(nk_srtp_unprotect, pSession, pPacket, pLength);
}

NK_API MSTATUS NKTLS_srtpProtectRtcp(nktlsSrtpSession *pSession, ubyte *pPacket, ubyte4 *pLength,
                                     ubyte4 bufferSize)
{
    return protect(nk_srtcp_protect, pSession, pPacket, pLength, bufferSize);
}

NK_API MSTATUS NKTLS_srtpUnprotectRtcp(nktlsSrtpSession *pSession, ubyte *pPacket, ubyte4 *pLength)
{
    return unprotect(nk_srtcp_unprotect, pSession, pPacket, pLength);
}

NK_API MSTATUS NKTLS_srtpFree(nktlsSrtpSession **ppSession)
{
    if (ppSession) {
        nk_srtp_free(session(*ppSession));
        *ppSession = NULL;
    }
    return OK;
}
