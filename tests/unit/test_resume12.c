/* test_resume12.c — TLS 1.2 resumption by session id (RFC 5246 §7.3,
 * §7.4.1.2, §7.4.1.3; RFC 7627 §5.3), in memory over the public API: a full
 * handshake, SSL_getClientSessionInfo, then SSL_connect with that id and
 * master secret. Resumed where it must be (the abbreviated handshake's three
 * records), a full handshake wherever the session does not fit (another
 * store, client-authentication policy, server name, suite, an unknown,
 * altered, expired or evicted id, a wrong master secret), and the refusals
 * (a server that resumes with another suite or drops EMS). Then RFC 5077
 * tickets: issued before the server's ChangeCipherSpec, resumed from, and
 * refused where they do not fit or were altered. The stores live
 * across the connections of one case, as a server's do; each case is its own
 * process, so the caches start empty. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"
#include "handshake/tls12_resume.h"
#include "handshake/psk.h"

struct session {
    ubyte id_len;
    ubyte id[SSL_MAXSESSIONIDSIZE];
    ubyte master[SSL_MASTERSECRETSIZE];
};

struct setup {
    const struct session *offer;   /* NULL: a fresh client */
    const char *host;              /* NULL: the leaf's host name */
    certStorePtr srv;              /* NULL: the case's server store */
    ubyte4 srv_flags;
    int client_13;                 /* the client allows TLS 1.3 too (the default) */
    int64_t srv_skew, cli_skew;    /* seconds added to either side's clock */
    int tickets;                   /* the server issues RFC 5077 tickets (else ids only) */
};

FIXTURE(r12) {
    certStorePtr srv, cli;
    struct tp_pair p;
};

FIXTURE_SETUP(r12)
{
    self->srv = tp_store_new();
    self->cli = tp_store_new();
    ASSERT_TRUE(self->srv && self->cli);
    ASSERT_EQ(tp_store_identity(self->srv, pki.leaf[K_P256], pki.key[K_P256], pki.inter), OK);
    ASSERT_EQ(tp_store_trust(self->cli, pki.root), OK);
}

FIXTURE_TEARDOWN(r12)
{
    tp_free(&self->p);
    CERT_STORE_releaseStore(&self->srv);
    CERT_STORE_releaseStore(&self->cli);
}

/* A pair over the case's stores, not yet started (the next call frees it). */
static MSTATUS pair(FIXTURE_DATA(r12) *self, const struct setup *s)
{
    const char *host = s->host ? s->host : key_host[K_P256];
    tp_free(&self->p);
    MSTATUS st = tp_new_stores(&self->p, s->srv ? s->srv : self->srv, self->cli, host);
    self->p.store[TP_SERVER] = self->p.store[TP_CLIENT] = NULL;   /* the case keeps them */
    NK_TRY(st);
    struct tp_pair *p = &self->p;
    if (s->offer) {   /* the client again, now with the session */
        NK_TRY(SSL_closeConnection(p->h[TP_CLIENT]));
        p->h[TP_CLIENT] = SSL_connect(-1, s->offer->id_len, (ubyte *)s->offer->id, (ubyte *)s->offer->master,
                                      (const sbyte *)host, self->cli);
        NK_CHECK(p->h[TP_CLIENT] > 0, (MSTATUS)p->h[TP_CLIENT]);
        NK_TRY(nk_conn_get(p->h[TP_CLIENT], &p->c[TP_CLIENT]));
        p->c[TP_CLIENT]->is_async = 1;
    }
    p->c[TP_SERVER]->now = ((int64_t)time(NULL) + s->srv_skew) * 1000;
    p->c[TP_CLIENT]->now = ((int64_t)time(NULL) + s->cli_skew) * 1000;
    NK_TRY(SSL_setSessionFlags(p->h[TP_SERVER], s->srv_flags));
    if (!s->tickets)
        NK_TRY(SSL_ioctl(p->h[TP_SERVER], SSL_SET_NUM_TICKETS, (void *)0));
    NK_TRY(SSL_ioctl(p->h[TP_SERVER], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION));
    if (!s->client_13)
        NK_TRY(SSL_ioctl(p->h[TP_CLIENT], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION));
    return OK;
}

static MSTATUS connect_with(FIXTURE_DATA(r12) *self, const struct setup *s)
{
    NK_TRY(pair(self, s));
    return tp_handshake(&self->p);
}

static MSTATUS info(FIXTURE_DATA(r12) *self, struct session *out)
{
    return SSL_getClientSessionInfo(self->p.h[TP_CLIENT], &out->id_len, out->id, out->master);
}

static int resumed(FIXTURE_DATA(r12) *self)
{
    return NKTLS_isSessionResumed(self->p.h[TP_SERVER]) && NKTLS_isSessionResumed(self->p.h[TP_CLIENT]);
}

