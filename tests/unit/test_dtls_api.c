/* test_dtls_api.c — DTLS 1.2 and DTLS-SRTP through the public API: the
 * same SSL_connect / SSL_acceptConnection calls given datagram sockets (a
 * connected UDP pair on the loopback) make DTLS connections
 * (SSL_isSessionDTLS), the handshake with its cookie exchange, data both
 * ways, the exporter equal both sides; use_srtp negotiated in the server's
 * order (SSL_enableSrtpProfiles, DTLS_USE_SRTP), the keying
 * material handed to the init callback on both sides, split and used with
 * the SRTP library to protect and unprotect an RTP packet; no common
 * profile, or a server without DTLS_USE_SRTP, leaves SRTP off; after a
 * DTLS-SRTP handshake an RTP datagram is left in the socket for the
 * application (RFC 7983), without SRTP it is dropped; a silent peer: the
 * ClientHello sent again as the timer doubles, then the time limit; the DTLS_*
 * settings' range checks. */
#include "dtls_env.h"
#include "srtp.h"

/* What the SRTP init callback was given, per side. */
static struct told {
    sbyte4 h;
    int calls;
    SrtpProfileInfo info;
    ubyte km[92];
    ubyte mki[8];
    int has_mki;
} told[2];
static pthread_mutex_t told_mu = PTHREAD_MUTEX_INITIALIZER;

static sbyte4 on_srtp_init(sbyte4 h, peerDescr *peer, const SrtpProfileInfo *info, void *km, ubyte *mki)
{
    pthread_mutex_lock(&told_mu);
    struct told *t = told[0].h == h ? &told[0] : &told[1];
    t->calls++;
    t->info = *info;
    memcpy(t->km, km, 2u * (ubyte4)(info->keySize + info->saltSize));
    t->has_mki = mki != NULL;
    if (mki)
        memcpy(t->mki, mki, 3);
    pthread_mutex_unlock(&told_mu);
    return OK;
}

struct side {
    sbyte4 h;
    ubyte2 profiles[4];
    ubyte4 n_profiles;
    int use_srtp;
    MSTATUS st;
    ubyte ekm[60];
};

static void *server_main(void *arg)
{
    struct side *s = arg;
    s->st = SSL_negotiateConnection(s->h);
    if (s->st == OK) {
        sbyte buf[256];
        sbyte4 got = 0;
        s->st = SSL_recv(s->h, buf, sizeof buf, &got, 5000);
        if (s->st == OK && SSL_send(s->h, buf, got) != got)   /* echo */
            s->st = ERR_TCP_WRITE_ERROR;
    }
    if (s->st == OK)
        s->st = SSL_generateExportKeyMaterial(s->h, s->ekm, sizeof s->ekm, (ubyte *)"EXTRACTOR-dtls_srtp", 19,
                                              NULL, 0, 0);
    return NULL;
}

/* One connection: the server in a thread, the client here. */
static void run_pair(struct th_meta *_metadata, struct side *cli, struct side *srv)
{
    int fd[2];
    ASSERT_EQ(make_udp_pair(fd), 0);
    memset(told, 0, sizeof told);
    srv->h = SSL_acceptConnection(fd[1], env.srv);
    ASSERT_GT(srv->h, 0);
    cli->h = SSL_connect(fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(cli->h, 0);
    told[0].h = cli->h;
    told[1].h = srv->h;
    ASSERT_EQ(SSL_isSessionDTLS(cli->h), TRUE);
    ASSERT_EQ(SSL_isSessionDTLS(srv->h), TRUE);
    struct side *both[2] = { cli, srv };
    for (int i = 0; i < 2; i++) {
        if (both[i]->n_profiles)
            ASSERT_EQ(SSL_enableSrtpProfiles(both[i]->h, both[i]->profiles, both[i]->n_profiles), OK);
        if (both[i]->use_srtp >= 0)
            ASSERT_EQ(SSL_ioctl(both[i]->h, DTLS_USE_SRTP, (void *)(uintptr_t)both[i]->use_srtp), OK);
    }
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, server_main, srv), 0);
    cli->st = SSL_negotiateConnection(cli->h);
    static const char hello[] = "hello over DTLS";
    if (cli->st == OK && SSL_send(cli->h, (sbyte *)hello, sizeof hello) != (sbyte4)sizeof hello)
        cli->st = ERR_TCP_WRITE_ERROR;
    sbyte buf[256];
    sbyte4 got = 0;
    if (cli->st == OK)
        cli->st = SSL_recv(cli->h, buf, sizeof buf, &got, 5000);
    pthread_join(t, NULL);
    ASSERT_EQ(cli->st, OK);
    ASSERT_EQ(srv->st, OK);
    ASSERT_EQ(got, (sbyte4)sizeof hello);
    ASSERT_MEM_EQ(buf, hello, sizeof hello);
    ASSERT_EQ(SSL_generateExportKeyMaterial(cli->h, cli->ekm, sizeof cli->ekm, (ubyte *)"EXTRACTOR-dtls_srtp", 19,
                                            NULL, 0, 0),
              OK);
    ASSERT_MEM_EQ(cli->ekm, srv->ekm, sizeof cli->ekm);
    ubyte4 version = 0;
    ASSERT_EQ(SSL_getSSLTLSVersion(cli->h, &version), OK);
    ASSERT_EQ(version, (ubyte4)DTLS12_MINORVERSION);
    ASSERT_EQ(SSL_closeConnection(cli->h), OK);
    ASSERT_EQ(SSL_closeConnection(srv->h), OK);
    close(fd[0]);
    close(fd[1]);
}

