/* api/ca_mgmt.c — CA_MGMT_*: PEM/DER certificates, private keys and the nktls key
 * blob, certificate name and date queries. Every public entry point brackets its
 * libcrypto calls with ERR_set_mark/ERR_pop_to_mark: a failed decode must not leave
 * entries on the application's thread error queue (errors are values here). */
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "core/nk.h"
#include "handshake/store.h"
#include "api/keyblob.h"
#include "crypto/ca_mgmt.h"

#define PEM_KEY_BEGIN "-----BEGIN PRIVATE KEY-----\n"
#define PEM_KEY_END   "-----END PRIVATE KEY-----\n"

/* ---- key blobs, shared with cert_store.c ---- */

static EVP_PKEY *key_from_der(const uint8_t *der, size_t len)
{
    if (len == 0 || len > LONG_MAX)
        return NULL;
    const unsigned char *p = der;
    EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, (long)len);
    if (k != NULL && p != der + len) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Check a key blob's header; on success *p8 points at its PKCS#8 DER. */
static MSTATUS blob_parse(const uint8_t *blob, size_t len, enum nk_key_type *type,
                          const uint8_t **p8, size_t *p8_len)
{
    NK_CHECK(blob != NULL, ERR_NULL_POINTER);
    NK_CHECK(len > NK_KEYBLOB_HDR && memcmp(blob, NK_KEYBLOB_MAGIC, 4) == 0,
             ERR_CERT_BAD_KEY_BLOB);
    NK_CHECK(blob[4] == NK_KEYBLOB_VERSION && blob[6] == 0 && blob[7] == 0,
             ERR_CERT_BAD_KEY_BLOB);
    NK_CHECK(get_be32(blob + 8) == len - NK_KEYBLOB_HDR, ERR_CERT_BAD_KEY_BLOB);
    NK_CHECK(blob[5] != NK_KEY_NONE && blob[5] <= NK_KEY_DSA, ERR_CERT_BAD_KEY_BLOB);
    *type = (enum nk_key_type)blob[5];
    *p8 = blob + NK_KEYBLOB_HDR;
    *p8_len = len - NK_KEYBLOB_HDR;
    return OK;
}

MSTATUS nk_key_blob_decode(const uint8_t *blob, size_t len, EVP_PKEY **key)
{
    enum nk_key_type type;
    const uint8_t *p8;
    size_t p8_len;

    NK_CHECK(blob != NULL && key != NULL, ERR_NULL_POINTER);
    *key = NULL;
    if (len >= 4 && memcmp(blob, NK_KEYBLOB_MAGIC, 4) == 0) {
        NK_TRY(blob_parse(blob, len, &type, &p8, &p8_len));
        EVP_PKEY *k = key_from_der(p8, p8_len);
        NK_CHECK(k != NULL, ERR_CERT_BAD_KEY_BLOB);
        if (nk_key_type_of(k) != type) {   /* header and contents disagree */
            EVP_PKEY_free(k);
            return ERR_CERT_BAD_KEY_BLOB;
        }
        *key = k;
        return OK;
    }
    /* Not a blob: a DER key, for applications that skip the conversion. */
    EVP_PKEY *k = key_from_der(blob, len);
    NK_CHECK(k != NULL, ERR_CERT_BAD_KEY_BLOB);
    if (nk_key_type_of(k) == NK_KEY_NONE) {
        EVP_PKEY_free(k);
        return ERR_CERT_UNSUPPORTED_KEY;
    }
    *key = k;
    return OK;
}

