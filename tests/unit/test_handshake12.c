/* test_handshake12.c — TLS 1.2 full handshakes between our client and our
 * server in memory (tls_pair.h): suite × group × server key rows, each with
 * the one suite the server enables (SSL_enableCiphers), then application
 * data, the exporter, close_notify; then the per-connection suite choice:
 * suites of one version only, the server's order against the client's
 * (NKTLS_FLAG_CLIENT_CIPHER_ORDER), suites no handshake negotiates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/hs_checks.h"
#include "unit/bad_env.h"

/* ---- suite × group × server key ---- */

FIXTURE(suite12) {
    struct tp_pair p;
};

FIXTURE_VARIANT(suite12) {
    uint16_t suite;
    uint16_t group;
    int key;              /* the server's (cert_pki.h) */
    uint16_t sig;         /* the ServerKeyExchange signature scheme it makes */
};

#define ROW(name, s, g, k, sig_) \
    FIXTURE_VARIANT_ADD(suite12, name) { .suite = s, .group = g, .key = k, .sig = sig_ }
#define P256_SIG NK_SIG_ECDSA_SECP256R1_SHA256
#define RSA_SIG NK_SIG_RSA_PSS_RSAE_SHA256
ROW(ecdsa_aes128gcm_x25519, 0xc02b, NK_GROUP_X25519, K_P256, P256_SIG);
ROW(ecdsa_aes128gcm_p256, 0xc02b, NK_GROUP_SECP256R1, K_P256, P256_SIG);
ROW(ecdsa_aes128gcm_p384, 0xc02b, NK_GROUP_SECP384R1, K_P256, P256_SIG);
ROW(ecdsa_aes128gcm_p521, 0xc02b, NK_GROUP_SECP521R1, K_P256, P256_SIG);
ROW(ecdsa_aes128gcm_x448, 0xc02b, NK_GROUP_X448, K_P256, P256_SIG);   /* RFC 8422 §5.1.1 */
ROW(rsa_chacha_x448, 0xcca8, NK_GROUP_X448, K_RSA, RSA_SIG);
ROW(ecdsa_aes256gcm_p256, 0xc02c, NK_GROUP_SECP256R1, K_P256, P256_SIG);
ROW(ecdsa_chacha_x25519, 0xcca9, NK_GROUP_X25519, K_P256, P256_SIG);
ROW(rsa_aes128gcm_x25519, 0xc02f, NK_GROUP_X25519, K_RSA, RSA_SIG);
ROW(rsa_aes256gcm_p384, 0xc030, NK_GROUP_SECP384R1, K_RSA, RSA_SIG);
ROW(rsa_chacha_p256, 0xcca8, NK_GROUP_SECP256R1, K_RSA, RSA_SIG);
/* RFC 7251: AES-CCM with 16- and 8-byte tags, only when enabled. */
ROW(ecdsa_aes128ccm_x25519, 0xc0ac, NK_GROUP_X25519, K_P256, P256_SIG);
ROW(ecdsa_aes256ccm_p256, 0xc0ad, NK_GROUP_SECP256R1, K_P256, P256_SIG);
ROW(ecdsa_aes128ccm8_p384, 0xc0ae, NK_GROUP_SECP384R1, K_P256, P256_SIG);
ROW(ecdsa_aes256ccm8_x25519, 0xc0af, NK_GROUP_X25519, K_P256, P256_SIG);

/* RFC 5246 DHE_RSA over the RFC 7919 groups (RFC 7905 for ChaCha20). */
ROW(dhe_aes128gcm_ffdhe2048, 0x009e, NK_GROUP_FFDHE2048, K_RSA, RSA_SIG);
ROW(dhe_aes256gcm_ffdhe3072, 0x009f, NK_GROUP_FFDHE3072, K_RSA, RSA_SIG);
ROW(dhe_chacha_ffdhe4096, 0xccaa, NK_GROUP_FFDHE4096, K_RSA, RSA_SIG);
ROW(dhe_aes128gcm_ffdhe6144, 0x009e, NK_GROUP_FFDHE6144, K_RSA, RSA_SIG);
ROW(dhe_aes256gcm_ffdhe8192, 0x009f, NK_GROUP_FFDHE8192, K_RSA, RSA_SIG);

/* RSA key transport (RFC 5246 §7.4.7.1): no key exchange group, no
 * ServerKeyExchange and so no signature. */
