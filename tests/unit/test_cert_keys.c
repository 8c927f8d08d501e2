/* test_cert_keys.c — CertificateVerify signatures for every scheme × key type,
 * the key blob (PEM/DER round trips for every key type, and what it refuses), and
 * the CA_MGMT_* certificate calls. Keys and certificates are made at run time
 * (cert_pki.h). */
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "harness.h"
#include "core/nk.h"
#include "core/crypto.h"
#include "handshake/store.h"
#include "api/keyblob.h"
#include "handshake/cert.h"
#include "crypto/ca_mgmt.h"
#include "crypto/cert_store.h"
#include "unit/cert_pki.h"

/* ---- CertificateVerify signatures ---- */

static const struct { uint16_t scheme; int key; } fits[] = {
    { NK_SIG_ECDSA_SECP256R1_SHA256, K_P256 }, { NK_SIG_ECDSA_SECP384R1_SHA384, K_P384 },
    { NK_SIG_ECDSA_SECP521R1_SHA512, K_P521 }, { NK_SIG_ED25519, K_ED25519 },
    { NK_SIG_ED448, K_ED448 }, { NK_SIG_RSA_PSS_RSAE_SHA256, K_RSA },
    { NK_SIG_RSA_PSS_RSAE_SHA384, K_RSA }, { NK_SIG_RSA_PSS_RSAE_SHA512, K_RSA },
    { NK_SIG_RSA_PSS_PSS_SHA256, K_RSA_PSS }, { NK_SIG_RSA_PSS_PSS_SHA384, K_RSA_PSS },
    { NK_SIG_RSA_PSS_PSS_SHA512, K_RSA_PSS },
};

TEST(sig_scheme_lists)
{
    ASSERT_EQ(nk_sig_scheme_count, NK_ARRAY_LEN(fits));
    for (size_t i = 0; i < nk_sig_scheme_count; i++)
        EXPECT_EQ(nk_sig_schemes[i], fits[i].scheme);
    ASSERT_EQ(nk_sig_scheme_cert_count, nk_sig_scheme_count + 3);
    for (size_t i = 0; i < nk_sig_scheme_cert_count; i++) {
        EXPECT_NE(nk_sig_schemes_cert[i], NK_SIG_RSA_PKCS1_SHA1);
        EXPECT_NE(nk_sig_schemes_cert[i], NK_SIG_ECDSA_SHA1);
    }
}

TEST(key_types)
{
    for (int k = 0; k < K_COUNT; k++)
        EXPECT_EQ(nk_key_type_of(pki.key[k]), key_type[k]) TH_LOG("key %d", k);
    EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    EXPECT_EQ(nk_key_type_of(x), (enum nk_key_type)NK_KEY_NONE);
    EXPECT_EQ(nk_key_type_of(k1), (enum nk_key_type)NK_KEY_NONE);
    EXPECT_EQ(nk_key_type_of(NULL), (enum nk_key_type)NK_KEY_NONE);
    EVP_PKEY_free(x);
    EVP_PKEY_free(k1);
}

static void sig_round_trip(struct th_meta *_metadata, uint16_t s, int k)
{
    static const uint8_t msg[] = "TLS 1.3, server CertificateVerify\0 and more bytes";
    uint8_t sig[1024];
    size_t len = sizeof(sig);
    EVP_PKEY *key = pki.key[k];

    ASSERT_EQ(nk_sig_sign(key, s, msg, sizeof(msg), sig, &len), OK) TH_LOG("%04x %s", s, key_host[k]);
    ASSERT_LE(len, nk_sig_max_len(key));
    EXPECT_EQ(nk_sig_verify(key, s, msg, sizeof(msg), sig, len), OK) TH_LOG("%04x %s", s, key_host[k]);
    EXPECT_EQ(nk_sig_verify(key, s, msg, sizeof(msg) - 1, sig, len), ERR_SSL_BAD_SIGNATURE);
    EXPECT_EQ(nk_sig_verify(key, s, msg, sizeof(msg), sig, 0), ERR_SSL_BAD_SIGNATURE);
    sig[len / 2] ^= 0x40;
    EXPECT_EQ(nk_sig_verify(key, s, msg, sizeof(msg), sig, len), ERR_SSL_BAD_SIGNATURE)
        TH_LOG("%04x %s", s, key_host[k]);
}

