/* dtls_env.h — what the DTLS public-API tests share (test_dtls_api.c,
 * test_dtls_srtp_encode.c, test_dtls_resume.c): a connected UDP pair on the
 * loopback and a handshake of both ends, the server's in a thread.
 * Header-only, after api_env.h. */
#ifndef NKTLS_TEST_DTLS_ENV_H
#define NKTLS_TEST_DTLS_ENV_H

#include "api_env.h"

/* A connected UDP pair on 127.0.0.1. */
static void udp_pair_at(struct th_meta *_metadata, int fd[2])
{
    struct sockaddr_in a[2];
    socklen_t l = sizeof a[0];
    for (int i = 0; i < 2; i++) {
        fd[i] = socket(AF_INET, SOCK_DGRAM, 0);
        ASSERT_GE(fd[i], 0);
        memset(&a[i], 0, sizeof a[i]);
        a[i].sin_family = AF_INET;
        a[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(bind(fd[i], (struct sockaddr *)&a[i], sizeof a[i]), 0);
        ASSERT_EQ(getsockname(fd[i], (struct sockaddr *)&a[i], &l), 0);
    }
    ASSERT_EQ(connect(fd[0], (struct sockaddr *)&a[1], sizeof a[1]), 0);
    ASSERT_EQ(connect(fd[1], (struct sockaddr *)&a[0], sizeof a[0]), 0);
}
#define udp_pair(fd) udp_pair_at(_metadata, fd)

static void *dtls_negotiate_main(void *arg)
{
    sbyte4 *h = arg;
    h[1] = SSL_negotiateConnection(h[0]);
    return NULL;
}

/* Both ends' handshakes at once (the server's in a thread): *cli_st and
 * *srv_st their results. */
static void dtls_negotiate_both(sbyte4 cli, sbyte4 srv, MSTATUS *cli_st, MSTATUS *srv_st)
{
    sbyte4 s[2] = { srv, NOT_RUN };
    pthread_t t;
    if (pthread_create(&t, NULL, dtls_negotiate_main, s) != 0) {
        *cli_st = *srv_st = ERR_GENERAL;
        return;
    }
    *cli_st = SSL_negotiateConnection(cli);
    pthread_join(t, NULL);
    *srv_st = s[1];
}

#endif
