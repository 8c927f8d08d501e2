/* srtp/session.c — SRTP sessions: the profile table, key derivation (RFC 3711
 * §4.3), the per-SSRC stream table, index estimation and the replay window
 * (RFC 3711 §3.3.1, §3.3.2). The packet transforms are srtp/packet.c. */
#include <stdlib.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include "srtp/srtp.h"

static const struct nk_srtp_profile profiles[] = {
    /* RFC 5764 §4.1.2: both AES-CM profiles keep an 80-bit SRTCP tag. */
    { 0x0001, 0, 16, 14, 10, 10 },   /* SRTP_AES128_CM_HMAC_SHA1_80 */
    { 0x0002, 0, 16, 14, 4, 10 },    /* SRTP_AES128_CM_HMAC_SHA1_32 */
    /* RFC 7714 §14.2: 16-byte tags, 12-byte master salt. */
    { 0x0007, 1, 16, 12, 16, 16 },   /* SRTP_AEAD_AES_128_GCM */
    { 0x0008, 1, 32, 12, 16, 16 },   /* SRTP_AEAD_AES_256_GCM */
};

const struct nk_srtp_profile *nk_srtp_profile(uint16_t id)
{
    for (size_t i = 0; i < NK_ARRAY_LEN(profiles); i++)
        if (profiles[i].id == id)
            return &profiles[i];
    return NULL;
}

static const EVP_CIPHER *aes_ctr(size_t klen)
{
    return klen == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr();
}

MSTATUS nk_srtp_kdf(const uint8_t *mkey, size_t klen, const uint8_t *msalt, size_t slen, uint8_t label,
                    uint8_t *out, size_t n)
{
    uint8_t iv[16] = { 0 };
    int outl;
    NK_CHECK(slen <= 14 && (klen == 16 || klen == 32), ERR_INVALID_ARG);
    /* RFC 3711 §4.3.1: key_id = label || r, with r = index DIV kdr = 0 for
     * kdr 0 (48 bits); x = key_id XOR master_salt, and the PRF input is
     * x * 2^16 (§4.3.3). label sits at byte 7 of the 14-byte x. */
    memcpy(iv, msalt, slen);
    iv[7] ^= label;
    memset(out, 0, n);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    NK_CHECK(c, ERR_MEM_ALLOC_FAIL);
    MSTATUS st = EVP_EncryptInit_ex(c, aes_ctr(klen), NULL, mkey, iv)
                 && EVP_EncryptUpdate(c, out, &outl, out, (int)n) ? OK : ERR_CRYPTO;
    EVP_CIPHER_CTX_free(c);
    return st;
}

MSTATUS nk_srtp_cm_crypt(EVP_CIPHER_CTX *cm, const uint8_t salt[14], uint32_t ssrc, uint64_t index,
                         uint8_t *buf, size_t n)
{
    uint8_t iv[16];
    int outl;
    /* RFC 3711 §4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16). */
    memcpy(iv, salt, 14);
    iv[14] = iv[15] = 0;
    for (int b = 0; b < 4; b++)
        iv[4 + b] ^= (uint8_t)(ssrc >> (24 - 8 * b));
    for (int b = 0; b < 6; b++)
        iv[8 + b] ^= (uint8_t)(index >> (40 - 8 * b));
    if (!EVP_EncryptInit_ex(cm, NULL, NULL, NULL, iv) || (n && !EVP_EncryptUpdate(cm, buf, &outl, buf, (int)n)))
        return ERR_CRYPTO;
    return OK;
}

