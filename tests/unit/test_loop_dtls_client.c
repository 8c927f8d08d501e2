/* test_loop_dtls_client.c — the event loop as a DTLS 1.2 client
 * (NKTLS_LOOP_connectDTLS, uring/loop_dtls.c) on io_uring (with and without
 * multishot receives and buffer rings) and epoll. Against the loop's own
 * DTLS server in the same process: the handshake, three messages echoed
 * byte for byte (the longer over 1 KiB and over one record), close_notify
 * from either side with the exact onClose status on both; 32 clients at
 * once; the cookie exchange counted by a relay (two ClientHellos, the
 * second with the cookie, one HelloVerifyRequest); the server's first
 * flight lost once and brought back by the client's retransmission timer;
 * use_srtp agreed and the same keying material from the SRTP callback and
 * the exporter on both sides; the server's fatal alert ending the
 * handshake; a datagram that is not DTLS from the server
 * to the datagram callback, and none from another address; a session resumed; a
 * close before the handshake ends, and one right after the connect, in the
 * same callback (before the worker took the connection from its inbox); a
 * refused connect(); a slow onOpen on either side while another
 * handshake's retransmission timer falls due. Against a blocking nktls DTLS server on
 * a connected UDP socket: the echo and the close. A silent server: the
 * ClientHello at 0, 1 and 3 s, then ERR_SSL_HANDSHAKE_TIMEOUT at the
 * limit; a port with nothing bound (ICMP port unreachable): the same end,
 * without spinning. */
#include "loop_dtls_client_env.h"
#include "udp_relay.h"

/* A client against the loop server: the handshake, the three messages
 * echoed byte for byte, the client's NKTLS_LOOP_close (close_notify: OK on
 * both sides); a second one whose "close" makes the server close (its
 * close_notify: OK on both sides). */
TEST_F(dcli, echo_and_close_notify_both_ways)
{
    struct env *e = &self->e;
    if (!both_start(_metadata, e))
        return;
    static struct cconn a = { .plan = ECHO_CLIENT_CLOSE, .seed = 1 }, b = { .plan = ECHO_SERVER_CLOSE, .seed = 2 };
    sbyte4 ha = dial(e, &e->addr, &a);
    ASSERT_GT(ha, 0);
    WAIT_FOR(atomic_load(&a.closed) && atomic_load(&e->s.closed) == 1, 10000);
    check_echoed(_metadata, &a, OK);
    ASSERT_EQ(a.h, ha);
    ASSERT_EQ(a.want, (size_t)ECHO_TOTAL);
    ASSERT_EQ(a.peer_port, port_of(&e->addr));   /* NKTLS_getPeerAddress: the server */
    ST_EQ(atomic_load(&e->s.last_st), OK);         /* the client's close_notify */

    sbyte4 hb = dial(e, &e->addr, &b);
    ASSERT_GT(hb, 0);
    WAIT_FOR(atomic_load(&b.closed) && atomic_load(&e->s.closed) == 2, 10000);
    check_echoed(_metadata, &b, OK);               /* the server's close_notify */
    ST_EQ(atomic_load(&e->s.last_st), OK);
    ASSERT_EQ(atomic_load(&e->s.st_ok), 2);

    WAIT_FOR(stats_of(e->c.loop).live == 0 && stats_of(e->srv).live == 0, 3000);
    nktlsLoopStats cs = stats_of(e->c.loop), ss = stats_of(e->srv);
    ASSERT_EQ(cs.live, 0u);
    ASSERT_EQ(cs.connected, 2u);
    ASSERT_EQ(cs.opened, 2u);
    ASSERT_EQ(ss.live, 0u);
    ASSERT_EQ(ss.accepted, 2u);
    ASSERT_EQ(ss.opened, 2u);
}

#define MANY 32