TEST(handshake_data_exporter_no_srtp)
{
    env_up(4);
    ASSERT_EQ(SSL_setSrtpInitCallback(on_srtp_init), OK);
    struct side cli = { .use_srtp = -1 }, srv = { .use_srtp = -1 };
    run_pair(_metadata, &cli, &srv);
    ASSERT_EQ(told[0].calls, 0);
    ASSERT_EQ(told[1].calls, 0);
    ASSERT_EQ(SSL_setSrtpInitCallback(NULL), OK);
    env_down();
}

/* Protect an RTP packet with one side's keys, unprotect with the other's. */
static void srtp_roundtrip(struct th_meta *_metadata, ubyte2 profile)
{
    nktlsSrtpMasterKey out[2], in[2];
    nktlsSrtpSession *tx = NULL, *rx = NULL;
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(NKTLS_srtpSplitKeyingMaterial(profile, told[s].km, 2u * (ubyte4)(told[s].info.keySize + told[s].info.saltSize),
                                                s == 0, &out[s], &in[s]),
                  OK);
    ASSERT_EQ(NKTLS_srtpCreate(profile, NKTLS_SRTP_OUTBOUND, out[0].key, out[0].keyLen, out[0].salt, out[0].saltLen,
                               NULL, 0, &tx),
              OK);
    ASSERT_EQ(NKTLS_srtpCreate(profile, NKTLS_SRTP_INBOUND, in[1].key, in[1].keyLen, in[1].salt, in[1].saltLen, NULL,
                               0, &rx),
              OK);
    ubyte pkt[64] = { 0x80, 0x60, 0x12, 0x34, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef };
    for (int i = 12; i < 32; i++)
        pkt[i] = (ubyte)i;
    ubyte orig[32];
    memcpy(orig, pkt, sizeof orig);
    ubyte4 len = 32;
    ASSERT_EQ(NKTLS_srtpProtect(tx, pkt, &len, sizeof pkt), OK);
    ASSERT_GT(len, 32u);
    ASSERT_EQ(NKTLS_srtpUnprotect(rx, pkt, &len), OK);
    ASSERT_EQ(len, 32u);
    ASSERT_MEM_EQ(pkt, orig, 32);
    NKTLS_srtpFree(&tx);
    NKTLS_srtpFree(&rx);
}

TEST(srtp_profile_in_server_order_keys_to_callback)
{
    env_up(4);
    ASSERT_EQ(SSL_setSrtpInitCallback(on_srtp_init), OK);
    struct side cli = { .profiles = { SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80 }, .n_profiles = 2,
                        .use_srtp = -1 };
    struct side srv = { .profiles = { SRTP_AES128_CM_HMAC_SHA1_80, SRTP_AEAD_AES_128_GCM }, .n_profiles = 2,
                        .use_srtp = -1 };
    run_pair(_metadata, &cli, &srv);
    for (int s = 0; s < 2; s++) {
        ASSERT_EQ(told[s].calls, 1);
        ASSERT_EQ(told[s].info.profileId, SRTP_AES128_CM_HMAC_SHA1_80);
        ASSERT_EQ(told[s].info.keySize, 16);
        ASSERT_EQ(told[s].info.saltSize, 14);
        ASSERT_FALSE(told[s].has_mki);
    }
    /* RFC 5764 §4.2: the material is the exporter's, the same both sides. */
    ASSERT_MEM_EQ(told[0].km, told[1].km, 60);
    ASSERT_MEM_EQ(told[0].km, cli.ekm, 60);
    srtp_roundtrip(_metadata, SRTP_AES128_CM_HMAC_SHA1_80);
    ASSERT_EQ(SSL_setSrtpInitCallback(NULL), OK);
    env_down();
}

