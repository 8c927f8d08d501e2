/* handshake/ticket.c — TLS 1.3 session tickets (RFC 8446 §4.6.1).
 *
 * Server: tickets are stateless. A ticket is the resumption PSK and what it was
 * made for (suite, issue time, age_add), sealed with AES-256-GCM under the
 * process-wide ticket keys (handshake/ticket_keys.c): a key made at first use,
 * so that a restart invalidates every ticket (the peer's next handshake is a
 * full one), unless the application loads a key file that a fleet of servers
 * shares and rotates.
 * Client: a NewSessionTicket becomes a tls13PSK, handed to the application's
 * save callback in nk_psk_serialize's form (SSL_serializePSK's); the retrieve callback gives one
 * back before the next ClientHello (handshake/psk.c offers it). */
#include <pthread.h>
#include <stdlib.h>
#include "handshake/hs.h"
#include "handshake/psk.h"
#include "handshake/early.h"
#include "handshake/store.h"
#include "handshake/ticket_keys.h"
#include "nktls.h"

/* Seconds: no ticket opens after 7 days (§4.6.1's most); TLS 1.3's are
 * refused earlier, after limits.ticket_lifetime (handshake/psk.c), and TLS
 * 1.2's after limits.session_lifetime (handshake/tls12_ticket.c). */
#define TICKET_LIFETIME_MAX 604800
#define TICKET_KEY_NAME NK_TICKET_KEY_NAME
#define TICKET_OVERHEAD (TICKET_KEY_NAME + NK_AEAD_IV + NK_AEAD_TAG)

/* The keys are used from many threads: each thread keeps its own pair of
 * AEAD contexts (AES-256-GCM), keyed again only when the key changes; a call
 * only sets the nonce. The contexts belong to the thread, not to *a: never
 * nk_aead_free it. */
static MSTATUS ticket_aead(struct nk_aead *a, int encrypt, const struct nk_ticket_key *k)
{
    struct nk_thread_ctx *t = nk_thread_ctx();
    NK_CHECK(t, ERR_MEM_ALLOC_FAIL);
    memset(a, 0, sizeof *a);
    a->suite = nk_suite_by_id(0x1302);
    a->encrypt = encrypt;
    if (t->ticket[encrypt] && t->ticket_gen[encrypt] == k->gen
        && memcmp(t->ticket_name[encrypt], k->name, TICKET_KEY_NAME) == 0) {
        a->ctx = t->ticket[encrypt];
        return OK;
    }
    if (t->ticket[encrypt]) {   /* under another key: made again */
        a->ctx = t->ticket[encrypt];
        t->ticket[encrypt] = NULL;
        nk_aead_free(a);
        memset(a, 0, sizeof *a);
        a->suite = nk_suite_by_id(0x1302);
        a->encrypt = encrypt;
    }
    MSTATUS st = nk_aead_init(a, a->suite, k->key, encrypt);
    if (st < 0) {
        nk_aead_free(a);
        return st;
    }
    t->ticket[encrypt] = a->ctx;
    t->ticket_gen[encrypt] = k->gen;
    memcpy(t->ticket_name[encrypt], k->name, TICKET_KEY_NAME);
    return OK;
}

/* ---- the tls13PSK value and its serialized form ---- */

void nk_psk_free(struct tls13PSK *p)
{
    if (!p)
        return;
    free(p->ticket);
    nk_wipe(p, sizeof *p);
    free(p);
}

/* ---- server: issue tickets ---- */

/* PSK = HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce,
 * Hash.length) (§4.6.1). */
static MSTATUS ticket_psk(const struct nk_tls *c, const uint8_t *nonce, size_t nlen, uint8_t *psk)
{
    size_t hl = nk_hash_len(c->suite->hash);
    return nk_hkdf_expand_label(c->suite->hash, c->resumption, "resumption", nonce, nlen, psk, hl);
}

/* The client-authentication policy a ticket was issued under. */
static uint8_t auth_policy(const struct nk_tls *c)
{
    if (c->flags & SSL_FLAG_NO_MUTUAL_AUTH_REQUEST)
        return 0;
    if (c->flags & SSL_FLAG_REQUIRE_MUTUAL_AUTH)
        return 2;
    return c->flags & NKTLS_FLAG_REQUEST_MUTUAL_AUTH ? 1 : 0;
}

/* §4.6.1 and §4.2.11 leave it to the server to resume a PSK only where the
 * original session would have been valid: a ticket from a listener without
 * client authentication must not skip the CertificateRequest of one that
 * requires it, nor serve another server name or protocol. */
