/* test_handshake.c — full handshakes between our client and our server in
 * memory (tls_pair.h), swept over protocol version × cipher suite × group and
 * over version × server key × HelloRetryRequest × mutual authentication (TLS
 * 1.3 rows; TLS 1.2's are in test_handshake12.c; every case checks both ends
 * agreed on its row's version);
 * then application data, the exporter, KeyUpdate, close_notify, ALPN, SNI,
 * record_size_limit, handshake messages split over many records and packed
 * into one, empty records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/hs_checks.h"

#define SUITE_AES128 SSL_TLS_AES_128_GCM_SHA256
#define SUITE_AES256 SSL_TLS_AES_256_GCM_SHA384
#define SUITE_CHACHA SSL_TLS_CHACHA20_POLY1305_SHA256
#define SUITE_CCM    SSL_TLS_AES_128_CCM_SHA256

/* The CertificateVerify scheme each key must produce: the first of our
 * preferences that fits it (RFC 8446 §4.2.3). */
static uint16_t scheme_for(int key)
{
    switch (key) {
    case K_P256: return NK_SIG_ECDSA_SECP256R1_SHA256;
    case K_P384: return NK_SIG_ECDSA_SECP384R1_SHA384;
    case K_P521: return NK_SIG_ECDSA_SECP521R1_SHA512;
    case K_RSA: return NK_SIG_RSA_PSS_RSAE_SHA256;
    case K_RSA_PSS: return NK_SIG_RSA_PSS_PSS_SHA256;
    case K_ED25519: return NK_SIG_ED25519;
    case K_ED448: return NK_SIG_ED448;
    default: return 0;
    }
}

/* ---- KeyUpdate: the records on the wire, opened with the sender's old key ---- */

struct ku_watch {
    struct tp_crypt k[2];
    int armed[2];
    unsigned n[2];                /* records sent each way since armed */
    MSTATUS st[2];
    uint8_t type[2];              /* inner content type of the first */
    struct nk_buf first[2];       /* its plaintext */
};

static void ku_hook(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct ku_watch *w = arg;
    if (!w->armed[dir] || w->n[dir]++)
        return;
    w->st[dir] = tp_crypt_open(&w->k[dir], rec->p, rec->len, &w->type[dir], &w->first[dir]);
}

static MSTATUS ku_arm(struct ku_watch *w, struct tp_pair *p)
{
    memset(w, 0, sizeof *w);
    for (int d = 0; d < 2; d++) {
        struct nk_conn *c = p->c[d];
        NK_TRY(tp_crypt_init(&w->k[d], c->suite, d == TP_C2S ? c->c_ap : c->s_ap, c->wr->seq));
        w->armed[d] = 1;
    }
    p->hook = ku_hook;
    p->hook_arg = w;
    return OK;
}

static void ku_free(struct tp_pair *p, struct ku_watch *w)
{
    p->hook = NULL;
    for (int d = 0; d < 2; d++) {
        tp_crypt_free(&w->k[d]);
        nk_buf_free(&w->first[d]);
    }
}

/* One side asks for a KeyUpdate with update_requested: both sides rekey both
 * directions, and the peer's answer is exactly one KeyUpdate record with
 * update_not_requested (§4.6.3). Data flows under the new keys. */