ROW(rsa_kx_aes128gcm, 0x009c, 0, K_RSA, 0);
ROW(rsa_kx_aes256gcm, 0x009d, 0, K_RSA, 0);

/* CBC with HMAC (RFC 5246 §6.2.3.2), encrypt_then_mac agreed (RFC 7366). */
ROW(ecdsa_aes128cbc_sha_x25519, 0xc009, NK_GROUP_X25519, K_P256, P256_SIG);
ROW(ecdsa_aes256cbc_sha_p256, 0xc00a, NK_GROUP_SECP256R1, K_P256, P256_SIG);
ROW(rsa_aes128cbc_sha_x25519, 0xc013, NK_GROUP_X25519, K_RSA, RSA_SIG);
ROW(rsa_aes256cbc_sha_p384, 0xc014, NK_GROUP_SECP384R1, K_RSA, RSA_SIG);
ROW(ecdsa_aes128cbc_sha256_p256, 0xc023, NK_GROUP_SECP256R1, K_P256, P256_SIG);
ROW(ecdsa_aes256cbc_sha384_p384, 0xc024, NK_GROUP_SECP384R1, K_P256, P256_SIG);
ROW(rsa_aes128cbc_sha256_x25519, 0xc027, NK_GROUP_X25519, K_RSA, RSA_SIG);
ROW(rsa_aes256cbc_sha384_x448, 0xc028, NK_GROUP_X448, K_RSA, RSA_SIG);

/* What the client enables: every TLS 1.2 suite a handshake negotiates. */
static const ubyte2 all12[] = { 0xc02b, 0xc02c, 0xc02f, 0xc030, 0xcca9, 0xcca8, 0xc0ac, 0xc0ad, 0xc0ae, 0xc0af,
                                0x009e, 0x009f, 0xccaa, 0x009c, 0x009d, 0xc009, 0xc00a, 0xc013, 0xc014,
                                0xc023, 0xc024, 0xc027, 0xc028 };

FIXTURE_SETUP(suite12)
{
    ASSERT_EQ(tp_new(&self->p, variant->key, -1), OK);
    /* The client offers every TLS 1.2 suite; the server enables only the
     * row's. RFC 8422 §5.1: the client lists the curve of an ECDSA
     * certificate (P-256) too; the server takes only the row's group. */
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_CLIENT], all12, NK_ARRAY_LEN(all12)), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_SERVER], &variant->suite, 1), OK);
    const ubyte2 groups[] = { variant->group ? variant->group : NK_GROUP_X25519, NK_GROUP_SECP256R1 };
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_CLIENT], groups, 2), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_SERVER], groups, 1), OK);
    pin_version(_metadata, &self->p, TLS12);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_version(_metadata, &self->p, TLS12);
}

FIXTURE_TEARDOWN(suite12)
{
    tp_free(&self->p);
}

TEST_F(suite12, negotiated)
{
    for (int s = 0; s < 2; s++) {
        ubyte2 suite = 0, group = 0;
        ubyte4 curves = 0, status = 0;
        ASSERT_EQ(SSL_getCipherInfo(self->p.h[s], &suite, &curves), OK);
        ASSERT_EQ(suite, variant->suite);
        ASSERT_EQ(NKTLS_cipherIdByName(NKTLS_cipherName(suite)), (sbyte4)suite);
        ASSERT_EQ(NKTLS_getNegotiatedGroup(self->p.h[s], &group), variant->group ? OK : ERR_SSL_NOT_OPEN);
        ASSERT_EQ(group, variant->group);
        ASSERT_EQ(SSL_getSessionStatus(self->p.h[s], &status), OK);
        ASSERT_EQ(status, (ubyte4)SSL_CONNECTION_OPEN);
    }
    ubyte2 sig = 0, suite;
    ASSERT_EQ(SSL_getSignatureAlgo(self->p.h[TP_CLIENT], &sig), variant->sig ? OK : ERR_SSL_NOT_OPEN);
    ASSERT_EQ(sig, variant->sig);
    ubyte4 curves = 0;
    ASSERT_EQ(SSL_getCipherInfo(self->p.h[TP_SERVER], &suite, &curves), OK);
    uint16_t listed = variant->group ? variant->group : NK_GROUP_X25519;
    ASSERT_EQ(curves, (listed < 32 ? 1u << listed : 0u) | (1u << NK_GROUP_SECP256R1));
    /* RFC 5246 §7.3: ClientHello, ClientKeyExchange, ChangeCipherSpec,
     * Finished; ServerHello, Certificate, ServerKeyExchange (not for RSA key
     * transport), ServerHelloDone, NewSessionTicket (RFC 5077 §3.3: the
     * client asked with an empty SessionTicket extension), ChangeCipherSpec,
     * Finished. */
    ASSERT_EQ(self->p.records[TP_CLIENT], 4u);
    ASSERT_EQ(self->p.records[TP_SERVER], variant->sig ? 7u : 6u);
    /* CBC: encrypt_then_mac asked for and agreed (RFC 7366), both ways. */
    int cbc = nk_suite12_by_id(variant->suite)->aead == NK_AES_CBC;
    for (int s = 0; s < 2; s++) {
        struct nk_conn *c = self->p.c[s];
        EXPECT_EQ(c->rd->ops_id, cbc ? NK_REC_OPS_TLS12_CBC_ETM : NK_REC_OPS_TLS12_AEAD);
        EXPECT_EQ(c->wr->ops_id, cbc ? NK_REC_OPS_TLS12_CBC_ETM : NK_REC_OPS_TLS12_AEAD);
    }
}

