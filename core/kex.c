/* core/kex.c — (EC)DHE over libcrypto: X25519/X448, the NIST curves, and
 * the RFC 7919 finite field groups. */
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/param_build.h>
#include <openssl/bn.h>
#include <openssl/dh.h>
#include <openssl/err.h>
#include "core/kex.h"
#include "core/crypto.h"

const struct nk_group nk_groups[] = {
    { NK_GROUP_X25519, "X25519", 32 },
    { NK_GROUP_SECP256R1, "P-256", 65 },
    { NK_GROUP_SECP384R1, "P-384", 97 },
    { NK_GROUP_X448, "X448", 56 },
    { NK_GROUP_SECP521R1, "P-521", 133 },
    /* Only where the application lists them (NKTLS_setGroups): a connection
     * starts with the curves above (engine/conn.c). */
    { NK_GROUP_FFDHE2048, "ffdhe2048", 256 },
    { NK_GROUP_FFDHE3072, "ffdhe3072", 384 },
    { NK_GROUP_FFDHE4096, "ffdhe4096", 512 },
    { NK_GROUP_FFDHE6144, "ffdhe6144", 768 },
    { NK_GROUP_FFDHE8192, "ffdhe8192", 1024 },
};
const size_t nk_group_count = NK_ARRAY_LEN(nk_groups);

const struct nk_group *nk_group_by_id(uint16_t id)
{
    for (size_t i = 0; i < nk_group_count; i++)
        if (nk_groups[i].id == id)
            return &nk_groups[i];
    return NULL;
}

const struct nk_group *nk_group_by_name(const char *name)
{
    static const struct { const char *alias; uint16_t id; } aliases[] = {
        { "prime256v1", NK_GROUP_SECP256R1 }, { "secp256r1", NK_GROUP_SECP256R1 },
        { "secp384r1", NK_GROUP_SECP384R1 }, { "secp521r1", NK_GROUP_SECP521R1 },
        { "x25519", NK_GROUP_X25519 }, { "x448", NK_GROUP_X448 },
    };
    for (size_t i = 0; i < nk_group_count; i++)
        if (strcmp(nk_groups[i].name, name) == 0)
            return &nk_groups[i];
    for (size_t i = 0; i < NK_ARRAY_LEN(aliases); i++)
        if (strcmp(aliases[i].alias, name) == 0)
            return nk_group_by_id(aliases[i].id);
    return NULL;
}

static int is_ecx(uint16_t group) { return group == NK_GROUP_X25519 || group == NK_GROUP_X448; }

static const char *ec_curve(uint16_t group)
{
    switch (group) {
    case NK_GROUP_SECP256R1: return "P-256";
    case NK_GROUP_SECP384R1: return "P-384";
    case NK_GROUP_SECP521R1: return "P-521";
    default: return NULL;
    }
}

/* This thread's keygen context for the group (EVP_PKEY_keygen_init done, the
 * curve set): looking the algorithm up by name per handshake costs as much as
 * a good part of the key exchange's own arithmetic. */
static EVP_PKEY_CTX *keygen_ctx(const struct nk_group *g)
{
    struct nk_thread_ctx *t = nk_thread_ctx();
    size_t i = (size_t)(g - nk_groups);
    if (!t || i >= NK_TC_GROUPS)
        return NULL;
    if (t->keygen[i])
        return t->keygen[i];
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, is_ecx(g->id) ? g->name : "EC", NULL);
    if (!ctx || EVP_PKEY_keygen_init(ctx) != 1
        || (!is_ecx(g->id) && EVP_PKEY_CTX_set_group_name(ctx, ec_curve(g->id)) != 1)) {
        EVP_PKEY_CTX_free(ctx);
        return NULL;
    }
    return t->keygen[i] = ctx;
}

/* The derive context kept from an X25519 keygen on this thread, if one is
 * priv's (taken out of its slot), or NULL. A server makes the keys of many
 * handshakes before the first of their peers answers, so the contexts of
 * the last NK_TC_KEX_NEXT keys are kept, each until its derive or until
 * that many later keygens reuse its slot. */
