/* test_bad_tls12.c — TLS 1.2 handshakes (RFC 5246) that must fail, in memory:
 * messages out of order and ChangeCipherSpec where it has no place
 * (unexpected_message), extended master secret missing on either side
 * (handshake_failure, RFC 7627), a non-empty renegotiation_info
 * (handshake_failure, RFC 5746 §3.4), a ClientKeyExchange whose ECDHE point
 * is off the curve or of the wrong length (illegal_parameter) or whose DHE
 * value is outside 1 < Yc < p-1 (handshake_failure, RFC 7919 §4), FFDHE
 * groups listed with none acceptable (insufficient_security, RFC 7919 §4).
 * Both ends are held to TLS 1.2 unless a case says otherwise. (The downgrade
 * sentinel is in test_bad_hello.c.) */
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

static const uint8_t ccs_record[] = { NK_CT_CHANGE_CIPHER_SPEC, 3, 3, 0, 1, 1 };

/* The good path first: the rest only means something if this works. */
TEST_F(bad12, baseline_tls12)
{
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(self->p.c[TP_CLIENT]->minor, 3);
    EXPECT_EQ(self->p.c[TP_SERVER]->minor, 3);
}

/* Server records: 0 ServerHello, 1 Certificate, 2 ServerKeyExchange,
 * 3 ServerHelloDone. A second Certificate where the ServerKeyExchange
 * belongs has no row: unexpected_message. */
TEST_F(bad12, certificate_twice)
{
    struct rec_edit e = { .dir = TP_S2C, .index = 1, .op = RE_DUP };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* RFC 5246 §7.1: a ChangeCipherSpec before the ClientKeyExchange. */
TEST_F(bad12, ccs_before_client_key_exchange)
{
    struct rec_edit e = { .dir = TP_C2S, .index = 0, .op = RE_APPEND, .bytes = ccs_record,
                          .n = sizeof ccs_record };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* Client records: 0 ClientHello, 1 ClientKeyExchange, 2 ChangeCipherSpec,
 * 3 Finished. A second ChangeCipherSpec where the Finished belongs. */
TEST_F(bad12, ccs_twice)
{
    struct rec_edit e = { .dir = TP_C2S, .index = 2, .op = RE_DUP };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* A ChangeCipherSpec from the server before its ServerHelloDone. */
TEST_F(bad12, server_ccs_early)
{
    struct rec_edit e = { .dir = TP_S2C, .index = 0, .op = RE_APPEND, .bytes = ccs_record,
                          .n = sizeof ccs_record };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

static void drop_ems(struct tp_hello *h)
{
    tp_hello_del(h, NK_EXT_EXTENDED_MASTER_SECRET);
}

/* RFC 7627: required by default. A ClientHello without it: the server says
 * handshake_failure. */
TEST_F(bad12, client_without_ems)
{
    struct hello_edit e = { .dir = TP_C2S, .fn = drop_ems, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* A ServerHello without it: the client says handshake_failure. */
TEST_F(bad12, server_without_ems)
{
    struct hello_edit e = { .dir = TP_S2C, .fn = drop_ems };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_HANDSHAKE_FAILURE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

static void reneg_not_empty(struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_RENEGOTIATION_INFO);
    if (i < 0 || h->ext[i].len != 1)
        return;
    /* renegotiated_connection<0..255> of one byte: 01 xx */
    h->ext[i].data[0] = 1;
    h->ext[i].data[1] = 0x5a;
    h->ext[i].len = 2;
}

/* RFC 5746 §3.4: in an initial handshake renegotiated_connection must be
 * empty; the client checks the server's. */
TEST_F(bad12, server_renegotiation_info_not_empty)
{
    struct hello_edit e = { .dir = TP_S2C, .fn = reneg_not_empty };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_HANDSHAKE_FAILURE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* RFC 5746 §3.6: and the server the client's. */
TEST_F(bad12, client_renegotiation_info_not_empty)
{
    struct hello_edit e = { .dir = TP_C2S, .fn = reneg_not_empty, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* ---- ClientKeyExchange values ---- */

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

/* RFC 8422 §5.7: P-256 (the one group both list here): a point off the curve,
 * and a point of X25519's length; ERR_SSL_BAD_KEY_SHARE, illegal_parameter. */
TEST_F(bad12, ecdhe_point_not_on_curve)
{
    uint8_t body[1 + 65];
    static const ubyte2 p256 = NK_GROUP_SECP256R1;
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_SERVER], &p256, 1), OK);
    body[0] = 65;
    body[1] = 4;
    memset(body + 2, 0x11, 64);
    cke_case(_metadata, &self->p, body, sizeof body, ERR_SSL_BAD_KEY_SHARE, SSL_ALERT_ILLEGAL_PARAMETER);
}

TEST_F(bad12, ecdhe_point_wrong_length)
{
    uint8_t body[1 + 32];
    static const ubyte2 p256 = NK_GROUP_SECP256R1;
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_SERVER], &p256, 1), OK);
    body[0] = 32;
    memset(body + 1, 0x09, 32);
    cke_case(_metadata, &self->p, body, sizeof body, ERR_SSL_BAD_KEY_SHARE, SSL_ALERT_ILLEGAL_PARAMETER);
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
