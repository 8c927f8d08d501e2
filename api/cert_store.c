/* api/cert_store.c — CERT_STORE_*: trust points, identities and PSKs.
 *
 * Everything a handshake needs is decoded here, once, when the application adds
 * it: the X509_STORE is built as trust points arrive, an identity's leaf X509 and
 * EVP_PKEY are parsed and checked against each other, and libcrypto's lazily
 * computed per-certificate data is forced now. Handshakes on many threads then
 * only read the store, so it needs no lock. */
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include "core/nk.h"
#include "handshake/ocsp.h"
#include "handshake/store.h"
#include "nktls.h"
#include "api/keyblob.h"
#include "core/crypto.h"
#include "crypto/cert_store.h"

/* Limits of the PSK callbacks' buffers (NanoSSL's SSL_PSK_SERVER_IDENTITY_LENGTH
 * and SSL_PSK_MAX_LENGTH), so any stored PSK can be handed to them. */
#define PSK_MAX_IDENTITY 128
#define PSK_MAX_HINT     128
#define PSK_MAX_SECRET   64

static void identity_free(struct nk_identity *id)
{
    if (id == NULL)
        return;
    nk_identity_release(id);
    nk_ocsp_release(id);
    X509_free(id->leaf);
    EVP_PKEY_free(id->key);     /* libcrypto clears the private key as it frees it */
    for (size_t i = 0; i < id->chain_len; i++)
        free(id->chain[i].p);
    free(id->chain);
    free(id);
}

static void psk_free(struct nk_psk_identity *p)
{
    free(p->id);
    free(p->hint);
    if (p->secret != NULL)
        nk_wipe(p->secret, p->secret_len);
    free(p->secret);
}

NK_API MSTATUS NKTLS_setOcspResponse(struct certStore *pStore, const ubyte *pDer, ubyte4 derLen)
{
    NK_CHECK(pStore && pDer, ERR_NULL_POINTER);
    NK_CHECK(derLen > 0 && derLen < (1u << 24), ERR_INVALID_ARG);   /* RFC 6066 §8: OCSPResponse<1..2^24-1> */
    return nk_ocsp_set(pStore, pDer, derLen);
}

NK_API MSTATUS CERT_STORE_releaseStore(certStorePtr *ppStore)
{
    if (ppStore == NULL || *ppStore == NULL)
        return OK;
    struct certStore *s = *ppStore;
    X509_STORE_free(s->trust);
    sk_X509_pop_free(s->anchors, X509_free);
    for (size_t i = 0; i < s->n_ids; i++)
        identity_free(s->ids[i]);
    free(s->ids);
    for (size_t i = 0; i < s->n_psks; i++)
        psk_free(&s->psks[i]);
    free(s->psks);
    free(s);
    *ppStore = NULL;
    return OK;
}

NK_API MSTATUS CERT_STORE_createStore(certStorePtr *ppNewStore)
{
    NK_CHECK(ppNewStore != NULL, ERR_NULL_POINTER);
    *ppNewStore = NULL;
    struct certStore *s = calloc(1, sizeof(*s));
    NK_CHECK(s != NULL, ERR_MEM_ALLOC_FAIL);
    s->trust = X509_STORE_new();
    s->anchors = sk_X509_new_null();
    if (s->trust == NULL || s->anchors == NULL) {
        CERT_STORE_releaseStore(&s);
        return ERR_MEM_ALLOC_FAIL;
    }
    /* A trust point is an anchor whether or not it is self-signed: "The trust
     * anchor information is trusted because it was delivered to the path
     * processing procedure by some trustworthy out-of-band procedure" (RFC 5280
     * §6.1.1 (d)). Without PARTIAL_CHAIN libcrypto would insist on reaching a
     * self-signed root. */
    X509_STORE_set_flags(s->trust, X509_V_FLAG_PARTIAL_CHAIN);
    *ppNewStore = s;   /* ticket_ctx: zero until something is added (ctx_mix) */
    return OK;
}

/* A store's ticket context (handshake/store.h) follows what was added to it,
 * in order: HMAC(context || kind, certificate DER) after each trust point
 * ('t') and each identity certificate ('i'). Stores filled alike, in one
 * process or across a fleet sharing a ticket key file, take each other's
 * tickets; a store with another trust point or identity does not. */
static MSTATUS ctx_mix(struct certStore *s, char kind, const uint8_t *der, size_t len)
{
    uint8_t key[sizeof s->ticket_ctx + 1], mac[32];
    memcpy(key, s->ticket_ctx, sizeof s->ticket_ctx);
    key[sizeof s->ticket_ctx] = (uint8_t)kind;
    NK_TRY(nk_hmac(NK_SHA256, key, sizeof key, der, len, mac));
    memcpy(s->ticket_ctx, mac, sizeof s->ticket_ctx);
    return OK;
}