TEST(srtp_gcm_by_default_list)
{
    env_up(4);
    ASSERT_EQ(SSL_setSrtpInitCallback(on_srtp_init), OK);
    /* The client offers AEAD_AES_256_GCM only; the server's DTLS_USE_SRTP
     * default list holds it. */
    struct side cli = { .profiles = { SRTP_AEAD_AES_256_GCM }, .n_profiles = 1, .use_srtp = -1 };
    struct side srv = { .use_srtp = 1 };
    run_pair(_metadata, &cli, &srv);
    for (int s = 0; s < 2; s++) {
        ASSERT_EQ(told[s].calls, 1);
        ASSERT_EQ(told[s].info.profileId, SRTP_AEAD_AES_256_GCM);
        ASSERT_EQ(told[s].info.keySize, 32);
        ASSERT_EQ(told[s].info.saltSize, 12);
    }
    ASSERT_MEM_EQ(told[0].km, told[1].km, 88);
    srtp_roundtrip(_metadata, SRTP_AEAD_AES_256_GCM);
    ASSERT_EQ(SSL_setSrtpInitCallback(NULL), OK);
    env_down();
}

TEST(srtp_off_when_nothing_in_common_or_server_unwilling)
{
    env_up(4);
    ASSERT_EQ(SSL_setSrtpInitCallback(on_srtp_init), OK);
    struct side cli = { .profiles = { SRTP_AES128_CM_HMAC_SHA1_32 }, .n_profiles = 1, .use_srtp = -1 };
    struct side srv = { .profiles = { SRTP_AES128_CM_HMAC_SHA1_80 }, .n_profiles = 1, .use_srtp = -1 };
    run_pair(_metadata, &cli, &srv);
    ASSERT_EQ(told[0].calls, 0);
    ASSERT_EQ(told[1].calls, 0);
    struct side cli2 = { .use_srtp = 1 }, srv2 = { .use_srtp = 0 };
    run_pair(_metadata, &cli2, &srv2);
    ASSERT_EQ(told[0].calls, 0);
    ASSERT_EQ(told[1].calls, 0);
    ASSERT_EQ(SSL_setSrtpInitCallback(NULL), OK);
    env_down();
}

static void *negotiate_main(void *arg)
{
    struct side *s = arg;
    s->st = SSL_negotiateConnection(s->h);
    return NULL;
}

/* RFC 5764 §5.1.2 and RFC 7983: after a DTLS-SRTP handshake an RTP datagram
 * (first byte 128..191) on the socket is the application's: SSL_recv stops
 * before it with ERR_TCP_WOULDBLOCK and leaves it to be read; the DTLS
 * record behind it is then received as usual. Without SRTP agreed the same
 * datagram is not DTLS and is dropped. */
static void rtp_beside_dtls(struct th_meta *_metadata, int with_srtp)
{
    int fd[2];
    ASSERT_EQ(make_udp_pair(fd), 0);
    struct side cli = { 0 }, srv = { 0 };
    srv.h = SSL_acceptConnection(fd[1], env.srv);
    cli.h = SSL_connect(fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(srv.h, 0);
    ASSERT_GT(cli.h, 0);
    if (with_srtp) {
        ubyte2 p = SRTP_AES128_CM_HMAC_SHA1_80;
        ASSERT_EQ(SSL_enableSrtpProfiles(cli.h, &p, 1), OK);
        ASSERT_EQ(SSL_enableSrtpProfiles(srv.h, &p, 1), OK);
    }
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, negotiate_main, &srv), 0);
    cli.st = SSL_negotiateConnection(cli.h);
    pthread_join(t, NULL);
    ASSERT_EQ(cli.st, OK);
    ASSERT_EQ(srv.st, OK);
    ubyte rtp[40] = { 0x80, 0x60, 0x00, 0x07, 0, 0, 0, 9, 0xca, 0xfe, 0xba, 0xbe };
    for (int i = 12; i < 40; i++)
        rtp[i] = (ubyte)(0xa0 + i);
    static const char msg[] = "the DTLS record after the RTP one";
    ASSERT_EQ(send(fd[0], rtp, sizeof rtp, 0), (ssize_t)sizeof rtp);
    ASSERT_EQ(SSL_send(cli.h, (sbyte *)msg, sizeof msg), (sbyte4)sizeof msg);
    sbyte buf[128];
    sbyte4 got = -1;
    ubyte raw[128];
    if (with_srtp) {
        ASSERT_EQ(SSL_recv(srv.h, buf, sizeof buf, &got, 2000), ERR_TCP_WOULDBLOCK);
        ASSERT_EQ(got, 0);
        ASSERT_EQ(recv(fd[1], raw, sizeof raw, MSG_DONTWAIT), (ssize_t)sizeof rtp);   /* still there */
        ASSERT_MEM_EQ(raw, rtp, sizeof rtp);
    }
    ASSERT_EQ(SSL_recv(srv.h, buf, sizeof buf, &got, 2000), OK);
    ASSERT_EQ(got, (sbyte4)sizeof msg);
    ASSERT_MEM_EQ(buf, msg, sizeof msg);
    ASSERT_EQ(recv(fd[1], raw, sizeof raw, MSG_DONTWAIT), -1);   /* nothing left: dropped, or read above */
    ASSERT_EQ(SSL_closeConnection(cli.h), OK);
    ASSERT_EQ(SSL_recv(srv.h, buf, sizeof buf, &got, 2000), ERR_SSL_CONNECTION_CLOSED);
    ASSERT_EQ(SSL_closeConnection(srv.h), OK);
    close(fd[0]);
    close(fd[1]);
}

