/* test_bad_cert.c — certificates that must not verify, and identities chosen
 * by name: an unknown CA, an expired leaf, the wrong host name, a client that
 * has no certificate or one from an issuer the server does not trust
 * (RFC 8446 §4.4.2.4), and a server with several identities answering with
 * the one the client's SNI names, or with its first when none matches.
 * Each case checks the error on the side that detects it (c->err), the alert
 * it sends (c->alert_out), and that the peer then reports exactly that alert
 * as fatal and sends nothing back (bad_env.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"

/* Every case runs on one pair; the teardown releases it even after a failed
 * check, so the sanitizer build reports only the library's leaks. */
FIXTURE(bad) {
    struct tp_pair p;
};

FIXTURE_TEARDOWN(bad)
{
    tp_free(&self->p);
}

/* ---- certificates ---- */

/* A pair whose server sends leaf (with the intermediate) and whose client
 * trusts anchor and asks for host. */
static MSTATUS cert_pair(struct tp_pair *p, X509 *leaf, EVP_PKEY *key, X509 *anchor, const char *host)
{
    certStorePtr srv = tp_store_new(), cli = tp_store_new();
    MSTATUS st = srv && cli ? OK : ERR_MEM_ALLOC_FAIL;
    if (st == OK)
        st = tp_store_identity(srv, leaf, key, pki.inter);
    if (st == OK)
        st = tp_store_trust(cli, anchor);
    if (st != OK) {
        CERT_STORE_releaseStore(&srv);
        CERT_STORE_releaseStore(&cli);
        memset(p, 0, sizeof *p);
        return st;
    }
    return tp_new_stores(p, srv, cli, host);
}

TEST_F(bad, unknown_ca)
{
    ASSERT_EQ(cert_pair(&self->p, pki.leaf[K_RSA], pki.key[K_RSA], pki.other_root, key_host[K_RSA]), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY, SSL_ALERT_UNKNOWN_CA);
}

TEST_F(bad, expired_certificate)
{
    ASSERT_EQ(cert_pair(&self->p, pki.expired, pki.key[K_P256], pki.root, "expired.example.com"), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_CERT_EXPIRED);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_CERT_EXPIRED, SSL_ALERT_CERTIFICATE_EXPIRED);
}

TEST_F(bad, wrong_host_name)
{
    ASSERT_EQ(cert_pair(&self->p, pki.leaf[K_RSA], pki.key[K_RSA], pki.root, "other.example"), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_CERT_HOSTNAME_MISMATCH);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_CERT_HOSTNAME_MISMATCH, SSL_ALERT_CERTIFICATE_UNKNOWN);
}

TEST_F(bad, client_certificate_required)
{
    /* §4.4.2.4: the client has no certificate and says so with an empty
     * Certificate; the server insists: certificate_required. */
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_setSessionFlags(self->p.h[TP_SERVER], SSL_FLAG_REQUIRE_MUTUAL_AUTH), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_CERTIFICATE_REQUIRED, SSL_ALERT_CERTIFICATE_REQUIRED);
}

TEST_F(bad, client_certificate_unknown_ca)
{
    /* The server does not trust the client's issuer. */
    certStorePtr srv = tp_store_new(), cli = tp_store_new();
    ASSERT_NOT_NULL(srv);
    ASSERT_NOT_NULL(cli);
    ASSERT_EQ(tp_store_identity(srv, pki.leaf[K_P256], pki.key[K_P256], pki.inter), OK);
    ASSERT_EQ(tp_store_trust(srv, pki.other_root), OK);
    ASSERT_EQ(tp_store_trust(cli, pki.root), OK);
    ASSERT_EQ(tp_store_identity(cli, pki.leaf[K_RSA], pki.key[K_RSA], pki.inter), OK);
    ASSERT_EQ(tp_new_stores(&self->p, srv, cli, key_host[K_P256]), OK);
    ASSERT_EQ(SSL_setSessionFlags(self->p.h[TP_SERVER], SSL_FLAG_REQUIRE_MUTUAL_AUTH), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY, SSL_ALERT_UNKNOWN_CA);
}

/* Two identities; the server answers with the one the client's SNI names. */
TEST_F(bad, identity_chosen_by_sni)
{
    static const struct { int key; uint16_t scheme; } want[] = {
        { K_P256, NK_SIG_ECDSA_SECP256R1_SHA256 },
        { K_RSA, NK_SIG_RSA_PSS_RSAE_SHA256 },
        { K_ED25519, NK_SIG_ED25519 },
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(want); i++) {
        certStorePtr srv = tp_store_new(), cli = tp_store_new();
        ASSERT_NOT_NULL(srv);
        ASSERT_NOT_NULL(cli);
        ASSERT_EQ(tp_store_identity(srv, pki.leaf[K_RSA], pki.key[K_RSA], pki.inter), OK);
        ASSERT_EQ(tp_store_identity(srv, pki.leaf[K_P256], pki.key[K_P256], pki.inter), OK);
        ASSERT_EQ(tp_store_identity(srv, pki.leaf[K_ED25519], pki.key[K_ED25519], pki.inter), OK);
        ASSERT_EQ(tp_store_trust(cli, pki.root), OK);
        ASSERT_EQ(tp_new_stores(&self->p, srv, cli, key_host[want[i].key]), OK);
        ASSERT_EQ(tp_handshake(&self->p), OK) TH_LOG("for %s", key_host[want[i].key]);
        ubyte2 sig = 0;
        const sbyte *name = NULL;
        ASSERT_EQ(SSL_getSignatureAlgo(self->p.h[TP_CLIENT], &sig), OK);
        ASSERT_EQ(sig, want[i].scheme);
        ASSERT_EQ(NKTLS_getServerName(self->p.h[TP_SERVER], &name), OK);
        ASSERT_STR_EQ((const char *)name, key_host[want[i].key]);
        tp_free(&self->p);
    }
}

TEST_F(bad, sni_matching_no_identity)
{
    /* No identity for the name: the server falls back to its first one, which
     * the client then refuses for the name it asked for. */
    ASSERT_EQ(cert_pair(&self->p, pki.leaf[K_RSA], pki.key[K_RSA], pki.root, "nothere.example.com"), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_CERT_HOSTNAME_MISMATCH);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_CERT_HOSTNAME_MISMATCH, SSL_ALERT_CERTIFICATE_UNKNOWN);
}

TEST_HARNESS_MAIN
