/* core/crypto.h — the libcrypto wrapper: cipher-suite table, hashes, HMAC/HKDF,
 * AEAD contexts, randomness. EVP objects are fetched once (nk_crypto_init) and
 * reused; an AEAD context lives as long as its traffic key. */
#ifndef NK_CRYPTO_H
#define NK_CRYPTO_H

#include <openssl/evp.h>
#include "core/nk.h"

/* SHA-1 only as the HMAC of TLS 1.2's _SHA CBC suites (RFC 5246 §6.2.3.1). */
enum nk_hash { NK_SHA256 = 0, NK_SHA384 = 1, NK_SHA512 = 2, NK_SHA1 = 3, NK_HASH_COUNT };
/* NK_AES_CBC: TLS 1.2's block cipher suites (RFC 5246 §6.2.3.2), which are
 * no AEAD: record/tls12_cbc.c pairs the cipher with an HMAC. */
enum nk_aead_kind { NK_AES_GCM, NK_CHACHA20_POLY1305, NK_AES_CCM, NK_AES_CBC };

#define NK_MAX_HASH 64
#define NK_MAX_KEY 32
#define NK_AEAD_IV 12
#define NK_AEAD_TAG 16   /* the longest tag; a suite's own is tag_len */

/* TLS 1.2 suites name their key exchange and the certificate key that signs
 * it (RFC 5246 §7.4.3, RFC 8422 §2) or, for RSA key transport, decrypts the
 * premaster secret (RFC 5246 §7.4.7.1); a TLS 1.3 suite names neither (ANY). */
enum nk_kx { NK_KX_ANY, NK_KX_ECDHE, NK_KX_DHE, NK_KX_RSA, NK_KX_PSK /* the PSK alone */ };
/* NK_AUTH_ANON: no certificate, an unsigned ServerKeyExchange (RFC 5246 §7.4.2, §7.4.3).
 * NK_AUTH_PSK: a pre-shared key, no certificate (RFC 4279, 5489): with
 * NK_KX_PSK, NK_KX_DHE or NK_KX_ECDHE. */
enum nk_auth { NK_AUTH_ANY, NK_AUTH_ECDSA, NK_AUTH_RSA, NK_AUTH_ANON, NK_AUTH_DSA, NK_AUTH_PSK };

/* Whether a handshake may negotiate a suite: NONE, the record layer has it
 * but no handshake can agree on it yet; DEFAULT, every connection offers and
 * accepts it unless the application's SSL_enableCiphers list leaves it out;
 * ENABLED, only once the application names it there (suites with weaker
 * properties: 8-byte tags, and the like). */
enum nk_suite_use { NK_USE_NONE, NK_USE_DEFAULT, NK_USE_ENABLED };

/* One row per cipher suite; the kTLS mapping (ktls/) reads the same row. */
struct nk_suite {
    uint16_t id;             /* IANA value */
    const char *name;        /* as OpenSSL spells it */
    enum nk_aead_kind aead;
    uint8_t key_len;
    enum nk_hash hash;       /* TLS 1.3: HKDF and transcript; TLS 1.2: the PRF's (RFC 5246 §5) */
    uint16_t ktls_cipher;    /* TLS_CIPHER_* from linux/tls.h; 0: the kernel has none */
    uint64_t aead_limit;     /* records per key before we must rekey (RFC 8446 §5.5) */
    uint8_t minor;           /* the one protocol version it belongs to: 4 (TLS 1.3) or 3 (TLS 1.2) */
    uint8_t tag_len;         /* 16; 8 for the _CCM_8 suites (RFC 6655 §3); CBC: the MAC's length */
    uint8_t fixed_iv_len;    /* 12; TLS 1.2 AES-GCM/CCM: the 4-byte implicit salt (RFC 5288 §3) */
    uint8_t kx, auth;        /* enum nk_kx, enum nk_auth */
    uint8_t use;             /* enum nk_suite_use */
};

/* TLS 1.3's suites: what a connection offers and accepts today. */
extern const struct nk_suite nk_suites[];
extern const size_t nk_suite_count;
const struct nk_suite *nk_suite_by_id(uint16_t id);
const struct nk_suite *nk_suite_by_name(const char *name);

/* TLS 1.2's AEAD suites, in a table of their own: nothing that walks or
 * searches the one above (the offered list, the server's choice, the
 * cipher-list API, ticket parsing) can meet a suite TLS 1.3 must not use. */
