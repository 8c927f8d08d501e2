/* handshake/psk.h — resumption: session tickets (ticket.c) and the PSK offer
 * and acceptance in the hellos (psk.c), RFC 8446 §2.2, §4.2.11, §4.6.1. */
#ifndef NK_PSK_H
#define NK_PSK_H

#include "handshake/hs.h"

/* What a client keeps from a NewSessionTicket (the public tls13PSK). */
struct tls13PSK {
    uint16_t suite;
    uint8_t psk[NK_MAX_HASH];
    uint8_t psk_len;
    uint32_t age_add, lifetime;
    uint64_t received;        /* seconds since the epoch */
    uint8_t *ticket;          /* a resumption ticket, or an external PSK's identity */
    uint16_t ticket_len;
    uint32_t max_early;       /* the ticket's max_early_data_size (§4.6.1; 0: no 0-RTT) */
    uint8_t external;         /* an external PSK (handshake/psk_ext.c): "ext binder", age 0 */
    /* The ALPN protocol of the connection that got the ticket ("": none),
     * kept with a ticket that allows 0-RTT: §4.2.10, early data is the
     * PSK's protocol's (tls13_early.c sends it only when offering that first). */
    char alpn[NK_ALPN_MAX];
};

#define NK_TICKET_BINDING 32
/* The longest client chain a ticket carries (the ticket is <1..2^16-1>). */
#define NK_TICKET_MAX_CHAIN (0xffff - 256)

/* What a server finds inside one of its tickets. */
struct nk_ticket_state {
    uint16_t suite;
    uint32_t age_add;
    time_t issued;
    uint8_t psk[NK_MAX_HASH];
    uint8_t psk_len;
    uint8_t binding[NK_TICKET_BINDING];   /* nk_ticket_binding at issue */
    uint8_t *chain;                       /* the client's chain (conn.h's form), or NULL */
    uint32_t chain_len;
    uint32_t max_early;                   /* max_early_data_size it was issued with */
};

void nk_psk_free(struct tls13PSK *p);
/* The form a client's save and retrieve callbacks carry (SSL_serializePSK,
 * SSL_deserializePSK); a blob that is not one is ERR_INVALID_ARG. */
MSTATUS nk_psk_serialize(const struct tls13PSK *p, uint8_t **out, uint32_t *out_len) NK_MUST;
MSTATUS nk_psk_deserialize(const uint8_t *in, uint32_t len, struct tls13PSK **out) NK_MUST;

/* ticket.c */
/* rnd: NK_TICKET_RND fresh random bytes for this ticket (age_add, sealing
 * nonce), drawn together with others by the caller; NULL to draw them here. */
#define NK_TICKET_RND 16
MSTATUS nk_ticket_send(struct nk_tls *c, uint8_t nonce, const uint8_t *rnd) NK_MUST;
/* A ticket of len bytes of secret (TLS 1.2: the master secret, RFC 5077)
 * sealed as TLS 1.3's are, with this binding, onto w. */
MSTATUS nk_ticket_seal(const struct nk_tls *c, const uint8_t *secret, size_t len,
                       const uint8_t binding[NK_TICKET_BINDING], struct nk_wr *w) NK_MUST;
/* Opens one of our tickets (TLS 1.3's or TLS 1.2's: out->suite says); the caller owns out->chain and clears out with
 * nk_ticket_state_clear. */
MSTATUS nk_ticket_open(const uint8_t *ticket, size_t len, time_t now, struct nk_ticket_state *out) NK_MUST;
void nk_ticket_state_clear(struct nk_ticket_state *t);
/* The ticket's contents in the clear (what is sealed, or what a server store
 * keeps), and back; whether a ticket issued then is still within its lifetime. */
MSTATUS nk_ticket_plaintext(const struct nk_tls *c, const uint8_t *psk, size_t hl, uint32_t age_add,
                            const uint8_t *binding, struct nk_buf *b) NK_MUST;
