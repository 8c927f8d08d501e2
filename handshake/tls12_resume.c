/* handshake/tls12_resume.c — TLS 1.2 resumption by session id: the
 * abbreviated handshake of RFC 5246 §7.3 (Figure 2) on both sides.
 *
 *   ClientHello (session id) -->
 *                       <-- ServerHello (the same id), [ChangeCipherSpec], Finished
 *   [ChangeCipherSpec], Finished -->
 *
 * A session is resumed only where a full handshake would have been
 * accepted with the same result (handshake/tls12_resume.h): the same suite,
 * the extended master secret on both (RFC 7627 §5.3), and on the server the
 * same store and trust, client-authentication policy and server name
 * (nk_ticket_binding, as TLS 1.3 tickets). Anything else is a full
 * handshake, never a failure. */
#include "handshake/tls12_resume.h"
#include "handshake/hello.h"
#include "handshake/psk.h"

/* The key block (RFC 5246 §6.3) from the session's master secret, in
 * hs->secret, and this handshake's randoms. */
static MSTATUS resumed_keys(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    struct nk_tls12_params p;
    p.prf = c->suite->hash;
    memcpy(p.client_random, hs->client_random, 32);
    memcpy(p.server_random, hs->server_random, 32);
    memcpy(p.master, hs->secret, NK_TLS12_MASTER);
    MSTATUS st = nk_tls12_key_block(&p, c->suite, hs->keys12[0], hs->keys12[1]);
    nk_tls12_params_clear(&p);
    return st;
}

static int client_offers(const struct nk_client_hello *ch, uint16_t suite)
{
    return nk_rd_has_u16(ch->suites, suite);
}

/* A session's suite still usable on this connection: one it has enabled,
 * and an AEAD one. A CBC session's encrypt_then_mac state is not kept, and
 * RFC 7366 §3.1 lets no resumption change it: those get a full handshake. */
static int suite_usable(const struct nk_tls *c, uint16_t id)
{
    const struct nk_suite *s = nk_suite12_by_id(id);
    return s && nk_tls_suite_enabled(c, s) && s->aead != NK_AES_CBC;
}

/* ---- server ---- */

static int fits(const struct nk_tls *c, const struct nk_session12 *s)
{
    /* RFC 5246 §7.4.1.2: the ClientHello offering a session "MUST include
     * the cipher_suite from that session"; the server resumes with it. */
    return suite_usable(c, s->suite)
        /* RFC 7627 §5.3: a session without the extended master secret is
         * not resumed, and the new hello must carry it too. */
        && s->ems && c->hs->ems
        /* Same store and trust, client-authentication policy, server name. */
        && nk_ct_equal(s->binding, c->hs->sess_binding, sizeof s->binding);
}

MSTATUS nk_tls12_server_resume(struct nk_tls *c, const struct nk_client_hello *ch)
{
    struct nk_hs *hs = c->hs;
    struct nk_session12 s;
    struct nk_rd sid = ch->session_id;
    size_t len = nk_rd_left(&sid);
    NK_TRY(nk_ticket_binding(c, hs->sess_binding));
    int found = nk_tls12_ticket_session(c, ch, &s);
    int ok = found && client_offers(ch, s.suite) && fits(c, &s);
    if (!ok && !(found && s.ems && !hs->ems)) {
        nk_session12_clear(&s);
        found = nk_cache12_get(NK_CACHE12_SERVER, sid.p, len, &c->cfg->limits, c->now / 1000, &s);
        ok = found && client_offers(ch, s.suite) && fits(c, &s);
    }
    /* RFC 7627 §5.3: a session that had the extension, offered by a hello
     * without it (which only a server allowing such peers gets this far
     * with): "the server MUST abort the abbreviated handshake". */
    if (found && s.ems && !hs->ems) {
        nk_session12_clear(&s);
        return ERR_SSL_HANDSHAKE_FAILURE;
    }
    if (ok) {
        c->suite = nk_suite12_by_id(s.suite);
        memcpy(hs->secret, s.master, NK_TLS12_MASTER);
        memcpy(hs->session_id, s.id, s.id_len);   /* RFC 5246 §7.4.1.3: echoed */
        hs->session_id_len = s.id_len;
        hs->psk_ok = 1;
        /* The resumed session authenticated the client as the original did. */
        free(c->peer_chain);
        c->peer_chain = s.chain;
        c->peer_chain_len = s.chain_len;
        s.chain = NULL;
    }
    nk_session12_clear(&s);
    if (ok)
        return 1;
    /* A full handshake: a new session, in a ticket when the client asks for
     * one (RFC 5077 §3.2; c->num_tickets 0 turns them off) under no id
     * (§3.4), else under a random 32-byte id, or none when the cache is off. */
    hs->session_id_len = 0;
    /* RFC 7627 §5.3: a session without the extended master secret will not
     * be resumed: it gets neither a ticket nor an id. */
    if (!hs->ems)
        return 0;
    hs->ticket12 = c->num_tickets && nk_ext_find(ch->exts, ch->n_exts, NK_EXT_SESSION_TICKET);
    if (!hs->ticket12 && __atomic_load_n(&c->cfg->limits.session_cache, __ATOMIC_RELAXED)) {
        NK_TRY(nk_random(hs->session_id, 32));
        hs->session_id_len = 32;
    }
    return 0;
}

