/* test_reneg12_sync.c — TLS 1.2 renegotiation through the blocking calls, over
 * a real socket pair (api/reneg.c): SSL_initiateRehandshake on the server puts
 * its HelloRequest on the wire, the client's SSL_recv answers and runs the new
 * handshake while the server's SSL_recv waits for data, and data then flows
 * under the new keys; the same started by the client with its first SSL_send
 * after. (In memory, every case of the policy: test_reneg12.c.) */
#include "api_env.h"
#include "engine/conn.h"

static void env_setup(struct th_meta *_metadata)
{
    env_up(4);
}

/* The server: start one (server_starts) or allow the client's, then echo
 * two messages (a client-started renegotiation ends while the server waits
 * for the second); u[0]: whether it completed one (reneg_done). */
static void srv_reneg(struct srv *s)
{
    struct nk_conn *c;
    sbyte buf[64];
    sbyte4 got = 0;
    const int *server_starts = s->arg;
    if (s->hs != OK)
        return;
    if (*server_starts)
        s->st[0] = SSL_initiateRehandshake(s->h);
    for (int i = 0; i < 2; i++) {
        s->st[1 + 2 * i] = SSL_recv(s->h, buf, sizeof buf, &got, 5000);
        if (s->st[1 + 2 * i] == OK)
            s->st[2 + 2 * i] = SSL_send(s->h, buf, got) == got ? OK : ERR_TCP_WRITE_ERROR;
    }
    s->u[0] = nk_conn_get(s->h, &c) == OK ? c->reneg_done : 99;
    s->u[1] = (ubyte4)got;
}

static void run(struct th_meta *_metadata, int server_starts)
{
    struct pair p = { 0 };
    struct nk_conn *c;
    sbyte buf[64];
    sbyte4 got = 0;
    ubyte4 v3 = TLS12_MINORVERSION;
    p.s.post = srv_reneg;
    p.s.arg = &server_starts;
    p.s.flags = server_starts ? 0 : NKTLS_FLAG_ALLOW_RENEGOTIATION;
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_VERSION, (void *)(uintptr_t)v3), OK);
    ST_EQ(SSL_negotiateConnection(p.ch), OK);
    ASSERT_EQ(nk_conn_get(p.ch, &c), OK);
    if (server_starts) {
        /* The HelloRequest comes; the handshake runs inside this call. */
        ST_EQ(SSL_recv(p.ch, buf, sizeof buf, &got, 1000), ERR_TCP_READ_TIMEOUT);
    } else {
        ST_EQ(SSL_initiateRehandshake(p.ch), OK);
    }
    const char *msg[2] = { "ping", "done" };
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(SSL_send(p.ch, (sbyte *)msg[i], 4), 4);
        ST_EQ(SSL_recv(p.ch, buf, sizeof buf, &got, 5000), OK);
        ASSERT_EQ(got, 4);
        ASSERT_EQ(memcmp(buf, msg[i], 4), 0);
    }
    EXPECT_EQ((unsigned)c->reneg_done, 1u);
    EXPECT_EQ(c->minor, 3);
    pair_down(&p);
    if (server_starts)
        ST_EQ(p.s.st[0], OK);
    for (int i = 1; i <= 4; i++)
        ST_EQ(p.s.st[i], OK);
    EXPECT_EQ(p.s.u[0], 1u);
    EXPECT_EQ(p.s.u[1], 4u);
}

TEST(server_starts)
{
    env_setup(_metadata);
    run(_metadata, 1);
    env_down();
}

TEST(client_starts)
{
    env_setup(_metadata);
    run(_metadata, 0);
    env_down();
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