static void check_key_update(struct __test_metadata *_metadata, struct tp_pair *p, int from,
                             int requested)
{
    struct ku_watch w;
    struct nk_conn *cli = p->c[TP_CLIENT], *srv = p->c[TP_SERVER];
    size_t hl = nk_hash_len(cli->suite->hash);
    uint8_t c_ap[NK_MAX_HASH], s_ap[NK_MAX_HASH];
    memcpy(c_ap, cli->c_ap, hl);
    memcpy(s_ap, cli->s_ap, hl);
    ASSERT_EQ(ku_arm(&w, p), OK);
    MSTATUS st = SSL_sendKeyUpdateRequest(p->h[from], (ubyte)requested);
    if (st == OK)
        st = tp_pump(p);
    /* Keep what the checks need, then release the watch before any can fail. */
    uint8_t first[2][8] = { { 0 } };
    size_t first_len[2];
    for (int d = 0; d < 2; d++) {
        first_len[d] = w.first[d].len;
        if (first_len[d])
            memcpy(first[d], w.first[d].p, first_len[d] < 8 ? first_len[d] : 8);
    }
    ku_free(p, &w);
    const uint8_t ku_req[5] = { NK_HS_KEY_UPDATE, 0, 0, 1, (uint8_t)requested };
    const uint8_t ku_ans[5] = { NK_HS_KEY_UPDATE, 0, 0, 1, 0 };
    ASSERT_EQ(st, OK);
    ASSERT_EQ(cli->err, OK);
    ASSERT_EQ(srv->err, OK);
    ASSERT_EQ(w.n[from], 1u);
    ASSERT_EQ(w.st[from], OK);
    ASSERT_EQ(w.type[from], NK_CT_HANDSHAKE);
    ASSERT_EQ(first_len[from], sizeof ku_req);
    ASSERT_MEM_EQ(first[from], ku_req, sizeof ku_req);
    ASSERT_EQ(w.n[1 - from], requested ? 1u : 0u);
    if (requested) {
        ASSERT_EQ(w.st[1 - from], OK);
        ASSERT_EQ(w.type[1 - from], NK_CT_HANDSHAKE);
        ASSERT_EQ(first_len[1 - from], sizeof ku_ans);
        ASSERT_MEM_EQ(first[1 - from], ku_ans, sizeof ku_ans);
    }
    /* Both secrets moved on exactly where they should, and both sides agree. */
    ASSERT_MEM_EQ(cli->c_ap, srv->c_ap, hl);
    ASSERT_MEM_EQ(cli->s_ap, srv->s_ap, hl);
    int sender_secret_changed = memcmp(from == TP_CLIENT ? cli->c_ap : cli->s_ap,
                                       from == TP_CLIENT ? c_ap : s_ap, hl) != 0;
    int other_secret_changed = memcmp(from == TP_CLIENT ? cli->s_ap : cli->c_ap,
                                      from == TP_CLIENT ? s_ap : c_ap, hl) != 0;
    ASSERT_TRUE(sender_secret_changed);
    ASSERT_EQ(other_secret_changed, requested);
    check_data(_metadata, p, TP_CLIENT, 1000, 7);
    check_data(_metadata, p, TP_SERVER, 1000, 8);
}

/* ---- version × cipher suite × group, server key P-256 ---- */

FIXTURE(suite_group) {
    struct tp_pair p;
};

FIXTURE_VARIANT(suite_group) {
    uint16_t version;     /* as on the wire: 0x0304 is TLS 1.3 */
    uint16_t suite;
    uint16_t group;
};

#define SG(name, v, s, g) \
    FIXTURE_VARIANT_ADD(suite_group, name) { .version = v, .suite = s, .group = g }
SG(tls13_aes128gcm_x25519, TLS13, SUITE_AES128, NK_GROUP_X25519);
SG(tls13_aes128gcm_p256, TLS13, SUITE_AES128, NK_GROUP_SECP256R1);
SG(tls13_aes128gcm_p384, TLS13, SUITE_AES128, NK_GROUP_SECP384R1);
SG(tls13_aes128gcm_x448, TLS13, SUITE_AES128, NK_GROUP_X448);
SG(tls13_aes128gcm_p521, TLS13, SUITE_AES128, NK_GROUP_SECP521R1);
SG(tls13_aes256gcm_x25519, TLS13, SUITE_AES256, NK_GROUP_X25519);
SG(tls13_aes256gcm_p256, TLS13, SUITE_AES256, NK_GROUP_SECP256R1);
SG(tls13_aes256gcm_p384, TLS13, SUITE_AES256, NK_GROUP_SECP384R1);
SG(tls13_aes256gcm_x448, TLS13, SUITE_AES256, NK_GROUP_X448);
SG(tls13_aes256gcm_p521, TLS13, SUITE_AES256, NK_GROUP_SECP521R1);
SG(tls13_chacha_x25519, TLS13, SUITE_CHACHA, NK_GROUP_X25519);
SG(tls13_chacha_p256, TLS13, SUITE_CHACHA, NK_GROUP_SECP256R1);
SG(tls13_chacha_p384, TLS13, SUITE_CHACHA, NK_GROUP_SECP384R1);
SG(tls13_chacha_x448, TLS13, SUITE_CHACHA, NK_GROUP_X448);
SG(tls13_chacha_p521, TLS13, SUITE_CHACHA, NK_GROUP_SECP521R1);
SG(tls13_aes128ccm_x25519, TLS13, SUITE_CCM, NK_GROUP_X25519);
SG(tls13_aes128ccm_p256, TLS13, SUITE_CCM, NK_GROUP_SECP256R1);
SG(tls13_aes128ccm_p384, TLS13, SUITE_CCM, NK_GROUP_SECP384R1);
SG(tls13_aes128ccm_x448, TLS13, SUITE_CCM, NK_GROUP_X448);
SG(tls13_aes128ccm_p521, TLS13, SUITE_CCM, NK_GROUP_SECP521R1);
/* RFC 7919 groups in TLS 1.3 (RFC 8446 §4.2.7), listed by both ends. */
SG(tls13_aes128gcm_ffdhe2048, TLS13, SUITE_AES128, NK_GROUP_FFDHE2048);
SG(tls13_chacha_ffdhe3072, TLS13, SUITE_CHACHA, NK_GROUP_FFDHE3072);
SG(tls13_aes256gcm_ffdhe4096, TLS13, SUITE_AES256, NK_GROUP_FFDHE4096);
SG(tls13_aes128ccm_ffdhe6144, TLS13, SUITE_CCM, NK_GROUP_FFDHE6144);
SG(tls13_aes256gcm_ffdhe8192, TLS13, SUITE_AES256, NK_GROUP_FFDHE8192);
/* TLS 1.2's rows are in test_handshake12.c. */

