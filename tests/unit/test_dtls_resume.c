/* test_dtls_resume.c — DTLS 1.2 session resumption and ALPN through the
 * public API over loopback UDP (handshake/dtls12_hello.c on the TLS 1.2
 * resumption code, handshake/tls12_resume.c): a client takes its session
 * from SSL_getClientSessionInfo after a full handshake and gives it to the
 * next SSL_connect; that handshake, cookie exchange first, is the
 * abbreviated one (NKTLS_isSessionResumed on both sides, RFC 5246 §7.3),
 * by session id with the server's tickets off and by RFC 5077 ticket with
 * them on, and data crosses; a session made over DTLS is not resumed over
 * TLS. ALPN (RFC 7301, WebRTC's "webrtc" and "c-webrtc"): the server's
 * callback chooses among the client's protocols and both sides report the
 * same one; a server without a callback answers none. */
#include "dtls_env.h"

struct dtls_sess {
    ubyte id_len;
    ubyte id[SSL_MAXSESSIONIDSIZE], master[SSL_MASTERSECRETSIZE];
};

/* One DTLS connection: the client offers sess (id_len 0: none); the
 * server sends tickets unless tickets is 0; a line crosses each way.
 * *resumed: what both sides say (they must agree). */
static void dtls_conn(struct th_meta *_metadata, int tickets, struct dtls_sess *sess, int *resumed)
{
    int fd[2];
    udp_pair(fd);
    sbyte4 srv = SSL_acceptConnection(fd[1], env.srv);
    sbyte4 cli = SSL_connect(fd[0], sess->id_len, sess->id, sess->master, (const sbyte *)"server.example.com",
                             env.cli);
    ASSERT_GT(srv, 0);
    ASSERT_GT(cli, 0);
    ASSERT_EQ(SSL_ioctl(srv, SSL_SET_NUM_TICKETS, (void *)(uintptr_t)tickets), OK);
    MSTATUS cst, sst;
    dtls_negotiate_both(cli, srv, &cst, &sst);
    ASSERT_EQ(cst, OK);
    ASSERT_EQ(sst, OK);
    *resumed = NKTLS_isSessionResumed(cli);
    ASSERT_EQ(NKTLS_isSessionResumed(srv), *resumed);
    static const char line[] = "a line after the handshake";
    sbyte buf[64];
    sbyte4 got = 0;
    ASSERT_EQ(SSL_send(cli, (sbyte *)line, sizeof line), (sbyte4)sizeof line);
    ASSERT_EQ(SSL_recv(srv, buf, sizeof buf, &got, 5000), OK);
    ASSERT_EQ(got, (sbyte4)sizeof line);
    ASSERT_MEM_EQ(buf, line, sizeof line);
    ASSERT_EQ(SSL_send(srv, (sbyte *)line, sizeof line), (sbyte4)sizeof line);
    ASSERT_EQ(SSL_recv(cli, buf, sizeof buf, &got, 5000), OK);
    ASSERT_EQ(got, (sbyte4)sizeof line);
    ASSERT_EQ(SSL_getClientSessionInfo(cli, &sess->id_len, sess->id, sess->master), OK);
    ASSERT_EQ(SSL_closeConnection(cli), OK);
    ASSERT_EQ(SSL_closeConnection(srv), OK);
    close(fd[0]);
    close(fd[1]);
}

static void resume_twice(struct th_meta *_metadata, int tickets)
{
    struct dtls_sess s = { 0 };
    int resumed = -1;
    env_up(4);
    dtls_conn(_metadata, tickets, &s, &resumed);
    ASSERT_FALSE(resumed);
    ASSERT_EQ(s.id_len, SSL_MAXSESSIONIDSIZE);
    struct dtls_sess first = s;
    dtls_conn(_metadata, tickets, &s, &resumed);
    ASSERT_TRUE(resumed);
    /* RFC 5246 §7.4.1.3: the session id echoed, the same master secret. */
    ASSERT_EQ(s.id_len, first.id_len);
    ASSERT_MEM_EQ(s.id, first.id, s.id_len);
    ASSERT_MEM_EQ(s.master, first.master, sizeof s.master);
    dtls_conn(_metadata, tickets, &s, &resumed);   /* and again */
    ASSERT_TRUE(resumed);
    env_down();
}

TEST(resume_by_session_id)
{
    resume_twice(_metadata, 0);
}