MSTATUS nk_ticket_binding(const struct nk_tls *c, uint8_t out[NK_TICKET_BINDING])
{
    /* A DTLS session resumes over DTLS only, a TLS one over TLS only: the
     * same server name and store may serve both. */
    static const char label[] = "nktls ticket binding", dtls_label[] = "nktls DTLS ticket binding";
    uint8_t b[sizeof dtls_label + 16 + 1 + 1 + 255 + 1 + 255];
    struct nk_buf buf = { b, 0, sizeof b, 0 };
    struct nk_wr w;
    const char *sni = c->server_name ? c->server_name : "";
    size_t sni_len = strlen(sni), alpn_len = strlen(c->alpn);
    NK_CHECK(c->store && sni_len <= 255 && alpn_len <= 255, ERR_SSL_INTERNAL);
    nk_wr_init(&w, &buf);
    if (c->is_dtls)
        nk_wr_bytes(&w, dtls_label, sizeof dtls_label);
    else
        nk_wr_bytes(&w, label, sizeof label);
    nk_wr_bytes(&w, c->store->ticket_ctx, sizeof c->store->ticket_ctx);
    nk_wr_u8(&w, auth_policy(c));
    nk_wr_u8(&w, (uint8_t)sni_len);
    nk_wr_bytes(&w, sni, sni_len);
    nk_wr_u8(&w, (uint8_t)alpn_len);
    nk_wr_bytes(&w, c->alpn, alpn_len);
    NK_CHECK(nk_wr_status(&w) == OK && buf.p == b, ERR_SSL_INTERNAL);   /* never grows */
    return nk_digest(NK_SHA256, b, buf.len, out);
}

/* The sealed part: suite(2) | issued(8) | age_add(4) | psk<1..255> |
 * binding(32) | client chain<0..2^16-1> | max_early_data_size(4). A TLS 1.2 ticket (RFC 5077) has the
 * same form: a TLS 1.2 suite (the ids do not collide), age_add 0, the master
 * secret for the PSK. */
MSTATUS nk_ticket_plaintext(const struct nk_tls *c, const uint8_t *psk, size_t hl, uint32_t age_add,
                            const uint8_t *binding, struct nk_buf *b)
{
    struct nk_wr w;
    uint64_t now = (uint64_t)(c->now / 1000);   /* the ticket keeps seconds */
    NK_CHECK(c->peer_chain_len <= NK_TICKET_MAX_CHAIN, ERR_SSL_INTERNAL);
    nk_wr_init(&w, b);
    nk_wr_u16(&w, c->suite->id);
    nk_wr_u32(&w, (uint32_t)(now >> 32));
    nk_wr_u32(&w, (uint32_t)now);
    nk_wr_u32(&w, age_add);
    nk_wr_u8(&w, (uint8_t)hl);
    nk_wr_bytes(&w, psk, hl);
    nk_wr_bytes(&w, binding, NK_TICKET_BINDING);
    nk_wr_u16(&w, (uint16_t)c->peer_chain_len);
    nk_wr_bytes(&w, c->peer_chain, c->peer_chain_len);
    nk_wr_u32(&w, nk_early_ticket_max(c));   /* 0-RTT allowed with it (tls13_early.c) */
    return nk_wr_status(&w);
}

static MSTATUS seal_ticket(const struct nk_tls *c, const uint8_t *psk, size_t psk_len, uint32_t age_add,
                           const uint8_t *binding, const uint8_t iv[NK_AEAD_IV], struct nk_wr *w)
{
    struct nk_aead a;
    struct nk_ticket_key k;
    struct nk_buf plain = { 0 };
    uint8_t *out;
    MSTATUS st = nk_ticket_plaintext(c, psk, psk_len, age_add, binding, &plain);
    if (st == OK)
        st = nk_ticket_key_seal(c->now / 1000, &k);
    if (st == OK)
        st = ticket_aead(&a, 1, &k);
    if (st == OK && (out = nk_wr_space(w, TICKET_OVERHEAD + plain.len)) == NULL)
        st = ERR_MEM_ALLOC_FAIL;
    if (st == OK) {
        memcpy(out, k.name, TICKET_KEY_NAME);
        memcpy(out + TICKET_KEY_NAME, iv, NK_AEAD_IV);
        memcpy(out + TICKET_OVERHEAD - NK_AEAD_TAG, plain.p, plain.len);
        st = nk_aead_seal(&a, out + TICKET_KEY_NAME, out, TICKET_KEY_NAME,
                          out + TICKET_OVERHEAD - NK_AEAD_TAG, plain.len);
    }
    nk_buf_free(&plain);   /* wipes the PSK */
    nk_wipe(&k, sizeof k);
    return st;   /* key name | nonce | ciphertext | tag */
}

