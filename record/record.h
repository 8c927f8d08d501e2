/* record/record.h — the record layer: one ops table per protection (framing,
 * AAD, nonce, seal/open, length limits), the key objects they work on, and the
 * kernel as the protection of a direction it carries. The only code that knows
 * what a record header looks like. Keys are exportable (key, IV, sequence
 * number) so ktls/ can hand them to the kernel. */
#ifndef NK_RECORD_H
#define NK_RECORD_H

#include "core/crypto.h"

enum {
    NK_CT_CHANGE_CIPHER_SPEC = 20, NK_CT_ALERT = 21, NK_CT_HANDSHAKE = 22, NK_CT_APPLICATION_DATA = 23,
    NK_CT_HEARTBEAT = 24,   /* RFC 6520 §3, TLS 1.2 only (handshake/heartbeat.c) */
};

/* legacy_record_version values (RFC 8446 §5.1). */
#define NK_REC_V10 0x0301
#define NK_REC_V12 0x0303

#define NK_REC_HDR 5
#define NK_MAX_PLAIN 16384
/* RFC 8446 §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256. */
#define NK_MAX_CIPHER (NK_MAX_PLAIN + 256)
/* RFC 5246 §6.2.3: TLSCiphertext.length MUST NOT exceed 2^14 + 2048. */
#define NK_MAX_CIPHER12 (NK_MAX_PLAIN + 2048)
#define NK_MAX_RECORD (NK_REC_HDR + NK_MAX_CIPHER)

/* Positive results of the framing calls (never errors: NK_TRY lets them by). */
#define NK_REC_SHORT ((MSTATUS)1)   /* the bytes end inside this record: more must come */
#define NK_REC_END ((MSTATUS)2)     /* a walk found no record left */

/* One record as it lies in a buffer. */
struct nk_rec {
    uint8_t type;          /* outer content type */
    uint16_t version;      /* legacy_record_version */
    uint16_t epoch;        /* DTLS 1.2 only: the key epoch */
    uint64_t seq;          /* DTLS 1.2 only: the explicit 48-bit sequence number */
    uint8_t *p;            /* the record: header, then body */
    size_t len;            /* header and body */
    uint8_t *body;
    size_t body_len;
};

struct nk_rec_key;
struct nk_rd;
struct nk_wr;

/* One protection: how its records are framed and protected. Model:
 * BearSSL's br_sslrec_in_class/br_sslrec_out_class. Today: TLSPlaintext (before
 * keys, and what the kernel takes once it carries TX), TLS 1.3 AEAD and TLS
 * 1.2 AEAD; TLS 1.2 CBC and DTLS 1.2 (13-byte header with epoch and sequence
 * number) are further instances. */
struct nk_rec_ops {
    const char *name;
    uint8_t hdr_len;        /* 5; DTLS 1.2: 13 */
    uint8_t overhead;       /* the least a body adds to its content (TLS 1.3: tag and type) */
    uint16_t max_body;      /* longest body a peer may send (check_length) */
    /* Read a header (hdr_len bytes are there) into rec: type, version, body_len. */
    MSTATUS (*parse)(struct nk_rd *r, struct nk_rec *rec);
    /* Write a header for a body of n bytes. */
    void (*header)(struct nk_wr *w, const struct nk_rec_key *k, uint8_t type, uint16_t version, size_t n);
    /* Key the protection; NULL: keyless. TLS 1.3: secret is the direction's
     * traffic secret (RFC 8446 §7.3). TLS 1.2: it is the direction's share of
     * the key block, write_key || write_IV (s->key_len + s->fixed_iv_len
     * bytes, RFC 5246 §6.3), as handshake/keysched12.c lays it out. */
    MSTATUS (*install)(struct nk_rec_key *k, const struct nk_suite *s, const uint8_t *secret, int encrypt);
    /* Append one record carrying n bytes of content of the given type, padded
     * with pad zero bytes where the protection allows. */
    MSTATUS (*seal)(struct nk_rec_key *k, uint8_t type, uint16_t version, const uint8_t *d, size_t n,
                    size_t pad, struct nk_buf *out);
    /* Open a whole record (header included) in place: *type is the content
     * type, [*data, *data + *n) the content. */
    MSTATUS (*open)(struct nk_rec_key *k, uint8_t *rec, size_t len, uint8_t *type, uint8_t **data, size_t *n);
};

/* TLSPlaintext (RFC 8446 §5.1): before keys, change_cipher_spec, and the
 * records the kernel protects. */
extern const struct nk_rec_ops nk_rec_plain;
/* TLSCiphertext under a TLS 1.3 traffic key (RFC 8446 §5.2–5.4). */
extern const struct nk_rec_ops nk_rec_tls13;
/* TLSCiphertext under a TLS 1.2 AEAD suite (RFC 5246 §6.2.3.3; AES-GCM RFC
 * 5288, AES-CCM RFC 6655/7251, ChaCha20-Poly1305 RFC 7905): the real content
 * type outside, no padding, an 8-byte explicit nonce before the ciphertext
 * for AES-GCM/CCM (our sequence number). Its pad argument is ignored: the
 * protection has no padding. */