TEST(sig_every_scheme_every_key)
{
    static const uint8_t msg[] = "m";
    uint8_t sig[1024];
    ASSERT_EQ(nk_crypto_init(), OK);
    for (size_t i = 0; i < NK_ARRAY_LEN(fits); i++) {
        for (int k = 0; k < K_COUNT; k++) {
            uint16_t s = fits[i].scheme;
            int fit = fits[i].key == k || (k == K_RSA1024 && fits[i].key == K_RSA);
            size_t len = sizeof(sig);
            EXPECT_EQ(nk_sig_fits_key(s, key_type[k]), fit) TH_LOG("%04x %s", s, key_host[k]);
            if (!fit) {
                EXPECT_EQ(nk_sig_sign(pki.key[k], s, msg, sizeof(msg), sig, &len),
                          ERR_SSL_ILLEGAL_PARAMETER) TH_LOG("%04x %s", s, key_host[k]);
                EXPECT_EQ(nk_sig_verify(pki.key[k], s, msg, sizeof(msg), sig, 64),
                          ERR_SSL_ILLEGAL_PARAMETER) TH_LOG("%04x %s", s, key_host[k]);
            } else if (k == K_RSA1024 && s == NK_SIG_RSA_PSS_RSAE_SHA512) {
                /* 2*64+2 bytes do not fit a 1024-bit modulus */
                EXPECT_NE(nk_sig_sign(pki.key[k], s, msg, sizeof(msg), sig, &len), OK);
            } else {
                sig_round_trip(_metadata, s, k);
            }
        }
    }
    EXPECT_EQ(ERR_peek_error(), 0UL);
}

TEST(sig_rejects_pkcs1_sha1_and_small_buffer)
{
    static const uint8_t msg[] = "hello";
    uint8_t sig[512];
    size_t len = sizeof(sig);
    EVP_PKEY *rsa = pki.key[K_RSA];
    const uint16_t never[] = { NK_SIG_RSA_PKCS1_SHA256, NK_SIG_RSA_PKCS1_SHA384,
                               NK_SIG_RSA_PKCS1_SHA512, NK_SIG_RSA_PKCS1_SHA1, NK_SIG_ECDSA_SHA1,
                               0x0000, 0xffff };
    for (size_t i = 0; i < NK_ARRAY_LEN(never); i++) {
        EXPECT_FALSE(nk_sig_fits_key(never[i], NK_KEY_RSA));
        EXPECT_EQ(nk_sig_sign(rsa, never[i], msg, sizeof(msg), sig, &len), ERR_SSL_ILLEGAL_PARAMETER);
        EXPECT_EQ(nk_sig_verify(rsa, never[i], msg, sizeof(msg), sig, 256), ERR_SSL_ILLEGAL_PARAMETER);
    }
    EXPECT_FALSE(nk_sig_fits_key(NK_SIG_ECDSA_SHA1, NK_KEY_EC_P256));
    len = 100;
    EXPECT_EQ(nk_sig_sign(rsa, NK_SIG_RSA_PSS_RSAE_SHA256, msg, sizeof(msg), sig, &len),
              ERR_BUFFER_TOO_SMALL);
}

/* RFC 8446 §4.2.3: PSS salt = hash length, MGF1 with the same hash. A signature
 * made by plain libcrypto with those settings verifies; one with another salt
 * length does not. */
static size_t pss_sign_raw(EVP_PKEY *key, int saltlen, const uint8_t *m, size_t n, uint8_t *sig)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    size_t len = 512;
    if (EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, key) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0 ||
        EVP_DigestSign(ctx, sig, &len, m, n) != 1)
        len = 0;
    EVP_MD_CTX_free(ctx);
    return len;
}

TEST(sig_pss_salt_length)
{
    static const uint8_t msg[] = "pss";
    uint8_t sig[512];
    EVP_PKEY *rsa = pki.key[K_RSA];
    size_t len = pss_sign_raw(rsa, 32, msg, sizeof(msg), sig);
    ASSERT_GT(len, 0u);
    EXPECT_EQ(nk_sig_verify(rsa, NK_SIG_RSA_PSS_RSAE_SHA256, msg, sizeof(msg), sig, len), OK);
    len = pss_sign_raw(rsa, 20, msg, sizeof(msg), sig);
    ASSERT_GT(len, 0u);
    EXPECT_EQ(nk_sig_verify(rsa, NK_SIG_RSA_PSS_RSAE_SHA256, msg, sizeof(msg), sig, len),
              ERR_SSL_BAD_SIGNATURE);
    EXPECT_EQ(ERR_peek_error(), 0UL);
}