MSTATUS nk_ticket_seal(const struct nk_tls *c, const uint8_t *secret, size_t len,
                       const uint8_t binding[NK_TICKET_BINDING], struct nk_wr *w)
{
    uint8_t iv[NK_AEAD_IV];
    NK_TRY(nk_random(iv, sizeof iv));
    return seal_ticket(c, secret, len, 0, binding, iv, w);
}

MSTATUS nk_ticket_send(struct nk_tls *c, uint8_t nonce, const uint8_t *fresh)
{
    /* struct { uint32 ticket_lifetime; uint32 ticket_age_add;
     *   opaque ticket_nonce<0..255>; opaque ticket<1..2^16-1>;
     *   Extension extensions<0..2^16-2>; } NewSessionTicket;  (§4.6.1) */
    uint8_t psk[NK_MAX_HASH], rnd[NK_TICKET_RND];   /* age_add, then the sealing nonce */
    uint8_t binding[NK_TICKET_BINDING];
    uint32_t age_add;
    struct nk_buf b = { 0 };
    struct nk_wr w;
    struct nk_ticket_key k;
    _Static_assert(NK_TICKET_RND == 4 + NK_AEAD_IV, "age_add and nonce");
    if (nk_ticket_key_seal(c->now / 1000, &k) < 0)
        return OK;   /* every key has ended: no ticket (docs/ticket-keys.md) */
    nk_wipe(&k, sizeof k);
    if (fresh)
        memcpy(rnd, fresh, sizeof rnd);
    else
        NK_TRY(nk_random(rnd, sizeof rnd));   /* one call: each costs about a microsecond */
    memcpy(&age_add, rnd, 4);
    NK_TRY(nk_ticket_binding(c, binding));
    NK_TRY(ticket_psk(c, &nonce, 1, psk));
    nk_wr_init(&w, &b);
    nk_wr_u8(&w, NK_HS_NEW_SESSION_TICKET);
    size_t len = nk_wr_open(&w, 3);
    nk_wr_u32(&w, c->cfg->limits.ticket_lifetime);
    nk_wr_u32(&w, age_add);
    nk_wr_u8(&w, 1);
    nk_wr_u8(&w, nonce);
    size_t t = nk_wr_open(&w, 2);
    int refused = 0;   /* a server keeping its sessions: the store's identity instead */
    MSTATUS st = nk_ticket_store_on(c)
                 ? nk_ticket_store_save(c, psk, nk_hash_len(c->suite->hash), age_add, binding, &w, &refused)
                 : seal_ticket(c, psk, nk_hash_len(c->suite->hash), age_add, binding, rnd + 4, &w);
    nk_wr_close(&w, t, 2);
    nk_early_ticket_exts(c, &w);   /* early_data when 0-RTT is allowed (§4.6.1) */
    nk_wr_close(&w, len, 3);
    nk_wipe(psk, sizeof psk);
    nk_wipe(rnd, sizeof rnd);
    if (st == OK)
        st = nk_wr_status(&w);
    if (st == OK && !refused)
        st = nk_send_handshake(c, b.p, b.len);
    nk_buf_free(&b);
    return st;
}

/* §4.6.1: a ticket is not used past its lifetime. */
int nk_ticket_current(const struct nk_ticket_state *t, time_t now, uint32_t lifetime)
{
    return now >= t->issued && now - t->issued <= (time_t)lifetime;
}

void nk_ticket_state_clear(struct nk_ticket_state *t)
{
    free(t->chain);
    nk_wipe(t, sizeof *t);
}

/* Reads the opened plaintext (nk_ticket_plaintext's layout) into out. */
MSTATUS nk_ticket_fields(const uint8_t *p, size_t n, struct nk_ticket_state *out)
{
    struct nk_rd r, psk, chain;
    uint32_t hi, lo;
    nk_rd_init(&r, p, n);
    NK_TRY(nk_rd_u16(&r, &out->suite));
    NK_TRY(nk_rd_u32(&r, &hi));
    NK_TRY(nk_rd_u32(&r, &lo));
    NK_TRY(nk_rd_u32(&r, &out->age_add));
    NK_TRY(nk_rd_vec8(&r, &psk, 32, NK_MAX_HASH));
    NK_TRY(nk_rd_copy(&r, out->binding, NK_TICKET_BINDING));
    NK_TRY(nk_rd_vec16(&r, &chain, 0, 0xffff));
    if (nk_rd_left(&r))   /* absent from tickets sealed before 0-RTT existed */
        NK_TRY(nk_rd_u32(&r, &out->max_early));
    NK_TRY(nk_rd_done(&r));
    NK_CHECK(nk_suite_by_id(out->suite) || nk_suite12_by_id(out->suite), ERR_SSL_HANDSHAKE_FAILURE);
    out->issued = (time_t)((uint64_t)hi << 32 | lo);
    out->psk_len = (uint8_t)nk_rd_left(&psk);
    NK_TRY(nk_rd_copy(&psk, out->psk, out->psk_len));
    if (nk_rd_left(&chain)) {
        NK_CHECK(out->chain = malloc(nk_rd_left(&chain)), ERR_MEM_ALLOC_FAIL);
        out->chain_len = (uint32_t)nk_rd_left(&chain);
        NK_TRY(nk_rd_copy(&chain, out->chain, out->chain_len));
    }
    return OK;
}

