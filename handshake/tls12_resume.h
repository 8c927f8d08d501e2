/* handshake/tls12_resume.h — TLS 1.2 resumption by session id (RFC 5246
 * §7.3, §7.4.1.2, §7.4.1.3): the session caches (tls12_cache.c) and the
 * abbreviated handshake on both sides (tls12_resume.c). */
#ifndef NK_TLS12_RESUME_H
#define NK_TLS12_RESUME_H

#include "handshake/tls12.h"

struct nk_client_hello;

/* ---- the caches (handshake/tls12_cache.c) ----
 *
 * Two process-wide caches, one per role, shared by every connection and
 * thread (a mutex each). The server's is the sessions it may resume; the
 * client's is the record of its own sessions, so that an id and master
 * secret handed back to SSL_connect are offered only with the suite, the
 * extended master secret and the server name they were made with (RFC 5246
 * §7.4.1.3: the server MUST resume with the session's suite; the client
 * checks it). Each holds at most limits.session_cache entries, each for
 * limits.session_lifetime seconds; the oldest is evicted when a new one
 * needs room. Every entry removed is wiped. */
enum { NK_CACHE12_CLIENT = 0, NK_CACHE12_SERVER = 1 };

struct nk_session12 {
    uint8_t id[32];
    uint8_t id_len;                 /* 1..32 */
    uint8_t ems;                    /* made with the extended master secret */
    uint16_t suite;
    uint8_t master[NK_TLS12_MASTER];
    /* Server: nk_ticket_binding (store and trust, client-authentication
     * policy, server name, ALPN); client: the hash of the server name. */
    uint8_t binding[32];
    int64_t made;                   /* seconds since the epoch */
    uint8_t *chain;                 /* server: the client's chain (c->peer_chain's form), or NULL */
    uint32_t chain_len;
    uint8_t *ticket;                /* client: the server's RFC 5077 ticket, or NULL */
    uint16_t ticket_len;
};

/* Copy s into the cache (replacing an entry with its id); a failure only
 * means the session is not kept. */
MSTATUS nk_cache12_put(int which, const struct nk_session12 *s, const struct nk_limits *lim,
                       int64_t now) NK_MUST;
/* 1: the live entry with this id is copied into out (the caller clears
 * it); 0: there is none (never was, evicted, expired), or no memory to copy
 * it, and out is empty. */
int nk_cache12_get(int which, const uint8_t *id, size_t id_len, const struct nk_limits *lim, int64_t now,
                   struct nk_session12 *out);
/* Wipe and free every entry of one cache (tests; SSL_shutdownStack). */
void nk_cache12_flush(int which);
/* Entries held now (tests). */
size_t nk_cache12_count(int which);
void nk_session12_clear(struct nk_session12 *s);

/* ---- the abbreviated handshake (handshake/tls12_resume.c) ---- */

/* Server, on a ClientHello that chose TLS 1.2, after its extensions are read:
 * 1 when the session it names is resumed (c->suite and the master secret
 * set), 0 for a full handshake with a fresh session id in hs->session_id
 * (or none when the cache is off). An unknown, expired or unsuitable session
 * is a full handshake, never an error. */
MSTATUS nk_tls12_server_resume(struct nk_tls *c, const struct nk_client_hello *ch) NK_MUST;
/* Server, resumed: after the ServerHello, the key block, ChangeCipherSpec
 * and Finished (RFC 5246 §7.3, Figure 2); NK_HS_ALT2 for the resumed rows
 * (NK_HS_ALT is the CertificateRequest's). */
MSTATUS nk_tls12_server_resumed_flight(struct nk_tls *c) NK_MUST;
/* Server: the client's Finished of a resumed handshake. */
MSTATUS nk_tls12_on_resumed_client_finished(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw,
                                            size_t n) NK_MUST;
/* Server, full handshake, client Finished verified: keep the session. */
void nk_tls12_server_keep(struct nk_tls *c);

/* Client: SSL_connect's session id and master secret, kept for the
 * handshake's start (ERR_INVALID_ARG for a length over 32,
 * ERR_SSL_BAD_STATE once it started). */
MSTATUS nk_tls12_client_offer(struct nk_tls *c, uint8_t id_len, const uint8_t *id, const uint8_t *master) NK_MUST;
/* Client, as its ClientHello is made: offer that session's id when the
 * client cache knows it for this server name and it is live. */
MSTATUS nk_tls12_client_load(struct nk_tls *c) NK_MUST;
/* Client, TLS 1.2 ServerHello read: the echoed id resumes (NK_HS_ALT, keys
 * derived) when it is the one offered and the suite is the session's; any
 * other id is a full handshake's new session. */
MSTATUS nk_tls12_client_resume(struct nk_tls *c, struct nk_rd sid, const struct nk_ext *e, size_t ne) NK_MUST;
/* Client: the server's Finished of a resumed handshake, then ours. */
MSTATUS nk_tls12_on_resumed_server_finished(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw,
                                            size_t n) NK_MUST;
/* Client, full handshake done: keep the session (c->resumption, the cache). */
void nk_tls12_client_keep(struct nk_tls *c);
/* SSL_getClientSessionInfo: a TLS 1.2 client's session id and master
 * secret; id length 0 for TLS 1.3 or a server that gave no id. */
MSTATUS nk_tls12_session_info(const struct nk_tls *c, uint8_t *id_len, uint8_t *id, uint8_t *master) NK_MUST;

/* ---- RFC 5077 tickets (handshake/tls12_ticket.c) ---- */

/* Server: the session in the ClientHello's ticket into s (1), or none (0:
 * no ticket, not ours, expired, not a TLS 1.2 session). */
int nk_tls12_ticket_session(struct nk_tls *c, const struct nk_client_hello *ch, struct nk_session12 *s);
/* Server: the NewSessionTicket, when the ServerHello promised one. */
MSTATUS nk_tls12_send_ticket(struct nk_tls *c) NK_MUST;
/* Client: the SessionTicket extension of the ClientHello. */
void nk_tls12_write_ticket_ext(struct nk_tls *c, struct nk_wr *w);
/* Client: the ServerHello's SessionTicket extension (a ticket is due). */
MSTATUS nk_tls12_client_ticket_ext(struct nk_tls *c, const struct nk_ext *e, size_t ne) NK_MUST;
MSTATUS nk_tls12_on_new_session_ticket(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n) NK_MUST;
/* Client: the server's ChangeCipherSpec, after the ticket it promised. */
MSTATUS nk_tls12_client_on_ccs(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n) NK_MUST;

#endif
