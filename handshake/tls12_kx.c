/* handshake/tls12_kx.c — the TLS 1.2 key exchanges: ECDHE (RFC 8422) and
 * DHE over the RFC 7919 named groups (RFC 5246 §7.4.3, §7.4.7.2), RSA key
 * transport (RFC 5246 §7.4.7.1): the server's choice of FFDHE group, the
 * ServerKeyExchange parameters either side writes or reads, the
 * ClientKeyExchange, and the premaster secret. The signature over the
 * parameters stays with the client and server files. */
#include <openssl/core_names.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include "handshake/tls12.h"
#include "handshake/store.h"

/* The FFDHE groups a connection takes, in its order: those it lists
 * (NKTLS_setGroups), or, listing none, every named one (a DHE suite is
 * enabled on purpose, and these are the RFC 7919 primes, never a custom
 * group). */
static size_t ffdhe_groups(const struct nk_tls *c, uint16_t out[NK_MAX_GROUPS])
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_groups; i++)
        if (nk_group_is_ffdhe(c->groups[i]))
            out[n++] = c->groups[i];
    if (n)
        return n;
    for (size_t i = 0; i < nk_group_count && n < NK_MAX_GROUPS; i++)
        if (nk_group_is_ffdhe(nk_groups[i].id))
            out[n++] = nk_groups[i].id;
    return n;
}

uint16_t nk_tls12_dhe_group(const struct nk_tls *c, const struct nk_rd *client_groups)
{
    uint16_t ours[NK_MAX_GROUPS], g;
    size_t n = ffdhe_groups(c, ours);
    int client_ffdhe = 0;
    struct nk_rd r = client_groups ? *client_groups : (struct nk_rd){ 0 };
    while (nk_rd_u16(&r, &g) == OK)
        client_ffdhe |= nk_group_is_ffdhe(g);
    /* RFC 7919 §4: a client that lists FFDHE groups gets one of them — "A
     * TLS server MUST NOT select a named FFDHE group that was not offered by
     * a compatible client" — or no DHE suite at all. A client that lists
     * none gets "an FFDHE group of [our] choice": our first. */
    for (size_t i = 0; i < n; i++)
        if (!client_ffdhe || nk_rd_has_u16(*client_groups, ours[i]))
            return ours[i];
    return 0;
}

/* Our public value into w: ECDHE's point<1..2^8-1> (RFC 8422 §5.4, §5.7),
 * DHE's dh_Y<1..2^16-1> (RFC 5246 §7.4.3, §7.4.7.2); the RSA-encrypted
 * premaster secret<0..2^16-1> has the same 2-byte length (§7.4.7.1). */
static void write_public(struct nk_wr *w, int dhe, const uint8_t *pub, size_t len)
{
    if (dhe)
        nk_wr_u16(w, (uint16_t)len);
    else
        nk_wr_u8(w, (uint8_t)len);
    nk_wr_bytes(w, pub, len);
}

MSTATUS nk_tls12_kx_server_params(struct nk_tls *c, struct nk_buf *params)
{
    struct nk_hs *hs = c->hs;
    uint8_t pub[NK_MAX_KEX_PUB];
    size_t pub_len;
    struct nk_wr w;
    nk_wr_init(&w, params);
    hs->kex_group = c->group;
    NK_TRY(nk_kex_keygen(c->group, &hs->kex_priv, pub, &pub_len));
    int dhe = c->suite->kx == NK_KX_DHE;
    if (dhe) {
        /* RFC 5246 §7.4.3 ServerDHParams: dh_p, dh_g, dh_Ys, each <1..2^16-1>. */
        uint8_t p[NK_MAX_KEX_PUB], g[8];
        size_t g_len;
        NK_TRY(nk_kex_ffdhe_pg(c->group, p, g, &g_len));
        nk_wr_u16(&w, (uint16_t)pub_len);
        nk_wr_bytes(&w, p, pub_len);
        nk_wr_u16(&w, (uint16_t)g_len);
        nk_wr_bytes(&w, g, g_len);
    } else {
        /* RFC 8422 §5.4 ServerECDHParams: named_curve, the curve, the point. */
        nk_wr_u8(&w, NK_TLS12_NAMED_CURVE);
        nk_wr_u16(&w, c->group);
    }
    write_public(&w, dhe, pub, pub_len);
    return nk_wr_status(&w);
}

/* The peer's DH value, left-padded to the size of p as the group's key
 * share, or ERR_SSL_BAD_DH_VALUE: RFC 7919 §3 and §4, out of range
 * "MUST terminate the connection with a fatal handshake_failure(40)". */
static MSTATUS pad_dh_value(const struct nk_group *g, struct nk_rd y, uint8_t *out)
{
    size_t n = nk_rd_left(&y);
    NK_CHECK(n >= 1 && n <= g->pub_len, ERR_SSL_BAD_DH_VALUE);
    memset(out, 0, g->pub_len - n);
    return nk_rd_copy(&y, out + g->pub_len - n, n);
}

