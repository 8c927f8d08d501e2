/* record/record.h — the record-layer interface and the software TLS 1.3 record
 * protection (RFC 8446 §5). Keys are exportable (key, IV, sequence number) so
 * ktls/ can hand them to the kernel. */
#ifndef NK_RECORD_H
#define NK_RECORD_H

#include "core/crypto.h"

enum {
    NK_CT_CHANGE_CIPHER_SPEC = 20, NK_CT_ALERT = 21, NK_CT_HANDSHAKE = 22, NK_CT_APPLICATION_DATA = 23,
};

#define NK_REC_HDR 5
#define NK_MAX_PLAIN 16384
/* RFC 8446 §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256. */
#define NK_MAX_CIPHER (NK_MAX_PLAIN + 256)
#define NK_MAX_RECORD (NK_REC_HDR + NK_MAX_CIPHER)

/* One direction's traffic protection. */
struct nk_rec_key {
    struct nk_aead aead;
    const struct nk_suite *suite;   /* NULL: records are plaintext */
    uint8_t key[NK_MAX_KEY];
    uint8_t iv[NK_AEAD_IV];
    uint64_t seq;
};

/* Derive key and IV from a traffic secret ([sender]_write_key/iv, RFC 8446 §7.3)
 * and start at sequence number 0. */
MSTATUS nk_rec_install(struct nk_rec_key *k, const struct nk_suite *s, const uint8_t *secret,
                       int encrypt) NK_MUST;
/* Only the key and IV (for the kernel): no AEAD context. */
MSTATUS nk_rec_derive(struct nk_rec_key *k, const struct nk_suite *s, const uint8_t *secret) NK_MUST;
void nk_rec_clear(struct nk_rec_key *k);
/* Free the AEAD context of an idle connection's key, keeping key, IV and
 * sequence number: the context (about 1.1 KiB of libcrypto heap) is rebuilt
 * from them when the key is next used. */
void nk_rec_park(struct nk_rec_key *k);

/* Append one protected record carrying len (<= 2^14) bytes of the given inner
 * content type, followed by pad zero bytes of padding. */
MSTATUS nk_rec_seal(struct nk_rec_key *k, uint8_t type, const uint8_t *data, size_t len, size_t pad,
                    struct nk_buf *out) NK_MUST;

/* Open a whole protected record (header included) in place; on success *type is
 * the inner content type and [*data, *data + *len) the plaintext. */
MSTATUS nk_rec_open(struct nk_rec_key *k, uint8_t *rec, size_t rec_len, uint8_t *type, uint8_t **data,
                    size_t *len) NK_MUST;

#endif
