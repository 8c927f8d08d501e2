/* handshake/psk.c — offering and accepting a resumption PSK in the hellos
 * (RFC 8446 §4.2.9, §4.2.11). Only psk_dhe_ke is offered and accepted: every
 * resumed handshake still runs (EC)DHE, so it keeps forward secrecy. */
#include <stdlib.h>
#include "handshake/psk.h"
#include "handshake/early.h"
#include "nktls.h"

enum { PSK_KE = 0, PSK_DHE_KE = 1 };

/* binder = HMAC(finished_key(Derive-Secret(early_secret, label, "")),
 *               Transcript-Hash(Truncate(ClientHello)))  (§4.2.11.2), where
 * §7.1's label is "ext binder" for an external PSK, "res binder" for a ticket's. */
static MSTATUS binder(const struct nk_transcript *tr, enum nk_hash h, int external, const uint8_t *psk,
                      size_t psk_len, const uint8_t *truncated, size_t tlen, uint8_t *out)
{
    static const uint8_t zero[NK_MAX_HASH];
    uint8_t early[NK_MAX_HASH], key[NK_MAX_HASH], th[NK_MAX_HASH];
    size_t hl = nk_hash_len(h);
    MSTATUS st = nk_hkdf_extract(h, zero, hl, psk, psk_len, early);
    if (st == OK)
        st = nk_ks_derive_secret(h, early, external ? "ext binder" : "res binder", NULL, key);
    if (st == OK)
        st = nk_transcript_hash_extra(tr, h, truncated, tlen, th);
    if (st == OK)
        st = nk_ks_finished(h, key, th, out);
    nk_wipe(early, sizeof early);
    nk_wipe(key, sizeof key);
    return st;
}

/* ---- the client's kept ticket, in the form its callbacks carry ---- */

/* "NKPS" 1 | suite(2) | psk<1..255> | age_add(4) | lifetime(4) | received(8) | ticket<1..2^16-1>;
 * version 2 adds max_early_data_size(4) at the end (a ticket that allows 0-RTT);
 * version 3 adds after that the ALPN protocol<1..255> the ticket's 0-RTT
 * data is for (a ticket that allows 0-RTT, from a connection that agreed one).
 * Each version reads blobs of the ones before it. */
MSTATUS nk_psk_serialize(const struct tls13PSK *p, uint8_t **out, uint32_t *out_len)
{
    struct nk_buf b = { 0 };
    struct nk_wr w;
    nk_wr_init(&w, &b);
    nk_wr_bytes(&w, "NKPS", 4);
    size_t alpn_len = p->max_early ? strnlen(p->alpn, sizeof p->alpn - 1) : 0;
    nk_wr_u8(&w, alpn_len ? 3 : p->max_early ? 2 : 1);
    nk_wr_u16(&w, p->suite);
    nk_wr_u8(&w, p->psk_len);
    nk_wr_bytes(&w, p->psk, p->psk_len);
    nk_wr_u32(&w, p->age_add);
    nk_wr_u32(&w, p->lifetime);
    nk_wr_u32(&w, (uint32_t)(p->received >> 32));
    nk_wr_u32(&w, (uint32_t)p->received);
    nk_wr_u16(&w, p->ticket_len);
    nk_wr_bytes(&w, p->ticket, p->ticket_len);
    if (p->max_early)
        nk_wr_u32(&w, p->max_early);
    if (alpn_len) {
        nk_wr_u8(&w, (uint8_t)alpn_len);
        nk_wr_bytes(&w, p->alpn, alpn_len);
    }
    if (nk_wr_status(&w) < 0) {
        nk_buf_free(&b);
        return ERR_MEM_ALLOC_FAIL;
    }
    *out = b.p;
    *out_len = (uint32_t)b.len;
    return OK;
}

/* The blob comes back from the application, which may have kept it anywhere:
 * it is read like peer bytes, and anything malformed is ERR_INVALID_ARG. */
