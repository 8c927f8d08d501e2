/* handshake/heartbeat.h — TLS heartbeats (RFC 6520), TLS 1.2 only: TLS 1.3
 * has none. The state exists only on connections that enabled them
 * (SSL_enableHeartbeatSupport), in their rare state (handshake/rare.h). */
#ifndef NK_HS_HEARTBEAT_H
#define NK_HS_HEARTBEAT_H

#include "handshake/tls.h"

/* RFC 6520 §3: HeartbeatMessageType. */
#define NK_HB_REQUEST 1
#define NK_HB_RESPONSE 2
/* Our request's payload, and the padding of what we send ("at least 16"). */
#define NK_HB_PAYLOAD 16
#define NK_HB_PADDING 16

struct nk_hb {
    uint8_t mode;              /* the HeartbeatMode we send (E_HeartbeatExtension) */
    uint8_t peer_mode;         /* the peer's, from its hello; 0: it sent none */
    uint8_t in_flight;         /* our request awaits its response */
    uint8_t payload[NK_HB_PAYLOAD];   /* that request's payload */
    sbyte4 (*cb)(sbyte4, sbyte4, ubyte);
};

/* The connection's heartbeat state while enabled, else NULL. */
struct nk_hb *nk_hb_of(const struct nk_tls *c);
/* SSL_enableHeartbeatSupport: mode noHeartbeatMessages clears the state. */
MSTATUS nk_hb_enable(struct nk_tls *c, int mode, sbyte4 (*cb)(sbyte4, sbyte4, ubyte)) NK_MUST;
void nk_hb_free(struct nk_tls *c);
/* Our hello's extension (the ClientHello; the ServerHello only when the
 * client sent one): 1 if written. */
int nk_hb_write_ext(const struct nk_tls *c, struct nk_wr *w);
/* The peer's hello carried ext (NULL: none): its mode, illegal_parameter
 * when unknown (§2). A ServerHello's when we did not ask is the caller's
 * unsupported_extension. */
MSTATUS nk_hb_read_ext(struct nk_tls *c, const struct nk_rd *ext) NK_MUST;
/* A heartbeat record's content (engine/engine.c). */
MSTATUS nk_hb_on_record(struct nk_tls *c, const uint8_t *d, size_t n) NK_MUST;
/* Queue a HeartbeatRequest (SSL_sendHeartbeatMessage). */
MSTATUS nk_hb_send_request(struct nk_tls *c) NK_MUST;

#endif