/* Session keys for SRTP (labels 0, 1, 2) or SRTCP (3, 4, 5): RFC 3711 §4.3.2. */
static MSTATUS keys_init(struct nk_srtp_keys *k, const struct nk_srtp_profile *p, int outbound,
                         const uint8_t *mkey, const uint8_t *msalt, uint8_t first_label)
{
    uint8_t ekey[32], akey[NK_SRTP_AUTH_KEY];
    MSTATUS st;

    if ((st = nk_srtp_kdf(mkey, p->key_len, msalt, p->salt_len, first_label, ekey, p->key_len)) < 0
        || (st = nk_srtp_kdf(mkey, p->key_len, msalt, p->salt_len, first_label + 2, k->salt, p->salt_len)) < 0)
        goto out;
    if (p->aead) {
        const struct nk_suite *suite = nk_suite_by_id(p->key_len == 32 ? 0x1302 : 0x1301);
        st = suite ? nk_aead_init(&k->gcm, suite, ekey, outbound) : ERR_CRYPTO;
        goto out;
    }
    if ((st = nk_srtp_kdf(mkey, p->key_len, msalt, p->salt_len, first_label + 1, akey, sizeof akey)) < 0)
        goto out;
    st = ERR_MEM_ALLOC_FAIL;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac && (k->cm = EVP_CIPHER_CTX_new()) && (k->hmac = EVP_MAC_CTX_new(mac))) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0),
            OSSL_PARAM_construct_end(),
        };
        st = EVP_EncryptInit_ex(k->cm, aes_ctr(p->key_len), NULL, ekey, NULL)
             && EVP_MAC_init(k->hmac, akey, sizeof akey, params) ? OK : ERR_CRYPTO;
    }
    EVP_MAC_free(mac);
out:
    nk_wipe(ekey, sizeof ekey);
    nk_wipe(akey, sizeof akey);
    return st;
}

static void keys_free(struct nk_srtp_keys *k)
{
    EVP_CIPHER_CTX_free(k->cm);   /* libcrypto wipes the key schedules */
    EVP_MAC_CTX_free(k->hmac);
    nk_aead_free(&k->gcm);
    nk_wipe(k, sizeof *k);
}

MSTATUS nk_srtp_new(struct nk_srtp **out, uint16_t profile, int outbound, const uint8_t *key, size_t klen,
                    const uint8_t *salt, size_t slen, const uint8_t *mki, size_t mlen)
{
    const struct nk_srtp_profile *p = nk_srtp_profile(profile);
    MSTATUS st;

    *out = NULL;
    NK_CHECK(p, ERR_NOT_SUPPORTED);
    NK_CHECK(klen == p->key_len && slen == p->salt_len && mlen <= NK_SRTP_MAX_MKI
             && (outbound == 0 || outbound == 1), ERR_INVALID_ARG);
    NK_TRY(nk_crypto_init());
    struct nk_srtp *s = calloc(1, sizeof *s);
    NK_CHECK(s, ERR_MEM_ALLOC_FAIL);
    s->prof = p;
    s->outbound = outbound;
    s->max_streams = NK_SRTP_MAX_STREAMS;
    if (mlen)
        memcpy(s->mki, mki, mlen);
    s->mki_len = mlen;
    if ((st = keys_init(&s->rtp, p, outbound, key, salt, 0)) < 0
        || (st = keys_init(&s->rtcp, p, outbound, key, salt, 3)) < 0) {
        nk_srtp_free(s);
        return st;
    }
    *out = s;
    return OK;
}

void nk_srtp_free(struct nk_srtp *s)
{
    if (!s)
        return;
    keys_free(&s->rtp);
    keys_free(&s->rtcp);
    free(s->streams);
    nk_wipe(s, sizeof *s);
    free(s);
}

MSTATUS nk_srtp_set_max_streams(struct nk_srtp *s, uint32_t n)
{
    NK_CHECK(n >= 1 && n <= 65536 && n >= s->nstreams, ERR_INVALID_ARG);
    s->max_streams = n;
    return OK;
}

