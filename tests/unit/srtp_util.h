/* srtp_util.h — what the SRTP tests, the fuzz target and the benchmark share:
 * the profiles with fixed master keys, and RTP/RTCP packets built to order.
 * Header only (static functions). */
#ifndef TEST_SRTP_UTIL_H
#define TEST_SRTP_UTIL_H

#include <stdint.h>
#include <string.h>
#include "srtp.h"

#define SU_FN static __attribute__((unused))

struct su_profile {
    const char *name;
    ubyte2 id;
    ubyte4 key_len, salt_len, rtp_tag, rtcp_tag;
};

static const struct su_profile su_profiles[] = {
    { "AES128_CM_HMAC_SHA1_80", NKTLS_SRTP_AES128_CM_HMAC_SHA1_80, 16, 14, 10, 10 },
    { "AES128_CM_HMAC_SHA1_32", NKTLS_SRTP_AES128_CM_HMAC_SHA1_32, 16, 14, 4, 10 },
    { "AEAD_AES_128_GCM", NKTLS_SRTP_AEAD_AES_128_GCM, 16, 12, 16, 16 },
    { "AEAD_AES_256_GCM", NKTLS_SRTP_AEAD_AES_256_GCM, 32, 12, 16, 16 },
};
#define SU_NPROFILES (sizeof su_profiles / sizeof su_profiles[0])

/* A master key and salt made from seed: byte i is seed + 7 * i. */
SU_FN void su_master(uint8_t seed, uint8_t key[32], uint8_t salt[14])
{
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(seed + 7 * i);
    for (int i = 0; i < 14; i++)
        salt[i] = (uint8_t)(seed + 0x51 + 3 * i);
}

/* An outbound and an inbound session of one profile under the same master key. */
SU_FN MSTATUS su_pair(const struct su_profile *p, uint8_t seed, const uint8_t *mki, ubyte4 mki_len,
                      nktlsSrtpSession **tx, nktlsSrtpSession **rx)
{
    uint8_t key[32], salt[14];
    MSTATUS st;

    su_master(seed, key, salt);
    st = NKTLS_srtpCreate(p->id, NKTLS_SRTP_OUTBOUND, key, p->key_len, salt, p->salt_len, mki, mki_len, tx);
    if (st == OK)
        st = NKTLS_srtpCreate(p->id, NKTLS_SRTP_INBOUND, key, p->key_len, salt, p->salt_len, mki, mki_len, rx);
    return st;
}

/* An RTP packet (RFC 3550 §5.1): cc CSRCs, and with ext_words >= 0 a header
 * extension of that many 32-bit words; payload bytes follow. Its length. */
SU_FN size_t su_rtp(uint8_t *p, uint16_t seq, uint32_t ssrc, int cc, int ext_words, size_t payload)
{
    size_t n = 0;
    p[n++] = (uint8_t)(0x80 | (ext_words >= 0 ? 0x10 : 0) | cc);
    p[n++] = 0x60 | 0x80 * (seq & 1);   /* PT 96, M on odd packets */
    p[n++] = (uint8_t)(seq >> 8), p[n++] = (uint8_t)seq;
    for (int i = 0; i < 4; i++)
        p[n++] = (uint8_t)(0x11 * (i + 1) + seq);   /* timestamp */
    for (int i = 0; i < 4; i++)
        p[n++] = (uint8_t)(ssrc >> (24 - 8 * i));
    for (int c = 0; c < cc * 4; c++)
        p[n++] = (uint8_t)(0xc0 + c);
    if (ext_words >= 0) {
        p[n++] = 0xbe, p[n++] = 0xde;   /* RFC 8285 one-byte header profile */
        p[n++] = (uint8_t)(ext_words >> 8), p[n++] = (uint8_t)ext_words;
        for (int w = 0; w < ext_words * 4; w++)
            p[n++] = (uint8_t)(0xe0 + w);
    }
    for (size_t i = 0; i < payload; i++)
        p[n++] = (uint8_t)(i * 13 + seq);
    return n;
}

/* A compound RTCP packet's first part, a sender report (RFC 3550 §6.4.1),
 * padded out to len bytes (len >= 8, a multiple of 4). Its length. */
SU_FN size_t su_rtcp(uint8_t *p, uint32_t ssrc, size_t len, uint8_t fill)
{
    p[0] = 0x80, p[1] = 200;
    p[2] = (uint8_t)((len / 4 - 1) >> 8), p[3] = (uint8_t)(len / 4 - 1);
    for (int i = 0; i < 4; i++)
        p[4 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    for (size_t i = 8; i < len; i++)
        p[i] = (uint8_t)(fill + i);
    return len;
}

#endif
