/* srtp/srtp.h — SRTP/SRTCP packet protection (RFC 3711, RFC 7714). It
 * protects media packets, not TLS records, and needs nothing but core/; the
 * public calls (include/nktls/srtp.h) are api/srtp.c. The DTLS side only
 * exports keying material and reads the profile table. */
#ifndef NK_SRTP_H
#define NK_SRTP_H

#include <openssl/evp.h>
#include "core/nk.h"
#include "core/crypto.h"

/* One row per protection profile (RFC 5764 §4.1.2, RFC 7714 §14.2). */
struct nk_srtp_profile {
    uint16_t id;
    uint8_t aead;        /* 1: AES-GCM (RFC 7714); 0: AES-CM + HMAC-SHA1 (RFC 3711) */
    uint8_t key_len;     /* master key = session encryption key */
    uint8_t salt_len;    /* master salt = session salt: 14 (AES-CM), 12 (GCM, RFC 7714 §12) */
    uint8_t rtp_tag;     /* SRTP tag bytes */
    uint8_t rtcp_tag;    /* SRTCP tag bytes */
};
const struct nk_srtp_profile *nk_srtp_profile(uint16_t id);

#define NK_SRTP_AUTH_KEY 20      /* HMAC-SHA1 session key, n_a = 160 (RFC 3711 §8.2) */
#define NK_SRTP_WINDOW 64        /* replay window, packets */
#define NK_SRTP_MAX_STREAMS 32   /* SSRCs per session unless set otherwise */
#define NK_SRTP_MAX_MKI 128

/* One SSRC's state (RFC 3711 §3.2.1, §3.3.2). top is the highest index seen
 * (SRTP: ROC * 2^16 + SEQ); bit k of window is index top - k. */
struct nk_srtp_replay {
    uint64_t top;
    uint64_t window;
    uint8_t seen;
};
struct nk_srtp_stream {
    uint32_t ssrc;
    struct nk_srtp_replay rtp, rtcp;
};

/* Session keys of one of SRTP or SRTCP (RFC 3711 §4.3.1 labels 0-2 or 3-5). */
struct nk_srtp_keys {
    EVP_CIPHER_CTX *cm;       /* AES-CM profiles: AES-CTR, keyed once, IV set per packet */
    /* AES-CM profiles: HMAC-SHA1 keyed once, reset per packet. libcrypto 3.0
     * copies the digest state at each reset (two small allocations a packet,
     * its own; re-initialising a bare digest context costs the same); the
     * AES paths allocate nothing. */
    EVP_MAC_CTX *hmac;
    struct nk_aead gcm;       /* AEAD profiles */
    uint8_t salt[14];
};

struct nk_srtp {
    const struct nk_srtp_profile *prof;
    int outbound;
    struct nk_srtp_keys rtp, rtcp;
    uint8_t mki[NK_SRTP_MAX_MKI];
    size_t mki_len;
    struct nk_srtp_stream *streams;
    uint32_t nstreams, cap, max_streams;
};

MSTATUS nk_srtp_new(struct nk_srtp **out, uint16_t profile, int outbound, const uint8_t *key, size_t klen,
                    const uint8_t *salt, size_t slen, const uint8_t *mki, size_t mlen) NK_MUST;
void nk_srtp_free(struct nk_srtp *s);
MSTATUS nk_srtp_set_max_streams(struct nk_srtp *s, uint32_t n) NK_MUST;

/* The stream of ssrc in *st; or *st NULL and room made for it:
 * ERR_SRTP_TOO_MANY_STREAMS when the session holds its maximum already. */
MSTATUS nk_srtp_stream_lookup(struct nk_srtp *s, uint32_t ssrc, struct nk_srtp_stream **st) NK_MUST;
/* Adds the stream lookup made room for. Called only once a packet has
 * authenticated, so a forger cannot fill the table. */
struct nk_srtp_stream *nk_srtp_stream_add(struct nk_srtp *s, uint32_t ssrc);

/* The replay window (RFC 3711 §3.3.2): check refuses an index already seen or
 * older than the window; accept records it. */
MSTATUS nk_srtp_replay_check(const struct nk_srtp_replay *r, uint64_t index) NK_MUST;
void nk_srtp_replay_accept(struct nk_srtp_replay *r, uint64_t index);
/* The packet index of seq (RFC 3711 §3.3.1 and Appendix A); ERR_SRTP_REPLAY
 * when it would lie before index 0, ERR_SRTP_INDEX_EXHAUSTED past 2^48 - 1. */
MSTATUS nk_srtp_estimate_index(const struct nk_srtp_replay *r, uint16_t seq, uint64_t *index) NK_MUST;

/* The key derivation function (RFC 3711 §4.3.1, §4.3.3) with
 * key_derivation_rate 0: n bytes of AES-CM keystream under the master key,
 * IV = (master_salt XOR label * 2^48) * 2^16. A 12-byte salt (RFC 7714) is
 * taken as 14 bytes padded with zeros. */
MSTATUS nk_srtp_kdf(const uint8_t *mkey, size_t klen, const uint8_t *msalt, size_t slen, uint8_t label,
                    uint8_t *out, size_t n) NK_MUST;

/* AES-CM (RFC 3711 §4.1.1): XOR n bytes at buf with the keystream for
 * IV = salt * 2^16 XOR SSRC * 2^64 XOR index * 2^16 under the key of cm. */
MSTATUS nk_srtp_cm_crypt(EVP_CIPHER_CTX *cm, const uint8_t salt[14], uint32_t ssrc, uint64_t index,
                         uint8_t *buf, size_t n) NK_MUST;

/* The packet transforms (srtp/packet.c). len is in/out; cap is the room at pkt. */
MSTATUS nk_srtp_protect(struct nk_srtp *s, uint8_t *pkt, size_t *len, size_t cap) NK_MUST;
MSTATUS nk_srtp_unprotect(struct nk_srtp *s, uint8_t *pkt, size_t *len) NK_MUST;
MSTATUS nk_srtcp_protect(struct nk_srtp *s, uint8_t *pkt, size_t *len, size_t cap) NK_MUST;
MSTATUS nk_srtcp_unprotect(struct nk_srtp *s, uint8_t *pkt, size_t *len) NK_MUST;

/* RFC 5764 §4.2: material = client key | server key | client salt | server salt.
 * The outbound half is the client's when is_client. */
MSTATUS nk_srtp_split(const struct nk_srtp_profile *p, const uint8_t *material, size_t n, int is_client,
                      uint8_t *out_key, uint8_t *out_salt, uint8_t *in_key, uint8_t *in_salt) NK_MUST;

#endif