TEST(resume_by_ticket)
{
    resume_twice(_metadata, 1);
}

/* A DTLS session given to a TLS connection to the same server name is not
 * offered there (the client's session record binds the transport): a full
 * TLS handshake. */
TEST(dtls_session_not_resumed_over_tls)
{
    struct dtls_sess s = { 0 };
    int resumed = -1;
    env_up(4);
    dtls_conn(_metadata, 0, &s, &resumed);
    ASSERT_EQ(s.id_len, SSL_MAXSESSIONIDSIZE);
    struct pair q = { .s.post = post_wait_end };
    ASSERT_EQ(make_pair(1, q.fd), 0);
    q.s.fd = q.fd[1];
    q.s.store = env.srv;
    srv_start(&q.s);
    q.ch = SSL_connect(q.fd[0], s.id_len, s.id, s.master, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(q.ch, 0);
    ASSERT_EQ(SSL_ioctl(q.ch, SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
    MSTATUS st = SSL_negotiateConnection(q.ch);
    ST_EQ(st, OK);
    ASSERT_EQ(NKTLS_isSessionResumed(q.ch), FALSE);
    pair_down(&q);
    ST_EXPECT(q.s.hs, OK);
    env_down();
}

/* ---- ALPN ---- */

static sbyte4 prefer_c_webrtc(sbyte4 h, ubyte **out[], sbyte4 *out_len, ubyte *in, sbyte4 in_len)
{
    static const char *pref[] = { "c-webrtc", "webrtc" };
    for (int i = 0; i < 2; i++) {
        size_t want = strlen(pref[i]);
        for (sbyte4 off = 0; off < in_len; off += 1 + in[off])
            if (in[off] == want && off + 1 + (sbyte4)want <= in_len && !memcmp(in + off + 1, pref[i], want)) {
                *out = (ubyte **)(in + off);
                *out_len = 1 + (sbyte4)want;
                return OK;
            }
    }
    return ERR_SSL_NO_APPLICATION_PROTOCOL;
}

/* The client offers "webrtc" then "c-webrtc"; with_cb: the server's
 * callback prefers "c-webrtc". Both sides' choice into chosen[2]. */
static void alpn_conn(struct th_meta *_metadata, int with_cb, char chosen[2][16])
{
    int fd[2];
    udp_pair(fd);
    sbyte4 srv = SSL_acceptConnection(fd[1], env.srv);
    sbyte4 cli = SSL_connect(fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(srv, 0);
    ASSERT_GT(cli, 0);
    const char *offer[] = { "webrtc", "c-webrtc" };
    ASSERT_EQ(SSL_setApplicationLayerProtocol(cli, 2, offer), OK);
    if (with_cb)
        ASSERT_EQ(SSL_setAlpnCallback(srv, prefer_c_webrtc), OK);
    MSTATUS cst, sst;
    dtls_negotiate_both(cli, srv, &cst, &sst);
    ASSERT_EQ(cst, OK);
    ASSERT_EQ(sst, OK);
    sbyte4 h[2] = { cli, srv };
    for (int i = 0; i < 2; i++) {
        const ubyte *p = NULL;
        ubyte4 n = 99;
        ASSERT_EQ(SSL_getSelectedApplicationProtocol(h[i], &p, &n), OK);
        ASSERT_LT(n, 16u);
        memcpy(chosen[i], p ? (const char *)p : "", n);
        chosen[i][n] = 0;
    }
    ASSERT_EQ(SSL_closeConnection(cli), OK);
    ASSERT_EQ(SSL_closeConnection(srv), OK);
    close(fd[0]);
    close(fd[1]);
}

TEST(alpn_webrtc_both_roles)
{
    char chosen[2][16];
    env_up(4);
    alpn_conn(_metadata, 1, chosen);
    ASSERT_EQ(strcmp(chosen[0], "c-webrtc"), 0);
    ASSERT_EQ(strcmp(chosen[1], "c-webrtc"), 0);
    alpn_conn(_metadata, 0, chosen);   /* RFC 7301 §3.2: a server may answer none */
    ASSERT_EQ(strcmp(chosen[0], ""), 0);
    ASSERT_EQ(strcmp(chosen[1], ""), 0);
    env_down();
}

int main(int argc, char **argv) { return api_env_main(argc, argv); }