FIXTURE_SETUP(suite_group)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    /* The server allows only the variant's suite, out of a client offer of all
     * four; the client offers (and shares) only the variant's group. */
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_SERVER], &variant->suite, 1), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_CLIENT], &variant->group, 1), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_SERVER], &variant->group, 1), OK);
    pin_version(_metadata, &self->p, variant->version);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_version(_metadata, &self->p, variant->version);
}

FIXTURE_TEARDOWN(suite_group)
{
    tp_free(&self->p);
}

TEST_F(suite_group, negotiated)
{
    for (int s = 0; s < 2; s++) {
        ubyte2 suite = 0, group = 0;
        ubyte4 curves = 0, version = 0, status = 0;
        ASSERT_EQ(SSL_getCipherInfo(self->p.h[s], &suite, &curves), OK);
        ASSERT_EQ(suite, variant->suite);
        ASSERT_EQ(NKTLS_getNegotiatedGroup(self->p.h[s], &group), OK);
        ASSERT_EQ(group, variant->group);
        ASSERT_EQ(SSL_getSSLTLSVersion(self->p.h[s], &version), OK);
        ASSERT_EQ(version, (ubyte4)(variant->version & 0xff));
        ASSERT_EQ(SSL_getSessionStatus(self->p.h[s], &status), OK);
        ASSERT_EQ(status, (ubyte4)SSL_CONNECTION_OPEN);
    }
    ubyte2 sig = 0;
    ASSERT_EQ(SSL_getSignatureAlgo(self->p.h[TP_CLIENT], &sig), OK);
    ASSERT_EQ(sig, NK_SIG_ECDSA_SECP256R1_SHA256);
    /* The client did not authenticate: the server saw no signature. */
    ASSERT_EQ(SSL_getSignatureAlgo(self->p.h[TP_SERVER], &sig), ERR_SSL_NOT_OPEN);
    /* The server learned the client's groups. */
    ubyte2 suite;
    ubyte4 curves = 0;
    ASSERT_EQ(SSL_getCipherInfo(self->p.h[TP_SERVER], &suite, &curves), OK);
    ASSERT_EQ(curves, variant->group < 32 ? 1u << variant->group : 0u);   /* a mask of the ids below 32 */
    /* One ClientHello, no HelloRetryRequest: CH, CCS, Finished from the client;
     * SH, CCS, EE, Certificate, CertificateVerify, Finished from the server,
     * and no NewSessionTicket: this client keeps no tickets, so it sends no
     * psk_key_exchange_modes (RFC 8446 §4.2.9). */
    ASSERT_EQ(self->p.records[TP_CLIENT], 3u);
    ASSERT_EQ(self->p.records[TP_SERVER], 6u);
}

TEST_F(suite_group, data)
{
    check_all_data(_metadata, &self->p);
}

TEST_F(suite_group, exporter)
{
    check_exporter(_metadata, &self->p, variant->version);
}

TEST_F(suite_group, key_update)
{
    check_key_update(_metadata, &self->p, TP_CLIENT, 1);
    check_key_update(_metadata, &self->p, TP_SERVER, 1);
    check_key_update(_metadata, &self->p, TP_CLIENT, 0);
}

TEST_F(suite_group, close_notify)
{
    check_close(_metadata, &self->p);
}

/* ---- version × server key × HelloRetryRequest × mutual authentication ---- */

/* Counts the hellos on the wire: ClientHellos from the client, and
 * HelloRetryRequests among the server's ServerHellos. */
struct hello_count {
    unsigned ch, sh, hrr;
    int hrr_cookie;
};

static void hello_hook(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct hello_count *n = arg;
    struct tp_hello h;
    if (tp_hello_from_record(rec, &h) != OK)
        return;
    if (dir == TP_C2S && h.msg_type == NK_HS_CLIENT_HELLO)
        n->ch++;
    if (dir == TP_S2C && h.msg_type == NK_HS_SERVER_HELLO) {
        n->sh++;
        if (tp_is_hrr(&h)) {
            n->hrr++;
            n->hrr_cookie = tp_hello_find(&h, NK_EXT_COOKIE) >= 0;
        }
    }
}

FIXTURE(auth) {
    struct tp_pair p;
    struct hello_count n;
};