MSTATUS nk_key_blob_encode(EVP_PKEY *key, uint8_t **blob, size_t *len)
{
    enum nk_key_type type = nk_key_type_of(key);
    NK_CHECK(type != NK_KEY_NONE, ERR_CERT_UNSUPPORTED_KEY);

    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
    NK_CHECK(p8 != NULL, ERR_CERT_BAD_KEY_BLOB);
    int n = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL);
    if (n <= 0) {
        PKCS8_PRIV_KEY_INFO_free(p8);
        return ERR_CRYPTO;
    }
    /* Encode straight into our buffer so no other copy of the key is left behind. */
    uint8_t *b = malloc(NK_KEYBLOB_HDR + (size_t)n);
    if (b == NULL) {
        PKCS8_PRIV_KEY_INFO_free(p8);
        return ERR_MEM_ALLOC_FAIL;
    }
    memcpy(b, NK_KEYBLOB_MAGIC, 4);
    b[4] = NK_KEYBLOB_VERSION;
    b[5] = (uint8_t)type;
    b[6] = b[7] = 0;
    b[8] = (uint8_t)(n >> 24);
    b[9] = (uint8_t)(n >> 16);
    b[10] = (uint8_t)(n >> 8);
    b[11] = (uint8_t)n;
    unsigned char *w = b + NK_KEYBLOB_HDR;
    int m = i2d_PKCS8_PRIV_KEY_INFO(p8, &w);   /* PKCS8_PRIV_KEY_INFO_free wipes p8 */
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (m != n) {
        nk_wipe(b, NK_KEYBLOB_HDR + (size_t)n);
        free(b);
        return ERR_CRYPTO;
    }
    *blob = b;
    *len = NK_KEYBLOB_HDR + (size_t)n;
    return OK;
}

/* ---- certificates ---- */

static MSTATUS dup_bytes(const void *p, size_t n, ubyte **out, ubyte4 *out_len)
{
    NK_CHECK(n <= UINT32_MAX, ERR_INVALID_ARG);
    ubyte *b = malloc(n ? n : 1);
    NK_CHECK(b != NULL, ERR_MEM_ALLOC_FAIL);
    memcpy(b, p, n);
    *out = b;
    *out_len = (ubyte4)n;
    return OK;
}

static int is_cert_pem_name(const char *name)
{
    return strcmp(name, PEM_STRING_X509) == 0 || strcmp(name, PEM_STRING_X509_OLD) == 0;
}

/* Walk the CERTIFICATE blocks of a PEM text; fn(ctx, der, len) for each one
 * that decodes. Blocks of other types (keys, parameters) are skipped. */