TEST_F(suite12, data)
{
    check_all_data(_metadata, &self->p);
}

TEST_F(suite12, exporter)
{
    check_exporter(_metadata, &self->p, TLS12);
}

TEST_F(suite12, no_key_update)
{
    /* TLS 1.2 has no KeyUpdate (RFC 8446 §4.6.3 is 1.3's): the call refuses
     * and the connection goes on. */
    ASSERT_EQ(SSL_sendKeyUpdateRequest(self->p.h[TP_CLIENT], 1), ERR_SSL_BAD_STATE);
    check_data(_metadata, &self->p, TP_CLIENT, 100, 1);
}

TEST_F(suite12, close_notify)
{
    check_close(_metadata, &self->p);
}

/* ---- which suites a connection may use ---- */

FIXTURE(choice) {
    struct tp_pair p;
};

FIXTURE_TEARDOWN(choice)
{
    tp_free(&self->p);
}

static uint16_t suite_of(struct __test_metadata *_metadata, struct tp_pair *p, int side)
{
    ubyte2 suite = 0;
    ubyte4 curves = 0;
    EXPECT_EQ(SSL_getCipherInfo(p->h[side], &suite, &curves), OK);
    return suite;
}

/* A server with TLS 1.3 suites only refuses a client held to TLS 1.2:
 * nothing in common, handshake_failure (RFC 5246 §7.4.1.3). */
TEST_F(choice, tls13_suites_only_refuse_tls12_client)
{
    static const ubyte2 only13[] = { SSL_TLS_AES_128_GCM_SHA256, SSL_TLS_AES_256_GCM_SHA384 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_SERVER], only13, 2), OK);
    ASSERT_EQ(SSL_ioctl(self->p.h[TP_CLIENT], SSL_SET_VERSION, (void *)(uintptr_t)3), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_NO_CIPHER_MATCH, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* The same server with a client that offers both versions: TLS 1.3. */
TEST_F(choice, tls13_suites_only_serve_tls13)
{
    static const ubyte2 only13[] = { SSL_TLS_CHACHA20_POLY1305_SHA256 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_SERVER], only13, 1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_version(_metadata, &self->p, TLS13);
    ASSERT_EQ(suite_of(_metadata, &self->p, TP_CLIENT), SSL_TLS_CHACHA20_POLY1305_SHA256);
}

/* A server with TLS 1.2 suites only takes a client that offers TLS 1.3 and
 * TLS 1.2 into TLS 1.2, without the RFC 8446 §4.1.3 downgrade sentinel: with
 * no TLS 1.3 suite it could not have chosen 1.3 (the client checks it). */
TEST_F(choice, tls12_suites_only_serve_tls12)
{
    static const ubyte2 only12[] = { 0xcca9 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_SERVER], only12, 1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_version(_metadata, &self->p, TLS12);
    ASSERT_EQ(suite_of(_metadata, &self->p, TP_CLIENT), 0xcca9);
    ASSERT_EQ(suite_of(_metadata, &self->p, TP_SERVER), 0xcca9);
}

/* A client with TLS 1.2 suites only offers TLS 1.2 only: its one suite, and
 * supported_versions (if sent) without 0x0304; the server answers TLS 1.2. */
static struct tp_hello g_seen;

static void ch_keep(struct tp_hello *h)
{
    g_seen = *h;
}

TEST_F(choice, tls12_suites_only_client_offers_tls12)
{
    static const ubyte2 only12[] = { 0xc02f, 0x1234 };
    static const uint8_t want[] = { 0xc0, 0x2f };
    struct hello_edit e = { .dir = TP_C2S, .fn = ch_keep };
    ASSERT_EQ(tp_new(&self->p, K_RSA, -1), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_CLIENT], only12, 2), OK);
    ASSERT_EQ(run_hello_edit(&self->p, &e), OK);
    check_version(_metadata, &self->p, TLS12);
    ASSERT_EQ(suite_of(_metadata, &self->p, TP_SERVER), 0xc02f);
    ASSERT_EQ(g_seen.suites_len, sizeof want);
    ASSERT_MEM_EQ(g_seen.suites, want, sizeof want);
    int sv = tp_hello_find(&g_seen, NK_EXT_SUPPORTED_VERSIONS);
    for (size_t i = 1; sv >= 0 && i + 1 < g_seen.ext[sv].len; i += 2)
        ASSERT_FALSE(g_seen.ext[sv].data[i] == 0x03 && g_seen.ext[sv].data[i + 1] == 0x04);
}

