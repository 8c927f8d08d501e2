/* engine/dtls_srtp.c — DTLS-SRTP's encode callback (SSL_setSrtpEncodeCallback):
 * once use_srtp was agreed (RFC 5764 §4.1) and the application set the
 * callback, what it sends is not put in DTLS records. The callback
 * SRTP-protects it (include/nktls/srtp.h, with the keys the init callback
 * got) and the driver sends the packet as one datagram on the connection's
 * socket, where the peer tells it from DTLS by its first byte (RFC 5764
 * §5.1.2, RFC 7983). The blocking driver sends the packet itself
 * (drive/dtls_blocking.c); the asynchronous API and the event loop queue it
 * among the connection's datagrams (nk_dtls_app_send). */
#include <stdlib.h>
#include "engine/dtls.h"

MSTATUS nk_dtls_srtp_encode(struct nk_conn *c, const uint8_t *data, size_t len, uint8_t **pkt, size_t *pkt_len)
{
    funcPtrSrtpEncodeCallback_t cb = c->cfg->ssl.funcPtrSrtpEncodeCallback;
    *pkt = NULL;
    *pkt_len = 0;
    if (!c->is_dtls || !cb || !c->dtls->srtp_profile || c->status != SSL_CONNECTION_OPEN)
        return 0;
    /* As for records (nk_app_write): not on a failed connection, nor after
     * our close_notify. */
    if (c->err < 0)
        return c->err;
    NK_CHECK(!c->sent_close_notify, ERR_SSL_NOT_OPEN);
    NK_CHECK(len <= UINT32_MAX, ERR_INVALID_ARG);
    peerDescr peer;
    nk_dtls_peer_descr(c, &peer);
    ubyte *enc = NULL;
    ubyte4 enc_len = 0;
    sbyte4 r = cb(c->handle, &peer, (const sbyte *)data, (ubyte4)len, &enc, &enc_len);
    /* The packet is the callback's malloc'ed buffer, ours from here on
     * (ssl.h, SSL_setSrtpEncodeCallback): freed on every path. */
    if (r < 0 || !enc || !enc_len) {
        free(enc);
        return r < 0 ? (MSTATUS)r : ERR_SSL_SRTP_ENCODE_EMPTY;
    }
    *pkt = enc;
    *pkt_len = enc_len;
    return 1;
}

MSTATUS nk_dtls_app_send(struct nk_conn *c, const uint8_t *data, size_t len)
{
    uint8_t *pkt;
    size_t n;
    MSTATUS st = nk_dtls_srtp_encode(c, data, len, &pkt, &n);
    if (st == 0)
        return nk_app_write(c, data, len);
    if (st > 0) {
        st = nk_dtls_put_datagram(&c->tls, pkt, n);
        free(pkt);
    }
    return st;
}