extern const struct nk_suite nk_suites12[];
extern const size_t nk_suite12_count;
const struct nk_suite *nk_suite12_by_id(uint16_t id);
const struct nk_suite *nk_suite12_by_name(const char *name);

/* A set of suites from both tables, one bit each: nk_suites[i] is bit i,
 * nk_suites12[i] bit NK_SUITE12_BIT + i. A connection's enabled suites
 * (SSL_enableCiphers) are one such set: 8 bytes, whatever the list. */
#define NK_SUITE12_BIT 8
uint64_t nk_suite_bit(const struct nk_suite *s);
/* The row with this IANA id in either table (the ids do not collide). */
const struct nk_suite *nk_suite_any_by_id(uint16_t id);
const struct nk_suite *nk_suite_any_by_name(const char *name);
/* The suites every connection starts with (use == NK_USE_DEFAULT). */
uint64_t nk_suites_default(void);

MSTATUS nk_crypto_init(void) NK_MUST;     /* idempotent, thread-safe */
void nk_crypto_shutdown(void);
const EVP_MD *nk_md(enum nk_hash h);
size_t nk_hash_len(enum nk_hash h);
/* Hash of the empty string (Derive-Secret with no messages), computed at init. */
const uint8_t *nk_empty_hash(enum nk_hash h);

/* libcrypto contexts one thread reuses from handshake to handshake instead of
 * making and freeing them per operation (the cost of a handshake is mostly
 * that, outside the public-key arithmetic). Made on first use by the module
 * that owns each field, freed (and the struct wiped) when the thread exits.
 * Never shared between threads, and never holding a connection's secret
 * between uses: the ticket contexts hold the process-wide ticket key, which
 * lives as long anyway; each kex_next slot holds an ephemeral key from its
 * keygen to its derive or its nk_kex_free, whichever comes first (a key
 * freed on another thread: no further than NK_TC_KEX_NEXT more X25519
 * keygens on this one). */
#define NK_TC_GROUPS 5
#define NK_TC_RANDOM 256
#define NK_TC_KEX_NEXT 32
/* Random bytes drawn ahead in one generator call: the unread ones are
 * b[NK_TC_RANDOM - left ..]; read ones are zeroed. */
struct nk_random_pool {
    uint8_t b[NK_TC_RANDOM];
    size_t left;
    unsigned gen;                           /* fork generation they were drawn in */
};
struct nk_thread_ctx {
    EVP_MD_CTX *md[2];                      /* crypto.c: HMAC, transcript snapshots */
    int md0_fresh;                          /* crypto.c: md[0] just initialized for hash (value - 1) */
    EVP_PKEY_CTX *keygen[NK_TC_GROUPS];     /* kex.c: per group, keygen_init done */
    EVP_PKEY *peer[NK_TC_GROUPS];           /* kex.c: reloaded with each peer share */
    EVP_PKEY_CTX *x25519_import;            /* kex.c: fromdata_init done */
    EVP_PKEY *x25519_base;                  /* kex.c: the base point, u = 9 */
    EVP_PKEY_CTX *kex_next[NK_TC_KEX_NEXT]; /* kex.c: derive contexts of the keys made last */
    unsigned kex_next_at;                   /* kex.c: the slot the next one takes (mod NK_TC_KEX_NEXT) */
    EVP_CIPHER_CTX *ticket[2];              /* ticket.c: [decrypt, encrypt] under the ticket key */
    uint32_t ticket_gen[2];                 /* ticket.c: which key each is under: its set */
    uint8_t ticket_name[2][16];             /* and its name (handshake/ticket_keys.h) */
    /* crypto.c: random bytes drawn ahead, from the public generator
     * (nk_random) and from the private one (nk_random_priv). */
    struct nk_random_pool rnd, rnd_priv;
};
/* This thread's contexts, or NULL when out of memory. */
struct nk_thread_ctx *nk_thread_ctx(void);

/* Random bytes that go out in the clear (hello randoms, cookies, ticket
 * age_add and nonces): from a per-thread pool refilled in blocks, since each
 * call into the generator costs about a microsecond whatever its length. */
MSTATUS nk_random(void *buf, size_t n) NK_MUST;
/* Random bytes for secrets (ephemeral keys, premaster secrets): from a
 * per-thread pool of the private generator's output, refilled the same way
 * (each call costs as much as a good part of a key exchange's bookkeeping).
 * Unused bytes sit in this thread's memory until handed out, as the
 * generator's own state does, which predicts all of its later output. */