static MSTATUS pem_for_each_cert(const ubyte *pem, ubyte4 len,
                                 MSTATUS (*fn)(void *ctx, const uint8_t *der, size_t n, int *stop),
                                 void *ctx)
{
    NK_CHECK(len <= INT_MAX, ERR_INVALID_ARG);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    NK_CHECK(bio != NULL, ERR_MEM_ALLOC_FAIL);

    MSTATUS st = OK;
    int stop = 0;
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long n = 0;
    while (!stop && st == OK && PEM_read_bio(bio, &name, &header, &data, &n) == 1) {
        if (is_cert_pem_name(name)) {
            X509 *x = nk_x509_from_der(data, (size_t)n);
            if (x == NULL)
                st = ERR_CERT_DECODE;
            else
                st = fn(ctx, data, (size_t)n, &stop);
            X509_free(x);
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
    }
    BIO_free(bio);
    return st;
}

struct first_cert {
    ubyte *der;
    ubyte4 len;
};

static MSTATUS take_first(void *ctx, const uint8_t *der, size_t n, int *stop)
{
    struct first_cert *f = ctx;
    *stop = 1;
    return dup_bytes(der, n, &f->der, &f->len);
}

static MSTATUS decode_certificate(const ubyte *pem, ubyte4 len, ubyte **der, ubyte4 *der_len)
{
    NK_CHECK(pem != NULL && der != NULL && der_len != NULL, ERR_NULL_POINTER);
    *der = NULL;
    *der_len = 0;

    X509 *x = nk_x509_from_der(pem, len);   /* already DER: copy it */
    if (x != NULL) {
        X509_free(x);
        return dup_bytes(pem, len, der, der_len);
    }
    struct first_cert f = { NULL, 0 };
    NK_TRY(pem_for_each_cert(pem, len, take_first, &f));
    NK_CHECK(f.der != NULL, ERR_CERT_DECODE);
    *der = f.der;
    *der_len = f.len;
    return OK;
}

NK_API MSTATUS CA_MGMT_decodeCertificate(const ubyte *pPem, ubyte4 pemLength,
                                         ubyte **ppDer, ubyte4 *pDerLength)
{
    ERR_set_mark();
    MSTATUS st = decode_certificate(pPem, pemLength, ppDer, pDerLength);
    ERR_pop_to_mark();
    return st;
}

struct cert_list {
    SizedBuffer *v;
    ubyte4 n, cap;
};

static MSTATUS take_all(void *ctx, const uint8_t *der, size_t n, int *stop)
{
    struct cert_list *l = ctx;
    if (l->n == l->cap) {
        ubyte4 cap = l->cap ? l->cap * 2 : 4;
        SizedBuffer *v = realloc(l->v, cap * sizeof(*v));
        NK_CHECK(v != NULL, ERR_MEM_ALLOC_FAIL);
        l->v = v;
        l->cap = cap;
    }
    SizedBuffer *b = &l->v[l->n];
    NK_TRY(dup_bytes(der, n, &b->data, &b->length));
    b->pHeader = b->data;
    l->n++;
    return OK;
}

NK_API MSTATUS CA_MGMT_freeCertificateChain(SizedBuffer *pCerts, ubyte4 numCerts)
{
    if (pCerts == NULL)
        return OK;
    for (ubyte4 i = 0; i < numCerts; i++)
        free(pCerts[i].pHeader ? pCerts[i].pHeader : pCerts[i].data);
    free(pCerts);
    return OK;
}

NK_API MSTATUS CA_MGMT_decodeCertificateChain(const ubyte *pPem, ubyte4 pemLength,
                                              SizedBuffer **ppCerts, ubyte4 *pNumCerts)
{
    NK_CHECK(pPem != NULL && ppCerts != NULL && pNumCerts != NULL, ERR_NULL_POINTER);
    *ppCerts = NULL;
    *pNumCerts = 0;

    struct cert_list l = { NULL, 0, 0 };
    ERR_set_mark();
    MSTATUS st = pem_for_each_cert(pPem, pemLength, take_all, &l);
    ERR_pop_to_mark();
    if (st == OK && l.n == 0)
        st = ERR_CERT_DECODE;
    if (st != OK) {
        CA_MGMT_freeCertificateChain(l.v, l.n);
        return st;
    }
    *ppCerts = l.v;
    *pNumCerts = l.n;
    return OK;
}

NK_API MSTATUS CA_MGMT_freeCertificate(certDescriptor *pCertDescr)
{
    NK_CHECK(pCertDescr != NULL, ERR_NULL_POINTER);
    free(pCertDescr->pCertificate);
    CA_MGMT_freeKeyBlob(&pCertDescr->pKeyBlob);
    pCertDescr->pCertificate = NULL;
    pCertDescr->certLength = 0;
    pCertDescr->keyBlobLength = 0;
    return OK;
}

/* ---- private keys ---- */

/* Never prompt on a terminal for an encrypted key's password: refuse it. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf; (void)size; (void)rwflag; (void)u;
    return -1;
}

static MSTATUS key_to_blob(EVP_PKEY *k, ubyte **blob, ubyte4 *blob_len)
{
    uint8_t *b;
    size_t n;
    MSTATUS st = nk_key_blob_encode(k, &b, &n);
    EVP_PKEY_free(k);
    NK_TRY(st);
    if (n > UINT32_MAX) {
        nk_wipe(b, n);
        free(b);
        return ERR_INVALID_ARG;
    }
    *blob = b;
    *blob_len = (ubyte4)n;
    return OK;
}

static MSTATUS convert_key_pem(const ubyte *pem, ubyte4 len, ubyte **blob, ubyte4 *blob_len)
{
    NK_CHECK(pem != NULL && blob != NULL && blob_len != NULL, ERR_NULL_POINTER);
    NK_CHECK(len <= INT_MAX, ERR_INVALID_ARG);
    *blob = NULL;
    *blob_len = 0;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    NK_CHECK(bio != NULL, ERR_MEM_ALLOC_FAIL);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    BIO_free(bio);
    NK_CHECK(k != NULL, ERR_CERT_BAD_KEY_BLOB);
    return key_to_blob(k, blob, blob_len);
}

NK_API MSTATUS CA_MGMT_convertKeyPEM(const ubyte *pPemKey, ubyte4 pemKeyLength,
                                     ubyte **ppKeyBlob, ubyte4 *pKeyBlobLength)
{
    ERR_set_mark();
    MSTATUS st = convert_key_pem(pPemKey, pemKeyLength, ppKeyBlob, pKeyBlobLength);
    ERR_pop_to_mark();
    return st;
}

static MSTATUS convert_key_der(const ubyte *der, ubyte4 len, ubyte **blob, ubyte4 *blob_len)
{
    NK_CHECK(der != NULL && blob != NULL && blob_len != NULL, ERR_NULL_POINTER);
    *blob = NULL;
    *blob_len = 0;
    EVP_PKEY *k = key_from_der(der, len);
    NK_CHECK(k != NULL, ERR_CERT_BAD_KEY_BLOB);
    return key_to_blob(k, blob, blob_len);
}

NK_API MSTATUS CA_MGMT_convertKeyDER(const ubyte *pDerKey, ubyte4 derKeyLength,
                                     ubyte **ppKeyBlob, ubyte4 *pKeyBlobLength)
{
    ERR_set_mark();
    MSTATUS st = convert_key_der(pDerKey, derKeyLength, ppKeyBlob, pKeyBlobLength);
    ERR_pop_to_mark();
    return st;
}

/* The blob's PKCS#8 part, after checking that it really decodes to its key type. */
static MSTATUS blob_pkcs8(const ubyte *blob, ubyte4 len, const uint8_t **p8, size_t *p8_len)
{
    EVP_PKEY *k;
    enum nk_key_type type;
    NK_TRY(blob_parse(blob, len, &type, p8, p8_len));
    NK_TRY(nk_key_blob_decode(blob, len, &k));
    EVP_PKEY_free(k);
    return OK;
}

NK_API MSTATUS CA_MGMT_keyBlobToDER(const ubyte *pKeyBlob, ubyte4 keyBlobLength,
                                    ubyte **ppDerKey, ubyte4 *pDerKeyLength)
{
    const uint8_t *p8;
    size_t n;
    NK_CHECK(ppDerKey != NULL && pDerKeyLength != NULL, ERR_NULL_POINTER);
    *ppDerKey = NULL;
    *pDerKeyLength = 0;
    ERR_set_mark();
    MSTATUS st = blob_pkcs8(pKeyBlob, keyBlobLength, &p8, &n);
    ERR_pop_to_mark();
    NK_TRY(st);
    return dup_bytes(p8, n, ppDerKey, pDerKeyLength);
}

NK_API MSTATUS CA_MGMT_keyBlobToPEM(const ubyte *pKeyBlob, ubyte4 keyBlobLength,
                                    ubyte **ppPemKey, ubyte4 *pPemKeyLength)
{
    const uint8_t *p8;
    size_t n;
    NK_CHECK(ppPemKey != NULL && pPemKeyLength != NULL, ERR_NULL_POINTER);
    *ppPemKey = NULL;
    *pPemKeyLength = 0;
    ERR_set_mark();
    MSTATUS st = blob_pkcs8(pKeyBlob, keyBlobLength, &p8, &n);
    ERR_pop_to_mark();
    NK_TRY(st);

    /* Base64 by hand, 48 input bytes per 64-character line (RFC 7468 §2), straight
     * into the output: no intermediate buffer holds the key. */
    size_t lines = (n + 47) / 48;
    size_t cap = strlen(PEM_KEY_BEGIN) + lines * 65 + strlen(PEM_KEY_END) + 1;
    NK_CHECK(cap <= UINT32_MAX, ERR_INVALID_ARG);
    char *out = malloc(cap);
    NK_CHECK(out != NULL, ERR_MEM_ALLOC_FAIL);
    char *w = out;
    memcpy(w, PEM_KEY_BEGIN, strlen(PEM_KEY_BEGIN));
    w += strlen(PEM_KEY_BEGIN);
    for (size_t off = 0; off < n; off += 48) {
        size_t chunk = n - off < 48 ? n - off : 48;
        w += EVP_EncodeBlock((unsigned char *)w, p8 + off, (int)chunk);
        *w++ = '\n';
    }
    memcpy(w, PEM_KEY_END, strlen(PEM_KEY_END));
    w += strlen(PEM_KEY_END);
    *w = '\0';
    *ppPemKey = (ubyte *)out;
    *pPemKeyLength = (ubyte4)(w - out);
    return OK;
}

NK_API MSTATUS CA_MGMT_freeKeyBlob(ubyte **ppKeyBlob)
{
    NK_CHECK(ppKeyBlob != NULL, ERR_NULL_POINTER);
    if (*ppKeyBlob != NULL) {
        /* The whole allocation, since callers do not pass the length. */
        nk_wipe(*ppKeyBlob, malloc_usable_size(*ppKeyBlob));
        free(*ppKeyBlob);
        *ppKeyBlob = NULL;
    }
    return OK;
}

/* ---- names, dates, public key ---- */

static MSTATUS dup_cstr(const char *s, size_t n, sbyte **out)
{
    char *c = malloc(n + 1);
    NK_CHECK(c != NULL, ERR_MEM_ALLOC_FAIL);
    memcpy(c, s, n);
    c[n] = '\0';
    *out = (sbyte *)c;
    return OK;
}

static MSTATUS name_attr(const X509_NAME *name, int nid, sbyte **out)
{
    int i = X509_NAME_get_index_by_NID(name, nid, -1);
    if (i < 0)
        return OK;
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, s);
    NK_CHECK(n >= 0, ERR_CERT_DECODE);
    MSTATUS st = dup_cstr((const char *)utf8, (size_t)n, out);
    OPENSSL_free(utf8);
    return st;
}