MSTATUS nk_srtp_stream_lookup(struct nk_srtp *s, uint32_t ssrc, struct nk_srtp_stream **st)
{
    for (uint32_t i = 0; i < s->nstreams; i++) {
        if (s->streams[i].ssrc == ssrc) {
            *st = &s->streams[i];
            return OK;
        }
    }
    *st = NULL;
    NK_CHECK(s->nstreams < s->max_streams, ERR_SRTP_TOO_MANY_STREAMS);
    if (s->nstreams == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 4;
        if (cap > s->max_streams)
            cap = s->max_streams;
        struct nk_srtp_stream *n = realloc(s->streams, cap * sizeof *n);
        NK_CHECK(n, ERR_MEM_ALLOC_FAIL);
        s->streams = n;
        s->cap = cap;
    }
    return OK;
}

struct nk_srtp_stream *nk_srtp_stream_add(struct nk_srtp *s, uint32_t ssrc)
{
    struct nk_srtp_stream *st = &s->streams[s->nstreams++];
    memset(st, 0, sizeof *st);
    st->ssrc = ssrc;
    return st;
}

MSTATUS nk_srtp_estimate_index(const struct nk_srtp_replay *r, uint16_t seq, uint64_t *index)
{
    /* RFC 3711 §3.3.1: the receiver starts with ROC 0 and s_l = the first SEQ. */
    if (!r->seen) {
        *index = seq;
        return OK;
    }
    int64_t roc = (int64_t)(r->top >> 16), v = roc;
    uint16_t s_l = (uint16_t)r->top;
    /* Appendix A: SEQ is taken from the ROC whose packet lies nearest s_l. */
    if (s_l < 32768) {
        if (seq > s_l && seq - s_l > 32768)
            v = roc - 1;
    } else if (s_l - 32768 > seq) {
        v = roc + 1;
    }
    NK_CHECK(v >= 0, ERR_SRTP_REPLAY);   /* before the stream's first packet */
    /* §3.2.1: the index is 48 bits; a new master key is due before it wraps. */
    NK_CHECK(v <= 0xffffffffLL, ERR_SRTP_INDEX_EXHAUSTED);
    *index = (uint64_t)v << 16 | seq;
    return OK;
}

MSTATUS nk_srtp_replay_check(const struct nk_srtp_replay *r, uint64_t index)
{
    if (!r->seen || index > r->top)
        return OK;
    uint64_t d = r->top - index;
    /* RFC 3711 §3.3.2: left of the window, or marked in it: a replay. */
    NK_CHECK(d < NK_SRTP_WINDOW && !(r->window >> d & 1), ERR_SRTP_REPLAY);
    return OK;
}

void nk_srtp_replay_accept(struct nk_srtp_replay *r, uint64_t index)
{
    if (!r->seen) {
        r->seen = 1;
        r->top = index;
        r->window = 1;
    } else if (index > r->top) {
        uint64_t d = index - r->top;
        r->window = d >= NK_SRTP_WINDOW ? 1 : r->window << d | 1;
        r->top = index;
    } else {
        r->window |= (uint64_t)1 << (r->top - index);
    }
}

MSTATUS nk_srtp_split(const struct nk_srtp_profile *p, const uint8_t *material, size_t n, int is_client,
                      uint8_t *out_key, uint8_t *out_salt, uint8_t *in_key, uint8_t *in_salt)
{
    size_t k = p->key_len, sl = p->salt_len;
    NK_CHECK(n == 2 * (k + sl), ERR_INVALID_ARG);
    /* RFC 5764 §4.2: client_write_SRTP_master_key[k] | server_write_SRTP_master_key[k] |
     * client_write_SRTP_master_salt[sl] | server_write_SRTP_master_salt[sl]. */
    const uint8_t *ck = material, *sk = material + k, *cs = material + 2 * k, *ss = cs + sl;
    memcpy(out_key, is_client ? ck : sk, k);
    memcpy(out_salt, is_client ? cs : ss, sl);
    memcpy(in_key, is_client ? sk : ck, k);
    memcpy(in_salt, is_client ? ss : cs, sl);
    return OK;
}