/* 32 clients at once on two workers (round robin), each echoed and closed. */
TEST_F(dcli, many_at_once)
{
    struct env *e = &self->e;
    /* Slow builds (valgrind, sanitizers: TH_TIMEOUT set) get more time. */
    int slow = getenv("TH_TIMEOUT") != NULL;
    if (!lsrv_start(_metadata, e) || !cli_start(_metadata, e, slow ? 120000 : 10000, 2))
        return;
    static struct cconn k[MANY];
    memset(k, 0, sizeof k);
    for (int i = 0; i < MANY; i++) {
        k[i].plan = SMALL_CLIENT_CLOSE;
        k[i].seed = 100u + (uint32_t)i;
        ASSERT_GT(dial(e, &e->addr, &k[i]), 0);
    }
    WAIT_FOR(atomic_load(&e->c.closed) == MANY && atomic_load(&e->s.closed) == MANY, slow ? 240000 : 20000);
    ASSERT_EQ(atomic_load(&e->c.opened), MANY);
    for (int i = 0; i < MANY; i++) {
        ASSERT_EQ(atomic_load(&k[i].closed), 1) TH_LOG("client %d: %zu bytes back, still open", i, k[i].got);
        ASSERT_EQ(k[i].got, 200u) TH_LOG("client %d: onClose %s, opened %d", i, errname(k[i].st), atomic_load(&k[i].opened));
        ST_EQ_AT(k[i].st, OK, at("client %d", i));
    }
    ASSERT_EQ(atomic_load(&e->c.ok), MANY);
    ASSERT_EQ(atomic_load(&e->s.opened), MANY);
    ASSERT_EQ(atomic_load(&e->s.st_ok), MANY);
    ASSERT_EQ(stats_of(e->srv).accepted, (ubyte8)MANY);
}

/* The handshake's deadline ends with it. Two handshakes at once on one
 * worker, and the first onOpen takes 1.3 s: meanwhile the other's last
 * flight arrives and its retransmission timer (1 s) falls due, and the
 * worker's next turn sees both. Opened by the one, the connection must not
 * be closed by the other as if idle (the stale deadline): each echo
 * completes and both sides close with OK. On the client's worker, then on
 * the server's. */
TEST_F(dcli, slow_on_open_not_timed_out)
{
    TH_SKIP_TIMING_UNDER_VALGRIND();
    struct env *e = &self->e;
    if (!both_start(_metadata, e))
        return;
    static struct cconn k[4];
    for (int i = 0; i < 4; i++)
        k[i] = (struct cconn){ .plan = ECHO_CLIENT_CLOSE, .seed = 20u + (uint32_t)i };
    for (int side = 0; side < 2; side++) {
        atomic_store(side == 0 ? &cli_open_sleep_ms : &srv_open_sleep_ms, 1300);
        ASSERT_GT(dial(e, &e->addr, &k[2 * side]), 0);
        ASSERT_GT(dial(e, &e->addr, &k[2 * side + 1]), 0);
        WAIT_FOR(atomic_load(&k[2 * side].closed) && atomic_load(&k[2 * side + 1].closed)
                 && atomic_load(&e->s.closed) == 2 * side + 2, 10000);
        for (int i = 2 * side; i < 2 * side + 2; i++)
            check_echoed(_metadata, &k[i], OK);
    }
    ASSERT_EQ(atomic_load(&e->s.st_ok), 4);
    ASSERT_EQ(stats_of(e->c.loop).idleTimeouts, 0u);
    ASSERT_EQ(stats_of(e->srv).idleTimeouts, 0u);
}

/* ---- a blocking nktls DTLS server ------------------------------------------ */

struct bsrv {
    int fd;
    MSTATUS st;
    size_t echoed;
};

/* SSL_acceptConnection on the UDP socket connected to the first client
 * that sends (its ClientHello stays queued), then echo until it closes. */
static void *bsrv_main(void *p)
{
    struct bsrv *b = p;
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    uint8_t one;
    struct pollfd pf = { .fd = b->fd, .events = POLLIN };
    sbyte4 h = ERR_GENERAL;
    if (poll(&pf, 1, 10000) == 1 && recvfrom(b->fd, &one, 1, MSG_PEEK, (struct sockaddr *)&from, &fl) >= 0
        && connect(b->fd, (struct sockaddr *)&from, fl) == 0)
        h = SSL_acceptConnection(b->fd, env.srv);
    b->st = h < 0 ? h : SSL_negotiateConnection(h);
    while (b->st == OK) {
        sbyte buf[2048];
        sbyte4 got = 0;
        b->st = SSL_recv(h, buf, sizeof buf, &got, 5000);
        if (b->st == OK && got > 0 && SSL_send(h, buf, got) != got)
            b->st = ERR_TCP_WRITE_ERROR;
        else if (b->st == OK)
            b->echoed += (size_t)got;
    }
    if (h > 0)
        SSL_closeConnection(h);
    return NULL;
}

