/* test_early_ktls.c — TLS 1.3 0-RTT data over TCP loopback with the blocking
 * API, then kernel offload: the server reads the accepted early data first
 * (kept in userspace during the handshake), then what follows the handshake,
 * and the early data does not keep the kernel from taking the receive side.
 * On a host without the tls module both directions stay in software with that
 * reason; in the VM (scripts/vm-test) the kernel must carry RX. */
#include "api_env.h"
#include "ktls/ktls.h"

static int kernel_tls(void)
{
    return nk_ktls_unavailable_reason() == NULL;
}

static ubyte g_ticket[4096];
static ubyte4 g_ticket_len;

static sbyte4 keep_ticket(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte *psk, ubyte4 len)
{
    if (len > sizeof g_ticket)
        return -1;
    memcpy(g_ticket, psk, len);
    g_ticket_len = len;
    return 0;
}

static sbyte4 give_ticket(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte **psk, ubyte4 *len, intBoolean *free_it)
{
    *psk = g_ticket_len ? g_ticket : NULL;
    *len = g_ticket_len;
    *free_it = FALSE;
    return 0;
}

static void pre_allow_early(struct srv *s)
{
    s->st[6] = SSL_setMaxEarlyDataSize(s->h, 4096);
}

/* The early data first (read in userspace during the handshake), then what
 * follows the handshake, through the kernel where it has the keys. */
static void post_early_then_kernel(struct srv *s)
{
    nktlsRecordLayerInfo info;
    if (s->hs != OK)
        return;
    s->st[0] = SSL_ioctl(s->h, SSL_GET_EARLY_DATA_STATUS, &s->u[0]);
    s->st[1] = recv_check(s->h, 1000, 9);
    s->st[2] = recv_check(s->h, 3000, 10);
    s->st[3] = NKTLS_getRecordLayerInfo(s->h, &info);
    s->u[1] = (ubyte4)info.rxLayer;
    snprintf(s->text, sizeof s->text, "%s", info.rxReason ? info.rxReason : "");
    s->st[5] = send_fill(s->h, 1, 11);   /* the client closes only after this */
    s->st[4] = recv_until_end(s->h);
}

TEST(early_data_then_kernel)
{
    struct pair p = { 0 };
    ubyte early[1000];
    env_up(4);
    g_ticket_len = 0;
    p.s.pre = pre_allow_early;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_setClientSavePSKCallback(p.ch, keep_ticket), OK);
    ASSERT_EQ(SSL_negotiateConnection(p.ch), OK);
    /* The ticket arrives after the handshake; the server then closes. */
    ST_EQ(recv_until_end(p.ch), ERR_SSL_CONNECTION_CLOSED);
    pair_down(&p);
    ASSERT_GT(g_ticket_len, 0u);
    memset(&p, 0, sizeof p);
    p.s.pre = pre_allow_early;
    p.s.post = post_early_then_kernel;
    pair_up(&p, 1, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_CLIENT_setRetrievePSKCallback(p.ch, give_ticket), OK);
    fill(early, sizeof early, 9);
    ASSERT_EQ(SSL_setEarlyData(p.ch, early, sizeof early), OK);
    ASSERT_EQ(SSL_negotiateConnection(p.ch), OK);
    ASSERT_EQ(send_fill(p.ch, 3000, 10), OK);
    /* The server's byte says it has looked at its record layer: closing
     * before that, the kernel could refuse the offload of a socket already
     * half closed (ENOTCONN), as a slow machine showed. */
    ST_EQ(recv_check(p.ch, 1, 11), OK);
    pair_down(&p);
    ST_EQ(p.s.hs, OK);
    ST_EQ(p.s.st[6], OK);
    ST_EQ(p.s.st[0], OK);
    ASSERT_EQ(p.s.u[0], (ubyte4)SSL_EARLY_DATA_ACCEPTED);
    ST_EQ(p.s.st[1], OK);
    ST_EQ(p.s.st[2], OK);
    ST_EQ(p.s.st[3], OK);
    ST_EQ(p.s.st[5], OK);
    /* The kept early data does not hold the kernel back ("data already read"). */
    TH_LOG("server rx: %s (%s)", p.s.u[1] == NKTLS_LAYER_KERNEL ? "kernel" : "software", p.s.text);
    if (kernel_tls()) {
        EXPECT_EQ(p.s.u[1], (ubyte4)NKTLS_LAYER_KERNEL) TH_LOG("server rx: %s", p.s.text);
    } else {
        EXPECT_EQ(p.s.u[1], (ubyte4)NKTLS_LAYER_SOFTWARE);
        EXPECT_STR_EQ(p.s.text, "no tls module");
    }
    ST_EQ(p.s.st[4], ERR_SSL_CONNECTION_CLOSED);
    env_down();
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
