/* api/dtls.c — the public DTLS 1.2 and DTLS-SRTP calls. A connection is DTLS
 * when SSL_connect / SSL_acceptConnection was given a UDP socket
 * (drive/dtls_blocking.c); these calls set and read what only DTLS has. */
#include "api/api.h"
#include "drive/async.h"
#include "drive/clock.h"
#include "engine/dtls.h"

#define GET(h, c) struct nk_conn *c; NK_TRY(nk_conn_get((h), &c))

NK_API sbyte4 SSL_isSessionDTLS(sbyte4 h)
{
    GET(h, c);
    return c->is_dtls ? TRUE : FALSE;
}

/* The retransmission timer, in ms on the driver's clock: *(ubyte4 *)time is
 * how long until it fires (0: due now, or none running). */
NK_API MSTATUS SSL_DTLS_getTimeout(sbyte4 h, void *time)
{
    GET(h, c);
    NK_CHECK(time, ERR_NULL_POINTER);
    NK_CHECK(c->is_dtls, ERR_NOT_SUPPORTED);
    int64_t at = nk_conn_deadline(c), now = nk_mono_ms();
    *(ubyte4 *)time = at > now ? (ubyte4)(at - now > UINT32_MAX ? UINT32_MAX : at - now) : 0;
    return OK;
}

/* TRUE when the timer is due: the flight is sent again (a blocking
 * connection's datagrams go out now; an asynchronous one's wait in its
 * output); FALSE otherwise. A handshake past its time limit fails. */
NK_API sbyte4 DTLS_isTimerExpired(sbyte4 h)
{
    GET(h, c);
    NK_CHECK(c->is_dtls, ERR_NOT_SUPPORTED);
    if (c->is_async)   /* with funcPtrSSLHandleTimeout at the time limit */
        return nk_async_dtls_timer(h);
    int64_t at = nk_conn_deadline(c), now = nk_mono_ms();
    if (!at || now < at)
        return FALSE;
    NK_TRY(nk_engine_timer(c, now));
    if (!c->is_async)
        NK_TRY(nk_fail(c, nk_drive_dtls_flush(c)));
    return TRUE;
}

/* nktls extension: the longest message one datagram carries (SSL_send,
 * SSL_ASYNC_sendMessage): the PMTU less the record's header and the
 * suite's nonce and tag, so known once the handshake is done. */
NK_API MSTATUS NKTLS_DTLS_getMaxMessage(sbyte4 h, ubyte4 *len)
{
    GET(h, c);
    NK_CHECK(len, ERR_NULL_POINTER);
    *len = 0;
    NK_CHECK(c->is_dtls, ERR_NOT_SUPPORTED);
    NK_CHECK(c->status == SSL_CONNECTION_OPEN, ERR_SSL_NOT_OPEN);
    *len = (ubyte4)nk_dtls_max_message(c);
    return OK;
}

/* RFC 5764 §4.1.1: the profiles to offer (client) or accept (server), in
 * our order of preference; those nktls has no SRTP protection for
 * (the NULL-cipher ones) are refused. Turns DTLS_USE_SRTP on. */
NK_API MSTATUS SSL_enableSrtpProfiles(sbyte4 h, ubyte2 *profiles, ubyte4 n)
{
    GET(h, c);
    NK_CHECK(profiles || !n, ERR_NULL_POINTER);
    NK_CHECK(c->is_dtls, ERR_NOT_SUPPORTED);
    NK_CHECK(!c->hs && c->status == SSL_CONNECTION_NEGOTIATE, ERR_SSL_BAD_STATE);
    NK_CHECK(n >= 1 && n <= NK_DTLS_SRTP_MAX, ERR_INVALID_ARG);
    for (ubyte4 i = 0; i < n; i++)
        NK_CHECK(nk_dtls_srtp_known(profiles[i]), ERR_NOT_SUPPORTED);
    struct nk_dtls *d = c->dtls;
    memcpy(d->srtp_offer, profiles, n * sizeof *profiles);
    d->n_srtp = (uint8_t)n;
    d->use_srtp = 1;
    return OK;
}

NK_API MSTATUS SSL_setSrtpInitCallback(funcPtrSrtpInitCallback_t cb)
{
    nk_settings()->funcPtrSrtpInitCallback = cb;
    return OK;
}

/* Process-wide, as the init callback: on every open DTLS-SRTP connection
 * SSL_send hands its data to cb and sends the packet it returns as one
 * datagram (drive/dtls_blocking.c, engine/dtls_srtp.c; ssl.h says who
 * frees what). NULL: SSL_send puts data in DTLS records again. */
NK_API MSTATUS SSL_setSrtpEncodeCallback(funcPtrSrtpEncodeCallback_t cb)
{
    nk_settings()->funcPtrSrtpEncodeCallback = cb;
    return OK;
}

/* The profiles DTLS_USE_SRTP offers when none were enabled: RFC 5764's
 * mandatory SRTP_AES128_CM_HMAC_SHA1_80 first, then RFC 7714's. */
static const ubyte2 default_profiles[] = { SRTP_AES128_CM_HMAC_SHA1_80, SRTP_AES128_CM_HMAC_SHA1_32,
                                           SRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_256_GCM };

MSTATUS nk_api_dtls_ioctl(struct nk_conn *c, ubyte4 setting, uintptr_t v)
{
    NK_CHECK(c->is_dtls, ERR_NOT_SUPPORTED);
    struct nk_dtls *d = c->dtls;
    switch (setting) {
    case DTLS_SET_HANDSHAKE_RETRANSMISSION_TIMER:   /* the first wait, ms (RFC 6347 §4.2.4.1) */
        NK_CHECK(v >= 1 && v <= NK_DTLS_RTO_MAX_MS, ERR_INVALID_ARG);
        d->rto_init_ms = (uint32_t)v;
        if (!c->hs)
            d->rto_ms = (uint32_t)v;
        return OK;
    case DTLS_SET_PMTU:   /* the largest datagram we send */
        NK_CHECK(v >= NK_DTLS_PMTU_MIN && v <= 65507, ERR_INVALID_ARG);
        d->pmtu = (uint16_t)v;
        return OK;
    case DTLS_USE_SRTP:
        NK_CHECK(!c->hs && c->status == SSL_CONNECTION_NEGOTIATE, ERR_SSL_BAD_STATE);
        d->use_srtp = v != 0;
        if (d->use_srtp && !d->n_srtp) {
            memcpy(d->srtp_offer, default_profiles, sizeof default_profiles);
            d->n_srtp = NK_ARRAY_LEN(default_profiles);
        }
        return OK;
    case DTLS_SET_HELLO_VERIFIED:   /* server: the cookie exchange happened elsewhere */
        NK_CHECK(c->role == NK_SERVER, ERR_SSL_BAD_STATE);
        d->hello_verified = v != 0;
        return OK;
    default:
        return ERR_NOT_SUPPORTED;
    }
}

NK_API MSTATUS NKTLS_getPeerAddress(sbyte4 h, ubyte2 *port, MOC_IP_ADDRESS_S *addr)
{
    GET(h, c);
    NK_CHECK(port && addr, ERR_NULL_POINTER);
    if (c->is_dtls && c->dtls->peer_len)
        return nk_addr_to_sdk(c->dtls->peer, c->dtls->peer_len, port, addr);
    NK_CHECK(c->fd >= 0, ERR_TCP_GETSOCKNAME);
    return TCP_getPeerName(c->fd, port, addr);
}