TEST_F(dcli, against_blocking_server)
{
    struct env *e = &self->e;
    if (!cli_start(_metadata, e, 10000, 1))
        return;
    static struct bsrv b;
    b.fd = e->fd;
    b.st = NOT_RUN;
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, bsrv_main, &b), 0);
    static struct cconn k = { .plan = ECHO_CLIENT_CLOSE, .seed = 3 };
    ASSERT_GT(dial(e, &e->addr, &k), 0);
    WAIT_FOR(atomic_load(&k.closed), 10000);
    pthread_join(t, NULL);
    check_echoed(_metadata, &k, OK);
    ST_EQ(b.st, ERR_SSL_CONNECTION_CLOSED);   /* our close_notify */
    ASSERT_EQ(b.echoed, (size_t)ECHO_TOTAL);
}

/* ---- a relay between the client and the loop server ----------------------- */

struct watch {
    struct udp_relay r;
    int lose_flight;              /* drop the server's first flight, once */
    int losing, lost_once;
    int hellos, hvrs, dropped;
    int cookie_len[4];            /* of the first ClientHellos */
};

/* A ClientHello's cookie length: behind version, random and session id. */
static int hello_cookie_len(const uint8_t *b, ssize_t n)
{
    size_t at = 13 + 12 + 2 + 32;
    if ((size_t)n <= at + 1 || (size_t)n <= at + 1 + b[at])
        return -1;
    return b[at + 1 + b[at]];
}

/* Counts ClientHellos (their cookies) and HelloVerifyRequests; with
 * lose_flight drops the server's datagrams from its first ServerHello on
 * until the client sends again: only the client's timer can bring that
 * flight back (the server's own is set far off). */
static int watch_hellos(struct udp_relay *r, int from_client, const uint8_t *d, ssize_t n)
{
    struct watch *w = (struct watch *)r;
    int type = dtls_hs_type(d, n);
    if (from_client) {
        if (type == 1 && w->hellos < 4)
            w->cookie_len[w->hellos] = hello_cookie_len(d, n);
        w->hellos += type == 1;
        w->losing = 0;
        return 1;
    }
    w->hvrs += type == 3;
    if (w->lose_flight && !w->lost_once && type == 2)
        w->losing = w->lost_once = 1;
    w->dropped += w->losing;
    return !w->losing;
}

/* RFC 6347 §4.2.1: the loop server answers the first ClientHello with a
 * HelloVerifyRequest; the client's second carries the 32-byte cookie. */
TEST_F(dcli, cookie_exchange_seen)
{
    struct env *e = &self->e;
    if (!both_start(_metadata, e))
        return;
    static struct watch w = { .r.pass = watch_hellos };
    ASSERT_EQ(udp_relay_start(&w.r, &e->addr), 0);
    static struct cconn k = { .plan = ECHO_CLIENT_CLOSE, .seed = 4 };
    ASSERT_GT(dial(e, &w.r.front_addr, &k), 0);
    WAIT_FOR(atomic_load(&k.closed) && atomic_load(&e->s.closed) == 1, 10000);
    udp_relay_stop(&w.r);
    check_echoed(_metadata, &k, OK);
    ASSERT_EQ(w.hellos, 2);
    ASSERT_EQ(w.cookie_len[0], 0);
    ASSERT_EQ(w.cookie_len[1], 32);
    ASSERT_EQ(w.hvrs, 1);
    ASSERT_EQ(k.retransmits, 0u);   /* nothing was lost */
}

/* RFC 6347 §4.2.4: the server's flight is lost once; the client's timer
 * sends its ClientHello again after 1 s, which makes the server send its
 * flight again (its own timer waits 20 s), and the handshake completes. */