/* The premaster secret from our key and the peer's value. RFC 5246 §8.1.2:
 * for DH "Leading bytes of Z that contain all zero bits are stripped" (TLS
 * 1.3 keeps them, RFC 8446 §7.4.1, which is what nk_kex_derive returns). */
static MSTATUS derive_pms(struct nk_tls *c, struct nk_rd peer, uint8_t *pms, size_t *pms_len)
{
    struct nk_hs *hs = c->hs;
    if (c->suite->kx != NK_KX_DHE)
        return nk_kex_derive(hs->kex_group, hs->kex_priv, peer.p, nk_rd_left(&peer), pms, pms_len);
    const struct nk_group *g = nk_group_by_id(hs->kex_group);
    uint8_t y[NK_MAX_KEX_PUB];
    NK_CHECK(g, ERR_SSL_INTERNAL);
    NK_TRY(pad_dh_value(g, peer, y));
    MSTATUS st = nk_kex_derive(hs->kex_group, hs->kex_priv, y, g->pub_len, pms, pms_len);
    NK_CHECK(st != ERR_SSL_BAD_KEY_SHARE, ERR_SSL_BAD_DH_VALUE);
    NK_TRY(st);
    size_t z = 0;
    while (z + 1 < *pms_len && pms[z] == 0)
        z++;
    memmove(pms, pms + z, *pms_len - z);
    *pms_len -= z;
    return OK;
}

/* RFC 5246 §7.4.7.1: the 48-byte premaster secret, client_version first,
 * decrypted by libcrypto's TLS padding mode, which checks the padding and the
 * version without a branch on either and, when they are wrong, returns 48
 * random bytes instead: "the server will fail at Finished" with nothing an
 * attacker could tell apart (the Bleichenbacher countermeasure of §7.4.7.1). */
static MSTATUS rsa_decrypt_pms(struct nk_tls *c, struct nk_rd enc, uint8_t *pms, size_t *pms_len)
{
    EVP_PKEY *key = c->hs->identity->key;
    NK_CHECK(nk_rd_left(&enc) == (size_t)EVP_PKEY_get_size(key), ERR_SSL_PROTOCOL);
    unsigned client_version = c->hs->client_version, negotiated = NK_TLS12;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, &client_version),
        OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION, &negotiated),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    size_t n = NK_TLS12_PMS;
    int ok = ctx && EVP_PKEY_decrypt_init(ctx) == 1
             && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_WITH_TLS_PADDING) == 1
             && EVP_PKEY_CTX_set_params(ctx, params) == 1
             && EVP_PKEY_decrypt(ctx, pms, &n, enc.p, nk_rd_left(&enc)) == 1 && n == NK_TLS12_PMS;
    EVP_PKEY_CTX_free(ctx);
    NK_CHECK(ok, ERR_CRYPTO);
    *pms_len = n;
    return OK;
}

MSTATUS nk_tls12_kx_server_secret(struct nk_tls *c, struct nk_rd *b, uint8_t *pms, size_t *pms_len)
{
    struct nk_hs *hs = c->hs;
    struct nk_rd y;
    if (c->suite->kx == NK_KX_RSA) {
        NK_TRY(nk_rd_vec16(b, &y, 0, 0xffff));   /* EncryptedPreMasterSecret */
        NK_TRY(nk_rd_done(b));
        return rsa_decrypt_pms(c, y, pms, pms_len);
    }
    if (c->suite->kx == NK_KX_DHE)
        NK_TRY(nk_rd_vec16(b, &y, 1, 0xffff));   /* ClientDiffieHellmanPublic, explicit */
    else
        NK_TRY(nk_rd_vec8(b, &y, 1, 255));       /* ClientECDiffieHellmanPublic */
    NK_TRY(nk_rd_done(b));
    MSTATUS st = derive_pms(c, y, pms, pms_len);
    nk_kex_free(hs->kex_priv);
    hs->kex_priv = NULL;
    return st;
}

/* RFC 7919 §3: the client compares dh_p and dh_g "with the FFDHE groups
 * offered by the client"; none matching, it may "terminate the connection
 * with a fatal insufficient_security(71) alert", which we do: no custom
 * groups. Having offered no FFDHE group, our local policy (§3.1) takes the
 * named ones (ffdhe_groups). The sizes of the named primes differ, so the
 * length finds the one to compare. */
static MSTATUS match_offered_group(struct nk_tls *c, struct nk_rd p, struct nk_rd g)
{
    uint16_t ours[NK_MAX_GROUPS];
    size_t n = ffdhe_groups(c, ours);
    for (size_t i = 0; i < n; i++) {
        const struct nk_group *grp = nk_group_by_id(ours[i]);
        if (!grp || grp->pub_len != nk_rd_left(&p))
            continue;
        uint8_t want_p[NK_MAX_KEX_PUB], want_g[8];
        size_t g_len;
        NK_TRY(nk_kex_ffdhe_pg(grp->id, want_p, want_g, &g_len));
        if (!memcmp(p.p, want_p, grp->pub_len) && nk_rd_left(&g) == g_len && !memcmp(g.p, want_g, g_len)) {
            c->group = grp->id;
            return OK;
        }
    }
    return ERR_SSL_INSUFFICIENT_SECURITY;
}

