/* handshake/early.h — TLS 1.3 0-RTT data (RFC 8446 §2.3, §4.2.10, §4.5, §8):
 * the per-connection state, the client's and the server's steps
 * (handshake/tls13_early.c) and the process-wide anti-replay register
 * (handshake/antireplay.c).
 *
 * The state is rare: a connection holds it behind one pointer (c->early),
 * allocated only when the application asks for early data on it
 * (SSL_setEarlyData, SSL_setMaxEarlyDataSize, SSL_setRecvEarlyDataSize), or
 * when a ticket that allows 0-RTT meets a process-wide receive bound
 * (SSL_SETTINGS_SET_RECV_MAX_EARLY_DATA). */
#ifndef NK_EARLY_H
#define NK_EARLY_H

#include "handshake/hs.h"
#include "handshake/psk.h"

struct nk_early {
    /* server */
    uint32_t max_ticket;      /* max_early_data_size our tickets carry (0: none) */
    uint32_t recv_max;        /* the most we accept on this connection */
    uint32_t limit;           /* accepted: the ticket's max_early_data_size */
    uint32_t received;        /* accepted: plaintext bytes of early data so far */
    uint8_t ticket_ok;        /* the offered ticket allows 0-RTT here (psk.c's hook) */
    uint8_t reading;          /* the read key is client_early_traffic_secret's;
                               * EndOfEarlyData ends it (§4.5) */
    uint8_t delivered;        /* what waited in `data` was handed to the application */
    uint8_t replayed;         /* the anti-replay check refused this ClientHello */
    /* client */
    uint8_t offered;          /* the ClientHello carried early_data */
    uint8_t sending;          /* the write key is client_early_traffic_secret's */
    uint8_t status;           /* SSL_EARLY_DATA_NOT_SENT / _REJECTED / _ACCEPTED */
    uint32_t ticket_max;      /* server: the ticket's max_early_data_size */
    uint32_t ticket_age_ms;   /* server: the client's view of the ticket's age */
    int64_t ticket_issued;    /* server: the ticket's issue time (s) */
    uint16_t ticket_suite;    /* server: the suite the ticket was issued under */
    uint8_t binder[NK_MAX_HASH];   /* server: the first identity's binder (§8.2) */
    uint8_t binder_len;
    uint8_t secret[NK_MAX_HASH];   /* client_early_traffic_secret */
    struct nk_buf data;       /* client: the data to send; server: what arrived,
                               * for SSL_recv once the handshake is done */
};

/* The connection's state, allocated at first use (ERR_MEM_ALLOC_FAIL). */
MSTATUS nk_early_get(struct nk_tls *c, struct nk_early **out) NK_MUST;
void nk_early_free(struct nk_tls *c);

/* ---- server ---- */
/* The first ClientHello has early_data: rejected until nk_early_server_decide
 * accepts it (a HelloRetryRequest never does). */
void nk_early_server_offered(struct nk_tls *c);
/* psk.c: the first identity's ticket was accepted; remember what 0-RTT needs. */
void nk_early_server_ticket(struct nk_tls *c, const struct nk_ticket_state *t, uint32_t obfuscated_age,
                            const uint8_t *binder, size_t binder_len);
/* Decide on the client's early_data (§4.2.10) once the PSK is settled and the
 * transcript holds the ClientHello alone; accepted: derive its key. */
MSTATUS nk_early_server_decide(struct nk_tls *c, const struct nk_client_hello *ch) NK_MUST;
/* EncryptedExtensions: early_data if accepted, and the read key becomes
 * client_early_traffic_secret's. */
MSTATUS nk_early_server_ee(struct nk_tls *c, struct nk_wr *w) NK_MUST;
int nk_early_accepted(const struct nk_tls *c);
/* A record opened under the read key: while it is the early key, only 0-RTT
 * data, alerts and EndOfEarlyData may come (§4.5); else unexpected_message. */
MSTATUS nk_early_server_record(const struct nk_tls *c, uint8_t type, const uint8_t *d, size_t n) NK_MUST;
/* A record of 0-RTT application data, opened: counted against the limit,
 * then to the receive-data callback or kept for after the handshake. */
