/* test_conn.c — the connection table (engine/conn.c): its size bounds and a
 * second initialisation, handles as (generation << 16 | slot + 1), the fields
 * a new connection starts with, stale handles after a close (ERR_SSL_BAD_ID),
 * the most recently freed slot reused first, a full table, generations that
 * wrap without a handle ever turning negative, lookup by descriptor, the
 * server name's copy, nk_table_free releasing what is still open, and many
 * threads opening and closing at once. Every case starts with no table: each
 * runs in a process of its own. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "engine/conn.h"

#define HANDLE(gen, slot) ((sbyte4)((uint32_t)(gen) << 16 | (uint32_t)((slot) + 1)))

/* Opens one client connection on fd and checks its handle. */
static struct nk_conn *open_one(struct __test_metadata *_metadata, int fd, sbyte4 want)
{
    struct nk_conn *c = NULL;
    EXPECT_EQ(nk_conn_new(NK_CLIENT, fd, NULL, NULL, &c), OK);
    if (!c)
        return NULL;
    EXPECT_EQ(c->handle, want) TH_LOG("handle 0x%x, want 0x%x", (unsigned)c->handle, (unsigned)want);
    return c;
}

TEST(before_init)
{
    struct nk_conn *c = NULL;
    EXPECT_FALSE(nk_table_ready());
    EXPECT_EQ(nk_conn_new(NK_SERVER, 3, NULL, NULL, &c), ERR_SSL_NOT_INITIALIZED);
    EXPECT_NULL(c);
    EXPECT_EQ(nk_conn_slab.live, 0u);
    EXPECT_EQ(nk_keys_slab.live, 0u);
    EXPECT_EQ(nk_conn_get(HANDLE(1, 0), &c), ERR_SSL_BAD_ID);
    EXPECT_EQ(nk_conn_by_fd(3), ERR_SSL_BAD_ID);
    nk_table_free();   /* nothing to free */
    EXPECT_FALSE(nk_table_ready());
}

TEST(init_bounds)
{
    EXPECT_EQ(nk_table_init(-1, 1), ERR_INVALID_ARG);
    EXPECT_EQ(nk_table_init(1, -1), ERR_INVALID_ARG);
    EXPECT_EQ(nk_table_init(0, 0), ERR_INVALID_ARG);
    /* Slots are numbered in 16 bits: 65535 at most. */
    EXPECT_EQ(nk_table_init(65535, 1), ERR_INVALID_ARG);
    EXPECT_EQ(nk_table_init(0x7fffffff, 0x7fffffff), ERR_INVALID_ARG);
    EXPECT_FALSE(nk_table_ready());
    ASSERT_EQ(nk_table_init(65000, 535), OK);
    EXPECT_TRUE(nk_table_ready());
    /* Again with the same size: fine; with another: refused. */
    EXPECT_EQ(nk_table_init(535, 65000), OK);
    EXPECT_EQ(nk_table_init(1, 1), ERR_SSL_BAD_STATE);
    nk_table_free();
    EXPECT_FALSE(nk_table_ready());
    EXPECT_EQ(nk_table_init(0, 1), OK);
    EXPECT_TRUE(nk_table_ready());
    nk_table_free();
}