/* RFC 7919 groups are offered only when listed (NKTLS_setGroups): the
 * default supported_groups has none; and a server takes one only when it
 * lists it (TLS 1.3 here: a client offering only ffdhe2048 gets
 * handshake_failure from a server with the default groups). */
static int lists_ffdhe(const struct tp_hello *h)
{
    int sg = tp_hello_find(h, NK_EXT_SUPPORTED_GROUPS), any = 0;
    for (size_t i = 2; sg >= 0 && i + 1 < h->ext[sg].len; i += 2)
        any |= h->ext[sg].data[i] == 0x01;
    return any;
}

TEST_F(choice, ffdhe_only_when_listed)
{
    static const ubyte2 ff[] = { NK_GROUP_FFDHE2048 };
    struct hello_edit e = { .dir = TP_C2S, .fn = ch_keep };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_hello_edit(&self->p, &e), OK);
    ASSERT_GE(tp_hello_find(&g_seen, NK_EXT_SUPPORTED_GROUPS), 0);
    EXPECT_FALSE(lists_ffdhe(&g_seen));
    tp_free(&self->p);
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_CLIENT], ff, 1), OK);
    e = (struct hello_edit){ .dir = TP_C2S, .fn = ch_keep };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    EXPECT_TRUE(lists_ffdhe(&g_seen));
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_NO_GROUP_MATCH, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* The client's cipher_suites reversed on the way (transcript made to agree). */
static void ch_reverse_suites(struct tp_hello *h)
{
    uint8_t rev[sizeof h->suites];
    for (size_t i = 0; i < h->suites_len; i += 2) {
        rev[i] = h->suites[h->suites_len - 2 - i];
        rev[i + 1] = h->suites[h->suites_len - 1 - i];
    }
    memcpy(h->suites, rev, h->suites_len);
}

static void order_case(struct __test_metadata *_metadata, struct tp_pair *p, uint16_t version, int client_order,
                       uint16_t want)
{
    struct hello_edit e = { .dir = TP_C2S, .fn = ch_reverse_suites, .fix_transcript = 1 };
    ASSERT_EQ(tp_new(p, K_P256, -1), OK);
    pin_version(_metadata, p, version);
    if (client_order)
        ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], NKTLS_FLAG_CLIENT_CIPHER_ORDER), OK);
    ASSERT_EQ(run_hello_edit(p, &e), OK);
    check_version(_metadata, p, version);
    ASSERT_EQ(suite_of(_metadata, p, TP_SERVER), want);
    ASSERT_EQ(suite_of(_metadata, p, TP_CLIENT), want);
}

/* The client lists its suites last-first: by default the server keeps its
 * own order (AES-128-GCM first); with NKTLS_FLAG_CLIENT_CIPHER_ORDER it takes
 * the client's first (the ECDSA ChaCha20 suite in 1.2, CCM in 1.3). */
TEST_F(choice, server_order_tls12)
{
    order_case(_metadata, &self->p, TLS12, 0, 0xc02b);
}

TEST_F(choice, client_order_tls12)
{
    order_case(_metadata, &self->p, TLS12, 1, 0xcca9);
}

TEST_F(choice, server_order_tls13)
{
    order_case(_metadata, &self->p, TLS13, 0, SSL_TLS_AES_128_GCM_SHA256);
}