extern const struct nk_rec_ops nk_rec_tls12;
/* DTLS 1.2 records (RFC 6347 §4.1; record/dtls12.h): the 13-byte header
 * with epoch and sequence number; keyless in epoch 0 (nk_dtls_start), then
 * the TLS 1.2 AEAD suites with epoch || sequence_number as the 64-bit
 * sequence number. install takes what nk_rec_tls12's does and starts the
 * next epoch. */
extern const struct nk_rec_ops nk_rec_dtls12;
/* TLSCiphertext under a TLS 1.2 CBC suite (RFC 5246 §6.2.3.2,
 * record/tls12_cbc.c): an explicit random IV, then the encryption of content,
 * HMAC and padding (MAC-then-encrypt), or of content and padding with the
 * HMAC over IV and ciphertext after it (encrypt_then_mac, RFC 7366). Its pad
 * argument is ignored (the least padding is sent). */
extern const struct nk_rec_ops nk_rec_tls12_cbc;
extern const struct nk_rec_ops nk_rec_tls12_cbc_etm;
/* The longest TLS 1.2 MAC key: HMAC-SHA384's (RFC 5246 §6.3). */
#define NK_TLS12_MAX_MAC 48
/* The key material a TLS 1.2 install takes at most: AEAD write_key ||
 * write_IV, or CBC write_key || write_MAC_key. */
#define NK_REC12_KEYS (NK_MAX_KEY + NK_TLS12_MAX_MAC)

/* One direction's traffic protection. */
/* The protections a key object can name, by number: one byte in a gap of the
 * key object rather than a pointer, since every idle connection on the
 * software path keeps two of them. */
enum {
    NK_REC_OPS_NONE = 0, NK_REC_OPS_TLS13 = 1, NK_REC_OPS_TLS12_AEAD = 2, NK_REC_OPS_DTLS12 = 3,
    NK_REC_OPS_TLS12_CBC = 4, NK_REC_OPS_TLS12_CBC_ETM = 5, NK_REC_OPS_COUNT
};
extern const struct nk_rec_ops *const nk_rec_ops_by_id[NK_REC_OPS_COUNT];

struct nk_rec_key {
    struct nk_aead aead;
    const struct nk_suite *suite;   /* NULL: records are plaintext */
    uint8_t key[NK_MAX_KEY + NK_TLS12_MAX_MAC];   /* CBC: the MAC key follows the cipher's */
    /* The per-record nonce is iv XOR the left-padded sequence number. TLS
     * 1.2 AES-GCM/CCM: the 4-byte salt, then 8 zero bytes (so the nonce's
     * last 8 bytes, the explicit nonce, are the sequence number). */
    uint8_t iv[NK_AEAD_IV];
    uint8_t ops_id;                 /* NK_REC_OPS_*; NONE: plaintext */
    uint16_t epoch;                 /* DTLS 1.2: this key's epoch (in a gap: no growth) */
    uint64_t seq;
};

/* The protection of a direction whose key object is k (NULL: none, the
 * records are plaintext). */
static inline const struct nk_rec_ops *nk_rec_ops_of(const struct nk_rec_key *k)
{
    return k && k->ops_id && k->ops_id < NK_REC_OPS_COUNT ? nk_rec_ops_by_id[k->ops_id] : &nk_rec_plain;
}

/* Derive key and IV from a traffic secret ([sender]_write_key/iv, RFC 8446 §7.3)
 * and start at sequence number 0, under TLS 1.3 protection. */
MSTATUS nk_rec_install(struct nk_rec_key *k, const struct nk_suite *s, const uint8_t *secret,
                       int encrypt) NK_MUST;
/* Only the key and IV (for the kernel): no AEAD context. */
MSTATUS nk_rec_derive(struct nk_rec_key *k, const struct nk_suite *s, const uint8_t *secret) NK_MUST;
void nk_rec_clear(struct nk_rec_key *k);
/* Free the AEAD context of an idle connection's key, keeping key, IV and
 * sequence number: the context (about 1.1 KiB of libcrypto heap) is rebuilt
 * from them when the key is next used. */
void nk_rec_park(struct nk_rec_key *k);

/* Append one record of the direction's protection (k NULL: plaintext). */
MSTATUS nk_rec_write(struct nk_rec_key *k, uint8_t type, uint16_t version, const uint8_t *d, size_t n,
                     struct nk_buf *out) NK_MUST;
/* Append one protected record carrying len (<= 2^14) bytes of the given
 * content type (TLS 1.3: inner, followed by pad zero bytes of padding; TLS
 * 1.2: outer, pad ignored). */
MSTATUS nk_rec_seal(struct nk_rec_key *k, uint8_t type, const uint8_t *data, size_t len, size_t pad,
                    struct nk_buf *out) NK_MUST;
/* Open a whole protected record (header included) in place; on success *type is
 * the content type (TLS 1.3: the inner one) and [*data, *data + *len) the
 * plaintext. */
