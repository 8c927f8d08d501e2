/* test_ticket_store.c — a TLS 1.3 server that keeps its sessions in the
 * application's store (SSL_setServerSavePSKCallback, ...LookupPSK...,
 * ...DeletePSK...): each NewSessionTicket carries only a fresh 32-byte
 * identity, saved with the session under the server name; a resumption looks
 * it up and deletes it at once, so the same ticket offered again gets a full
 * handshake (single use, RFC 8446 §8.1). Also: a store that refuses to save
 * (no ticket is sent), several tickets, a lookup that hands over memory to
 * free, a blob that is not a session, and the tickets' lifetime setting. */
#include "api_env.h"

/* ---- the server's store: a few sessions in memory ---- */
#define SLOTS 8
static struct {
    ubyte id[64];
    ubyte4 id_len;
    ubyte *blob;
    ubyte4 len;
} store[SLOTS];
static int n_saved, n_lookups, n_deleted, refuse_save, hand_over, corrupt;
static char saved_info[256], deleted_info[256];
static ubyte deleted_id[64];

static int slot_of(const ubyte *id, ubyte4 len)
{
    for (int i = 0; i < SLOTS; i++)
        if (store[i].blob && store[i].id_len == len && !memcmp(store[i].id, id, len))
            return i;
    return -1;
}

static sbyte4 srv_save(sbyte4 h, ubyte *info, ubyte4 info_len, ubyte *id, ubyte4 id_len, ubyte *psk, ubyte4 len)
{
    n_saved++;
    if (refuse_save || id_len > 64 || info_len >= sizeof saved_info)
        return -1;
    memcpy(saved_info, info, info_len);
    saved_info[info_len] = 0;
    for (int i = 0; i < SLOTS; i++)
        if (!store[i].blob) {
            memcpy(store[i].id, id, id_len);
            store[i].id_len = id_len;
            store[i].blob = malloc(len);
            memcpy(store[i].blob, psk, len);
            store[i].len = len;
            if (corrupt)
                store[i].blob[0] ^= 0xff;   /* not a session's form */
            return 0;
        }
    return -1;
}

static sbyte4 srv_lookup(sbyte4 h, ubyte *id, ubyte4 id_len, ubyte **psk, ubyte4 *len, intBoolean *free_it)
{
    n_lookups++;
    int i = slot_of(id, id_len);
    if (i < 0)
        return -1;
    *len = store[i].len;
    *free_it = (intBoolean)hand_over;
    if (hand_over) {
        *psk = malloc(store[i].len);
        memcpy(*psk, store[i].blob, store[i].len);
    } else {
        *psk = store[i].blob;
    }
    return 0;
}

static sbyte4 srv_delete(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte *id, ubyte4 id_len, ubyte *psk)
{
    n_deleted++;
    memcpy(deleted_info, info, info_len < sizeof deleted_info - 1 ? info_len : 0);
    deleted_info[info_len < sizeof deleted_info - 1 ? info_len : 0] = 0;
    memcpy(deleted_id, id, id_len <= 64 ? id_len : 0);
    int i = slot_of(id, id_len);
    if (i >= 0) {
        free(store[i].blob);
        store[i].blob = NULL;
    }
    return 0;
}

static int stored(void)
{
    int n = 0;
    for (int i = 0; i < SLOTS; i++)
        n += store[i].blob != NULL;
    return n;
}

static void store_reset(void)
{
    for (int i = 0; i < SLOTS; i++) {
        free(store[i].blob);
        store[i].blob = NULL;
    }
    n_saved = n_lookups = n_deleted = refuse_save = hand_over = corrupt = 0;
}

/* ---- the client's: the last ticket ---- */
static ubyte g_ticket[4096];
static ubyte4 g_ticket_len;
static int g_client_saved;

static sbyte4 cli_save(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte *psk, ubyte4 len)
{
    if (len > sizeof g_ticket)
        return -1;
    memcpy(g_ticket, psk, len);
    g_ticket_len = len;
    g_client_saved++;
    return 0;
}

static sbyte4 cli_retrieve(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte **psk, ubyte4 *len, intBoolean *free_it)
{
    *psk = g_ticket_len ? g_ticket : NULL;
    *len = g_ticket_len;
    *free_it = FALSE;
    return 0;
}

static ubyte4 g_num_tickets = 1;

static void pre_tickets(struct srv *s)
{
    s->st[6] = SSL_ioctl(s->h, SSL_SET_NUM_TICKETS, (void *)(uintptr_t)g_num_tickets);
}

