/* handshake/dtls12.h — the DTLS 1.2 handshake (RFC 6347 §4.2) on the TLS 1.2
 * state tables: what a DTLS connection keeps beside its protocol state
 * (struct nk_dtls, behind c->dtls, allocated only for DTLS connections),
 * the hello exchange with its stateless cookie (handshake/dtls12_hello.c),
 * and the output side: message_seq, fragments cut to the PMTU, records
 * packed into datagrams, flights kept and retransmitted
 * (handshake/dtls12_flight.c). The engine's datagram input is
 * engine/dtls.c. */
#ifndef NK_HS_DTLS12_H
#define NK_HS_DTLS12_H

#include "handshake/hs.h"
#include "handshake/dtls12_frag.h"
#include "record/dtls12.h"

/* RFC 6347 §4.2.1: hello_verify_request(3). */
#define NK_HS_HELLO_VERIFY_REQUEST 3
/* §4.2.4.1: "an initial timer value of 1 second", doubled "up to no less
 * than the RFC 6298 maximum of 60 seconds". */
#define NK_DTLS_RTO_INIT_MS 1000
#define NK_DTLS_RTO_MAX_MS 60000
/* The datagram payload we send at most by default (DTLS_SET_PMTU). */
#define NK_DTLS_PMTU NK_DTLS_FRAG_PAYLOAD
/* The smallest PMTU we accept: a record header, an AEAD's overhead, a
 * fragment header and a few bytes of body. */
#define NK_DTLS_PMTU_MIN 64
/* Our cookie: HMAC-SHA256 of the client's address and hello, truncated. */
#define NK_DTLS_COOKIE_LEN 32
/* SRTP protection profiles a connection offers at most. */
#define NK_DTLS_SRTP_MAX 8
/* RFC 5764 §9: use_srtp is extension 14. */
#define NK_EXT_USE_SRTP 14
/* RFC 5764 §4.2: the exporter's label. */
#define NK_DTLS_SRTP_LABEL "EXTRACTOR-dtls_srtp"
/* The longest keying material: 2 × (32-byte key + 14-byte salt). */
#define NK_DTLS_SRTP_KM 92
/* The longest peer address kept (a struct sockaddr_in6). */
#define NK_DTLS_ADDR_MAX 28

struct nk_dtls {
    struct nk_dtls_reasm ra;       /* the peer's messages, in message_seq order */
    struct nk_dtls_in in_cur;      /* the read key's window and the drop counts */
    struct nk_dtls_in in_old;      /* epoch 0's window once the read key moved on */
    /* §4.1: "implementations MUST accept packets from the old epoch" while
     * the peer may still retransmit them, and we retransmit ours in theirs:
     * the keyless epoch-0 states, kept when the ChangeCipherSpec moves on. */
    struct nk_rec_key rd0, wr0;
    /* The last flight we sent (§4.2.4), entries of content type (1), epoch
     * (2), message type (1), message_seq (2), length (4), body. */
    struct nk_buf flight;
    uint16_t send_seq;             /* our next message_seq */
    uint16_t pmtu;                 /* largest datagram we send */
    uint32_t peer_flight_start;    /* next_receive_seq when our flight went out:
                                    * a message below it is a retransmission of
                                    * a flight we answered already */
    uint32_t rto_init_ms, rto_ms;  /* retransmission timer: first, current */
    int64_t now_ms;                /* the driver's clock at the last call */
    int64_t rtx_at;                /* retransmit then (driver's clock); 0: no timer */
    uint32_t dg_start;             /* offset in c->out of the open datagram's length */
    uint32_t in_pos;               /* where the walk of c->in stopped (application data) */
    uint32_t retransmits;          /* flights sent again (timer and peer's repeats) */
    uint8_t new_flight;            /* we received: our next message begins a flight */
    uint8_t sent_flight;           /* a flight message went out in this call */
    uint8_t last_sender;           /* we sent the handshake's last flight (§4.2.4) */
    uint8_t hello_verified;        /* server: DTLS_SET_HELLO_VERIFIED, no cookie exchange */
    uint8_t rtx_done;              /* answered a repeat in this datagram already */
    uint8_t peer_len;
    uint8_t peer[NK_DTLS_ADDR_MAX];   /* server: the client's address, for the cookie */
    uint8_t hello_tag[8];          /* a listener's server: the start of the random of the
                                    * ClientHello that made it (RFC 6347 §4.2.8) */
    uint64_t in_rec_seq;           /* the record sequence number of the record being read */
    /* DTLS-SRTP (RFC 5764, handshake/dtls12_srtp.c) */
    uint8_t use_srtp;              /* DTLS_USE_SRTP: offer (client) / accept (server) use_srtp */
    uint8_t n_srtp;
    uint16_t srtp_offer[NK_DTLS_SRTP_MAX];   /* SSL_enableSrtpProfiles, our order */
    uint16_t srtp_profile;         /* agreed (0: none) */
    uint8_t srtp_told;             /* the keys went to the application */
    uint8_t mki_len;
    uint8_t mki[255];              /* client: the MKI offered; then the one agreed */
};

static inline struct nk_dtls *nk_dtls_of(const struct nk_tls *c) { return c->is_dtls ? c->dtls : NULL; }