/* Compute libcrypto's cached extension data (key usage, basic constraints, hashes)
 * now, while the application is the only user, rather than on first use by
 * concurrent handshakes. */
static void warm_cert(X509 *x)
{
    X509_check_purpose(x, -1, 0);
}

NK_API MSTATUS CERT_STORE_addTrustPoint(certStorePtr pStore, const ubyte *pDerTrustPoint,
                                        ubyte4 trustPointLength)
{
    NK_CHECK(pStore != NULL && pDerTrustPoint != NULL, ERR_NULL_POINTER);
    ERR_set_mark();
    MSTATUS st = OK;
    X509 *x = nk_x509_from_der(pDerTrustPoint, trustPointLength);
    if (x == NULL) {
        st = ERR_CERT_DECODE;
    } else {
        warm_cert(x);
        if (X509_STORE_add_cert(pStore->trust, x) != 1)
            st = ERR_CRYPTO;
        else if (sk_X509_push(pStore->anchors, x) <= 0)
            st = ERR_MEM_ALLOC_FAIL;
        else if (ctx_mix(pStore, 't', pDerTrustPoint, trustPointLength) < 0)
            st = ERR_CRYPTO, x = NULL;   /* pushed: the stack owns it */
        else
            x = NULL;   /* the stack owns it now */
    }
    X509_free(x);
    ERR_pop_to_mark();
    return st;
}

/* The lookups libcrypto adds read the directory lazily, under the store's own
 * lock, so handshakes may still share the store. */
NK_API MSTATUS NKTLS_addSystemTrustPoints(certStorePtr pStore)
{
    NK_CHECK(pStore != NULL, ERR_NULL_POINTER);
    ERR_set_mark();
    int ok = X509_STORE_set_default_paths(pStore->trust);
    ERR_pop_to_mark();
    NK_CHECK(ok == 1, ERR_CRYPTO);
    pStore->system_trust = 1;
    /* As for a trust point: tickets issued under the old trust no longer resume. */
    NK_CHECK(nk_random(pStore->ticket_ctx, sizeof pStore->ticket_ctx) == OK, ERR_CRYPTO);
    return OK;
}

static MSTATUS identity_append(struct certStore *s, struct nk_identity *id)
{
    struct nk_identity **v = realloc(s->ids, (s->n_ids + 1) * sizeof(*v));
    NK_CHECK(v != NULL, ERR_MEM_ALLOC_FAIL);
    s->ids = v;
    s->ids[s->n_ids++] = id;
    return OK;
}

/* Copy and check the chain's DER; the leaf is parsed and kept. */
static MSTATUS identity_certs(struct nk_identity *id, const SizedBuffer *certs, ubyte4 n)
{
    id->chain = calloc(n, sizeof(*id->chain));
    NK_CHECK(id->chain != NULL, ERR_MEM_ALLOC_FAIL);
    for (ubyte4 i = 0; i < n; i++) {
        NK_CHECK(certs[i].data != NULL, ERR_NULL_POINTER);
        X509 *x = nk_x509_from_der(certs[i].data, certs[i].length);
        NK_CHECK(x != NULL, ERR_CERT_DECODE);
        if (i == 0)
            id->leaf = x;
        else
            X509_free(x);
        id->chain[i].p = malloc(certs[i].length);
        NK_CHECK(id->chain[i].p != NULL, ERR_MEM_ALLOC_FAIL);
        memcpy(id->chain[i].p, certs[i].data, certs[i].length);
        id->chain[i].len = certs[i].length;
        id->chain_len = i + 1;
    }
    return OK;
}

static MSTATUS identity_build(struct nk_identity *id, const SizedBuffer *certs, ubyte4 n,
                              const ubyte *blob, ubyte4 blob_len)
{
    NK_TRY(identity_certs(id, certs, n));
    NK_TRY(nk_key_blob_decode(blob, blob_len, &id->key));
    id->type = nk_key_type_of(id->key);
    NK_CHECK(id->type != NK_KEY_NONE, ERR_CERT_UNSUPPORTED_KEY);
    /* The key must be the one the leaf certifies, or every CertificateVerify we
     * sign would fail at the peer. */
    EVP_PKEY *pub = X509_get0_pubkey(id->leaf);
    NK_CHECK(pub != NULL, ERR_CERT_UNSUPPORTED_KEY);
    NK_CHECK(EVP_PKEY_eq(pub, id->key) == 1, ERR_CERT_KEY_MISMATCH);
    warm_cert(id->leaf);
    return nk_identity_prepare(id);
}