static void post_exchange(struct srv *s)
{
    if (s->hs != OK)
        return;
    s->u[0] = (ubyte4)NKTLS_isSessionResumed(s->h);
    s->st[0] = recv_check(s->h, 1000, 1);
    s->st[1] = send_fill(s->h, 1000, 2);
    s->st[2] = recv_until_end(s->h);
}

/* One connection; the client keeps the ticket (save) and offers the kept one (offer). */
static MSTATUS connect_once(int offer, int *resumed, struct srv *out)
{
    struct pair p = { 0 };
    p.s.pre = pre_tickets;
    p.s.post = post_exchange;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_setClientSavePSKCallback(p.ch, cli_save), OK);
    if (offer)
        ASSERT_EQ(SSL_CLIENT_setRetrievePSKCallback(p.ch, cli_retrieve), OK);
    MSTATUS st = SSL_negotiateConnection(p.ch);
    *resumed = NKTLS_isSessionResumed(p.ch);
    if (st == OK) {
        ASSERT_EQ(send_fill(p.ch, 1000, 1), OK);
        ASSERT_EQ(recv_check(p.ch, 1000, 2), OK);   /* the tickets came before this */
    }
    pair_down(&p);
    *out = p.s;
    return st;
}

static void store_up(void)
{
    env_up(4);
    store_reset();
    g_ticket_len = 0;
    g_client_saved = 0;
    g_num_tickets = 1;
    ASSERT_EQ(SSL_setServerSavePSKCallback(srv_save), OK);
    ASSERT_EQ(SSL_setServerLookupPSKCallback(srv_lookup), OK);
    ASSERT_EQ(SSL_setServerDeletePSKCallback(srv_delete), OK);
}

static void store_down(void)
{
    store_reset();
    env_down();
}

/* Is the identity the ticket the client keeps? (SSL_serializePSK's form ends
 * with ticket<1..2^16-1>.) */
static int ticket_is(const ubyte *id, ubyte4 id_len)
{
    return g_ticket_len > id_len + 2 && g_ticket[g_ticket_len - id_len - 2] == 0
           && g_ticket[g_ticket_len - id_len - 1] == id_len && !memcmp(g_ticket + g_ticket_len - id_len, id, id_len);
}

TEST(saved_resumed_once)
{
    struct srv s;
    int resumed;
    store_up();
    ASSERT_EQ(connect_once(0, &resumed, &s), OK);
    ASSERT_FALSE(resumed);
    ASSERT_EQ(n_saved, 1);
    ASSERT_EQ(stored(), 1);
    ASSERT_STR_EQ(saved_info, "server.example.com");
    ASSERT_EQ(store[0].id_len, 32u);
    ASSERT_EQ(g_client_saved, 1);
    ASSERT_TRUE(ticket_is(store[0].id, 32));      /* the ticket is the identity alone */
    ubyte first[32];
    memcpy(first, store[0].id, 32);
    ubyte kept[4096];
    ubyte4 kept_len = g_ticket_len;
    memcpy(kept, g_ticket, kept_len);

    /* Resumed: looked up, deleted at once, a new session saved. */
    ASSERT_EQ(connect_once(1, &resumed, &s), OK);
    ASSERT_TRUE(resumed);
    ASSERT_EQ(s.u[0], (ubyte4)TRUE);
    ST_EQ(s.st[0], OK);
    ASSERT_EQ(n_lookups, 1);
    ASSERT_EQ(n_deleted, 1);
    ASSERT_MEM_EQ(deleted_id, first, 32);
    ASSERT_STR_EQ(deleted_info, "server.example.com");
    ASSERT_EQ(n_saved, 2);
    ASSERT_EQ(stored(), 1);
    ASSERT_EQ(slot_of(first, 32), -1);

    /* The first ticket again (a replay): the store no longer has it. */
    memcpy(g_ticket, kept, kept_len);
    g_ticket_len = kept_len;
    ASSERT_EQ(connect_once(1, &resumed, &s), OK);
    ASSERT_FALSE(resumed);
    ASSERT_EQ(s.u[0], (ubyte4)FALSE);
    ASSERT_EQ(n_lookups, 2);
    ASSERT_EQ(n_deleted, 1);
    store_down();
}

TEST(refused_save_sends_no_ticket)
{
    struct srv s;
    int resumed;
    store_up();
    refuse_save = 1;
    ASSERT_EQ(connect_once(0, &resumed, &s), OK);
    ASSERT_EQ(n_saved, 1);
    ASSERT_EQ(g_client_saved, 0);
    ASSERT_EQ(g_ticket_len, 0u);
    store_down();
}