TEST_F(choice, client_order_tls13)
{
    order_case(_metadata, &self->p, TLS13, 1, SSL_TLS_AES_128_CCM_SHA256);
}

/* Suites only SSL_enableCiphers turns on (AES-CCM in TLS 1.2, the 8-byte
 * tag in TLS 1.3): a client that enabled one alone meets a server with the
 * defaults, which does not take it: handshake_failure. */
static void enabled_only_case(struct __test_metadata *_metadata, struct tp_pair *p, uint16_t version,
                              ubyte2 suite)
{
    ASSERT_EQ(tp_new(p, K_P256, -1), OK);
    pin_version(_metadata, p, version);
    ASSERT_EQ(SSL_enableCiphers(p->h[TP_CLIENT], &suite, 1), OK);
    ASSERT_EQ(tp_handshake(p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, p, TP_SERVER, ERR_SSL_NO_CIPHER_MATCH, SSL_ALERT_HANDSHAKE_FAILURE);
}

TEST_F(choice, tls12_ccm_not_by_default)
{
    enabled_only_case(_metadata, &self->p, TLS12, 0xc0ac);
}

TEST_F(choice, tls12_ccm8_not_by_default)
{
    enabled_only_case(_metadata, &self->p, TLS12, 0xc0ae);
}

TEST_F(choice, tls13_ccm8_not_by_default)
{
    enabled_only_case(_metadata, &self->p, TLS13, SSL_TLS_AES_128_CCM_8_SHA256);
}

/* Both ends enable TLS_AES_128_CCM_8_SHA256 (RFC 8446 Appendix B.4): it is
 * negotiated, data of every size flows under its 8-byte tag, the exporter
 * agrees. */
TEST_F(choice, tls13_ccm8_when_enabled)
{
    static const ubyte2 ccm8 = SSL_TLS_AES_128_CCM_8_SHA256;
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_CLIENT], &ccm8, 1), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_SERVER], &ccm8, 1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_version(_metadata, &self->p, TLS13);
    ASSERT_EQ(suite_of(_metadata, &self->p, TP_CLIENT), ccm8);
    ASSERT_EQ(suite_of(_metadata, &self->p, TP_SERVER), ccm8);
    ASSERT_STR_EQ(NKTLS_cipherName(ccm8), "TLS_AES_128_CCM_8_SHA256");
    check_all_data(_metadata, &self->p);
    check_exporter(_metadata, &self->p, TLS13);
    check_close(_metadata, &self->p);
}

/* CBC suites only when enabled; without encrypt_then_mac in the
 * ClientHello (taken out on the way, transcript made to agree) both ends
 * fall back to MAC-then-encrypt (RFC 7366 §3: the server does not answer
 * it), and data of every size still flows. */
static void ch_no_etm(struct tp_hello *h)
{
    tp_hello_del(h, NK_EXT_ENCRYPT_THEN_MAC);
}

/* A MAC-then-encrypt record from the client of 2^14 bytes with 252 bytes
 * of padding, made here with the client's write key: 16,672 bytes of
 * TLSCiphertext, past TLS 1.3's 2^14 + 256 and within TLS 1.2's 2^14 +
 * 2048 (RFC 5246 §6.2.3). The server's receive buffer has grown for it and
 * the data arrives whole. */
