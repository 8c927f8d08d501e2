/* test_dtls_srtp_encode.c — SSL_setSrtpEncodeCallback (engine/dtls_srtp.c,
 * drive/dtls_blocking.c): on a DTLS-SRTP connection SSL_send hands the data
 * to the callback, which SRTP-protects it with the keys the init callback
 * got, and the packet goes out as one datagram of its own: the peer's
 * socket holds exactly that packet, which nktls's SRTP unprotect opens with
 * the peer's keys, and SSL_recv leaves it there (RFC 7983); the callback's
 * error is SSL_send's and nothing is sent, OK without a packet is
 * ERR_SSL_SRTP_ENCODE_EMPTY, and the connection goes on working; without
 * SRTP agreed the callback is not called and the data goes in a DTLS
 * record. The packets the callback allocates are freed by nktls (the asan
 * and valgrind suites see a leak otherwise). */
#include "dtls_env.h"
#include "srtp.h"

#define PROFILE SRTP_AES128_CM_HMAC_SHA1_80
#define TAG_ROOM 32   /* what a protected packet may grow by here: the tag, no MKI */

/* Each side's keying material, from the init callback. */
static struct {
    sbyte4 h;
    ubyte km[92];
    ubyte4 km_len;
} keys[2];

static sbyte4 on_srtp_init(sbyte4 h, peerDescr *peer, const SrtpProfileInfo *info, void *km, ubyte *mki)
{
    int i = keys[0].h == h ? 0 : 1;
    keys[i].km_len = 2u * (ubyte4)(info->keySize + info->saltSize);
    memcpy(keys[i].km, km, keys[i].km_len);
    return OK;
}

/* The client's outbound SRTP session, and what the callback is to do. */
static nktlsSrtpSession *tx;
static int enc_calls;
static MSTATUS enc_fail;   /* returned (having allocated a packet) when set */
static int enc_empty;      /* OK with no packet */

static peerDescr enc_peer;   /* what the last call was told */

static sbyte4 on_srtp_encode(sbyte4 h, peerDescr *peer, const sbyte *data, ubyte4 len, ubyte **out, ubyte4 *out_len)
{
    enc_calls++;
    enc_peer = *peer;
    *out = malloc(len + TAG_ROOM);
    if (!*out)
        return ERR_MEM_ALLOC_FAIL;
    if (enc_fail)
        return enc_fail;   /* nktls frees *out all the same */
    if (enc_empty) {
        free(*out);
        *out = NULL;
        return OK;
    }
    memcpy(*out, data, len);
    *out_len = len;
    return NKTLS_srtpProtect(tx, *out, out_len, len + TAG_ROOM);
}

/* An RTP packet (RFC 3550 §5.1): version 2, PT 96, sequence number seq. */
static size_t rtp_packet(ubyte *p, uint16_t seq)
{
    static const ubyte head[12] = { 0x80, 0x60, 0, 0, 0, 0, 0x30, 0x39, 0x12, 0x34, 0x56, 0x78 };
    memcpy(p, head, sizeof head);
    p[2] = (ubyte)(seq >> 8);
    p[3] = (ubyte)seq;
    for (int i = 12; i < 52; i++)
        p[i] = (ubyte)(i * 3 + seq);
    return 52;
}

struct conn2 {
    int fd[2];
    sbyte4 cli, srv;
};

