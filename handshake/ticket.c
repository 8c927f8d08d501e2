/* handshake/ticket.c — TLS 1.3 session tickets (RFC 8446 §4.6.1).
 *
 * Server: tickets are stateless. A ticket is the resumption PSK and what it was
 * made for (suite, issue time, age_add), sealed with AES-256-GCM under a
 * process-wide key made at first use; a restart invalidates every ticket, which
 * costs the peer one full handshake.
 * Client: a NewSessionTicket becomes a tls13PSK, handed to the application's
 * save callback in SSL_serializePSK's format; the retrieve callback gives one
 * back before the next ClientHello (handshake/psk.c offers it). */
#include <pthread.h>
#include <stdlib.h>
#include "handshake/hs.h"
#include "handshake/psk.h"

#define TICKET_LIFETIME 7200          /* seconds; §4.6.1 allows up to 7 days */
#define TICKET_KEY_NAME 16
#define TICKET_OVERHEAD (TICKET_KEY_NAME + NK_AEAD_IV + NK_AEAD_TAG)

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static uint8_t g_key_name[TICKET_KEY_NAME], g_key[32];
static int g_key_ok;

static void ticket_key_init(void)
{
    g_key_ok = nk_random(g_key_name, sizeof g_key_name) == OK && nk_random_priv(g_key, sizeof g_key) == OK;
}

/* The sealing key is used from many threads: each thread keeps its own pair
 * of AEAD contexts under it (AES-256-GCM), keyed once; a call only sets the
 * nonce. The contexts belong to the thread, not to *a: never nk_aead_free it. */
static MSTATUS ticket_aead(struct nk_aead *a, int encrypt)
{
    struct nk_thread_ctx *t = nk_thread_ctx();
    pthread_once(&g_once, ticket_key_init);
    NK_CHECK(g_key_ok, ERR_CRYPTO);
    NK_CHECK(t, ERR_MEM_ALLOC_FAIL);
    memset(a, 0, sizeof *a);
    a->suite = nk_suite_by_id(0x1302);
    a->encrypt = encrypt;
    if ((a->ctx = t->ticket[encrypt]) != NULL)
        return OK;
    MSTATUS st = nk_aead_init(a, a->suite, g_key, encrypt);
    if (st < 0) {
        nk_aead_free(a);
        return st;
    }
    t->ticket[encrypt] = a->ctx;
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

NK_API MSTATUS SSL_freePSK(tls13PSK **pp)
{
    NK_CHECK(pp, ERR_NULL_POINTER);
    nk_psk_free(*pp);
    *pp = NULL;
    return OK;
}

/* "NKPS" 1 | suite(2) | psk<1..255> | age_add(4) | lifetime(4) | received(8) | ticket<1..2^16-1> */
NK_API MSTATUS SSL_serializePSK(tls13PSK *p, ubyte **out, ubyte4 *out_len)
{
    NK_CHECK(p && out && out_len, ERR_NULL_POINTER);
    struct nk_buf b = { 0 };
    struct nk_wr w;
    nk_wr_init(&w, &b);
    nk_wr_bytes(&w, "NKPS", 4);
    nk_wr_u8(&w, 1);
    nk_wr_u16(&w, p->suite);
    nk_wr_u8(&w, p->psk_len);
    nk_wr_bytes(&w, p->psk, p->psk_len);
    nk_wr_u32(&w, p->age_add);
    nk_wr_u32(&w, p->lifetime);
    nk_wr_u32(&w, (uint32_t)(p->received >> 32));
    nk_wr_u32(&w, (uint32_t)p->received);
    nk_wr_u16(&w, p->ticket_len);
    nk_wr_bytes(&w, p->ticket, p->ticket_len);
    if (nk_wr_status(&w) < 0) {
        nk_buf_free(&b);
        return ERR_MEM_ALLOC_FAIL;
    }
    *out = b.p;
    *out_len = (ubyte4)b.len;
    return OK;
}

NK_API MSTATUS SSL_deserializePSK(ubyte *in, ubyte4 len, tls13PSK **out)
{
    NK_CHECK(in && out, ERR_NULL_POINTER);
    struct nk_rd r, psk, ticket;
    const uint8_t *magic;
    uint8_t version;
    uint32_t hi, lo;
    struct tls13PSK *p = calloc(1, sizeof *p);
    NK_CHECK(p, ERR_MEM_ALLOC_FAIL);
    nk_rd_init(&r, in, len);
    MSTATUS st = ERR_INVALID_ARG;
    if (nk_rd_bytes(&r, 4, &magic) == OK && !memcmp(magic, "NKPS", 4) && nk_rd_u8(&r, &version) == OK
        && version == 1 && nk_rd_u16(&r, &p->suite) == OK && nk_suite_by_id(p->suite)
        && nk_rd_vec8(&r, &psk, 1, NK_MAX_HASH) == OK && nk_rd_u32(&r, &p->age_add) == OK
        && nk_rd_u32(&r, &p->lifetime) == OK && nk_rd_u32(&r, &hi) == OK && nk_rd_u32(&r, &lo) == OK
        && nk_rd_vec16(&r, &ticket, 1, 0xffff) == OK && nk_rd_done(&r) == OK
        && nk_rd_left(&psk) == nk_hash_len(nk_suite_by_id(p->suite)->hash)
        && (p->ticket = malloc(nk_rd_left(&ticket))) != NULL) {
        p->psk_len = (uint8_t)nk_rd_left(&psk);
        memcpy(p->psk, psk.p, p->psk_len);
        p->received = (uint64_t)hi << 32 | lo;
        p->ticket_len = (uint16_t)nk_rd_left(&ticket);
        memcpy(p->ticket, ticket.p, p->ticket_len);
        *out = p;
        return OK;
    }
    nk_psk_free(p);
    return st;
}

NK_API MSTATUS SSL_setClientSavePSKCallback(sbyte4 h, funcPtrClientSavePSK_t cb)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    c->psk_save_cb = cb;
    return OK;
}