/* Make c a DTLS 1.2 connection: its state, keyless epoch-0 record keys,
 * version 1.2 only, and the suites DTLS can carry (ECDHE with an AEAD). */
MSTATUS nk_dtls_init(struct nk_tls *c) NK_MUST;
void nk_dtls_free(struct nk_tls *c);

/* Output (dtls12_flight.c). The TLS 1.2 handshake's messages arrive in
 * their TLS form (4-byte header); add_transcript: hash the DTLS form
 * (§4.2.6) first. Records of other types are sent at once, never kept. */
MSTATUS nk_dtls_send_message(struct nk_tls *c, const uint8_t *msg, size_t n, int add_transcript) NK_MUST;
MSTATUS nk_dtls_send(struct nk_tls *c, uint8_t type, const uint8_t *d, size_t n) NK_MUST;
/* One handshake message sent outside any flight (a HelloVerifyRequest). */
MSTATUS nk_dtls_send_unkept(struct nk_tls *c, uint8_t type, uint16_t seq, const uint8_t *body, size_t len) NK_MUST;
/* The datagram being filled takes no more records: what is sent next
 * starts a datagram of its own (an asynchronous application's message is
 * one datagram, drive/async_dtls.c). */
void nk_dtls_end_datagram(struct nk_tls *c);
/* A datagram the application made (an SRTP packet from the encode
 * callback, RFC 5764 §5.1.2) queued whole behind ours, in a datagram of its
 * own: no record, no key; the drivers send it like any other. */
MSTATUS nk_dtls_put_datagram(struct nk_tls *c, const uint8_t *p, size_t n) NK_MUST;
/* Send the last flight again. */
MSTATUS nk_dtls_retransmit(struct nk_tls *c) NK_MUST;
/* After a call that may have sent a flight: arm the timer (a flight that
 * waits for an answer), or stop it (the handshake is over). */
void nk_dtls_flight_done(struct nk_tls *c);
/* The timer: retransmit when due, doubling the wait up to 60 s. */
MSTATUS nk_dtls_on_timer(struct nk_tls *c, int64_t now_ms) NK_MUST;
/* The next datagram waiting in c->out (its length), or NULL; then take it. */
const uint8_t *nk_dtls_out_datagram(const struct nk_tls *c, size_t *len);
size_t nk_dtls_out_datagram_len(const struct nk_tls *c);

/* DTLS-SRTP (dtls12_srtp.c), RFC 5764 §4.1. The profiles we know (the
 * NULL-cipher ones are never offered); the client's use_srtp; the server's
 * reading of the client's and its answer; the client's check of it. */
int nk_dtls_srtp_known(uint16_t profile);
void nk_dtls_srtp_write_client(const struct nk_tls *c, struct nk_wr *w);
MSTATUS nk_dtls_srtp_on_client_hello(struct nk_tls *c, const struct nk_ext *exts, size_t n) NK_MUST;
void nk_dtls_srtp_write_server(const struct nk_tls *c, struct nk_wr *w);
MSTATUS nk_dtls_srtp_on_server_hello(struct nk_tls *c, const struct nk_ext *x) NK_MUST;
/* §4.2: the keying material of the agreed profile, 2 × (key + salt) bytes
 * (*n), client_write_SRTP_master_key, server_write_SRTP_master_key,
 * client_write_SRTP_master_salt, server_write_SRTP_master_salt. */
MSTATUS nk_dtls_srtp_keys(const struct nk_tls *c, uint8_t out[NK_DTLS_SRTP_KM], size_t *n) NK_MUST;
/* The agreed profile's master key and salt lengths (0 for an unknown one). */
void nk_dtls_srtp_sizes(uint16_t profile, uint8_t *key_len, uint8_t *salt_len);

/* The hello exchange (dtls12_hello.c). */
extern const struct nk_protocol nk_dtls12_client, nk_dtls12_server;
/* The server, before a ClientHello with a valid cookie, keeps nothing of
 * the client's (§4.2.1): this ClientHello fragment restarts the exchange
 * at its message_seq. */
int nk_dtls_hello_stateless(const struct nk_tls *c);
/* A listener's stateless look at a ClientHello body (msg, n bytes) from
 * peer, at now (ms, wall clock: the cookie's time window): OK and *valid
 * when its cookie is ours; otherwise hvr is the HelloVerifyRequest body that
 * answers it. An error: the hello is malformed or of a version we refuse. */
#define NK_DTLS_HVR_BODY (3 + NK_DTLS_COOKIE_LEN)
MSTATUS nk_dtls_hello_check(const uint8_t *peer, size_t peer_len, int64_t now, const uint8_t *msg, size_t n,
                            int *valid, uint8_t hvr[NK_DTLS_HVR_BODY]) NK_MUST;
/* A ChangeCipherSpec the state table would take now that comes before the
 * rest of its flight: a message of the flight is still being reassembled,
 * or (client) the NewSessionTicket the ServerHello promised, which RFC 5077
 * §3.3 puts before it, was lost. The engine drops it; the peer's
 * retransmission brings the flight whole (RFC 6347 §4.2.4). */
int nk_dtls_ccs_early(const struct nk_tls *c);
/* The server's cookie secret rotates; tests and the drivers may fix it. */
void nk_dtls_cookie_secret_set(const uint8_t key[32]);

#endif
