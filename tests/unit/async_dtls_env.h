/* async_dtls_env.h — what test_async_dtls.c and test_async_dtls_udp.c share:
 * the upcalls of async_env.h installed for DTLS connections, the SRTP init
 * callback recorded per side, a seeded datagram network that loses,
 * duplicates and reorders, and the application's timer step. */
#ifndef ASYNC_DTLS_ENV_H
#define ASYNC_DTLS_ENV_H

#include "unit/async_env.h"

/* ECDHE-ECDSA-AES128-GCM-SHA256: a record adds its header, the explicit
 * nonce and the tag (13 + 8 + 16, RFC 6347 §4.1, RFC 5288 §3). */
#define SUITE 0xC02B
#define REC_OVER 37
#define PMTU 1200   /* the default DTLS_SET_PMTU */

static ubyte dg[1 << 16];   /* one datagram on its way */

/* ---- DTLS-SRTP keying: what the init callback was given, per handle ---- */

static struct srtp_told {
    sbyte4 h;
    int calls;
    ubyte2 profile;
    ubyte km[92];
    ubyte4 km_len;
} srtp_told[2];
static pthread_mutex_t srtp_mu = PTHREAD_MUTEX_INITIALIZER;

static sbyte4 on_srtp_init(sbyte4 h, peerDescr *peer, const SrtpProfileInfo *info, void *km, ubyte *mki)
{
    (void)peer;
    (void)mki;
    pthread_mutex_lock(&srtp_mu);
    struct srtp_told *t = srtp_told[0].h == h ? &srtp_told[0] : &srtp_told[1];
    t->calls++;
    t->profile = info->profileId;
    t->km_len = 2u * (ubyte4)(info->keySize + info->saltSize);
    memcpy(t->km, km, t->km_len);
    pthread_mutex_unlock(&srtp_mu);
    return OK;
}

static void adtls_setup(struct th_meta *_metadata)
{
    async_env_up(_metadata);
    memset(srtp_told, 0, sizeof srtp_told);
    echo_h = 0;
}

static void adtls_teardown(void)
{
    SSL_setSrtpInitCallback(NULL);
    ups_reset();
    env_down();
}

static int is_open(sbyte4 h)
{
    ubyte4 status = 0;
    return SSL_getSessionStatus(h, &status) == OK && status == SSL_CONNECTION_OPEN;
}

/* Pin the suite (the record overhead the size checks expect) and make the
 * retransmission timer start at rto_ms. */
static MSTATUS dtls_settings(sbyte4 h, ubyte4 rto_ms)
{
    static const ubyte2 suite[] = { SUITE };
    NK_TRY(SSL_enableCiphers(h, suite, 1));
    return SSL_ioctl(h, DTLS_SET_HANDSHAKE_RETRANSMISSION_TIMER, (void *)(uintptr_t)rto_ms);
}

/* ---- a datagram network: seeded loss, duplicates, reordering ---- */

struct net {
    struct { ubyte4 n; ubyte b[PMTU]; } q[2][64];   /* datagrams on their way to CLI, SRV */
    int len[2];
    uint64_t rng;
    int loss, dup, reorder;                         /* percent */
    int sent, lost, duped;
};

static uint32_t net_rand(struct net *w)
{
    w->rng ^= w->rng << 13;   /* xorshift64 */
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return (uint32_t)(w->rng >> 32);
}

static void net_put(struct net *w, int to, const ubyte *p, ubyte4 n)
{
    w->sent++;
    if (net_rand(w) % 100 < (uint32_t)w->loss) {
        w->lost++;
        return;
    }
    int copies = net_rand(w) % 100 < (uint32_t)w->dup ? 2 : 1;
    w->duped += copies - 1;
    for (int k = 0; k < copies && w->len[to] < 64; k++) {
        int at = w->len[to];
        if (at && net_rand(w) % 100 < (uint32_t)w->reorder)
            at = (int)(net_rand(w) % (uint32_t)at);
        memmove(&w->q[to][at + 1], &w->q[to][at], (size_t)(w->len[to] - at) * sizeof w->q[to][0]);
        w->q[to][at].n = n;
        memcpy(w->q[to][at].b, p, n);
        w->len[to]++;
    }
}

/* Everything h has to send onto the network towards `to`. Every datagram
 * must fit the PMTU, and each getSendBuffer hands out exactly the length
 * sendMessagePending announced. */
static MSTATUS net_collect(struct net *w, sbyte4 h, int to)
{
    sbyte4 want;
    while ((want = SSL_ASYNC_sendMessagePending(h)) > 0) {
        ubyte4 len = sizeof dg;
        NK_TRY(SSL_ASYNC_getSendBuffer(h, dg, &len));
        if (len != (ubyte4)want || len > PMTU)
            return ERR_SSL_INTERNAL;
        net_put(w, to, dg, len);
    }
    return want;
}

/* Deliver what waits for h, one datagram per SSL_ASYNC_recvMessage. */
static MSTATUS net_deliver(struct net *w, sbyte4 h, int to, int *moved)
{
    for (int i = 0; i < w->len[to]; i++) {
        *moved = 1;
        NK_TRY(SSL_ASYNC_recvMessage(h, w->q[to][i].b, w->q[to][i].n));
    }
    w->len[to] = 0;
    return OK;
}

/* The application's timer: wait as long as SSL_DTLS_getTimeout says (a
 * little when no timer runs), then ask DTLS_isTimerExpired, which sends the
 * flight again when due. Returns how many timers fired, or an error. */
static sbyte4 timer_step(const sbyte4 *h, int n)
{
    ubyte4 wait = 0;
    for (int i = 0; i < n; i++) {
        ubyte4 ms = 0;
        NK_TRY(SSL_DTLS_getTimeout(h[i], &ms));
        if (ms && (!wait || ms < wait))
            wait = ms;
    }
    usleep((wait ? wait : 1) * 1000u);
    sbyte4 fired = 0;
    for (int i = 0; i < n; i++) {
        sbyte4 r = DTLS_isTimerExpired(h[i]);
        if (r < 0)
            return r;
        fired += r == TRUE;
    }
    return fired;
}

/* Run the network until both ends are open (or a call fails): datagrams
 * both ways, and the timers whenever nothing moves. *fired counts the
 * retransmissions the timers made. */
static MSTATUS net_handshake(struct net *w, sbyte4 h[2], int *fired)
{
    for (int round = 0; round < 20000; round++) {
        if (is_open(h[CLI]) && is_open(h[SRV]) && !w->len[CLI] && !w->len[SRV] &&
            SSL_ASYNC_sendMessagePending(h[CLI]) == 0 && SSL_ASYNC_sendMessagePending(h[SRV]) == 0)
            return OK;
        int moved = 0;
        for (int i = 0; i < 2; i++) {
            MSTATUS st = net_collect(w, h[i], 1 - i);
            if (st < 0)
                return st;
        }
        for (int i = 0; i < 2; i++)
            NK_TRY(net_deliver(w, h[i], i, &moved));
        if (!moved) {
            sbyte4 r = timer_step(h, 2);
            if (r < 0)
                return r;
            *fired += r;
        }
    }
    return ERR_SSL_HANDSHAKE_TIMEOUT;
}

#endif
