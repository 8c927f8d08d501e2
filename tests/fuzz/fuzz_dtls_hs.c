/* fuzz_dtls_hs.c — libFuzzer target for the DTLS 1.2 handshake
 * (handshake/dtls12_*.c, engine/dtls.c).
 *
 * Byte 0 picks the mode:
 *   bit 2 clear: the rest is a peer's datagrams, each behind a 2-byte length,
 *      given to a fresh connection — a server (bit 0 clear; bit 1 set: its
 *      cookie exchange is skipped, DTLS_SET_HELLO_VERIFIED, so a ClientHello
 *      reaches the TLS 1.2 server at once) or a client that has sent its
 *      ClientHello (bit 0 set); the retransmission timer fires between
 *      datagrams;
 *   bit 2 set: a live client and server (bit 3: offering use_srtp) whose
 *      datagrams the input schedules one by one: byte b, b % 4 == 0 drops the
 *      datagram, 1 delivers it, 2 delivers it twice, 3 flips the bit the next
 *      byte names; with no datagram in flight the clock moves to the next
 *      timer. Whenever both complete, their exporters and SRTP profiles must
 *      agree (else abort): no schedule of loss, repetition or damage may end
 *      in two open connections with different keys.
 * With NKTLS_FUZZ_SEEDS=DIR set, the process writes seeds to DIR and exits. */
#include "fuzz/fuzz_common.h"
#include "engine/dtls.h"
#include "handshake/tls12.h"

static struct nk_conn *dtls_new(int client, sbyte4 *h, int verified, int srtp)
{
    certStorePtr store = fz_setup();
    struct nk_conn *c;
    *h = client ? SSL_connect(-1, 0, NULL, NULL, (const sbyte *)"localhost", store)
                : SSL_acceptConnection(-1, store);
    if (*h < 0 || nk_conn_get(*h, &c) < 0)
        abort();
    static const uint8_t addr[] = { 2, 0, 0x13, 0x88, 127, 0, 0, 1 };
    if (nk_dtls_conn(c, client ? NULL : addr, client ? 0 : sizeof addr) < 0)
        abort();
    c->now = (int64_t)FZ_NOW * 1000;
    c->dtls->hello_verified = (uint8_t)verified;
    if (srtp) {
        c->dtls->use_srtp = 1;
        c->dtls->srtp_offer[0] = 1;
        c->dtls->srtp_offer[1] = 7;
        c->dtls->n_srtp = 2;
    }
    return c;
}

static void drain(struct nk_conn *c)
{
    size_t n;
    uint8_t sink[256];
    while (nk_dtls_out(c, &n))
        nk_dtls_out_ack(c);
    while (nk_app_read(c, sink, sizeof sink) > 0)
        ;
}

static void datagrams(const uint8_t *in, size_t size, uint8_t b0)
{
    sbyte4 h;
    int client = b0 & 1;
    fz_rng_reset(client ? FZ_STREAM_CLIENT : FZ_STREAM_SERVER);
    struct nk_conn *c = dtls_new(client, &h, (b0 >> 1) & 1, 0);
    int64_t now = 1000;
    struct nk_rd r;
    nk_rd_init(&r, in, size);
    if (nk_dtls_engine_start(c, now) == OK) {
        struct nk_rd d;
        while (c->err >= 0 && nk_rd_vec16(&r, &d, 0, 0xffff) == OK) {
            drain(c);
            if (nk_dtls_in(c, d.p, nk_rd_left(&d), now) < 0)
                break;
            while (c->app_len || nk_dtls_in_pending(c)) {
                drain(c);
                if (nk_dtls_in_pending(c) && nk_dtls_in(c, NULL, 0, now) < 0)
                    break;
            }
            now += 700;
            (void)!nk_engine_timer(c, now);
        }
        drain(c);
    }
    SSL_closeConnection(h);
}

#define LIVE_MAX 64

struct flight_q {
    uint8_t *p[LIVE_MAX];
    size_t n[LIVE_MAX];
    int to[LIVE_MAX];
    size_t count;
};

static void take(struct flight_q *q, struct nk_conn *from, int to)
{
    size_t n;
    const uint8_t *p;
    while ((p = nk_dtls_out(from, &n))) {
        if (q->count < LIVE_MAX) {
            q->p[q->count] = malloc(n ? n : 1);
            if (!q->p[q->count])
                abort();
            memcpy(q->p[q->count], p, n);
            q->n[q->count] = n;
            q->to[q->count++] = to;
        }
        nk_dtls_out_ack(from);
    }
}

