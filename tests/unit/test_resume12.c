/* test_resume12.c — TLS 1.2 resumption by session id (RFC 5246 §7.3,
 * §7.4.1.2, §7.4.1.3; RFC 7627 §5.3), in memory over the public API: a full
 * handshake, SSL_getClientSessionInfo, then SSL_connect with that id and
 * master secret. Resumed where it must be (the abbreviated handshake's three
 * records), a full handshake wherever the session does not fit (another
 * store, client-authentication policy, server name, suite, an unknown,
 * altered, expired or evicted id, a wrong master secret), and the refusals
 * (a server that resumes with another suite or drops EMS); the session cache
 * under threads. (RFC 5077 tickets: test_resume12_tickets.c.) The stores live
 * across the connections of one case, as a server's do; each case is its own
 * process, so the caches start empty. */
#include "unit/resume12_env.h"

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

/* The cache's order is that of the puts, whatever the ring's wrap: a put
 * that replaces an id makes it the youngest; the oldest goes when full,
 * and the expired ones at the head go at the next put. */
static int cached(uint8_t id, const struct nk_limits *lim, int64_t now)
{
    struct nk_session12 out;
    uint8_t want[32] = { id };
    int found = nk_cache12_get(NK_CACHE12_SERVER, want, 32, lim, now, &out);
    int right = !found || (out.id[0] == id && out.master[0] == id);
    nk_session12_clear(&out);
    return right ? found : -1;
}

TEST(cache_order_over_the_ring)
{
    struct nk_limits lim = { .session_cache = 3, .session_lifetime = 60 };
    struct nk_session12 s = { .id_len = 32, .ems = 1, .suite = 0xc02b, .made = 1000 };
    static const uint8_t puts[] = { 1, 2, 3, 4, 5, 4, 6, 7 };
    nk_cache12_flush(NK_CACHE12_SERVER);
    for (size_t i = 0; i < sizeof puts; i++) {
        s.id[0] = puts[i];
        memset(s.master, puts[i], sizeof s.master);
        ASSERT_EQ(nk_cache12_put(NK_CACHE12_SERVER, &s, &lim, 1000), OK);
    }
    /* 1, 2, 3 went for 4, 5, 6; 4 was put again after 5, so 5 went for 7. */
    EXPECT_EQ(nk_cache12_count(NK_CACHE12_SERVER), 3u);
    for (uint8_t id = 1; id <= 7; id++)
        EXPECT_EQ(cached(id, &lim, 1000), id == 4 || id == 6 || id == 7);
    s.id[0] = 8;
    memset(s.master, 8, sizeof s.master);
    s.made = 1061;
    ASSERT_EQ(nk_cache12_put(NK_CACHE12_SERVER, &s, &lim, 1061), OK);
    EXPECT_EQ(nk_cache12_count(NK_CACHE12_SERVER), 1u);
    EXPECT_EQ(cached(8, &lim, 1061), 1);
    nk_cache12_flush(NK_CACHE12_SERVER);
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