TEST_F(dcli, lost_server_flight_resent_after_client_timer)
{
    TH_SKIP_TIMING_UNDER_VALGRIND();
    struct env *e = &self->e;
    srv_rtx_ms = 20000;
    if (!both_start(_metadata, e))
        return;
    static struct watch w = { .r.pass = watch_hellos, .lose_flight = 1 };
    ASSERT_EQ(udp_relay_start(&w.r, &e->addr), 0);
    static struct cconn k = { .plan = ECHO_CLIENT_CLOSE, .seed = 5 };
    int64_t t0 = now_ms();
    ASSERT_GT(dial(e, &w.r.front_addr, &k), 0);
    WAIT_FOR(atomic_load(&k.opened), 10000);
    int64_t took = now_ms() - t0;
    WAIT_FOR(atomic_load(&k.closed) && atomic_load(&e->s.closed) == 1, 10000);
    udp_relay_stop(&w.r);
    check_echoed(_metadata, &k, OK);
    ASSERT_GE(w.dropped, 1);
    ASSERT_EQ(w.hellos, 3);          /* without cookie, with it, and its retransmission */
    ASSERT_EQ(w.cookie_len[2], 32);
    ASSERT_EQ(k.retransmits, 1u);
    ASSERT_GE(took, 900);            /* the first retransmission waits 1 s */
    ASSERT_LT(took, 3000);
}

/* Datagrams arriving at a bound socket that never answers: when each came
 * (ms after t0), and whether every one was a ClientHello. */
struct silent {
    int fd;
    atomic_int stop, n;
    int all_hellos;
    int64_t t0, at[8];
};

static void *silent_main(void *p)
{
    struct silent *s = p;
    uint8_t buf[2048];
    s->all_hellos = 1;
    while (!atomic_load(&s->stop)) {
        struct pollfd pf = { .fd = s->fd, .events = POLLIN };
        if (poll(&pf, 1, 20) != 1)
            continue;
        ssize_t n = recv(s->fd, buf, sizeof buf, 0);
        int i = atomic_load(&s->n);
        if (i < 8)
            s->at[i] = now_ms() - s->t0;
        s->all_hellos &= dtls_hs_type(buf, n) == 1 && hello_cookie_len(buf, n) == 0;
        atomic_store(&s->n, i + 1);
    }
    return NULL;
}

#define HS_LIMIT 3500

/* A silent server (a bound socket that never answers) and a port with
 * nothing bound (each ClientHello answered by ICMP port unreachable), at
 * once: the ClientHello goes at 0, 1 and 3 s (RFC 6347 §4.2.4.1: 1 s,
 * doubling), the 7 s one is past the 3.5 s limit, and both end then with
 * ERR_SSL_HANDSHAKE_TIMEOUT; the ICMP errors end nothing earlier and do not
 * make the loop spin. */
