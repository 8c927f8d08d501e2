/* handshake/heartbeat.c — TLS heartbeats (RFC 6520), TLS 1.2 only (RFC 8446
 * has no heartbeat). Each hello may carry the heartbeat extension with the
 * sender's HeartbeatMode: peer_allowed_to_send (it answers requests) or
 * peer_not_allowed_to_send (it does not want them). Heartbeat records
 * (content type 24) are taken only where both hellos carried it, and only
 * once the handshake is over; a request is answered with its payload, a
 * response is matched against our one request in flight. Everything else a
 * peer sends in a heartbeat record is dropped without a word, as §4 asks:
 * in particular a request whose payload_length claims more than its record
 * holds (the shape of the attack that read a server's memory) gets nothing
 * back. Under kernel TLS the record arrives as a control record (its type
 * in a control message) and comes here the same way; our answers go out
 * through the driver's control-record path. */
#include "handshake/heartbeat.h"
#include "handshake/rare.h"
#include "handshake/hs.h"

struct nk_hb *nk_hb_of(const struct nk_tls *c)
{
    return c->rare_on && c->rare->hb.mode ? &c->rare->hb : NULL;
}

MSTATUS nk_hb_enable(struct nk_tls *c, int mode, sbyte4 (*cb)(sbyte4, sbyte4, ubyte))
{
    struct nk_rare *r;
    if (mode == noHeartbeatMessages) {
        nk_hb_free(c);
        return OK;
    }
    NK_CHECK(mode == peerAllowedToSend || mode == peerNotAllowedToSend, ERR_INVALID_ARG);
    NK_TRY(nk_rare_get(c, &r));
    r->hb.mode = (uint8_t)mode;
    r->hb.cb = cb;
    return OK;
}

void nk_hb_free(struct nk_tls *c)
{
    if (c->rare_on)
        memset(&c->rare->hb, 0, sizeof c->rare->hb);
}

int nk_hb_write_ext(const struct nk_tls *c, struct nk_wr *w)
{
    /* §2: a client offering TLS 1.2; a server in answer to the client's. */
    const struct nk_hb *hb = nk_hb_of(c);
    if (!hb || (c->role == NK_CLIENT ? c->min_minor > 3 : !hb->peer_mode))
        return 0;
    nk_wr_u16(w, NK_EXT_HEARTBEAT);
    nk_wr_u16(w, 1);
    nk_wr_u8(w, hb->mode);
    return 1;
}

MSTATUS nk_hb_read_ext(struct nk_tls *c, const struct nk_rd *ext)
{
    uint8_t mode;
    struct nk_hb *hb = nk_hb_of(c);
    if (!ext || !hb)   /* a server not enabled ignores the client's */
        return OK;
    struct nk_rd r = *ext;
    NK_TRY(nk_rd_u8(&r, &mode));
    NK_TRY(nk_rd_done(&r));
    /* §2: "Upon reception of an unknown mode, an error Alert message using
     * illegal_parameter as its AlertDescription MUST be sent in response." */
    NK_CHECK(mode == peerAllowedToSend || mode == peerNotAllowedToSend, ERR_SSL_ILLEGAL_PARAMETER);
    hb->peer_mode = mode;
    return OK;
}

static void told(struct nk_tls *c, ubyte type)
{
    struct nk_hb *hb = nk_hb_of(c);
    if (hb->cb)
        (void)hb->cb(c->handle, OK, type);
}

/* §4: "When a HeartbeatRequest message is received ... the receiver MUST
 * send a corresponding HeartbeatResponse message carrying an exact copy of
 * the payload of the received HeartbeatRequest." */
