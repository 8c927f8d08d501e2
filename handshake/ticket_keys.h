/* handshake/ticket_keys.h — the keys that seal session tickets, TLS 1.3's
 * and TLS 1.2's alike (handshake/ticket_keys.c): one process-wide set.
 * Until the application loads a set (NKTLS_loadTicketKeys), one random key
 * made at first use; a loaded set may hold several, each with a time from
 * which it seals and a time until which it opens, so that a fleet of
 * servers sharing the file rotates keys without losing sessions
 * (docs/ticket-keys.md). */
#ifndef NK_TICKET_KEYS_H
#define NK_TICKET_KEYS_H

#include "core/nk.h"

#define NK_TICKET_KEY_NAME 16
#define NK_TICKET_KEYS_MAX 16

struct nk_ticket_key {
    uint8_t name[NK_TICKET_KEY_NAME];   /* sent in the clear with each ticket */
    uint8_t key[32];                    /* AES-256-GCM */
    int64_t not_before;                 /* seals from then on (seconds since the epoch) */
    int64_t not_after;                  /* opens until then; 0: no end */
    uint32_t gen;                       /* the set it came from (a new one per load) */
};

/* The key to seal with at now: the newest (latest not_before) of those in
 * use (not_before <= now < not_after); with none in use yet, the earliest
 * that has not ended. ERR_SSL_HANDSHAKE_FAILURE when every key has ended. */
MSTATUS nk_ticket_key_seal(int64_t now, struct nk_ticket_key *out) NK_MUST;
/* The key with this name that still opens at now (ended keys do not; keys
 * whose not_before is to come do, as another server may have begun with them
 * first). ERR_SSL_HANDSHAKE_FAILURE when there is none. */
MSTATUS nk_ticket_key_open(const uint8_t name[NK_TICKET_KEY_NAME], int64_t now, struct nk_ticket_key *out) NK_MUST;
/* Replace the set with the one a key file's text describes; the set in use
 * is unchanged when it is malformed (ERR_TICKET_KEYS_FORMAT, *bad_line: the
 * first wrong line, 1-based). */
MSTATUS nk_ticket_keys_parse(const char *text, size_t n, unsigned *bad_line) NK_MUST;

#endif
