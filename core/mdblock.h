/* core/mdblock.h — the hash compression functions of SHA-1, SHA-256 and
 * SHA-384, one block at a time, for code whose hashing must not depend on a
 * secret length (record/tls12_cbc.c: the MAC-then-encrypt MAC, RFC 5246
 * §6.2.3.2). The caller lays out the blocks itself, Merkle-Damgård padding
 * included, and reads the chaining value after any block. */
#ifndef NK_MDBLOCK_H
#define NK_MDBLOCK_H

#include <openssl/sha.h>
#include "core/crypto.h"

#define NK_MDB_MAX_BLOCK 128

struct nk_mdb {
    enum nk_hash h;
    union {
        SHA_CTX s1;
        SHA256_CTX s256;
        SHA512_CTX s512;   /* SHA-384 too */
    } u;
};

/* The block length (64 or 128) and the length field's (8 or 16) of h;
 * 0 for a hash that has none here (SHA-512). */
size_t nk_mdb_block_len(enum nk_hash h);
size_t nk_mdb_lenfield_len(enum nk_hash h);
/* The initial chaining value of h (SHA-1, SHA-256 or SHA-384). */
MSTATUS nk_mdb_init(struct nk_mdb *m, enum nk_hash h) NK_MUST;
/* One compression of block[0..nk_mdb_block_len). */
void nk_mdb_compress(struct nk_mdb *m, const uint8_t *block);
/* The chaining value as the digest's bytes (nk_hash_len(h) of them): after
 * the last padded block, the hash. */
void nk_mdb_value(const struct nk_mdb *m, uint8_t *out);
/* How many compressions this thread has run through nk_mdb_compress (tests
 * count them: the work must not depend on secrets). */
uint64_t nk_mdb_compressions(void);

#endif