static MSTATUS time_str(const ASN1_TIME *t, sbyte **out)
{
    struct tm tm;
    char buf[32];
    NK_CHECK(t != NULL && ASN1_TIME_to_tm(t, &tm) == 1, ERR_CERT_DECODE);
    size_t n = strftime(buf, sizeof(buf), "%Y%m%d%H%M%SZ", &tm);
    NK_CHECK(n > 0, ERR_CERT_DECODE);
    return dup_cstr(buf, n, out);
}

static MSTATUS fill_dn(const X509 *x, int subject, certDistinguishedName *dn)
{
    const X509_NAME *name = subject ? X509_get_subject_name(x) : X509_get_issuer_name(x);
    NK_TRY(time_str(X509_get0_notBefore(x), &dn->pStartDate));
    NK_TRY(time_str(X509_get0_notAfter(x), &dn->pEndDate));
    NK_TRY(name_attr(name, NID_commonName, &dn->pCommonName));
    NK_TRY(name_attr(name, NID_organizationName, &dn->pOrganization));
    NK_TRY(name_attr(name, NID_organizationalUnitName, &dn->pOrganizationalUnit));
    NK_TRY(name_attr(name, NID_localityName, &dn->pLocality));
    NK_TRY(name_attr(name, NID_stateOrProvinceName, &dn->pStateOrProvince));
    NK_TRY(name_attr(name, NID_countryName, &dn->pCountry));
    NK_TRY(name_attr(name, NID_pkcs9_emailAddress, &dn->pEmailAddress));
    NK_TRY(name_attr(name, NID_serialNumber, &dn->pSerialNumber));
    dn->pOneLine = (sbyte *)nk_name_oneline(name);
    NK_CHECK(dn->pOneLine != NULL, ERR_MEM_ALLOC_FAIL);
    return OK;
}

