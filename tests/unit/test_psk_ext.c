/* test_psk_ext.c — TLS 1.3 external PSKs over the public API (RFC 8446 §2.2,
 * §4.2.9, §4.2.11): the client offers the identity and key of its store
 * (CERT_STORE_addIdentityPSK) or of sslSettings.funcPtrChoosePSK, the server
 * finds the key in its store or through funcPtrLookupPSK. With psk_dhe_ke
 * (the default) and psk_ke (NKTLS_FLAG_PSK_KE); a wrong key is a binder the
 * server refuses (decrypt_error); an unknown identity falls back to
 * certificates, or fails with handshake_failure where the server has none.
 * The synchronous API over sockets, and one case through SSL_ASYNC_*. */
#include "api_env.h"

static const ubyte k_id[] = "client1";
static const ubyte k_key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

static certStorePtr psk_store(const ubyte *id, ubyte4 id_len, const ubyte *key, ubyte4 key_len)
{
    certStorePtr s = new_store(NULL);
    ASSERT_EQ(CERT_STORE_addIdentityPSK(s, id, id_len, NULL, 0, key, key_len), OK);
    return s;
}

/* The server reads the client's data, answers, then records what it saw. */
static void post_exchange(struct srv *s)
{
    ubyte2 cipher = 0, group = 0;
    ubyte4 curves = 0;
    const ubyte *der = NULL;
    ubyte4 der_len = 0;
    if (s->hs != OK)
        return;
    s->u[0] = (ubyte4)NKTLS_isSessionResumed(s->h);
    s->st[0] = recv_check(s->h, 3000, 1);
    s->st[1] = send_fill(s->h, 3000, 2);
    s->st[2] = SSL_getCipherInfo(s->h, &cipher, &curves);
    s->u[1] = cipher;
    s->st[3] = NKTLS_getNegotiatedGroup(s->h, &group);
    s->u[3] = group;
    s->st[4] = NKTLS_getPeerCertificate(s->h, 0, &der, &der_len);
    s->st[5] = recv_until_end(s->h);
}

struct result {
    sbyte4 ch;           /* the client's connection instance */
    MSTATUS hs;          /* the client's handshake */
    int resumed;
    MSTATUS group_st;    /* NKTLS_getNegotiatedGroup on the client */
    ubyte2 group;
    MSTATUS cert_st;     /* NKTLS_getPeerCertificate(0) on the client */
    struct srv s;
};

static void run(certStorePtr sstore, certStorePtr cstore, ubyte4 sflags, ubyte4 cflags, struct result *r)
{
    struct pair p = { 0 };
    const ubyte *der = NULL;
    ubyte4 der_len = 0;
    p.s.post = post_exchange;
    p.s.flags = sflags;
    pair_up(&p, 1, sstore, "server.example.com", cstore);
    if (cflags)
        ASSERT_EQ(SSL_setSessionFlags(p.ch, cflags), OK);
    r->ch = p.ch;
    r->hs = SSL_negotiateConnection(p.ch);
    r->resumed = NKTLS_isSessionResumed(p.ch);
    r->group = 0;
    r->group_st = NKTLS_getNegotiatedGroup(p.ch, &r->group);
    r->cert_st = NKTLS_getPeerCertificate(p.ch, 0, &der, &der_len);
    if (r->hs == OK) {
        ASSERT_EQ(send_fill(p.ch, 3000, 1), OK);
        ASSERT_EQ(recv_check(p.ch, 3000, 2), OK);
    }
    pair_down(&p);
    r->s = p.s;
}

static void assert_psk_session(const struct result *r)
{
    ST_EQ(r->hs, OK);
    ST_EQ(r->s.hs, OK);
    ASSERT_TRUE(r->resumed);
    ASSERT_EQ(r->s.u[0], (ubyte4)TRUE);
    ST_EQ(r->cert_st, ERR_SSL_NOT_OPEN);        /* no certificate was sent */
    ST_EQ(r->s.st[4], ERR_SSL_NOT_OPEN);
    ST_EQ(r->s.st[0], OK);
    ST_EQ(r->s.st[1], OK);
    ASSERT_EQ(r->s.u[1], 0x1301u);              /* the SHA-256 suite an external PSK names */
}