MSTATUS nk_ticket_fields(const uint8_t *p, size_t n, struct nk_ticket_state *out) NK_MUST;
int nk_ticket_current(const struct nk_ticket_state *t, time_t now, uint32_t lifetime);

/* ticket_store.c: a server that keeps its TLS 1.3 sessions through the
 * application's callbacks (SSL_setServerSavePSKCallback, ...Lookup...,
 * ...Delete...) instead of sealing them into the tickets. */
int nk_ticket_store_on(const struct nk_tls *c);
/* Save this session under a fresh identity, written onto w as the ticket;
 * *refused when the save callback refused it (no ticket is sent). */
MSTATUS nk_ticket_store_save(struct nk_tls *c, const uint8_t *psk, size_t hl, uint32_t age_add,
                             const uint8_t *binding, struct nk_wr *w, int *refused) NK_MUST;
/* The session saved under this identity, taken out of the store (deleted:
 * each is used once); ERR_SSL_HANDSHAKE_FAILURE when the store has none
 * or it has expired (a full handshake follows). */
MSTATUS nk_ticket_store_take(struct nk_tls *c, const uint8_t *id, size_t id_len,
                             struct nk_ticket_state *out) NK_MUST;
/* What a ticket is bound to on this connection: the store and its trust, the
 * client-authentication policy, the server name and the ALPN protocol. */
MSTATUS nk_ticket_binding(const struct nk_tls *c, uint8_t out[NK_TICKET_BINDING]) NK_MUST;
MSTATUS nk_ticket_received(struct nk_tls *c, uint32_t lifetime, uint32_t age_add, const uint8_t *nonce,
                           size_t nlen, const uint8_t *ticket, size_t tlen, uint32_t max_early) NK_MUST;

/* psk.c, client */
MSTATUS nk_psk_client_load(struct nk_tls *c) NK_MUST;          /* ask the retrieve callback */
/* Could this handshake end in a ticket we keep, or resume one (a save
 * callback is set, or a ticket is offered)? */
int nk_psk_client_may_resume(const struct nk_tls *c);
/* psk_key_exchange_modes when resumption is possible, then pre_shared_key when
 * a ticket is offered: the last CH extensions. */
void nk_psk_client_write(struct nk_tls *c, struct nk_wr *w);
MSTATUS nk_psk_client_bind(struct nk_tls *c) NK_MUST;          /* fill the binder in hs->msg */
MSTATUS nk_psk_client_accepted(struct nk_tls *c, const struct nk_ext *x) NK_MUST;

/* psk.c, server: accept the client's ticket if it is good; never fails the
 * handshake for a ticket it cannot use, only for a wrong binder. */
MSTATUS nk_psk_server_check(struct nk_tls *c, const struct nk_ext *exts, size_t n, const uint8_t *raw,
                            size_t raw_len) NK_MUST;

/* psk_ext.c: external PSKs (RFC 8446 §2.2, §4.2.11), TLS 1.3 */
/* A client that loaded no ticket offers the application's external PSK:
 * sslSettings.funcPtrChoosePSK's, else the first of its store's
 * (CERT_STORE_addIdentityPSK). */
MSTATUS nk_psk_ext_client_load(struct nk_tls *c) NK_MUST;
/* A client offering only psk_ke (NKTLS_FLAG_PSK_KE with an external PSK):
 * its ClientHello carries no key share. */
int nk_psk_ext_client_ke_only(const struct nk_tls *c);
/* A server: the key of an identity the client offered, from
 * sslSettings.funcPtrLookupPSK, else from the server's store. 0: unknown. */
int nk_psk_ext_server_lookup(struct nk_tls *c, const uint8_t *id, size_t id_len, uint8_t psk[NK_MAX_HASH],
                             size_t *psk_len);
/* A server: may this ClientHello be answered with psk_ke, without (EC)DHE?
 * (NKTLS_FLAG_PSK_KE set, and the client offers a PSK and lists psk_ke.) */
int nk_psk_ext_server_ke_possible(const struct nk_tls *c, const struct nk_ext *exts, size_t n);

#endif