/* Neither side resumed, and both are open with TLS 1.2. */
static int full(FIXTURE_DATA(r12) *self)
{
    return !NKTLS_isSessionResumed(self->p.h[TP_SERVER]) && !NKTLS_isSessionResumed(self->p.h[TP_CLIENT])
        && self->p.c[TP_CLIENT]->minor == 3 && self->p.c[TP_SERVER]->minor == 3;
}

/* A first full handshake and the session it leaves. */
static void first_t(struct __test_metadata *_metadata, FIXTURE_DATA(r12) *self, struct session *s, int tickets)
{
    struct setup st = { .tickets = tickets };
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(full(self));
    ASSERT_EQ(info(self, s), OK);
    ASSERT_EQ(s->id_len, 32);
    /* The master secret is the one both ends hold. */
    ASSERT_MEM_EQ(s->master, self->p.c[TP_SERVER]->exporter, 48);
}

#define first(m, self, s) first_t(m, self, s, 0)

TEST_F(r12, resumed_by_id)
{
    struct session s, again;
    first(_metadata, self, &s);
    ASSERT_EQ(self->p.records[TP_S2C], 6u);   /* ServerHello, Certificate, SKE, SHD, CCS, Finished */
    struct setup st = { .offer = &s };
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(resumed(self));
    /* RFC 5246 §7.3, Figure 2: ServerHello, ChangeCipherSpec, Finished; the
     * client's ClientHello, ChangeCipherSpec, Finished. */
    EXPECT_EQ(self->p.records[TP_S2C], 3u);
    EXPECT_EQ(self->p.records[TP_C2S], 3u);
    ASSERT_EQ(info(self, &again), OK);
    ASSERT_EQ(again.id_len, 32);
    ASSERT_MEM_EQ(again.id, s.id, 32);
    ASSERT_MEM_EQ(again.master, s.master, 48);
    /* Data both ways under the new keys. */
    ASSERT_EQ(tp_send(&self->p, TP_CLIENT, "ping", 4), OK);
    ASSERT_EQ(tp_send(&self->p, TP_SERVER, "pong!", 5), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_EQ(self->p.rx[TP_SERVER].len, 4u);
    ASSERT_MEM_EQ(self->p.rx[TP_SERVER].p, "ping", 4);
    ASSERT_EQ(self->p.rx[TP_CLIENT].len, 5u);
    ASSERT_MEM_EQ(self->p.rx[TP_CLIENT].p, "pong!", 5);
    /* The same exporter output at both ends, and not the first connection's. */
    ubyte a[32], b[32];
    ASSERT_EQ(SSL_generateExportKeyMaterial(self->p.h[TP_CLIENT], a, 32, (ubyte *)"EXPORTER-t", 10, NULL, 0, 0), OK);
    ASSERT_EQ(SSL_generateExportKeyMaterial(self->p.h[TP_SERVER], b, 32, (ubyte *)"EXPORTER-t", 10, NULL, 0, 0), OK);
    ASSERT_MEM_EQ(a, b, 32);
    /* A session resumes more than once within its lifetime. */
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(resumed(self));
}

/* A client that also offers TLS 1.3 resumes a TLS 1.2 server's session. */
/* NKTLS_setClientSession: the offer on a connection made without one (as
 * the event loop makes them), before its handshake only. */
TEST_F(r12, set_client_session)
{
    struct session s;
    struct setup st = { 0 };
    first(_metadata, self, &s);
    ASSERT_EQ(pair(self, &st), OK);
    ASSERT_EQ(NKTLS_setClientSession(self->p.h[TP_CLIENT], s.id_len, s.id, s.master), OK);
    ASSERT_EQ(NKTLS_setClientSession(self->p.h[TP_SERVER], s.id_len, s.id, s.master), ERR_SSL_BAD_STATE);
    ASSERT_EQ(NKTLS_setClientSession(self->p.h[TP_CLIENT], 1, NULL, s.master), ERR_NULL_POINTER);
    ASSERT_EQ(NKTLS_setClientSession(self->p.h[TP_CLIENT], 33, s.id, s.master), ERR_INVALID_ARG);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_TRUE(resumed(self));
    ASSERT_EQ(NKTLS_setClientSession(self->p.h[TP_CLIENT], s.id_len, s.id, s.master), ERR_SSL_BAD_STATE);
}

TEST_F(r12, client_allowing_13)
{
    struct session s;
    first(_metadata, self, &s);
    struct setup st = { .offer = &s, .client_13 = 1 };
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(resumed(self));
}

TEST_F(r12, server_forgot_the_id)
{
    struct session s, now;
    first(_metadata, self, &s);
    nk_cache12_flush(NK_CACHE12_SERVER);
    struct setup st = { .offer = &s };
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(full(self));
    ASSERT_EQ(info(self, &now), OK);
    ASSERT_EQ(now.id_len, 32);
    ASSERT_NE(memcmp(now.id, s.id, 32), 0);
}

/* RFC 5246 §7.4.1.2 leaves the lifetime to the server; ours is
 * NKTLS_LIMIT_SESSION_LIFETIME. Expired at the server: a full handshake. */
TEST_F(r12, expired_at_server)
{
    struct session s;
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_SESSION_LIFETIME, 60), OK);
    first(_metadata, self, &s);
    /* Margins of 10 s: a second may tick between the connections. */
    struct setup st = { .offer = &s, .srv_skew = 50 };
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(resumed(self));
    st.srv_skew = 70;
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(full(self));
}