TEST_F(dcli, silent_and_unreachable_servers_time_out)
{
    TH_SKIP_TIMING_UNDER_VALGRIND();
    struct env *e = &self->e;
    if (!cli_start(_metadata, e, HS_LIMIT, 1))
        return;
    static struct silent s;
    s.fd = e->fd;
    struct sockaddr_in nobody;
    int gone = udp_bound(&nobody, INADDR_LOOPBACK);
    ASSERT_GE(gone, 0);
    close(gone);   /* nothing bound there now */
    pthread_t t;
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    s.t0 = now_ms();
    ASSERT_EQ(pthread_create(&t, NULL, silent_main, &s), 0);
    static struct cconn quiet = { .plan = HOLD }, refused = { .plan = HOLD };
    ASSERT_GT(dial(e, &e->addr, &quiet), 0);
    ASSERT_GT(dial(e, &nobody, &refused), 0);
    WAIT_FOR(atomic_load(&quiet.closed) && atomic_load(&refused.closed), 8000);
    atomic_store(&s.stop, 1);
    pthread_join(t, NULL);
    getrusage(RUSAGE_SELF, &ru1);

    ST_EQ(quiet.st, ERR_SSL_HANDSHAKE_TIMEOUT);
    ST_EQ(refused.st, ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_EQ(atomic_load(&s.n), 3);
    ASSERT_EQ(s.all_hellos, 1);
    ASSERT_LT(s.at[0], 300);
    ASSERT_GE(s.at[1], 950);
    ASSERT_LT(s.at[1], 1400);
    ASSERT_GE(s.at[2], 2950);
    ASSERT_LT(s.at[2], 3450);
    ASSERT_EQ(quiet.retransmits, 2u);
    ASSERT_EQ(refused.retransmits, 2u);   /* ICMP did not stop the timer */
    int64_t quiet_end = quiet.closed_at - s.t0, refused_end = refused.closed_at - s.t0;
    ASSERT_GE(quiet_end, HS_LIMIT - 50);
    ASSERT_LT(quiet_end, HS_LIMIT + 1000);
    ASSERT_GE(refused_end, HS_LIMIT - 50);
    ASSERT_LT(refused_end, HS_LIMIT + 1000);
    nktlsLoopStats cs = stats_of(e->c.loop);
    ASSERT_EQ(cs.handshakeTimeouts, 2u);
    ASSERT_EQ(cs.opened, 0u);
    WAIT_FOR(stats_of(e->c.loop).live == 0, 3000);
    ASSERT_EQ(stats_of(e->c.loop).live, 0u);
    /* Waiting on timers and ICMP, not spinning: well under a CPU second. */
    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec)
                 + (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
    ASSERT_LT(cpu, 1.0);
}

/* RFC 5764: use_srtp agreed; the SRTP init callback gives each side the
 * same keying material, which is the exporter's EXTRACTOR-dtls_srtp. */
TEST_F(dcli, srtp_keys_equal_both_sides)
{
    struct env *e = &self->e;
    srv_srtp = cli_srtp = 1;
    n_told = 0;
    ASSERT_EQ(SSL_setSrtpInitCallback(on_srtp_init), OK);
    if (!both_start(_metadata, e))
        return;
    static struct cconn k = { .plan = ECHO_SERVER_CLOSE, .seed = 6 };
    sbyte4 h = dial(e, &e->addr, &k);
    ASSERT_GT(h, 0);
    WAIT_FOR(atomic_load(&k.closed) && atomic_load(&e->s.closed) == 1, 10000);
    check_echoed(_metadata, &k, OK);
    pthread_mutex_lock(&km_mu);
    int ci = told_for(h), si = told_for(atomic_load(&e->s.last_open)), n = n_told;
    pthread_mutex_unlock(&km_mu);
    ASSERT_EQ(n, 2);
    ASSERT_GE(ci, 0);
    ASSERT_GE(si, 0);
    ASSERT_EQ(told[ci].profile, srtp_profile);
    ASSERT_EQ(told[si].profile, srtp_profile);
    ASSERT_EQ(told[ci].len, 60u);   /* 2 x (16-byte key + 14-byte salt) */
    ASSERT_EQ(told[si].len, 60u);
    ASSERT_MEM_EQ(told[ci].km, told[si].km, 60);
    ASSERT_MEM_EQ(k.ekm, e->s.ekm, sizeof k.ekm);
    ASSERT_MEM_EQ(k.ekm, told[ci].km, 60);
    static const ubyte zero[60];
    ASSERT_NE(memcmp(k.ekm, zero, sizeof zero), 0);
}

static void send_close(void *arg)
{
    struct cconn *k = arg;
    NKTLS_LOOP_send(k->h, (const ubyte *)"close", 5);
}

/* RFC 7983 §7 on the client's socket: the server's RTP-like datagram goes
 * to the datagram callback with the client's handle and the server's address; one
 * from another address never arrives (the socket is connected); DTLS goes
 * on beside it. */
TEST_F(dcli, media_datagram_to_on_datagram)
{
    struct env *e = &self->e;
    if (!both_start(_metadata, e))
        return;
    static struct cconn k = { .plan = HOLD };
    sbyte4 h = dial(e, &e->addr, &k);
    ASSERT_GT(h, 0);
    WAIT_FOR(atomic_load(&k.opened) && atomic_load(&e->s.opened) == 1, 10000);
    ASSERT_EQ(atomic_load(&k.opened), 1);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                              .sin_port = htons((uint16_t)atomic_load(&e->s.peer_port)) };
    uint8_t rtp[40];
    for (size_t i = 0; i < sizeof rtp; i++)
        rtp[i] = (uint8_t)(i == 0 ? 0x80 : 0x40 + i);
    ASSERT_EQ(sendto(e->fd, rtp, sizeof rtp, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)sizeof rtp);
    WAIT_FOR(atomic_load(&k.dgrams) == 1, 5000);
    ASSERT_EQ(atomic_load(&k.dgrams), 1);
    ASSERT_EQ(k.dg_h, h);
    ASSERT_EQ(k.dg_port, port_of(&e->addr));
    ASSERT_EQ(k.dg_len, sizeof rtp);
    ASSERT_MEM_EQ(k.dg, rtp, sizeof rtp);
    struct sockaddr_in other;
    int ofd = udp_bound(&other, INADDR_LOOPBACK);
    ASSERT_GE(ofd, 0);
    ASSERT_EQ(sendto(ofd, rtp, sizeof rtp, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)sizeof rtp);
    usleep(200 * 1000);
    close(ofd);
    ASSERT_EQ(atomic_load(&k.dgrams), 1);
    ASSERT_EQ(NKTLS_LOOP_post(e->c.loop, 0, send_close, &k), OK);
    WAIT_FOR(atomic_load(&k.closed) && atomic_load(&e->s.closed) == 1, 5000);
    ST_EQ(k.st, OK);
    ASSERT_EQ(atomic_load(&e->s.st_ok), 1);
}

