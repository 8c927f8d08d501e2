/* test_psk12.c — TLS 1.2 pre-shared key suites over the public API (RFC 4279,
 * RFC 5489, with the AEADs of RFC 5487, 6655, 7905, 8442): every PSK,
 * DHE_PSK and ECDHE_PSK suite end to end with the store's PSK
 * (CERT_STORE_addIdentityPSK); the identity hint in the ServerKeyExchange
 * (funcPtrGetHintPSK, or none: no ServerKeyExchange for plain PSK), the
 * client's funcPtrChoosePSK and the server's funcPtrLookupPSK; an unknown
 * identity (unknown_psk_identity), a wrong key, suites off by default, a
 * client with no PSK. */
#include "api_env.h"

static const ubyte k_id[] = "client12";
static const ubyte k_key[20] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 };

static certStorePtr psk_store(const ubyte *id, ubyte4 id_len, const char *hint, const ubyte *key, ubyte4 key_len)
{
    certStorePtr s = new_store(NULL);
    ASSERT_EQ(CERT_STORE_addIdentityPSK(s, id, id_len, (const ubyte *)hint, hint ? (ubyte4)strlen(hint) : 0, key,
                                        key_len), OK);
    return s;
}

static ubyte2 g_suite;   /* what both ends enable (0: the defaults) */

static void pre_suite(struct srv *s)
{
    if (g_suite)
        s->st[6] = SSL_enableCiphers(s->h, &g_suite, 1);
}

static void post_exchange(struct srv *s)
{
    ubyte2 cipher = 0, group = 0;
    ubyte4 curves = 0;
    if (s->hs != OK)
        return;
    s->st[0] = recv_check(s->h, 2000, 1);
    s->st[1] = send_fill(s->h, 2000, 2);
    s->st[2] = SSL_getCipherInfo(s->h, &cipher, &curves);
    s->u[1] = cipher;
    s->st[3] = NKTLS_getNegotiatedGroup(s->h, &group);
    s->u[3] = group;
    s->st[5] = recv_until_end(s->h);
}

struct result {
    sbyte4 ch;
    MSTATUS hs, group_st, cert_st;
    ubyte2 cipher, group;
    ubyte4 minor;
    struct srv s;
};

static void run(certStorePtr sstore, certStorePtr cstore, struct result *r)
{
    struct pair p = { 0 };
    const ubyte *der = NULL;
    ubyte4 der_len = 0, curves = 0;
    p.s.pre = pre_suite;
    p.s.post = post_exchange;
    pair_up(&p, 1, sstore, "server.example.com", cstore);
    if (g_suite)
        ASSERT_EQ(SSL_enableCiphers(p.ch, &g_suite, 1), OK);
    r->ch = p.ch;
    r->hs = SSL_negotiateConnection(p.ch);
    r->group = r->cipher = 0;
    r->group_st = NKTLS_getNegotiatedGroup(p.ch, &r->group);
    r->cert_st = NKTLS_getPeerCertificate(p.ch, 0, &der, &der_len);
    SSL_getCipherInfo(p.ch, &r->cipher, &curves);
    SSL_getSSLTLSVersion(p.ch, &r->minor);
    if (r->hs == OK) {
        ASSERT_EQ(send_fill(p.ch, 2000, 1), OK);
        ASSERT_EQ(recv_check(p.ch, 2000, 2), OK);
    }
    pair_down(&p);
    r->s = p.s;
}

static const struct {
    ubyte2 id;
    ubyte2 group;   /* 0: plain PSK, no key exchange */
} suites[] = {
    { 0x00a8, 0 }, { 0x00a9, 0 }, { 0xccab, 0 }, { 0xc0a4, 0 }, { 0xc0a5, 0 },
    { 0x00aa, 256 }, { 0x00ab, 256 }, { 0xccad, 256 }, { 0xc0a6, 256 }, { 0xc0a7, 256 },
    { 0xd001, 29 }, { 0xd002, 29 }, { 0xccac, 29 }, { 0xd005, 29 },
};

