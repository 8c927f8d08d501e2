/* test_resume12_tickets.c — TLS 1.2 resumption by RFC 5077 tickets, in
 * memory over the public API: issued before the server's ChangeCipherSpec,
 * resumed from, refused where they do not fit or were altered; the ticket key
 * file a fleet shares (rotation, grace); one key set for TLS 1.2 and 1.3
 * tickets, neither ever taken for the other. Each case is its own process. */
#include "unit/resume12_env.h"

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

TEST_HARNESS_MAIN
