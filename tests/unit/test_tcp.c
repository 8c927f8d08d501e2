/* test_tcp.c — the SDK's TCP layer (common/mtcp.h, api/tcp.c) as glue code calls
 * it, through the TCP_* macros: listen, accept (with its break flag and its
 * timeout), connect over IPv4 and IPv6 (with a timeout), the peer's name, reads
 * that wait, time out or see the end, writes of everything, and the ERR_TCP_*
 * code of each failure. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include "harness.h"
#include "common/mocana.h"
#include "common/mtcp.h"

static const char *errname(MSTATUS st) { return (const char *)MERROR_lookUpErrorCode(st); }

#define ST_EQ(a, b) ASSERT_EQ(a, b) TH_LOG("%s is %s, want %s", #a, errname(a), errname(b))

static ubyte2 local_port(TCP_SOCKET s)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(s, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

/* Whether this host can talk IPv6 on loopback at all. */
static int have_ipv6_loopback(void)
{
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    int s = socket(AF_INET6, SOCK_STREAM, 0), ok = s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0;
    if (s >= 0)
        close(s);
    return ok;
}

/* A connected pair through TCP_LISTEN_SOCKET / TCP_CONNECT / TCP_ACCEPT_SOCKET. */
struct conn {
    TCP_SOCKET l, c, s;
    ubyte2 port;
};

static MSTATUS connect_pair(struct conn *k, const char *ip)
{
    MSTATUS st;
    intBoolean brk = FALSE;
    k->l = k->c = k->s = -1;
    if ((st = TCP_LISTEN_SOCKET(&k->l, 0)) != OK)
        return st;
    k->port = local_port(k->l);
    /* The connection completes in the listener's backlog before accept. */
    if ((st = TCP_CONNECT(&k->c, (sbyte *)ip, k->port)) != OK)
        return st;
    return TCP_ACCEPT_SOCKET(&k->s, k->l, &brk);
}

static void close_pair(struct conn *k)
{
    TCP_SOCKET *all[] = { &k->c, &k->s, &k->l };
    for (size_t i = 0; i < 3; i++)
        if (*all[i] >= 0)
            TCP_CLOSE_SOCKET(*all[i]);
}

FIXTURE(tcp) {
    struct conn k;
};
FIXTURE_VARIANT(tcp) {
    const char *ip;
    ubyte2 family;
};
FIXTURE_VARIANT_ADD(tcp, ipv4) { .ip = "127.0.0.1", .family = AF_INET };
FIXTURE_VARIANT_ADD(tcp, ipv6) { .ip = "::1", .family = AF_INET6 };

FIXTURE_SETUP(tcp)
{
    ASSERT_EQ(TCP_INIT(), OK);
    if (variant->family == AF_INET6 && !have_ipv6_loopback())
        SKIP(return, "no IPv6 loopback on this host");
    MSTATUS st = connect_pair(&self->k, variant->ip);
    ST_EQ(st, OK);
}

FIXTURE_TEARDOWN(tcp)
{
    close_pair(&self->k);
    ASSERT_EQ(TCP_SHUTDOWN(), OK);
}

/* Each side names the other: family, address and port as the socket has them. */
TEST_F(tcp, peer_names)
{
    MOC_IP_ADDRESS_S a;
    ubyte2 port = 0;
    ASSERT_EQ(TCP_getPeerName(self->k.c, &port, &a), OK);
    EXPECT_EQ(port, self->k.port);
    ASSERT_EQ(a.family, variant->family);
    if (variant->family == AF_INET) {
        EXPECT_EQ(a.uin.addr, 0x7f000001u);   /* host byte order */
    } else {
        EXPECT_MEM_EQ(a.uin.addr6, in6addr_loopback.s6_addr, 16);
        EXPECT_EQ(a.uin.addr6[4], 0u);
    }
    /* The server sees the client's ephemeral port; an IPv4 client of the
     * dual-stack listener is reported as IPv4. */
    ASSERT_EQ(TCP_getPeerName(self->k.s, &port, &a), OK);
    EXPECT_EQ(port, local_port(self->k.c));
    EXPECT_EQ(a.family, variant->family);
    if (variant->family == AF_INET)
        EXPECT_EQ(a.uin.addr, 0x7f000001u);
    /* Not connected: the listener has no peer. */
    ASSERT_EQ(TCP_getPeerName(self->k.l, &port, &a), ERR_TCP_GETSOCKNAME);
    ASSERT_EQ(TCP_getPeerName(self->k.c, NULL, &a), ERR_NULL_POINTER);
}

/* Reads: what is there, a timeout when nothing comes, exactly n with READ_ALL,
 * and the end of the stream with what had arrived before it. */
