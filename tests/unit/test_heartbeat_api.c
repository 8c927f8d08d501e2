/* test_heartbeat_api.c — heartbeats (RFC 6520) through the public calls: the
 * synchronous API over a socketpair (the server answers inside SSL_recv, the
 * client hears the response inside its SSL_recv), and the asynchronous API
 * (the request waits in SSL_ASYNC_getSendBuffer's bytes, its answer is made
 * inside SSL_ASYNC_recvMessage) in TLS 1.2, and refused in TLS 1.3 with
 * nothing queued. The protocol itself is test_heartbeat.c's. */
#include "unit/async_env.h"
#include "drive/drive.h"
#include "handshake/tls.h"

static int g_req[2], g_resp[2];   /* per side: requests answered, responses matched */
static sbyte4 g_srv_h;

static sbyte4 on_hb(sbyte4 h, sbyte4 status, ubyte type)
{
    int side = h == g_srv_h;
    if (status == OK && type == 1)
        g_req[side]++;
    if (status == OK && type == 2)
        g_resp[side]++;
    return OK;
}

/* ---- synchronous ---------------------------------------------------------------- */

static void srv_enable(struct srv *s)
{
    g_srv_h = s->h;
    s->st[1] = SSL_enableHeartbeatSupport(s->h, peerAllowedToSend, on_hb);
}

/* A synchronous pair in TLS 1.2, heartbeats on both ends, open. */
static void open_tls12(struct th_meta *_metadata, struct pair *p)
{
    env_up(2);
    memset(g_req, 0, sizeof g_req);
    memset(g_resp, 0, sizeof g_resp);
    pair_up(p, 0, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_ioctl(p->ch, SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
    ASSERT_EQ(SSL_enableHeartbeatSupport(p->ch, peerAllowedToSend, on_hb), OK);
    ASSERT_EQ(SSL_negotiateConnection(p->ch), OK);
}

TEST(sync_request_answered)
{
    sbyte buf[64];
    sbyte4 got = -1;
    struct pair p = { .s.pre = srv_enable, .s.post = post_wait_end };
    open_tls12(_metadata, &p);
    ASSERT_EQ(SSL_sendHeartbeatMessage(p.ch), OK);
    /* The response carries no data: the wait ends with the timeout, the
     * response handled inside it. */
    MSTATUS st = SSL_recv(p.ch, buf, sizeof buf, &got, 2000);
    ST_EQ(st, ERR_TCP_READ_TIMEOUT);
    EXPECT_EQ(g_resp[0], 1);
    ASSERT_EQ(SSL_sendHeartbeatMessage(p.ch), OK);   /* answered: the next may go */
    st = SSL_recv(p.ch, buf, sizeof buf, &got, 2000);
    ST_EQ(st, ERR_TCP_READ_TIMEOUT);
    EXPECT_EQ(g_resp[0], 2);
    pair_down(&p);
    EXPECT_EQ(p.s.st[1], OK);
    EXPECT_EQ(p.s.hs, OK);
    EXPECT_EQ(g_req[1], 2);
    EXPECT_EQ(p.s.st[0], ERR_SSL_CONNECTION_CLOSED);   /* the server read to our close_notify */
    env_down();
}

/* A Heartbleed-shaped request (payload_length 16 KiB, 4 bytes of payload and
 * 16 of padding in the record) over a real socket: nothing comes back; a
 * well-formed one then gets its response (RFC 6520 §4). The client's
 * connection is the crafting peer: the record goes out through its keys. */
static int readable(int fd, int ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    return poll(&pfd, 1, ms) == 1 && (pfd.revents & POLLIN);
}

static MSTATUS send_raw_hb(sbyte4 h, uint16_t claimed, size_t n)
{
    struct nk_conn *c;
    uint8_t m[64] = { 1, (uint8_t)(claimed >> 8), (uint8_t)claimed };
    NK_TRY(nk_conn_get(h, &c));
    NK_TRY(nk_send_records(&c->tls, NK_CT_HEARTBEAT, m, n));
    return nk_drive_flush(c);
}

TEST(heartbleed_shape_gets_nothing)
{
    struct pair p = { .s.pre = srv_enable, .s.post = post_wait_end };
    open_tls12(_metadata, &p);
    ASSERT_EQ(send_raw_hb(p.ch, 0x4000, 3 + 4 + 16), OK);
    EXPECT_FALSE(readable(p.fd[0], 500));
    ASSERT_EQ(send_raw_hb(p.ch, 4, 3 + 4 + 16), OK);
    EXPECT_TRUE(readable(p.fd[0], 5000));
    pair_down(&p);
    EXPECT_EQ(g_req[1], 1);   /* the server answered the second only */
    EXPECT_EQ(p.s.st[0], ERR_SSL_CONNECTION_CLOSED);
    env_down();
}

/* ---- asynchronous ----------------------------------------------------------------- */

static ubyte wire[1 << 16];

static MSTATUS move(sbyte4 from, sbyte4 to)
{
    for (;;) {
        ubyte4 len = sizeof wire;
        NK_TRY(SSL_ASYNC_getSendBuffer(from, wire, &len));
        if (len == 0)
            return OK;
        NK_TRY(SSL_ASYNC_recvMessage(to, wire, len));
    }
}

static MSTATUS pump(sbyte4 h[2])
{
    int moved;
    do {
        moved = 0;
        for (int i = 0; i < 2; i++) {
            if (SSL_ASYNC_sendMessagePending(h[i]) <= 0)
                continue;
            moved = 1;
            NK_TRY(move(h[i], h[1 - i]));
        }
    } while (moved);
    return OK;
}

TEST_F(async, heartbeat)
{
    sbyte4 *h = self->h;
    memset(g_req, 0, sizeof g_req);
    memset(g_resp, 0, sizeof g_resp);
    h[CLI] = SSL_ASYNC_connect(-1, 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h[CLI], 0);
    ASSERT_EQ(cap_version(h[CLI]), OK);
    h[SRV] = g_srv_h = SSL_ASYNC_acceptConnection(-1, env.srv);
    ASSERT_GT(h[SRV], 0);
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(SSL_enableHeartbeatSupport(h[i], peerAllowedToSend, on_hb), OK);
    ASSERT_EQ(SSL_ASYNC_start(h[CLI]), OK);
    ST(pump(h), OK);
    if (tls_minor == 4) {   /* RFC 8446 has no heartbeat: refused, nothing queued */
        ASSERT_EQ(SSL_sendHeartbeatMessage(h[CLI]), ERR_SSL_HEARTBEAT_REFUSED);
        ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[CLI]), 0);
    } else {
        ASSERT_EQ(SSL_sendHeartbeatMessage(h[CLI]), OK);
        /* type, payload_length, 16 bytes of payload, 16 of padding: one record */
        ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[CLI]), 3 + 16 + 16 + rec_over);
        ST(move(h[CLI], h[SRV]), OK);
        ASSERT_EQ(g_req[1], 1);
        ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[SRV]), 3 + 16 + 16 + rec_over);
        ST(move(h[SRV], h[CLI]), OK);
        ASSERT_EQ(g_resp[0], 1);
        ASSERT_EQ(SSL_ASYNC_sendMessagePending(h[CLI]), 0);
    }
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(SSL_ASYNC_closeConnection(h[i]), OK);
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
