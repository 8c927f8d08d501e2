/* handshake/tls12_ticket.c — RFC 5077 session tickets in TLS 1.2: the
 * server seals the session (master secret, suite, binding, the client's
 * chain) with the key TLS 1.3 tickets use (handshake/ticket.c) and sends it
 * in a NewSessionTicket before its ChangeCipherSpec (§3.3); a ClientHello
 * carrying one resumes with the abbreviated handshake (tls12_resume.c). The
 * client asks with an empty SessionTicket extension, keeps what comes in its
 * session record (tls12_cache.c) and offers it again with the session. */
#include "handshake/tls12_resume.h"
#include "handshake/hello.h"
#include "handshake/psk.h"

/* ---- server ---- */

int nk_tls12_ticket_session(struct nk_tls *c, const struct nk_client_hello *ch, struct nk_session12 *s)
{
    const struct nk_ext *x = nk_ext_find(ch->exts, ch->n_exts, NK_EXT_SESSION_TICKET);
    struct nk_ticket_state t;
    time_t now = (time_t)(c->now / 1000);
    memset(s, 0, sizeof *s);
    /* RFC 5077 §3.4: a ticket the server cannot use, for whatever reason,
     * means a full handshake. */
    if (!x || nk_rd_left(&x->data) == 0 || nk_ticket_open(x->data.p, nk_rd_left(&x->data), now, &t) < 0)
        return 0;
    int ok = nk_suite12_by_id(t.suite) && t.psk_len == NK_TLS12_MASTER   /* a TLS 1.2 ticket */
             && now - t.issued < (time_t)c->cfg->limits.session_lifetime && nk_rd_left(&ch->session_id) <= 32;
    if (ok) {
        s->suite = t.suite;
        s->ems = 1;   /* every session we make has the extended master secret (RFC 7627) */
        s->made = t.issued;
        memcpy(s->master, t.psk, NK_TLS12_MASTER);
        memcpy(s->binding, t.binding, sizeof s->binding);
        s->chain = t.chain;
        s->chain_len = t.chain_len;
        t.chain = NULL;
        /* RFC 5077 §3.4: accepting the ticket, the server echoes the client's id. */
        s->id_len = (uint8_t)nk_rd_left(&ch->session_id);
        memcpy(s->id, ch->session_id.p, s->id_len);
    }
    nk_ticket_state_clear(&t);
    return ok;
}

MSTATUS nk_tls12_send_ticket(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    struct nk_wr w;
    if (hs->ticket12 != 1)
        return OK;
    /* RFC 5077 §3.3: struct { uint32 ticket_lifetime_hint;
     *   opaque ticket<0..2^16-1>; } NewSessionTicket; */
    nk_hs_begin(c, &w, NK_HS_NEW_SESSION_TICKET);
    nk_wr_u32(&w, c->cfg->limits.session_lifetime);
    size_t t = nk_wr_open(&w, 2);
    MSTATUS st = nk_ticket_seal(c, hs->secret, NK_TLS12_MASTER, hs->sess_binding, &w);
    /* §3.3: a server that will not issue the promised ticket after all (every
     * ticket key has ended) sends an empty one. */
    if (st != ERR_SSL_HANDSHAKE_FAILURE)
        NK_TRY(st);
    nk_wr_close(&w, t, 2);
    hs->ticket12 = 2;
    return nk_hs_finish(c, &w);
}

/* ---- client ---- */

void nk_tls12_write_ticket_ext(struct nk_tls *c, struct nk_wr *w)
{
    /* RFC 5077 §3.2: empty to ask for a ticket, or the ticket to offer;
     * only a client that can keep one asks. */
    if (!c->hs->ticket.len && !__atomic_load_n(&c->cfg->limits.session_cache, __ATOMIC_RELAXED))
        return;
    c->hs->ticket_asked = 1;
    nk_wr_u16(w, NK_EXT_SESSION_TICKET);
    nk_wr_u16(w, (uint16_t)c->hs->ticket.len);
    nk_wr_bytes(w, c->hs->ticket.p, c->hs->ticket.len);
}

MSTATUS nk_tls12_client_ticket_ext(struct nk_tls *c, const struct nk_ext *e, size_t ne)
{
    struct nk_hs *hs = c->hs;
    const struct nk_ext *x = nk_ext_find(e, ne, NK_EXT_SESSION_TICKET);
    hs->ticket.len = 0;   /* the one offered, if any, is done with */
    if (!x)
        return OK;
    /* RFC 5246 §7.4.1.4: only an extension we sent may come back. */
    NK_CHECK(hs->ticket_asked, ERR_SSL_UNSUPPORTED_EXTENSION);
    /* RFC 5077 §3.2: the server's SessionTicket extension is empty. */
    NK_CHECK(nk_rd_left(&x->data) == 0, ERR_SSL_PROTOCOL);
    hs->ticket12 = 1;
    return OK;
}

MSTATUS nk_tls12_on_new_session_ticket(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    struct nk_hs *hs = c->hs;
    uint32_t hint;
    struct nk_rd t;
    /* RFC 5077 §3.3: only after a ServerHello with the extension, and once. */
    NK_CHECK(hs->ticket12 == 1, ERR_SSL_UNEXPECTED_MESSAGE);
    NK_TRY(nk_rd_u32(b, &hint));
    NK_TRY(nk_rd_vec16(b, &t, 0, 0xffff));
    NK_TRY(nk_rd_done(b));
    hs->ticket12 = 2;
    hs->ticket.len = 0;
    NK_TRY(nk_buf_append(&hs->ticket, t.p, nk_rd_left(&t)));   /* empty: none this time */
    return nk_transcript_add(&hs->tr, raw, n);
}

MSTATUS nk_tls12_client_on_ccs(struct nk_tls *c, struct nk_rd *b, const uint8_t *raw, size_t n)
{
    /* RFC 5077 §3.3: a server that sent the extension sends the
     * NewSessionTicket before its ChangeCipherSpec. */
    NK_CHECK(c->hs->ticket12 != 1, ERR_SSL_UNEXPECTED_MESSAGE);
    return nk_tls12_on_ccs(c, b, raw, n);
}
