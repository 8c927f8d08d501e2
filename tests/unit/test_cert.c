/* test_cert.c — the certificate store and the peer side of certificates:
 * chain verification with the exact error code of each failure, CERT_STORE_*,
 * identity choice by SNI, subjects, and a store shared by threads. Keys and
 * certificates are made at run time (cert_pki.h); test_cert_keys.c covers
 * signatures, key blobs and the CA_MGMT_* conversions. */
#include <pthread.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "nktls.h"
#include "harness.h"
#include "core/nk.h"
#include "core/crypto.h"
#include "handshake/store.h"
#include "handshake/cert.h"
#include "crypto/ca_mgmt.h"
#include "crypto/cert_store.h"
#include "unit/cert_pki.h"

/* ---- chain verification ---- */

/* Verify certs (leaf first) with req's settings; the leaf's public key must come
 * back whenever the leaf decodes, whatever the verdict. */
static MSTATUS vfy(struct nk_verify_req r, X509 *const *certs, size_t n)
{
    struct nk_der d[8] = { { 0 } };
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = NULL;
        d[i].len = (size_t)i2d_X509(certs[i], &p);
        d[i].p = p;
    }
    r.chain = d;
    r.chain_len = n;
    if (r.store == NULL)
        r.store = pki.store;
    EVP_PKEY *pub = (EVP_PKEY *)1;
    MSTATUS st = nk_chain_verify(&r, &pub);
    int pub_ok = pub != NULL && EVP_PKEY_eq(pub, X509_get0_pubkey(certs[0])) == 1;
    EVP_PKEY_free(pub);
    for (size_t i = 0; i < n; i++)
        OPENSSL_free(d[i].p);
    if (!pub_ok)
        return ERR_GENERAL;   /* shows up as a wrong status in the test */
    if (ERR_peek_error() != 0)
        return ERR_SSL_INTERNAL;   /* left something on the thread's error queue */
    return st;
}

#define CHAIN(...) (X509 *[]){ __VA_ARGS__ }, sizeof((X509 *[]){ __VA_ARGS__ }) / sizeof(X509 *)
#define REQ(...) ((struct nk_verify_req){ .peer_is_server = 1, __VA_ARGS__ })
#define CLIENT_REQ(...) ((struct nk_verify_req){ .peer_is_server = 0, __VA_ARGS__ })

TEST(verify_ok_every_key_type)
{
    for (int k = 0; k < K_COUNT; k++) {
        if (k == K_RSA1024)
            continue;
        EXPECT_EQ(vfy(REQ(.host = key_host[k]), CHAIN(pki.leaf[k], pki.inter)), OK)
            TH_LOG("key %s", key_host[k]);
    }
}

