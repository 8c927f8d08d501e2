/* handshake/rare.h — per-connection state of features few connections use,
 * allocated on first use and reached through c->rare while c->rare_on, so
 * that an idle connection that uses none of them pays one bit. It shares its
 * pointer's room with TLS 1.3's post-handshake transcript (pha_md): what is
 * here serves TLS 1.2 or the handshake itself, and goes when a TLS 1.3
 * handshake completes (nk_hs_complete). */
#ifndef NK_HS_RARE_H
#define NK_HS_RARE_H

#include "handshake/heartbeat.h"

/* What TLS 1.2 renegotiation keeps between handshakes (handshake/tls12_reneg.c):
 * the rate limit of client-started ones (a server's), the automatic
 * renegotiation's counters. */
struct nk_reneg {
    int64_t next_ms;   /* rate limit: when the budget is whole again (c->now, ms) */
    int64_t since_ms;  /* when the last handshake ended */
    uint64_t sent;     /* application bytes sent since */
};

struct nk_rare {
    struct nk_hb hb;                       /* heartbeats (handshake/heartbeat.c); mode 0: off */
    funcPtrVersionCallback_t version_cb;   /* SSL_setVersionCallback */
    struct nk_reneg reneg;                 /* valid while reneg_on */
    unsigned reneg_on : 1;
};

/* The connection's, allocated (zeroed) if it had none. */
MSTATUS nk_rare_get(struct nk_tls *c, struct nk_rare **out) NK_MUST;
void nk_rare_free(struct nk_tls *c);

/* SSL_setVersionCallback's callback, else the stack's funcPtrVersionCallback,
 * is told the version this handshake settled on: serverVersion the one the
 * server chose, clientVersion the highest the client offered (TLS minor
 * numbers, as SSL_getSSLTLSVersion says them: 3 for TLS 1.2, 4 for TLS 1.3;
 * serverVersion 0 when the server found none), sslStatus OK or the
 * refusal's error. Returns st when that is an error; otherwise
 * ERR_SSL_VERSION_REFUSED when the callback answers with a negative value
 * (the handshake ends with protocol_version), else OK. */
MSTATUS nk_version_tell(struct nk_tls *c, unsigned server_minor, unsigned client_minor, MSTATUS st) NK_MUST;

#endif