/* Expired in the client's record: not offered. */
TEST_F(r12, expired_at_client)
{
    struct session s;
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_SESSION_LIFETIME, 60), OK);
    first(_metadata, self, &s);
    struct setup st = { .offer = &s, .cli_skew = 70 };
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(full(self));
}

/* The cache holds NKTLS_LIMIT_SESSION_CACHE sessions; the oldest goes. */
TEST_F(r12, cache_full_evicts_oldest)
{
    struct session s[3];
    struct setup st = { 0 };
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_SESSION_CACHE, 2), OK);
    for (int i = 0; i < 3; i++) {
        st.srv_skew = i;   /* made a second apart: an order to evict by */
        ASSERT_EQ(connect_with(self, &st), OK);
        ASSERT_EQ(info(self, &s[i]), OK);
    }
    EXPECT_EQ(nk_cache12_count(NK_CACHE12_SERVER), 2u);
    struct setup again = { .offer = &s[0], .srv_skew = 3 };
    ASSERT_EQ(connect_with(self, &again), OK);
    ASSERT_TRUE(full(self));
    again.offer = &s[2];
    ASSERT_EQ(connect_with(self, &again), OK);
    ASSERT_TRUE(resumed(self));
}

/* Cache off: the ServerHello carries no id, and there is nothing to resume. */
TEST_F(r12, cache_off)
{
    struct session s;
    struct setup st = { 0 };
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_SESSION_CACHE, 0), OK);
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_EQ(info(self, &s), OK);
    EXPECT_EQ(s.id_len, 0);
    EXPECT_EQ(nk_cache12_count(NK_CACHE12_SERVER), 0u);
    EXPECT_EQ(nk_cache12_count(NK_CACHE12_CLIENT), 0u);
}

/* Made where no client certificate was asked for; offered where one is
 * asked for: a full handshake, never one that skips the request. */
TEST_F(r12, not_across_client_auth_policy)
{
    struct session s;
    first(_metadata, self, &s);
    struct setup st = { .offer = &s, .srv_flags = NKTLS_FLAG_REQUEST_MUTUAL_AUTH };
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(full(self));
}

/* Another server store (the same identity, but a trust point more): a full
 * handshake. */
TEST_F(r12, not_across_stores)
{
    struct session s;
    first(_metadata, self, &s);
    certStorePtr other = tp_store_new();
    ASSERT_NOT_NULL(other);
    ASSERT_EQ(tp_store_identity(other, pki.leaf[K_P256], pki.key[K_P256], pki.inter), OK);
    ASSERT_EQ(tp_store_trust(other, pki.other_root), OK);
    struct setup st = { .offer = &s, .srv = other };
    MSTATUS r = connect_with(self, &st);
    int was_full = full(self);
    tp_free(&self->p);
    CERT_STORE_releaseStore(&other);
    ASSERT_EQ(r, OK);
    ASSERT_TRUE(was_full);
}

/* A session made with one server name is not offered to another: the
 * certificate is checked again (and here does not match). */
TEST_F(r12, not_for_another_server_name)
{
    struct session s;
    first(_metadata, self, &s);
    struct setup st = { .offer = &s, .host = "other.example" };
    ASSERT_EQ(connect_with(self, &st), ERR_CERT_HOSTNAME_MISMATCH);
}

/* The server's side of the same rule: a ClientHello offering the session
 * under another server name (changed on the way: "p256" -> "p257") gets a
 * full handshake, by id and by ticket. */
static void other_sni(struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_SERVER_NAME);
    for (size_t k = 0; i >= 0 && k + 4 <= h->ext[i].len; k++)
        if (!memcmp(h->ext[i].data + k, "p256", 4))
            h->ext[i].data[k + 3] = '7';
}