FIXTURE_VARIANT(auth) {
    uint16_t version; /* as on the wire: 0x0304 is TLS 1.3 */
    int srv_key;
    int cli_key;      /* -1: no mutual authentication */
    int hrr;
    uint16_t suite;
};

#define AUTH(name, v, sk, ck, h, s)                                       \
    FIXTURE_VARIANT_ADD(auth, name) {                                     \
        .version = v, .srv_key = sk, .cli_key = ck, .hrr = h, .suite = s  \
    }
AUTH(tls13_p256, TLS13, K_P256, -1, 0, SUITE_AES128);
AUTH(tls13_p256_hrr, TLS13, K_P256, -1, 1, SUITE_AES256);
AUTH(tls13_p256_mutual, TLS13, K_P256, K_ED25519, 0, SUITE_CHACHA);
AUTH(tls13_p256_hrr_mutual, TLS13, K_P256, K_ED25519, 1, SUITE_CCM);
AUTH(tls13_p384, TLS13, K_P384, -1, 0, SUITE_AES256);
AUTH(tls13_p384_hrr, TLS13, K_P384, -1, 1, SUITE_CHACHA);
AUTH(tls13_p384_mutual, TLS13, K_P384, K_RSA, 0, SUITE_CCM);
AUTH(tls13_p384_hrr_mutual, TLS13, K_P384, K_RSA, 1, SUITE_AES128);
AUTH(tls13_rsa, TLS13, K_RSA, -1, 0, SUITE_CHACHA);
AUTH(tls13_rsa_hrr, TLS13, K_RSA, -1, 1, SUITE_CCM);
AUTH(tls13_rsa_mutual, TLS13, K_RSA, K_P256, 0, SUITE_AES128);
AUTH(tls13_rsa_hrr_mutual, TLS13, K_RSA, K_P256, 1, SUITE_AES256);
AUTH(tls13_rsa_pss, TLS13, K_RSA_PSS, -1, 0, SUITE_CCM);
AUTH(tls13_rsa_pss_hrr, TLS13, K_RSA_PSS, -1, 1, SUITE_AES128);
AUTH(tls13_rsa_pss_mutual, TLS13, K_RSA_PSS, K_P384, 0, SUITE_AES256);
AUTH(tls13_rsa_pss_hrr_mutual, TLS13, K_RSA_PSS, K_P384, 1, SUITE_CHACHA);
AUTH(tls13_ed25519, TLS13, K_ED25519, -1, 0, SUITE_AES128);
AUTH(tls13_ed25519_hrr, TLS13, K_ED25519, -1, 1, SUITE_AES256);
AUTH(tls13_ed25519_mutual, TLS13, K_ED25519, K_RSA_PSS, 0, SUITE_CHACHA);
AUTH(tls13_ed25519_hrr_mutual, TLS13, K_ED25519, K_RSA_PSS, 1, SUITE_CCM);

FIXTURE_SETUP(auth)
{
    struct tp_pair *p = &self->p;
    ASSERT_EQ(tp_new(p, variant->srv_key, variant->cli_key), OK);
    ASSERT_EQ(SSL_enableCiphers(p->h[TP_SERVER], &variant->suite, 1), OK);
    if (variant->cli_key >= 0)
        ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], SSL_FLAG_REQUIRE_MUTUAL_AUTH), OK);
    if (variant->hrr) {
        /* The client's share (its first group) is one the server does not take:
         * the server asks again for its own first choice. */
        static const ubyte2 cli_groups[] = { NK_GROUP_X25519, NK_GROUP_SECP256R1 };
        static const ubyte2 srv_groups[] = { NK_GROUP_SECP384R1, NK_GROUP_SECP256R1 };
        ASSERT_EQ(NKTLS_setGroups(p->h[TP_CLIENT], cli_groups, 2), OK);
        ASSERT_EQ(NKTLS_setGroups(p->h[TP_SERVER], srv_groups, 2), OK);
    }
    pin_version(_metadata, p, variant->version);
    /* Every handshake record reaches its receiver one byte at a time. */
    p->chunk = 1;
    p->hook = hello_hook;
    p->hook_arg = &self->n;
    ASSERT_EQ(tp_handshake(p), OK);
    p->hook = NULL;
    p->chunk = 0;
    check_version(_metadata, p, variant->version);
}

FIXTURE_TEARDOWN(auth)
{
    tp_free(&self->p);
}

