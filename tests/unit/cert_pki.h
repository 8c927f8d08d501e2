/* cert_pki.h — the keys and certificates test_cert.c works on, made with libcrypto
 * once, before main(): the forked test cases inherit them. Included by
 * test_cert.c only.
 *
 *   root (P-256, trusted) ─ inter (RSA-2048) ─ one leaf per key type, and the
 *                                             odd ones: expired, not yet valid,
 *                                             wildcard, IP, CN-only, SHA-1 …
 *                         ─ inter_small (RSA-1024) ─ under_small
 *   other_root (Ed25519, untrusted) ─ other_leaf;  self_signed (untrusted) */
#ifndef TEST_CERT_PKI_H
#define TEST_CERT_PKI_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include "handshake/store.h"
#include "api/keyblob.h"
#include "crypto/ca_mgmt.h"
#include "crypto/cert_store.h"

#define DAY (24L * 3600)

enum { K_RSA, K_RSA_PSS, K_P256, K_P384, K_P521, K_ED25519, K_ED448, K_RSA1024, K_COUNT };

static const char *const key_host[K_COUNT] = {
    "rsa.example.com", "pss.example.com", "p256.example.com", "p384.example.com",
    "p521.example.com", "ed25519.example.com", "ed448.example.com", "rsa1024.example.com",
};
static const enum nk_key_type key_type[K_COUNT] = {
    NK_KEY_RSA, NK_KEY_RSA_PSS, NK_KEY_EC_P256, NK_KEY_EC_P384, NK_KEY_EC_P521,
    NK_KEY_ED25519, NK_KEY_ED448, NK_KEY_RSA,
};

static struct {
    time_t now;
    EVP_PKEY *key[K_COUNT], *root_key, *inter_key, *other_key;
    X509 *root, *inter, *inter_small, *other_root, *other_leaf, *leaf[K_COUNT];
    X509 *expired, *notyet, *wildcard, *ip, *cn_only, *san_cn, *sha1, *self_signed;
    X509 *server_only, *under_small, *bad_sig;
    /* P-256 leaves whose usage forbids TLS signing in some role (RFC 8446
     * §4.4.2.2): keyUsage keyEncipherment only; EKU clientAuth only; and
     * EKU anyExtendedKeyUsage, which allows both roles. */
    X509 *ku_encipher, *client_only, *any_eku;
    certStorePtr store;      /* trusts root */
    certStorePtr id_store;   /* identities: RSA, P-256, Ed25519, wildcard, RSA-1024 */
} pki;

struct spec {
    const char *cn;
    const char *san;     /* subjectAltName in config syntax, or NULL */
    int ca;
    long from, to;       /* validity, seconds from now */
    const EVP_MD *md;    /* NULL: SHA-256 (none for EdDSA issuers) */
    const char *eku;
    const char *ku;      /* keyUsage in config syntax; NULL: the usual one */
};

static EVP_PKEY *gen_rsa_pss(void)
{
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) != 1 || EVP_PKEY_keygen(ctx, &key) != 1)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    return key;
}

static EVP_PKEY *gen_key(int k)
{
    switch (k) {
    case K_RSA: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    case K_RSA_PSS: return gen_rsa_pss();
    case K_P256: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    case K_P384: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    case K_P521: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    case K_ED25519: return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    case K_ED448: return EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    case K_RSA1024: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    default: return NULL;
    }
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok = e != NULL && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

static int set_name(X509_NAME *n, const char *cn)
{
    return X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"DE", -1, -1, 0) &&
           X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                                      (const unsigned char *)"nktls test", -1, -1, 0) &&
           X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
}

static int add_exts(X509 *x, X509 *issuer, const struct spec *sp)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    return add_ext(x, &ctx, NID_basic_constraints, sp->ca ? "critical,CA:TRUE" : "CA:FALSE") &&
           add_ext(x, &ctx, NID_key_usage, sp->ku ? sp->ku
                                           : sp->ca ? "critical,keyCertSign,cRLSign"
                                                    : "critical,digitalSignature") &&
           add_ext(x, &ctx, NID_subject_key_identifier, "hash") &&
           (!issuer || add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always")) &&
           (!sp->san || add_ext(x, &ctx, NID_subject_alt_name, sp->san)) &&
           (!sp->eku || add_ext(x, &ctx, NID_ext_key_usage, sp->eku));
}