TEST(every_suite)
{
    struct result r;
    env_up(4);
    certStorePtr ss = psk_store(k_id, 8, "hint", k_key, 20), cs = psk_store(k_id, 8, NULL, k_key, 20);
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        g_suite = suites[i].id;
        run(ss, cs, &r);
        ST_EQ_AT(r.hs, OK, at("suite %04x: ", g_suite));
        ST_EQ_AT(r.s.hs, OK, at("suite %04x: ", g_suite));
        ST_EQ(r.s.st[6], OK);
        ASSERT_EQ(r.minor, (ubyte4)TLS12_MINORVERSION);
        ASSERT_EQ(r.cipher, g_suite);
        ASSERT_EQ(r.s.u[1], (ubyte4)g_suite);
        ST_EQ(r.cert_st, ERR_SSL_NOT_OPEN);              /* RFC 4279 §2: no Certificate */
        ST_EQ(r.s.st[0], OK);
        ST_EQ(r.s.st[1], OK);
        if (suites[i].group) {
            ST_EQ(r.group_st, OK);
            ASSERT_EQ(r.group, suites[i].group) TH_LOG("suite %04x", g_suite);
            ASSERT_EQ(r.s.u[3], (ubyte4)suites[i].group);
        } else {
            ST_EQ(r.group_st, ERR_SSL_NOT_OPEN);
        }
    }
    g_suite = 0;
    ASSERT_EQ(CERT_STORE_releaseStore(&ss), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

static ubyte g_hint_seen[200];
static ubyte4 g_hint_seen_len = 999;
static int g_hint_null, g_chose, g_looked;
static ubyte g_id_seen[200];
static ubyte4 g_id_seen_len;
static const char *g_hint = "server-hint-7";

static sbyte4 get_hint(sbyte4 h, ubyte hint[128], ubyte4 *len)
{
    if (!g_hint)
        return -1;
    *len = (ubyte4)strlen(g_hint);
    memcpy(hint, g_hint, *len);
    return 0;
}

static sbyte4 choose(sbyte4 h, ubyte *hint, ubyte4 hint_len, ubyte id[128], ubyte4 *id_len, ubyte psk[64],
                     ubyte4 *psk_len)
{
    g_chose++;
    g_hint_null = hint == NULL;
    g_hint_seen_len = hint_len;
    if (hint)
        memcpy(g_hint_seen, hint, hint_len);
    memcpy(id, "cb-identity", 11);
    *id_len = 11;
    memset(psk, 0x33, 40);
    *psk_len = 40;
    return 0;
}

static sbyte4 lookup(sbyte4 h, ubyte *id, ubyte4 id_len, ubyte psk[64], ubyte4 *psk_len)
{
    g_looked++;
    memcpy(g_id_seen, id, id_len);
    g_id_seen_len = id_len;
    if (id_len != 11 || memcmp(id, "cb-identity", 11))
        return -1;
    memset(psk, 0x33, 40);
    *psk_len = 40;
    return 0;
}

static void callbacks_case(struct th_meta *_metadata, ubyte2 suite, const char *hint)
{
    struct result r;
    env_up(4);
    sslSettings *set = SSL_sslSettings();
    set->funcPtrGetHintPSK = get_hint;
    set->funcPtrChoosePSK = choose;
    set->funcPtrLookupPSK = lookup;
    g_hint = hint;
    g_chose = g_looked = 0;
    g_hint_seen_len = 999;
    g_suite = suite;
    certStorePtr ss = new_store(NULL), cs = new_store(NULL);
    run(ss, cs, &r);
    ST_EQ(r.hs, OK);
    ST_EQ(r.s.hs, OK);
    ASSERT_EQ(r.cipher, suite);
    ASSERT_EQ(g_chose, 1);
    ASSERT_EQ(g_looked, 1);
    ASSERT_EQ(g_id_seen_len, 11u);
    ASSERT_MEM_EQ(g_id_seen, "cb-identity", 11);
    if (hint) {
        ASSERT_EQ(g_hint_seen_len, (ubyte4)strlen(hint));
        ASSERT_MEM_EQ(g_hint_seen, hint, strlen(hint));
    } else {
        ASSERT_EQ(g_hint_seen_len, 0u);
        ASSERT_TRUE(g_hint_null);
    }
    g_suite = 0;
    ASSERT_EQ(CERT_STORE_releaseStore(&ss), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

TEST(hint_choose_lookup_psk)       { callbacks_case(_metadata, 0x00a8, "server-hint-7"); }
/* RFC 4279 §2: no hint, no ServerKeyExchange; the client chooses without one. */
TEST(no_hint_no_ske_psk)           { callbacks_case(_metadata, 0x00a8, NULL); }
/* RFC 4279 §3: DHE_PSK sends its ServerKeyExchange with an empty hint. */
TEST(no_hint_dhe_psk)              { callbacks_case(_metadata, 0x00aa, NULL); }
TEST(hint_ecdhe_psk)               { callbacks_case(_metadata, 0xccac, "h"); }

/* The client's store picks the PSK whose hint the server named. */
TEST(store_picks_by_hint)
{
    struct result r;
    static const ubyte other[20] = { 1 };
    env_up(4);
    certStorePtr ss = psk_store(k_id, 8, "second", k_key, 20);
    certStorePtr cs = psk_store((const ubyte *)"first", 5, "first", other, 20);
    ASSERT_EQ(CERT_STORE_addIdentityPSK(cs, k_id, 8, (const ubyte *)"second", 6, k_key, 20), OK);
    g_suite = 0xd001;
    run(ss, cs, &r);
    ST_EQ(r.hs, OK);
    ST_EQ(r.s.hs, OK);
    g_suite = 0;
    ASSERT_EQ(CERT_STORE_releaseStore(&ss), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

TEST(unknown_identity_is_unknown_psk_identity)
{
    struct result r;
    sbyte4 id = 0, cls = 0;
    env_up(4);
    certStorePtr ss = psk_store((const ubyte *)"someone", 7, NULL, k_key, 20), cs = psk_store(k_id, 8, NULL, k_key, 20);
    g_suite = 0x00a8;
    run(ss, cs, &r);
    ST_EQ(r.s.hs, ERR_SSL_UNKNOWN_PSK_IDENTITY);
    ASSERT_EQ(r.s.alert, SSL_ALERT_UNKNOWN_PSK_IDENTITY);
    ST_EQ(r.hs, ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(alerts_for(r.ch, &id, &cls), 1);
    ASSERT_EQ(id, SSL_ALERT_UNKNOWN_PSK_IDENTITY);
    ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
    g_suite = 0;
    ASSERT_EQ(CERT_STORE_releaseStore(&ss), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

/* Another key under the right identity: the premaster secrets differ, and
 * the server cannot read the client's Finished. */
TEST(wrong_key)
{
    struct result r;
    ubyte other[20];
    memcpy(other, k_key, 20);
    other[19] ^= 1;
    env_up(4);
    certStorePtr ss = psk_store(k_id, 8, NULL, k_key, 20), cs = psk_store(k_id, 8, NULL, other, 20);
    g_suite = 0xccab;
    run(ss, cs, &r);
    ST_EQ(r.s.hs, ERR_SSL_BAD_RECORD_MAC);
    ASSERT_EQ(r.s.alert, SSL_ALERT_BAD_RECORD_MAC);
    ST_EQ(r.hs, ERR_SSL_FATAL_ALERT);
    g_suite = 0;
    ASSERT_EQ(CERT_STORE_releaseStore(&ss), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

/* Not offered unless SSL_enableCiphers names them: a TLS 1.2 client with
 * the defaults and a server with only a PSK share no suite. */
TEST(off_by_default)
{
    struct pair p = { 0 };
    env_up(4);
    certStorePtr ss = psk_store(k_id, 8, NULL, k_key, 20), cs = psk_store(k_id, 8, NULL, k_key, 20);
    p.s.post = post_exchange;
    pair_up(&p, 1, ss, "server.example.com", cs);
    ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
    ST_EQ(SSL_negotiateConnection(p.ch), ERR_SSL_FATAL_ALERT);
    pair_down(&p);
    ST_EQ(p.s.hs, ERR_SSL_NO_CIPHER_MATCH);
    ASSERT_EQ(p.s.alert, SSL_ALERT_HANDSHAKE_FAILURE);
    ASSERT_EQ(CERT_STORE_releaseStore(&ss), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

/* The server chose a PSK suite the client enabled, but the client has no
 * PSK: handshake_failure from the client. */
TEST(client_without_psk)
{
    struct result r;
    env_up(4);
    certStorePtr ss = psk_store(k_id, 8, NULL, k_key, 20), cs = new_store(NULL);
    g_suite = 0x00a8;
    run(ss, cs, &r);
    ST_EQ(r.hs, ERR_SSL_NO_PSK);
    ST_EQ(r.s.hs, ERR_SSL_FATAL_ALERT);
    g_suite = 0;
    ASSERT_EQ(CERT_STORE_releaseStore(&ss), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

/* A server with a certificate and a PSK takes a PSK suite when that is all
 * the client offers, and sends no certificate. */
TEST(server_with_certificate_too)
{
    struct result r;
    env_up(4);
    certStorePtr cs = psk_store(k_id, 8, NULL, k_key, 20);
    ASSERT_EQ(CERT_STORE_addIdentityPSK(env.srv, k_id, 8, NULL, 0, k_key, 20), OK);
    g_suite = 0xd001;
    run(env.srv, cs, &r);
    ST_EQ(r.hs, OK);
    ASSERT_EQ(r.cipher, 0xd001);
    ST_EQ(r.cert_st, ERR_SSL_NOT_OPEN);
    g_suite = 0;
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
