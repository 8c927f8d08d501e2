/* core/kex.h — (EC)DHE key exchange groups. */
#ifndef NK_KEX_H
#define NK_KEX_H

#include <openssl/evp.h>
#include "core/nk.h"

enum {
    NK_GROUP_SECP256R1 = 23, NK_GROUP_SECP384R1 = 24, NK_GROUP_SECP521R1 = 25,
    NK_GROUP_X25519 = 29, NK_GROUP_X448 = 30,
};

struct nk_group {
    uint16_t id;
    const char *name;        /* OpenSSL's spelling: X25519, P-256, ... */
    size_t pub_len;          /* key_share length on the wire */
};

extern const struct nk_group nk_groups[];
extern const size_t nk_group_count;
const struct nk_group *nk_group_by_id(uint16_t id);
const struct nk_group *nk_group_by_name(const char *name);

#define NK_MAX_KEX_PUB 133   /* P-521 uncompressed point */
#define NK_MAX_KEX_SECRET 66

/* Generate a fresh ephemeral key pair; pub receives the key_share bytes.
 * *priv is for nk_kex_derive only (an X25519 one carries no public half). */
MSTATUS nk_kex_keygen(uint16_t group, EVP_PKEY **priv, uint8_t *pub, size_t *pub_len) NK_MUST;
/* Derive the shared secret. A malformed or invalid peer share is ERR_SSL_BAD_KEY_SHARE. */
MSTATUS nk_kex_derive(uint16_t group, EVP_PKEY *priv, const uint8_t *peer, size_t peer_len,
                      uint8_t *secret, size_t *secret_len) NK_MUST;

#endif
