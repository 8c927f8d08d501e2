/* handshake/psk_ext.c — TLS 1.3 external PSKs (RFC 8446 §2.2, §4.2.11): an
 * identity and key the application agreed with its peer out of band. The
 * offer, binder and acceptance are resumption's (handshake/psk.c); here is
 * where the key comes from. An external PSK has no hash of its own in the
 * NanoSSL calls, and §4.2.11 says "SHA-256 MUST be used if no such algorithm
 * is defined": it is offered with, and accepted under, a SHA-256 suite only. */
#include <stdlib.h>
#include "handshake/psk.h"
#include "handshake/store.h"
#include "nktls.h"

enum { PSK_KE = 0 };

/* The first enabled TLS 1.3 suite of SHA-256: the one an external PSK names. */
static const struct nk_suite *sha256_suite(const struct nk_tls *c)
{
    static const uint16_t ids[] = { 0x1301, 0x1303, 0x1304, 0x1305 };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const struct nk_suite *s = nk_suite_by_id(ids[i]);
        if (s && s->hash == NK_SHA256 && nk_tls_suite_enabled(c, s))
            return s;
    }
    return NULL;
}

/* id, psk: the application's, in the sizes its callbacks take. */
static MSTATUS make_offer(struct nk_tls *c, const struct nk_suite *s, const uint8_t *id, size_t id_len,
                          const uint8_t *psk, size_t psk_len)
{
    struct tls13PSK *p;
    if (id_len < 1 || id_len > SSL_PSK_SERVER_IDENTITY_LENGTH || psk_len < 1 || psk_len > NK_MAX_HASH)
        return OK;   /* nothing usable: a handshake with certificates */
    NK_CHECK(p = calloc(1, sizeof *p), ERR_MEM_ALLOC_FAIL);
    if (!(p->ticket = malloc(id_len))) {
        free(p);
        return ERR_MEM_ALLOC_FAIL;
    }
    memcpy(p->ticket, id, id_len);
    p->ticket_len = (uint16_t)id_len;
    memcpy(p->psk, psk, psk_len);
    p->psk_len = (uint8_t)psk_len;
    p->suite = s->id;
    p->external = 1;
    c->hs->offer = p;
    return OK;
}

MSTATUS nk_psk_ext_client_load(struct nk_tls *c)
{
    const struct nk_suite *s = sha256_suite(c);
    if (c->hs->offer || !s)
        return OK;
    if (c->cfg->ssl.funcPtrChoosePSK) {
        /* TLS 1.3 has no identity hint: the callback hears none. */
        ubyte id[SSL_PSK_SERVER_IDENTITY_LENGTH], psk[SSL_PSK_MAX_LENGTH];
        ubyte4 id_len = 0, psk_len = 0;
        MSTATUS st = OK;
        if (c->cfg->ssl.funcPtrChoosePSK(c->handle, NULL, 0, id, &id_len, psk, &psk_len) >= 0
            && id_len <= sizeof id && psk_len <= sizeof psk)
            st = make_offer(c, s, id, id_len, psk, psk_len);
        nk_wipe(psk, sizeof psk);
        return st;
    }
    if (c->store && c->store->n_psks) {
        const struct nk_psk_identity *p = &c->store->psks[0];
        return make_offer(c, s, p->id, p->id_len, p->secret, p->secret_len);
    }
    return OK;
}

int nk_psk_ext_client_ke_only(const struct nk_tls *c)
{
    return c->hs->offer && c->hs->offer->external && (c->flags & NKTLS_FLAG_PSK_KE);
}

int nk_psk_ext_server_lookup(struct nk_tls *c, const uint8_t *id, size_t id_len, uint8_t psk[NK_MAX_HASH],
                             size_t *psk_len)
{
    *psk_len = 0;
    if (id_len < 1 || id_len > SSL_PSK_SERVER_IDENTITY_LENGTH)
        return 0;
    if (c->cfg->ssl.funcPtrLookupPSK) {
        ubyte key[SSL_PSK_MAX_LENGTH];
        ubyte4 len = 0;
        uint8_t copy[SSL_PSK_SERVER_IDENTITY_LENGTH];
        memcpy(copy, id, id_len);   /* the callback takes a writable pointer */
        int found = c->cfg->ssl.funcPtrLookupPSK(c->handle, copy, (ubyte4)id_len, key, &len) >= 0
                    && len >= 1 && len <= NK_MAX_HASH && len <= sizeof key;
        if (found) {
            memcpy(psk, key, len);
            *psk_len = len;
        }
        nk_wipe(key, sizeof key);
        return found;
    }
    const struct nk_psk_identity *p = c->store ? nk_store_find_psk(c->store, id, (ubyte4)id_len) : NULL;
    if (!p || p->secret_len > NK_MAX_HASH)
        return 0;
    memcpy(psk, p->secret, p->secret_len);
    *psk_len = p->secret_len;
    return 1;
}

int nk_psk_ext_server_ke_possible(const struct nk_tls *c, const struct nk_ext *exts, size_t n)
{
    const struct nk_ext *modes = nk_ext_find(exts, n, NK_EXT_PSK_KEY_EXCHANGE_MODES);
    struct nk_rd r, list;
    uint8_t m;
    if (!(c->flags & NKTLS_FLAG_PSK_KE) || !modes || !nk_ext_find(exts, n, NK_EXT_PRE_SHARED_KEY))
        return 0;
    r = modes->data;
    if (nk_rd_vec8(&r, &list, 1, 255) < 0)
        return 0;   /* nk_psk_server_check answers decode_error for it */
    while (nk_rd_u8(&list, &m) == OK)
        if (m == PSK_KE)
            return 1;
    return 0;
}
