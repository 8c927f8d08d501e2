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
/* Application data to send on an open DTLS-SRTP connection whose
 * application set SSL_setSrtpEncodeCallback (engine/dtls_srtp.c): 1 and
 * *pkt (malloc'ed, the caller frees it) the SRTP packet the callback made,
 * to go out as one datagram of its own, not in a record; 0 where the
 * callback does not apply (no use_srtp agreed, no callback, not open):
 * the data goes in DTLS records; < 0 the callback's error (the connection
 * stays usable), or ERR_SSL_SRTP_ENCODE_EMPTY for OK with no packet. */
MSTATUS nk_dtls_srtp_encode(struct nk_conn *c, const uint8_t *data, size_t len, uint8_t **pkt,
                            size_t *pkt_len) NK_MUST;

/* A socket address (a struct sockaddr of len bytes, at any alignment) as
 * the SDK reports it (common/mtcp.h: IPv4 in host order, a v4-mapped IPv6
 * address as IPv4), and its port (engine/addr.c). */
MSTATUS nk_addr_to_sdk(const void *addr, size_t len, ubyte2 *port, MOC_IP_ADDRESS_S *out) NK_MUST;
/* The SRTP callbacks' peerDescr: the peer's address (the client's, which a
 * server's cookie binds, or the connected socket's peer) and, where the
 * connection has a socket of its own, that socket's (an event-loop peer
 * shares the loop's: srcAddr stays zero). */
void nk_dtls_peer_descr(const struct nk_conn *c, peerDescr *out);

/* Application data out on an open DTLS connection: in records
 * (nk_app_write), or through the SRTP encode callback as a datagram of its
 * own in the output queue (nk_dtls_srtp_encode says when). */
MSTATUS nk_dtls_app_send(struct nk_conn *c, const uint8_t *data, size_t len) NK_MUST;

/* §4.2.1: whatever answers a ClientHello before a valid cookie (a
 * HelloVerifyRequest, the ServerHello, an alert) is numbered from the
 * hello's record number, not from anything an earlier hello left: the
 * client numbered this one after every hello it sent, so after every answer
 * it saw, and a spoofed hello numbered near 2^48 cannot use up the real
 * client's numbers. wr: the write key that answers. */
static inline void nk_dtls_number_answer(struct nk_rec_key *wr, uint64_t hello_rec_seq)
{
    wr->seq = hello_rec_seq;
}

/* A listener's datagram from an address it holds no connection for
 * (engine/dtls_listen.c, RFC 6347 §4.2.1), at now_ms (wall clock: the
 * cookie's time window). NK_DTLS_ACCEPT: the first record holds a
 * ClientHello with a valid cookie for peer: make a connection for peer
 * (nk_dtls_conn) and give it this datagram. NK_DTLS_REPLY: send reply
 * (*reply_len bytes: a HelloVerifyRequest) to peer, and keep nothing.
 * NK_DTLS_DROP: anything else. Allocates nothing. dg is only read. */
enum nk_dtls_verdict { NK_DTLS_DROP = 0, NK_DTLS_REPLY, NK_DTLS_ACCEPT };
/* Where the random of a ClientHello nk_dtls_listen accepted lies in its
 * datagram: behind the record header, the handshake header, client_version. */
#define NK_DTLS_HELLO_RANDOM_AT (NK_DTLS_HDR + NK_DTLS_HS_HDR + 2)
#define NK_DTLS_LISTEN_REPLY_MAX (NK_DTLS_HDR + NK_DTLS_HS_HDR + NK_DTLS_HVR_BODY)
enum nk_dtls_verdict nk_dtls_listen(uint8_t *dg, size_t n, const void *peer, size_t peer_len, int64_t now_ms,
                                    uint8_t reply[NK_DTLS_LISTEN_REPLY_MAX], size_t *reply_len);
/* The most application data one record can carry inside a datagram of the
 * PMTU under the current write key (DTLS_SET_PMTU; the suite's overhead). */
static inline size_t nk_dtls_max_message(const struct nk_conn *c)
{
    return nk_dtls_room(c->wr, c->dtls->pmtu);
}

#endif
