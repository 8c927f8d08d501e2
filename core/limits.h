/* core/limits.h — what a peer may make one connection hold, process-wide
 * (NKTLS_setLimit in nktls.h, api/limits.c; the README lists every limit with its default). */
#ifndef NK_LIMITS_H
#define NK_LIMITS_H

#include <stdint.h>

struct nk_limits {
    uint32_t hs_message;       /* a handshake message of a type not named below */
    uint32_t cert_message;     /* a Certificate message (the whole chain) */
    uint32_t cert_count;       /* certificates in one chain */
    uint32_t key_updates;      /* KeyUpdates received with no application data between */
    uint32_t early_data_skip;  /* bytes of rejected 0-RTT data skipped (RFC 8446 §4.2.10) */
    uint32_t recv_buffer;      /* decrypted bytes an async connection keeps for the application */
    uint32_t hs_memory;        /* process-wide: bytes in partly received handshake messages */
    uint32_t session_cache;    /* TLS 1.2 sessions each cache keeps (handshake/tls12_cache.c) */
    uint32_t session_lifetime; /* seconds a TLS 1.2 session may be resumed */
    uint32_t ticket_lifetime;  /* seconds a TLS 1.3 ticket may be used (RFC 8446 §4.6.1) */
    /* DTLS 1.2 handshake reassembly (handshake/dtls12_frag.c), per connection: */
    uint32_t dtls_reasm;       /* bytes held in handshake messages not yet delivered */
    uint32_t dtls_hs_window;   /* message_seq values held from next_receive_seq on (1..16) */
};

/* Their defaults (engine/config.c): a server flight whose first message was
 * lost (ServerHello, Certificate of up to 64 KiB, ServerKeyExchange,
 * CertificateRequest, ServerHelloDone) fits. */
#define NK_DTLS_REASM_DEFAULT (128 * 1024)
#define NK_DTLS_HS_WINDOW_DEFAULT 8


#endif