TEST(store_psk_dhe_ke)
{
    struct result r;
    env_up(4);
    certStorePtr ss = psk_store(k_id, 7, k_key, 32), cs = psk_store(k_id, 7, k_key, 32);
    run(ss, cs, 0, 0, &r);
    assert_psk_session(&r);
    ST_EQ(r.group_st, OK);                      /* psk_dhe_ke: (EC)DHE ran */
    ASSERT_EQ(r.group, 29);
    ASSERT_EQ(r.s.u[3], 29u);
    ASSERT_EQ(CERT_STORE_releaseStore(&ss), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

TEST(store_psk_ke)
{
    struct result r;
    env_up(4);
    certStorePtr ss = psk_store(k_id, 7, k_key, 32), cs = psk_store(k_id, 7, k_key, 32);
    run(ss, cs, NKTLS_FLAG_PSK_KE, NKTLS_FLAG_PSK_KE, &r);
    assert_psk_session(&r);
    ST_EQ(r.group_st, ERR_SSL_NOT_OPEN);        /* psk_ke: no key exchange at all */
    ST_EQ(r.s.st[3], ERR_SSL_NOT_OPEN);
    ASSERT_EQ(CERT_STORE_releaseStore(&ss), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

/* A client offering psk_dhe_ke to a server that allows psk_ke: the client's
 * mode is the only one in common, so (EC)DHE runs. */
TEST(server_psk_ke_client_dhe)
{
    struct result r;
    env_up(4);
    certStorePtr ss = psk_store(k_id, 7, k_key, 32), cs = psk_store(k_id, 7, k_key, 32);
    run(ss, cs, NKTLS_FLAG_PSK_KE, 0, &r);
    assert_psk_session(&r);
    ST_EQ(r.group_st, OK);
    ASSERT_EQ(r.group, 29);
    ASSERT_EQ(CERT_STORE_releaseStore(&ss), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

static int g_chosen, g_looked_up;
static ubyte4 g_hint_len = 99;
static ubyte g_seen_id[128];
static ubyte4 g_seen_id_len;

static sbyte4 choose_psk(sbyte4 h, ubyte *hint, ubyte4 hint_len, ubyte id[128], ubyte4 *id_len, ubyte psk[64],
                         ubyte4 *psk_len)
{
    g_chosen++;
    g_hint_len = hint_len;
    memcpy(id, "callback-id", 11);
    *id_len = 11;
    memset(psk, 0x5a, 48);
    *psk_len = 48;
    return 0;
}

static sbyte4 lookup_psk(sbyte4 h, ubyte *id, ubyte4 id_len, ubyte psk[64], ubyte4 *psk_len)
{
    g_looked_up++;
    memcpy(g_seen_id, id, id_len < sizeof g_seen_id ? id_len : sizeof g_seen_id);
    g_seen_id_len = id_len;
    if (id_len != 11 || memcmp(id, "callback-id", 11))
        return -1;
    memset(psk, 0x5a, 48);
    *psk_len = 48;
    return 0;
}

TEST(callbacks_choose_and_lookup)
{
    struct result r;
    env_up(4);
    SSL_sslSettings()->funcPtrChoosePSK = choose_psk;
    SSL_sslSettings()->funcPtrLookupPSK = lookup_psk;
    certStorePtr ss = new_store(NULL), cs = new_store(NULL);
    run(ss, cs, 0, 0, &r);
    assert_psk_session(&r);
    ASSERT_EQ(g_chosen, 1);
    ASSERT_EQ(g_hint_len, 0u);                  /* TLS 1.3 has no identity hint */
    ASSERT_EQ(g_looked_up, 1);
    ASSERT_EQ(g_seen_id_len, 11u);
    ASSERT_MEM_EQ(g_seen_id, "callback-id", 11);
    ASSERT_EQ(CERT_STORE_releaseStore(&ss), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

TEST(wrong_key_is_decrypt_error)
{
    struct result r;
    ubyte other[32];
    sbyte4 id = 0, cls = 0;
    memcpy(other, k_key, 32);
    other[31] ^= 1;
    env_up(4);
    certStorePtr ss = psk_store(k_id, 7, k_key, 32), cs = psk_store(k_id, 7, other, 32);
    run(ss, cs, 0, 0, &r);
    ST_EQ(r.s.hs, ERR_SSL_BAD_BINDER);          /* §4.2.11: the binder does not verify */
    ASSERT_EQ(r.s.alert, SSL_ALERT_DECRYPT_ERROR);
    ST_EQ(r.hs, ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(alerts_for(r.ch, &id, &cls), 1);   /* the client heard decrypt_error */
    ASSERT_EQ(id, SSL_ALERT_DECRYPT_ERROR);
    ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
    ASSERT_EQ(CERT_STORE_releaseStore(&ss), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

/* The server does not know the identity but has certificates: a full
 * handshake, authenticated by its certificate. */
TEST(unknown_identity_falls_back_to_certificate)
{
    struct result r;
    env_up(4);
    certStorePtr cs = psk_store(k_id, 7, k_key, 32);
    ASSERT_EQ(CERT_STORE_addTrustPoint(cs, pki.ca.p, pki.ca.n), OK);
    run(env.srv, cs, 0, 0, &r);
    ST_EQ(r.hs, OK);
    ST_EQ(r.s.hs, OK);
    ASSERT_FALSE(r.resumed);
    ASSERT_EQ(r.s.u[0], (ubyte4)FALSE);
    ST_EQ(r.cert_st, OK);                       /* the server's certificate */
    ST_EQ(r.s.st[0], OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

TEST(unknown_identity_without_certificate_is_handshake_failure)
{
    struct result r;
    env_up(4);
    certStorePtr ss = psk_store((const ubyte *)"someone-else", 12, k_key, 32);
    certStorePtr cs = psk_store(k_id, 7, k_key, 32);
    run(ss, cs, 0, 0, &r);
    ST_EQ(r.s.hs, ERR_SSL_NO_IDENTITY);
    ASSERT_EQ(r.s.alert, SSL_ALERT_HANDSHAKE_FAILURE);
    ST_EQ(r.hs, ERR_SSL_FATAL_ALERT);
    ASSERT_FALSE(r.resumed);
    ASSERT_EQ(CERT_STORE_releaseStore(&ss), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

/* A psk_ke-only client whose server refuses psk_ke: the server asks for a
 * share (HelloRetryRequest), which such a client does not give:
 * handshake_failure. */
TEST(psk_ke_refused_by_server)
{
    struct result r;
    env_up(4);
    certStorePtr ss = psk_store(k_id, 7, k_key, 32), cs = psk_store(k_id, 7, k_key, 32);
    run(ss, cs, 0, NKTLS_FLAG_PSK_KE, &r);
    ST_EQ(r.hs, ERR_SSL_HANDSHAKE_FAILURE);
    ST_EQ(r.s.hs, ERR_SSL_FATAL_ALERT);
    ASSERT_FALSE(r.resumed);
    ASSERT_EQ(CERT_STORE_releaseStore(&ss), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    env_down();
}

TEST(psk_mode_ioctl)
{
    struct pair p = { 0 };
    ubyte4 flags = 0;
    env_up(4);
    p.s.post = post_wait_end;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_ioctl(p.ch, SSL_PSK_KEY_EXCHANGE_MODE, (void *)(uintptr_t)SSL_PSK_KE), OK);
    ASSERT_EQ(SSL_getSessionFlags(p.ch, &flags), OK);
    ASSERT_EQ(flags & NKTLS_FLAG_PSK_KE, (ubyte4)NKTLS_FLAG_PSK_KE);
    ASSERT_EQ(SSL_ioctl(p.ch, SSL_PSK_KEY_EXCHANGE_MODE, (void *)(uintptr_t)SSL_PSK_DHE_KE), OK);
    ASSERT_EQ(SSL_getSessionFlags(p.ch, &flags), OK);
    ASSERT_EQ(flags & NKTLS_FLAG_PSK_KE, 0u);
    ASSERT_EQ(SSL_ioctl(p.ch, SSL_PSK_KEY_EXCHANGE_MODE, (void *)(uintptr_t)2), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_negotiateConnection(p.ch), OK);
    ASSERT_EQ(SSL_ioctl(p.ch, SSL_PSK_KEY_EXCHANGE_MODE, (void *)(uintptr_t)SSL_PSK_KE), ERR_SSL_BAD_STATE);
    pair_down(&p);
    env_down();
}

/* ---- the asynchronous API: the test moves the bytes, one at a time ---- */

static ubyte g_wire[1 << 16];
static ubyte g_got[64];
static ubyte4 g_got_len;
static int g_opens;

static sbyte4 async_open(sbyte4 h, intBoolean reh) { g_opens++; return OK; }
static sbyte4 async_recv(sbyte4 h, ubyte *d, ubyte4 n)
{
    if (g_got_len + n <= sizeof g_got) {
        memcpy(g_got + g_got_len, d, n);
        g_got_len += n;
    }
    return OK;
}

/* Move everything both ends have to send, byte by byte, until neither has any. */
static MSTATUS async_pump(sbyte4 h[2])
{
    for (int moved = 1; moved;) {
        moved = 0;
        for (int i = 0; i < 2; i++) {
            ubyte4 len = sizeof g_wire;
            MSTATUS st = SSL_ASYNC_getSendBuffer(h[i], g_wire, &len);
            if (st != OK)
                return st;
            for (ubyte4 off = 0; off < len; off++, moved = 1)
                if ((st = SSL_ASYNC_recvMessage(h[1 - i], g_wire + off, 1)) != OK)
                    return st;
        }
    }
    return OK;
}

TEST(async_psk_ke_and_wrong_key)
{
    sbyte4 h[2];
    env_up(4);
    ASSERT_EQ(SSL_ASYNC_init(4, 4), OK);
    sslSettings *set = SSL_sslSettings();
    set->funcPtrOpenStateUpcall = set->funcPtrClientOpenStateUpcall = async_open;
    set->funcPtrReceiveUpcall = set->funcPtrClientReceiveUpcall = async_recv;
    certStorePtr ss = psk_store(k_id, 7, k_key, 32), cs = psk_store(k_id, 7, k_key, 32);
    h[0] = SSL_ASYNC_connect(-1, 0, NULL, NULL, (const sbyte *)"server.example.com", cs);
    h[1] = SSL_ASYNC_acceptConnection(-1, ss);
    ASSERT_GT(h[0], 0);
    ASSERT_GT(h[1], 0);
    ASSERT_EQ(SSL_ioctl(h[0], SSL_PSK_KEY_EXCHANGE_MODE, (void *)(uintptr_t)SSL_PSK_KE), OK);
    ASSERT_EQ(SSL_setSessionFlags(h[1], NKTLS_FLAG_PSK_KE), OK);
    ASSERT_EQ(SSL_ASYNC_start(h[0]), OK);
    ST_EQ(async_pump(h), OK);
    ASSERT_EQ(g_opens, 2);
    ubyte2 group = 0;
    for (int i = 0; i < 2; i++) {
        ASSERT_TRUE(NKTLS_isSessionResumed(h[i]));
        ST_EQ(NKTLS_getNegotiatedGroup(h[i], &group), ERR_SSL_NOT_OPEN);   /* psk_ke */
    }
    ASSERT_EQ(SSL_ASYNC_sendMessage(h[0], (sbyte *)"ping", 4, NULL), OK);
    ST_EQ(async_pump(h), OK);
    ASSERT_EQ(g_got_len, 4u);
    ASSERT_MEM_EQ(g_got, "ping", 4);
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(SSL_ASYNC_closeConnection(h[i]), OK);

    /* The same with the client's key one bit off: the server refuses its
     * binder with decrypt_error, which the client hears. */
    ubyte other[32];
    memcpy(other, k_key, 32);
    other[0] ^= 0x80;
    certStorePtr bad = psk_store(k_id, 7, other, 32);
    h[0] = SSL_ASYNC_connect(-1, 0, NULL, NULL, (const sbyte *)"server.example.com", bad);
    h[1] = SSL_ASYNC_acceptConnection(-1, ss);
    ASSERT_EQ(SSL_ASYNC_start(h[0]), OK);
    ubyte4 len = sizeof g_wire;
    ASSERT_EQ(SSL_ASYNC_getSendBuffer(h[0], g_wire, &len), OK);
    ST_EQ(SSL_ASYNC_recvMessage(h[1], g_wire, len), ERR_SSL_BAD_BINDER);
    len = sizeof g_wire;
    ASSERT_EQ(SSL_ASYNC_getSendBuffer(h[1], g_wire, &len), OK);
    ASSERT_EQ(len, 7u);                          /* one plaintext alert record */
    ASSERT_EQ(g_wire[0], 21);
    ASSERT_EQ(g_wire[5], SSLALERTLEVEL_FATAL);
    ASSERT_EQ(g_wire[6], SSL_ALERT_DECRYPT_ERROR);
    ST_EQ(SSL_ASYNC_recvMessage(h[0], g_wire, len), ERR_SSL_FATAL_ALERT);
    for (int i = 0; i < 2; i++)
        SSL_ASYNC_closeConnection(h[i]);
    ASSERT_EQ(CERT_STORE_releaseStore(&ss), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&cs), OK);
    ASSERT_EQ(CERT_STORE_releaseStore(&bad), OK);
    env_down();
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