MSTATUS nk_psk_deserialize(const uint8_t *in, uint32_t len, struct tls13PSK **out)
{
    struct nk_rd r, psk, ticket, alpn = { 0 };
    const uint8_t *magic;
    uint8_t version;
    uint32_t hi, lo;
    struct tls13PSK *p = calloc(1, sizeof *p);
    NK_CHECK(p, ERR_MEM_ALLOC_FAIL);
    nk_rd_init(&r, in, len);
    if (nk_rd_bytes(&r, 4, &magic) == OK && !memcmp(magic, "NKPS", 4) && nk_rd_u8(&r, &version) == OK
        && version >= 1 && version <= 3 && nk_rd_u16(&r, &p->suite) == OK && nk_suite_by_id(p->suite)
        && nk_rd_vec8(&r, &psk, 1, NK_MAX_HASH) == OK && nk_rd_u32(&r, &p->age_add) == OK
        && nk_rd_u32(&r, &p->lifetime) == OK && nk_rd_u32(&r, &hi) == OK && nk_rd_u32(&r, &lo) == OK
        && nk_rd_vec16(&r, &ticket, 1, 0xffff) == OK
        && (version == 1 || (nk_rd_u32(&r, &p->max_early) == OK && p->max_early))
        && (version < 3 || (nk_rd_vec8(&r, &alpn, 1, 255) == OK   /* a name, as c->alpn keeps it: no NUL */
                            && !memchr(alpn.p, 0, nk_rd_left(&alpn))))
        && nk_rd_done(&r) == OK
        && nk_rd_left(&psk) == nk_hash_len(nk_suite_by_id(p->suite)->hash)
        && (p->ticket = malloc(nk_rd_left(&ticket))) != NULL) {
        p->psk_len = (uint8_t)nk_rd_left(&psk);
        p->ticket_len = (uint16_t)nk_rd_left(&ticket);
        p->received = (uint64_t)hi << 32 | lo;
        if (version >= 3)   /* calloc's zeros end it */
            memcpy(p->alpn, alpn.p, nk_rd_left(&alpn));
        if (nk_rd_copy(&psk, p->psk, p->psk_len) == OK && nk_rd_copy(&ticket, p->ticket, p->ticket_len) == OK) {
            *out = p;
            return OK;
        }
    }
    nk_psk_free(p);
    return ERR_INVALID_ARG;
}

/* ---- client ---- */

MSTATUS nk_psk_client_load(struct nk_tls *c)
{
    ubyte *blob = NULL;
    ubyte4 len = 0;
    intBoolean free_it = FALSE;
    const char *info = c->server_name ? c->server_name : "";
    if (!c->psk_retrieve_cb)
        return OK;
    if (c->psk_retrieve_cb(c->handle, (sbyte *)info, (ubyte4)strlen(info), &blob, &len, &free_it) < 0 || !blob)
        return OK;   /* nothing to resume: a full handshake */
    struct tls13PSK *p = NULL;
    MSTATUS st = nk_psk_deserialize(blob, len, &p);
    if (free_it)
        free(blob);
    if (st < 0)
        return OK;
    /* Offer it only if its suite is one we offer and it has not expired. */
    uint64_t now = (uint64_t)(c->now / 1000);   /* received and lifetime count seconds */
    int usable = now >= p->received && now - p->received <= p->lifetime;
    int offered = nk_tls_suite_enabled(c, nk_suite_by_id(p->suite));
    if (usable && offered)
        c->hs->offer = p;
    else
        nk_psk_free(p);
    return OK;
}

int nk_psk_client_may_resume(const struct nk_tls *c)
{
    return c->hs->offer != NULL || c->psk_save_cb != NULL;
}

void nk_psk_client_write(struct nk_tls *c, struct nk_wr *w)
{
    struct tls13PSK *p = c->hs->offer;
    if (!nk_psk_client_may_resume(c))
        return;
    /* §4.2.9: psk_key_exchange_modes accompanies every PSK offer, and a client
     * that can keep a ticket sends it anyway: "Servers SHOULD NOT send
     * NewSessionTicket with tickets that are not compatible with the advertised
     * modes", so a strict server sends none to a client that lists no mode. */
    nk_wr_u16(w, NK_EXT_PSK_KEY_EXCHANGE_MODES);
    nk_wr_u16(w, 2);
    nk_wr_u8(w, 1);
    nk_wr_u8(w, nk_psk_ext_client_ke_only(c) ? PSK_KE : PSK_DHE_KE);
    if (!p)
        return;
    /* §4.2.11: pre_shared_key is the last extension; the binder is filled in
     * once the rest of the message is final (nk_psk_client_bind). */
    size_t hl = nk_hash_len(nk_suite_by_id(p->suite)->hash);   /* the binder's length */
    uint32_t age_ms = (uint32_t)(((uint64_t)(c->now / 1000) - p->received) * 1000u) + p->age_add;
    if (p->external)   /* §4.2.11: "For identities established externally, an
                        * obfuscated_ticket_age of 0 SHOULD be used" */
        age_ms = 0;
    nk_wr_u16(w, NK_EXT_PRE_SHARED_KEY);
    size_t ext = nk_wr_open(w, 2), ids = nk_wr_open(w, 2);
    nk_wr_u16(w, p->ticket_len);
    nk_wr_bytes(w, p->ticket, p->ticket_len);
    nk_wr_u32(w, age_ms);
    nk_wr_close(w, ids, 2);
    nk_wr_u16(w, (uint16_t)(1 + hl));
    nk_wr_u8(w, (uint8_t)hl);
    uint8_t *space = nk_wr_space(w, hl);
    if (space)
        memset(space, 0, hl);
    nk_wr_close(w, ext, 2);
}