/* ---- key blobs ---- */

static void check_blob(struct th_meta *_metadata, int k, const ubyte *blob, ubyte4 len)
{
    EVP_PKEY *back = NULL;
    ASSERT_GT(len, NK_KEYBLOB_HDR + 0u);
    EXPECT_MEM_EQ(blob, "NKKB", 4);
    EXPECT_EQ(blob[4], 1);
    EXPECT_EQ(blob[5], key_type[k]);
    EXPECT_EQ((ubyte4)(blob[8] << 24 | blob[9] << 16 | blob[10] << 8 | blob[11]), len - 12);
    ASSERT_EQ(nk_key_blob_decode(blob, len, &back), OK);
    EXPECT_EQ(EVP_PKEY_eq(back, pki.key[k]), 1);
    EVP_PKEY_free(back);
}

static void blob_round_trip(struct th_meta *_metadata, int k)
{
    size_t pem_len = 0;
    char *pem = key_pem(pki.key[k], 0, &pem_len);
    ubyte *blob = NULL, *blob2 = NULL, *blob3 = NULL, *der = NULL, *pem2 = NULL;
    ubyte4 blob_len, blob2_len, blob3_len, der_len, pem2_len;
    ASSERT_NOT_NULL(pem);

    ASSERT_EQ(CA_MGMT_convertKeyPEM((ubyte *)pem, (ubyte4)pem_len, &blob, &blob_len), OK);
    check_blob(_metadata, k, blob, blob_len);
    /* blob → PKCS#8 DER, as libcrypto would write it, → the same blob */
    ASSERT_EQ(CA_MGMT_keyBlobToDER(blob, blob_len, &der, &der_len), OK);
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pki.key[k]);
    unsigned char *want = NULL;
    int want_len = i2d_PKCS8_PRIV_KEY_INFO(p8, &want);
    EXPECT_EQ((int)der_len, want_len);
    EXPECT_MEM_EQ(der, want, der_len);
    PKCS8_PRIV_KEY_INFO_free(p8);
    OPENSSL_clear_free(want, (size_t)want_len);
    ASSERT_EQ(CA_MGMT_convertKeyDER(der, der_len, &blob2, &blob2_len), OK);
    EXPECT_EQ(blob2_len, blob_len);
    EXPECT_MEM_EQ(blob2, blob, blob_len);
    /* blob → PEM, readable by libcrypto, → the same blob */
    ASSERT_EQ(CA_MGMT_keyBlobToPEM(blob, blob_len, &pem2, &pem2_len), OK);
    EXPECT_EQ(strncmp((char *)pem2, "-----BEGIN PRIVATE KEY-----\n", 28), 0);
    EXPECT_EQ(strlen((char *)pem2), pem2_len);
    BIO *b = BIO_new_mem_buf(pem2, (int)pem2_len);
    EVP_PKEY *back = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    EXPECT_EQ(EVP_PKEY_eq(back, pki.key[k]), 1);
    EVP_PKEY_free(back);
    BIO_free(b);
    ASSERT_EQ(CA_MGMT_convertKeyPEM(pem2, pem2_len, &blob3, &blob3_len), OK);
    EXPECT_EQ(blob3_len, blob_len);
    EXPECT_MEM_EQ(blob3, blob, blob_len);

    CA_MGMT_freeKeyBlob(&blob);
    CA_MGMT_freeKeyBlob(&blob2);
    CA_MGMT_freeKeyBlob(&blob3);
    CA_MGMT_freeKeyBlob(&der);
    CA_MGMT_freeKeyBlob(&pem2);
    EXPECT_NULL(blob);
    free(pem);
}

TEST(key_blob_round_trip_every_key_type)
{
    for (int k = 0; k < K_COUNT; k++)
        blob_round_trip(_metadata, k);
    EXPECT_EQ(ERR_peek_error(), 0UL);
}