NK_API MSTATUS SSL_CLIENT_setRetrievePSKCallback(sbyte4 h, funcPtrClientRetrievePSK_t cb)
{
    struct nk_conn *c;
    NK_TRY(nk_conn_get(h, &c));
    c->psk_retrieve_cb = cb;
    return OK;
}

/* ---- server: issue tickets ---- */

/* PSK = HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce,
 * Hash.length) (§4.6.1). */
static MSTATUS ticket_psk(const struct nk_conn *c, const uint8_t *nonce, size_t nlen, uint8_t *psk)
{
    size_t hl = nk_hash_len(c->suite->hash);
    return nk_hkdf_expand_label(c->suite->hash, c->resumption, "resumption", nonce, nlen, psk, hl);
}

static MSTATUS seal_ticket(const struct nk_conn *c, const uint8_t *psk, uint32_t age_add,
                           const uint8_t iv[NK_AEAD_IV], struct nk_wr *w)
{
    struct nk_aead a;
    uint8_t plain[2 + 8 + 4 + 1 + NK_MAX_HASH], *out;
    size_t hl = nk_hash_len(c->suite->hash), n = 0;
    uint64_t now = (uint64_t)c->now;
    nk_store16(plain, c->suite->id);
    for (int i = 0; i < 8; i++)
        plain[2 + i] = (uint8_t)(now >> (56 - 8 * i));
    plain[10] = (uint8_t)(age_add >> 24);
    plain[11] = (uint8_t)(age_add >> 16);
    plain[12] = (uint8_t)(age_add >> 8);
    plain[13] = (uint8_t)age_add;
    plain[14] = (uint8_t)hl;
    memcpy(plain + 15, psk, hl);
    n = 15 + hl;
    NK_TRY(ticket_aead(&a, 1));   /* first: it makes the key and its name */
    MSTATUS st = ERR_MEM_ALLOC_FAIL;
    if ((out = nk_wr_space(w, TICKET_OVERHEAD + n)) == NULL)
        goto done;
    memcpy(out, g_key_name, TICKET_KEY_NAME);
    memcpy(out + TICKET_KEY_NAME, iv, NK_AEAD_IV);
    memcpy(out + TICKET_OVERHEAD - NK_AEAD_TAG, plain, n);
    st = nk_aead_seal(&a, out + TICKET_KEY_NAME, out, TICKET_KEY_NAME,
                      out + TICKET_OVERHEAD - NK_AEAD_TAG, n);
done:
    nk_wipe(plain, sizeof plain);
    return st;   /* key name | nonce | ciphertext | tag */
}