MSTATUS nk_psk_client_bind(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    struct tls13PSK *p = hs->offer;
    struct nk_buf *m = &hs->msg;
    if (!p)
        return OK;
    size_t hl = nk_hash_len(nk_suite_by_id(p->suite)->hash), tail = 2 + 1 + hl;   /* the binders list */
    NK_CHECK(m->len > 4 + tail, ERR_SSL_INTERNAL);
    nk_store24(m->p + 1, (uint32_t)(m->len - 4));
    return binder(&hs->tr, nk_suite_by_id(p->suite)->hash, p->external, p->psk, p->psk_len, m->p, m->len - tail,
                  m->p + m->len - hl);
}

MSTATUS nk_psk_client_accepted(struct nk_tls *c, const struct nk_ext *x)
{
    struct nk_hs *hs = c->hs;
    struct nk_rd r = x->data;
    uint16_t selected;
    NK_TRY(nk_rd_u16(&r, &selected));
    NK_TRY(nk_rd_done(&r));
    /* §4.2.11: the identity must be one we offered (we offer one), and the
     * server's suite must use the PSK's hash. */
    NK_CHECK(hs->offer && selected == 0, ERR_SSL_ILLEGAL_PARAMETER);
    NK_CHECK(nk_suite_by_id(hs->offer->suite)->hash == c->suite->hash, ERR_SSL_ILLEGAL_PARAMETER);
    hs->psk_ok = 1;
    hs->psk_len = hs->offer->psk_len;
    memcpy(hs->psk, hs->offer->psk, hs->psk_len);
    return OK;
}

/* ---- server ---- */

/* §4.2.9: which modes does the client's psk_key_exchange_modes list? A
 * malformed list is decode_error. */
static MSTATUS read_modes(const struct nk_ext *x, int *ke, int *dhe)
{
    struct nk_rd r = x->data, list;
    *ke = *dhe = 0;
    NK_TRY(nk_rd_vec8(&r, &list, 1, 255));
    NK_TRY(nk_rd_done(&r));
    while (nk_rd_left(&list)) {
        uint8_t m;
        NK_TRY(nk_rd_u8(&list, &m));
        *dhe |= m == PSK_DHE_KE;
        *ke |= m == PSK_KE;
    }
    return OK;
}

/* §4.2.11: identities<7..2^16-1> and binders<33..2^16-1>, one binder per
 * identity. Leaves r's sub-readers at the first identity and binder. */
static MSTATUS read_offer(const struct nk_ext *x, struct nk_rd *ids, struct nk_rd *binders)
{
    struct nk_rd r = x->data, walk, item;
    size_t n_ids = 0, n_binders = 0;
    uint32_t age;
    NK_TRY(nk_rd_vec16(&r, ids, 7, 0xffff));
    NK_TRY(nk_rd_vec16(&r, binders, 33, 0xffff));
    NK_TRY(nk_rd_done(&r));
    for (walk = *ids; nk_rd_left(&walk); n_ids++) {
        NK_TRY(nk_rd_vec16(&walk, &item, 1, 0xffff));
        NK_TRY(nk_rd_u32(&walk, &age));
    }
    for (walk = *binders; nk_rd_left(&walk); n_binders++)
        NK_TRY(nk_rd_vec8(&walk, &item, 32, 255));
    /* "Clients MUST NOT send more binders than identities" and each identity
     * has its binder: a mismatch is illegal_parameter. */
    NK_CHECK(n_ids == n_binders, ERR_SSL_ILLEGAL_PARAMETER);
    return OK;
}

/* Is this ticket usable on this connection? Same hash as our suite, within
 * its lifetime (limits.ticket_lifetime, §4.6.1), and bound to what this
 * connection would authenticate (handshake/ticket.c). */
static MSTATUS ticket_fits(struct nk_tls *c, const struct nk_ticket_state *t, int *fits)
{
    uint8_t binding[NK_TICKET_BINDING];
    const struct nk_suite *s = nk_suite_by_id(t->suite);   /* NULL: a TLS 1.2 ticket */
    *fits = 0;
    if (!s || s->hash != c->suite->hash)
        return OK;
    if (!nk_ticket_current(t, (time_t)(c->now / 1000), c->cfg->limits.ticket_lifetime))
        return OK;
    NK_TRY(nk_ticket_binding(c, binding));
    *fits = nk_ct_equal(binding, t->binding, sizeof binding);
    return OK;
}

