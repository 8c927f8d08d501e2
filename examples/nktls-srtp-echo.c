/* examples/nktls-srtp-echo.c — DTLS-SRTP on one UDP socket, as a media
 * program does it (RFC 5764):
 *
 *   nktls-srtp-echo --listen ADDR:PORT --cert FILE --key FILE [--srtp P[,P]]
 *   nktls-srtp-echo --connect ADDR:PORT --ca FILE [--servername NAME]
 *                   [--srtp P[,P]] [--count N] [--size BYTES]
 *
 * 1. A DTLS 1.2 handshake with use_srtp over the socket (SSL_connect or
 *    SSL_acceptConnection given a UDP socket makes a DTLS connection).
 * 2. The SRTP init callback hands over the profile and the keying material;
 *    NKTLS_srtpSplitKeyingMaterial splits it into the key we send with and
 *    the key the peer sends with, one NKTLS_srtp session each.
 * 3. The client sends N RTP packets, SRTP-protected; the server unprotects
 *    each and sends it back protected under its own key; the client
 *    unprotects the echo and checks it is the packet it sent.
 * 4. Both sides read the socket through one demultiplexer (RFC 7983 §7) on
 *    the first byte of each datagram: 20..63 is DTLS and goes to SSL_recv
 *    (a retransmitted flight, a message, the peer's close_notify),
 *    128..191 is RTP/RTCP and goes to SRTP, anything else is dropped.
 *
 * --keymatexport LABEL prints the exported keying material (for comparing
 * with a peer), as nktls-client --dtls does.
 *
 * Halfway through, the client also sends one DTLS application-data message,
 * which the server prints: DTLS and SRTP interleave on the socket. The
 * client's close_notify ends the server. Exit status: 0 when every packet
 * came back intact (client) or the peer closed cleanly (server). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "dtls.h"
#include "srtp.h"

#define RTP_HDR   12
#define PKT_MAX   1500
#define WAIT_MS   2000   /* for an echo; an RTP packet lost is not sent again */
#define MID_MSG   "a DTLS message between RTP packets"

/* What the SRTP init callback gives us, once the handshake is over. */
static ubyte2 g_profile;
static ubyte g_km[2 * (NKTLS_SRTP_MAX_KEY + NKTLS_SRTP_MAX_SALT)];
static ubyte4 g_km_len;

static sbyte4 on_srtp_keys(sbyte4 conn, peerDescr *peer, const SrtpProfileInfo *info, void *km, ubyte *mki)
{
    (void)conn;
    (void)peer;
    (void)mki;
    g_profile = info->profileId;
    g_km_len = 2u * (ubyte4)(info->keySize + info->saltSize);
    if (g_km_len > sizeof g_km)
        return ERR_INVALID_ARG;
    memcpy(g_km, km, g_km_len);
    return OK;
}

/* Our two SRTP sessions: tx protects what we send, rx unprotects the peer's. */
struct media {
    nktlsSrtpSession *tx, *rx;
};

static void media_open(struct media *m, int is_client)
{
    nktlsSrtpMasterKey out, in;
    if (!g_profile)
        ex_fail("the peer agreed no SRTP profile");
    MSTATUS st = NKTLS_srtpSplitKeyingMaterial(g_profile, g_km, g_km_len, is_client, &out, &in);
    if (st == OK)
        st = NKTLS_srtpCreate(g_profile, NKTLS_SRTP_OUTBOUND, out.key, out.keyLen, out.salt, out.saltLen, NULL, 0, &m->tx);
    if (st == OK)
        st = NKTLS_srtpCreate(g_profile, NKTLS_SRTP_INBOUND, in.key, in.keyLen, in.salt, in.saltLen, NULL, 0, &m->rx);
    memset(&out, 0, sizeof out);   /* the sessions hold what they need */
    memset(&in, 0, sizeof in);
    memset(g_km, 0, sizeof g_km);
    if (st != OK)
        ex_fail("SRTP sessions: %s", ex_status_text(st));
}