TEST_F(auth, negotiated)
{
    struct tp_pair *p = &self->p;
    uint16_t want_group = variant->hrr ? NK_GROUP_SECP256R1 : NK_GROUP_X25519;
    check_version(_metadata, p, variant->version);
    for (int s = 0; s < 2; s++) {
        ubyte2 suite = 0, group = 0;
        ubyte4 curves;
        ASSERT_EQ(SSL_getCipherInfo(p->h[s], &suite, &curves), OK);
        ASSERT_EQ(suite, variant->suite);
        ASSERT_EQ(NKTLS_getNegotiatedGroup(p->h[s], &group), OK);
        ASSERT_EQ(group, want_group);
    }
    /* The wrong group costs exactly one HelloRetryRequest, with a cookie. */
    ASSERT_EQ(self->n.hrr, (unsigned)variant->hrr);
    ASSERT_EQ(self->n.ch, 1u + variant->hrr);
    ASSERT_EQ(self->n.sh, 1u + variant->hrr);
    ASSERT_EQ(self->n.hrr_cookie, variant->hrr);

    ubyte2 sig = 0;
    char subject[256], cn[64];
    ASSERT_EQ(SSL_getSignatureAlgo(p->h[TP_CLIENT], &sig), OK);
    ASSERT_EQ(sig, scheme_for(variant->srv_key));
    ASSERT_EQ(NKTLS_getPeerSubject(p->h[TP_CLIENT], (sbyte *)subject, sizeof subject), OK);
    snprintf(cn, sizeof cn, "CN=%s", key_host[variant->srv_key]);
    ASSERT_NOT_NULL(strstr(subject, cn)) TH_LOG("client sees \"%s\"", subject);
    if (variant->cli_key < 0) {
        ASSERT_EQ(SSL_getSignatureAlgo(p->h[TP_SERVER], &sig), ERR_SSL_NOT_OPEN);
        ASSERT_EQ(NKTLS_getPeerSubject(p->h[TP_SERVER], (sbyte *)subject, sizeof subject),
                  ERR_SSL_NOT_OPEN);
        return;
    }
    ASSERT_EQ(SSL_getSignatureAlgo(p->h[TP_SERVER], &sig), OK);
    ASSERT_EQ(sig, scheme_for(variant->cli_key));
    ASSERT_EQ(NKTLS_getPeerSubject(p->h[TP_SERVER], (sbyte *)subject, sizeof subject), OK);
    snprintf(cn, sizeof cn, "CN=%s", key_host[variant->cli_key]);
    ASSERT_NOT_NULL(strstr(subject, cn)) TH_LOG("server sees \"%s\"", subject);
}

TEST_F(auth, data)
{
    check_all_data(_metadata, &self->p);
    check_exporter(_metadata, &self->p, variant->version);
}

TEST_F(auth, key_update_and_close)
{
    check_key_update(_metadata, &self->p, TP_SERVER, 1);
    check_close(_metadata, &self->p);
}

/* ---- single cases on one pair, released by the teardown ---- */

FIXTURE(tls) {
    struct tp_pair p;
};

FIXTURE_TEARDOWN(tls)
{
    tp_free(&self->p);
}

/* ---- ALPN and SNI ---- */

/* Server side (RFC 7301): take http/1.1 when offered, else refuse. */
static sbyte4 alpn_http11(sbyte4 h, ubyte **out[], sbyte4 *out_len, ubyte *in, sbyte4 in_len)
{
    for (sbyte4 i = 0; i < in_len; i += 1 + in[i]) {
        if (in[i] == 8 && i + 9 <= in_len && memcmp(in + i + 1, "http/1.1", 8) == 0) {
            *out = (ubyte **)(in + i);
            *out_len = 9;
            return OK;
        }
    }
    return ERR_SSL_NO_APPLICATION_PROTOCOL;
}

static void check_alpn(struct __test_metadata *_metadata, struct tp_pair *p, const char *want)
{
    for (int s = 0; s < 2; s++) {
        const ubyte *proto = NULL;
        ubyte4 len = 99;
        ASSERT_EQ(SSL_getSelectedApplicationProtocol(p->h[s], &proto, &len), OK);
        ASSERT_EQ(len, (ubyte4)strlen(want));
        ASSERT_MEM_EQ(proto, want, len);
    }
}

TEST_F(tls, alpn_server_picks)
{
    const char *offer[] = { "h2", "http/1.1" };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_setApplicationLayerProtocol(self->p.h[TP_CLIENT], 2, offer), OK);
    ASSERT_EQ(SSL_setAlpnCallback(self->p.h[TP_SERVER], alpn_http11), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_alpn(_metadata, &self->p, "http/1.1");
}

TEST_F(tls, alpn_not_offered)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_setAlpnCallback(self->p.h[TP_SERVER], alpn_http11), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_alpn(_metadata, &self->p, "");
}

TEST_F(tls, alpn_no_callback)
{
    const char *offer[] = { "h2", "http/1.1" };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_setApplicationLayerProtocol(self->p.h[TP_CLIENT], 2, offer), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_alpn(_metadata, &self->p, "");
}