TEST(rtp_datagrams_left_to_the_application)
{
    env_up(4);
    rtp_beside_dtls(_metadata, 1);
    rtp_beside_dtls(_metadata, 0);
    env_down();
}

/* A peer that never answers: the client sends its ClientHello again each
 * time the timer runs out (100, 200, 400, 800 ms) and the handshake ends at
 * its time limit with ERR_SSL_HANDSHAKE_TIMEOUT. The blocking driver used
 * to wait for a datagram with no time limit once the timer had fired. */
TEST(silent_peer_retransmits_then_times_out)
{
    int fd[2];
    env_up(4);
    SSL_sslSettings()->sslTimeOutHello = 1600;
    ASSERT_EQ(make_udp_pair(fd), 0);
    sbyte4 h = SSL_connect(fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h, 0);
    ASSERT_EQ(SSL_ioctl(h, DTLS_SET_HANDSHAKE_RETRANSMISSION_TIMER, (void *)(uintptr_t)100), OK);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ASSERT_EQ(SSL_negotiateConnection(h), ERR_SSL_HANDSHAKE_TIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ASSERT_GE(ms, 1500);
    ASSERT_LT(ms, 3000);
    int hellos = 0;
    ubyte dg[2048];
    ssize_t n;
    while ((n = recv(fd[1], dg, sizeof dg, MSG_DONTWAIT)) > 0) {
        ASSERT_EQ(dg[0], 22);   /* a handshake record: the ClientHello each time */
        hellos++;
    }
    ASSERT_GE(hellos, 4);   /* at 0, 100, 300, 700 and 1500 ms, the last one racing the limit */
    ASSERT_LE(hellos, 5);
    ASSERT_EQ(SSL_closeConnection(h), OK);
    close(fd[0]);
    close(fd[1]);
    env_down();
}

TEST(settings_checked)
{
    int fd[2];
    env_up(4);
    ASSERT_EQ(make_udp_pair(fd), 0);
    sbyte4 h = SSL_connect(fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h, 0);
    ASSERT_EQ(SSL_ioctl(h, DTLS_SET_PMTU, (void *)(uintptr_t)32), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_ioctl(h, DTLS_SET_PMTU, (void *)(uintptr_t)576), OK);
    ASSERT_EQ(SSL_ioctl(h, DTLS_SET_HANDSHAKE_RETRANSMISSION_TIMER, (void *)(uintptr_t)0), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_ioctl(h, DTLS_SET_HANDSHAKE_RETRANSMISSION_TIMER, (void *)(uintptr_t)500), OK);
    ASSERT_EQ(SSL_ioctl(h, DTLS_SET_HELLO_VERIFIED, (void *)(uintptr_t)1), ERR_SSL_BAD_STATE);   /* a client */
    ASSERT_EQ(SSL_ioctl(h, SSL_SET_VERSION, (void *)(uintptr_t)DTLS12_MINORVERSION), OK);
    ASSERT_EQ(SSL_ioctl(h, SSL_SET_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION), ERR_SSL_UNSUPPORTED_VERSION);
    ubyte2 null_profile = SRTP_NULL_HMAC_SHA1_80;
    ASSERT_EQ(SSL_enableSrtpProfiles(h, &null_profile, 1), ERR_NOT_SUPPORTED);
    ubyte4 ms = 1;
    ASSERT_EQ(SSL_DTLS_getTimeout(h, &ms), OK);
    ASSERT_EQ(ms, 0u);   /* nothing sent yet: no timer */
    ASSERT_EQ(DTLS_isTimerExpired(h), FALSE);
    ASSERT_EQ(SSL_closeConnection(h), OK);
    /* The asynchronous calls on a UDP socket make DTLS connections too
     * (test_async_dtls*.c run them), never TLS over datagrams. */
    sbyte4 a[2] = { SSL_ASYNC_connect(fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli),
                    SSL_ASYNC_acceptConnection(fd[1], env.srv) };
    for (int i = 0; i < 2; i++) {
        ASSERT_GT(a[i], 0);
        ASSERT_EQ(SSL_isSessionDTLS(a[i]), TRUE);
        ASSERT_EQ(SSL_ASYNC_closeConnection(a[i]), OK);
    }
    close(fd[0]);
    close(fd[1]);
    env_down();
}

int main(int argc, char **argv) { return api_env_main(argc, argv); }