static EVP_PKEY_CTX *take_kex_next(struct nk_thread_ctx *t, const EVP_PKEY *priv)
{
    for (size_t i = 0; t && priv && i < NK_TC_KEX_NEXT; i++) {
        EVP_PKEY_CTX *ctx = t->kex_next[i];
        if (ctx && EVP_PKEY_CTX_get0_pkey(ctx) == priv) {
            t->kex_next[i] = NULL;
            return ctx;   /* its reference keeps priv alive: the pointer cannot be a new key's */
        }
    }
    return NULL;
}

static void keep_kex_next(struct nk_thread_ctx *t, EVP_PKEY_CTX *ctx)
{
    unsigned i = t->kex_next_at++ % NK_TC_KEX_NEXT;
    EVP_PKEY_CTX_free(t->kex_next[i]);
    t->kex_next[i] = ctx;
}

/* X25519 key pair by the Montgomery ladder: public = X25519(k, 9) (RFC 7748
 * §6.1) computed by the same derive call that later makes the shared secret.
 * libcrypto's own keygen takes its fixed-base path instead, which costs more
 * than its ladder (about 45 against 39 us here, more once its tables have left
 * the cache between handshakes).
 * The scalar is fresh from the private generator for every key (RFC 8446
 * §4.2.8: never reused), clamped as RFC 7748 §5 decodes it. The key object is
 * imported with an all-zero public half, which nothing reads: the share goes
 * out from pub, and derive uses the private half only. */
static MSTATUS x25519_keygen(struct nk_thread_ctx *t, EVP_PKEY **priv, uint8_t *pub)
{
    static const uint8_t base[32] = { 9 }, none[32];
    uint8_t k[32];
    size_t n = sizeof k;
    if (!t->x25519_import) {
        EVP_PKEY_CTX *ic = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
        if (!ic || EVP_PKEY_fromdata_init(ic) != 1) {
            EVP_PKEY_CTX_free(ic);
            return ERR_CRYPTO;
        }
        t->x25519_import = ic;
    }
    if (!t->x25519_base
        && !(t->x25519_base = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, base, sizeof base)))
        return ERR_CRYPTO;
    NK_TRY(nk_random_priv(k, sizeof k));
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, k, sizeof k);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)none, sizeof none);
    params[2] = OSSL_PARAM_construct_end();
    *priv = NULL;
    int ok = EVP_PKEY_fromdata(t->x25519_import, priv, EVP_PKEY_KEYPAIR, params) == 1;
    nk_wipe(k, sizeof k);
    EVP_PKEY_CTX *ctx = ok ? EVP_PKEY_CTX_new_from_pkey(NULL, *priv, NULL) : NULL;
    if (!ctx || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer_ex(ctx, t->x25519_base, 0) != 1
        || EVP_PKEY_derive(ctx, pub, &n) != 1 || n != 32) {
        EVP_PKEY_CTX_free(ctx);
        EVP_PKEY_free(*priv);
        *priv = NULL;
        return ERR_CRYPTO;
    }
    keep_kex_next(t, ctx);   /* derive_init done: nk_kex_derive only sets the peer */
    return OK;
}

/* ---- RFC 7919 finite field groups: libcrypto knows them by name ---- */

static BIGNUM *ffdhe_bn(const EVP_PKEY *k, const char *which)
{
    BIGNUM *v = NULL;
    return EVP_PKEY_get_bn_param(k, which, &v) == 1 ? v : NULL;
}

static MSTATUS ffdhe_keygen(const struct nk_group *g, EVP_PKEY **priv, uint8_t *pub)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
    BIGNUM *y = NULL;
    *priv = NULL;
    int ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_group_name(ctx, g->name) == 1
             && EVP_PKEY_keygen(ctx, priv) == 1 && (y = ffdhe_bn(*priv, OSSL_PKEY_PARAM_PUB_KEY))
             && BN_bn2binpad(y, pub, (int)g->pub_len) == (int)g->pub_len;
    BN_free(y);
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(*priv);
        *priv = NULL;
        return ERR_CRYPTO;
    }
    return OK;
}

