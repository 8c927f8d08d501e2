/* engine/dtls.h — the engine's DTLS 1.2 side (engine/dtls.c): one datagram
 * in at a time, records walked and opened by epoch, handshake fragments
 * reassembled and handed to the state tables, datagrams out one at a time,
 * the retransmission timer on the driver's clock. Drivers: the in-memory
 * tests today; the UDP drivers on the same calls. */
#ifndef NK_ENGINE_DTLS_H
#define NK_ENGINE_DTLS_H

#include "engine/conn.h"
#include "handshake/dtls12.h"

/* Make a new connection (nothing sent or received yet) a DTLS 1.2 one;
 * peer (peer_len bytes, at most NK_DTLS_ADDR_MAX: a sockaddr) is the
 * client's address, which a server's cookie is bound to. */
MSTATUS nk_dtls_conn(struct nk_conn *c, const void *peer, size_t peer_len) NK_MUST;
/* nk_engine_start for DTLS: now_ms is the driver's clock (the timer). */
MSTATUS nk_dtls_engine_start(struct nk_conn *c, int64_t now_ms) NK_MUST;
/* One datagram from the peer, at now_ms. Records that fail to open are
 * dropped (RFC 6347 §4.1.2.7), never an error. Application data stops the
 * walk; once it is read, call again with d NULL while nk_dtls_in_pending
 * says records of the datagram are left. ERR_SSL_BAD_STATE while data
 * waits to be read. */
MSTATUS nk_dtls_in(struct nk_conn *c, const uint8_t *d, size_t n, int64_t now_ms) NK_MUST;
int nk_dtls_in_pending(const struct nk_conn *c);
/* The next datagram to send (NULL: none), then take it. */
const uint8_t *nk_dtls_out(struct nk_conn *c, size_t *len);
void nk_dtls_out_ack(struct nk_conn *c);
/* The most application data one record can carry inside a datagram of the
 * PMTU under the current write key (DTLS_SET_PMTU; the suite's overhead). */
static inline size_t nk_dtls_max_message(const struct nk_conn *c)
{
    return nk_dtls_room(c->wr, c->dtls->pmtu);
}

#endif
