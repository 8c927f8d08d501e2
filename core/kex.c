/* core/kex.c — (EC)DHE over libcrypto: X25519/X448 and the NIST curves. */
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/err.h>
#include "core/kex.h"
#include "core/crypto.h"

const struct nk_group nk_groups[] = {
    { NK_GROUP_X25519, "X25519", 32 },
    { NK_GROUP_SECP256R1, "P-256", 65 },
    { NK_GROUP_SECP384R1, "P-384", 97 },
    { NK_GROUP_X448, "X448", 56 },
    { NK_GROUP_SECP521R1, "P-521", 133 },
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

MSTATUS nk_kex_keygen(uint16_t group, EVP_PKEY **priv, uint8_t *pub, size_t *pub_len)
{
    const struct nk_group *g = nk_group_by_id(group);
    NK_CHECK(g, ERR_SSL_ILLEGAL_PARAMETER);
    *priv = is_ecx(group) ? EVP_PKEY_Q_keygen(NULL, NULL, g->name)
                          : EVP_PKEY_Q_keygen(NULL, NULL, "EC", ec_curve(group));
    NK_CHECK(*priv, ERR_CRYPTO);
    uint8_t *enc = NULL;
    size_t n = EVP_PKEY_get1_encoded_public_key(*priv, &enc);
    if (n != g->pub_len) {
        OPENSSL_free(enc);
        EVP_PKEY_free(*priv);
        *priv = NULL;
        return ERR_CRYPTO;
    }
    memcpy(pub, enc, n);
    *pub_len = n;
    OPENSSL_free(enc);
    return OK;
}

static EVP_PKEY *peer_key(uint16_t group, const uint8_t *peer, size_t len)
{
    if (is_ecx(group))
        return EVP_PKEY_new_raw_public_key(group == NK_GROUP_X25519 ? EVP_PKEY_X25519 : EVP_PKEY_X448,
                                           NULL, peer, len);
    /* RFC 8446 §4.2.8.2: NIST curve shares are uncompressed points (0x04 || X || Y);
     * the point is validated by libcrypto when imported. */
    if (len == 0 || peer[0] != 4)
        return NULL;
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)ec_curve(group), 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)peer, len);
    params[2] = OSSL_PARAM_construct_end();
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx && EVP_PKEY_fromdata_init(ctx) == 1)
        (void)EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

MSTATUS nk_kex_derive(uint16_t group, EVP_PKEY *priv, const uint8_t *peer, size_t peer_len,
                      uint8_t *secret, size_t *secret_len)
{
    const struct nk_group *g = nk_group_by_id(group);
    NK_CHECK(g && peer_len == g->pub_len, ERR_SSL_BAD_KEY_SHARE);
    ERR_set_mark();   /* a bad share is the peer's fault: leave no libcrypto errors behind */
    EVP_PKEY *pk = peer_key(group, peer, peer_len);
    EVP_PKEY_CTX *ctx = pk ? EVP_PKEY_CTX_new(priv, NULL) : NULL;
    MSTATUS st = ERR_SSL_BAD_KEY_SHARE;
    size_t n = NK_MAX_KEX_SECRET;
    /* X25519/X448 derivation fails on an all-zero result (RFC 8446 §7.4.2). */
    if (ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, pk) == 1
        && EVP_PKEY_derive(ctx, secret, &n) == 1) {
        *secret_len = n;
        st = OK;
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    ERR_pop_to_mark();
    return st;
}