MSTATUS nk_ticket_open(const uint8_t *ticket, size_t len, time_t now, struct nk_ticket_state *out)
{
    struct nk_aead a;
    struct nk_ticket_key k;
    struct nk_rd r;
    const uint8_t *name, *iv;
    memset(out, 0, sizeof *out);
    /* key name | nonce | ciphertext | tag (seal_ticket). Not ours, from
     * before a restart, or under a key that has ended: a full handshake
     * follows. The name only picks the key; the AEAD tag authenticates. */
    nk_rd_init(&r, ticket, len);
    if (len < TICKET_OVERHEAD + 15 || nk_rd_bytes(&r, TICKET_KEY_NAME, &name) < 0
        || nk_ticket_key_open(name, (int64_t)now, &k) < 0 || nk_rd_bytes(&r, NK_AEAD_IV, &iv) < 0)
        return ERR_SSL_HANDSHAKE_FAILURE;
    size_t clen = nk_rd_left(&r);
    uint8_t *buf = malloc(clen);
    NK_CHECK(buf, ERR_MEM_ALLOC_FAIL);
    MSTATUS st = nk_rd_copy(&r, buf, clen);
    if (st == OK)
        st = ticket_aead(&a, 0, &k);
    nk_wipe(&k, sizeof k);
    if (st == OK)   /* the key name is the additional data */
        st = nk_aead_open(&a, iv, name, TICKET_KEY_NAME, buf, clen);
    if (st == OK)
        st = nk_ticket_fields(buf, clen - NK_AEAD_TAG, out);
    nk_wipe(buf, clen);
    free(buf);
    if (st == OK && !nk_ticket_current(out, now, TICKET_LIFETIME_MAX))
        st = ERR_SSL_HANDSHAKE_FAILURE;
    if (st < 0) {
        nk_ticket_state_clear(out);
        return st == ERR_MEM_ALLOC_FAIL ? st : ERR_SSL_HANDSHAKE_FAILURE;
    }
    return OK;
}

/* ---- client: keep what a NewSessionTicket gives ---- */

MSTATUS nk_ticket_received(struct nk_tls *c, uint32_t lifetime, uint32_t age_add, const uint8_t *nonce,
                           size_t nlen, const uint8_t *ticket, size_t tlen, uint32_t max_early)
{
    if (!c->psk_save_cb || lifetime == 0)   /* lifetime 0: use it never (§4.6.1) */
        return OK;
    struct tls13PSK *p = calloc(1, sizeof *p);
    NK_CHECK(p, ERR_MEM_ALLOC_FAIL);
    ubyte *ser = NULL;
    ubyte4 ser_len = 0;
    MSTATUS st = ERR_MEM_ALLOC_FAIL;
    p->suite = c->suite->id;
    p->psk_len = (uint8_t)nk_hash_len(c->suite->hash);
    p->age_add = age_add;
    p->lifetime = lifetime;
    p->received = (uint64_t)(c->now / 1000);
    p->ticket_len = (uint16_t)tlen;
    p->max_early = max_early;
    snprintf(p->alpn, sizeof p->alpn, "%s", c->alpn);   /* the connection's protocol */
    if ((p->ticket = malloc(tlen)) != NULL && (st = ticket_psk(c, nonce, nlen, p->psk)) == OK) {
        memcpy(p->ticket, ticket, tlen);
        st = nk_psk_serialize(p, &ser, &ser_len);
    }
    if (st == OK) {
        const char *info = c->server_name ? c->server_name : "";
        c->psk_save_cb(c->handle, (sbyte *)info, (ubyte4)strlen(info), ser, ser_len);
        nk_wipe(ser, ser_len);
        free(ser);
    }
    nk_psk_free(p);
    return st;
}