TEST(new_connection_fields)
{
    struct nk_conn *c = NULL, *got = NULL;
    struct certStore *store = (struct certStore *)&got;   /* only kept, never used */
    ASSERT_EQ(nk_table_init(2, 2), OK);
    ASSERT_EQ(nk_conn_new(NK_SERVER, 42, store, NULL, &c), OK);
    ASSERT_NOT_NULL(c);
    EXPECT_EQ(c->handle, HANDLE(1, 0));
    EXPECT_EQ(c->role, NK_SERVER);
    EXPECT_EQ(c->fd, 42);
    EXPECT_TRUE(c->store == store);
    EXPECT_EQ(c->err, OK);
    EXPECT_EQ(c->alert_in, -1);
    EXPECT_EQ(c->alert_out, -1);
    EXPECT_EQ(c->status, (ubyte4)SSL_CONNECTION_NEGOTIATE);
    EXPECT_EQ(c->send_limit, NK_MAX_PLAIN);
    EXPECT_EQ(c->num_tickets, 1);
    EXPECT_TRUE(c->alpn == c->alpn_none);
    EXPECT_STR_EQ(c->alpn, "");
    EXPECT_NULL(c->server_name);
    EXPECT_NULL(c->hs);
    ASSERT_NOT_NULL(c->rd);
    ASSERT_NOT_NULL(c->wr);
    EXPECT_TRUE(c->wr != c->rd);
    EXPECT_EQ(nk_conn_slab.live, 1u);
    EXPECT_EQ(nk_keys_slab.live, 1u);
    ASSERT_EQ(nk_conn_get(c->handle, &got), OK);
    EXPECT_TRUE(got == c);
    nk_conn_free(c);
    EXPECT_EQ(nk_conn_slab.live, 0u);
    EXPECT_EQ(nk_keys_slab.live, 0u);
    nk_table_free();
}

TEST(handles_and_stale_handles)
{
    struct nk_conn *got = NULL;
    ASSERT_EQ(nk_table_init(3, 1), OK);
    struct nk_conn *a = open_one(_metadata, 10, HANDLE(1, 0));
    struct nk_conn *b = open_one(_metadata, 11, HANDLE(1, 1));
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    sbyte4 old = a->handle;
    nk_conn_free(a);
    EXPECT_EQ(nk_conn_get(old, &got), ERR_SSL_BAD_ID);
    /* The slot comes back with the next generation; the old handle stays dead. */
    struct nk_conn *c = open_one(_metadata, 12, HANDLE(2, 0));
    ASSERT_NOT_NULL(c);
    EXPECT_EQ(nk_conn_get(old, &got), ERR_SSL_BAD_ID);
    ASSERT_EQ(nk_conn_get(HANDLE(2, 0), &got), OK);
    EXPECT_TRUE(got == c);
    ASSERT_EQ(nk_conn_get(HANDLE(1, 1), &got), OK);
    EXPECT_TRUE(got == b);
    nk_conn_free(b);
    nk_conn_free(c);
    nk_table_free();
}

TEST(bad_handles)
{
    struct nk_conn *got = (struct nk_conn *)&got;
    ASSERT_EQ(nk_table_init(4, 0), OK);
    struct nk_conn *a = open_one(_metadata, 1, HANDLE(1, 0));
    ASSERT_NOT_NULL(a);
    static const sbyte4 bad[] = {
        0, -1, ERR_SSL_BAD_ID, INT32_MIN,
        HANDLE(1, 4),           /* past the table */
        HANDLE(1, 0xfffe),      /* far past it */
        HANDLE(1, 0) - 1,       /* slot bits 0: no slot */
        HANDLE(2, 0),           /* the right slot, a generation not given yet */
        HANDLE(0, 0),
        HANDLE(1, 1),           /* a free slot */
        HANDLE(1, 0) | 0x40000000,
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(bad); i++) {
        EXPECT_EQ(nk_conn_get(bad[i], &got), ERR_SSL_BAD_ID) TH_LOG("0x%x", (unsigned)bad[i]);
        EXPECT_TRUE(got == (struct nk_conn *)&got);   /* untouched */
    }
    nk_conn_free(a);
    nk_table_free();
}

TEST(last_freed_slot_first)
{
    struct nk_conn *c[4];
    ASSERT_EQ(nk_table_init(4, 1), OK);
    for (int i = 0; i < 4; i++)
        ASSERT_NOT_NULL(c[i] = open_one(_metadata, i, HANDLE(1, i)));
    nk_conn_free(c[1]);
    nk_conn_free(c[3]);
    ASSERT_NOT_NULL(c[3] = open_one(_metadata, 3, HANDLE(2, 3)));
    ASSERT_NOT_NULL(c[1] = open_one(_metadata, 1, HANDLE(2, 1)));
    /* Then the one never used. */
    struct nk_conn *e = open_one(_metadata, 4, HANDLE(1, 4));
    ASSERT_NOT_NULL(e);
    for (int i = 0; i < 4; i++)
        nk_conn_free(c[i]);
    nk_conn_free(e);
    nk_table_free();
}