static void open_pair(struct th_meta *_metadata, struct conn2 *p, int srtp)
{
    udp_pair(p->fd);
    p->srv = SSL_acceptConnection(p->fd[1], env.srv);
    p->cli = SSL_connect(p->fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(p->srv, 0);
    ASSERT_GT(p->cli, 0);
    memset(keys, 0, sizeof keys);
    keys[0].h = p->cli;
    keys[1].h = p->srv;
    if (srtp) {
        ubyte2 prof = PROFILE;
        ASSERT_EQ(SSL_enableSrtpProfiles(p->cli, &prof, 1), OK);
        ASSERT_EQ(SSL_enableSrtpProfiles(p->srv, &prof, 1), OK);
    }
    MSTATUS cst, sst;
    dtls_negotiate_both(p->cli, p->srv, &cst, &sst);
    ASSERT_EQ(cst, OK);
    ASSERT_EQ(sst, OK);
}

static void close_pair(struct conn2 *p)
{
    SSL_closeConnection(p->cli);
    SSL_closeConnection(p->srv);
    close(p->fd[0]);
    close(p->fd[1]);
}

/* One side's SRTP session from its keying material (i 0: the client). */
static nktlsSrtpSession *srtp_session(struct th_meta *_metadata, int i, int outbound)
{
    nktlsSrtpMasterKey out, in;
    nktlsSrtpSession *s = NULL;
    ASSERT_EQ(NKTLS_srtpSplitKeyingMaterial(PROFILE, keys[i].km, keys[i].km_len, i == 0, &out, &in), OK);
    nktlsSrtpMasterKey *k = outbound ? &out : &in;
    ASSERT_EQ(NKTLS_srtpCreate(PROFILE, outbound ? NKTLS_SRTP_OUTBOUND : NKTLS_SRTP_INBOUND, k->key, k->keyLen,
                               k->salt, k->saltLen, NULL, 0, &s),
              OK);
    return s;
}

/* Nothing waits on fd. */
static int socket_empty(int fd)
{
    ubyte b[8];
    return recv(fd, b, sizeof b, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

/* A DTLS-SRTP pair with both callbacks set; then all of it undone. */
static void srtp_pair_up(struct th_meta *_metadata, struct conn2 *p)
{
    env_up(4);
    ASSERT_EQ(SSL_setSrtpInitCallback(on_srtp_init), OK);
    ASSERT_EQ(SSL_setSrtpEncodeCallback(on_srtp_encode), OK);
    open_pair(_metadata, p, 1);
}

static void srtp_pair_down(struct conn2 *p)
{
    close_pair(p);
    (void)SSL_setSrtpEncodeCallback(NULL);
    (void)SSL_setSrtpInitCallback(NULL);
    env_down();
}

TEST(srtp_send_goes_through_the_callback)
{
    struct conn2 p;
    srtp_pair_up(_metadata, &p);
    ASSERT_EQ(keys[0].km_len, 60u);
    tx = srtp_session(_metadata, 0, 1);
    nktlsSrtpSession *rx = srtp_session(_metadata, 1, 0);
    enc_calls = 0;
    ubyte rtp[64], got[128];
    for (uint16_t seq = 1; seq <= 3; seq++) {
        size_t n = rtp_packet(rtp, seq);
        ASSERT_EQ(SSL_send(p.cli, (sbyte *)rtp, (sbyte4)n), (sbyte4)n);
        /* The peer's socket holds the SRTP packet alone: the RTP header in
         * the clear, then the payload and a 10-byte tag (RFC 3711 §3.1). */
        ssize_t k = recv(p.fd[1], got, sizeof got, MSG_DONTWAIT);
        ASSERT_EQ(k, (ssize_t)n + 10);
        ASSERT_MEM_EQ(got, rtp, 12);
        ASSERT_NE(memcmp(got + 12, rtp + 12, n - 12), 0);
        ubyte4 len = (ubyte4)k;
        ASSERT_EQ(NKTLS_srtpUnprotect(rx, got, &len), OK);
        ASSERT_EQ(len, (ubyte4)n);
        ASSERT_MEM_EQ(got, rtp, n);
    }
    ASSERT_EQ(enc_calls, 3);
    /* The peer descriptor: the client's socket's peer (the server's
     * address) and the client's own, as the SDK reports them. */
    struct sockaddr_in a[2];
    for (int i = 0; i < 2; i++) {
        socklen_t l = sizeof a[i];
        ASSERT_EQ(getsockname(p.fd[i], (struct sockaddr *)&a[i], &l), 0);
    }
    ASSERT_EQ(enc_peer.peerAddr.family, AF_INET);
    ASSERT_EQ(enc_peer.peerAddr.uin.addr, 0x7f000001u);
    ASSERT_EQ(enc_peer.peerPort, ntohs(a[1].sin_port));
    ASSERT_EQ(enc_peer.srcAddr.uin.addr, 0x7f000001u);
    ASSERT_EQ(enc_peer.srcPort, ntohs(a[0].sin_port));
    MOC_IP_ADDRESS_S pa;
    ubyte2 pport = 0;
    ASSERT_EQ(NKTLS_getPeerAddress(p.cli, &pport, &pa), OK);
    ASSERT_EQ(pport, ntohs(a[1].sin_port));
    ASSERT_EQ(pa.uin.addr, 0x7f000001u);
    /* An SRTP packet is left in the socket by SSL_recv (ERR_TCP_WOULDBLOCK). */
    size_t n = rtp_packet(rtp, 4);
    ASSERT_EQ(SSL_send(p.cli, (sbyte *)rtp, (sbyte4)n), (sbyte4)n);
    sbyte buf[128];
    sbyte4 nrecv = -1;
    ASSERT_EQ(SSL_recv(p.srv, buf, sizeof buf, &nrecv, 2000), ERR_TCP_WOULDBLOCK);
    ASSERT_EQ(recv(p.fd[1], got, sizeof got, MSG_DONTWAIT), (ssize_t)n + 10);
    NKTLS_srtpFree(&tx);
    NKTLS_srtpFree(&rx);
    srtp_pair_down(&p);
}

TEST(callback_errors_are_send_errors)
{
    struct conn2 p;
    srtp_pair_up(_metadata, &p);
    tx = srtp_session(_metadata, 0, 1);
    ubyte rtp[64];
    size_t n = rtp_packet(rtp, 1);
    enc_fail = ERR_SRTP_MALFORMED;
    ASSERT_EQ(SSL_send(p.cli, (sbyte *)rtp, (sbyte4)n), ERR_SRTP_MALFORMED);
    enc_fail = OK;
    enc_empty = 1;
    ASSERT_EQ(SSL_send(p.cli, (sbyte *)rtp, (sbyte4)n), ERR_SSL_SRTP_ENCODE_EMPTY);
    enc_empty = 0;
    usleep(50 * 1000);
    ASSERT_TRUE(socket_empty(p.fd[1]));   /* nothing went out */
    /* The connection is whole: the next packet goes. */
    ASSERT_EQ(SSL_send(p.cli, (sbyte *)rtp, (sbyte4)n), (sbyte4)n);
    ubyte got[128];
    ASSERT_EQ(recv(p.fd[1], got, sizeof got, 0), (ssize_t)n + 10);
    NKTLS_srtpFree(&tx);
    srtp_pair_down(&p);
}

/* Without use_srtp agreed the callback is not called: the data goes in a
 * DTLS record (content type 23, DTLS 1.2) and SSL_recv delivers it. Nor
 * is it called with SRTP agreed once it is set to NULL again. */
static void data_in_records(struct th_meta *_metadata, int srtp)
{
    struct conn2 p;
    open_pair(_metadata, &p, srtp);
    static const char msg[] = "application data in a DTLS record";
    enc_calls = 0;
    ASSERT_EQ(SSL_send(p.cli, (sbyte *)msg, sizeof msg), (sbyte4)sizeof msg);
    ASSERT_EQ(enc_calls, 0);
    ubyte raw[256];
    ssize_t k = recv(p.fd[1], raw, sizeof raw, MSG_PEEK);
    ASSERT_GT(k, 13);
    ASSERT_EQ(raw[0], 23);
    ASSERT_EQ(raw[1], 0xfe);
    ASSERT_EQ(raw[2], 0xfd);
    sbyte buf[128];
    sbyte4 got = 0;
    ASSERT_EQ(SSL_recv(p.srv, buf, sizeof buf, &got, 2000), OK);
    ASSERT_EQ(got, (sbyte4)sizeof msg);
    ASSERT_MEM_EQ(buf, msg, sizeof msg);
    close_pair(&p);
}

TEST(without_srtp_or_callback_data_goes_in_records)
{
    env_up(4);
    ASSERT_EQ(SSL_setSrtpEncodeCallback(on_srtp_encode), OK);
    data_in_records(_metadata, 0);
    ASSERT_EQ(SSL_setSrtpEncodeCallback(NULL), OK);
    data_in_records(_metadata, 1);
    env_down();
}

int main(int argc, char **argv) { return api_env_main(argc, argv); }