/* The key for the first identity the client offered: one of our tickets (or,
 * keeping sessions in the application's store, one of its identities: taken
 * out of it, handshake/ticket_store.c) that fits this connection (its chain
 * then goes to t), else an external PSK the
 * application knows under that identity, taken under a SHA-256 suite only
 * (§4.2.11, handshake/psk_ext.c). *found 0: none; a full handshake. */
static MSTATUS find_key(struct nk_tls *c, const struct nk_rd *id, struct nk_ticket_state *t, int *found,
                        int *external)
{
    int fits = 0;
    *found = *external = 0;
    MSTATUS st = nk_ticket_store_on(c) ? nk_ticket_store_take(c, id->p, nk_rd_left(id), t)
                                       : nk_ticket_open(id->p, nk_rd_left(id), (time_t)(c->now / 1000), t);
    if (st == ERR_MEM_ALLOC_FAIL)
        return st;
    if (st == OK)
        NK_TRY(ticket_fits(c, t, &fits));
    if (st == OK && fits) {
        *found = 1;
        return OK;
    }
    nk_ticket_state_clear(t);
    size_t len = 0;
    if (c->suite->hash == NK_SHA256 && nk_psk_ext_server_lookup(c, id->p, nk_rd_left(id), t->psk, &len)) {
        t->psk_len = (uint8_t)len;
        *found = *external = 1;
    }
    return OK;
}

MSTATUS nk_psk_server_check(struct nk_tls *c, const struct nk_ext *exts, size_t n, const uint8_t *raw,
                            size_t raw_len)
{
    struct nk_hs *hs = c->hs;
    const struct nk_ext *x = nk_ext_find(exts, n, NK_EXT_PRE_SHARED_KEY);
    const struct nk_ext *modes = nk_ext_find(exts, n, NK_EXT_PSK_KEY_EXCHANGE_MODES);
    struct nk_rd ids, binders, id, bind;
    int ke = 0, dhe = 0, found = 0, external = 0;
    hs->psk_ok = hs->psk_ke = 0;
    /* Tickets only for a client that can use them (§4.2.9: we take psk_dhe_ke). */
    if (modes)
        NK_TRY(read_modes(modes, &ke, &dhe));
    c->tickets_ok = dhe;
    if (!x)
        return OK;
    /* §4.2.9: "If clients offer pre_shared_key without a psk_key_exchange_modes
     * extension, servers MUST abort the handshake." */
    NK_CHECK(modes, ERR_SSL_MISSING_EXTENSION);
    NK_TRY(read_offer(x, &ids, &binders));
    /* psk_ke (no (EC)DHE) only where the application allows it; else psk_dhe_ke. */
    int use_ke = ke && (c->flags & NKTLS_FLAG_PSK_KE);
    if (!use_ke && !dhe)
        return OK;
    /* The truncated ClientHello ends where the binders list begins. */
    size_t tlen = (size_t)(binders.p - 2 - raw);
    uint32_t obfuscated_age;
    NK_TRY(nk_rd_vec16(&ids, &id, 1, 0xffff));
    NK_TRY(nk_rd_u32(&ids, &obfuscated_age));
    NK_TRY(nk_rd_vec8(&binders, &bind, 32, 255));
    struct nk_ticket_state t;
    memset(&t, 0, sizeof t);
    MSTATUS st = find_key(c, &id, &t, &found, &external);
    if (st < 0 || !found) {
        nk_ticket_state_clear(&t);
        return st;   /* not resumable here: a full handshake */
    }
    uint8_t expect[NK_MAX_HASH];
    size_t hl = nk_hash_len(c->suite->hash);
    st = binder(&hs->tr, c->suite->hash, external, t.psk, t.psk_len, raw, tlen, expect);
    if (st == OK && (nk_rd_left(&bind) != hl || !nk_ct_equal(expect, bind.p, hl)))
        st = ERR_SSL_BAD_BINDER;   /* §4.2.11: abort; §6.2: decrypt_error */
    if (st == OK) {
        hs->psk_ok = 1;
        hs->psk_ke = (uint8_t)use_ke;
        hs->psk_len = t.psk_len;
        memcpy(hs->psk, t.psk, t.psk_len);
        /* The resumed session authenticated the client as the original did. */
        free(c->peer_chain);
        c->peer_chain = t.chain;
        c->peer_chain_len = t.chain_len;
        t.chain = NULL;
        nk_early_server_ticket(c, &t, obfuscated_age, bind.p, nk_rd_left(&bind));   /* 0-RTT */
    }
    nk_ticket_state_clear(&t);
    (void)raw_len;
    return st;
}
