/* test_bad_tls12_kx.c — TLS 1.2 key exchange values a peer may send wrong:
 * a DHE value outside 1 < Yc < p-1 (handshake_failure, RFC 7919 §4), FFDHE
 * groups listed with none acceptable (insufficient_security, RFC 7919 §4),
 * an RSA-transported premaster that does not decrypt (it fails at Finished,
 * RFC 5246 §7.4.7.1), an RSA certificate without keyEncipherment for RSA key
 * transport (RFC 5246 §7.4.2). ECDHE points off the curve or of the wrong
 * length are in test_bad_tls12.c. Both ends are held to TLS 1.2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"
#include "handshake/tls12.h"
#include "core/kex.h"

FIXTURE(bad12) {
    struct tp_pair p;
};

FIXTURE_SETUP(bad12)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_ioctl(self->p.h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
}

FIXTURE_TEARDOWN(bad12)
{
    tp_free(&self->p);
}

/* A record holding one ClientKeyExchange with this body. */
static size_t cke_record(uint8_t *rec, const uint8_t *body, size_t n)
{
    size_t m = 4 + n;
    uint8_t h[9] = { NK_CT_HANDSHAKE, 3, 3, (uint8_t)(m >> 8), (uint8_t)m,
                     NK_HS_CLIENT_KEY_EXCHANGE, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
    memcpy(rec, h, sizeof h);
    memcpy(rec + sizeof h, body, n);
    return sizeof h + n;
}

/* Client records: 0 ClientHello, 1 ClientKeyExchange: replaced by body. */
static void cke_case(struct __test_metadata *_metadata, struct tp_pair *p, const uint8_t *body, size_t n,
                     MSTATUS err, int alert)
{
    static uint8_t rec[9 + 2 + NK_MAX_KEX_PUB + 1];
    struct rec_edit e = { .dir = TP_C2S, .index = 1, .op = RE_REPLACE, .bytes = rec };
    e.n = cke_record(rec, body, n);
    EXPECT_EQ(run_edit(p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, p, TP_SERVER, err, alert);
}

/* A pair held to TLS 1.2 over DHE_RSA with ffdhe2048 listed by both. */
static void dhe_pair(struct __test_metadata *_metadata, struct tp_pair *p)
{
    static const ubyte2 dhe = 0x009e, ff = NK_GROUP_FFDHE2048;
    tp_free(p);
    ASSERT_EQ(tp_new(p, K_RSA, -1), OK);
    for (int s = 0; s < 2; s++) {
        ASSERT_EQ(SSL_ioctl(p->h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
        ASSERT_EQ(SSL_enableCiphers(p->h[s], &dhe, 1), OK);
        ASSERT_EQ(NKTLS_setGroups(p->h[s], &ff, 1), OK);
    }
}

TEST_F(bad12, dhe_baseline)
{
    ubyte2 group = 0;
    dhe_pair(_metadata, &self->p);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_EQ(NKTLS_getNegotiatedGroup(self->p.h[TP_CLIENT], &group), OK);
    ASSERT_EQ(group, NK_GROUP_FFDHE2048);
}

/* RFC 7919 §4: "the server MUST verify that 1 < dh_Yc < dh_p - 1 ... MUST
 * terminate the connection with a fatal handshake_failure(40) alert": 0, 1
 * (short and padded), p-1 (the 2-element subgroup), p, and a value longer
 * than p. */
TEST_F(bad12, dhe_client_value_out_of_range)
{
    uint8_t p[NK_MAX_KEX_PUB], g[8], body[2 + NK_MAX_KEX_PUB + 1];
    size_t gl, len = 256;
    ASSERT_EQ(nk_kex_ffdhe_pg(NK_GROUP_FFDHE2048, p, g, &gl), OK);
    const struct { size_t n; int what; } cases[] = {
        { 1, 0 }, { 1, 1 }, { 256, 1 }, { 256, 'm' }, { 256, 'p' }, { 257, 'p' },
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(cases); i++) {
        size_t n = cases[i].n;
        memset(body + 2, 0, n);
        if (cases[i].what == 'm' || cases[i].what == 'p')
            memcpy(body + 2 + n - len, p, len);
        else
            body[2 + n - 1] = (uint8_t)cases[i].what;
        if (cases[i].what == 'm')
            body[2 + n - 1] -= 1;   /* p is odd: p-1 */
        body[0] = (uint8_t)(n >> 8);
        body[1] = (uint8_t)n;
        dhe_pair(_metadata, &self->p);
        cke_case(_metadata, &self->p, body, 2 + n, ERR_SSL_BAD_DH_VALUE, SSL_ALERT_HANDSHAKE_FAILURE);
    }
}

/* RFC 7919 §4: the client lists FFDHE groups, none is one the server takes,
 * and it offers no other suite the server has: insufficient_security. */
TEST_F(bad12, dhe_no_acceptable_ffdhe_group)
{
    static const ubyte2 ff3072[] = { NK_GROUP_FFDHE3072, NK_GROUP_SECP256R1 };
    dhe_pair(_metadata, &self->p);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_CLIENT], ff3072, 2), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_INSUFFICIENT_SECURITY, SSL_ALERT_INSUFFICIENT_SECURITY);
}

/* The same client with an ECDHE suite too gets that one (§4: "the server
 * SHOULD select an acceptable non-FFDHE cipher suite"). */
TEST_F(bad12, dhe_no_acceptable_group_falls_back_to_ecdhe)
{
    static const ubyte2 ff3072[] = { NK_GROUP_FFDHE3072, NK_GROUP_SECP256R1 };
    static const ubyte2 both[] = { 0x009e, 0xc02f };
    ubyte2 suite = 0;
    ubyte4 curves;
    dhe_pair(_metadata, &self->p);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_CLIENT], ff3072, 2), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_CLIENT], both, 2), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_SERVER], both, 2), OK);
    static const ubyte2 srv_groups[] = { NK_GROUP_FFDHE2048, NK_GROUP_SECP256R1 };
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_SERVER], srv_groups, 2), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_EQ(SSL_getCipherInfo(self->p.h[TP_CLIENT], &suite, &curves), OK);
    ASSERT_EQ(suite, 0xc02f);
}

