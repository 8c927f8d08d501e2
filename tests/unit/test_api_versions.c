/* test_api_versions.c — the synchronous NanoSSL API's cipher-suite and
 * version settings end to end over real sockets: SSL_enableCiphers on either
 * side, SSL_SET_VERSION / minimum / maximum versions and what each side
 * reports when they meet or do not. The shared set-up is in api_env.h. */
#include "api_env.h"


static void pre_enable_cipher(struct srv *s)
{
    s->st[5] = SSL_enableCiphers(s->h, s->arg, 1);
}

TEST(enable_ciphers)
{
    static const ubyte2 suites[] = { SSL_TLS_AES_128_GCM_SHA256, SSL_TLS_AES_256_GCM_SHA384,
                                     SSL_TLS_CHACHA20_POLY1305_SHA256, SSL_TLS_AES_128_CCM_SHA256 };
    static const char *names[] = { "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                   "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256" };
    /* Ids no version of TLS will ever negotiate: unassigned, GREASE, TLS_NULL_WITH_NULL_NULL. */
    static const ubyte2 unknown[] = { 0xFFFF, 0x0A0A, 0x0000 };
    ubyte2 cipher = 0;
    ubyte4 curves = 0;
    MSTATUS st;

    env_up(2);
    /* The client offers one suite: that is the one negotiated. */
    for (int i = 0; i < 4; i++) {
        struct pair p = { .s.post = post_status };
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        ASSERT_EQ(SSL_enableCiphers(p.ch, &suites[i], 1), OK);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ_AT(st, OK, names[i]);
        ASSERT_EQ(SSL_getCipherInfo(p.ch, &cipher, &curves), OK);
        ASSERT_EQ(cipher, suites[i]);
        ASSERT_STR_EQ(NKTLS_cipherName(cipher), names[i]);
        /* Data flows under each suite. */
        ASSERT_EQ(SSL_send(p.ch, (sbyte *)"x", 1), 1);
        /* Too late to change the list. */
        ASSERT_EQ(SSL_enableCiphers(p.ch, suites, 4), ERR_SSL_BAD_STATE);
        pair_down(&p);
        ASSERT_EQ(p.s.u[1], (ubyte4)suites[i]);
        ST_EQ(p.s.st[0], ERR_SSL_CONNECTION_CLOSED);
    }

    /* Unknown ids only: refused; unknown ids mixed with a known one: kept. */
    {
        struct pair p = { .s.post = post_status };
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        ASSERT_EQ(SSL_enableCiphers(p.ch, unknown, 3), ERR_SSL_NO_CIPHER_MATCH);
        ASSERT_EQ(SSL_enableCiphers(p.ch, NULL, 1), ERR_NULL_POINTER);
        ubyte2 mixed[] = { 0xFFFF, SSL_TLS_CHACHA20_POLY1305_SHA256, 0x0A0A };
        ASSERT_EQ(SSL_enableCiphers(p.ch, mixed, 3), OK);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, OK);
        ASSERT_EQ(SSL_getCipherInfo(p.ch, &cipher, &curves), OK);
        ASSERT_EQ(cipher, SSL_TLS_CHACHA20_POLY1305_SHA256);
        pair_down(&p);
    }

    /* Nothing in common: the server fails and says handshake_failure. */
    {
        static const ubyte2 srv_suite = SSL_TLS_AES_128_GCM_SHA256;
        struct pair p = { .s.pre = pre_enable_cipher, .s.arg = &srv_suite };
        sbyte4 id = -1, cls = -1;
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        ASSERT_EQ(SSL_enableCiphers(p.ch, &suites[3], 1), OK);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, ERR_SSL_FATAL_ALERT);
        ASSERT_EQ(SSL_lookupAlert(p.ch, st, &id, &cls), OK);
        ASSERT_EQ(id, SSL_ALERT_HANDSHAKE_FAILURE);
        ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
        ASSERT_EQ(alerts_for(p.ch, &id, &cls), 1);
        ASSERT_EQ(id, SSL_ALERT_HANDSHAKE_FAILURE);
        ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
        pair_down(&p);
        ASSERT_EQ(p.s.st[5], OK);
        ST_EQ(p.s.hs, ERR_SSL_NO_CIPHER_MATCH);
        ASSERT_EQ(p.s.alert, SSL_ALERT_HANDSHAKE_FAILURE);
        ASSERT_EQ(p.s.alert_cls, SSLALERTLEVEL_FATAL);
    }
    env_down();
}