MSTATUS nk_tls12_server_resumed_flight(struct nk_tls *c)
{
    NK_TRY(resumed_keys(c));
    NK_TRY(nk_tls12_send_ccs(c));
    NK_TRY(nk_tls12_send_finished(c));
    return NK_HS_ALT2;   /* the server's table: the client's CCS, then its Finished */
}

MSTATUS nk_tls12_on_resumed_client_finished(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    NK_TRY(nk_tls12_on_finished(c, b, raw, n));
    return nk_tls12_complete(c);
}

void nk_tls12_server_keep(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    struct nk_session12 s = { .id_len = hs->session_id_len, .ems = hs->ems, .suite = c->suite->id,
                              .made = c->now / 1000, .chain = c->peer_chain, .chain_len = c->peer_chain_len };
    if (!hs->session_id_len)
        return;
    memcpy(s.id, hs->session_id, hs->session_id_len);
    memcpy(s.master, hs->secret, NK_TLS12_MASTER);
    memcpy(s.binding, hs->sess_binding, sizeof s.binding);
    (void)!nk_cache12_put(NK_CACHE12_SERVER, &s, &c->cfg->limits, c->now / 1000);
    nk_wipe(&s, sizeof s);   /* the chain is the connection's */
}

/* ---- client ---- */

/* The client keeps a session for the server name and the transport (TLS
 * or DTLS) it was made with; the cache lives in the process only. */
static MSTATUS client_binding(const struct nk_tls *c, uint8_t out[32])
{
    static const char label[] = "nktls 1.2 client session";
    const char *name = c->server_name ? c->server_name : "";
    uint8_t b[sizeof label + 1 + 256];
    size_t n = strlen(name);
    NK_CHECK(n < 256, ERR_SSL_INTERNAL);
    memcpy(b, label, sizeof label);
    b[sizeof label] = c->is_dtls ? 1 : 0;
    memcpy(b + sizeof label + 1, name, n);
    return nk_digest(NK_SHA256, b, sizeof label + 1 + n, out);
}

/* Until the handshake starts there is no struct nk_hs (settings calls
 * check for none), and c->exporter and c->resumption are written only at a
 * handshake's end: they hold the offer meanwhile, the id as <length, id>. */
MSTATUS nk_tls12_client_offer(struct nk_tls *c, uint8_t id_len, const uint8_t *id, const uint8_t *master)
{
    _Static_assert(sizeof c->exporter >= 33 && sizeof c->resumption >= NK_TLS12_MASTER, "room for the offer");
    NK_CHECK(id_len <= 32, ERR_INVALID_ARG);
    NK_CHECK(id && master, ERR_NULL_POINTER);
    NK_CHECK(!c->hs && c->status == SSL_CONNECTION_NEGOTIATE, ERR_SSL_BAD_STATE);
    c->exporter[0] = id_len;
    memcpy(c->exporter + 1, id, id_len);
    memcpy(c->resumption, master, NK_TLS12_MASTER);
    return OK;
}

MSTATUS nk_tls12_client_load(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    struct nk_session12 s;
    uint8_t binding[32];
    hs->sess_id_len = c->exporter[0] <= 32 ? c->exporter[0] : 0;
    memcpy(hs->sess_id, c->exporter + 1, hs->sess_id_len);
    memcpy(hs->sess_master, c->resumption, NK_TLS12_MASTER);
    nk_wipe(c->exporter, sizeof c->exporter);
    nk_wipe(c->resumption, sizeof c->resumption);
    if (!hs->sess_id_len || c->min_minor > 3)
        return OK;
    NK_TRY(client_binding(c, binding));
    int ok = nk_cache12_get(NK_CACHE12_CLIENT, hs->sess_id, hs->sess_id_len, &c->cfg->limits, c->now / 1000, &s)
             && s.ems && suite_usable(c, s.suite) && nk_ct_equal(s.binding, binding, sizeof binding)
             && nk_ct_equal(s.master, hs->sess_master, NK_TLS12_MASTER);
    if (ok) {
        hs->sess_offered = 1;
        hs->sess_suite = s.suite;
        memcpy(hs->session_id, hs->sess_id, hs->sess_id_len);
        hs->session_id_len = hs->sess_id_len;
        if (s.ticket_len && nk_buf_append(&hs->ticket, s.ticket, s.ticket_len) < 0)
            hs->ticket.len = 0;   /* then the id alone */
    } else {
        nk_wipe(hs->sess_master, sizeof hs->sess_master);
    }
    nk_session12_clear(&s);
    return OK;
}