/* A key of the named group: its parameters only (pub NULL), or a public key. */
static EVP_PKEY *ffdhe_key(const struct nk_group *g, const BIGNUM *pub)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
    EVP_PKEY *key = NULL;
    if (b && ctx && OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, g->name, 0) == 1
        && (!pub || OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PUB_KEY, pub) == 1)
        && (params = OSSL_PARAM_BLD_to_param(b)) && EVP_PKEY_fromdata_init(ctx) == 1)
        (void)EVP_PKEY_fromdata(ctx, &key, pub ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEY_PARAMETERS, params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

MSTATUS nk_kex_ffdhe_pg(uint16_t group, uint8_t *p, uint8_t g[8], size_t *g_len)
{
    const struct nk_group *grp = nk_group_by_id(group);
    NK_CHECK(grp && nk_group_is_ffdhe(group), ERR_SSL_INTERNAL);
    EVP_PKEY *k = ffdhe_key(grp, NULL);
    BIGNUM *bp = k ? ffdhe_bn(k, OSSL_PKEY_PARAM_FFC_P) : NULL, *bg = k ? ffdhe_bn(k, OSSL_PKEY_PARAM_FFC_G) : NULL;
    int ok = bp && bg && BN_num_bytes(bg) <= 8 && BN_bn2binpad(bp, p, (int)grp->pub_len) == (int)grp->pub_len;
    if (ok)
        *g_len = (size_t)BN_bn2bin(bg, g);
    BN_free(bp);
    BN_free(bg);
    EVP_PKEY_free(k);
    return ok ? OK : ERR_CRYPTO;
}

/* RFC 7919 §5.1: "Peers MUST validate each other's public key Y ... by
 * ensuring that 1 < Y < p-1"; libcrypto's check (validate at set_peer) then
 * also tests Y^q = 1, which the named groups' known q allows. The secret is
 * padded to the size of p (EVP_PKEY_CTX_set_dh_pad). */
static MSTATUS ffdhe_derive(const struct nk_group *g, EVP_PKEY *priv, const uint8_t *peer, size_t len,
                            uint8_t *secret, size_t *secret_len)
{
    BIGNUM *y = BN_bin2bn(peer, (int)len, NULL), *pm1 = ffdhe_bn(priv, OSSL_PKEY_PARAM_FFC_P);
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    MSTATUS st = ERR_SSL_BAD_KEY_SHARE;
    size_t n = g->pub_len;
    if (y && pm1 && BN_sub_word(pm1, 1) == 1 && BN_cmp(y, BN_value_one()) > 0 && BN_cmp(y, pm1) < 0
        && (pk = ffdhe_key(g, y)) && (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL))
        && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_CTX_set_dh_pad(ctx, 1) == 1
        && EVP_PKEY_derive_set_peer_ex(ctx, pk, 1) == 1 && EVP_PKEY_derive(ctx, secret, &n) == 1
        && n == g->pub_len) {
        *secret_len = n;
        st = OK;
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    BN_free(y);
    BN_free(pm1);
    return st;
}

MSTATUS nk_kex_keygen(uint16_t group, EVP_PKEY **priv, uint8_t *pub, size_t *pub_len)
{
    const struct nk_group *g = nk_group_by_id(group);
    NK_CHECK(g, ERR_SSL_ILLEGAL_PARAMETER);
    if (nk_group_is_ffdhe(group)) {
        NK_TRY(ffdhe_keygen(g, priv, pub));
        *pub_len = g->pub_len;
        return OK;
    }
    struct nk_thread_ctx *t = nk_thread_ctx();
    NK_CHECK(t, ERR_MEM_ALLOC_FAIL);
    if (group == NK_GROUP_X25519) {
        NK_TRY(x25519_keygen(t, priv, pub));
        *pub_len = 32;
        return OK;
    }
    EVP_PKEY_CTX *ctx = keygen_ctx(g);
    NK_CHECK(ctx, ERR_CRYPTO);
    *priv = NULL;
    NK_CHECK(EVP_PKEY_keygen(ctx, priv) == 1 && *priv, ERR_CRYPTO);
    /* The encoded form is the key_share (RFC 8446 §4.2.8.2): raw for X25519/X448,
     * the uncompressed point for the NIST curves. */
    size_t n = 0;
    if (EVP_PKEY_get_octet_string_param(*priv, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, NK_MAX_KEX_PUB,
                                        &n) != 1
        || n != g->pub_len) {
        EVP_PKEY_free(*priv);
        *priv = NULL;
        return ERR_CRYPTO;
    }
    *pub_len = n;
    return OK;
}

/* The peer's share as a key: this thread's key object for the group, loaded
 * with the new share (made once from the first share seen; libcrypto checks a
 * NIST point is on the curve as it loads it). Valid until the next call. */
static EVP_PKEY *peer_key(const struct nk_group *g, const uint8_t *peer, size_t len)
{
    struct nk_thread_ctx *t = nk_thread_ctx();
    size_t i = (size_t)(g - nk_groups);
    if (!t || i >= NK_TC_GROUPS)
        return NULL;
    /* RFC 8446 §4.2.8.2: NIST curve shares are uncompressed points (0x04 || X || Y). */
    if (!is_ecx(g->id) && (len == 0 || peer[0] != 4))
        return NULL;
    if (t->peer[i])
        return EVP_PKEY_set1_encoded_public_key(t->peer[i], peer, len) == 1 ? t->peer[i] : NULL;
    EVP_PKEY *key = NULL;
    if (is_ecx(g->id)) {
        key = EVP_PKEY_new_raw_public_key_ex(NULL, g->name, NULL, peer, len);
    } else {
        OSSL_PARAM params[3];
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)ec_curve(g->id), 0);
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)peer, len);
        params[2] = OSSL_PARAM_construct_end();
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        if (ctx && EVP_PKEY_fromdata_init(ctx) == 1)
            (void)EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
        EVP_PKEY_CTX_free(ctx);
    }
    return t->peer[i] = key;
}