NK_API MSTATUS CA_MGMT_clearCertDistinguishedName(certDistinguishedName *pDN)
{
    NK_CHECK(pDN != NULL, ERR_NULL_POINTER);
    free(pDN->pStartDate);
    free(pDN->pEndDate);
    free(pDN->pCommonName);
    free(pDN->pOrganization);
    free(pDN->pOrganizationalUnit);
    free(pDN->pLocality);
    free(pDN->pStateOrProvince);
    free(pDN->pCountry);
    free(pDN->pEmailAddress);
    free(pDN->pSerialNumber);
    free(pDN->pOneLine);
    memset(pDN, 0, sizeof(*pDN));
    return OK;
}

NK_API MSTATUS CA_MGMT_allocCertDistinguishedName(certDistinguishedName **ppDN)
{
    NK_CHECK(ppDN != NULL, ERR_NULL_POINTER);
    *ppDN = calloc(1, sizeof(**ppDN));
    return *ppDN != NULL ? OK : ERR_MEM_ALLOC_FAIL;
}

NK_API MSTATUS CA_MGMT_freeCertDistinguishedName(certDistinguishedName **ppDN)
{
    NK_CHECK(ppDN != NULL, ERR_NULL_POINTER);
    if (*ppDN != NULL) {
        CA_MGMT_clearCertDistinguishedName(*ppDN);
        free(*ppDN);
        *ppDN = NULL;
    }
    return OK;
}