TEST_F(r12, server_checks_server_name)
{
    for (int tickets = 0; tickets < 2; tickets++) {
        struct session s;
        first_t(_metadata, self, &s, tickets);
        struct setup st = { .offer = &s, .tickets = tickets };
        ASSERT_EQ(pair(self, &st), OK);
        struct hello_edit e = { .dir = TP_C2S, .fn = other_sni, .fix_transcript = 1 };
        ASSERT_EQ(run_hello_edit(&self->p, &e), OK) TH_LOG("tickets %d", tickets);
        ASSERT_STR_EQ(self->p.c[TP_SERVER]->server_name, "p257.example.com");
        ASSERT_TRUE(full(self)) TH_LOG("tickets %d", tickets);
    }
}

TEST_F(r12, wrong_master_secret)
{
    struct session s;
    first(_metadata, self, &s);
    s.master[7] ^= 1;
    struct setup st = { .offer = &s };
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(full(self));
}

TEST_F(r12, id_too_long)
{
    ubyte id[33] = { 0 }, master[48] = { 0 };
    ASSERT_EQ(tp_stack(), OK);
    ASSERT_EQ(SSL_connect(-1, 33, id, master, (const sbyte *)"x", self->cli), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_connect(-1, 32, id, NULL, (const sbyte *)"x", self->cli), ERR_NULL_POINTER);
}

static void alter_id(struct tp_hello *h)
{
    h->sid[0] ^= 0x80;
}

/* An id altered on the way: the server does not know it, the handshake is
 * full (and the client takes the server's new id). */
TEST_F(r12, altered_id)
{
    struct session s, now;
    first(_metadata, self, &s);
    struct setup st = { .offer = &s };
    ASSERT_EQ(pair(self, &st), OK);
    struct hello_edit e = { .dir = TP_C2S, .fn = alter_id, .fix_transcript = 1 };
    ASSERT_EQ(run_hello_edit(&self->p, &e), OK);
    ASSERT_TRUE(full(self));
    ASSERT_EQ(info(self, &now), OK);
    ASSERT_NE(memcmp(now.id, s.id, 32), 0);
}

static uint16_t g_suite;

static void drop_suite(struct tp_hello *h)
{
    size_t o = 0;
    for (size_t i = 0; i + 1 < h->suites_len; i += 2)
        if (nk_load16(h->suites + i) != g_suite) {
            memmove(h->suites + o, h->suites + i, 2);
            o += 2;
        }
    h->suites_len = o;
}

/* RFC 5246 §7.4.1.2: the ClientHello must list the session's suite; one
 * that does not gets a full handshake. */
TEST_F(r12, suite_not_offered)
{
    struct session s;
    first(_metadata, self, &s);
    g_suite = self->p.c[TP_SERVER]->suite->id;
    struct setup st = { .offer = &s };
    ASSERT_EQ(pair(self, &st), OK);
    struct hello_edit e = { .dir = TP_C2S, .fn = drop_suite, .fix_transcript = 1 };
    ASSERT_EQ(run_hello_edit(&self->p, &e), OK);
    ASSERT_TRUE(full(self));
    ASSERT_NE(self->p.c[TP_CLIENT]->suite->id, g_suite);
}

static void other_suite(struct tp_hello *h)
{
    nk_store16(h->suites, g_suite);
}

/* RFC 5246 §7.4.1.3: resuming, the server must keep the session's suite;
 * a ServerHello that echoes the id with another is illegal_parameter. */
TEST_F(r12, server_resumes_with_another_suite)
{
    struct session s;
    first(_metadata, self, &s);
    uint16_t was = self->p.c[TP_SERVER]->suite->id;
    g_suite = was == 0xc02b ? 0xc02c : 0xc02b;   /* the other ECDSA AES-GCM suite */
    struct setup st = { .offer = &s };
    ASSERT_EQ(pair(self, &st), OK);
    struct hello_edit e = { .dir = TP_S2C, .fn = other_suite };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_ILLEGAL_PARAMETER);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

static void drop_ems(struct tp_hello *h)
{
    tp_hello_del(h, NK_EXT_EXTENDED_MASTER_SECRET);
}

/* RFC 7627 §5.3: a ClientHello offering a session made with the extended
 * master secret but without the extension: the server aborts. */