MSTATUS nk_tls12_kx_client_params(struct nk_tls *c, struct nk_rd *b, struct nk_rd *peer)
{
    if (c->suite->kx == NK_KX_DHE) {
        struct nk_rd p, g;
        NK_TRY(nk_rd_vec16(b, &p, 1, 0xffff));
        NK_TRY(nk_rd_vec16(b, &g, 1, 0xffff));
        NK_TRY(nk_rd_vec16(b, peer, 1, 0xffff));
        NK_TRY(match_offered_group(c, p, g));
        /* Longer than p is out of range (RFC 7919 §3). */
        NK_CHECK(nk_rd_left(peer) <= nk_rd_left(&p), ERR_SSL_BAD_DH_VALUE);
        return OK;
    }
    uint8_t type;
    uint16_t group;
    NK_TRY(nk_rd_u8(b, &type));
    NK_TRY(nk_rd_u16(b, &group));
    NK_TRY(nk_rd_vec8(b, peer, 1, 255));
    NK_CHECK(type == NK_TLS12_NAMED_CURVE, ERR_SSL_ILLEGAL_PARAMETER);
    int offered = 0;
    for (size_t i = 0; i < c->n_groups; i++)
        offered |= c->groups[i] == group && !nk_group_is_ffdhe(group);
    /* RFC 8422 §5.4: a curve the client did not list is illegal_parameter. */
    NK_CHECK(offered, ERR_SSL_ILLEGAL_PARAMETER);
    c->group = group;
    return OK;
}

MSTATUS nk_tls12_kx_client_secret(struct nk_tls *c, struct nk_rd peer)
{
    struct nk_hs *hs = c->hs;
    size_t pub_len, pms_len;
    hs->kex_group = c->group;
    NK_TRY(nk_kex_keygen(c->group, &hs->kex_priv, hs->kex_pub, &pub_len));
    hs->kex_pub_len = (uint16_t)pub_len;
    NK_TRY(derive_pms(c, peer, hs->pms, &pms_len));
    hs->pms_len = (uint16_t)pms_len;
    return OK;
}

int nk_tls12_rsa_kx_allowed(X509 *leaf)
{
    /* RFC 5246 §7.4.2: "the keyEncipherment bit MUST be set if the key usage
     * extension is present" (X509_get_key_usage: all bits when absent). */
    return leaf && (X509_get_key_usage(leaf) & KU_KEY_ENCIPHERMENT) != 0;
}

/* RFC 5246 §7.4.7.1: client_version (the version we offered, 0x0303 in
 * our ClientHello's legacy_version) and 46 random bytes, RSAES-PKCS1-v1_5
 * encrypted to the server certificate's key. */
MSTATUS nk_tls12_kx_client_rsa(struct nk_tls *c)
{
    struct nk_hs *hs = c->hs;
    EVP_PKEY *key = hs->peer_pub;
    NK_CHECK(nk_key_type_of(key) == NK_KEY_RSA, ERR_SSL_ILLEGAL_PARAMETER);
    NK_CHECK(EVP_PKEY_get_size(key) <= NK_MAX_KEX_PUB, ERR_CERT_UNSUPPORTED_KEY);
    NK_CHECK(hs->peer_chain_len > 0, ERR_SSL_INTERNAL);
    X509 *leaf = nk_x509_from_der(hs->peer_chain[0].p, hs->peer_chain[0].len);
    int allowed = nk_tls12_rsa_kx_allowed(leaf);
    X509_free(leaf);
    NK_CHECK(allowed, ERR_CERT_KEY_USAGE);
    hs->pms[0] = NK_TLS12 >> 8;
    hs->pms[1] = NK_TLS12 & 0xff;
    NK_TRY(nk_random_priv(hs->pms + 2, NK_TLS12_PMS - 2));
    hs->pms_len = NK_TLS12_PMS;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    size_t n = NK_MAX_KEX_PUB;
    int ok = ctx && EVP_PKEY_encrypt_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1
             && EVP_PKEY_encrypt(ctx, hs->kex_pub, &n, hs->pms, NK_TLS12_PMS) == 1;
    EVP_PKEY_CTX_free(ctx);
    NK_CHECK(ok, ERR_CRYPTO);
    hs->kex_pub_len = (uint16_t)n;
    return OK;
}

void nk_tls12_kx_write_client_public(const struct nk_tls *c, struct nk_wr *w)
{
    write_public(w, c->suite->kx != NK_KX_ECDHE, c->hs->kex_pub, c->hs->kex_pub_len);
}
