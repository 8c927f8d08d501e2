/* test_tls12_anon.c — anonymous (EC)DH suites in TLS 1.2, in memory
 * (handshake/tls12_anon.c): never negotiated unless both ends enabled them
 * (the server finds no suite: handshake_failure; a client that did not offer
 * one refuses it in the ServerHello: illegal_parameter); when enabled, each
 * suite's handshake has no Certificate and an unsigned ServerKeyExchange,
 * works with no server identity at all, and carries data both ways; a
 * server that asks for a client certificate takes none (RFC 5246 §7.4.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"
#include "handshake/tls12.h"

static const ubyte2 anon_suites[] = { 0x00a6, 0x00a7, 0x006c, 0x006d, 0x0034, 0x003a, 0xc018, 0xc019 };

FIXTURE(anon) {
    struct tp_pair p;
};

FIXTURE_SETUP(anon)
{
}

FIXTURE_TEARDOWN(anon)
{
    tp_free(&self->p);
}

/* A server store with no identity (anonymous suites need none), a client
 * trusting cert_pki's root. */
static void pair_bare(struct __test_metadata *_metadata, struct tp_pair *p)
{
    certStorePtr srv = tp_store_new(), cli = tp_store_new();
    ASSERT_EQ(tp_store_trust(cli, pki.root), OK);
    ASSERT_EQ(tp_new_stores(p, srv, cli, key_host[K_P256]), OK);
}

/* The message types of the server's first flight, in order. */
struct types_seen {
    uint8_t t[8];
    int n;
};

static void watch_server(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct types_seen *w = arg;
    if (dir != TP_S2C || rec->len < 9 || rec->p[0] != NK_CT_HANDSHAKE || w->n >= 8)
        return;
    w->t[w->n++] = rec->p[5];
}

TEST_F(anon, each_suite_when_enabled)
{
    for (size_t i = 0; i < NK_ARRAY_LEN(anon_suites); i++) {
        struct types_seen w = { { 0 }, 0 };
        pair_bare(_metadata, &self->p);
        for (int s = 0; s < 2; s++)
            ASSERT_EQ(SSL_enableCiphers(self->p.h[s], &anon_suites[i], 1), OK);
        self->p.hook = watch_server;
        self->p.hook_arg = &w;
        ASSERT_EQ(tp_handshake(&self->p), OK) TH_LOG("suite %04x", anon_suites[i]);
        ubyte2 id = 0;
        ubyte4 curves = 0;
        ASSERT_EQ(SSL_getCipherInfo(self->p.h[TP_CLIENT], &id, &curves), OK);
        EXPECT_EQ(id, anon_suites[i]);
        EXPECT_EQ(self->p.c[TP_CLIENT]->minor, 3);
        /* ServerHello, ServerKeyExchange, ServerHelloDone: no Certificate. */
        ASSERT_GE(w.n, 3);
        EXPECT_EQ(w.t[0], NK_HS_SERVER_HELLO);
        EXPECT_EQ(w.t[1], NK_HS_SERVER_KEY_EXCHANGE);
        EXPECT_EQ(w.t[2], NK_HS_SERVER_HELLO_DONE);
        EXPECT_EQ(self->p.c[TP_CLIENT]->peer_chain_len, 0u);
        EXPECT_EQ(self->p.c[TP_CLIENT]->peer_sig, 0);   /* nothing was signed */
        static const char hi[] = "anonymous, but private";
        for (int from = 0; from < 2; from++) {
            ASSERT_EQ(tp_send(&self->p, from, hi, sizeof hi), OK);
            ASSERT_EQ(tp_pump(&self->p), OK);
            ASSERT_EQ(self->p.rx[1 - from].len, sizeof hi);
            ASSERT_EQ(memcmp(self->p.rx[1 - from].p, hi, sizeof hi), 0);
        }
        tp_free(&self->p);
    }
}

/* The server enabled only an anonymous suite; the client's defaults offer
 * none: no suite in common. */
TEST_F(anon, not_offered_by_default)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_ioctl(self->p.h[TP_CLIENT], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_SERVER], &anon_suites[0], 1), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_NO_CIPHER_MATCH, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* Both enabled an authenticated suite and an anonymous one: the
 * authenticated one wins (the table puts anonymous suites last). */
TEST_F(anon, authenticated_preferred)
{
    static const ubyte2 both[] = { 0x00a6, 0xc02b };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_enableCiphers(self->p.h[s], both, 2), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ubyte2 id = 0;
    ubyte4 curves = 0;
    ASSERT_EQ(SSL_getCipherInfo(self->p.h[TP_CLIENT], &id, &curves), OK);
    EXPECT_EQ(id, 0xc02b);
    EXPECT_GT(self->p.c[TP_CLIENT]->peer_chain_len, 0u);
}

/* RFC 5246 §7.4.4: a server that asks for a client certificate takes no
 * anonymous suite, and has no identity for another: no suite. */
TEST_F(anon, not_with_client_auth)
{
    pair_bare(_metadata, &self->p);
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_enableCiphers(self->p.h[s], &anon_suites[0], 1), OK);
    ASSERT_EQ(SSL_setSessionFlags(self->p.h[TP_SERVER], SSL_FLAG_REQUIRE_MUTUAL_AUTH), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_NO_CIPHER_MATCH, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* A server without an identity and no anonymous suite enabled: as before,
 * no identity. */
TEST_F(anon, no_identity_without_anon)
{
    pair_bare(_metadata, &self->p);
    ASSERT_EQ(SSL_ioctl(self->p.h[TP_CLIENT], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    EXPECT_EQ(self->p.c[TP_SERVER]->err, ERR_SSL_NO_IDENTITY);
}

/* The ServerHello names an anonymous suite the client did not offer (the
 * test rewrites the suite of an ECDHE-ECDSA handshake): illegal_parameter. */
static void to_anon(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    if (dir != TP_S2C || p->records[dir] != 1 || rec->len < 44 || rec->p[5] != NK_HS_SERVER_HELLO)
        return;
    size_t at = 5 + 4 + 2 + 32;
    at += 1 + rec->p[at];   /* the session id */
    if (at + 2 <= rec->len) {
        rec->p[at] = 0x00;
        rec->p[at + 1] = 0xa6;
    }
}

TEST_F(anon, client_refuses_unoffered)
{
    static const ubyte2 ecdsa = 0xc02b;
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_enableCiphers(self->p.h[s], &ecdsa, 1), OK);
    self->p.hook = to_anon;
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_ILLEGAL_PARAMETER);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

TEST_HARNESS_MAIN
