/* test_dtls_loss.c — DTLS 1.2 through the public API over real UDP on the
 * loopback, with a seeded proxy thread between client and server that
 * drops, reorders and duplicates datagrams in both directions at 0, 10, 20
 * and 30%: every handshake completes with the exporter equal both sides;
 * application records (which DTLS does not send again) arrive intact and at
 * most once each, the proxy's duplicates and delayed copies refused by the
 * replay window; at 0% every record arrives, in order. Every other run
 * agrees DTLS-SRTP and sends an RTP datagram before each record on the same
 * socket: every one the proxy passes on (copies included) reaches the
 * application, left to it by SSL_recv (RFC 7983), none taken by the DTLS
 * side, and no DTLS datagram is left to it. Resumed handshakes at 30%:
 * each client offers the session of the one before (SSL_getClientSessionInfo
 * to SSL_connect), every one is the abbreviated handshake on both sides
 * (whose last flight is the client's, RFC 6347 §4.2.4), half of them under
 * RFC 5077 tickets, half by session id. The flights sent
 * again (seen at the proxy) are printed per rate with the seed;
 * NKTLS_LOSS_SEED=N replays a run. */
#include "api_env.h"
#include <poll.h>
#include <stdatomic.h>

#define RUNS      10     /* handshakes per rate */
#define MSGS      20     /* application records per handshake, client to server */
#define MSG_LEN   64
#define RTO_MS    40     /* DTLS_SET_HANDSHAKE_RETRANSMISSION_TIMER: the first wait */
#define HELD_MAX  8      /* datagrams a direction holds back (reordering) */

/* ---- the proxy ------------------------------------------------------------ */

struct held {
    uint8_t b[2048];
    ssize_t n;
    int64_t at;   /* ms: when it goes out */
};

struct dir {
    int from, to;                    /* read from, send to */
    struct held held[HELD_MAX];
    int n_held;
    /* Handshake fragments (epoch 0: msg_type, message_seq, fragment_offset)
     * and ChangeCipherSpecs seen, to tell a flight sent again. */
    uint64_t seen[64];
    int n_seen, ccs_seen;
    unsigned datagrams, resent, dropped, duplicated, delayed, app_duplicated, rtp_out;
};

struct proxy {
    struct dir d[2];   /* 0: client to server, 1: server to client */
    unsigned rate;     /* percent */
    uint64_t rng;
    atomic_int stop;
};