MSTATUS nk_kex_derive(uint16_t group, EVP_PKEY *priv, const uint8_t *peer, size_t peer_len,
                      uint8_t *secret, size_t *secret_len)
{
    const struct nk_group *g = nk_group_by_id(group);
    NK_CHECK(g && peer_len == g->pub_len, ERR_SSL_BAD_KEY_SHARE);
    ERR_set_mark();   /* a bad share is the peer's fault: leave no libcrypto errors behind */
    if (nk_group_is_ffdhe(group)) {
        MSTATUS st = ffdhe_derive(g, priv, peer, peer_len, secret, secret_len);
        ERR_pop_to_mark();
        return st;
    }
    EVP_PKEY_CTX *ctx = take_kex_next(nk_thread_ctx(), priv);
    int ready = ctx != NULL;   /* derive_init done by the keygen */
    EVP_PKEY *pk = peer_key(g, peer, peer_len);
    if (pk && !ctx)
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    MSTATUS st = ERR_SSL_BAD_KEY_SHARE;
    size_t n = NK_MAX_KEX_SECRET;
    /* X25519/X448 derivation fails on an all-zero result (RFC 8446 §7.4.2). The
     * peer key is not validated again here: a NIST point was checked to be on
     * its curve when it was loaded (these curves have cofactor 1, so that is
     * the whole public-key check), and every 32- or 56-byte string is an
     * X25519/X448 u-coordinate. */
    if (pk && ctx && (ready || EVP_PKEY_derive_init(ctx) == 1) && EVP_PKEY_derive_set_peer_ex(ctx, pk, 0) == 1
        && EVP_PKEY_derive(ctx, secret, &n) == 1) {
        *secret_len = n;
        st = OK;
    }
    EVP_PKEY_CTX_free(ctx);   /* drops its hold on the peer key before the next load */
    ERR_pop_to_mark();
    return st;
}

void nk_kex_free(EVP_PKEY *priv)
{
    if (!priv)
        return;
    /* A key freed before its derive (a handshake that ended early) leaves
     * its kept context too, so that the key is gone with its connection;
     * only a key freed on another thread than its keygen's waits for that
     * thread's later keygens (crypto.h). */
    EVP_PKEY_CTX_free(take_kex_next(nk_thread_ctx(), priv));
    EVP_PKEY_free(priv);
}
