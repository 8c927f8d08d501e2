/* core/kex.h — (EC)DHE key exchange groups. */
#ifndef NK_KEX_H
#define NK_KEX_H

#include <openssl/evp.h>
#include "core/nk.h"

enum {
    NK_GROUP_SECP256R1 = 23, NK_GROUP_SECP384R1 = 24, NK_GROUP_SECP521R1 = 25,
    NK_GROUP_X25519 = 29, NK_GROUP_X448 = 30,
    /* RFC 7919 Appendix A: the finite field groups. */
    NK_GROUP_FFDHE2048 = 0x0100, NK_GROUP_FFDHE3072 = 0x0101, NK_GROUP_FFDHE4096 = 0x0102,
    NK_GROUP_FFDHE6144 = 0x0103, NK_GROUP_FFDHE8192 = 0x0104,
};

/* RFC 7919 §4: the codepoints 256..511 are finite field groups, known or not. */
static inline int nk_group_is_ffdhe(uint16_t g) { return g >= 0x0100 && g <= 0x01ff; }

struct nk_group {
    uint16_t id;
    const char *name;        /* OpenSSL's spelling: X25519, P-256, ffdhe2048, ... */
    size_t pub_len;          /* key_share length on the wire; FFDHE: the size of p */
};

extern const struct nk_group nk_groups[];
extern const size_t nk_group_count;
const struct nk_group *nk_group_by_id(uint16_t id);
const struct nk_group *nk_group_by_name(const char *name);

#define NK_MAX_KEX_PUB 1024   /* ffdhe8192's p; the longest point is P-521's, 133 */
#define NK_MAX_KEX_SECRET 1024

/* Generate a fresh ephemeral key pair; pub receives the key_share bytes
 * (FFDHE: Y big-endian, left-padded to the size of p, RFC 8446 §4.2.8.1).
 * *priv is for nk_kex_derive only (an X25519 one carries no public half). */
MSTATUS nk_kex_keygen(uint16_t group, EVP_PKEY **priv, uint8_t *pub, size_t *pub_len) NK_MUST;
/* Derive the shared secret. A malformed or invalid peer share is
 * ERR_SSL_BAD_KEY_SHARE: for FFDHE one of the group's size (padded) outside
 * 1 < Y < p-1 (RFC 7919 §5.1) or outside the prime-order subgroup. An FFDHE
 * secret is left-padded to the size of p (RFC 8446 §7.4.1). */
MSTATUS nk_kex_derive(uint16_t group, EVP_PKEY *priv, const uint8_t *peer, size_t peer_len,
                      uint8_t *secret, size_t *secret_len) NK_MUST;
/* Free a key nk_kex_keygen made (NULL: nothing), with the derive context
 * kept for it on this thread (kex.c), if any. */
void nk_kex_free(EVP_PKEY *priv);
/* A named FFDHE group's prime (pub_len bytes) and generator (*g_len bytes,
 * at most 8): what a TLS 1.2 ServerDHParams carries (RFC 5246 §7.4.3). */
MSTATUS nk_kex_ffdhe_pg(uint16_t group, uint8_t *p, uint8_t g[8], size_t *g_len) NK_MUST;

#endif
