/* test_early_store.c — 0-RTT data with sessions kept in the server
 * application's store (SSL_setServerSavePSKCallback and its Lookup/Delete):
 * a stored session allows early data as a sealed ticket does, and since the
 * store gives each session out once, the same ticket offered again (a replay)
 * resumes nothing: a full handshake, the early data rejected and never
 * delivered. In memory (tls_pair.h). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"

#define EARLY "GET /early HTTP/1.1\r\n\r\n"

/* The server's store: one session. */
static ubyte s_id[64], *s_blob;
static ubyte4 s_id_len, s_len;
static int s_deleted;

static sbyte4 srv_save(sbyte4 h, ubyte *info, ubyte4 il, ubyte *id, ubyte4 id_len, ubyte *psk, ubyte4 len)
{
    (void)h, (void)info, (void)il;
    if (id_len > sizeof s_id)
        return -1;
    free(s_blob);
    s_blob = malloc(len);
    memcpy(s_blob, psk, len);
    s_len = len;
    memcpy(s_id, id, id_len);
    s_id_len = id_len;
    return 0;
}

static sbyte4 srv_lookup(sbyte4 h, ubyte *id, ubyte4 id_len, ubyte **psk, ubyte4 *len, intBoolean *free_it)
{
    (void)h;
    if (!s_blob || id_len != s_id_len || memcmp(id, s_id, id_len))
        return -1;
    *psk = s_blob;
    *len = s_len;
    *free_it = FALSE;
    return 0;
}

static sbyte4 srv_delete(sbyte4 h, sbyte *info, ubyte4 il, ubyte *id, ubyte4 id_len, ubyte *psk)
{
    (void)h, (void)info, (void)il, (void)psk;
    if (s_blob && id_len == s_id_len && !memcmp(id, s_id, id_len)) {
        free(s_blob);
        s_blob = NULL;
        s_deleted++;
    }
    return 0;
}

/* The client's: the last ticket. */
static ubyte g_ticket[4096];
static ubyte4 g_ticket_len;

static sbyte4 save_psk(sbyte4 h, sbyte *info, ubyte4 il, ubyte *psk, ubyte4 len)
{
    (void)h, (void)info, (void)il;
    if (len > sizeof g_ticket)
        return -1;
    memcpy(g_ticket, psk, len);
    g_ticket_len = len;
    return 0;
}

static sbyte4 retrieve_psk(sbyte4 h, sbyte *info, ubyte4 il, ubyte **psk, ubyte4 *len, intBoolean *free_it)
{
    (void)h, (void)info, (void)il;
    *psk = g_ticket_len ? g_ticket : NULL;
    *len = g_ticket_len;
    *free_it = FALSE;
    return 0;
}

static MSTATUS pair_new(struct tp_pair *p)
{
    NK_TRY(tp_new(p, K_P256, -1));
    NK_TRY(SSL_setServerSavePSKCallback(srv_save));
    NK_TRY(SSL_setServerLookupPSKCallback(srv_lookup));
    NK_TRY(SSL_setServerDeletePSKCallback(srv_delete));
    NK_TRY(SSL_setClientSavePSKCallback(p->h[TP_CLIENT], save_psk));
    NK_TRY(SSL_CLIENT_setRetrievePSKCallback(p->h[TP_CLIENT], retrieve_psk));
    return SSL_setMaxEarlyDataSize(p->h[TP_SERVER], 4096);
}

static ubyte4 status_of(struct tp_pair *p, int side)
{
    ubyte4 s = 99;
    return SSL_ioctl(p->h[side], SSL_GET_EARLY_DATA_STATUS, &s) == OK ? s : 98;
}

/* Resume with early data; the resumed flag and the early-data status of both sides. */
static void resume(struct __test_metadata *_metadata, int want_resumed, ubyte4 want)
{
    struct tp_pair p;
    ASSERT_EQ(pair_new(&p), OK);
    ASSERT_EQ(SSL_setEarlyData(p.h[TP_CLIENT], (ubyte *)EARLY, sizeof EARLY - 1), OK);
    ASSERT_EQ(tp_handshake(&p), OK);
    ASSERT_EQ(NKTLS_isSessionResumed(p.h[TP_CLIENT]), want_resumed);
    ASSERT_EQ(NKTLS_isSessionResumed(p.h[TP_SERVER]), want_resumed);
    ASSERT_EQ(status_of(&p, TP_CLIENT), want);
    ASSERT_EQ(status_of(&p, TP_SERVER), want);
    ASSERT_EQ(tp_pump(&p), OK);
    if (want == SSL_EARLY_DATA_ACCEPTED) {
        ASSERT_EQ(p.rx[TP_SERVER].len, sizeof EARLY - 1);
        ASSERT_MEM_EQ(p.rx[TP_SERVER].p, EARLY, sizeof EARLY - 1);
    } else {
        ASSERT_EQ(p.rx[TP_SERVER].len, 0u);   /* never delivered */
    }
    tp_free(&p);
}

TEST(stored_session_early_data_once)
{
    struct tp_pair p;
    ASSERT_EQ(pair_new(&p), OK);
    ASSERT_EQ(tp_handshake(&p), OK);
    tp_free(&p);
    ASSERT_NOT_NULL(s_blob);
    ASSERT_EQ(s_id_len, 32u);
    ASSERT_GT(g_ticket_len, 0u);
    ubyte kept[4096];
    ubyte4 kept_len = g_ticket_len;
    memcpy(kept, g_ticket, kept_len);

    resume(_metadata, TRUE, SSL_EARLY_DATA_ACCEPTED);   /* the stored session allows 0-RTT */
    ASSERT_EQ(s_deleted, 1);                            /* and is gone */

    memcpy(g_ticket, kept, kept_len);                   /* the same ticket again: a replay */
    g_ticket_len = kept_len;
    resume(_metadata, FALSE, SSL_EARLY_DATA_REJECTED);
}

TEST_HARNESS_MAIN