NK_API MSTATUS CERT_STORE_addIdentityWithCertificateChain(certStorePtr pStore, SizedBuffer *pCerts,
                                                          ubyte4 numCerts, const ubyte *pKeyBlob,
                                                          ubyte4 keyBlobLength)
{
    NK_CHECK(pStore != NULL && pCerts != NULL && pKeyBlob != NULL, ERR_NULL_POINTER);
    NK_CHECK(numCerts > 0, ERR_INVALID_ARG);
    struct nk_identity *id = calloc(1, sizeof(*id));
    NK_CHECK(id != NULL, ERR_MEM_ALLOC_FAIL);
    ERR_set_mark();
    MSTATUS st = identity_build(id, pCerts, numCerts, pKeyBlob, keyBlobLength);
    ERR_pop_to_mark();
    for (ubyte4 i = 0; st == OK && i < numCerts; i++)
        st = ctx_mix(pStore, 'i', pCerts[i].data, pCerts[i].length);
    if (st == OK)
        st = identity_append(pStore, id);
    if (st != OK)
        identity_free(id);
    return st;
}

/* An identity whose private key stays with the application
 * (api/client_auth.c): funcPtrMutualAuthCertificateVerify signs for it; the
 * key kept is the leaf's public one. */
MSTATUS nk_store_add_external_identity(struct certStore *s, const SizedBuffer *certs, ubyte4 n)
{
    NK_CHECK(s != NULL && certs != NULL, ERR_NULL_POINTER);
    NK_CHECK(n > 0, ERR_INVALID_ARG);
    struct nk_identity *id = calloc(1, sizeof(*id));
    NK_CHECK(id != NULL, ERR_MEM_ALLOC_FAIL);
    ERR_set_mark();
    MSTATUS st = identity_certs(id, certs, n);
    if (st == OK) {
        id->key = X509_get_pubkey(id->leaf);   /* a reference of its own */
        id->type = id->key ? nk_key_type_of(id->key) : NK_KEY_NONE;
        id->external = 1;
        st = id->type != NK_KEY_NONE ? nk_identity_prepare(id) : ERR_CERT_UNSUPPORTED_KEY;
    }
    ERR_pop_to_mark();
    if (st == OK)
        st = identity_append(s, id);
    if (st != OK)
        identity_free(id);
    return st;
}

NK_API MSTATUS CERT_STORE_addIdentity(certStorePtr pStore, const ubyte *pDerCert, ubyte4 derCertLength,
                                      const ubyte *pKeyBlob, ubyte4 keyBlobLength)
{
    NK_CHECK(pDerCert != NULL, ERR_NULL_POINTER);
    SizedBuffer leaf = { derCertLength, NULL, (ubyte *)pDerCert };
    return CERT_STORE_addIdentityWithCertificateChain(pStore, &leaf, 1, pKeyBlob, keyBlobLength);
}

static MSTATUS copy_field(const ubyte *src, size_t n, uint8_t **dst, size_t *dst_len)
{
    *dst = malloc(n ? n : 1);
    NK_CHECK(*dst != NULL, ERR_MEM_ALLOC_FAIL);
    memcpy(*dst, src, n);
    *dst_len = n;
    return OK;
}

NK_API MSTATUS CERT_STORE_addIdentityPSK(certStorePtr pStore, const ubyte *pPskIdentity,
                                         ubyte4 pskIdentityLength, const ubyte *pPskHint,
                                         ubyte4 pskHintLength, const ubyte *pPskSecret,
                                         ubyte4 pskSecretLength)
{
    NK_CHECK(pStore != NULL && pPskIdentity != NULL && pPskSecret != NULL, ERR_NULL_POINTER);
    NK_CHECK(pskIdentityLength >= 1 && pskIdentityLength <= PSK_MAX_IDENTITY, ERR_INVALID_ARG);
    NK_CHECK(pskSecretLength >= 1 && pskSecretLength <= PSK_MAX_SECRET, ERR_INVALID_ARG);
    NK_CHECK(pskHintLength <= PSK_MAX_HINT, ERR_INVALID_ARG);
    NK_CHECK(pPskHint != NULL || pskHintLength == 0, ERR_NULL_POINTER);
    NK_CHECK(nk_store_find_psk(pStore, pPskIdentity, pskIdentityLength) == NULL, ERR_INVALID_ARG);

    struct nk_psk_identity *v = realloc(pStore->psks, (pStore->n_psks + 1) * sizeof(*v));
    NK_CHECK(v != NULL, ERR_MEM_ALLOC_FAIL);
    pStore->psks = v;

    struct nk_psk_identity p = { 0 };
    MSTATUS st = copy_field(pPskIdentity, pskIdentityLength, &p.id, &p.id_len);
    if (st == OK && pskHintLength > 0)
        st = copy_field(pPskHint, pskHintLength, &p.hint, &p.hint_len);
    if (st == OK)
        st = copy_field(pPskSecret, pskSecretLength, &p.secret, &p.secret_len);
    if (st != OK) {
        psk_free(&p);
        return st;
    }
    pStore->psks[pStore->n_psks++] = p;
    return OK;
}