MSTATUS nk_tls12_client_resume(struct nk_tls *c, struct nk_rd sid, const struct nk_ext *e, size_t ne)
{
    struct nk_hs *hs = c->hs;
    size_t len = nk_rd_left(&sid);
    NK_TRY(nk_tls12_client_ticket_ext(c, e, ne));
    if (hs->sess_offered && len == hs->sess_id_len && memcmp(sid.p, hs->sess_id, len) == 0) {
        /* RFC 5246 §7.4.1.3: a resumed session keeps its cipher suite. */
        NK_CHECK(c->suite->id == hs->sess_suite, ERR_SSL_ILLEGAL_PARAMETER);
        /* RFC 7627 §5.3: the abbreviated handshake must agree on the
         * extension (our sessions all have it). */
        NK_CHECK(hs->ems, ERR_SSL_HANDSHAKE_FAILURE);
        memcpy(hs->secret, hs->sess_master, NK_TLS12_MASTER);
        NK_TRY(resumed_keys(c));
        hs->psk_ok = 1;
        return NK_HS_ALT;
    }
    /* A full handshake: the server's id (maybe none) names the new session. */
    hs->session_id_len = (uint8_t)len;
    return nk_rd_copy(&sid, hs->session_id, len);
}

/* c->resumption, unused by TLS 1.2, keeps the session id as <length, id>
 * for SSL_getClientSessionInfo (the master secret is in c->exporter). */
static void keep_id(struct nk_tls *c)
{
    _Static_assert(sizeof c->resumption >= 33, "room for the session id");
    c->resumption[0] = c->hs->session_id_len;
    memcpy(c->resumption + 1, c->hs->session_id, c->hs->session_id_len);
}

/* Client: record the session (or its new ticket) in the client cache. A
 * ticket under no server id gets an id of our own (RFC 5077 §3.4: the
 * client may make one), which names it for SSL_getClientSessionInfo and is
 * sent with the ticket. */
static void client_record(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    if (hs->ticket.len && !hs->session_id_len && nk_random(hs->session_id, 32) == OK)
        hs->session_id_len = 32;
    struct nk_session12 s = { .id_len = hs->session_id_len, .ems = hs->ems, .suite = c->suite->id,
                              .made = c->now / 1000, .ticket = hs->ticket.p,
                              .ticket_len = (uint16_t)hs->ticket.len };
    keep_id(c);
    if (!hs->session_id_len || client_binding(c, s.binding) < 0)
        return;
    memcpy(s.id, hs->session_id, hs->session_id_len);
    memcpy(s.master, hs->secret, NK_TLS12_MASTER);
    (void)!nk_cache12_put(NK_CACHE12_CLIENT, &s, &c->cfg->limits, c->now / 1000);
    nk_wipe(&s, sizeof s);   /* the ticket is the handshake's */
}

MSTATUS nk_tls12_on_resumed_server_finished(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    NK_TRY(nk_tls12_on_finished(c, b, raw, n));
    NK_TRY(nk_tls12_send_ccs(c));
    NK_TRY(nk_tls12_send_finished(c));
    if (c->hs->ticket.len)   /* a new ticket for the session */
        client_record(c);
    else
        keep_id(c);
    return nk_tls12_complete(c);
}

void nk_tls12_client_keep(struct nk_tls *c)
{
    client_record(c);
}

MSTATUS nk_tls12_session_info(const struct nk_tls *c, uint8_t *id_len, uint8_t *id, uint8_t *master)
{
    *id_len = 0;
    memset(id, 0, 32);
    memset(master, 0, NK_TLS12_MASTER);
    if (c->minor != 3 || c->resumption[0] == 0 || c->resumption[0] > 32)
        return OK;   /* TLS 1.3 resumes with tickets; or the server gave no id */
    *id_len = c->resumption[0];
    memcpy(id, c->resumption + 1, *id_len);
    memcpy(master, c->exporter, NK_TLS12_MASTER);
    return OK;
}