/* A certificate for key, issued by issuer/issuer_key (NULL: self-signed). */
static X509 *make_cert(EVP_PKEY *key, const struct spec *sp, X509 *issuer, EVP_PKEY *issuer_key)
{
    static long serial = 1;
    X509 *x = X509_new();
    EVP_PKEY *signer = issuer ? issuer_key : key;
    int ed = EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED25519 ||
             EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED448;
    int ok = x != NULL && X509_set_version(x, X509_VERSION_3) &&
             ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) &&
             X509_time_adj_ex(X509_getm_notBefore(x), 0, sp->from, &pki.now) &&
             X509_time_adj_ex(X509_getm_notAfter(x), 0, sp->to, &pki.now) &&
             set_name(X509_get_subject_name(x), sp->cn) &&
             X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer)
                                            : X509_get_subject_name(x)) &&
             X509_set_pubkey(x, key) && add_exts(x, issuer, sp) &&
             X509_sign(x, signer, ed ? NULL : sp->md ? sp->md : EVP_sha256()) > 0;
    if (!ok) {
        fprintf(stderr, "cert_pki: cannot make %s\n", sp->cn);
        X509_free(x);
        exit(1);
    }
    return x;
}

static X509 *leaf_cert(EVP_PKEY *key, const char *cn, const char *san)
{
    /* RSA leaves may also take a TLS 1.2 RSA key transport (RFC 5246 §7.4.2:
     * keyEncipherment), as scripts/gen-certs makes them. */
    const char *ku = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? "critical,digitalSignature,keyEncipherment" : NULL;
    struct spec sp = { cn, san, 0, -DAY, 365 * DAY, NULL, NULL, ku };
    return make_cert(key, &sp, pki.inter, pki.inter_key);
}

/* A copy of x with one bit of its signature flipped. */
static X509 *corrupt_signature(X509 *x)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    der[n - 1] ^= 0x01;
    X509 *bad = nk_x509_from_der(der, (size_t)n);
    OPENSSL_free(der);
    return bad;
}

/* PEM text (malloc'd) of a private key, PKCS#8 or traditional, or a certificate. */
static __attribute__((unused)) char *key_pem(EVP_PKEY *k, int traditional, size_t *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data, *out = NULL;
    int ok = traditional ? PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL)
                         : PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    long len = BIO_get_mem_data(b, &data);
    if (ok == 1 && len > 0 && (out = malloc((size_t)len + 1)) != NULL) {
        memcpy(out, data, (size_t)len);
        out[len] = '\0';
        *n = (size_t)len;
    }
    BIO_free(b);
    return out;
}

static __attribute__((unused)) char *cert_pem(X509 *x, size_t *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *d, *out;
    PEM_write_bio_X509(b, x);
    long len = BIO_get_mem_data(b, &d);
    out = malloc((size_t)len + 1);
    memcpy(out, d, (size_t)len);
    out[len] = '\0';
    *n = (size_t)len;
    BIO_free(b);
    return out;
}

static MSTATUS blob_of(EVP_PKEY *k, ubyte **blob, ubyte4 *len)
{
    uint8_t *p;
    size_t n;
    MSTATUS st = nk_key_blob_encode(k, &p, &n);
    if (st == OK) {
        *blob = p;
        *len = (ubyte4)n;
    }
    return st;
}

static void add_id(X509 *x, EVP_PKEY *key)
{
    unsigned char *der = NULL;
    ubyte *blob;
    ubyte4 bl;
    int n = i2d_X509(x, &der);
    if (blob_of(key, &blob, &bl) != OK ||
        CERT_STORE_addIdentity(pki.id_store, der, (ubyte4)n, blob, bl) != OK) {
        fprintf(stderr, "cert_pki: cannot add identity\n");
        exit(1);
    }
    CA_MGMT_freeKeyBlob(&blob);
    OPENSSL_free(der);
}

static void make_stores(void)
{
    unsigned char *der = NULL;
    int n = i2d_X509(pki.root, &der);
    if (CERT_STORE_createStore(&pki.store) != OK ||
        CERT_STORE_addTrustPoint(pki.store, der, (ubyte4)n) != OK ||
        CERT_STORE_createStore(&pki.id_store) != OK) {
        fprintf(stderr, "cert_pki: cannot make the stores\n");
        exit(1);
    }
    OPENSSL_free(der);
    add_id(pki.leaf[K_RSA], pki.key[K_RSA]);
    add_id(pki.leaf[K_P256], pki.key[K_P256]);
    add_id(pki.leaf[K_ED25519], pki.key[K_ED25519]);
    add_id(pki.wildcard, pki.key[K_P256]);
    add_id(pki.leaf[K_RSA1024], pki.key[K_RSA1024]);
}