static uint64_t rnd(struct proxy *p)   /* xorshift64* */
{
    p->rng ^= p->rng >> 12;
    p->rng ^= p->rng << 25;
    p->rng ^= p->rng >> 27;
    return p->rng * 0x2545F4914F6CDD1DULL;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int seen_before(struct dir *d, uint64_t key)
{
    for (int i = 0; i < d->n_seen; i++)
        if (d->seen[i] == key)
            return 1;
    if (d->n_seen < (int)(sizeof d->seen / sizeof d->seen[0]))
        d->seen[d->n_seen++] = key;
    return 0;
}

/* Walk the datagram's DTLS records (13-byte headers, RFC 6347 §4.1): is it
 * a flight (part) sent before? does it carry application data? */
static void classify(struct dir *d, const uint8_t *b, ssize_t n, int *again, int *app)
{
    *again = *app = 0;
    for (ssize_t off = 0; off + 13 <= n;) {
        const uint8_t *r = b + off;
        unsigned type = r[0], epoch = (unsigned)(r[3] << 8 | r[4]), len = (unsigned)(r[11] << 8 | r[12]);
        if (off + 13 + (ssize_t)len > n)
            break;
        if (type == 22 && epoch == 0 && len >= 12) {
            const uint8_t *h = r + 13;
            uint64_t key = (uint64_t)h[0] << 40 | (uint64_t)(h[4] << 8 | h[5]) << 24
                           | (uint64_t)(h[6] << 16 | h[7] << 8 | h[8]);
            *again |= seen_before(d, key);
        } else if (type == 20) {
            *again |= d->ccs_seen++ > 0;
        } else if (type == 23) {
            *app = 1;
        }
        off += 13 + len;
    }
}

/* Send one datagram on; count the RTP ones (first byte 128..191). */
static void out(struct dir *d, const uint8_t *b, ssize_t n)
{
    if (send(d->to, b, (size_t)n, 0) == n && b[0] >= 128 && b[0] <= 191)
        d->rtp_out++;
}

static void hold(struct proxy *p, struct dir *d, const uint8_t *b, ssize_t n)
{
    if (d->n_held == HELD_MAX) {   /* full: the oldest goes out now */
        out(d, d->held[0].b, d->held[0].n);
        memmove(&d->held[0], &d->held[1], sizeof d->held[0] * (HELD_MAX - 1));
        d->n_held--;
    }
    struct held *h = &d->held[d->n_held++];
    memcpy(h->b, b, (size_t)n);
    h->n = n;
    h->at = now_ms() + 1 + (int64_t)(rnd(p) % 30);
}

static void release_due(struct dir *d, int64_t now)
{
    for (int i = 0; i < d->n_held;) {
        if (d->held[i].at > now) {
            i++;
            continue;
        }
        out(d, d->held[i].b, d->held[i].n);
        memmove(&d->held[i], &d->held[i + 1], sizeof d->held[0] * (size_t)(d->n_held - i - 1));
        d->n_held--;
    }
}

/* One datagram: dropped with probability rate; else sent now and a copy
 * held back (a duplicate arriving late), or held back alone (reordered),
 * each with probability rate / 2; else sent as it is. */
static void forward(struct proxy *p, struct dir *d)
{
    uint8_t b[2048];
    ssize_t n = recv(d->from, b, sizeof b, 0);
    if (n <= 0)
        return;
    int again, app;
    d->datagrams++;
    classify(d, b, n, &again, &app);
    d->resent += (unsigned)again;
    unsigned r = (unsigned)(rnd(p) % 200);
    if (r < 2 * p->rate) {
        d->dropped++;
    } else if (r < 3 * p->rate) {
        out(d, b, n);
        hold(p, d, b, n);
        d->duplicated++;
        d->app_duplicated += (unsigned)app;
    } else if (r < 4 * p->rate) {
        hold(p, d, b, n);
        d->delayed++;
    } else {
        out(d, b, n);
    }
}

static void *proxy_main(void *arg)
{
    struct proxy *p = arg;
    while (!p->stop) {
        struct pollfd pf[2] = { { .fd = p->d[0].from, .events = POLLIN }, { .fd = p->d[1].from, .events = POLLIN } };
        if (poll(pf, 2, 2) > 0)
            for (int i = 0; i < 2; i++)
                if (pf[i].revents & POLLIN)
                    forward(p, &p->d[i]);
        int64_t now = now_ms();
        release_due(&p->d[0], now);
        release_due(&p->d[1], now);
    }
    release_due(&p->d[0], INT64_MAX);   /* what is held still goes out */
    release_due(&p->d[1], INT64_MAX);
    return NULL;
}

/* ---- the endpoints -------------------------------------------------------- */

static void link_fds(int a, const struct sockaddr_in *to)
{
    if (connect(a, (const struct sockaddr *)to, sizeof *to) < 0)
        abort();
}

static void make_msg(uint8_t *m, unsigned i)
{
    m[0] = (uint8_t)i;
    for (unsigned k = 1; k < MSG_LEN; k++)
        m[k] = (uint8_t)(i * 37u + k * 11u);
}

/* A datagram as RTP would be (RFC 3550 header, version 2), sent beside
 * the DTLS records on SRTP runs: the demultiplexing of RFC 7983, not SRTP
 * itself, is what is tested. */
#define RTP_LEN 20
static void make_rtp(uint8_t *b, unsigned i)
{
    b[0] = 0x80, b[1] = 0x60, b[2] = (uint8_t)(i >> 8), b[3] = (uint8_t)i;
    for (unsigned k = 4; k < RTP_LEN; k++)
        b[k] = (uint8_t)(i * 13u + k);
}

static int rtp_intact(const uint8_t *b, ssize_t n)
{
    uint8_t want[RTP_LEN];
    if (n != RTP_LEN)
        return 0;
    make_rtp(want, (unsigned)(b[2] << 8 | b[3]));
    return (b[2] << 8 | b[3]) < MSGS && memcmp(b, want, RTP_LEN) == 0;
}

/* The datagrams left in the socket for the application: RTP ones intact
 * are counted, anything else is a fault. */
static void read_left(int fd, int wait, unsigned *rtp, unsigned *bad)
{
    uint8_t b[2048];
    ssize_t n;
    while ((n = recv(fd, b, sizeof b, wait ? 0 : MSG_DONTWAIT)) > 0) {
        if (rtp_intact(b, n))
            (*rtp)++;
        else if (b[0] >= 128 && b[0] <= 191)
            (*bad)++;
        else if (wait)
            (*bad)++;   /* SSL_recv left a DTLS datagram to us */
        if (wait)
            return;
    }
}

struct server {
    int fd;
    unsigned rtp_read, rtp_bad;
    sbyte4 h;
    MSTATUS st;
    atomic_int client_done;
    atomic_int hs_done;   /* its handshake is over (or failed) */
    unsigned got[MSGS], order_ok, delivered, damaged;
    ubyte ekm[32];
};

static void *server_main(void *arg)
{
    struct server *s = arg;
    int last = -1;
    s->order_ok = 1;
    s->st = SSL_negotiateConnection(s->h);
    s->hs_done = 1;
    if (s->st == OK)
        s->st = SSL_generateExportKeyMaterial(s->h, s->ekm, sizeof s->ekm, (ubyte *)"EXPERIMENTAL loss", 17, NULL, 0, 0);
    while (s->st == OK) {
        sbyte buf[256];
        sbyte4 n = 0;
        MSTATUS st = SSL_recv(s->h, buf, sizeof buf, &n, 150);
        if (st == ERR_SSL_CONNECTION_CLOSED || (st == ERR_TCP_READ_TIMEOUT && s->client_done))
            break;
        if (st == ERR_TCP_READ_TIMEOUT)
            continue;
        if (st == ERR_TCP_WOULDBLOCK) {   /* a datagram that is not DTLS waits: ours */
            read_left(s->fd, 1, &s->rtp_read, &s->rtp_bad);
            continue;
        }
        if (st != OK) {
            s->st = st;
            break;
        }
        uint8_t want[MSG_LEN];
        make_msg(want, (uint8_t)buf[0]);
        if (n != MSG_LEN || (uint8_t)buf[0] >= MSGS || memcmp(buf, want, MSG_LEN) != 0) {
            s->damaged++;
            continue;
        }
        s->got[(uint8_t)buf[0]]++;
        s->delivered++;
        s->order_ok &= (int)(uint8_t)buf[0] > last;
        last = (uint8_t)buf[0];
    }
    return NULL;
}

/* A client's session to offer and the one it got (resume: it must have
 * been resumed, on both sides). */
struct sess {
    ubyte id_len, id[SSL_MAXSESSIONIDSIZE], master[SSL_MASTERSECRETSIZE];
    int resume;
};

struct tally {
    unsigned resent[2], dropped, duplicated, delayed, app_duplicated, delivered, sent, rtp_sent, rtp_app;
    int64_t slowest_ms;
};

/* One handshake and MSGS records through the proxy. */
static void one_run(struct th_meta *_metadata, unsigned rate, uint64_t seed, struct tally *t, struct sess *ss)
{
    struct sockaddr_in ac, apc, aps, as;
    int cfd = udp_bound(&ac, INADDR_LOOPBACK), pc = udp_bound(&apc, INADDR_LOOPBACK);
    int ps = udp_bound(&aps, INADDR_LOOPBACK), sfd = udp_bound(&as, INADDR_LOOPBACK);
    ASSERT_TRUE(cfd >= 0 && pc >= 0 && ps >= 0 && sfd >= 0);
    link_fds(cfd, &apc), link_fds(pc, &ac), link_fds(ps, &as), link_fds(sfd, &aps);
    struct proxy p = { .rate = rate, .rng = seed * 0x9E3779B97F4A7C15ULL + 1 };
    p.d[0].from = pc, p.d[0].to = ps, p.d[1].from = ps, p.d[1].to = pc;
    struct server s = { .fd = sfd };
    int srtp = (int)(seed & 1);   /* every other run: DTLS-SRTP, RTP beside the records */
    s.h = SSL_acceptConnection(sfd, env.srv);
    sbyte4 c = SSL_connect(cfd, ss->id_len, ss->id, ss->master, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(s.h, 0);
    ASSERT_GT(c, 0);
    ASSERT_EQ(SSL_ioctl(s.h, SSL_SET_NUM_TICKETS, (void *)(uintptr_t)(seed & 2 ? 1 : 0)), OK);
    ASSERT_EQ(SSL_ioctl(s.h, DTLS_SET_HANDSHAKE_RETRANSMISSION_TIMER, (void *)(uintptr_t)RTO_MS), OK);
    ASSERT_EQ(SSL_ioctl(c, DTLS_SET_HANDSHAKE_RETRANSMISSION_TIMER, (void *)(uintptr_t)RTO_MS), OK);
    if (srtp) {
        ubyte2 profile = SRTP_AEAD_AES_128_GCM;
        ASSERT_EQ(SSL_enableSrtpProfiles(s.h, &profile, 1), OK);
        ASSERT_EQ(SSL_enableSrtpProfiles(c, &profile, 1), OK);
    }
    pthread_t tp, ts;
    ASSERT_EQ(pthread_create(&tp, NULL, proxy_main, &p), 0);
    ASSERT_EQ(pthread_create(&ts, NULL, server_main, &s), 0);
    int64_t t0 = now_ms();
    MSTATUS st = SSL_negotiateConnection(c);
    int64_t took = now_ms() - t0;
    ubyte ekm[32];
    if (st == OK)
        st = SSL_generateExportKeyMaterial(c, ekm, sizeof ekm, (ubyte *)"EXPERIMENTAL loss", 17, NULL, 0, 0);
    int resumed = NKTLS_isSessionResumed(c);
    /* RFC 6347 §4.2.4: after an abbreviated handshake the client sent the
     * last flight; if it was lost, the server sends its own again, which
     * the client answers from SSL_recv: it reads until the server is in. */
    for (int64_t until = now_ms() + 20000; st == OK && !s.hs_done && now_ms() < until;) {
        sbyte b[64];
        sbyte4 n = 0;
        MSTATUS r = SSL_recv(c, b, sizeof b, &n, 20);
        if (r != ERR_TCP_READ_TIMEOUT && r != ERR_TCP_WOULDBLOCK)
            st = r;
    }
    if (st == OK)
        st = SSL_getClientSessionInfo(c, &ss->id_len, ss->id, ss->master);
    for (unsigned i = 0; st == OK && i < MSGS; i++) {
        uint8_t m[MSG_LEN], rtp[RTP_LEN];
        make_rtp(rtp, i);
        if (srtp && send(cfd, rtp, RTP_LEN, 0) != RTP_LEN)
            st = ERR_TCP_WRITE_ERROR;
        make_msg(m, i);
        if (SSL_send(c, (sbyte *)m, MSG_LEN) != MSG_LEN)
            st = ERR_TCP_WRITE_ERROR;
        usleep(500);
    }
    s.client_done = 1;
    (void)SSL_closeConnection(c);   /* its close_notify may be lost: the server then times out */
    pthread_join(ts, NULL);
    p.stop = 1;
    pthread_join(tp, NULL);
    unsigned drained = 0;   /* RTP that came after the server stopped reading */
    read_left(sfd, 0, &drained, &s.rtp_bad);
    if (st != OK || s.st != OK)
        TH_LOG("rate %u%%, seed %llu: client %d, server %d", rate, (unsigned long long)seed, st, s.st);
    ASSERT_EQ(st, OK);
    ASSERT_EQ(s.st, OK);
    ASSERT_MEM_EQ(ekm, s.ekm, sizeof ekm);
    ASSERT_EQ(resumed, ss->resume);
    ASSERT_EQ(NKTLS_isSessionResumed(s.h), ss->resume);
    ASSERT_EQ(ss->id_len, SSL_MAXSESSIONIDSIZE);
    ASSERT_EQ(s.damaged, 0u);
    for (unsigned i = 0; i < MSGS; i++)
        ASSERT_LE(s.got[i], 1u);   /* no record delivered twice */
    /* Every RTP datagram the proxy passed on reached the application, none
     * eaten by the DTLS side, none damaged; no DTLS datagram was left to it. */
    ASSERT_EQ(s.rtp_bad, 0u);
    ASSERT_EQ(s.rtp_read + drained, p.d[0].rtp_out);
    if (!srtp)
        ASSERT_EQ(p.d[0].rtp_out, 0u);
    if (rate == 0) {
        ASSERT_EQ(s.rtp_read, srtp ? (unsigned)MSGS : 0u);
        ASSERT_EQ(s.delivered, (unsigned)MSGS);
        ASSERT_TRUE(s.order_ok);
        /* No flight resent: unless valgrind's slowdown outlasts the 40 ms timer. */
        if (!TH_UNDER_VALGRIND)
            ASSERT_EQ(p.d[0].resent + p.d[1].resent, 0u);
    }
    for (int i = 0; i < 2; i++) {
        t->resent[i] += p.d[i].resent;
        t->dropped += p.d[i].dropped;
        t->duplicated += p.d[i].duplicated;
        t->delayed += p.d[i].delayed;
    }
    t->app_duplicated += p.d[0].app_duplicated;
    t->delivered += s.delivered;
    t->rtp_sent += srtp ? MSGS : 0;
    t->rtp_app += s.rtp_read + drained;
    t->sent += MSGS;
    if (took > 1000)
        printf("# rate %u%%, seed %llu: the handshake took %lld ms\n", rate, (unsigned long long)seed, (long long)took);
    if (took > t->slowest_ms)
        t->slowest_ms = took;
    ASSERT_EQ(SSL_closeConnection(s.h), OK);
    close(cfd), close(pc), close(ps), close(sfd);
}

/* resume: a full handshake first (at 0%, not counted), then every run
 * resumes the session of the one before. */
static void run_rate(struct th_meta *_metadata, unsigned rate, int resume)
{
    const char *e = getenv("NKTLS_LOSS_SEED");
    uint64_t seed = e ? strtoull(e, NULL, 0) : 20261207u;
    struct tally t = { 0 };
    env_up(4);
    SSL_sslSettings()->sslTimeOutHello = 20000;   /* 30% loss both ways can need several back-offs */
    struct sess ss = { 0 };
    if (resume) {
        struct tally first = { 0 };
        one_run(_metadata, 0, seed, &first, &ss);
        ss.resume = 1;
    }
    int64_t t0 = now_ms();
    for (unsigned i = 0; i < RUNS; i++) {
        if (!resume)
            memset(&ss, 0, sizeof ss);
        one_run(_metadata, rate, seed + rate * 1000u + i, &t, &ss);
    }
    printf("# %sloss %u%% (seed %llu, runs %llu..%llu): %d handshakes in %lld ms, slowest %lld ms; "
           "flight datagrams sent again c->s %u, s->c %u; proxy dropped %u, duplicated %u (%u of them "
           "application data), delayed %u; application records delivered %u of %u, none twice; "
           "RTP datagrams beside them (SRTP runs) sent %u, all %u the proxy passed on (copies included) "
           "handed to the application\n",
           resume ? "resumed, " : "", rate, (unsigned long long)seed, (unsigned long long)(seed + rate * 1000u),
           (unsigned long long)(seed + rate * 1000u + RUNS - 1), RUNS, (long long)(now_ms() - t0),
           (long long)t.slowest_ms, t.resent[0], t.resent[1], t.dropped, t.duplicated, t.app_duplicated,
           t.delayed, t.delivered, t.sent, t.rtp_sent, t.rtp_app);
    if (rate > 0) {
        ASSERT_GT(t.resent[0] + t.resent[1], 0u);   /* the loss made flights go again */
        ASSERT_GT(t.app_duplicated, 0u);            /* and the replay window had copies to refuse */
    }
    env_down();
}

TEST(loss_0_percent) { run_rate(_metadata, 0, 0); }
TEST(loss_10_percent) { run_rate(_metadata, 10, 0); }
TEST(loss_20_percent) { run_rate(_metadata, 20, 0); }
TEST(loss_30_percent) { run_rate(_metadata, 30, 0); }
TEST(resumed_loss_30_percent) { run_rate(_metadata, 30, 1); }

int main(int argc, char **argv) { return api_env_main(argc, argv); }