/* Protect len bytes of RTP at pkt in place and send them. */
static void send_srtp(int fd, struct media *m, ubyte *pkt, ubyte4 len)
{
    MSTATUS st = NKTLS_srtpProtect(m->tx, pkt, &len, PKT_MAX);
    if (st != OK)
        ex_fail("NKTLS_srtpProtect: %s", ex_status_text(st));
    if (send(fd, pkt, len, 0) != (ssize_t)len)
        ex_fail("send: %s", strerror(errno));
}

/* GOT_NOTHING: the wait ran out; GOT_OTHER: a datagram was handled (DTLS)
 * or dropped, the caller may wait on. */
enum got { GOT_NOTHING, GOT_OTHER, GOT_RTP, GOT_CLOSED };

/* Wait up to wait_ms for one datagram and route it by its first byte
 * (RFC 7983 §7). GOT_RTP: pkt holds an unprotected RTP packet of *len
 * bytes. DTLS goes to SSL_recv, which reads the DTLS datagrams waiting and
 * stops at the first that is not DTLS (ERR_TCP_WOULDBLOCK), so no RTP
 * packet is lost to it. */
static enum got next_packet(int fd, sbyte4 conn, struct media *m, ubyte *pkt, ubyte4 *len, int wait_ms)
{
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    if (poll(&pf, 1, wait_ms) <= 0)
        return GOT_NOTHING;
    ubyte first;
    if (recv(fd, &first, 1, MSG_PEEK) != 1)
        return GOT_OTHER;   /* ICMP: the peer is not there (yet) */
    if (first >= 20 && first <= 63) {
        sbyte msg[256];
        sbyte4 n = 0;
        MSTATUS st = SSL_recv(conn, msg, sizeof msg - 1, &n, 1);
        if (st == ERR_SSL_CONNECTION_CLOSED)
            return GOT_CLOSED;
        if (st != OK && st != ERR_TCP_WOULDBLOCK && st != ERR_TCP_READ_TIMEOUT)
            ex_fail("SSL_recv: %s", ex_status_text(st));
        if (st == OK && n > 0) {
            msg[n] = 0;
            printf("DTLS message: %s\n", (char *)msg);
        }
        return GOT_OTHER;
    }
    ssize_t r = recv(fd, pkt, PKT_MAX, 0);
    if (r <= 0 || first < 128 || first > 191)
        return GOT_OTHER;   /* STUN, TURN channels, ZRTP...: not ours here */
    *len = (ubyte4)r;
    MSTATUS st = NKTLS_srtpUnprotect(m->rx, pkt, len);
    if (st != OK) {
        fprintf(stderr, "%s: SRTP packet dropped: %s\n", ex_prog, ex_status_name(st));
        return GOT_OTHER;
    }
    return GOT_RTP;
}

/* Server: echo every RTP packet until the client's close_notify. */
static int serve(int fd, sbyte4 conn, struct media *m)
{
    ubyte pkt[PKT_MAX];
    ubyte4 len;
    unsigned echoed = 0;
    for (;;) {
        enum got g = next_packet(fd, conn, m, pkt, &len, -1);
        if (g == GOT_CLOSED)
            break;
        if (g == GOT_RTP) {
            send_srtp(fd, m, pkt, len);
            echoed++;
        }
    }
    printf("echoed %u RTP packets\n", echoed);
    return 0;
}

/* An RTP packet (RFC 3550 §5.1): version 2, payload type 96, sequence
 * number and timestamp from i, a fixed SSRC, and a payload made from i. */