MSTATUS nk_rec_open(struct nk_rec_key *k, uint8_t *rec, size_t rec_len, uint8_t *type, uint8_t **data,
                    size_t *len) NK_MUST;

/* Append the compatibility change_cipher_spec record (RFC 8446 Appendix D.4):
 * unprotected, whatever protects the direction. */
MSTATUS nk_rec_write_ccs(struct nk_buf *out) NK_MUST;
/* Whether rec is such a record: type 20, the single byte 0x01. */
int nk_rec_is_ccs(const struct nk_rec *rec);

/* ---- framing: records in a buffer ---- */

/* The bytes the record at the front of [p, p + n) takes, header included,
 * once its header is there; until then the header's length. Reading exactly
 * this much and no more keeps bytes past a key change out of userspace, where
 * the kernel could never get them. */
size_t nk_rec_frame_len(const struct nk_rec_ops *ops, const uint8_t *p, size_t n);
/* The room a receive buffer needs for the longest record ops accepts, header
 * included, and never less than NK_MAX_RECORD (TLS 1.3's bound): only a
 * protection that accepts longer records (TLS 1.2 CBC) asks for more. */
size_t nk_rec_room(const struct nk_rec_ops *ops);

/* Read and check the header at the front of [p, p + n), as it came from the
 * peer: NK_REC_SHORT while the header is incomplete; ERR_SSL_PROTOCOL for a
 * first byte that is no content type or a major version other than 3;
 * ERR_SSL_RECORD_OVERFLOW for a length over ops->max_body; else rec is filled
 * in and the result is OK when the whole record is there, NK_REC_SHORT when
 * more of it must come. */
MSTATUS nk_rec_peek_header(const struct nk_rec_ops *ops, uint8_t *p, size_t n, struct nk_rec *rec) NK_MUST;

/* Walk the records of a buffer front to back. Headers are not judged: for
 * records we framed ourselves, or that nk_rec_peek_header has let in. */
struct nk_rec_walk {
    const struct nk_rec_ops *ops;
    uint8_t *p;
    size_t left;
};
static inline void nk_rec_walk_init(struct nk_rec_walk *w, const struct nk_rec_ops *ops, uint8_t *p, size_t n)
{
    w->ops = ops;
    w->p = p;
    w->left = n;
}
/* OK and the next whole record in *rec; NK_REC_END when no byte is left;
 * NK_REC_SHORT when the bytes left end inside a record (the walk stays at it). */
MSTATUS nk_rec_walk_next(struct nk_rec_walk *w, struct nk_rec *rec) NK_MUST;

/* The first n body bytes of rec are gone (sent): write a header for the rest
 * in front of it (over bytes already sent), so that what remains, from the
 * returned position (rec->p + n), is again a record of its type. n <
 * rec->body_len. */
uint8_t *nk_rec_drop_front(const struct nk_rec_ops *ops, const struct nk_rec *rec, size_t n);

/* ---- the kernel as a protection ---- */

/* The kernel's share of a connection's record layer: which directions it
 * carries (ktls/ sets these at offload) and the traffic keys it has still to
 * take after a KeyUpdate, which ktls/ and the drivers hand over. Laid into the
 * protocol state by these field names (handshake/tls.h), packed into a gap
 * there: thousands of idle connections carry it. */
#define NK_REC_KERNEL_FIELDS \
    uint32_t tx_rekey_at;          /* kernel TX key changes after this many queued bytes */ \
    uint8_t ktls_tx : 1, ktls_rx : 1;   /* the kernel carries this direction */ \
    uint8_t ktls_tx_rekey : 1;     /* the kernel can take a new TX key (ktls/) */ \
    uint8_t tx_rekey_pending : 1;  /* a new TX key waits for tx_rekey_at */ \
    uint8_t rx_rekey_pending : 1;  /* the kernel's RX key must follow a KeyUpdate */
struct __attribute__((packed)) nk_rec_kernel {
    NK_REC_KERNEL_FIELDS
};

enum { NK_REC_RX = 0, NK_REC_TX = 1 };

/* Positive result of nk_rec_can_rekey: the direction's last new key has not
 * been taken yet (the kernel switches only once the record announcing it has
 * left). */
#define NK_REC_KEY_PENDING ((MSTATUS)3)

/* Whether the direction dir can take its next traffic key now: OK;
 * NK_REC_KEY_PENDING; ERR_SSL_KTLS_NO_REKEY where the kernel carries it and
 * cannot replace its key. */
MSTATUS nk_rec_can_rekey(const struct nk_rec_kernel *kt, int dir) NK_MUST;

/* The direction's next traffic key, from its secret (KeyUpdate, RFC 8446
 * §4.6.3), in whatever protects the direction: installed in the key object k
 * now, or, where the kernel carries the direction, recorded for ktls/ to hand
 * over — RX before the next record is read, TX once the queued bytes ahead of
 * it (the record announcing it included) have left. */
MSTATUS nk_rec_next_key(struct nk_rec_key *k, struct nk_rec_kernel *kt, int dir, const struct nk_suite *s,
                        const uint8_t *secret, uint32_t queued) NK_MUST;

#endif
