/* test_resume.c — TLS 1.3 resumption over the public API: the server issues
 * session tickets, the client keeps them through SSL_setClientSavePSKCallback
 * and offers one through SSL_CLIENT_setRetrievePSKCallback; the resumed
 * handshake skips the certificates (RFC 8446 §2.2) and still runs (EC)DHE.
 * Also: a ticket the server cannot open, a wrong binder, resumption after a
 * HelloRetryRequest, an expired ticket, and the serialized form. */
#include "api_env.h"

/* The client's ticket store: the last ticket saved, for one server name. */
static ubyte g_ticket[4096];
static ubyte4 g_ticket_len;
static int g_saved, g_retrieved;
static char g_info[256];

static sbyte4 save_psk(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte *psk, ubyte4 len)
{
    if (len > sizeof g_ticket || info_len >= sizeof g_info)
        return -1;
    memcpy(g_ticket, psk, len);
    g_ticket_len = len;
    memcpy(g_info, info, info_len);
    g_info[info_len] = 0;
    g_saved++;
    return 0;
}

static sbyte4 retrieve_psk(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte **psk, ubyte4 *len, intBoolean *free_it)
{
    g_retrieved++;
    *psk = g_ticket_len ? g_ticket : NULL;
    *len = g_ticket_len;
    *free_it = FALSE;
    return 0;
}

static void post_echo_some(struct srv *s)
{
    if (s->hs != OK)
        return;
    s->u[0] = (ubyte4)NKTLS_isSessionResumed(s->h);
    s->st[0] = recv_check(s->h, 3000, 1);
    s->st[1] = send_fill(s->h, 3000, 2);
    s->st[2] = recv_until_end(s->h);
}

/* One connection; returns the client's handshake status, resumed flag in *resumed. */
static void pre_x25519_only(struct srv *s)
{
    static const ubyte2 x25519 = 29;
    s->st[6] = NKTLS_setGroups(s->h, &x25519, 1);
}

static MSTATUS connect_once(int save, int retrieve, int *resumed, struct srv *out, const ubyte2 *groups, ubyte4 ng)
{
    struct pair p = { 0 };
    p.s.post = post_echo_some;
    if (groups)
        p.s.pre = pre_x25519_only;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    if (save)
        ASSERT_EQ(SSL_setClientSavePSKCallback(p.ch, save_psk), OK);
    if (retrieve)
        ASSERT_EQ(SSL_CLIENT_setRetrievePSKCallback(p.ch, retrieve_psk), OK);
    if (groups)
        ASSERT_EQ(NKTLS_setGroups(p.ch, groups, ng), OK);
    MSTATUS st = SSL_negotiateConnection(p.ch);
    *resumed = NKTLS_isSessionResumed(p.ch);
    if (st == OK) {
        ASSERT_EQ(send_fill(p.ch, 3000, 1), OK);
        /* The ticket arrives after the handshake, before the server's data. */
        ASSERT_EQ(recv_check(p.ch, 3000, 2), OK);
    }
    pair_down(&p);
    *out = p.s;
    return st;
}

TEST(resume_with_ticket)
{
    struct srv s;
    int resumed;
    env_up(8);
    g_saved = g_retrieved = 0;
    g_ticket_len = 0;
    ASSERT_EQ(connect_once(1, 0, &resumed, &s, NULL, 0), OK);
    ASSERT_FALSE(resumed);
    ASSERT_EQ(g_saved, 1);                       /* one ticket by default */
    ASSERT_STR_EQ(g_info, "server.example.com"); /* saved under the name we asked for */
    ST_EQ(s.st[0], OK);
    ST_EQ(s.st[2], ERR_SSL_CONNECTION_CLOSED);
    ASSERT_EQ(connect_once(1, 1, &resumed, &s, NULL, 0), OK);
    ASSERT_EQ(g_retrieved, 1);
    ASSERT_TRUE(resumed);
    ASSERT_EQ(s.u[0], (ubyte4)TRUE);             /* the server agrees */
    ST_EQ(s.st[0], OK);
    ST_EQ(s.st[1], OK);
    ASSERT_EQ(g_saved, 2);                       /* a fresh ticket on the resumed connection */
    env_down();
}