/* Traditional RSA/EC forms, PEM and DER, give the same blob as PKCS#8. */
static void traditional(struct th_meta *_metadata, int k, int with_params)
{
    size_t n = 0, n8 = 0;
    char *pem = key_pem(pki.key[k], 1, &n), *pem8 = key_pem(pki.key[k], 0, &n8);
    ubyte *b1 = NULL, *b2 = NULL, *b3 = NULL;
    ubyte4 l1, l2, l3;
    ASSERT_NOT_NULL(pem);
    EXPECT_TRUE(strstr(pem, k == K_RSA ? "BEGIN RSA PRIVATE KEY" : "BEGIN EC PRIVATE KEY") != NULL);
    if (with_params) {   /* an "EC PARAMETERS" block first, as some tools write */
        BIO *b = BIO_new(BIO_s_mem());
        char *d;
        PEM_write_bio_Parameters(b, pki.key[k]);
        BIO_write(b, pem, (int)n);
        long len = BIO_get_mem_data(b, &d);
        free(pem);
        pem = malloc((size_t)len);
        memcpy(pem, d, (size_t)len);
        n = (size_t)len;
        BIO_free(b);
        EXPECT_EQ(strncmp(pem, "-----BEGIN EC PARAMETERS", 24), 0);
    }
    ASSERT_EQ(CA_MGMT_convertKeyPEM((ubyte *)pem, (ubyte4)n, &b1, &l1), OK);
    ASSERT_EQ(CA_MGMT_convertKeyPEM((ubyte *)pem8, (ubyte4)n8, &b2, &l2), OK);
    ASSERT_EQ(l1, l2);
    EXPECT_MEM_EQ(b1, b2, l1);
    unsigned char *der = NULL;
    int dl = i2d_PrivateKey(pki.key[k], &der);
    ASSERT_EQ(CA_MGMT_convertKeyDER(der, (ubyte4)dl, &b3, &l3), OK);
    ASSERT_EQ(l3, l2);
    EXPECT_MEM_EQ(b3, b2, l3);
    OPENSSL_clear_free(der, (size_t)dl);
    CA_MGMT_freeKeyBlob(&b1);
    CA_MGMT_freeKeyBlob(&b2);
    CA_MGMT_freeKeyBlob(&b3);
    free(pem);
    free(pem8);
}

TEST(key_blob_traditional_forms)
{
    traditional(_metadata, K_RSA, 0);
    traditional(_metadata, K_P256, 0);
    traditional(_metadata, K_P384, 1);
    traditional(_metadata, K_P521, 0);
}

static MSTATUS convert_pem_of(EVP_PKEY *k, const EVP_CIPHER *enc)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *d;
    ubyte *blob = NULL;
    ubyte4 len = 0;
    PEM_write_bio_PKCS8PrivateKey(b, k, enc, enc ? "secret" : NULL, enc ? 6 : 0, NULL, NULL);
    long n = BIO_get_mem_data(b, &d);
    MSTATUS st = CA_MGMT_convertKeyPEM((ubyte *)d, (ubyte4)n, &blob, &len);
    if (st == OK && (blob == NULL || len == 0))
        st = ERR_GENERAL;
    if (st != OK && (blob != NULL || len != 0))
        st = ERR_GENERAL;   /* failures leave no output behind */
    CA_MGMT_freeKeyBlob(&blob);
    BIO_free(b);
    return st;
}