static sbyte4 g_alert_id = -1, g_alert_class = -1, g_alert_conn;

static sbyte4 on_alert(sbyte4 conn, sbyte4 id, sbyte4 cls)
{
    g_alert_conn = conn;
    g_alert_id = id;
    g_alert_class = cls;
    return OK;
}

TEST_F(tls, alpn_mismatch)
{
    const char *offer[] = { "h2", "spdy/3" };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_setFuncPtrAlertCallback(on_alert), OK);
    ASSERT_EQ(SSL_setApplicationLayerProtocol(self->p.h[TP_CLIENT], 2, offer), OK);
    ASSERT_EQ(SSL_setAlpnCallback(self->p.h[TP_SERVER], alpn_http11), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    /* RFC 7301 §3.2: no_application_protocol, and the client learns why. */
    ASSERT_EQ(self->p.c[TP_SERVER]->err, ERR_SSL_NO_APPLICATION_PROTOCOL);
    ASSERT_EQ(self->p.c[TP_SERVER]->alert_out, SSL_ALERT_NO_APPLICATION_PROTOCOL);
    ASSERT_EQ(self->p.c[TP_CLIENT]->err, ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(self->p.c[TP_CLIENT]->alert_in, SSL_ALERT_NO_APPLICATION_PROTOCOL);
    ASSERT_EQ(self->p.c[TP_CLIENT]->alert_in_level, SSLALERTLEVEL_FATAL);
    ASSERT_EQ(self->p.c[TP_CLIENT]->alert_out, NK_ALERT_NONE);
    /* The application hears of it through the alert callback too. */
    ASSERT_EQ(g_alert_conn, self->p.h[TP_CLIENT]);
    ASSERT_EQ(g_alert_id, SSL_ALERT_NO_APPLICATION_PROTOCOL);
    ASSERT_EQ(g_alert_class, SSLALERTLEVEL_FATAL);
}

TEST_F(tls, sni_seen_by_server)
{
    const sbyte *name = NULL;
    ASSERT_EQ(tp_new(&self->p, K_RSA, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_EQ(NKTLS_getServerName(self->p.h[TP_SERVER], &name), OK);
    ASSERT_STR_EQ((const char *)name, key_host[K_RSA]);
    ASSERT_EQ(NKTLS_getServerName(self->p.h[TP_CLIENT], &name), OK);
    ASSERT_STR_EQ((const char *)name, key_host[K_RSA]);
}

/* ---- record_size_limit (RFC 8449) ---- */

struct rsl_watch {
    uint16_t limit;               /* rewrite the client's record_size_limit to this */
    MSTATUS st;
    unsigned protected_s2c;       /* protected records from the server */
    size_t max_s2c;               /* the longest of them (ciphertext bytes) */
};

/* The client's ClientHello is rewritten to advertise a smaller limit. Until it
 * knows the hash the client keeps its ClientHello verbatim in the transcript,
 * so the test puts the rewritten one there too and the handshake still agrees. */
static void rsl_hook(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct rsl_watch *w = arg;
    struct tp_hello h;
    if (dir == TP_S2C && rec->p[0] == NK_CT_APPLICATION_DATA) {
        w->protected_s2c++;
        if (rec->len - NK_REC_HDR > w->max_s2c)
            w->max_s2c = rec->len - NK_REC_HDR;
        return;
    }
    if (dir != TP_C2S || tp_hello_from_record(rec, &h) != OK)
        return;
    int i = tp_hello_find(&h, NK_EXT_RECORD_SIZE_LIMIT);
    if (i < 0) {
        w->st = ERR_SSL_MISSING_EXTENSION;
        return;
    }
    nk_store16(h.ext[i].data, w->limit);
    struct nk_transcript *tr = &p->c[TP_CLIENT]->hs->tr;
    if (tr->hash_known) {
        w->st = ERR_SSL_BAD_STATE;
        return;
    }
    w->st = tp_hello_to_record(&h, rec);
    tr->pending.len = 0;
    if (w->st == OK)
        w->st = nk_buf_append(&tr->pending, rec->p + NK_REC_HDR, rec->len - NK_REC_HDR);
}

TEST_F(tls, record_size_limit_peer_honoured)
{
    struct rsl_watch w = { .limit = 64 };
    ASSERT_EQ(tp_new(&self->p, K_RSA, -1), OK);
    self->p.hook = rsl_hook;
    self->p.hook_arg = &w;
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_EQ(w.st, OK);
    /* §4: the limit counts the inner plaintext (content, type byte, padding):
     * 64 bytes, so at most 64 + 16 (tag) on the wire. The whole encrypted
     * flight, certificate chain included, came in such records. */
    ASSERT_EQ(self->p.c[TP_SERVER]->send_limit, 63);
    ASSERT_LE(w.max_s2c, 64u + NK_AEAD_TAG);
    ASSERT_GT(w.protected_s2c, 20u);
    unsigned before = w.protected_s2c;
    check_data(_metadata, &self->p, TP_SERVER, 1000, 1);
    ASSERT_EQ(w.protected_s2c - before, (1000u + 62) / 63);
    ASSERT_LE(w.max_s2c, 64u + NK_AEAD_TAG);
    /* The client was not limited: the server offered 2^14 + 1. */
    ASSERT_EQ(self->p.c[TP_CLIENT]->send_limit, NK_MAX_PLAIN);
    check_data(_metadata, &self->p, TP_CLIENT, 20000, 2);
}

TEST_F(tls, record_size_limit_too_small)
{
    /* RFC 8449 §4: a limit below 64 is illegal_parameter. */
    struct rsl_watch w = { .limit = 63 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    self->p.hook = rsl_hook;
    self->p.hook_arg = &w;
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(self->p.c[TP_SERVER]->err, ERR_SSL_ILLEGAL_PARAMETER);
    ASSERT_EQ(self->p.c[TP_SERVER]->alert_out, SSL_ALERT_ILLEGAL_PARAMETER);
    ASSERT_EQ(self->p.c[TP_CLIENT]->alert_in, SSL_ALERT_ILLEGAL_PARAMETER);
}

TEST_F(tls, send_limit_splits_records)
{
    struct rsl_watch w = { .limit = 0 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    self->p.c[TP_SERVER]->send_limit = 100;
    self->p.hook = rsl_hook;
    self->p.hook_arg = &w;
    check_data(_metadata, &self->p, TP_SERVER, 1000, 9);
    ASSERT_EQ(w.protected_s2c, 10u);
    ASSERT_EQ(w.max_s2c, 100u + 1 + NK_AEAD_TAG);
}

/* ---- how handshake messages sit in records ---- */

TEST_F(tls, one_byte_at_a_time_hrr_mutual_rsa)
{
    static const ubyte2 cli_groups[] = { NK_GROUP_X448, NK_GROUP_SECP521R1 };
    static const ubyte2 srv_groups[] = { NK_GROUP_SECP521R1 };
    ASSERT_EQ(tp_new(&self->p, K_RSA, K_RSA), OK);
    ASSERT_EQ(SSL_setSessionFlags(self->p.h[TP_SERVER], SSL_FLAG_REQUIRE_MUTUAL_AUTH), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_CLIENT], cli_groups, 2), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_SERVER], srv_groups, 1), OK);
    self->p.chunk = 1;
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_data(_metadata, &self->p, TP_CLIENT, 40000, 1);
    check_data(_metadata, &self->p, TP_SERVER, 40000, 2);
}

TEST_F(tls, server_flight_in_one_record)
{
    struct tp_flight f = { .dir = TP_S2C, .coalesce = 1 };
    ASSERT_EQ(tp_new(&self->p, K_RSA, -1), OK);
    self->p.hook = tp_flight_hook;
    self->p.hook_arg = &f;
    MSTATUS st = tp_handshake(&self->p);
    self->p.hook = NULL;
    tp_flight_free(&f);
    ASSERT_EQ(f.err, OK);
    ASSERT_EQ(st, OK);
    /* EncryptedExtensions, Certificate, CertificateVerify, Finished, all in the
     * one record after ServerHello and ChangeCipherSpec. */
    ASSERT_EQ(f.msgs, 4u);
    ASSERT_EQ(f.sealed, 1u);
    check_data(_metadata, &self->p, TP_SERVER, 100, 1);
    check_data(_metadata, &self->p, TP_CLIENT, 100, 2);
}

TEST_F(tls, client_flight_in_one_record)
{
    struct tp_flight f = { .dir = TP_C2S, .coalesce = 1 };
    ASSERT_EQ(tp_new(&self->p, K_P384, K_P256), OK);
    ASSERT_EQ(SSL_setSessionFlags(self->p.h[TP_SERVER], SSL_FLAG_REQUIRE_MUTUAL_AUTH), OK);
    self->p.hook = tp_flight_hook;
    self->p.hook_arg = &f;
    MSTATUS st = tp_handshake(&self->p);
    self->p.hook = NULL;
    tp_flight_free(&f);
    ASSERT_EQ(f.err, OK);
    ASSERT_EQ(st, OK);
    ASSERT_EQ(f.msgs, 3u);   /* Certificate, CertificateVerify, Finished */
    ASSERT_EQ(f.sealed, 1u);
    ubyte2 sig = 0;
    ASSERT_EQ(SSL_getSignatureAlgo(self->p.h[TP_SERVER], &sig), OK);
    ASSERT_EQ(sig, NK_SIG_ECDSA_SECP256R1_SHA256);
    check_data(_metadata, &self->p, TP_CLIENT, 100, 2);
}

/* Handshake messages split at every byte: the server's flight re-sent as
 * one-byte records, so every message spans many records. */
TEST_F(tls, server_flight_one_byte_records)
{
    struct tp_flight f = { .dir = TP_S2C, .max_plain = 1 };
    ASSERT_EQ(tp_new(&self->p, K_ED25519, -1), OK);
    self->p.hook = tp_flight_hook;
    self->p.hook_arg = &f;
    MSTATUS st = tp_handshake(&self->p);
    self->p.hook = NULL;
    tp_flight_free(&f);
    ASSERT_EQ(f.err, OK);
    ASSERT_EQ(st, OK);
    ASSERT_EQ(f.msgs, 4u);
    ASSERT_GT(f.sealed, 500u);   /* one per byte of the flight */
    check_data(_metadata, &self->p, TP_SERVER, 100, 1);
}

/* ---- record headers ---- */

struct version_watch {
    unsigned n[2];
    unsigned bad[2];              /* records whose legacy_record_version is wrong */
    uint16_t first_bad[2];
};

static void version_hook(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct version_watch *w = arg;
    uint16_t v = nk_load16(rec->p + 1);
    /* §5.1: 0x0303 on every record, except that the initial ClientHello (not
     * one sent after a HelloRetryRequest) may say 0x0301. */
    int ok = v == 0x0303 || (dir == TP_C2S && w->n[dir] == 0 && v == 0x0301);
    if (!ok && w->bad[dir]++ == 0)
        w->first_bad[dir] = v;
    w->n[dir]++;
}

TEST_F(tls, legacy_record_version)
{
    static const ubyte2 cli_groups[] = { NK_GROUP_X25519, NK_GROUP_SECP384R1 };
    static const ubyte2 srv_groups[] = { NK_GROUP_SECP384R1 };
    struct version_watch w = { { 0 } };
    ASSERT_EQ(tp_new(&self->p, K_P256, K_P384), OK);
    ASSERT_EQ(SSL_setSessionFlags(self->p.h[TP_SERVER], SSL_FLAG_REQUIRE_MUTUAL_AUTH), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_CLIENT], cli_groups, 2), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_SERVER], srv_groups, 1), OK);
    self->p.hook = version_hook;
    self->p.hook_arg = &w;
    ASSERT_EQ(tp_handshake(&self->p), OK);
    check_data(_metadata, &self->p, TP_CLIENT, 10, 1);
    check_data(_metadata, &self->p, TP_SERVER, 10, 2);
    ASSERT_EQ(SSL_sendAlert(self->p.h[TP_SERVER], SSL_ALERT_CLOSE_NOTIFY, SSLALERTLEVEL_WARNING), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_GT(w.n[TP_C2S], 5u);
    ASSERT_GT(w.n[TP_S2C], 8u);
    EXPECT_EQ(w.bad[TP_C2S], 0u) TH_LOG("client sent version 0x%04x", w.first_bad[TP_C2S]);
    EXPECT_EQ(w.bad[TP_S2C], 0u) TH_LOG("server sent version 0x%04x", w.first_bad[TP_S2C]);
}