TEST_F(r12, client_hello_without_ems)
{
    struct session s;
    first(_metadata, self, &s);
    struct setup st = { .offer = &s };
    ASSERT_EQ(pair(self, &st), OK);
    struct hello_edit e = { .dir = TP_C2S, .fn = drop_ems, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* RFC 7627 §5.3: a ServerHello resuming such a session without the
 * extension: the client aborts with handshake_failure. */
TEST_F(r12, server_hello_without_ems)
{
    struct session s;
    first(_metadata, self, &s);
    struct setup st = { .offer = &s };
    ASSERT_EQ(pair(self, &st), OK);
    struct hello_edit e = { .dir = TP_S2C, .fn = drop_ems };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_HANDSHAKE_FAILURE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* SSL_SET_USE_EXTENDED_MASTERSECRET FALSE: a server that allows clients
 * without the extension completes their full handshake (the master secret
 * of RFC 5246 §8.1, no extension echoed) but gives the session neither an id
 * nor a ticket (RFC 7627 §5.3: it is never resumed); one that has the
 * extension still gets it. */
TEST_F(r12, ems_optional_server)
{
    struct setup st = { .tickets = 1 };
    struct session s;
    ASSERT_EQ(pair(self, &st), OK);
    for (int i = 0; i < 2; i++)   /* the client, too, goes on without the server's echo */
        ASSERT_EQ(SSL_ioctl(self->p.h[i], SSL_SET_USE_EXTENDED_MASTERSECRET, (void *)0), OK);
    struct hello_edit e = { .dir = TP_C2S, .fn = drop_ems, .fix_transcript = 1 };
    ASSERT_EQ(run_hello_edit(&self->p, &e), OK);
    ASSERT_TRUE(full(self));
    ASSERT_EQ(info(self, &s), OK);
    EXPECT_EQ(s.id_len, 0);   /* nothing to resume */
    /* Data flows under the keys from the plain master secret. */
    ASSERT_EQ(tp_send(&self->p, TP_CLIENT, "ping", 4), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_EQ(self->p.rx[TP_SERVER].len, 4u);
    /* Too late to change. */
    ASSERT_EQ(SSL_ioctl(self->p.h[TP_SERVER], SSL_SET_USE_EXTENDED_MASTERSECRET, (void *)0), ERR_SSL_BAD_STATE);
}

/* Both ends derive the same keys from the master secret without the
 * extension (RFC 5246 §8.1): the exporter agrees. */
TEST_F(r12, ems_optional_same_keys)
{
    struct setup st = { 0 };
    ASSERT_EQ(pair(self, &st), OK);
    ASSERT_EQ(SSL_ioctl(self->p.h[TP_SERVER], SSL_SET_USE_EXTENDED_MASTERSECRET, (void *)0), OK);
    ASSERT_EQ(SSL_ioctl(self->p.h[TP_CLIENT], SSL_SET_USE_EXTENDED_MASTERSECRET, (void *)0), OK);
    struct hello_edit e = { .dir = TP_C2S, .fn = drop_ems, .fix_transcript = 1 };
    ASSERT_EQ(run_hello_edit(&self->p, &e), OK);   /* the server echoes nothing */
    ASSERT_TRUE(full(self));
    ubyte a[16], b[16];
    ASSERT_EQ(SSL_generateExportKeyMaterial(self->p.h[TP_CLIENT], a, 16, (ubyte *)"EXPORTER-t", 10, NULL, 0, 0), OK);
    ASSERT_EQ(SSL_generateExportKeyMaterial(self->p.h[TP_SERVER], b, 16, (ubyte *)"EXPORTER-t", 10, NULL, 0, 0), OK);
    ASSERT_MEM_EQ(a, b, 16);
}

/* RFC 7627 §5.3: a session made with the extension, offered by a hello
 * without it to a server that allows such hellos: the server aborts
 * (handshake_failure), it does not fall back to a full handshake. */
TEST_F(r12, ems_optional_server_aborts_resumption_without_it)
{
    struct session s;
    first(_metadata, self, &s);
    struct setup st = { .offer = &s };
    ASSERT_EQ(pair(self, &st), OK);
    ASSERT_EQ(SSL_ioctl(self->p.h[TP_SERVER], SSL_SET_USE_EXTENDED_MASTERSECRET, (void *)0), OK);
    struct hello_edit e = { .dir = TP_C2S, .fn = drop_ems, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* ---- RFC 5077 tickets ---- */

/* The client asks with an empty SessionTicket extension; the server sends a
 * NewSessionTicket before its ChangeCipherSpec and keeps nothing (§3.4: no
 * session id); the ticket resumes, and the client finds its session under
 * the id it made for it. */
TEST_F(r12, resumed_by_ticket)
{
    struct session s, again;
    first_t(_metadata, self, &s, 1);
    ASSERT_EQ(self->p.records[TP_S2C], 7u);   /* ..., SHD, NewSessionTicket, CCS, Finished */
    EXPECT_EQ(nk_cache12_count(NK_CACHE12_SERVER), 0u);
    struct setup st = { .offer = &s, .tickets = 1 };
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(resumed(self));
    EXPECT_EQ(self->p.records[TP_S2C], 3u);   /* ServerHello, CCS, Finished: no new ticket */
    ASSERT_EQ(info(self, &again), OK);
    ASSERT_EQ(again.id_len, 32);
    ASSERT_MEM_EQ(again.id, s.id, 32);
    ASSERT_MEM_EQ(again.master, s.master, 48);
    ASSERT_EQ(tp_send(&self->p, TP_CLIENT, "ping", 4), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_EQ(self->p.rx[TP_SERVER].len, 4u);
}

static void flip_ticket(struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_SESSION_TICKET);
    if (i >= 0 && h->ext[i].len > 40)
        h->ext[i].data[40] ^= 0x01;
}

/* RFC 5077 §3.4: a ticket that does not open (altered, or not ours) is a
 * full handshake, with a new ticket. */
TEST_F(r12, altered_ticket)
{
    struct session s;
    first_t(_metadata, self, &s, 1);
    struct setup st = { .offer = &s, .tickets = 1 };
    ASSERT_EQ(pair(self, &st), OK);
    struct hello_edit e = { .dir = TP_C2S, .fn = flip_ticket, .fix_transcript = 1 };
    ASSERT_EQ(run_hello_edit(&self->p, &e), OK);
    ASSERT_TRUE(full(self));
    EXPECT_EQ(self->p.records[TP_S2C], 7u);
}

TEST_F(r12, ticket_not_across_client_auth_policy)
{
    struct session s;
    first_t(_metadata, self, &s, 1);
    struct setup st = { .offer = &s, .tickets = 1, .srv_flags = NKTLS_FLAG_REQUEST_MUTUAL_AUTH };
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(full(self));
}

TEST_F(r12, ticket_expired)
{
    struct session s;
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_SESSION_LIFETIME, 60), OK);
    first_t(_metadata, self, &s, 1);
    struct setup st = { .offer = &s, .tickets = 1, .srv_skew = 70 };
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(full(self));
}

/* RFC 5077 §3.3: a NewSessionTicket the ServerHello did not announce (a
 * server with tickets off) is unexpected_message. */
TEST_F(r12, ticket_not_announced)
{
    static const uint8_t nst[] = { NK_CT_HANDSHAKE, 3, 3, 0, 14, NK_HS_NEW_SESSION_TICKET, 0, 0, 10,
                                   0, 0, 0x0e, 0x10, 0, 4, 0xde, 0xad, 0xbe, 0xef };
    struct setup st = { 0 };
    ASSERT_EQ(pair(self, &st), OK);
    /* After the ServerHelloDone (server record 3). */
    struct rec_edit e = { .dir = TP_S2C, .index = 3, .op = RE_APPEND, .bytes = nst, .n = sizeof nst };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* RFC 5077 §3.3: announced, the ticket must come before the
 * ChangeCipherSpec: without it, unexpected_message. */
TEST_F(r12, ticket_announced_not_sent)
{
    struct setup st = { .tickets = 1 };
    ASSERT_EQ(pair(self, &st), OK);
    /* Server records: 0 SH, 1 Certificate, 2 SKE, 3 SHD, 4 NewSessionTicket. */
    struct rec_edit e = { .dir = TP_S2C, .index = 4, .op = RE_REPLACE, .bytes = (const uint8_t *)"", .n = 0 };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* ---- the ticket key file (handshake/ticket_keys.c, docs/ticket-keys.md) ---- */

#define K1 "11111111111111111111111111111111 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define K2 "22222222222222222222222222222222 f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f"

/* Write a key file (times relative to now) and load it. */
static MSTATUS load_keys(const char *fmt, long long a, long long b, long long c)
{
    char path[] = "/tmp/nktls-keys-XXXXXX", text[512];
    int fd = mkstemp(path);
    if (fd < 0)
        return ERR_FILE_OPEN_FAILED;
    int n = snprintf(text, sizeof text, fmt, a, b, c);
    MSTATUS st = write(fd, text, (size_t)n) == n ? OK : ERR_FILE_WRITE_FAILED;
    close(fd);
    if (st == OK)
        st = NKTLS_loadTicketKeys(path);
    unlink(path);
    return st;
}

/* The ticket's key name: its first 16 bytes, in the client's record. */
static int ticket_under(const struct session *s, uint8_t name_byte)
{
    struct nk_session12 e;
    struct nk_limits lim = nk_config.limits;
    int ok = nk_cache12_get(NK_CACHE12_CLIENT, s->id, s->id_len, &lim, time(NULL), &e) && e.ticket_len > 16
             && e.ticket[0] == name_byte && e.ticket[15] == name_byte;
    nk_session12_clear(&e);
    return ok;
}

/* Server A issues a ticket under the shared key file; server B (another
 * store filled alike, the same file loaded again as a new process would)
 * resumes it. A ticket from before the file (the random key) does not. */
TEST_F(r12, fleet_shares_a_key_file)
{
    struct session before, s;
    long long now = time(NULL);
    first_t(_metadata, self, &before, 1);
    ASSERT_EQ(load_keys("nktls-ticket-keys 1\n" K1 " %lld %lld\n", now - 1000, 0, 0), OK);
    first_t(_metadata, self, &s, 1);
    ASSERT_TRUE(ticket_under(&s, 0x11));
    certStorePtr b = tp_store_new();
    ASSERT_NOT_NULL(b);
    ASSERT_EQ(tp_store_identity(b, pki.leaf[K_P256], pki.key[K_P256], pki.inter), OK);
    ASSERT_EQ(load_keys("nktls-ticket-keys 1\n" K1 " %lld %lld\n", now - 1000, 0, 0), OK);
    struct setup st = { .offer = &s, .tickets = 1, .srv = b };
    MSTATUS r1 = connect_with(self, &st);
    int r1_resumed = resumed(self);
    st.offer = &before;
    MSTATUS r2 = connect_with(self, &st);
    int r2_full = full(self);
    tp_free(&self->p);
    CERT_STORE_releaseStore(&b);
    ASSERT_EQ(r1, OK);
    ASSERT_TRUE(r1_resumed);
    ASSERT_EQ(r2, OK);
    ASSERT_TRUE(r2_full);
}

/* Rotation: K2 seals from now on, K1 opens for 100 s more. A ticket under
 * K1 resumes within that grace (50 s on), not after (110 s on); new tickets
 * are under K2. */
TEST_F(r12, rotation_grace)
{
    struct session s1, s2;
    long long now = time(NULL);
    ASSERT_EQ(load_keys("nktls-ticket-keys 1\n" K1 " %lld %lld\n", now - 1000, 0, 0), OK);
    first_t(_metadata, self, &s1, 1);
    ASSERT_TRUE(ticket_under(&s1, 0x11));
    ASSERT_EQ(load_keys("nktls-ticket-keys 1\n" K1 " %lld %lld\n" K2 " %lld 0\n", now - 1000, now + 100, now - 10),
              OK);
    first_t(_metadata, self, &s2, 1);
    ASSERT_TRUE(ticket_under(&s2, 0x22));
    struct setup st = { .offer = &s1, .tickets = 1, .srv_skew = 50 };
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(resumed(self));
    st.srv_skew = 110;
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(full(self));
    st.offer = &s2;
    ASSERT_EQ(connect_with(self, &st), OK);
    ASSERT_TRUE(resumed(self));
}

/* ---- one key set, two versions: a ticket never crosses ---- */

static uint8_t *g_blob;
static uint32_t g_blob_len;

static sbyte4 give_blob(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte **psk, ubyte4 *len, intBoolean *free_it)
{
    *psk = g_blob;
    *len = g_blob_len;
    *free_it = FALSE;
    return 0;
}

static sbyte4 keep_blob(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte *psk, ubyte4 len)
{
    free(g_blob);
    g_blob = malloc(len);
    if (!g_blob)
        return -1;
    memcpy(g_blob, psk, len);
    g_blob_len = len;
    return 0;
}

/* A TLS 1.2 ticket offered as a TLS 1.3 PSK (the same key opens it): the
 * TLS 1.3 server finds a TLS 1.2 suite inside and makes a full handshake. */
TEST_F(r12, tls12_ticket_as_tls13_psk)
{
    struct session s;
    struct nk_session12 e;
    first_t(_metadata, self, &s, 1);
    ASSERT_TRUE(nk_cache12_get(NK_CACHE12_CLIENT, s.id, s.id_len, &nk_config.limits, time(NULL), &e));
    struct tls13PSK p = { .suite = 0x1301, .psk_len = 32, .lifetime = 3600, .received = (uint64_t)time(NULL),
                          .ticket = e.ticket, .ticket_len = e.ticket_len };
    ASSERT_EQ(nk_psk_serialize(&p, &g_blob, &g_blob_len), OK);
    nk_session12_clear(&e);
    tp_free(&self->p);   /* the first connection's pair */
    ASSERT_EQ(tp_new_stores(&self->p, self->srv, self->cli, key_host[K_P256]), OK);
    self->p.store[TP_SERVER] = self->p.store[TP_CLIENT] = NULL;
    ASSERT_EQ(SSL_CLIENT_setRetrievePSKCallback(self->p.h[TP_CLIENT], give_blob), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(self->p.c[TP_SERVER]->minor, 4);
    EXPECT_FALSE(NKTLS_isSessionResumed(self->p.h[TP_SERVER]));
    free(g_blob);
}

static int g_put;

static void put_blob_ticket(struct tp_hello *h)
{
    struct tls13PSK *p = NULL;
    int i = tp_hello_find(h, NK_EXT_SESSION_TICKET);
    if (i < 0 || nk_psk_deserialize(g_blob, g_blob_len, &p) != OK || p->ticket_len > sizeof h->ext[i].data)
        return;
    memcpy(h->ext[i].data, p->ticket, p->ticket_len);
    h->ext[i].len = p->ticket_len;
    nk_psk_free(p);
    g_put = 1;
}

/* A TLS 1.3 ticket in a TLS 1.2 SessionTicket extension: a full handshake. */
TEST_F(r12, tls13_ticket_in_tls12)
{
    ASSERT_EQ(tp_new_stores(&self->p, self->srv, self->cli, key_host[K_P256]), OK);
    self->p.store[TP_SERVER] = self->p.store[TP_CLIENT] = NULL;
    ASSERT_EQ(SSL_setClientSavePSKCallback(self->p.h[TP_CLIENT], keep_blob), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_NOT_NULL(g_blob);
    struct setup st = { .tickets = 1 };
    ASSERT_EQ(pair(self, &st), OK);
    struct hello_edit e = { .dir = TP_C2S, .fn = put_blob_ticket, .fix_transcript = 1 };
    ASSERT_EQ(run_hello_edit(&self->p, &e), OK);
    ASSERT_TRUE(g_put);
    ASSERT_TRUE(full(self));
    EXPECT_EQ(self->p.records[TP_S2C], 7u);   /* with a new ticket */
    free(g_blob);
}

static void add_ticket_ext(struct tp_hello *h)
{
    (void)tp_hello_add(h, NK_EXT_SESSION_TICKET, "", 0);
}

/* A client that did not ask (its cache off) gets a ServerHello with the
 * SessionTicket extension: unsupported_extension (RFC 5246 §7.4.1.4). */
TEST_F(r12, ticket_extension_not_asked_for)
{
    struct setup st = { 0 };
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_SESSION_CACHE, 0), OK);
    ASSERT_EQ(pair(self, &st), OK);
    struct hello_edit e = { .dir = TP_S2C, .fn = add_ticket_ext };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_UNSUPPORTED_EXTENSION);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNSUPPORTED_EXTENSION, SSL_ALERT_UNSUPPORTED_EXTENSION);
}

/* A TLS 1.3 connection has no session id to give. */
TEST_F(r12, tls13_has_no_session_info)
{
    struct session s;
    ASSERT_EQ(tp_new_stores(&self->p, self->srv, self->cli, key_host[K_P256]), OK);
    self->p.store[TP_SERVER] = self->p.store[TP_CLIENT] = NULL;
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_EQ(self->p.c[TP_CLIENT]->minor, 4);
    memset(s.id, 0xee, sizeof s.id);
    ASSERT_EQ(info(self, &s), OK);
    EXPECT_EQ(s.id_len, 0);
    EXPECT_EQ(s.id[0], 0);
    EXPECT_EQ(SSL_getClientSessionInfo(self->p.h[TP_SERVER], &s.id_len, s.id, s.master), ERR_SSL_BAD_STATE);
}

/* The cache from many threads at once, over a small bound. */
static void *hammer(void *arg)
{
    struct nk_limits lim = { .session_cache = 8, .session_lifetime = 60 };
    struct nk_session12 s = { .id_len = 32, .ems = 1, .suite = 0xc02b, .made = 1000 }, out;
    uintptr_t t = (uintptr_t)arg;
    for (int i = 0; i < 2000; i++) {
        s.id[0] = (uint8_t)t;
        s.id[1] = (uint8_t)(i % 16);
        memset(s.master, (int)t, sizeof s.master);
        if (nk_cache12_put(NK_CACHE12_SERVER, &s, &lim, 1000) != OK)
            return (void *)1;
        if (nk_cache12_get(NK_CACHE12_SERVER, s.id, 32, &lim, 1000, &out)) {
            int bad = out.master[0] != (uint8_t)t || out.id[0] != (uint8_t)t;
            nk_session12_clear(&out);
            if (bad)
                return (void *)1;
        }
    }
    return NULL;
}

TEST(cache_threads)
{
    pthread_t th[4];
    for (uintptr_t i = 0; i < 4; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, hammer, (void *)i), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        ASSERT_EQ(pthread_join(th[i], &r), 0);
        EXPECT_NULL(r);
    }
    EXPECT_LE(nk_cache12_count(NK_CACHE12_SERVER), 8u);
    nk_cache12_flush(NK_CACHE12_SERVER);
    EXPECT_EQ(nk_cache12_count(NK_CACHE12_SERVER), 0u);
}

TEST_HARNESS_MAIN