MSTATUS nk_ticket_send(struct nk_conn *c, uint8_t nonce, const uint8_t *fresh)
{
    /* struct { uint32 ticket_lifetime; uint32 ticket_age_add;
     *   opaque ticket_nonce<0..255>; opaque ticket<1..2^16-1>;
     *   Extension extensions<0..2^16-2>; } NewSessionTicket;  (§4.6.1) */
    uint8_t psk[NK_MAX_HASH], rnd[NK_TICKET_RND];   /* age_add, then the sealing nonce */
    uint32_t age_add;
    struct nk_buf b = { 0 };
    struct nk_wr w;
    _Static_assert(NK_TICKET_RND == 4 + NK_AEAD_IV, "age_add and nonce");
    if (fresh)
        memcpy(rnd, fresh, sizeof rnd);
    else
        NK_TRY(nk_random(rnd, sizeof rnd));   /* one call: each costs about a microsecond */
    memcpy(&age_add, rnd, 4);
    NK_TRY(ticket_psk(c, &nonce, 1, psk));
    nk_wr_init(&w, &b);
    nk_wr_u8(&w, NK_HS_NEW_SESSION_TICKET);
    size_t len = nk_wr_open(&w, 3);
    nk_wr_u32(&w, TICKET_LIFETIME);
    nk_wr_u32(&w, age_add);
    nk_wr_u8(&w, 1);
    nk_wr_u8(&w, nonce);
    size_t t = nk_wr_open(&w, 2);
    MSTATUS st = seal_ticket(c, psk, age_add, rnd + 4, &w);
    nk_wr_close(&w, t, 2);
    nk_wr_u16(&w, 0);
    nk_wr_close(&w, len, 3);
    nk_wipe(psk, sizeof psk);
    nk_wipe(rnd, sizeof rnd);
    if (st == OK)
        st = nk_wr_status(&w);
    if (st == OK)
        st = nk_send_handshake(c, b.p, b.len);
    nk_buf_free(&b);
    return st;
}

MSTATUS nk_ticket_open(const uint8_t *ticket, size_t len, time_t now, struct nk_ticket_state *out)
{
    struct nk_aead a;
    uint8_t buf[2 + 8 + 4 + 1 + NK_MAX_HASH + NK_AEAD_TAG];
    pthread_once(&g_once, ticket_key_init);
    /* Not ours, or from before a restart: a full handshake follows. */
    if (len < TICKET_OVERHEAD + 15 || len - TICKET_KEY_NAME - NK_AEAD_IV > sizeof buf
        || memcmp(ticket, g_key_name, TICKET_KEY_NAME))
        return ERR_SSL_HANDSHAKE_FAILURE;
    size_t clen = len - TICKET_KEY_NAME - NK_AEAD_IV;
    memcpy(buf, ticket + TICKET_KEY_NAME + NK_AEAD_IV, clen);
    NK_TRY(ticket_aead(&a, 0));
    MSTATUS st = nk_aead_open(&a, ticket + TICKET_KEY_NAME, ticket, TICKET_KEY_NAME, buf, clen);
    size_t n = clen - NK_AEAD_TAG;
    if (st < 0 || n != 15u + buf[14]) {
        nk_wipe(buf, sizeof buf);
        return ERR_SSL_HANDSHAKE_FAILURE;
    }
    uint64_t issued = 0;
    for (int i = 0; i < 8; i++)
        issued = issued << 8 | buf[2 + i];
    out->suite = nk_load16(buf);
    out->age_add = (uint32_t)buf[10] << 24 | (uint32_t)buf[11] << 16 | (uint32_t)buf[12] << 8 | buf[13];
    out->issued = (time_t)issued;
    out->psk_len = buf[14];
    memcpy(out->psk, buf + 15, out->psk_len);
    nk_wipe(buf, sizeof buf);
    /* §4.6.1: a ticket is not used past its lifetime. */
    return now >= out->issued && now - out->issued <= TICKET_LIFETIME ? OK : ERR_SSL_HANDSHAKE_FAILURE;
}

/* ---- client: keep what a NewSessionTicket gives ---- */

MSTATUS nk_ticket_received(struct nk_conn *c, uint32_t lifetime, uint32_t age_add, const uint8_t *nonce,
                           size_t nlen, const uint8_t *ticket, size_t tlen)
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
    p->received = (uint64_t)c->now;
    p->ticket_len = (uint16_t)tlen;
    if ((p->ticket = malloc(tlen)) != NULL && (st = ticket_psk(c, nonce, nlen, p->psk)) == OK) {
        memcpy(p->ticket, ticket, tlen);
        st = SSL_serializePSK(p, &ser, &ser_len);
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