TEST(verify_unknown_ca)
{
    /* Intermediate missing: the issuer cannot be found. */
    ASSERT_EQ(vfy(REQ(.host = "rsa.example.com"), CHAIN(pki.leaf[K_RSA])),
              ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
    /* Another hierarchy, root not sent. */
    ASSERT_EQ(vfy(REQ(.host = NULL), CHAIN(pki.other_leaf)), ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
}

TEST(verify_empty_store)
{
    certStorePtr empty = NULL;
    ASSERT_EQ(CERT_STORE_createStore(&empty), OK);
    EXPECT_FALSE(nk_store_has_trust_points(empty));
    EXPECT_TRUE(nk_store_has_trust_points(pki.store));
    EXPECT_EQ(vfy(REQ(.store = empty), CHAIN(pki.leaf[K_RSA], pki.inter)),
              ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
    CERT_STORE_releaseStore(&empty);
    ASSERT_NULL(empty);
}

/* NKTLS_addSystemTrustPoints: libcrypto's default file, here SSL_CERT_FILE. */
static MSTATUS verify_with_system_file(struct __test_metadata *_metadata, X509 *ca)
{
    char path[] = "/tmp/nktls-test-sysca-XXXXXX";
    int fd = mkstemp(path);
    certStorePtr s = NULL;
    FILE *f;
    MSTATUS st;

    if (fd < 0 || !(f = fdopen(fd, "w")))
        return ERR_FILE_OPEN_FAILED;
    if (ca)
        PEM_write_X509(f, ca);
    fclose(f);
    setenv("SSL_CERT_FILE", path, 1);
    setenv("SSL_CERT_DIR", "/nonexistent-nktls-dir", 1);
    st = CERT_STORE_createStore(&s);
    if (st == OK)
        st = NKTLS_addSystemTrustPoints(s);
    EXPECT_TRUE(st != OK || nk_store_has_trust_points(s));
    if (st == OK)
        st = vfy(REQ(.store = s, .host = "rsa.example.com"), CHAIN(pki.leaf[K_RSA], pki.inter));
    CERT_STORE_releaseStore(&s);
    unsetenv("SSL_CERT_FILE");
    unsetenv("SSL_CERT_DIR");
    unlink(path);
    return st;
}

TEST(verify_system_trust)
{
    EXPECT_EQ(verify_with_system_file(_metadata, pki.root), OK);
    EXPECT_EQ(verify_with_system_file(_metadata, pki.other_root), ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
    EXPECT_EQ(verify_with_system_file(_metadata, NULL), ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
    EXPECT_EQ(NKTLS_addSystemTrustPoints(NULL), ERR_NULL_POINTER);
}

TEST(verify_self_signed)
{
    ASSERT_EQ(vfy(REQ(.host = "self.example.com"), CHAIN(pki.self_signed)),
              ERR_SSLCC_NO_SELF_SIGNED_CERTIFICATES);
    ASSERT_EQ(vfy(REQ(.host = NULL), CHAIN(pki.other_leaf, pki.other_root)),
              ERR_SSLCC_NO_SELF_SIGNED_CERTIFICATES);
}

static certStorePtr store_of(X509 *anchor)
{
    certStorePtr s = NULL;
    unsigned char *der = NULL;
    int n = i2d_X509(anchor, &der);
    if (CERT_STORE_createStore(&s) != OK || CERT_STORE_addTrustPoint(s, der, (ubyte4)n) != OK)
        CERT_STORE_releaseStore(&s);
    OPENSSL_free(der);
    return s;
}

TEST(verify_trust_points)
{
    /* Any trust point is an anchor: a pinned self-signed leaf, an intermediate. */
    certStorePtr self = store_of(pki.self_signed), inter = store_of(pki.inter);
    certStorePtr other = store_of(pki.other_root);
    ASSERT_NOT_NULL(self);
    ASSERT_NOT_NULL(inter);
    ASSERT_NOT_NULL(other);
    EXPECT_EQ(vfy(REQ(.store = self, .host = "self.example.com"), CHAIN(pki.self_signed)), OK);
    EXPECT_EQ(vfy(REQ(.store = inter, .host = "rsa.example.com"), CHAIN(pki.leaf[K_RSA])), OK);
    EXPECT_EQ(vfy(REQ(.store = inter), CHAIN(pki.under_small)),
              ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
    /* A chain signed with Ed25519. */
    EXPECT_EQ(vfy(REQ(.store = other), CHAIN(pki.other_leaf)), OK);
    EXPECT_EQ(vfy(REQ(.store = other), CHAIN(pki.other_leaf, pki.other_root)), OK);
    /* The peer may send the trusted root along. */
    EXPECT_EQ(vfy(REQ(.host = "p256.example.com"), CHAIN(pki.leaf[K_P256], pki.inter, pki.root)), OK);
    CERT_STORE_releaseStore(&self);
    CERT_STORE_releaseStore(&inter);
    CERT_STORE_releaseStore(&other);
}

TEST(verify_dates)
{
    ASSERT_EQ(vfy(REQ(.host = "expired.example.com"), CHAIN(pki.expired, pki.inter)),
              ERR_CERT_EXPIRED);
    ASSERT_EQ(vfy(REQ(.host = "notyet.example.com"), CHAIN(pki.notyet, pki.inter)),
              ERR_CERT_NOT_YET_VALID);
    /* The verification time comes from the request, not the clock. */
    ASSERT_EQ(vfy(REQ(.host = "expired.example.com", .now = pki.now - 540 * DAY),
                  CHAIN(pki.expired, pki.inter)), OK);
    ASSERT_EQ(vfy(REQ(.host = "notyet.example.com", .now = pki.now + 540 * DAY),
                  CHAIN(pki.notyet, pki.inter)), OK);
    ASSERT_EQ(vfy(REQ(.host = "rsa.example.com", .now = pki.now + 900 * DAY),
                  CHAIN(pki.leaf[K_RSA], pki.inter)), ERR_CERT_EXPIRED);
}

TEST(verify_host_names)
{
    X509 *rsa = pki.leaf[K_RSA];
    ASSERT_EQ(vfy(REQ(.host = "other.example.com"), CHAIN(rsa, pki.inter)),
              ERR_CERT_HOSTNAME_MISMATCH);
    ASSERT_EQ(vfy(REQ(.host = "RSA.Example.COM"), CHAIN(rsa, pki.inter)), OK);
    /* Wildcard: one whole left-most label only (RFC 6125 §6.4.3). */
    ASSERT_EQ(vfy(REQ(.host = "a.wild.example.com"), CHAIN(pki.wildcard, pki.inter)), OK);
    ASSERT_EQ(vfy(REQ(.host = "wild.example.com"), CHAIN(pki.wildcard, pki.inter)),
              ERR_CERT_HOSTNAME_MISMATCH);
    ASSERT_EQ(vfy(REQ(.host = "a.b.wild.example.com"), CHAIN(pki.wildcard, pki.inter)),
              ERR_CERT_HOSTNAME_MISMATCH);
    /* IP literals match iPAddress entries only. */
    ASSERT_EQ(vfy(REQ(.host = "192.0.2.7"), CHAIN(pki.ip, pki.inter)), OK);
    ASSERT_EQ(vfy(REQ(.host = "192.0.2.8"), CHAIN(pki.ip, pki.inter)),
              ERR_CERT_HOSTNAME_MISMATCH);
    ASSERT_EQ(vfy(REQ(.host = "2001:db8::7"), CHAIN(pki.ip, pki.inter)), OK);
    /* CN only without a dNSName (RFC 6125 §6.4.4). */
    ASSERT_EQ(vfy(REQ(.host = "cn.example.com"), CHAIN(pki.cn_only, pki.inter)), OK);
    ASSERT_EQ(vfy(REQ(.host = "cnx.example.com"), CHAIN(pki.san_cn, pki.inter)),
              ERR_CERT_HOSTNAME_MISMATCH);
    ASSERT_EQ(vfy(REQ(.host = "san.example.com"), CHAIN(pki.san_cn, pki.inter)), OK);
    /* No host: chain only. */
    ASSERT_EQ(vfy(REQ(.host = NULL), CHAIN(rsa, pki.inter)), OK);
}

TEST(verify_dns_name_list)
{
    X509 *rsa = pki.leaf[K_RSA], *wild = pki.wildcard;
    const CNMatchInfo suffix[] = { { matchFlagSuffix, (const sbyte *)"example.com" }, { 0, NULL } };
    const CNMatchInfo other[] = { { matchFlagSuffix, (const sbyte *)"example.org" },
                                  { 0, (const sbyte *)"ec.example.com" }, { 0, NULL } };
    const CNMatchInfo exact[] = { { 0, (const sbyte *)"nope.example.com" },
                                  { 0, (const sbyte *)"x.wild.example.com" }, { 0, NULL } };
    const CNMatchInfo nowild[] = { { matchFlagNoWildcard, (const sbyte *)"x.wild.example.com" },
                                   { 0, NULL } };
    const CNMatchInfo wsuffix[] = { { matchFlagSuffix, (const sbyte *)".wild.example.com" },
                                    { 0, NULL } };
    const CNMatchInfo wsuffix_nowild[] = {
        { matchFlagSuffix | matchFlagNoWildcard, (const sbyte *)"wild.example.com" }, { 0, NULL } };
    const CNMatchInfo nsuffix[] = { { matchFlagSuffix, (const sbyte *)"xample.com" }, { 0, NULL } };

    ASSERT_EQ(vfy(REQ(.names = suffix), CHAIN(rsa, pki.inter)), OK);
    ASSERT_EQ(vfy(REQ(.names = other), CHAIN(rsa, pki.inter)), ERR_CERT_HOSTNAME_MISMATCH);
    ASSERT_EQ(vfy(REQ(.names = nsuffix), CHAIN(rsa, pki.inter)), ERR_CERT_HOSTNAME_MISMATCH);
    ASSERT_EQ(vfy(REQ(.names = exact), CHAIN(wild, pki.inter)), OK);
    ASSERT_EQ(vfy(REQ(.names = nowild), CHAIN(wild, pki.inter)), ERR_CERT_HOSTNAME_MISMATCH);
    ASSERT_EQ(vfy(REQ(.names = wsuffix), CHAIN(wild, pki.inter)), OK);
    ASSERT_EQ(vfy(REQ(.names = wsuffix_nowild), CHAIN(wild, pki.inter)),
              ERR_CERT_HOSTNAME_MISMATCH);
    /* The host, or any listed name. */
    ASSERT_EQ(vfy(REQ(.host = "rsa.example.com", .names = other), CHAIN(rsa, pki.inter)), OK);
    ASSERT_EQ(vfy(REQ(.host = "zzz.example.com", .names = suffix), CHAIN(rsa, pki.inter)), OK);
    ASSERT_EQ(vfy(REQ(.host = "ec.example.com", .names = other), CHAIN(rsa, pki.inter)),
              ERR_CERT_HOSTNAME_MISMATCH);
    /* The chain is still checked first. */
    ASSERT_EQ(vfy(REQ(.names = suffix), CHAIN(pki.expired, pki.inter)), ERR_CERT_EXPIRED);
}

TEST(verify_key_size)
{
    ASSERT_EQ(vfy(REQ(.host = "rsa1024.example.com"), CHAIN(pki.leaf[K_RSA1024], pki.inter)),
              ERR_CERT_KEY_TOO_SMALL);
    ASSERT_EQ(vfy(REQ(.host = "rsa1024.example.com", .min_rsa_bits = 1024),
                  CHAIN(pki.leaf[K_RSA1024], pki.inter)), OK);
    ASSERT_EQ(vfy(REQ(.host = "rsa.example.com", .min_rsa_bits = 3072),
                  CHAIN(pki.leaf[K_RSA], pki.inter)), ERR_CERT_KEY_TOO_SMALL);
    /* An intermediate's key counts too. */
    ASSERT_EQ(vfy(REQ(.host = "under-small.example.com"), CHAIN(pki.under_small, pki.inter_small)),
              ERR_CERT_KEY_TOO_SMALL);
}

TEST(verify_sha1)
{
    ASSERT_EQ(vfy(REQ(.host = "sha1.example.com"), CHAIN(pki.sha1, pki.inter)),
              ERR_CERT_SHA1_SIGNATURE);
    ASSERT_EQ(vfy(REQ(.host = "sha1.example.com", .allow_sha1 = 1), CHAIN(pki.sha1, pki.inter)), OK);
}

TEST(verify_bad_signature)
{
    ASSERT_EQ(vfy(REQ(.host = "rsa.example.com"), CHAIN(pki.bad_sig, pki.inter)),
              ERR_CERT_BAD_SIGNATURE);
}

TEST(verify_purpose)
{
    /* An EKU of serverAuth only: good for a server, not for a client. */
    ASSERT_EQ(vfy(REQ(.host = "eku.example.com"), CHAIN(pki.server_only, pki.inter)), OK);
    ASSERT_EQ(vfy(CLIENT_REQ(.host = NULL), CHAIN(pki.server_only, pki.inter)), ERR_CERT_INVALID);
    ASSERT_EQ(vfy(CLIENT_REQ(.host = NULL), CHAIN(pki.leaf[K_P256], pki.inter)), OK);
}

TEST(verify_decode_errors)
{
    uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
    unsigned char *leaf = NULL;
    int n = i2d_X509(pki.leaf[K_P256], &leaf);
    uint8_t *trail = malloc((size_t)n + 1);
    ASSERT_NOT_NULL(trail);
    memcpy(trail, leaf, (size_t)n);
    trail[n] = 0;

    struct nk_der bad_leaf[] = { { junk, sizeof(junk) } };
    struct nk_der bad_int[] = { { leaf, (size_t)n }, { junk, sizeof(junk) } };
    struct nk_der trailing[] = { { trail, (size_t)n + 1 } };
    struct nk_verify_req r = REQ(.store = pki.store);
    EVP_PKEY *pub = NULL;

    r.chain = bad_leaf, r.chain_len = 1;
    EXPECT_EQ(nk_chain_verify(&r, &pub), ERR_CERT_DECODE);
    EXPECT_NULL(pub);
    r.chain = trailing, r.chain_len = 1;
    EXPECT_EQ(nk_chain_verify(&r, &pub), ERR_CERT_DECODE);
    EXPECT_NULL(pub);
    r.chain = bad_int, r.chain_len = 2;
    EXPECT_EQ(nk_chain_verify(&r, &pub), ERR_CERT_DECODE);
    EXPECT_NOT_NULL(pub);   /* the leaf decoded */
    EVP_PKEY_free(pub);
    r.chain_len = 0;
    EXPECT_EQ(nk_chain_verify(&r, &pub), ERR_CERT_DECODE);
    EXPECT_EQ(ERR_peek_error(), 0UL);
    OPENSSL_free(leaf);
    free(trail);
}

/* ---- the store ---- */

TEST(store_identity_checks_key)
{
    certStorePtr s = NULL;
    ubyte *p256 = NULL, *p384 = NULL, *p8 = NULL;
    ubyte4 l256 = 0, l384 = 0, l8 = 0;
    unsigned char *leaf = NULL, *inter = NULL;
    int ll = i2d_X509(pki.leaf[K_P256], &leaf), il = i2d_X509(pki.inter, &inter);
    ASSERT_EQ(CERT_STORE_createStore(&s), OK);
    ASSERT_EQ(blob_of(pki.key[K_P256], &p256, &l256), OK);
    ASSERT_EQ(blob_of(pki.key[K_P384], &p384, &l384), OK);

    EXPECT_EQ(CERT_STORE_addIdentity(s, leaf, (ubyte4)ll, p384, l384), ERR_CERT_KEY_MISMATCH);
    EXPECT_EQ(CERT_STORE_addIdentity(s, leaf, (ubyte4)ll - 1, p256, l256), ERR_CERT_DECODE);
    EXPECT_EQ(CERT_STORE_addIdentity(s, leaf, (ubyte4)ll, p256, l256 - 1), ERR_CERT_BAD_KEY_BLOB);
    EXPECT_EQ(CERT_STORE_addIdentity(NULL, leaf, (ubyte4)ll, p256, l256), ERR_NULL_POINTER);
    EXPECT_EQ(s->n_ids, 0u);

    SizedBuffer chain[] = { { (ubyte4)ll, NULL, leaf }, { (ubyte4)il, NULL, inter } };
    EXPECT_EQ(CERT_STORE_addIdentityWithCertificateChain(s, chain, 0, p256, l256), ERR_INVALID_ARG);
    ASSERT_EQ(CERT_STORE_addIdentityWithCertificateChain(s, chain, 2, p256, l256), OK);
    ASSERT_EQ(s->n_ids, 1u);
    const struct nk_identity *id = s->ids[0];
    EXPECT_EQ(id->type, (enum nk_key_type)NK_KEY_EC_P256);
    EXPECT_EQ(X509_cmp(id->leaf, pki.leaf[K_P256]), 0);
    ASSERT_EQ(id->chain_len, 2u);
    EXPECT_EQ(id->chain[1].len, (size_t)il);
    EXPECT_MEM_EQ(id->chain[1].p, inter, (size_t)il);
    /* A plain PKCS#8 DER key is accepted in place of a blob. */
    ASSERT_EQ(CA_MGMT_keyBlobToDER(p256, l256, &p8, &l8), OK);
    EXPECT_EQ(CERT_STORE_addIdentity(s, leaf, (ubyte4)ll, p8, l8), OK);
    EXPECT_EQ(s->n_ids, 2u);

    EXPECT_EQ(CERT_STORE_addTrustPoint(s, inter, (ubyte4)il - 1), ERR_CERT_DECODE);
    EXPECT_EQ(CERT_STORE_addTrustPoint(s, inter, (ubyte4)il), OK);
    EXPECT_TRUE(nk_store_has_trust_points(s));
    EXPECT_EQ(ERR_peek_error(), 0UL);

    CA_MGMT_freeKeyBlob(&p256);
    CA_MGMT_freeKeyBlob(&p384);
    CA_MGMT_freeKeyBlob(&p8);
    OPENSSL_free(leaf);
    OPENSSL_free(inter);
    EXPECT_EQ(CERT_STORE_releaseStore(&s), OK);
    EXPECT_NULL(s);
    EXPECT_EQ(CERT_STORE_releaseStore(&s), OK);
}

TEST(store_psk)
{
    certStorePtr s = NULL;
    ubyte id[129], secret[65];
    memset(id, 'i', sizeof(id));
    memset(secret, 0x5a, sizeof(secret));
    ASSERT_EQ(CERT_STORE_createStore(&s), OK);
    EXPECT_EQ(CERT_STORE_addIdentityPSK(s, id, 8, (const ubyte *)"hint", 4, secret, 32), OK);
    EXPECT_EQ(CERT_STORE_addIdentityPSK(s, id, 8, NULL, 0, secret, 32), ERR_INVALID_ARG);
    EXPECT_EQ(CERT_STORE_addIdentityPSK(s, id, 128, NULL, 0, secret, 64), OK);
    EXPECT_EQ(CERT_STORE_addIdentityPSK(s, id, 129, NULL, 0, secret, 32), ERR_INVALID_ARG);
    EXPECT_EQ(CERT_STORE_addIdentityPSK(s, id, 9, NULL, 0, secret, 65), ERR_INVALID_ARG);
    EXPECT_EQ(CERT_STORE_addIdentityPSK(s, id, 9, NULL, 0, secret, 0), ERR_INVALID_ARG);
    EXPECT_EQ(CERT_STORE_addIdentityPSK(s, id, 9, NULL, 3, secret, 16), ERR_NULL_POINTER);
    const struct nk_psk_identity *p = nk_store_find_psk(s, id, 8);
    ASSERT_NOT_NULL(p);
    EXPECT_EQ(p->secret_len, 32u);
    EXPECT_MEM_EQ(p->secret, secret, 32);
    EXPECT_EQ(p->hint_len, 4u);
    EXPECT_MEM_EQ(p->hint, "hint", 4);
    EXPECT_NULL(nk_store_find_psk(s, id, 7));
    EXPECT_NOT_NULL(nk_store_find_psk(s, id, 128));
    CERT_STORE_releaseStore(&s);
}

static const struct nk_identity *pick(const char *sni, const uint16_t *sigs, size_t n,
                                      uint16_t *scheme)
{
    *scheme = 0;
    return nk_store_pick_identity(pki.id_store, sni, sigs, n, scheme);
}

TEST(pick_identity_by_sni_and_scheme)
{
    const uint16_t p256[] = { NK_SIG_ECDSA_SECP256R1_SHA256 };
    const uint16_t ed[] = { NK_SIG_ED25519 };
    const uint16_t pkcs1[] = { NK_SIG_RSA_PKCS1_SHA256, NK_SIG_RSA_PKCS1_SHA1 };
    const uint16_t pss512[] = { NK_SIG_RSA_PSS_RSAE_SHA512 };
    const uint16_t pss[] = { NK_SIG_RSA_PSS_RSAE_SHA384, NK_SIG_RSA_PSS_RSAE_SHA256 };
    struct nk_identity *const *ids = pki.id_store->ids;   /* RSA, P-256, Ed25519, wildcard, RSA-1024 */
    uint16_t sch;

    EXPECT_EQ(pick("p256.example.com", nk_sig_schemes, nk_sig_scheme_count, &sch), ids[1]);
    EXPECT_EQ(sch, NK_SIG_ECDSA_SECP256R1_SHA256);
    EXPECT_EQ(pick("RSA.example.com", nk_sig_schemes, nk_sig_scheme_count, &sch), ids[0]);
    EXPECT_EQ(sch, NK_SIG_RSA_PSS_RSAE_SHA256);
    /* Our order, not the peer's. */
    EXPECT_EQ(pick("rsa.example.com", pss, 2, &sch), ids[0]);
    EXPECT_EQ(sch, NK_SIG_RSA_PSS_RSAE_SHA256);
    /* The name's identity cannot sign what the peer accepts: the first that can. */
    EXPECT_EQ(pick("rsa.example.com", p256, 1, &sch), ids[1]);
    EXPECT_EQ(pick("x.wild.example.com", p256, 1, &sch), ids[3]);
    EXPECT_EQ(pick(NULL, nk_sig_schemes, nk_sig_scheme_count, &sch), ids[0]);
    EXPECT_EQ(pick("", nk_sig_schemes, nk_sig_scheme_count, &sch), ids[0]);
    EXPECT_EQ(pick("unknown.org", ed, 1, &sch), ids[2]);
    EXPECT_EQ(sch, NK_SIG_ED25519);
    /* RSA-1024 cannot carry PSS-SHA512 (RFC 8017 §9.1.1). */
    EXPECT_EQ(pick("rsa1024.example.com", pss512, 1, &sch), ids[0]);
    EXPECT_EQ(pick("rsa1024.example.com", pss, 2, &sch), ids[4]);
    EXPECT_NULL(pick("rsa.example.com", pkcs1, 2, &sch));
    EXPECT_NULL(pick("rsa.example.com", NULL, 0, &sch));
    EXPECT_NULL(nk_store_pick_identity(NULL, NULL, p256, 1, &sch));
}

TEST(cert_subject_line)
{
    unsigned char *der = NULL;
    int n = i2d_X509(pki.leaf[K_RSA], &der);
    char buf[128];
    ASSERT_EQ(nk_cert_name(der, (size_t)n, NKTLS_CERT_SUBJECT, buf, sizeof(buf)), OK);
    EXPECT_STR_EQ(buf, "CN=rsa.example.com, O=nktls test, C=DE");
    EXPECT_EQ(nk_cert_name(der, (size_t)n, NKTLS_CERT_SUBJECT, buf, 8), ERR_BUFFER_TOO_SMALL);
    EXPECT_STR_EQ(buf, "CN=rsa.");
    EXPECT_EQ(nk_cert_name(der, 20, NKTLS_CERT_SUBJECT, buf, sizeof(buf)), ERR_CERT_DECODE);
    EXPECT_STR_EQ(buf, "");
    OPENSSL_free(der);
}

static void name_of(struct __test_metadata *_metadata, X509 *x, int which, const char *want)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    char buf[256];
    ASSERT_GT(n, 0);
    EXPECT_EQ(nk_cert_name(der, (size_t)n, which, buf, sizeof(buf)), OK);
    EXPECT_STR_EQ(buf, want);
    OPENSSL_free(der);
}

/* What a failed verification is explained with: the issuer that was not
 * trusted, the names the certificate is for. */
TEST(cert_issuer_and_host_names)
{
    name_of(_metadata, pki.leaf[K_RSA], NKTLS_CERT_ISSUER, "CN=nktls test intermediate, O=nktls test, C=DE");
    name_of(_metadata, pki.leaf[K_RSA], NKTLS_CERT_HOST_NAMES, "DNS:rsa.example.com");
    name_of(_metadata, pki.ip, NKTLS_CERT_HOST_NAMES, "IP:192.0.2.7, IP:2001:db8::7");
    name_of(_metadata, pki.san_cn, NKTLS_CERT_HOST_NAMES, "DNS:san.example.com");
    name_of(_metadata, pki.cn_only, NKTLS_CERT_HOST_NAMES, "CN=cn.example.com");
    unsigned char *der = NULL;
    int n = i2d_X509(pki.leaf[K_RSA], &der);
    char buf[64];
    EXPECT_EQ(nk_cert_name(der, (size_t)n, 3, buf, sizeof(buf)), ERR_INVALID_ARG);
    EXPECT_EQ(nk_cert_name(der, (size_t)n, NKTLS_CERT_HOST_NAMES, buf, 6), ERR_BUFFER_TOO_SMALL);
    EXPECT_STR_EQ(buf, "DNS:r");
    EXPECT_EQ(nk_cert_name(der, 20, NKTLS_CERT_ISSUER, buf, sizeof(buf)), ERR_CERT_DECODE);
    OPENSSL_free(der);
}

/* Handshakes on many threads share one store: they only read it. */
static void *handshake_work(void *arg)
{
    static const uint8_t msg[] = "concurrent";
    long fails = 0;
    for (int i = 0; i < 40; i++) {
        uint16_t scheme;
        const struct nk_identity *id = nk_store_pick_identity(
            pki.id_store, (i & 1) ? "rsa.example.com" : "p256.example.com",
            nk_sig_schemes, nk_sig_scheme_count, &scheme);
        uint8_t sig[512];
        size_t len = sizeof(sig);
        fails += id == NULL || nk_sig_sign(id->key, scheme, msg, sizeof(msg), sig, &len) != OK ||
                 nk_sig_verify(id->key, scheme, msg, sizeof(msg), sig, len) != OK;
        fails += vfy(REQ(.host = key_host[i % 7]), CHAIN(pki.leaf[i % 7], pki.inter)) != OK;
    }
    (void)arg;
    return (void *)fails;
}

TEST(store_shared_by_threads)
{
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, handshake_work, NULL), 0);
    for (int i = 0; i < 8; i++) {
        void *fails;
        ASSERT_EQ(pthread_join(t[i], &fails), 0);
        EXPECT_EQ((long)fails, 0L);
    }
}

TEST_HARNESS_MAIN