TEST(versions)
{
    MSTATUS st;
    ubyte4 v = 0;

    env_up(2);
    /* Only TLS 1.2 and 1.3 are versions one can ask for. */
    {
        int fd[2];
        ASSERT_EQ(make_pair(0, fd), 0);
        sbyte4 h = SSL_connect(fd[0], 0, NULL, NULL, NULL, env.cli);
        ASSERT_GT(h, 0);
        ASSERT_EQ(SSL_ioctl(h, SSL_SET_VERSION, (void *)(uintptr_t)TLS11_MINORVERSION),
                  ERR_SSL_UNSUPPORTED_VERSION);
        ASSERT_EQ(SSL_ioctl(h, SSL_SET_VERSION, (void *)(uintptr_t)5), ERR_SSL_UNSUPPORTED_VERSION);
        ASSERT_EQ(SSL_ioctl(h, SSL_SET_MINIMUM_VERSION, (void *)(uintptr_t)TLS10_MINORVERSION),
                  ERR_SSL_UNSUPPORTED_VERSION);
        ASSERT_EQ(SSL_ioctl(h, 9999, NULL), ERR_NOT_SUPPORTED);
        ASSERT_EQ(SSL_closeConnection(h), OK);
        close(fd[0]);
        close(fd[1]);
    }
    /* Exactly 1.3 on the client. */
    {
        struct pair p = { .s.post = post_wait_end };
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_MINIMUM_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION), OK);
        ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION), OK);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, OK);
        ASSERT_EQ(SSL_getSSLTLSVersion(p.ch, &v), OK);
        ASSERT_EQ(v, (ubyte4)TLS13_MINORVERSION);
        ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION),
                  ERR_SSL_BAD_STATE);
        pair_down(&p);
    }
    /* A client capped at 1.2 negotiates TLS 1.2 with a default server. */
    {
        struct pair p = { .s.post = post_wait_end };
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, OK);
        ASSERT_EQ(SSL_getSSLTLSVersion(p.ch, &v), OK);
        ASSERT_EQ(v, (ubyte4)TLS12_MINORVERSION);
        pair_down(&p);
    }
    env_down();
}

static void pre_server_min_13(struct srv *s)
{
    s->st[5] = SSL_ioctl(s->h, SSL_SET_MINIMUM_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION);
}

static void post_peer_versions(struct srv *s)
{
    s->st[6] = NKTLS_getPeerVersions(s->h, &s->u[6]);
}

/* A client capped at 1.2 cannot connect to a server held to 1.3: the server
 * says protocol_version, and knows what the client offered. */
TEST(client_max_12_server_min_13)
{
    struct pair p = { .s.pre = pre_server_min_13, .s.post = post_peer_versions };
    sbyte4 id = -1, cls = -1;
    MSTATUS st;

    env_up(2);
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
    st = SSL_negotiateConnection(p.ch);
    sbyte4 ch = p.ch;
    pair_down(&p);
    ASSERT_EQ(p.s.st[5], OK);
    ST_EXPECT(p.s.hs, ERR_SSL_UNSUPPORTED_VERSION);
    ASSERT_EQ(p.s.st[6], OK);
    /* supported_versions said 1.2 alone. */
    EXPECT_EQ(p.s.u[6], NKTLS_VERSION_BIT(TLS12_MINORVERSION));
    ST_EXPECT(st, ERR_SSL_FATAL_ALERT);
    if (st == ERR_SSL_FATAL_ALERT) {
        EXPECT_EQ(alerts_for(ch, &id, &cls), 1);
        EXPECT_EQ(id, SSL_ALERT_PROTOCOL_VERSION);
    }
    env_down();
}

static void pre_server_max_12(struct srv *s)
{
    s->st[5] = SSL_ioctl(s->h, SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION);
}

/* A server capped at 1.2 must not negotiate 1.3: a default client gets TLS
 * 1.2 (no downgrade sentinel: that server does not speak 1.3). */
TEST(server_max_version)
{
    struct pair p = { .s.pre = pre_server_max_12, .s.post = post_status };
    MSTATUS st;
    ubyte4 v = 0;

    env_up(2);
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EXPECT(st, OK);
    EXPECT_EQ(SSL_getSSLTLSVersion(p.ch, &v), OK);
    EXPECT_EQ(v, (ubyte4)TLS12_MINORVERSION);
    pair_down(&p);
    ASSERT_EQ(p.s.st[5], OK);
    ST_EXPECT(p.s.hs, OK);
    env_down();
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
