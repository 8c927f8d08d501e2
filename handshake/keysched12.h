/* handshake/keysched12.h — the TLS 1.2 key derivation: the PRF (RFC 5246 §5),
 * the master secret (§8.1) and the extended master secret (RFC 7627 §4), the
 * key block split for the record layer (§6.3), Finished's verify_data
 * (§7.4.9) and the keying material exporter (RFC 5705 §4). It keeps no state
 * of its own: the TLS 1.2 handshake holds the parameters and calls it. */
#ifndef NK_KEYSCHED12_H
#define NK_KEYSCHED12_H

#include "core/crypto.h"
#include "record/record.h"

#define NK_TLS12_MASTER 48   /* §8.1: master_secret is 48 bytes */
#define NK_TLS12_RANDOM 32   /* §7.4.1.2: ClientHello.random, ServerHello.random */
#define NK_TLS12_VERIFY 12   /* §7.4.9: verify_data_length of every suite we have */
/* Seed parts nk_tls12_prf takes at most (the exporter's: two randoms, the
 * context's length and the context). */
#define NK_TLS12_SEED_PARTS 4

/* The SecurityParameters (§6.1) every derivation after the hellos reads. */
struct nk_tls12_params {
    enum nk_hash prf;                          /* the suite's PRF hash */
    uint8_t client_random[NK_TLS12_RANDOM];
    uint8_t server_random[NK_TLS12_RANDOM];
    uint8_t master[NK_TLS12_MASTER];
};

/* PRF(secret, label, seed) = P_<hash>(secret, label + seed), olen bytes of
 * it (§5); the seed is the concatenation of nseed parts. */
MSTATUS nk_tls12_prf(enum nk_hash h, const uint8_t *secret, size_t slen, const uint8_t *label, size_t llen,
                     const uint8_t *const *seed, const size_t *seed_lens, size_t nseed, uint8_t *out,
                     size_t olen) NK_MUST;

/* p->master from the pre-master secret and the randoms (§8.1). A DHE caller
 * strips the shared secret's leading zero bytes first (§8.1.2); an ECDHE
 * one passes the whole x-coordinate (RFC 8422 §5.10). */
MSTATUS nk_tls12_master_secret(struct nk_tls12_params *p, const uint8_t *pms, size_t pms_len) NK_MUST;
/* p->master as RFC 7627 §4 computes it once both ends sent the extension:
 * session_hash is Hash(handshake_messages) up to and including the
 * ClientKeyExchange (§3), nk_hash_len(p->prf) bytes. */
MSTATUS nk_tls12_master_secret_ems(struct nk_tls12_params *p, const uint8_t *pms, size_t pms_len,
                                   const uint8_t *session_hash) NK_MUST;

/* The key block (§6.3) of suite s, a TLS 1.2 AEAD suite whose PRF is p's,
 * split into what each side's record protection installs (nk_rec_tls12's
 * install): client = client_write_key || client_write_IV, server likewise,
 * s->key_len + s->fixed_iv_len bytes each. AEAD suites have no MAC keys. */
MSTATUS nk_tls12_key_block(const struct nk_tls12_params *p, const struct nk_suite *s,
                           uint8_t client[NK_REC12_KEYS], uint8_t server[NK_REC12_KEYS]) NK_MUST;

/* verify_data = PRF(master_secret, finished_label, Hash(handshake_messages))
 * [0..11] (§7.4.9); client picks "client finished" or "server finished";
 * thash is nk_hash_len(p->prf) bytes. */
MSTATUS nk_tls12_finished(const struct nk_tls12_params *p, int client, const uint8_t *thash,
                          uint8_t out[NK_TLS12_VERIFY]) NK_MUST;

/* RFC 5705 §4: olen bytes exported under label, with context ctx of clen
 * bytes, or without one when ctx is NULL (an empty context differs from
 * none). ERR_INVALID_ARG for a context over 2^16 - 1 bytes or a label the
 * TLS PRF itself uses, whose output could then equal a key or a Finished. */
MSTATUS nk_tls12_export(const struct nk_tls12_params *p, const uint8_t *label, size_t llen, const uint8_t *ctx,
                        size_t clen, uint8_t *out, size_t olen) NK_MUST;

/* Wipe the parameters (the master secret) once the connection is done with them. */
void nk_tls12_params_clear(struct nk_tls12_params *p);

#endif