TEST(table_full)
{
    struct nk_conn *a, *b, *c = NULL;
    ASSERT_EQ(nk_table_init(1, 1), OK);
    ASSERT_NOT_NULL(a = open_one(_metadata, 1, HANDLE(1, 0)));
    ASSERT_NOT_NULL(b = open_one(_metadata, 2, HANDLE(1, 1)));
    EXPECT_EQ(nk_conn_new(NK_CLIENT, 3, NULL, NULL, &c), ERR_SSL_TOO_MANY_CONNECTIONS);
    EXPECT_NULL(c);
    /* The refused connection's memory went back. */
    EXPECT_EQ(nk_conn_slab.live, 2u);
    EXPECT_EQ(nk_keys_slab.live, 2u);
    EXPECT_EQ(nk_conn_by_fd(3), ERR_SSL_BAD_ID);
    nk_conn_free(a);
    ASSERT_NOT_NULL(c = open_one(_metadata, 3, HANDLE(2, 0)));
    nk_conn_free(b);
    nk_conn_free(c);
    EXPECT_EQ(nk_conn_slab.live, 0u);
    nk_table_free();
}

TEST(generation_wraps_positive)
{
    /* 32767 generations, then 1 again: a handle is never negative (an error)
     * nor 0. */
    struct nk_conn *got;
    ASSERT_EQ(nk_table_init(1, 0), OK);
    for (uint32_t gen = 1; gen <= 32767; gen++) {
        struct nk_conn *c = NULL;
        ASSERT_EQ(nk_conn_new(NK_CLIENT, 5, NULL, NULL, &c), OK);
        ASSERT_EQ(c->handle, HANDLE(gen, 0));
        ASSERT_GT(c->handle, 0);
        nk_conn_free(c);
    }
    EXPECT_EQ(HANDLE(32767, 0), 0x7fff0001);
    struct nk_conn *c = open_one(_metadata, 5, HANDLE(1, 0));
    ASSERT_NOT_NULL(c);
    EXPECT_EQ(nk_conn_get(HANDLE(32767, 0), &got), ERR_SSL_BAD_ID);
    nk_conn_free(c);
    nk_table_free();
}

TEST(lookup_by_fd)
{
    struct nk_conn *a, *b, *c;
    ASSERT_EQ(nk_table_init(2, 2), OK);
    ASSERT_NOT_NULL(a = open_one(_metadata, 10, HANDLE(1, 0)));
    ASSERT_NOT_NULL(b = open_one(_metadata, 11, HANDLE(1, 1)));
    ASSERT_NOT_NULL(c = open_one(_metadata, 10, HANDLE(1, 2)));
    /* Two on one descriptor: the lowest slot answers. */
    EXPECT_EQ(nk_conn_by_fd(10), HANDLE(1, 0));
    EXPECT_EQ(nk_conn_by_fd(11), HANDLE(1, 1));
    EXPECT_EQ(nk_conn_by_fd(12), ERR_SSL_BAD_ID);
    EXPECT_EQ(nk_conn_by_fd(-1), ERR_SSL_BAD_ID);
    nk_conn_free(a);
    EXPECT_EQ(nk_conn_by_fd(10), HANDLE(1, 2));
    nk_conn_free(c);
    EXPECT_EQ(nk_conn_by_fd(10), ERR_SSL_BAD_ID);
    nk_conn_free(b);
    EXPECT_EQ(nk_conn_by_fd(11), ERR_SSL_BAD_ID);
    nk_table_free();
}

