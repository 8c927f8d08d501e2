/* aead12_ref.h — what the TLS 1.2 and DTLS 1.2 record tests share: the
 * AEAD suites they run each case under (a fixture's variants), and the
 * reference seal built from the RFCs with libcrypto that their records are
 * compared against byte for byte. */
#ifndef NK_TEST_AEAD12_REF_H
#define NK_TEST_AEAD12_REF_H

#include <openssl/evp.h>
#include "core/crypto.h"
#include "core/wire.h"

/* The variant fields: the suite, its cipher's name for libcrypto, its kind,
 * key and tag lengths. */
#define AEAD12_VARIANT_FIELDS \
    uint16_t id; \
    const char *evp_name; \
    int ccm, chacha; \
    size_t key_len, tag

/* ECDHE_ECDSA/RSA suites of every AEAD with their key and tag lengths. */
#define AEAD12_VARIANTS(f) \
    FIXTURE_VARIANT_ADD(f, aes128gcm) { .id = 0xc02f, .evp_name = "AES-128-GCM", .key_len = 16, .tag = 16 }; \
    FIXTURE_VARIANT_ADD(f, aes256gcm) { .id = 0xc02c, .evp_name = "AES-256-GCM", .key_len = 32, .tag = 16 }; \
    FIXTURE_VARIANT_ADD(f, chacha20) { \
        .id = 0xcca8, .evp_name = "ChaCha20-Poly1305", .chacha = 1, .key_len = 32, .tag = 16, \
    }; \
    FIXTURE_VARIANT_ADD(f, aes128ccm) { .id = 0xc0ac, .evp_name = "AES-128-CCM", .ccm = 1, .key_len = 16, .tag = 16 }; \
    FIXTURE_VARIANT_ADD(f, aes256ccm) { .id = 0xc0ad, .evp_name = "AES-256-CCM", .ccm = 1, .key_len = 32, .tag = 16 }; \
    FIXTURE_VARIANT_ADD(f, aes128ccm8) { .id = 0xc0ae, .evp_name = "AES-128-CCM", .ccm = 1, .key_len = 16, .tag = 8 }; \
    FIXTURE_VARIANT_ADD(f, aes256ccm8) { .id = 0xc0af, .evp_name = "AES-256-CCM", .ccm = 1, .key_len = 32, .tag = 8 }

/* RFC 5288 §3 / RFC 6655 §3: 8 explicit nonce bytes before the ciphertext;
 * RFC 7905 §2: none. */
static inline size_t aead12_xlen(int chacha)
{
    return chacha ? 0 : 8;
}

/* n bytes of d sealed as libcrypto does it, built from the RFCs, after the
 * record header the caller wrote (hdr bytes at rec): the nonce is salt || xn
 * for AES-GCM/CCM (xn sent in the record) or the IV XOR seq for
 * ChaCha20-Poly1305 (RFC 7905 §2); the additional data is seq || type ||
 * version || n (RFC 5246 §6.2.3.3; DTLS: seq is epoch || sequence, RFC 6347
 * §4.1.2.1). keys: write_key || write_IV. Returns the record's length (the
 * header's length field is the caller's), 0 on failure. */
static inline size_t aead12_ref_seal(const char *evp_name, int ccm, int chacha, size_t key_len, size_t tag,
                                     const uint8_t *keys, uint64_t seq, uint64_t xn, uint8_t type,
                                     uint16_t version, const uint8_t *d, size_t n, uint8_t *rec, size_t hdr)
{
    uint8_t nonce[NK_AEAD_IV] = { 0 }, aad[13];
    size_t xl = aead12_xlen(chacha);
    int len, ok;
    memcpy(nonce, keys + key_len, chacha ? 12 : 4);
    for (int i = 0; i < 8; i++) {
        if (chacha)
            nonce[11 - i] ^= (uint8_t)(seq >> (8 * i));
        else
            nonce[11 - i] = (uint8_t)(xn >> (8 * i));
        aad[7 - i] = (uint8_t)(seq >> (8 * i));
    }
    aad[8] = type;
    nk_store16(aad + 9, version);
    nk_store16(aad + 11, (uint16_t)n);
    memcpy(rec + hdr, nonce + 4, xl);
    uint8_t *ct = rec + hdr + xl;
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, evp_name, NULL);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    ok = c && x && EVP_EncryptInit_ex(x, c, NULL, NULL, NULL)
         && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, NK_AEAD_IV, NULL)
         && (!ccm || EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, (int)tag, NULL))
         && EVP_EncryptInit_ex(x, NULL, NULL, keys, nonce)
         && (!ccm || EVP_EncryptUpdate(x, NULL, &len, NULL, (int)n))
         && EVP_EncryptUpdate(x, NULL, &len, aad, sizeof aad)
         && (!n || EVP_EncryptUpdate(x, ct, &len, d, (int)n))
         && EVP_EncryptFinal_ex(x, ct + n, &len)
         && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, (int)tag, ct + n);
    EVP_CIPHER_CTX_free(x);
    EVP_CIPHER_free(c);
    return ok ? hdr + xl + n + tag : 0;
}

#endif