TEST(several_tickets_several_identities)
{
    struct srv s;
    int resumed;
    store_up();
    g_num_tickets = 3;
    ASSERT_EQ(connect_once(0, &resumed, &s), OK);
    ST_EQ(s.st[6], OK);
    ASSERT_EQ(n_saved, 3);
    ASSERT_EQ(g_client_saved, 3);
    ASSERT_EQ(stored(), 3);
    ASSERT_NE(memcmp(store[0].id, store[1].id, 32), 0);
    ASSERT_NE(memcmp(store[1].id, store[2].id, 32), 0);
    ASSERT_TRUE(ticket_is(store[2].id, 32));     /* the client kept the last */
    ASSERT_EQ(connect_once(1, &resumed, &s), OK);
    ASSERT_TRUE(resumed);
    ASSERT_EQ(slot_of(store[0].id, 32), 0);      /* the other two stay */
    ASSERT_EQ(stored(), 2 + 3);
    store_down();
}

TEST(lookup_hands_over_memory)
{
    struct srv s;
    int resumed;
    store_up();
    hand_over = 1;
    ASSERT_EQ(connect_once(0, &resumed, &s), OK);
    ASSERT_EQ(connect_once(1, &resumed, &s), OK);
    ASSERT_TRUE(resumed);
    ASSERT_EQ(n_deleted, 1);
    store_down();
}

TEST(stored_blob_not_a_session)
{
    struct srv s;
    int resumed;
    store_up();
    corrupt = 1;
    ASSERT_EQ(connect_once(0, &resumed, &s), OK);
    ASSERT_EQ(connect_once(1, &resumed, &s), OK);
    ASSERT_FALSE(resumed);                        /* a full handshake */
    ASSERT_EQ(n_lookups, 1);
    ASSERT_EQ(n_deleted, 1);                      /* used once, even so */
    store_down();
}

/* Without a lookup callback the store is off: sealed tickets as before. */
TEST(save_alone_is_not_a_store)
{
    struct srv s;
    int resumed;
    store_up();
    ASSERT_EQ(SSL_setServerLookupPSKCallback(NULL), OK);
    ASSERT_EQ(connect_once(0, &resumed, &s), OK);
    ASSERT_EQ(n_saved, 0);
    ASSERT_EQ(g_client_saved, 1);
    ASSERT_GT(g_ticket_len, 32u + 60u);           /* a sealed ticket, not an identity */
    ASSERT_EQ(connect_once(1, &resumed, &s), OK);
    ASSERT_TRUE(resumed);
    store_down();
}

/* NKTLS_LIMIT_TICKET_LIFETIME is what the NewSessionTicket says (the
 * client keeps it in SSL_serializePSK's form: "NKPS" 1 | suite(2) |
 * psk<1..255> | age_add(4) | lifetime(4) | ...), sealed tickets or stored. */
TEST(ticket_lifetime_setting)
{
    struct srv s;
    int resumed;
    ubyte4 v = 0;
    store_up();
    ASSERT_EQ(NKTLS_getLimit(NKTLS_LIMIT_TICKET_LIFETIME, &v), OK);
    ASSERT_EQ(v, 7200u);
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_TICKET_LIFETIME, 0), ERR_INVALID_ARG);
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_TICKET_LIFETIME, 604801), ERR_INVALID_ARG);   /* §4.6.1: 7 days at most */
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_TICKET_LIFETIME, 604800), OK);
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_TICKET_LIFETIME, 90), OK);
    for (int sealed = 0; sealed < 2; sealed++) {
        if (sealed)
            ASSERT_EQ(SSL_setServerLookupPSKCallback(NULL), OK);
        g_ticket_len = 0;
        ASSERT_EQ(connect_once(0, &resumed, &s), OK);
        ASSERT_GT(g_ticket_len, 12u);
        size_t at = 4 + 1 + 2 + 1 + g_ticket[7] + 4;
        ASSERT_EQ((ubyte4)g_ticket[at] << 24 | (ubyte4)g_ticket[at + 1] << 16 | (ubyte4)g_ticket[at + 2] << 8
                  | g_ticket[at + 3], 90u);
        ASSERT_EQ(connect_once(1, &resumed, &s), OK);
        ASSERT_TRUE(resumed);
    }
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_TICKET_LIFETIME, 7200), OK);
    store_down();
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
