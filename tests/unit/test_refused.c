/* test_refused.c — what nktls refuses on a connection of the wrong kind: on a TLS connection
 * SSL_isSessionDTLS is FALSE and the DTLS calls are ERR_NOT_SUPPORTED (a
 * UDP socket's connection takes them: test_dtls_api.c); and
 * on a TLS 1.3 connection SSL_getClientSessionInfo hands a legacy-style
 * resuming client an empty session id, with which its next SSL_connect makes
 * a full handshake (TLS 1.2 resumption: test_resume12.c). */
#include "api_env.h"

static sbyte4 on_srtp_init(sbyte4 h, peerDescr *p, const SrtpProfileInfo *i, void *k, ubyte *m) { return OK; }
static sbyte4 on_srtp_encode(sbyte4 h, peerDescr *p, const sbyte *d, ubyte4 n, ubyte **e, ubyte4 *en)
{
    return OK;
}

#define REFUSED(call) ASSERT_EQ(call, ERR_NOT_SUPPORTED) TH_LOG("%s", #call)
#define ACCEPTED(call) ASSERT_EQ(call, OK) TH_LOG("%s", #call)

/* Per connection: a stale instance first, then the answers. */
TEST(per_connection_answers)
{
    int fd[2];
    ubyte2 profiles[] = { SRTP_AES128_CM_HMAC_SHA1_80 };
    ubyte4 t = 0;
    env_up(2);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
    sbyte4 h = SSL_connect(fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h, 0);
    sbyte4 stale = h + (1 << 16);   /* another generation of the same slot */

    ASSERT_EQ(SSL_isSessionDTLS(h), FALSE);
    ASSERT_EQ(SSL_isSessionSSL(h), TRUE);
    REFUSED(SSL_DTLS_getTimeout(h, &t));
    REFUSED(DTLS_isTimerExpired(h));
    REFUSED(SSL_enableSrtpProfiles(h, profiles, 1));
    /* Renegotiation is implemented (test_reneg12.c): before the handshake it is not open. */
    ASSERT_EQ(SSL_initiateRehandshake(h), ERR_SSL_NOT_OPEN);

    ASSERT_EQ(SSL_isSessionDTLS(stale), ERR_SSL_BAD_ID);
    ASSERT_EQ(SSL_DTLS_getTimeout(stale, &t), ERR_SSL_BAD_ID);
    ASSERT_EQ(DTLS_isTimerExpired(stale), ERR_SSL_BAD_ID);
    ASSERT_EQ(SSL_initiateRehandshake(stale), ERR_SSL_BAD_ID);

    /* Refusals change nothing: the connection still makes its handshake. */
    ASSERT_EQ(SSL_closeConnection(h), OK);
    close(fd[0]);
    close(fd[1]);
    env_down();
}

/* The process-wide SRTP callbacks are taken (DTLS-SRTP's keys, api/dtls.c;
 * what the encode callback does: test_dtls_srtp_encode.c). */
TEST(global_callbacks)
{
    ACCEPTED(SSL_setSrtpInitCallback(on_srtp_init));
    ACCEPTED(SSL_setSrtpInitCallback(NULL));
    ACCEPTED(SSL_setSrtpEncodeCallback(on_srtp_encode));
    ACCEPTED(SSL_setSrtpEncodeCallback(NULL));
}

/* The legacy way to resume: take the session info of an open connection and
 * give it to the next SSL_connect. TLS 1.3 has no session id, so the info is
 * empty and the second connection is a full handshake that works. */
TEST(client_session_info)
{
    struct pair p = { .s.post = post_wait_end }, q = { .s.post = post_wait_end };
    ubyte id_len = 99, id[SSL_MAXSESSIONIDSIZE], master[SSL_MASTERSECRETSIZE];
    ubyte zero[SSL_MASTERSECRETSIZE] = { 0 };
    memset(id, 0xaa, sizeof id);
    memset(master, 0xaa, sizeof master);
    env_up(4);
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_getClientSessionInfo(p.ch, &id_len, id, master), ERR_SSL_NOT_OPEN);
    MSTATUS st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    ASSERT_EQ(SSL_getClientSessionInfo(p.ch, NULL, id, master), ERR_NULL_POINTER);
    ASSERT_EQ(SSL_getClientSessionInfo(p.ch, &id_len, id, master), OK);
    ASSERT_EQ(id_len, 0);
    ASSERT_MEM_EQ(id, zero, sizeof id);
    ASSERT_MEM_EQ(master, zero, sizeof master);
    pair_down(&p);
    ST_EXPECT(p.s.hs, OK);

    ASSERT_EQ(make_pair(0, q.fd), 0);
    q.s.fd = q.fd[1];
    q.s.store = env.srv;
    srv_start(&q.s);
    q.ch = SSL_connect(q.fd[0], id_len, id, master, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(q.ch, 0);
    st = SSL_negotiateConnection(q.ch);
    ST_EQ(st, OK);
    ASSERT_EQ(NKTLS_isSessionResumed(q.ch), FALSE);
    pair_down(&q);
    ST_EXPECT(q.s.hs, OK);
    env_down();
}

/* A server has no client session to report. */
static void post_info(struct srv *s)
{
    ubyte n, id[SSL_MAXSESSIONIDSIZE], ms[SSL_MASTERSECRETSIZE];
    s->st[1] = SSL_getClientSessionInfo(s->h, &n, id, ms);
    post_wait_end(s);
}

TEST(server_has_no_client_session)
{
    struct pair p = { .s.post = post_info };
    env_up(4);
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    MSTATUS st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    pair_down(&p);
    ST_EXPECT(p.s.st[1], ERR_SSL_BAD_STATE);
    env_down();
}

int main(int argc, char **argv) { return api_env_main(argc, argv); }
