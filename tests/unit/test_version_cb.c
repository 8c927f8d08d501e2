/* test_version_cb.c — the version callback (SSL_setVersionCallback, the
 * stack's funcPtrVersionCallback), in memory: each end is told once, as the
 * hellos settle it, the version chosen and the highest the client offered
 * (TLS minor numbers), and OK; a server that finds no version in common
 * tells it with serverVersion 0 and the error; a callback that answers with
 * a negative value ends the handshake with protocol_version
 * (ERR_SSL_VERSION_REFUSED), on either end; the connection's callback takes
 * precedence over the stack's; it is set before the handshake only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"

struct told {
    int calls;
    ubyte4 server, client;
    MSTATUS st;
};
static struct told g_told[3];   /* client, server, the stack's */
static MSTATUS g_answer[3];

static MSTATUS tell(int who, ubyte4 s, ubyte4 c, MSTATUS st)
{
    g_told[who].calls++;
    g_told[who].server = s;
    g_told[who].client = c;
    g_told[who].st = st;
    return g_answer[who];
}

static MSTATUS on_client(ubyte4 s, ubyte4 c, MSTATUS st) { return tell(TP_CLIENT, s, c, st); }
static MSTATUS on_server(ubyte4 s, ubyte4 c, MSTATUS st) { return tell(TP_SERVER, s, c, st); }
static MSTATUS on_stack(ubyte4 s, ubyte4 c, MSTATUS st) { return tell(2, s, c, st); }

FIXTURE(vcb) {
    struct tp_pair p;
};

FIXTURE_SETUP(vcb)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    memset(g_told, 0, sizeof g_told);
    memset(g_answer, 0, sizeof g_answer);
    ASSERT_EQ(SSL_setVersionCallback(self->p.h[TP_CLIENT], on_client), OK);
    ASSERT_EQ(SSL_setVersionCallback(self->p.h[TP_SERVER], on_server), OK);
}

FIXTURE_TEARDOWN(vcb)
{
    SSL_sslSettings()->funcPtrVersionCallback = NULL;
    tp_free(&self->p);
}

static void expect_told(struct __test_metadata *_metadata, int who, ubyte4 s, ubyte4 c, MSTATUS st)
{
    EXPECT_EQ(g_told[who].calls, 1) TH_LOG("who %d", who);
    EXPECT_EQ(g_told[who].server, s) TH_LOG("who %d", who);
    EXPECT_EQ(g_told[who].client, c) TH_LOG("who %d", who);
    EXPECT_EQ(g_told[who].st, st) TH_LOG("who %d", who);
}

static void set_version(struct __test_metadata *_metadata, struct tp_pair *p, int side, ubyte4 minor)
{
    ASSERT_EQ(SSL_ioctl(p->h[side], SSL_SET_VERSION, (void *)(uintptr_t)minor), OK);
}

TEST_F(vcb, tls13)
{
    ASSERT_EQ(tp_handshake(&self->p), OK);
    expect_told(_metadata, TP_CLIENT, 4, 4, OK);
    expect_told(_metadata, TP_SERVER, 4, 4, OK);
    EXPECT_EQ(g_told[2].calls, 0);
    /* The hellos are done: too late to change it. */
    EXPECT_EQ(SSL_setVersionCallback(self->p.h[TP_CLIENT], NULL), ERR_SSL_BAD_STATE);
}

/* A client that offers TLS 1.2 at most, a server that speaks both. */
TEST_F(vcb, tls12)
{
    set_version(_metadata, &self->p, TP_CLIENT, TLS12_MINORVERSION);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    expect_told(_metadata, TP_CLIENT, 3, 3, OK);
    expect_told(_metadata, TP_SERVER, 3, 3, OK);
}

/* A HelloRetryRequest first: told once, at the ServerHello. */
TEST_F(vcb, once_after_hello_retry)
{
    static const ubyte2 p384[] = { NK_GROUP_SECP384R1 };
    static const ubyte2 both[] = { NK_GROUP_X25519, NK_GROUP_SECP384R1 };
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_SERVER], p384, 1), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_CLIENT], both, 2), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_TRUE(self->p.c[TP_CLIENT]->hello_retried);
    expect_told(_metadata, TP_CLIENT, 4, 4, OK);
    expect_told(_metadata, TP_SERVER, 4, 4, OK);
}

/* No version in common: the server is told so, serverVersion 0. */
TEST_F(vcb, none_in_common)
{
    set_version(_metadata, &self->p, TP_CLIENT, TLS12_MINORVERSION);
    ASSERT_EQ(SSL_ioctl(self->p.h[TP_SERVER], SSL_SET_MINIMUM_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION), OK);
    EXPECT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNSUPPORTED_VERSION, SSL_ALERT_PROTOCOL_VERSION);
    expect_told(_metadata, TP_SERVER, 0, 3, ERR_SSL_UNSUPPORTED_VERSION);
    EXPECT_EQ(g_told[TP_CLIENT].calls, 0);
}

TEST_F(vcb, server_refuses)
{
    g_answer[TP_SERVER] = ERR_GENERAL;
    EXPECT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_VERSION_REFUSED, SSL_ALERT_PROTOCOL_VERSION);
    expect_told(_metadata, TP_SERVER, 4, 4, OK);
}

TEST_F(vcb, client_refuses_tls12)
{
    set_version(_metadata, &self->p, TP_SERVER, TLS12_MINORVERSION);
    g_answer[TP_CLIENT] = ERR_GENERAL;
    EXPECT_EQ(tp_handshake(&self->p), ERR_SSL_VERSION_REFUSED);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_VERSION_REFUSED, SSL_ALERT_PROTOCOL_VERSION);
    expect_told(_metadata, TP_CLIENT, 3, 4, OK);   /* we offered up to 1.3 */
}

/* The stack's callback serves connections without their own. */
TEST_F(vcb, stack_callback)
{
    SSL_sslSettings()->funcPtrVersionCallback = on_stack;
    ASSERT_EQ(SSL_setVersionCallback(self->p.h[TP_SERVER], NULL), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    expect_told(_metadata, TP_CLIENT, 4, 4, OK);
    expect_told(_metadata, 2, 4, 4, OK);
    EXPECT_EQ(g_told[TP_SERVER].calls, 0);
}

TEST_F(vcb, stale_handle)
{
    EXPECT_EQ(SSL_setVersionCallback(self->p.h[TP_CLIENT] + (1 << 16), on_client), ERR_SSL_BAD_ID);
}

TEST_HARNESS_MAIN