TEST(resume_after_hello_retry)
{
    struct srv s;
    int resumed;
    /* The client's share is for P-256, the server takes only X25519: it asks
     * again (HelloRetryRequest), and the binder in the second ClientHello
     * covers the first one and the HRR. */
    static const ubyte2 groups[] = { 23 /* P-256 */, 29 /* X25519 */ };
    env_up(8);
    g_ticket_len = 0;
    ASSERT_EQ(connect_once(1, 0, &resumed, &s, NULL, 0), OK);
    ASSERT_GT(g_ticket_len, 0u);
    ASSERT_EQ(connect_once(1, 1, &resumed, &s, groups, 2), OK);
    ST_EQ(s.st[6], OK);
    ASSERT_TRUE(resumed);
    ASSERT_EQ(s.u[0], (ubyte4)TRUE);
    env_down();
}

TEST(unknown_ticket_means_full_handshake)
{
    struct srv s;
    int resumed;
    env_up(8);
    g_ticket_len = 0;
    ASSERT_EQ(connect_once(1, 0, &resumed, &s, NULL, 0), OK);
    /* Flip a byte of the ticket itself: the server cannot open it. */
    tls13PSK *p = NULL;
    ASSERT_EQ(SSL_deserializePSK(g_ticket, g_ticket_len, &p), OK);
    ubyte *ser = NULL;
    ubyte4 ser_len = 0;
    ASSERT_EQ(SSL_serializePSK(p, &ser, &ser_len), OK);
    ASSERT_EQ(ser_len, g_ticket_len);
    ASSERT_MEM_EQ(ser, g_ticket, ser_len);       /* the serialized form round-trips */
    free(ser);
    ASSERT_EQ(SSL_freePSK(&p), OK);
    ASSERT_NULL(p);
    g_ticket[g_ticket_len - 5] ^= 1;             /* inside the ticket bytes */
    ASSERT_EQ(connect_once(0, 1, &resumed, &s, NULL, 0), OK);
    ASSERT_FALSE(resumed);
    ASSERT_EQ(s.u[0], (ubyte4)FALSE);
    env_down();
}

TEST(wrong_binder_is_decrypt_error)
{
    struct srv s;
    int resumed;
    env_up(8);
    g_ticket_len = 0;
    ASSERT_EQ(connect_once(1, 0, &resumed, &s, NULL, 0), OK);
    /* The PSK (bytes 8..) is the client's secret: a wrong one gives a binder
     * the server's copy cannot verify. */
    g_ticket[8] ^= 1;
    MSTATUS st = connect_once(0, 1, &resumed, &s, NULL, 0);
    ST_EQ(st, ERR_SSL_FATAL_ALERT);
    ST_EQ(s.hs, ERR_SSL_BAD_BINDER);
    ASSERT_EQ(s.alert, SSL_ALERT_DECRYPT_ERROR);
    env_down();
}

TEST(bad_serialized_psk)
{
    tls13PSK *p = NULL;
    ubyte junk[40] = "NKPS";
    ASSERT_EQ(SSL_deserializePSK(junk, sizeof junk, &p), ERR_INVALID_ARG);
    ASSERT_NULL(p);
    ASSERT_EQ(SSL_deserializePSK(junk, 3, &p), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_deserializePSK(NULL, 3, &p), ERR_NULL_POINTER);
}

TEST(ticket_count)
{
    struct pair p = { 0 };
    env_up(8);
    g_saved = 0;
    p.s.post = post_echo_some;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ubyte4 n = 0;
    ASSERT_EQ(SSL_ioctl(p.ch, SSL_GET_NUM_TICKETS, &n), OK);
    ASSERT_EQ(n, 1u);
    ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_NUM_TICKETS, (void *)17), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_setClientSavePSKCallback(p.ch, save_psk), OK);
    ASSERT_EQ(SSL_negotiateConnection(p.ch), OK);
    ASSERT_EQ(send_fill(p.ch, 3000, 1), OK);
    ASSERT_EQ(recv_check(p.ch, 3000, 2), OK);
    ASSERT_EQ(g_saved, 1);
    pair_down(&p);
    env_down();
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