/* RFC 5246 §7.4.7.1: an EncryptedPreMasterSecret that does not decrypt
 * gives the server a random premaster: the handshake fails at the client's
 * Finished, which does not open under the server's keys (bad_record_mac),
 * the same failure a wrong premaster of the right form gives. */
TEST_F(bad12, rsa_kx_bad_ciphertext_fails_at_finished)
{
    static const ubyte2 rsa = 0x009c;
    uint8_t body[2 + 256];
    tp_free(&self->p);
    ASSERT_EQ(tp_new(&self->p, K_RSA, -1), OK);
    for (int s = 0; s < 2; s++) {
        ASSERT_EQ(SSL_ioctl(self->p.h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
        ASSERT_EQ(SSL_enableCiphers(self->p.h[s], &rsa, 1), OK);
    }
    body[0] = 1;
    body[1] = 0;
    memset(body + 2, 0x5a, 256);
    body[2] = 0;
    cke_case(_metadata, &self->p, body, sizeof body, ERR_SSL_BAD_RECORD_MAC, SSL_ALERT_BAD_RECORD_MAC);
}

/* RFC 5246 §7.4.2: a server whose RSA certificate's keyUsage lacks
 * keyEncipherment does not take RSA key transport: with nothing else in
 * common, handshake_failure. */
TEST_F(bad12, rsa_kx_needs_key_encipherment)
{
    static const ubyte2 rsa = 0x009c;
    char san[128];
    snprintf(san, sizeof san, "DNS:%s", key_host[K_RSA]);
    struct spec sp = { key_host[K_RSA], san, 0, -DAY, 365 * DAY, NULL, NULL, "critical,digitalSignature" };
    X509 *leaf = make_cert(pki.key[K_RSA], &sp, pki.inter, pki.inter_key);
    certStorePtr srv = tp_store_new(), cli = tp_store_new();
    ASSERT_EQ(tp_store_identity(srv, leaf, pki.key[K_RSA], pki.inter), OK);
    X509_free(leaf);
    ASSERT_EQ(tp_store_trust(srv, pki.root), OK);
    ASSERT_EQ(tp_store_trust(cli, pki.root), OK);
    tp_free(&self->p);
    ASSERT_EQ(tp_new_stores(&self->p, srv, cli, key_host[K_RSA]), OK);
    for (int s = 0; s < 2; s++) {
        ASSERT_EQ(SSL_ioctl(self->p.h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
        ASSERT_EQ(SSL_enableCiphers(self->p.h[s], &rsa, 1), OK);
    }
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_NO_CIPHER_MATCH, SSL_ALERT_HANDSHAKE_FAILURE);
}


TEST_HARNESS_MAIN