TEST(server_name_copy)
{
    char longer[NK_NAME_SHORT + 20];
    memset(longer, 'h', sizeof longer - 1);
    longer[sizeof longer - 1] = 0;
    struct nk_conn *c;
    ASSERT_EQ(nk_table_init(1, 0), OK);
    ASSERT_NOT_NULL(c = open_one(_metadata, 1, HANDLE(1, 0)));
    char name[] = "www.example.com";
    ASSERT_EQ(nk_tls_set_server_name(&c->tls, name), OK);
    name[0] = 'X';   /* a copy, not the caller's string */
    EXPECT_STR_EQ(c->server_name, "www.example.com");
    EXPECT_EQ((unsigned)c->name_pooled, 1u);
    EXPECT_EQ(nk_names_slab.live, 1u);
    /* A long one from the heap; the short one goes back to its pool. */
    ASSERT_EQ(nk_tls_set_server_name(&c->tls, longer), OK);
    EXPECT_STR_EQ(c->server_name, longer);
    EXPECT_EQ((unsigned)c->name_pooled, 0u);
    EXPECT_EQ(nk_names_slab.live, 0u);
    ASSERT_EQ(nk_tls_set_server_name(&c->tls, "a"), OK);
    EXPECT_EQ(nk_names_slab.live, 1u);
    ASSERT_EQ(nk_tls_set_server_name(&c->tls, NULL), OK);
    EXPECT_NULL(c->server_name);
    EXPECT_EQ(nk_names_slab.live, 0u);
    ASSERT_EQ(nk_tls_set_server_name(&c->tls, "b.example"), OK);
    nk_conn_free(c);   /* takes the name with it */
    EXPECT_EQ(nk_names_slab.live, 0u);
    nk_table_free();
}

TEST(table_free_releases_open_connections)
{
    struct nk_conn *c[3], *got;
    ASSERT_EQ(nk_table_init(3, 0), OK);
    for (int i = 0; i < 3; i++)
        ASSERT_NOT_NULL(c[i] = open_one(_metadata, i, HANDLE(1, i)));
    ASSERT_EQ(nk_tls_set_server_name(&c[1]->tls, "kept.example"), OK);
    EXPECT_EQ(nk_conn_slab.live, 3u);
    EXPECT_EQ(nk_names_slab.live, 1u);
    nk_table_free();
    EXPECT_FALSE(nk_table_ready());
    EXPECT_EQ(nk_conn_slab.live, 0u);
    EXPECT_EQ(nk_keys_slab.live, 0u);
    EXPECT_EQ(nk_names_slab.live, 0u);
    EXPECT_EQ(nk_conn_get(HANDLE(1, 0), &got), ERR_SSL_BAD_ID);
    EXPECT_EQ(nk_conn_by_fd(0), ERR_SSL_BAD_ID);
}

/* ---- threads: each opens, finds its own, closes; the table is shared ---- */

static void *open_close(void *arg)
{
    int fd = (int)(uintptr_t)arg;
    for (int round = 0; round < 2000; round++) {
        struct nk_conn *c = NULL, *got = NULL;
        if (nk_conn_new(NK_CLIENT, fd, NULL, NULL, &c) != OK)
            return (void *)1;
        if (nk_conn_get(c->handle, &got) != OK || got != c || got->fd != fd)
            return (void *)2;
        sbyte4 h = c->handle;
        nk_conn_free(c);
        if (nk_conn_get(h, &got) != ERR_SSL_BAD_ID)
            return (void *)3;
    }
    return NULL;
}

TEST(threads)
{
    pthread_t th[4];
    ASSERT_EQ(nk_table_init(4, 0), OK);
    for (uintptr_t i = 0; i < 4; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, open_close, (void *)(100 + i)), 0);
    for (int i = 0; i < 4; i++) {
        void *ret = (void *)-1;
        ASSERT_EQ(pthread_join(th[i], &ret), 0);
        EXPECT_NULL(ret) TH_LOG("thread %d", i);
    }
    EXPECT_EQ(nk_conn_slab.live, 0u);
    EXPECT_EQ(nk_keys_slab.live, 0u);
    /* Every slot is free again: four open at once fit. */
    struct nk_conn *c[4];
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(nk_conn_new(NK_CLIENT, i, NULL, NULL, &c[i]), OK);
    for (int i = 0; i < 4; i++)
        nk_conn_free(c[i]);
    nk_table_free();
}

TEST_HARNESS_MAIN