static void make_rtp(ubyte *p, unsigned i, ubyte4 size)
{
    ubyte4 ts = i * 160u;
    p[0] = 0x80;
    p[1] = 96;
    p[2] = (ubyte)(i >> 8), p[3] = (ubyte)i;
    p[4] = (ubyte)(ts >> 24), p[5] = (ubyte)(ts >> 16), p[6] = (ubyte)(ts >> 8), p[7] = (ubyte)ts;
    p[8] = 0x5e, p[9] = 0xed, p[10] = 0x00, p[11] = 0x01;
    for (ubyte4 k = RTP_HDR; k < size; k++)
        p[k] = (ubyte)(i * 31u + k);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Client: one packet out, its echo back (within WAIT_MS), checked against
 * what we sent. An echo of an earlier packet arriving late is counted
 * apart; a changed one is wrong. */
static int run_client(int fd, sbyte4 conn, struct media *m, unsigned count, ubyte4 size)
{
    ubyte sent[PKT_MAX], pkt[PKT_MAX];
    ubyte4 len;
    unsigned ok = 0, late = 0, bad = 0;
    enum got g = GOT_NOTHING;
    for (unsigned i = 0; i < count && g != GOT_CLOSED; i++) {
        if (i == count / 2 && ex_ssl_send_all(conn, MID_MSG, sizeof MID_MSG - 1) != OK)
            ex_fail("SSL_send failed");
        make_rtp(sent, i, size);
        memcpy(pkt, sent, size);
        send_srtp(fd, m, pkt, size);
        long long until = now_ms() + WAIT_MS;
        for (;;) {
            long long left = until - now_ms();
            g = left > 0 ? next_packet(fd, conn, m, pkt, &len, (int)left) : GOT_NOTHING;
            if (g == GOT_NOTHING || g == GOT_CLOSED)
                break;   /* this echo was lost, or the server went away */
            if (g != GOT_RTP)
                continue;
            if (len == size && memcmp(pkt, sent, size) == 0) {
                ok++;
                break;
            }
            if ((pkt[2] << 8 | pkt[3]) != (int)(i & 0xffff))
                late++;
            else
                bad++;
        }
    }
    printf("sent %u RTP packets, %u echoed intact, %u wrong\n", count, ok, bad);
    if (late)
        printf("%u echoes came late\n", late);
    return ok == count && bad == 0 ? 0 : 1;
}

/* -h/--help: on stdout, exit 0; a wrong command line: on stderr, exit 2. */
static void usage(int rc)
{
    fprintf(rc ? stderr : stdout, "usage: %s --listen ADDR:PORT --cert FILE --key FILE [--srtp PROFILE[,PROFILE]]\n"
                    "       %s --connect ADDR:PORT --ca FILE [--servername NAME] [--srtp PROFILE[,PROFILE]]\n"
                    "                       [--count N] [--size BYTES]\n"
                    "       either: [--keymatexport LABEL [--keymatexportlen N]]\n",
            ex_prog, ex_prog);
    exit(rc);
}

int main(int argc, char **argv)
{
    enum { OPT_LISTEN = 256, OPT_CONNECT, OPT_CERT, OPT_KEY, OPT_CA, OPT_SNI, OPT_SRTP, OPT_COUNT, OPT_SIZE, OPT_KEYMAT, OPT_KEYMAT_LEN };
    static const struct option longs[] = {
        { "listen", required_argument, NULL, OPT_LISTEN }, { "connect", required_argument, NULL, OPT_CONNECT },
        { "cert", required_argument, NULL, OPT_CERT },     { "key", required_argument, NULL, OPT_KEY },
        { "ca", required_argument, NULL, OPT_CA },         { "servername", required_argument, NULL, OPT_SNI },
        { "srtp", required_argument, NULL, OPT_SRTP },     { "count", required_argument, NULL, OPT_COUNT },
        { "size", required_argument, NULL, OPT_SIZE },     { "keymatexport", required_argument, NULL, OPT_KEYMAT },
        { "keymatexportlen", required_argument, NULL, OPT_KEYMAT_LEN }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *listen_at = NULL, *connect_to = NULL, *cert = NULL, *key = NULL, *ca = NULL, *sni = "localhost";
    struct ex_dtls d = { .on = 1 };
    unsigned count = 100;
    ubyte4 size = 172;   /* 20 ms of G.711 after the header */
    int o;
    ex_prog = "nktls-srtp-echo";
    ex_dtls_parse_srtp(&d, "SRTP_AES128_CM_SHA1_80,SRTP_AEAD_AES_128_GCM");
    while ((o = ex_getopt(argc, argv, "h", longs)) != -1) {
        switch (o) {
        case OPT_LISTEN: listen_at = optarg; break;
        case OPT_CONNECT: connect_to = optarg; break;
        case OPT_CERT: cert = optarg; break;
        case OPT_KEY: key = optarg; break;
        case OPT_CA: ca = optarg; break;
        case OPT_SNI: sni = optarg; break;
        case OPT_SRTP: ex_dtls_parse_srtp(&d, optarg); break;
        case OPT_COUNT: count = strcmp(optarg, "0") == 0 ? 0 : (unsigned)ex_parse_count(optarg); break;
        case OPT_SIZE: size = (ubyte4)ex_parse_count(optarg); break;
        case OPT_KEYMAT: d.keymat_label = optarg; break;
        case OPT_KEYMAT_LEN: d.keymat_len = (ubyte2)ex_parse_count(optarg); break;
        case 'h': usage(0); break;
        default: usage(2);
        }
    }
    if (!listen_at == !connect_to || (listen_at && (!cert || !key)) || (connect_to && !ca))
        usage(2);
    if (size < RTP_HDR || size > PKT_MAX - 64)
        ex_usage_error("--size: %u is not %d..%d", (unsigned)size, RTP_HDR, PKT_MAX - 64);

    certStorePtr store = NULL;
    if (MOCANA_initMocana() < 0 || SSL_init(1, 1) < 0 || CERT_STORE_createStore(&store) < 0)
        ex_fail("cannot start nktls");
    int fd;
    sbyte4 conn;
    char peer[128] = "";
    if (listen_at) {
        ex_load_identity(store, cert, NULL, key);
        fd = ex_dtls_accept(listen_at, peer, sizeof peer);   /* waits for the first datagram */
        conn = SSL_acceptConnection(fd, store);
    } else {
        char *host, *port;
        ex_load_trust(store, ca);
        ex_split_hostport(connect_to, &host, &port);
        fd = ex_dtls_connect(host, port);
        conn = SSL_connect(fd, 0, NULL, NULL, (const sbyte *)sni, store);
        free(host);
        free(port);
    }
    if (conn < 0)
        ex_fail("cannot open the DTLS connection: %s", ex_status_text((MSTATUS)conn));
    MSTATUS st = SSL_setSrtpInitCallback(on_srtp_keys);
    if (st == OK)
        st = SSL_enableSrtpProfiles(conn, d.srtp, d.n_srtp);
    if (st == OK)
        st = SSL_negotiateConnection(conn);
    if (st != OK)
        ex_fail("DTLS handshake: %s%s", ex_status_text(st), ex_alert_suffix(conn, st));
    printf("SRTP profile: 0x%04x\n", (unsigned)g_profile);
    fflush(stdout);
    ex_dtls_report(conn, &d);   /* --keymatexport: "Keying material: HEX" on stderr */

    struct media m = { NULL, NULL };
    media_open(&m, connect_to != NULL);
    int rc = listen_at ? serve(fd, conn, &m) : run_client(fd, conn, &m, count, size);
    SSL_closeConnection(conn);   /* the client's close_notify ends the server */
    NKTLS_srtpFree(&m.tx);
    NKTLS_srtpFree(&m.rx);
    close(fd);
    CERT_STORE_releaseStore(&store);
    SSL_shutdownStack();
    SSL_releaseTables();
    MOCANA_freeMocana();
    return rc;
}
