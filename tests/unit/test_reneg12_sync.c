/* test_reneg12_sync.c — TLS 1.2 renegotiation through the blocking calls, over
 * a real socket pair (api/reneg.c): SSL_initiateRehandshake on the server puts
 * its HelloRequest on the wire, the client's SSL_recv answers and runs the new
 * handshake while the server's SSL_recv waits for data, and data then flows
 * under the new keys; the same started by the client with its first SSL_send
 * after; a renegotiation the peer abandons times out as a first handshake
 * does. (In memory, every case of the policy: test_reneg12.c.) */
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

/* ---- a renegotiation the peer abandons (drive/blocking.c) ---- */

#define HELLO_MS 300

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The server never answers: it sleeps well past the client's deadline (the
 * client waits 2 x HELLO_MS before it starts, then HELLO_MS), and only then
 * closes, so a loaded machine cannot make the close come first. */
static void srv_silent(struct srv *s)
{
    usleep(10 * HELLO_MS * 1000);
}

/* The server answers the client's ClientHello, then waits for the rest in
 * SSL_recv (5 s), which the handshake's deadline cuts short; u[0]: ms waited. */
static void srv_abandoned(struct srv *s)
{
    sbyte buf[64];
    sbyte4 got = 0;
    if (s->hs != OK)
        return;
    int64_t t0 = now_ms();
    s->st[0] = SSL_recv(s->h, buf, sizeof buf, &got, 5000);
    s->u[0] = (ubyte4)(now_ms() - t0);
}

/* A renegotiation has sslTimeOutHello from its start, in SSL_recv: the client
 * whose ClientHello goes unanswered, and the server whose flight does, fail
 * with ERR_SSL_HANDSHAKE_TIMEOUT at that deadline, not at the read's own. */
TEST(abandoned)
{
    TH_SKIP_TIMING_UNDER_VALGRIND();
    env_setup(_metadata);
    SSL_sslSettings()->sslTimeOutHello = HELLO_MS;
    for (int server_waits = 0; server_waits < 2; server_waits++) {
        struct pair p = { 0 };
        sbyte buf[64];
        sbyte4 got = 0;
        ubyte4 v3 = TLS12_MINORVERSION;
        p.s.post = server_waits ? srv_abandoned : srv_silent;
        p.s.flags = NKTLS_FLAG_ALLOW_RENEGOTIATION;
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_VERSION, (void *)(uintptr_t)v3), OK);
        ST_EQ(SSL_negotiateConnection(p.ch), OK);
        usleep(2 * HELLO_MS * 1000);   /* the first handshake's deadline is long past */
        ST_EQ(SSL_initiateRehandshake(p.ch), OK);
        if (server_waits) {
            usleep(3 * HELLO_MS * 1000);   /* the client never goes on */
        } else {
            int64_t t0 = now_ms();
            ST_EQ(SSL_recv(p.ch, buf, sizeof buf, &got, 5000), ERR_SSL_HANDSHAKE_TIMEOUT);
            int64_t waited = now_ms() - t0;
            EXPECT_GE(waited, (int64_t)HELLO_MS - 20);
            EXPECT_LT(waited, (int64_t)4000);
        }
        pair_down(&p);
        if (server_waits) {
            ST_EQ(p.s.st[0], ERR_SSL_HANDSHAKE_TIMEOUT);
            EXPECT_LT(p.s.u[0], 4000u);
        }
    }
    env_down();
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