MSTATUS nk_random_priv(void *buf, size_t n) NK_MUST;
MSTATUS nk_digest(enum nk_hash h, const void *d, size_t n, uint8_t *out) NK_MUST;
MSTATUS nk_hmac(enum nk_hash h, const uint8_t *key, size_t klen,
                const uint8_t *msg, size_t mlen, uint8_t *out) NK_MUST;
/* HMAC over the concatenation of nparts messages, none copied (the TLS 1.2
 * PRF's label, seed and chaining value, RFC 5246 §5). */
MSTATUS nk_hmac_parts(enum nk_hash h, const uint8_t *key, size_t klen, const uint8_t *const *parts,
                      const size_t *lens, size_t nparts, uint8_t *out) NK_MUST;
MSTATUS nk_hkdf_extract(enum nk_hash h, const uint8_t *salt, size_t slen,
                        const uint8_t *ikm, size_t ilen, uint8_t *prk) NK_MUST;
MSTATUS nk_hkdf_expand(enum nk_hash h, const uint8_t *prk, const uint8_t *info, size_t ilen,
                       uint8_t *out, size_t olen) NK_MUST;
/* HKDF-Expand-Label (RFC 8446 §7.1); label without the "tls13 " prefix. */
MSTATUS nk_hkdf_expand_label(enum nk_hash h, const uint8_t *secret, const char *label,
                             const uint8_t *ctx, size_t clen, uint8_t *out, size_t olen) NK_MUST;
MSTATUS nk_hkdf_expand_label_raw(enum nk_hash h, const uint8_t *secret, const uint8_t *label, size_t llen,
                                 const uint8_t *ctx, size_t clen, uint8_t *out, size_t olen) NK_MUST;

/* An AEAD key in one direction. The nonce is computed by the caller. */
struct nk_aead {
    EVP_CIPHER_CTX *ctx;
    const struct nk_suite *suite;
    int encrypt;
};
MSTATUS nk_aead_init(struct nk_aead *a, const struct nk_suite *s, const uint8_t *key, int encrypt) NK_MUST;
/* buf holds len plaintext bytes; the tag (the suite's tag_len) is written at buf+len. */
MSTATUS nk_aead_seal(struct nk_aead *a, const uint8_t nonce[NK_AEAD_IV], const uint8_t *aad, size_t alen,
                     uint8_t *buf, size_t len) NK_MUST;
/* buf holds len bytes of ciphertext+tag (tag_len bytes); decrypts in place.
 * ERR_SSL_BAD_RECORD_MAC on failure. */
MSTATUS nk_aead_open(struct nk_aead *a, const uint8_t nonce[NK_AEAD_IV], const uint8_t *aad, size_t alen,
                     uint8_t *buf, size_t len) NK_MUST;
void nk_aead_free(struct nk_aead *a);

/* Running transcript hash (RFC 8446 §4.4.1). Until the hash is known the
 * messages are kept verbatim and hashed when nk_transcript_set_hash is called.
 * With keep set they stay kept after that too: a TLS 1.2 CertificateVerify
 * signs the handshake messages themselves (RFC 5246 §7.4.8), with a hash its
 * scheme names, which need not be the transcript's. */
struct nk_transcript {
    EVP_MD_CTX *ctx;
    enum nk_hash hash;
    int hash_known;
    int keep;
    struct nk_buf pending;   /* the messages, until the hash is known or while keep */
};
MSTATUS nk_transcript_add(struct nk_transcript *t, const uint8_t *msg, size_t n) NK_MUST;
MSTATUS nk_transcript_set_hash(struct nk_transcript *t, enum nk_hash h) NK_MUST;
MSTATUS nk_transcript_hash(const struct nk_transcript *t, uint8_t *out) NK_MUST;
/* Hash of the transcript so far followed by extra bytes, with hash h (a PSK
 * binder's truncated ClientHello, §4.2.11.2); ERR_CRYPTO if h is not the
 * transcript's hash once that is fixed. */
MSTATUS nk_transcript_hash_extra(const struct nk_transcript *t, enum nk_hash h, const uint8_t *extra,
                                 size_t n, uint8_t *out) NK_MUST;
/* Replace ClientHello1 with message_hash (HelloRetryRequest, RFC 8446 §4.4.1). */
MSTATUS nk_transcript_hrr_reset(struct nk_transcript *t) NK_MUST;
void nk_transcript_free(struct nk_transcript *t);
/* Start t as a copy of a kept transcript state (a digest context of hash h). */
MSTATUS nk_transcript_copy_from(struct nk_transcript *t, const EVP_MD_CTX *kept, enum nk_hash h) NK_MUST;

#endif