/* ---- empty application data ---- */

TEST_F(tls, zero_length_application_data)
{
    static const uint8_t none[1];
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    for (int from = 0; from < 2; from++) {
        int to = 1 - from;
        unsigned before = self->p.records[from];
        size_t wire_len;
        ASSERT_EQ(nk_app_write(self->p.c[from], none, 0), OK);
        /* One record: the content type byte and the tag, nothing else. */
        (void)nk_out_buf(self->p.c[from], &wire_len);
        ASSERT_EQ(wire_len, (size_t)NK_REC_HDR + 1 + NK_AEAD_TAG);
        ASSERT_EQ(tp_pump(&self->p), OK);
        ASSERT_EQ(self->p.records[from] - before, 1u);
        /* §5.4: accepted, and nothing to read. */
        ASSERT_EQ(self->p.c[to]->err, OK);
        ASSERT_EQ(self->p.rx[to].len, 0u);
        ASSERT_FALSE(nk_conn_wants(self->p.c[to]) & NK_WANT_APP);
        ASSERT_TRUE(nk_conn_wants(self->p.c[to]) & NK_WANT_RECV);
        check_data(_metadata, &self->p, from, 5, 3);
    }
}

/* ---- KeyUpdate, repeatedly ---- */

TEST_F(tls, key_update_many_rounds)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    for (int i = 0; i < 6; i++)
        check_key_update(_metadata, &self->p, i % 2, i % 3 != 2);
}

TEST_HARNESS_MAIN