NK_API MSTATUS CA_MGMT_extractCertDistinguishedName(const ubyte *pCertificate, ubyte4 certLength,
                                                    sbyte4 isSubject, certDistinguishedName *pDN)
{
    NK_CHECK(pCertificate != NULL && pDN != NULL, ERR_NULL_POINTER);
    /* Output only: whatever *pDN held is overwritten, never read or freed, so an
     * uninitialised struct is fine. */
    memset(pDN, 0, sizeof(*pDN));
    ERR_set_mark();
    X509 *x = nk_x509_from_der(pCertificate, certLength);
    MSTATUS st = x != NULL ? fill_dn(x, isSubject, pDN) : ERR_CERT_DECODE;
    X509_free(x);
    ERR_pop_to_mark();
    if (st != OK)
        CA_MGMT_clearCertDistinguishedName(pDN);
    return st;
}

NK_API MSTATUS CA_MGMT_extractCertASN1Name(const ubyte *pCertificate, ubyte4 certLength,
                                           sbyte4 isSubject, ubyte **ppName, ubyte4 *pNameLength)
{
    NK_CHECK(pCertificate != NULL && ppName != NULL && pNameLength != NULL, ERR_NULL_POINTER);
    *ppName = NULL;
    *pNameLength = 0;
    ERR_set_mark();
    MSTATUS st = ERR_CERT_DECODE;
    X509 *x = nk_x509_from_der(pCertificate, certLength);
    if (x != NULL) {
        /* i2d of a parsed name gives back the bytes as they were received. */
        const X509_NAME *name = isSubject ? X509_get_subject_name(x) : X509_get_issuer_name(x);
        unsigned char *der = NULL;
        int n = i2d_X509_NAME(name, &der);
        st = n > 0 ? dup_bytes(der, (size_t)n, ppName, pNameLength) : ERR_CERT_DECODE;
        OPENSSL_free(der);
        X509_free(x);
    }
    ERR_pop_to_mark();
    return st;
}

NK_API MSTATUS CA_MGMT_returnPublicKey(const ubyte *pCertificate, ubyte4 certLength,
                                       ubyte **ppSpki, ubyte4 *pSpkiLength)
{
    NK_CHECK(pCertificate != NULL && ppSpki != NULL && pSpkiLength != NULL, ERR_NULL_POINTER);
    *ppSpki = NULL;
    *pSpkiLength = 0;
    ERR_set_mark();
    MSTATUS st = ERR_CERT_DECODE;
    X509 *x = nk_x509_from_der(pCertificate, certLength);
    if (x != NULL) {
        unsigned char *der = NULL;
        int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
        st = n > 0 ? dup_bytes(der, (size_t)n, ppSpki, pSpkiLength) : ERR_CERT_DECODE;
        OPENSSL_free(der);
        X509_free(x);
    }
    ERR_pop_to_mark();
    return st;
}

NK_API MSTATUS CA_MGMT_verifyCertDate(const ubyte *pCertificate, ubyte4 certLength)
{
    NK_CHECK(pCertificate != NULL, ERR_NULL_POINTER);
    ERR_set_mark();
    MSTATUS st = ERR_CERT_DECODE;
    X509 *x = nk_x509_from_der(pCertificate, certLength);
    if (x != NULL) {
        /* X509_cmp_current_time: -1 = at or before now, 1 = after now, 0 = bad time. */
        int nb = X509_cmp_current_time(X509_get0_notBefore(x));
        int na = X509_cmp_current_time(X509_get0_notAfter(x));
        if (nb == 0 || na == 0)
            st = ERR_CERT_INVALID;
        else if (nb > 0)
            st = ERR_CERT_NOT_YET_VALID;
        else if (na < 0)
            st = ERR_CERT_EXPIRED;
        else
            st = OK;
        X509_free(x);
    }
    ERR_pop_to_mark();
    return st;
}