static void give(struct nk_conn *c, const uint8_t *p, size_t n, int64_t now)
{
    if (c->err < 0 || nk_dtls_in(c, p, n, now) < 0)
        return;
    uint8_t sink[256];
    while (c->err >= 0 && (c->app_len || nk_dtls_in_pending(c))) {
        while (nk_app_read(c, sink, sizeof sink) > 0)
            ;
        if (nk_dtls_in_pending(c) && nk_dtls_in(c, NULL, 0, now) < 0)
            return;
    }
}

static void check_agree(struct nk_conn *c[2])
{
    static const uint8_t label[] = "EXTRACTOR-dtls_srtp";
    uint8_t k[2][32];
    for (int s = 0; s < 2; s++)
        if (nk_tls12_conn_export(&c[s]->tls, label, sizeof label - 1, NULL, 0, k[s], sizeof k[s]) < 0)
            abort();
    if (memcmp(k[0], k[1], sizeof k[0]) != 0 || c[0]->suite != c[1]->suite
        || c[0]->dtls->srtp_profile != c[1]->dtls->srtp_profile)
        abort();
}

static void live(const uint8_t *in, size_t size, uint8_t b0)
{
    sbyte4 h[2];
    struct nk_conn *c[2];
    struct flight_q q = { 0 };
    int srtp = (b0 >> 3) & 1;
    int64_t now = 1000;
    c[1] = dtls_new(0, &h[1], 0, srtp);
    c[0] = dtls_new(1, &h[0], 0, srtp);
    fz_rng_reset(FZ_STREAM_SERVER);
    if (nk_dtls_engine_start(c[1], now) < 0)
        abort();
    fz_rng_reset(FZ_STREAM_CLIENT);
    if (nk_dtls_engine_start(c[0], now) < 0)
        abort();
    size_t i = 0;
    for (int steps = 0; steps < 400 && c[0]->err >= 0 && c[1]->err >= 0; steps++) {
        take(&q, c[0], 1);
        take(&q, c[1], 0);
        if (c[0]->status == SSL_CONNECTION_OPEN && c[1]->status == SSL_CONNECTION_OPEN) {
            check_agree(c);
            break;
        }
        if (q.count == 0) {
            int64_t t0 = nk_conn_deadline(c[0]), t1 = nk_conn_deadline(c[1]);
            int64_t t = !t0 ? t1 : !t1 ? t0 : t0 < t1 ? t0 : t1;
            if (!t)
                break;
            now = t > now ? t : now;
            for (int s = 0; s < 2; s++)
                (void)!nk_engine_timer(c[s], now);
            continue;
        }
        uint8_t *p = q.p[0];
        size_t n = q.n[0];
        int to = q.to[0];
        memmove(q.p, q.p + 1, (q.count - 1) * sizeof q.p[0]);
        memmove(q.n, q.n + 1, (q.count - 1) * sizeof q.n[0]);
        memmove(q.to, q.to + 1, (q.count - 1) * sizeof q.to[0]);
        q.count--;
        uint8_t b = i < size ? in[i++] : 1;
        now += 1;
        switch (b % 4) {
        case 0:
            break;
        case 2:
            give(c[to], p, n, now);
            /* fall through: twice */
        case 1:
            give(c[to], p, n, now);
            break;
        case 3: {
            size_t bit = i < size ? in[i++] : 0;
            if (n)
                p[(bit / 8) % n] ^= (uint8_t)(1u << (bit % 8));
            give(c[to], p, n, now);
            break;
        }
        }
        free(p);
    }
    while (q.count)
        free(q.p[--q.count]);
    SSL_closeConnection(h[0]);
    SSL_closeConnection(h[1]);
}

static void write_seeds(const char *dir)
{
    static const uint8_t seeds[][6] = {
        { 0x04, 1, 1, 1, 1, 1 },    /* a clean live handshake */
        { 0x0c, 1, 0, 1, 2, 1 },    /* with use_srtp, a loss and a repeat */
        { 0x04, 3, 40, 1, 1, 1 },   /* the ClientHello damaged */
        { 0x02, 0, 0, 0, 0, 0 },    /* a verified server, empty datagrams */
    };
    fz_write_seeds(dir, seeds[0], sizeof seeds / sizeof seeds[0], sizeof seeds[0]);
    exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    (void)fz_setup();
    const char *dir = getenv("NKTLS_FUZZ_SEEDS");
    if (dir)
        write_seeds(dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 4)
        live(data + 1, size - 1, data[0]);
    else
        datagrams(data + 1, size - 1, data[0]);
    return 0;
}