static void long_cbc_record(struct __test_metadata *_metadata, struct tp_pair *p)
{
    struct nk_rec_key *k = p->c[TP_CLIENT]->wr;
    const struct nk_suite *s = k->suite;
    static uint8_t rec[NK_REC_HDR + NK_MAX_CIPHER12];
    const size_t content = NK_MAX_PLAIN, m = s->tag_len;
    size_t padlen = 255 - (content + m + 256) % 16, n = content + m + padlen + 1, body = 16 + n;
    ASSERT_EQ(s->id, 0xc013);   /* AES-128-CBC, HMAC-SHA1 */
    ASSERT_GT(body, (size_t)NK_MAX_CIPHER);
    uint8_t *pt = rec + NK_REC_HDR + 16, hdr[13];
    tp_fill(pt, content, 12);
    for (int i = 0; i < 8; i++)
        hdr[i] = (uint8_t)(k->seq >> (56 - 8 * i));
    hdr[8] = NK_CT_APPLICATION_DATA, hdr[9] = hdr[10] = 3;
    nk_store16(hdr + 11, (uint16_t)content);
    static uint8_t macin[13 + NK_MAX_PLAIN];
    memcpy(macin, hdr, 13);
    memcpy(macin + 13, pt, content);
    unsigned ml = 0;
    ASSERT_NOT_NULL(HMAC(EVP_sha1(), k->key + s->key_len, (int)m, macin, 13 + content, pt + content, &ml));
    ASSERT_EQ(ml, m);
    memset(pt + content + m, (int)padlen, padlen + 1);
    rec[0] = NK_CT_APPLICATION_DATA, rec[1] = rec[2] = 3;
    nk_store16(rec + 3, (uint16_t)body);
    memset(rec + NK_REC_HDR, 0x5a, 16);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int l = 0;
    ASSERT_TRUE(x && EVP_EncryptInit_ex(x, EVP_aes_128_cbc(), NULL, k->key, rec + NK_REC_HDR)
                && EVP_CIPHER_CTX_set_padding(x, 0) && EVP_EncryptUpdate(x, pt, &l, pt, (int)n) && l == (int)n);
    EVP_CIPHER_CTX_free(x);
    k->seq++;
    p->rx[TP_SERVER].len = 0;
    ASSERT_EQ(tp_inject(p, TP_C2S, rec, NK_REC_HDR + body), OK);
    ASSERT_EQ(tp_pump(p), OK);
    ASSERT_EQ(p->c[TP_SERVER]->err, OK);
    EXPECT_GE(p->c[TP_SERVER]->in.cap, (size_t)NK_REC_HDR + NK_MAX_CIPHER12);
    ASSERT_EQ(p->rx[TP_SERVER].len, content);
    tp_fill(rec, content, 12);
    EXPECT_MEM_EQ(p->rx[TP_SERVER].p, rec, content);
}

TEST_F(choice, cbc_mac_then_encrypt)
{
    static const ubyte2 cbc[] = { 0xc013, 0xc028 };
    struct hello_edit e = { .dir = TP_C2S, .fn = ch_no_etm, .fix_transcript = 1 };
    ASSERT_EQ(tp_new(&self->p, K_RSA, -1), OK);
    pin_version(_metadata, &self->p, TLS12);
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_enableCiphers(self->p.h[s], cbc, 2), OK);
    ASSERT_EQ(run_hello_edit(&self->p, &e), OK);
    ASSERT_EQ(suite_of(_metadata, &self->p, TP_CLIENT), 0xc013);
    for (int s = 0; s < 2; s++) {
        EXPECT_EQ(self->p.c[s]->rd->ops_id, NK_REC_OPS_TLS12_CBC);
        EXPECT_EQ(self->p.c[s]->wr->ops_id, NK_REC_OPS_TLS12_CBC);
    }
    check_all_data(_metadata, &self->p);
    long_cbc_record(_metadata, &self->p);
    check_close(_metadata, &self->p);
}

/* An AEAD connection's receive buffer stays at TLS 1.3's bound (a record
 * of 2^14 + 256 and its header): only CBC's longer records cost more. */
TEST_F(choice, aead_receive_buffer_unchanged)
{
    ASSERT_EQ(tp_new(&self->p, K_RSA, -1), OK);
    pin_version(_metadata, &self->p, TLS12);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_EQ(suite_of(_metadata, &self->p, TP_CLIENT), 0xc02f);
    check_all_data(_metadata, &self->p);
    for (int s = 0; s < 2; s++)
        EXPECT_EQ(self->p.c[s]->in.cap, (size_t)NK_MAX_RECORD);
}

TEST_F(choice, cbc_not_by_default)
{
    enabled_only_case(_metadata, &self->p, TLS12, 0xc009);
}

/* Suites we never speak (RC4, NULL, 3DES, export) are not enabled by id:
 * alone they leave nothing (ERR_SSL_NO_CIPHER_MATCH, the list unchanged). */
TEST_F(choice, never_suites_refused)
{
    static const ubyte2 weak[] = { 0x0005, 0x0001, 0x000a, 0x0003 };
    ASSERT_EQ(tp_new(&self->p, K_RSA, -1), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_SERVER], weak, NK_ARRAY_LEN(weak)), ERR_SSL_NO_CIPHER_MATCH);
    pin_version(_metadata, &self->p, TLS12);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_EQ(suite_of(_metadata, &self->p, TP_SERVER), 0xc02f);
}

TEST_HARNESS_MAIN