static MSTATUS answer(struct nk_tls *c, const uint8_t *payload, uint16_t len)
{
    size_t total = 3u + len + NK_HB_PADDING;
    /* §4: "The total length of a HeartbeatMessage MUST NOT exceed 2^14 or
     * max_fragment_length when negotiated": one we may not send in one
     * record goes unanswered. */
    if (total > c->send_limit)
        return OK;
    uint8_t *m = malloc(total);
    NK_CHECK(m, ERR_MEM_ALLOC_FAIL);
    m[0] = NK_HB_RESPONSE;
    nk_store16(m + 1, len);
    memcpy(m + 3, payload, len);
    MSTATUS st = nk_random(m + 3 + len, NK_HB_PADDING);
    if (st == OK)
        st = nk_send_records(c, NK_CT_HEARTBEAT, m, total);
    free(m);
    if (st == OK)
        told(c, NK_HB_REQUEST);
    return st;
}

MSTATUS nk_hb_on_record(struct nk_tls *c, const uint8_t *d, size_t n)
{
    struct nk_hb *hb = nk_hb_of(c);
    uint8_t type;
    uint16_t len;
    struct nk_rd r;
    /* Without the extension on both sides (and in TLS 1.3) content type 24
     * is one this connection does not know. */
    NK_CHECK(hb && hb->peer_mode, ERR_SSL_UNEXPECTED_MESSAGE);
    /* §3: "Heartbeat messages MUST NOT be sent during handshakes ... The
     * receiving peer SHOULD discard the message silently". */
    if (c->hs || c->status != SSL_CONNECTION_OPEN)
        return OK;
    nk_rd_init(&r, d, n);
    if (nk_rd_u8(&r, &type) != OK || nk_rd_u16(&r, &len) != OK)
        return OK;
    /* §4: "The padding_length MUST be at least 16" and "If the
     * payload_length of a received HeartbeatMessage is too large, the
     * received HeartbeatMessage MUST be discarded silently." */
    if ((size_t)len + NK_HB_PADDING > nk_rd_left(&r))
        return OK;
    switch (type) {
    case NK_HB_REQUEST:
        /* §2: we said peer_not_allowed_to_send: "the endpoint SHOULD drop
         * the message silently". */
        return hb->mode == peerAllowedToSend ? answer(c, r.p, len) : OK;
    case NK_HB_RESPONSE:
        /* §4: "If a received HeartbeatResponse message does not contain the
         * expected payload, the message MUST be discarded silently." */
        if (!hb->in_flight || len != NK_HB_PAYLOAD || memcmp(r.p, hb->payload, NK_HB_PAYLOAD) != 0)
            return OK;
        hb->in_flight = 0;
        told(c, NK_HB_RESPONSE);
        return OK;
    default:   /* §3: "Unknown HeartbeatMessageTypes ... MUST be discarded silently" */
        return OK;
    }
}

MSTATUS nk_hb_send_request(struct nk_tls *c)
{
    struct nk_hb *hb = nk_hb_of(c);
    uint8_t m[3 + NK_HB_PAYLOAD + NK_HB_PADDING];
    /* §2: "the peer ... MUST NOT send HeartbeatRequest messages" to one that
     * said peer_not_allowed_to_send, or sent no extension. */
    NK_CHECK(hb && hb->peer_mode == peerAllowedToSend && c->minor == 3, ERR_SSL_HEARTBEAT_REFUSED);
    /* §3: "there MUST NOT be more than one HeartbeatRequest message in
     * flight at a time." */
    NK_CHECK(!hb->in_flight, ERR_SSL_HEARTBEAT_IN_FLIGHT);
    m[0] = NK_HB_REQUEST;
    nk_store16(m + 1, NK_HB_PAYLOAD);
    NK_TRY(nk_random(hb->payload, NK_HB_PAYLOAD));
    memcpy(m + 3, hb->payload, NK_HB_PAYLOAD);
    NK_TRY(nk_random(m + 3 + NK_HB_PAYLOAD, NK_HB_PADDING));
    NK_TRY(nk_send_records(c, NK_CT_HEARTBEAT, m, sizeof m));
    hb->in_flight = 1;
    return OK;
}