/* A session from SSL_getClientSessionInfo after the first handshake,
 * offered by the next connection's onSetup (NKTLS_setClientSession): the
 * abbreviated handshake on both sides (RFC 5246 §7.3), then the echo. */
TEST_F(dcli, session_resumed)
{
    struct env *e = &self->e;
    if (!both_start(_metadata, e))
        return;
    memset(&session, 0, sizeof session);
    static struct cconn a = { .plan = ECHO_CLIENT_CLOSE, .seed = 7, .save_session = 1 };
    static struct cconn b = { .plan = ECHO_CLIENT_CLOSE, .seed = 8, .offer_session = 1 };
    ASSERT_GT(dial(e, &e->addr, &a), 0);
    WAIT_FOR(atomic_load(&a.closed) && atomic_load(&e->s.closed) == 1, 10000);
    check_echoed(_metadata, &a, OK);
    ASSERT_EQ(a.resumed, 0);
    ASSERT_GT(session.id_len, 0);
    ASSERT_GT(dial(e, &e->addr, &b), 0);
    WAIT_FOR(atomic_load(&b.closed) && atomic_load(&e->s.closed) == 2, 10000);
    check_echoed(_metadata, &b, OK);
    ASSERT_EQ(b.resumed, 1);
    ASSERT_EQ(atomic_load(&e->s.resumed), 1);
    ASSERT_EQ(atomic_load(&e->s.st_ok), 2);
}

/* The server refuses the handshake (no suite in common): its fatal
 * handshake_failure alert ends the client's handshake with
 * ERR_SSL_FATAL_ALERT. */
TEST_F(dcli, server_alert_ends_handshake)
{
    struct env *e = &self->e;
    srv_suite = 0xC02B;   /* ECDHE-ECDSA-AES128-GCM-SHA256 */
    cli_suite = 0xCCA9;   /* ECDHE-ECDSA-CHACHA20-POLY1305 */
    if (!both_start(_metadata, e))
        return;
    static struct cconn k = { .plan = HOLD };
    sbyte4 h = dial(e, &e->addr, &k);
    ASSERT_GT(h, 0);
    WAIT_FOR(atomic_load(&k.closed) && atomic_load(&e->s.closed) == 1, 10000);
    ST_EQ(k.st, ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(atomic_load(&k.opened), 0);
    sbyte4 id = 0, cls = 0;
    ASSERT_EQ(alerts_for(h, &id, &cls), 1);
    ASSERT_EQ(id, SSL_ALERT_HANDSHAKE_FAILURE);
    ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
    ST_EQ(atomic_load(&e->s.last_st), ERR_SSL_NO_CIPHER_MATCH);
    ASSERT_EQ(atomic_load(&e->s.opened), 0);
}

static void close_it(void *arg)
{
    struct cconn *k = arg;
    NKTLS_LOOP_close(k->h);
}

/* NKTLS_LOOP_close while the handshake waits for a silent server: onClose
 * with ERR_SSL_NOT_OPEN at once, no ClientHello sent again, the socket
 * closed. */
TEST_F(dcli, close_before_handshake_ends)
{
    struct env *e = &self->e;
    if (!cli_start(_metadata, e, 10000, 1))
        return;
    usleep(50 * 1000);   /* the loop's own descriptors are open */
    int fds0 = open_fds();
    static struct silent s;
    s.fd = e->fd;
    s.t0 = now_ms();
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, silent_main, &s), 0);
    static struct cconn k = { .plan = HOLD };
    ASSERT_GT(dial(e, &e->addr, &k), 0);
    WAIT_FOR(atomic_load(&s.n) == 1, 5000);
    ASSERT_EQ(atomic_load(&s.n), 1);
    int64_t asked = now_ms();
    ASSERT_EQ(NKTLS_LOOP_post(e->c.loop, 0, close_it, &k), OK);
    WAIT_FOR(atomic_load(&k.closed), 5000);
    ST_EQ(k.st, ERR_SSL_NOT_OPEN);
    ASSERT_LT(k.closed_at - asked, 500);
    check_all_freed(_metadata, e, fds0);
    usleep(1300 * 1000);   /* past the first retransmission's time */
    atomic_store(&s.stop, 1);
    pthread_join(t, NULL);
    ASSERT_EQ(atomic_load(&s.n), 1);
}