TEST(key_blob_rejects)
{
    EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    EXPECT_EQ(convert_pem_of(pki.key[K_P256], EVP_aes_128_cbc()), ERR_CERT_BAD_KEY_BLOB);
    EXPECT_EQ(convert_pem_of(x, NULL), ERR_CERT_UNSUPPORTED_KEY);
    EXPECT_EQ(convert_pem_of(k1, NULL), ERR_CERT_UNSUPPORTED_KEY);
    EVP_PKEY_free(x);
    EVP_PKEY_free(k1);

    ubyte junk[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    ubyte *out = (ubyte *)1;
    ubyte4 out_len = 1;
    EXPECT_EQ(CA_MGMT_convertKeyPEM(junk, sizeof(junk) - 1, &out, &out_len), ERR_CERT_BAD_KEY_BLOB);
    EXPECT_NULL(out);
    EXPECT_EQ(CA_MGMT_convertKeyDER(junk, 10, &out, &out_len), ERR_CERT_BAD_KEY_BLOB);
    EXPECT_EQ(CA_MGMT_convertKeyPEM(NULL, 10, &out, &out_len), ERR_NULL_POINTER);
    /* A certificate is not a key. */
    ubyte *cert = NULL;
    int cl = i2d_X509(pki.leaf[K_P256], &cert);
    EXPECT_EQ(CA_MGMT_convertKeyDER(cert, (ubyte4)cl, &out, &out_len), ERR_CERT_BAD_KEY_BLOB);
    OPENSSL_free(cert);

    /* Tampered blobs: each header field, and the contents. */
    ubyte *blob = NULL;
    ubyte4 len = 0;
    size_t pl;
    char *pem = key_pem(pki.key[K_ED25519], 0, &pl);
    ASSERT_EQ(CA_MGMT_convertKeyPEM((ubyte *)pem, (ubyte4)pl, &blob, &len), OK);
    free(pem);
    const size_t at[] = { 0, 4, 5, 6, 11, 12 };   /* header fields, the DER tag */
    for (size_t i = 0; i < NK_ARRAY_LEN(at); i++) {
        blob[at[i]] ^= 0x01;
        EXPECT_EQ(CA_MGMT_keyBlobToDER(blob, len, &out, &out_len), ERR_CERT_BAD_KEY_BLOB)
            TH_LOG("byte %zu", at[i]);
        EXPECT_EQ(CA_MGMT_keyBlobToPEM(blob, len, &out, &out_len), ERR_CERT_BAD_KEY_BLOB);
        blob[at[i]] ^= 0x01;
    }
    blob[5] = NK_KEY_ED448;   /* header says another key type */
    EXPECT_EQ(CA_MGMT_keyBlobToDER(blob, len, &out, &out_len), ERR_CERT_BAD_KEY_BLOB);
    blob[5] = NK_KEY_ED25519;
    EXPECT_EQ(CA_MGMT_keyBlobToDER(blob, len - 1, &out, &out_len), ERR_CERT_BAD_KEY_BLOB);
    EXPECT_EQ(CA_MGMT_keyBlobToDER(blob, 4, &out, &out_len), ERR_CERT_BAD_KEY_BLOB);
    EXPECT_EQ(CA_MGMT_keyBlobToDER(blob, len, &out, &out_len), OK);
    CA_MGMT_freeKeyBlob(&out);
    CA_MGMT_freeKeyBlob(&blob);
    EXPECT_EQ(CA_MGMT_freeKeyBlob(&blob), OK);
    EXPECT_EQ(ERR_peek_error(), 0UL);
}

/* ---- certificates through CA_MGMT ---- */

TEST(decode_certificate_pem_and_chain)
{
    size_t kl, ll, il;
    char *key = key_pem(pki.key[K_P256], 0, &kl), *leaf = cert_pem(pki.leaf[K_P256], &ll),
         *inter = cert_pem(pki.inter, &il);
    char *all = malloc(kl + ll + il + 16);
    int n = sprintf(all, "%s# a comment\n%s%s", key, leaf, inter);
    unsigned char *ld = NULL, *id = NULL;
    int lder = i2d_X509(pki.leaf[K_P256], &ld), ider = i2d_X509(pki.inter, &id);
    ubyte *der = NULL, *der2 = NULL;
    ubyte4 der_len = 0, der2_len = 0, count = 0;
    SizedBuffer *chain = NULL;

    /* The first certificate, skipping the key before it. */
    ASSERT_EQ(CA_MGMT_decodeCertificate((ubyte *)all, (ubyte4)n, &der, &der_len), OK);
    ASSERT_EQ((int)der_len, lder);
    EXPECT_MEM_EQ(der, ld, der_len);
    /* DER in, the same DER out. */
    ASSERT_EQ(CA_MGMT_decodeCertificate(ld, (ubyte4)lder, &der2, &der2_len), OK);
    EXPECT_EQ(der2_len, der_len);
    EXPECT_MEM_EQ(der2, ld, der_len);
    free(der2);
    /* All of them, in file order. */
    ASSERT_EQ(CA_MGMT_decodeCertificateChain((ubyte *)all, (ubyte4)n, &chain, &count), OK);
    ASSERT_EQ(count, 2u);
    EXPECT_EQ((int)chain[0].length, lder);
    EXPECT_MEM_EQ(chain[0].data, ld, chain[0].length);
    EXPECT_EQ((int)chain[1].length, ider);
    EXPECT_MEM_EQ(chain[1].data, id, chain[1].length);
    CA_MGMT_freeCertificateChain(chain, count);
    /* No certificate at all. */
    EXPECT_EQ(CA_MGMT_decodeCertificate((ubyte *)key, (ubyte4)kl, &der2, &der2_len), ERR_CERT_DECODE);
    EXPECT_NULL(der2);
    EXPECT_EQ(CA_MGMT_decodeCertificateChain((ubyte *)key, (ubyte4)kl, &chain, &count),
              ERR_CERT_DECODE);
    EXPECT_NULL(chain);
    EXPECT_EQ(count, 0u);
    EXPECT_EQ(CA_MGMT_decodeCertificate(ld, (ubyte4)lder - 1, &der2, &der2_len), ERR_CERT_DECODE);
    /* A certificate block whose contents are not a certificate. */
    const char *bad = "-----BEGIN CERTIFICATE-----\nMAMCAQU=\n-----END CERTIFICATE-----\n";
    EXPECT_EQ(CA_MGMT_decodeCertificate((const ubyte *)bad, (ubyte4)strlen(bad), &der2, &der2_len),
              ERR_CERT_DECODE);
    EXPECT_EQ(ERR_peek_error(), 0UL);

    free(der);
    OPENSSL_free(ld);
    OPENSSL_free(id);
    free(all);
    free(key);
    free(leaf);
    free(inter);
}

TEST(free_certificate_descriptor)
{
    size_t kl, ll;
    char *key = key_pem(pki.key[K_P256], 0, &kl), *leaf = cert_pem(pki.leaf[K_P256], &ll);
    ubyte *der = NULL;
    ubyte4 der_len = 0;
    ASSERT_EQ(CA_MGMT_decodeCertificate((ubyte *)leaf, (ubyte4)ll, &der, &der_len), OK);

    /* Zeroed, partly filled, full. */
    certDescriptor cd = { 0 };
    EXPECT_EQ(CA_MGMT_freeCertificate(&cd), OK);
    cd.pCertificate = der;
    cd.certLength = der_len;
    cd.cookie = 7;
    EXPECT_EQ(CA_MGMT_freeCertificate(&cd), OK);
    EXPECT_NULL(cd.pCertificate);
    EXPECT_EQ(cd.certLength, 0u);
    EXPECT_EQ(cd.cookie, 7u);
    ASSERT_EQ(CA_MGMT_decodeCertificate((ubyte *)leaf, (ubyte4)ll, &cd.pCertificate,
                                        &cd.certLength), OK);
    ASSERT_EQ(CA_MGMT_convertKeyPEM((ubyte *)key, (ubyte4)kl, &cd.pKeyBlob, &cd.keyBlobLength), OK);
    EXPECT_EQ(CA_MGMT_freeCertificate(&cd), OK);
    EXPECT_NULL(cd.pCertificate);
    EXPECT_NULL(cd.pKeyBlob);
    EXPECT_EQ(cd.keyBlobLength, 0u);
    EXPECT_EQ(CA_MGMT_freeCertificate(NULL), ERR_NULL_POINTER);
    free(key);
    free(leaf);
}

TEST(distinguished_name_and_dates)
{
    unsigned char *der = NULL;
    int n = i2d_X509(pki.leaf[K_RSA], &der);
    certDistinguishedName *dn = NULL;
    char want[32];
    struct tm tm;

    ASSERT_EQ(CA_MGMT_allocCertDistinguishedName(&dn), OK);
    ASSERT_EQ(CA_MGMT_extractCertDistinguishedName(der, (ubyte4)n, 1, dn), OK);
    EXPECT_STR_EQ((char *)dn->pCommonName, "rsa.example.com");
    EXPECT_STR_EQ((char *)dn->pOrganization, "nktls test");
    EXPECT_STR_EQ((char *)dn->pCountry, "DE");
    EXPECT_NULL(dn->pOrganizationalUnit);
    EXPECT_NULL(dn->pEmailAddress);
    EXPECT_STR_EQ((char *)dn->pOneLine, "CN=rsa.example.com, O=nktls test, C=DE");
    ASN1_TIME_to_tm(X509_get0_notAfter(pki.leaf[K_RSA]), &tm);
    strftime(want, sizeof(want), "%Y%m%d%H%M%SZ", &tm);
    EXPECT_STR_EQ((char *)dn->pEndDate, want);
    ASN1_TIME_to_tm(X509_get0_notBefore(pki.leaf[K_RSA]), &tm);
    strftime(want, sizeof(want), "%Y%m%d%H%M%SZ", &tm);
    EXPECT_STR_EQ((char *)dn->pStartDate, want);
    /* Again, now the issuer. */
    CA_MGMT_clearCertDistinguishedName(dn);
    ASSERT_EQ(CA_MGMT_extractCertDistinguishedName(der, (ubyte4)n, 0, dn), OK);
    EXPECT_STR_EQ((char *)dn->pCommonName, "nktls test intermediate");
    CA_MGMT_clearCertDistinguishedName(dn);
    EXPECT_EQ(CA_MGMT_extractCertDistinguishedName(der, (ubyte4)n - 1, 0, dn), ERR_CERT_DECODE);
    EXPECT_NULL(dn->pCommonName);
    ASSERT_EQ(CA_MGMT_freeCertDistinguishedName(&dn), OK);
    EXPECT_NULL(dn);

    certDistinguishedName mine;
    memset(&mine, 0xa5, sizeof(mine));   /* uninitialised is fine: output only */
    ASSERT_EQ(CA_MGMT_extractCertDistinguishedName(der, (ubyte4)n, 1, &mine), OK);
    EXPECT_STR_EQ((char *)mine.pCommonName, "rsa.example.com");
    CA_MGMT_clearCertDistinguishedName(&mine);
    EXPECT_NULL(mine.pCommonName);
    OPENSSL_free(der);
}

TEST(asn1_name_public_key_and_cert_date)
{
    unsigned char *der = NULL, *want = NULL;
    int n = i2d_X509(pki.leaf[K_P384], &der), wl;
    ubyte *out = NULL;
    ubyte4 out_len = 0;

    ASSERT_EQ(CA_MGMT_extractCertASN1Name(der, (ubyte4)n, 1, &out, &out_len), OK);
    wl = i2d_X509_NAME(X509_get_subject_name(pki.leaf[K_P384]), &want);
    ASSERT_EQ((int)out_len, wl);
    EXPECT_MEM_EQ(out, want, out_len);
    free(out);
    OPENSSL_free(want);
    want = NULL;
    ASSERT_EQ(CA_MGMT_extractCertASN1Name(der, (ubyte4)n, 0, &out, &out_len), OK);
    wl = i2d_X509_NAME(X509_get_subject_name(pki.inter), &want);
    ASSERT_EQ((int)out_len, wl);
    EXPECT_MEM_EQ(out, want, out_len);
    free(out);
    OPENSSL_free(want);
    want = NULL;

    ASSERT_EQ(CA_MGMT_returnPublicKey(der, (ubyte4)n, &out, &out_len), OK);
    wl = i2d_PUBKEY(pki.key[K_P384], &want);
    ASSERT_EQ((int)out_len, wl);
    EXPECT_MEM_EQ(out, want, out_len);
    free(out);
    OPENSSL_free(want);
    EXPECT_EQ(CA_MGMT_returnPublicKey(der, 10, &out, &out_len), ERR_CERT_DECODE);

    EXPECT_EQ(CA_MGMT_verifyCertDate(der, (ubyte4)n), OK);
    OPENSSL_free(der);
    der = NULL;
    n = i2d_X509(pki.expired, &der);
    EXPECT_EQ(CA_MGMT_verifyCertDate(der, (ubyte4)n), ERR_CERT_EXPIRED);
    OPENSSL_free(der);
    der = NULL;
    n = i2d_X509(pki.notyet, &der);
    EXPECT_EQ(CA_MGMT_verifyCertDate(der, (ubyte4)n), ERR_CERT_NOT_YET_VALID);
    EXPECT_EQ(CA_MGMT_verifyCertDate(der, 3), ERR_CERT_DECODE);
    OPENSSL_free(der);
    EXPECT_EQ(ERR_peek_error(), 0UL);
}

TEST_HARNESS_MAIN
