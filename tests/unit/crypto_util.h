/* crypto_util.h — what the crypto tests share: an HKDF-Expand-Label computed
 * without the library, a bare connection for the key schedule, and opening a
 * copy of a record. Header only (static functions). */
#ifndef TEST_CRYPTO_UTIL_H
#define TEST_CRYPTO_UTIL_H

#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include "core/nk.h"
#include "engine/conn.h"
#include "core/crypto.h"
#include "record/record.h"
#include "handshake/hs.h"

#define CT_FN static __attribute__((unused))

/* The application data payload both sides send in RFC 8448: 00 01 .. 31. */
CT_FN void app_payload(uint8_t out[50])
{
    for (int i = 0; i < 50; i++)
        out[i] = (uint8_t)i;
}

/* HKDF-Expand-Label computed without the library: libcrypto's HKDF in
 * expand-only mode over an info block built here, so derivations tested
 * against it are checked independently of core/crypto.c. */
CT_FN int ref_expand_label(enum nk_hash h, const uint8_t *secret, const char *label,
                        const uint8_t *ctx, size_t clen, uint8_t *out, size_t olen)
{
    static const char *md[] = { "SHA256", "SHA384", "SHA512" };
    uint8_t info[2 + 1 + 255 + 1 + 255];
    size_t ll = strlen(label), n = 0;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, ok;

    info[n++] = (uint8_t)(olen >> 8);
    info[n++] = (uint8_t)olen;
    info[n++] = (uint8_t)(6 + ll);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, ll);
    n += ll;
    info[n++] = (uint8_t)clen;
    if (clen)
        memcpy(info + n, ctx, clen);
    n += clen;

    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md[h], 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, nk_hash_len(h)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
        OSSL_PARAM_construct_end(),
    };
    ok = kc && EVP_KDF_derive(kc, out, olen, p) == 1;
    EVP_KDF_CTX_free(kc);
    EVP_KDF_free(kdf);
    return ok ? 0 : -1;
}

/* A connection with just enough state for nk_ks_*: a handshake with SHA-256. */
CT_FN struct nk_conn *ks_conn(void)
{
    struct nk_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->hs = calloc(1, sizeof *c->hs);
    if (!c->hs) {
        free(c);
        return NULL;
    }
    c->hs->hash = NK_SHA256;
    return c;
}

CT_FN void ks_conn_free(struct nk_conn *c)
{
    if (!c)
        return;
    nk_hs_free(&c->tls);
    free(c);
}

/* Open a copy of rec with k; returns the status, and type/plaintext on success. */
CT_FN MSTATUS open_copy(struct nk_rec_key *k, const uint8_t *rec, size_t n, uint8_t *type,
                       uint8_t *plain, size_t *plen)
{
    uint8_t *buf = malloc(n), *data;
    if (!buf)
        return ERR_MEM_ALLOC_FAIL;
    memcpy(buf, rec, n);
    MSTATUS st = nk_rec_open(k, buf, n, type, &data, plen);
    if (st == OK)
        memcpy(plain, data, *plen);
    free(buf);
    return st;
}

#endif