/* On the client loop's worker: a connection made and closed at once, before
 * the worker took it from its inbox. */
struct made_closed {
    struct env *e;
    struct cconn *k;
    sbyte4 h;
    MSTATUS st;
    atomic_int done;
};

static void connect_then_close(void *arg)
{
    struct made_closed *m = arg;
    m->h = dial(m->e, &m->e->addr, m->k);
    m->st = NKTLS_LOOP_close(m->h);
    atomic_store(&m->done, 1);
}

/* NKTLS_LOOP_close right after NKTLS_LOOP_connectDTLS, in one callback of
 * the worker that gets the connection: it never connects (no ClientHello
 * reaches the server's socket), onClose says ERR_SSL_NOT_OPEN, nothing is
 * left open. */
TEST_F(dcli, close_right_after_connect)
{
    struct env *e = &self->e;
    if (!cli_start(_metadata, e, 10000, 1))
        return;
    usleep(50 * 1000);
    int fds0 = open_fds();
    static struct cconn k = { .plan = HOLD };
    static struct made_closed m;
    m.e = e;
    m.k = &k;
    ASSERT_EQ(NKTLS_LOOP_post(e->c.loop, 0, connect_then_close, &m), OK);
    WAIT_FOR(atomic_load(&k.closed), 5000);
    ASSERT_EQ(atomic_load(&m.done), 1);
    ASSERT_GT(m.h, 0);
    ST_EQ(m.st, OK);
    ST_EQ(k.st, ERR_SSL_NOT_OPEN);
    ASSERT_EQ(atomic_load(&k.opened), 0);
    check_all_freed(_metadata, e, fds0);
    uint8_t buf[64];
    usleep(100 * 1000);
    ASSERT_EQ(recv(e->fd, buf, sizeof buf, MSG_DONTWAIT), -1);   /* nothing was sent */
    ASSERT_EQ(errno, EAGAIN);
}

/* A connect() the kernel refuses (the broadcast address without
 * SO_BROADCAST: EACCES) ends in onClose with ERR_TCP_CONNECT_ERROR, as a
 * TCP client's refused connect does; nothing is left open. */
TEST_F(dcli, refused_connect_to_on_close)
{
    struct env *e = &self->e;
    if (!cli_start(_metadata, e, 10000, 1))
        return;
    usleep(50 * 1000);
    int fds0 = open_fds();
    struct sockaddr_in bcast = { .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_BROADCAST) };
    static struct cconn k = { .plan = HOLD };
    ASSERT_GT(dial(e, &bcast, &k), 0);
    WAIT_FOR(atomic_load(&k.closed), 5000);
    ST_EQ(k.st, ERR_TCP_CONNECT_ERROR);
    ASSERT_EQ(atomic_load(&k.opened), 0);
    check_all_freed(_metadata, e, fds0);
    /* Arguments refused at once: no handle. */
    struct { sa_family_t family; char path[20]; } unix_addr = { .family = AF_UNIX };
    ST_EQ(NKTLS_LOOP_connectDTLS(e->c.loop, (struct sockaddr *)&unix_addr, sizeof unix_addr, NULL, env.cli, NULL), ERR_INVALID_ARG);
    ST_EQ(NKTLS_LOOP_connectDTLS(e->c.loop, (struct sockaddr *)&bcast, sizeof bcast - 1, NULL, env.cli, NULL),
          ERR_INVALID_ARG);
    ST_EQ(NKTLS_LOOP_connectDTLS(e->c.loop, NULL, sizeof bcast, NULL, env.cli, NULL), ERR_NULL_POINTER);
}

int main(int argc, char **argv) { return api_env_main(argc, argv); }