TEST_F(tcp, reads)
{
    sbyte buf[64];
    ubyte4 n = 99, w = 0;
    MSTATUS st = TCP_READ_AVL(self->k.s, buf, sizeof buf, &n, 50);
    ST_EQ(st, ERR_TCP_READ_TIMEOUT);
    ASSERT_EQ(n, 0u);

    ASSERT_EQ(TCP_WRITE(self->k.c, (sbyte *)"hello", 5, &w), OK);
    ASSERT_EQ(w, 5u);
    st = TCP_READ_AVL(self->k.s, buf, sizeof buf, &n, TCP_NO_TIMEOUT);
    ST_EQ(st, OK);
    ASSERT_EQ(n, 5u);
    ASSERT_MEM_EQ(buf, "hello", 5);

    /* READ_ALL gathers pieces until it has all it asked for... */
    ASSERT_EQ(TCP_WRITE(self->k.c, (sbyte *)"abc", 3, &w), OK);
    ASSERT_EQ(TCP_WRITE(self->k.c, (sbyte *)"defgh", 5, &w), OK);
    st = TCP_READ_ALL(self->k.s, buf, 8, &n, 5000);
    ST_EQ(st, OK);
    ASSERT_EQ(n, 8u);
    ASSERT_MEM_EQ(buf, "abcdefgh", 8);
    /* ...or says how much came before its time ran out... */
    ASSERT_EQ(TCP_WRITE(self->k.c, (sbyte *)"xy", 2, &w), OK);
    st = TCP_READ_ALL(self->k.s, buf, 8, &n, 100);
    ST_EQ(st, ERR_TCP_READ_TIMEOUT);
    ASSERT_EQ(n, 2u);
    ASSERT_MEM_EQ(buf, "xy", 2);
    /* ...or before the stream ended. */
    ASSERT_EQ(TCP_WRITE(self->k.c, (sbyte *)"z", 1, &w), OK);
    ASSERT_EQ(shutdown(self->k.c, SHUT_WR), 0);
    st = TCP_READ_ALL(self->k.s, buf, 8, &n, 5000);
    ST_EQ(st, ERR_TCP_SOCKET_CLOSED);
    ASSERT_EQ(n, 1u);
    st = TCP_READ_AVL(self->k.s, buf, sizeof buf, &n, TCP_NO_TIMEOUT);
    ST_EQ(st, ERR_TCP_SOCKET_CLOSED);
    ASSERT_EQ(TCP_READ_AVL(self->k.s, NULL, 1, &n, 0), ERR_NULL_POINTER);
    ASSERT_EQ(TCP_READ_ALL(self->k.s, buf, 1, NULL, 0), ERR_NULL_POINTER);
}

struct drain {
    TCP_SOCKET s;
    size_t want;
    ubyte *got;
    size_t n;
};

static void *drain_main(void *p)
{
    struct drain *d = p;
    while (d->n < d->want) {
        ubyte4 k = 0;
        if (TCP_READ_AVL(d->s, (sbyte *)d->got + d->n, (ubyte4)(d->want - d->n), &k, 10000) != OK)
            break;
        d->n += k;
    }
    return NULL;
}

/* WRITE_ALL hands over every byte, however many sends the kernel needs for it;
 * on a non-blocking socket it waits for room instead of failing. */
TEST_F(tcp, write_all)
{
    enum { N = 8 << 20 };
    ubyte *out = malloc(N);
    struct drain d = { .s = self->k.s, .want = N, .got = malloc(N) };
    pthread_t th;
    ubyte4 w = 0;
    ASSERT_NOT_NULL(out);
    ASSERT_NOT_NULL(d.got);
    for (size_t i = 0; i < N; i++)
        out[i] = (ubyte)(i * 31 + (i >> 11));
    ASSERT_EQ(fcntl(self->k.c, F_SETFL, fcntl(self->k.c, F_GETFL) | O_NONBLOCK), 0);
    ASSERT_EQ(pthread_create(&th, NULL, drain_main, &d), 0);
    MSTATUS st = TCP_WRITE_ALL(self->k.c, (sbyte *)out, N, &w);
    ASSERT_EQ(pthread_join(th, NULL), 0);
    ST_EQ(st, OK);
    ASSERT_EQ(w, (ubyte4)N);
    ASSERT_EQ(d.n, (size_t)N);
    ASSERT_MEM_EQ(d.got, out, N);
    /* Nothing to read on a non-blocking socket: would block, not an error. */
    ubyte4 n;
    sbyte b[4];
    st = TCP_READ_AVL(self->k.c, b, sizeof b, &n, TCP_NO_TIMEOUT);
    ST_EQ(st, ERR_TCP_WOULDBLOCK);
    free(out);
    free(d.got);
}

/* A peer that went away: the write fails with ERR_TCP_WRITE_ERROR, and the
 * process is not killed by SIGPIPE. */