static void make_leaves(void)
{
    char san[128];
    for (int k = 0; k < K_COUNT; k++) {
        snprintf(san, sizeof(san), "DNS:%s", key_host[k]);
        pki.leaf[k] = leaf_cert(pki.key[k], key_host[k], san);
    }
    EVP_PKEY *ec = pki.key[K_P256];
    struct spec expired = { "expired.example.com", "DNS:expired.example.com", 0,
                            -730 * DAY, -365 * DAY, NULL, NULL };
    struct spec notyet = { "notyet.example.com", "DNS:notyet.example.com", 0,
                           365 * DAY, 730 * DAY, NULL, NULL };
    struct spec sha1 = { "sha1.example.com", "DNS:sha1.example.com", 0, -DAY, 365 * DAY,
                         EVP_sha1(), NULL };
    struct spec eku = { "eku.example.com", "DNS:eku.example.com", 0, -DAY, 365 * DAY, NULL,
                        "serverAuth" };
    struct spec self = { "self.example.com", "DNS:self.example.com", 0, -DAY, 365 * DAY,
                         NULL, NULL };
    struct spec small = { "under-small.example.com", "DNS:under-small.example.com", 0, -DAY,
                          365 * DAY, NULL, NULL };
    pki.expired = make_cert(ec, &expired, pki.inter, pki.inter_key);
    pki.notyet = make_cert(ec, &notyet, pki.inter, pki.inter_key);
    pki.sha1 = make_cert(ec, &sha1, pki.inter, pki.inter_key);
    pki.server_only = make_cert(ec, &eku, pki.inter, pki.inter_key);
    struct spec ku_enc = { "kuenc.example.com", "DNS:kuenc.example.com", 0, -DAY, 365 * DAY, NULL,
                           NULL, "critical,keyEncipherment" };
    struct spec client_only = { "clientonly.example.com", "DNS:clientonly.example.com", 0, -DAY,
                                365 * DAY, NULL, "clientAuth", NULL };
    struct spec any_eku = { "anyeku.example.com", "DNS:anyeku.example.com", 0, -DAY, 365 * DAY,
                            NULL, "anyExtendedKeyUsage", NULL };
    pki.ku_encipher = make_cert(ec, &ku_enc, pki.inter, pki.inter_key);
    pki.client_only = make_cert(ec, &client_only, pki.inter, pki.inter_key);
    pki.any_eku = make_cert(ec, &any_eku, pki.inter, pki.inter_key);
    pki.self_signed = make_cert(ec, &self, NULL, NULL);
    pki.under_small = make_cert(ec, &small, pki.inter_small, pki.key[K_RSA1024]);
    pki.wildcard = leaf_cert(ec, "wild", "DNS:*.wild.example.com");
    pki.ip = leaf_cert(ec, "ip", "IP:192.0.2.7, IP:2001:db8::7");
    pki.cn_only = leaf_cert(ec, "cn.example.com", NULL);
    pki.san_cn = leaf_cert(ec, "cnx.example.com", "DNS:san.example.com");
    pki.other_leaf = make_cert(ec, &self, pki.other_root, pki.other_key);
    pki.bad_sig = corrupt_signature(pki.leaf[K_RSA]);
}

static void __attribute__((constructor)) pki_make(void)
{
    struct spec root = { "nktls test root", NULL, 1, -1100 * DAY, 1100 * DAY, NULL, NULL };
    struct spec inter = { "nktls test intermediate", NULL, 1, -1000 * DAY, 1000 * DAY, NULL, NULL };
    struct spec small = { "nktls test small intermediate", NULL, 1, -DAY, 365 * DAY, NULL, NULL };
    struct spec other = { "other root", NULL, 1, -DAY, 365 * DAY, NULL, NULL };

    pki.now = time(NULL);
    for (int k = 0; k < K_COUNT; k++)
        pki.key[k] = gen_key(k);
    pki.root_key = gen_key(K_P256);
    pki.inter_key = gen_key(K_RSA);
    pki.other_key = gen_key(K_ED25519);
    for (int k = 0; k < K_COUNT; k++)
        if (pki.key[k] == NULL || !pki.root_key || !pki.inter_key || !pki.other_key) {
            fprintf(stderr, "cert_pki: key generation failed\n");
            exit(1);
        }
    pki.root = make_cert(pki.root_key, &root, NULL, NULL);
    pki.inter = make_cert(pki.inter_key, &inter, pki.root, pki.root_key);
    pki.inter_small = make_cert(pki.key[K_RSA1024], &small, pki.root, pki.root_key);
    pki.other_root = make_cert(pki.other_key, &other, NULL, NULL);
    make_leaves();
    make_stores();
}

static void __attribute__((destructor)) pki_free(void)
{
    X509 **certs[] = { &pki.root, &pki.inter, &pki.inter_small, &pki.other_root, &pki.other_leaf,
                       &pki.expired, &pki.notyet, &pki.wildcard, &pki.ip, &pki.cn_only,
                       &pki.san_cn, &pki.sha1, &pki.self_signed, &pki.server_only,
                       &pki.under_small, &pki.bad_sig, &pki.ku_encipher, &pki.client_only,
                       &pki.any_eku };
    CERT_STORE_releaseStore(&pki.store);
    CERT_STORE_releaseStore(&pki.id_store);
    for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
        X509_free(*certs[i]);
    for (int k = 0; k < K_COUNT; k++) {
        X509_free(pki.leaf[k]);
        EVP_PKEY_free(pki.key[k]);
    }
    EVP_PKEY_free(pki.root_key);
    EVP_PKEY_free(pki.inter_key);
    EVP_PKEY_free(pki.other_key);
    memset(&pki, 0, sizeof(pki));
}

#endif
