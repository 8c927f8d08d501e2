/* handshake/ticket_store.c — a TLS 1.3 server that keeps its sessions
 * itself: with sslSettings.funcPtrServerSavePSK and funcPtrServerLookupPSK
 * set (SSL_setServerSavePSKCallback, SSL_setServerLookupPSKCallback), each
 * NewSessionTicket carries only a fresh random identity, and what a sealed
 * ticket would hold (the PSK, suite, issue time, age_add, binding and the
 * client's chain: nk_ticket_plaintext's form) goes to the save callback under
 * it. On resumption the lookup callback gives it back and the delete callback
 * (funcPtrServerDeletePSK) is told at once: each identity resumes once (RFC
 * 8446 §8.1, single-use tickets), which is what lets a server refuse a
 * replayed 0-RTT ClientHello. */
#include <stdlib.h>
#include "handshake/psk.h"

#define STORE_ID_LEN 32   /* random: unguessable, and unique with overwhelming odds */

int nk_ticket_store_on(const struct nk_tls *c)
{
    return c->cfg->ssl.funcPtrServerSavePSK && c->cfg->ssl.funcPtrServerLookupPSK;
}

/* The server name the session was for: the callbacks' serverInfo. */
static const char *server_info(const struct nk_tls *c)
{
    return c->server_name ? c->server_name : "";
}

MSTATUS nk_ticket_store_save(struct nk_tls *c, const uint8_t *psk, size_t hl, uint32_t age_add,
                             const uint8_t *binding, struct nk_wr *w, int *refused)
{
    uint8_t id[STORE_ID_LEN];
    struct nk_buf plain = { 0 };
    const char *info = server_info(c);
    *refused = 0;
    MSTATUS st = nk_random(id, sizeof id);
    if (st == OK)
        st = nk_ticket_plaintext(c, psk, hl, age_add, binding, &plain);
    if (st == OK && c->cfg->ssl.funcPtrServerSavePSK(c->handle, (ubyte *)info, (ubyte4)strlen(info), id,
                                                     sizeof id, plain.p, (ubyte4)plain.len) < 0)
        *refused = 1;
    if (st == OK)
        nk_wr_bytes(w, id, sizeof id);
    nk_buf_free(&plain);   /* wipes the PSK */
    return st;
}

MSTATUS nk_ticket_store_take(struct nk_tls *c, const uint8_t *id, size_t id_len, struct nk_ticket_state *out)
{
    ubyte *blob = NULL;
    ubyte4 len = 0;
    intBoolean free_it = FALSE;
    uint8_t copy[STORE_ID_LEN];
    const char *info = server_info(c);
    memset(out, 0, sizeof *out);
    if (id_len != STORE_ID_LEN)
        return ERR_SSL_HANDSHAKE_FAILURE;   /* not one of ours */
    memcpy(copy, id, id_len);               /* the callbacks take writable pointers */
    if (c->cfg->ssl.funcPtrServerLookupPSK(c->handle, copy, (ubyte4)id_len, &blob, &len, &free_it) < 0 || !blob)
        return ERR_SSL_HANDSHAKE_FAILURE;
    MSTATUS st = nk_ticket_fields(blob, len, out);
    /* Used now, whatever follows: single use (§8.1). */
    if (c->cfg->ssl.funcPtrServerDeletePSK)
        c->cfg->ssl.funcPtrServerDeletePSK(c->handle, (sbyte *)info, (ubyte4)strlen(info), copy, (ubyte4)id_len,
                                           blob);
    if (free_it) {
        nk_wipe(blob, len);
        free(blob);
    }
    if (st == OK && !nk_ticket_current(out, (time_t)(c->now / 1000), c->cfg->limits.ticket_lifetime))
        st = ERR_SSL_HANDSHAKE_FAILURE;
    if (st < 0) {
        nk_ticket_state_clear(out);
        return st == ERR_MEM_ALLOC_FAIL ? st : ERR_SSL_HANDSHAKE_FAILURE;
    }
    return OK;
}