MSTATUS nk_early_server_data(struct nk_tls *c, uint8_t *d, size_t n) NK_MUST;
/* Only counted (ERR_SSL_EARLY_DATA_LIMIT past it): for a driver that takes
 * the data on at once (engine/engine.c, early_now). */
MSTATUS nk_early_server_count(struct nk_tls *c, size_t n) NK_MUST;
/* EndOfEarlyData's row (§4.5). */
MSTATUS nk_early_on_end(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n) NK_MUST;
/* The max_early_data_size a ticket issued now carries (0: none). */
uint32_t nk_early_ticket_max(const struct nk_tls *c);
/* A NewSessionTicket's extensions block (early_data when allowed). */
void nk_early_ticket_exts(const struct nk_tls *c, struct nk_wr *w);

/* ---- client ---- */
/* Will this ClientHello carry early_data? (the ticket allows it, the data fits,
 * no HelloRetryRequest came) */
int nk_early_client_offer(struct nk_tls *c);
/* After the ClientHello went out: the data under the early key. */
MSTATUS nk_early_client_send(struct nk_tls *c) NK_MUST;
/* A HelloRetryRequest (or a TLS 1.2 ServerHello): the early data was refused;
 * what we send next (the second ClientHello, an alert) goes in the clear. */
MSTATUS nk_early_client_refused(struct nk_tls *c) NK_MUST;
/* After ServerHello: does the write key stay the early one for now? */
int nk_early_client_sending(const struct nk_tls *c);
/* EncryptedExtensions' early_data (x), or NULL once the block is read without it. */
MSTATUS nk_early_client_ee(struct nk_tls *c, const struct nk_ext *x) NK_MUST;
/* Before the client's Finished: EndOfEarlyData if the data was accepted. */
MSTATUS nk_early_client_end(struct nk_tls *c) NK_MUST;
/* A NewSessionTicket's early_data extension: its max_early_data_size (0: none). */
MSTATUS nk_early_ticket_read(const struct nk_ext *e, size_t n, uint32_t *max) NK_MUST;

/* ---- the engine ---- */
/* After the handshake: early data kept for SSL_recv goes to c->app. */
int nk_early_to_app(struct nk_tls *c, uint8_t **app, uint32_t *app_len);
/* The application data waiting is early data from our own buffer (not bytes
 * read past the handshake: the kernel may take over the socket). */
int nk_early_app_is_ours(const struct nk_tls *c, const uint8_t *app);
/* The application has read it all and no driver still points into it (the
 * engine asks for input again, or parks an idle connection): free it. */
void nk_early_drained(struct nk_tls *c);
unsigned nk_early_status(const struct nk_tls *c);

/* ---- anti-replay (handshake/antireplay.c), RFC 8446 §8 ---- */
/* A ClientHello whose first binder is this: first seen within the window
 * (OK, recorded now), seen before (ERR_SSL_EARLY_DATA_REPLAY), or the register
 * has no room to remember it (refused the same way: §8.2 fails closed).
 * With a hook set, the hook answers instead. */
MSTATUS nk_antireplay_check(const struct nk_tls *c, const uint8_t *binder, size_t len, int64_t now_ms) NK_MUST;
/* The window (ms) a ClientHello is remembered, and the tolerance of §8.3. */
#define NK_ANTIREPLAY_WINDOW_MS 10000
/* A single-use ticket store (a server-side PSK store) may serve instead: it
 * answers OK if this identity was never used, < 0 if it was (or it cannot tell). */
typedef MSTATUS (*nk_antireplay_hook)(const struct nk_tls *c, const uint8_t *binder, size_t len);
void nk_antireplay_set_hook(nk_antireplay_hook fn);
/* For tests: forget every entry. */
void nk_antireplay_reset(void);
/* For tests: the slot a binder's entry is looked for from (the keyed hash). */
uint32_t nk_antireplay_slot(const uint8_t *binder, size_t len);
/* The register's size, in slots, and how many from the hashed one are tried. */
#define NK_ANTIREPLAY_SLOTS 16384
#define NK_ANTIREPLAY_PROBE 16

#endif