TEST_F(tcp, write_to_closed_peer)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    sbyte buf[4096] = { 0 };
    ubyte4 w = 0;
    MSTATUS st = OK;
    ASSERT_EQ(setsockopt(self->k.s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    ASSERT_EQ(TCP_CLOSE_SOCKET(self->k.s), OK);   /* a reset */
    self->k.s = -1;
    for (int i = 0; i < 100 && st == OK; i++) {
        st = TCP_WRITE(self->k.c, buf, sizeof buf, &w);
        if (st == OK)
            usleep(1000);
    }
    ST_EQ(st, ERR_TCP_WRITE_ERROR);
    st = TCP_WRITE_ALL(self->k.c, buf, sizeof buf, &w);
    ST_EQ(st, ERR_TCP_WRITE_ERROR);
}

/* ---- failures before there is a connection ---- */

TEST(connect_errors)
{
    TCP_SOCKET s = 7, l = -1;
    MSTATUS st = TCP_CONNECT(&s, (sbyte *)"not-an-address", 443);
    ST_EQ(st, ERR_TCP_BAD_ADDRESS);
    ASSERT_EQ(s, 7);   /* untouched on failure */
    /* Names are not looked up: the SDK's layer takes numeric addresses only. */
    st = TCP_CONNECT(&s, (sbyte *)"localhost", 443);
    ST_EQ(st, ERR_TCP_BAD_ADDRESS);
    ASSERT_EQ(TCP_CONNECT(NULL, (sbyte *)"127.0.0.1", 443), ERR_NULL_POINTER);
    ASSERT_EQ(TCP_CONNECT(&s, NULL, 443), ERR_NULL_POINTER);

    /* Refused: a port that was just listening and is not any more. */
    ASSERT_EQ(TCP_LISTEN_SOCKET(&l, 0), OK);
    ubyte2 port = local_port(l);
    ASSERT_EQ(TCP_CLOSE_SOCKET(l), OK);
    st = TCP_CONNECT(&s, (sbyte *)"127.0.0.1", port);
    ST_EQ(st, ERR_TCP_CONNECT_ERROR);
    st = TCP_CONNECT_TIMEOUT(&s, (sbyte *)"127.0.0.1", port, 1000);
    ST_EQ(st, ERR_TCP_CONNECT_ERROR);
    ASSERT_EQ(TCP_CLOSE_SOCKET(-1), ERR_TCP_SOCKET_CLOSE_FAIL);
}

/* A listener whose backlog is full drops further SYNs: the connection can only
 * time out. */
TEST(connect_timeout)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    TCP_SOCKET c[4] = { -1, -1, -1, -1 };
    MSTATUS st = OK;
    ASSERT_GE(l, 0);
    ASSERT_EQ(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ASSERT_EQ(listen(l, 0), 0);
    ASSERT_EQ(getsockname(l, (struct sockaddr *)&a, &alen), 0);
    int i = 0;
    for (; i < 4 && (st = TCP_CONNECT_TIMEOUT(&c[i], (sbyte *)"127.0.0.1", ntohs(a.sin_port), 300)) == OK; i++)
        ;
    ST_EQ(st, ERR_TCP_CONNECT_INPROGRESS);
    EXPECT_GE(i, 1) TH_LOG("the first connection should have fitted the backlog");
    for (int j = 0; j < i; j++)
        TCP_CLOSE_SOCKET(c[j]);
    close(l);
}

TEST(listen_errors)
{
    TCP_SOCKET l = -1, l2 = -1;
    ASSERT_EQ(TCP_LISTEN_SOCKET(NULL, 0), ERR_NULL_POINTER);
    ASSERT_EQ(TCP_LISTEN_SOCKET(&l, 0), OK);
    MSTATUS st = TCP_LISTEN_SOCKET(&l2, local_port(l));
    ST_EQ(st, ERR_TCP_LISTEN_BIND_ERROR);
    ASSERT_EQ(l2, -1);
    TCP_CLOSE_SOCKET(l);
}

struct breaker {
    intBoolean *flag;
};

static void *break_main(void *p)
{
    struct breaker *b = p;
    usleep(100 * 1000);
    __atomic_store_n(b->flag, TRUE, __ATOMIC_RELAXED);
    return NULL;
}

/* Accept returns without a socket once another thread raises the break flag,
 * and after its timeout with the SDK's code for it. */
TEST(accept_break_and_timeout)
{
    TCP_SOCKET l = -1, c = 5;
    intBoolean brk = FALSE;
    struct breaker b = { &brk };
    pthread_t th;
    ASSERT_EQ(TCP_LISTEN_SOCKET(&l, 0), OK);
    ASSERT_EQ(pthread_create(&th, NULL, break_main, &b), 0);
    MSTATUS st = TCP_ACCEPT_SOCKET(&c, l, &brk);
    ASSERT_EQ(pthread_join(th, NULL), 0);
    ST_EQ(st, OK);
    ASSERT_EQ(c, -1);
    ASSERT_TRUE(brk);
    st = TCP_ACCEPT_SOCKET_TIMEOUT(&c, l, 1);
    ST_EQ(st, ERR_TCP_ACCEPT_ERROR);
    ASSERT_EQ(c, -1);
    ASSERT_EQ(TCP_ACCEPT_SOCKET(NULL, l, &brk), ERR_NULL_POINTER);
    /* Not a listener at all. */
    st = TCP_ACCEPT_SOCKET_TIMEOUT(&c, -1, 1);
    ST_EQ(st, ERR_TCP_ACCEPT_ERROR);
    TCP_CLOSE_SOCKET(l);
}

TEST_HARNESS_MAIN
