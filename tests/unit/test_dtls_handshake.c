/* test_dtls_handshake.c — the DTLS 1.2 handshake in memory (handshake/
 * dtls12_hello.c, dtls12_flight.c, engine/dtls.c): our client and server
 * joined by a datagram pipe the test drives on a simulated clock. Full
 * handshakes per AEAD suite with the cookie exchange (the first answer is a
 * HelloVerifyRequest; none with DTLS_SET_HELLO_VERIFIED), the exporter equal
 * on both sides, data both ways; a cookie made for one address refused at
 * another; fragments cut to a small PMTU, every datagram within it; the
 * retransmission timer doubling from 1 s to 60 s; a record that fails to
 * decrypt dropped and counted; then a seeded pipe that loses (up to 30%),
 * duplicates and reorders datagrams, and every handshake completes.
 * Resumption (RFC 5246 §7.3 over RFC 6347): by session id after the cookie
 * exchange (one server datagram, the client the last sender), by ticket
 * alone, a session refused for another name or suite (a full handshake),
 * and 40 seeded resumed handshakes at 30% loss. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "engine/dtls.h"
#include "handshake/tls12.h"
#include "handshake/tls12_resume.h"

/* ---- the datagram pipe ---- */

#define DP_MAX 512

struct dp_dgram {
    int64_t at;          /* delivery time */
    size_t len;
    uint8_t *p;
};

struct dp {
    struct tp_pair p;
    int64_t now;
    uint64_t rng;
    unsigned loss, dup, reorder;            /* percent */
    struct dp_dgram q[2][DP_MAX];           /* by sender */
    size_t nq[2];
    size_t sent[2], max_len[2], bytes[2];
    int first_type[2];                   /* the first handshake message each side sent */
    int drop_all[2];
};

static uint64_t dp_rand(struct dp *d)
{
    uint64_t z = (d->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void dp_push(struct dp *d, int from, const uint8_t *p, size_t n, int64_t at)
{
    if (d->nq[from] == DP_MAX)
        return;
    struct dp_dgram *g = &d->q[from][d->nq[from]++];
    g->at = at;
    g->len = n;
    g->p = malloc(n ? n : 1);
    memcpy(g->p, p, n);
}

/* Take what each side sends and put it on the wire, lossy as configured. */
static void dp_collect(struct dp *d)
{
    for (int s = 0; s < 2; s++) {
        size_t n;
        const uint8_t *p;
        while ((p = nk_dtls_out(d->p.c[s], &n))) {
            if (d->sent[s] == 0 && n > NK_DTLS_HDR && p[0] == NK_CT_HANDSHAKE)
                d->first_type[s] = p[NK_DTLS_HDR];
            d->sent[s]++;
            d->bytes[s] += n;
            if (n > d->max_len[s])
                d->max_len[s] = n;
            int lost = d->drop_all[s] || dp_rand(d) % 100 < d->loss;
            if (!lost) {
                int64_t at = d->now + 1 + (dp_rand(d) % 100 < d->reorder ? (int64_t)(dp_rand(d) % 300) : 0);
                dp_push(d, s, p, n, at);
                if (dp_rand(d) % 100 < d->dup)
                    dp_push(d, s, p, n, at + (int64_t)(dp_rand(d) % 50));
            }
            nk_dtls_out_ack(d->p.c[s]);
        }
    }
}

static int both_open(struct dp *d)
{
    return (nk_conn_wants(d->p.c[0]) & NK_DONE_HS) && (nk_conn_wants(d->p.c[1]) & NK_DONE_HS);
}

/* Deliver the earliest datagram due, or move the clock to the next event
 * (a delivery or a timer). 0 when nothing is left to happen. */
static int dp_step(struct dp *d)
{
    dp_collect(d);
    int best_s = -1;
    size_t best_i = 0;
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < d->nq[s]; i++)
            if (best_s < 0 || d->q[s][i].at < d->q[best_s][best_i].at) {
                best_s = s;
                best_i = i;
            }
    int64_t next = best_s >= 0 ? d->q[best_s][best_i].at : 0;
    for (int s = 0; s < 2; s++) {
        int64_t t = nk_conn_deadline(d->p.c[s]);
        if (t && (!next || t < next))
            next = t;
    }
    if (!next)
        return 0;
    if (next > d->now)
        d->now = next;
    for (int s = 0; s < 2; s++) {
        int64_t t = nk_conn_deadline(d->p.c[s]);
        if (t && t <= d->now)
            (void)!nk_engine_timer(d->p.c[s], d->now);
    }
    if (best_s >= 0 && d->q[best_s][best_i].at <= d->now) {
        struct dp_dgram g = d->q[best_s][best_i];
        memmove(&d->q[best_s][best_i], &d->q[best_s][best_i + 1],
                (d->nq[best_s] - best_i - 1) * sizeof g);
        d->nq[best_s]--;
        struct nk_conn *rc = d->p.c[!best_s];
        if (rc->err >= 0) {
            (void)!nk_dtls_in(rc, g.p, g.len, d->now);
            /* Read what arrived (data both ways is checked by the tests). */
            uint8_t buf[2048];
            size_t got;
            do {
                while ((got = nk_app_read(rc, buf, sizeof buf)))
                    (void)!nk_buf_append(&d->p.rx[!best_s], buf, got);
                if (nk_dtls_in_pending(rc))
                    (void)!nk_dtls_in(rc, NULL, 0, d->now);
            } while ((rc->app_len || nk_dtls_in_pending(rc)) && rc->err >= 0);
        }
        free(g.p);
    }
    return 1;
}

static void dp_free(struct dp *d)
{
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < d->nq[s]; i++)
            free(d->q[s][i].p);
    tp_free(&d->p);
}

static const uint8_t addr_a[] = { 2, 0, 0x13, 0x88, 127, 0, 0, 1 };
static const uint8_t addr_b[] = { 2, 0, 0x13, 0x89, 127, 0, 0, 2 };

static MSTATUS dp_new_mutual(struct dp *d, int key, int cli_key, uint16_t suite, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    d->rng = seed;
    d->now = 1000;
    NK_TRY(tp_new(&d->p, key, cli_key));
    if (suite)
        for (int s = 0; s < 2; s++)
            NK_TRY(SSL_enableCiphers(d->p.h[s], &suite, 1));
    NK_TRY(nk_dtls_conn(d->p.c[TP_CLIENT], NULL, 0));
    NK_TRY(nk_dtls_conn(d->p.c[TP_SERVER], addr_a, sizeof addr_a));
    return OK;
}

static MSTATUS dp_new(struct dp *d, int key, uint16_t suite, uint64_t seed)
{
    return dp_new_mutual(d, key, -1, suite, seed);
}

static MSTATUS dp_start(struct dp *d)
{
    NK_TRY(nk_dtls_engine_start(d->p.c[TP_SERVER], d->now));
    return nk_dtls_engine_start(d->p.c[TP_CLIENT], d->now);
}

/* Run until both are open, one failed, or nothing is left to happen. */
static void dp_run(struct dp *d, unsigned max_steps)
{
    for (unsigned i = 0; i < max_steps && !both_open(d); i++) {
        if (d->p.c[0]->err < 0 || d->p.c[1]->err < 0)
            break;
        if (!dp_step(d))
            break;
    }
    dp_collect(d);
}

static void dp_drain(struct dp *d)
{
    for (unsigned i = 0; i < 200 && dp_step(d); i++)
        ;
}

/* The RFC 5705 exporter both sides (the RFC 5764 label, 60 bytes). */
static void export_both(struct dp *d, uint8_t out[2][60])
{
    static const char label[] = "EXTRACTOR-dtls_srtp";
    for (int s = 0; s < 2; s++)
        if (nk_tls12_conn_export(&d->p.c[s]->tls, (const uint8_t *)label, sizeof label - 1, NULL, 0, out[s], 60)
            != OK)
            memset(out[s], s, 60);
}

/* ---- full handshakes per suite ---- */

FIXTURE(dtls) {
    struct dp d;
};

FIXTURE_VARIANT(dtls) {
    uint16_t suite;
    int key;
};

FIXTURE_VARIANT_ADD(dtls, ecdhe_ecdsa_aes128_gcm) { .suite = 0xc02b, .key = K_P256 };
FIXTURE_VARIANT_ADD(dtls, ecdhe_ecdsa_aes256_gcm) { .suite = 0xc02c, .key = K_P256 };
FIXTURE_VARIANT_ADD(dtls, ecdhe_rsa_aes128_gcm) { .suite = 0xc02f, .key = K_RSA };
FIXTURE_VARIANT_ADD(dtls, ecdhe_ecdsa_chacha20) { .suite = 0xcca9, .key = K_P256 };
FIXTURE_VARIANT_ADD(dtls, ecdhe_rsa_chacha20) { .suite = 0xcca8, .key = K_RSA };
FIXTURE_VARIANT_ADD(dtls, ecdhe_ecdsa_aes128_ccm) { .suite = 0xc0ac, .key = K_P256 };
FIXTURE_VARIANT_ADD(dtls, ecdhe_ecdsa_aes128_ccm8) { .suite = 0xc0ae, .key = K_P256 };

FIXTURE_SETUP(dtls)
{
    ASSERT_EQ(dp_new(&self->d, variant->key, variant->suite, 1), OK);
}

FIXTURE_TEARDOWN(dtls)
{
    dp_free(&self->d);
}

TEST_F(dtls, full_handshake_cookie_data_exporter)
{
    struct dp *d = &self->d;
    ASSERT_EQ(dp_start(d), OK);
    dp_run(d, 200);
    ASSERT_EQ(d->p.c[TP_CLIENT]->err, OK);
    ASSERT_EQ(d->p.c[TP_SERVER]->err, OK);
    ASSERT_TRUE(both_open(d));
    ASSERT_EQ(d->p.c[TP_CLIENT]->suite->id, variant->suite);
    ASSERT_EQ(d->p.c[TP_SERVER]->suite->id, variant->suite);
    /* §4.2.1: the server's first answer is a HelloVerifyRequest. */
    ASSERT_EQ(d->first_type[TP_SERVER], NK_HS_HELLO_VERIFY_REQUEST);
    ASSERT_EQ(d->first_type[TP_CLIENT], NK_HS_CLIENT_HELLO);
    TH_LOG("handshake: client %zu datagrams, %zu bytes; server %zu datagrams, %zu bytes", d->sent[TP_CLIENT],
           d->bytes[TP_CLIENT], d->sent[TP_SERVER], d->bytes[TP_SERVER]);
    /* Flights: ClientHello, ClientHello with the cookie, the client's
     * key exchange flight (one datagram each); HelloVerifyRequest, the
     * server's first flight, its ChangeCipherSpec and Finished. */
    ASSERT_EQ(d->sent[TP_CLIENT], 3u);
    /* Both under epoch 1 now. */
    ASSERT_EQ(d->p.c[TP_CLIENT]->wr->epoch, 1);
    ASSERT_EQ(d->p.c[TP_SERVER]->rd->epoch, 1);
    uint8_t ex[2][60];
    export_both(d, ex);
    ASSERT_MEM_EQ(ex[0], ex[1], 60);
    /* Data both ways, one record per datagram, all within the PMTU. */
    static const char ping[] = "ping over DTLS", pong[] = "pong";
    ASSERT_EQ(nk_app_write(d->p.c[TP_CLIENT], (const uint8_t *)ping, sizeof ping), OK);
    ASSERT_EQ(nk_app_write(d->p.c[TP_SERVER], (const uint8_t *)pong, sizeof pong), OK);
    dp_drain(d);
    ASSERT_EQ(d->p.rx[TP_SERVER].len, sizeof ping);
    ASSERT_MEM_EQ(d->p.rx[TP_SERVER].p, ping, sizeof ping);
    ASSERT_EQ(d->p.rx[TP_CLIENT].len, sizeof pong);
    ASSERT_MEM_EQ(d->p.rx[TP_CLIENT].p, pong, sizeof pong);
    ASSERT_LE(d->max_len[TP_CLIENT], (size_t)NK_DTLS_PMTU);
    ASSERT_LE(d->max_len[TP_SERVER], (size_t)NK_DTLS_PMTU);
    /* Nothing retransmitted on a perfect pipe, no timer left running. */
    ASSERT_EQ(d->p.c[TP_CLIENT]->dtls->retransmits, 0u);
    ASSERT_EQ(d->p.c[TP_SERVER]->dtls->retransmits, 0u);
    ASSERT_EQ(nk_conn_deadline(d->p.c[TP_CLIENT]), 0);
    ASSERT_EQ(nk_conn_deadline(d->p.c[TP_SERVER]), 0);
    /* The server sent the last flight and keeps it for the client's
     * repeats (§4.2.4); the client has nothing left to send again. */
    ASSERT_GT(d->p.c[TP_SERVER]->dtls->flight.len, 0u);
    ASSERT_EQ(d->p.c[TP_CLIENT]->dtls->flight.cap, 0u);
}

/* ---- the cookie ---- */

TEST(hello_verified_skips_the_cookie)
{
    struct dp d;
    ASSERT_EQ(dp_new(&d, K_P256, 0, 2), OK);
    d.p.c[TP_SERVER]->dtls->hello_verified = 1;
    ASSERT_EQ(dp_start(&d), OK);
    dp_run(&d, 200);
    ASSERT_TRUE(both_open(&d));
    ASSERT_EQ(d.first_type[TP_SERVER], NK_HS_SERVER_HELLO);
    dp_free(&d);
}

/* A ClientHello whose cookie was made for address A, replayed from address
 * B, is answered with a new HelloVerifyRequest, not a ServerHello: the
 * cookie binds the address (§4.2.1). The server keeps nothing meanwhile. */
TEST(cookie_bound_to_address)
{
    struct dp d, e;
    ASSERT_EQ(dp_new(&d, K_P256, 0, 3), OK);
    ASSERT_EQ(dp_start(&d), OK);
    dp_collect(&d);                      /* ClientHello 1 */
    ASSERT_EQ(d.nq[TP_CLIENT], 1u);
    ASSERT_TRUE(dp_step(&d));            /* to the server: HelloVerifyRequest back */
    dp_collect(&d);
    ASSERT_EQ(d.nq[TP_SERVER], 1u);
    ASSERT_TRUE(dp_step(&d));            /* to the client: ClientHello 2 with the cookie */
    dp_collect(&d);
    ASSERT_EQ(d.nq[TP_CLIENT], 1u);
    struct dp_dgram ch2 = d.q[TP_CLIENT][0];

    ASSERT_EQ(dp_new(&e, K_P256, 0, 4), OK);
    struct nk_conn *srv = e.p.c[TP_SERVER];
    memcpy(srv->dtls->peer, addr_b, sizeof addr_b);
    ASSERT_EQ(nk_dtls_engine_start(srv, e.now), OK);
    ASSERT_EQ(nk_dtls_in(srv, ch2.p, ch2.len, e.now), OK);
    size_t n;
    const uint8_t *out = nk_dtls_out(srv, &n);
    ASSERT_NOT_NULL(out);
    ASSERT_GT(n, (size_t)NK_DTLS_HDR + NK_DTLS_HS_HDR);
    ASSERT_EQ(out[NK_DTLS_HDR], NK_HS_HELLO_VERIFY_REQUEST);
    /* §4.2.1: its record sequence number is the ClientHello's. */
    ASSERT_MEM_EQ(out + 3, ch2.p + 3, 8);
    ASSERT_EQ(srv->dtls->flight.len, 0u);
    ASSERT_EQ(nk_hs_state(&srv->tls), ST_S_WAIT_CH);

    /* At address A the same datagram gets the ServerHello. */
    ASSERT_TRUE(dp_step(&d));
    dp_collect(&d);
    ASSERT_GT(d.nq[TP_SERVER], 0u);
    ASSERT_EQ(d.q[TP_SERVER][0].p[NK_DTLS_HDR], NK_HS_SERVER_HELLO);
    dp_run(&d, 200);
    ASSERT_TRUE(both_open(&d));
    dp_free(&e);
    dp_free(&d);
}

/* Client authentication (RFC 5246 §7.4.4-§7.4.8) under DTLS: the TLS 1.2
 * code asks, the client's Certificate and CertificateVerify (over the
 * DTLS-form transcript, §4.2.6) come in its flight; at 20% loss too. */
TEST(client_certificate)
{
    for (unsigned loss = 0; loss <= 20; loss += 20) {
        struct dp d;
        ASSERT_EQ(dp_new_mutual(&d, K_P256, K_RSA, 0, 11 + loss), OK);
        d.loss = loss;
        ubyte4 flags = 0;
        ASSERT_EQ(SSL_getSessionFlags(d.p.h[TP_SERVER], &flags), OK);
        ASSERT_EQ(SSL_setSessionFlags(d.p.h[TP_SERVER], flags | SSL_FLAG_REQUIRE_MUTUAL_AUTH), OK);
        ASSERT_EQ(dp_start(&d), OK);
        dp_run(&d, 5000);
        ASSERT_EQ(d.p.c[TP_SERVER]->err, OK);
        ASSERT_TRUE(both_open(&d));
        const ubyte *der;
        ubyte4 len;
        ASSERT_EQ(NKTLS_getPeerCertificate(d.p.h[TP_SERVER], 0, &der, &len), OK);
        ASSERT_GT(len, 0u);
        dp_free(&d);
    }
}

/* ---- fragments and the PMTU ---- */

TEST(small_pmtu_fragments)
{
    struct dp d;
    ASSERT_EQ(dp_new(&d, K_RSA, 0, 5), OK);
    d.p.c[TP_CLIENT]->dtls->pmtu = 256;
    d.p.c[TP_SERVER]->dtls->pmtu = 256;
    ASSERT_EQ(dp_start(&d), OK);
    dp_run(&d, 400);
    ASSERT_TRUE(both_open(&d));
    ASSERT_LE(d.max_len[TP_CLIENT], 256u);
    ASSERT_LE(d.max_len[TP_SERVER], 256u);
    /* The RSA chain alone is several kilobytes: many datagrams. */
    ASSERT_GT(d.sent[TP_SERVER], (size_t)10);
    uint8_t big[3000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 13);
    ASSERT_EQ(nk_app_write(d.p.c[TP_CLIENT], big, sizeof big), OK);
    dp_drain(&d);
    ASSERT_EQ(d.p.rx[TP_SERVER].len, sizeof big);
    ASSERT_MEM_EQ(d.p.rx[TP_SERVER].p, big, sizeof big);
    dp_free(&d);
}

/* ---- retransmission ---- */

/* Everything the server sends is lost: the client sends its ClientHello
 * again at 1, 2, 4, ... s after the last, the wait capped at 60 s
 * (§4.2.4.1). */
TEST(backoff_doubles_to_sixty_seconds)
{
    struct dp d;
    ASSERT_EQ(dp_new(&d, K_P256, 0, 6), OK);
    d.drop_all[TP_SERVER] = 1;
    ASSERT_EQ(dp_start(&d), OK);
    dp_collect(&d);
    struct nk_conn *cli = d.p.c[TP_CLIENT];
    int64_t last = d.now;
    static const int64_t want[] = { 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000 };
    for (size_t i = 0; i < NK_ARRAY_LEN(want); i++) {
        int64_t t = nk_conn_deadline(cli);
        ASSERT_EQ(t - last, want[i]);
        ASSERT_EQ(nk_engine_timer(cli, t - 1), OK);   /* not yet */
        ASSERT_EQ(cli->dtls->retransmits, (uint32_t)i);
        ASSERT_EQ(nk_engine_timer(cli, t), OK);
        ASSERT_EQ(cli->dtls->retransmits, (uint32_t)i + 1);
        /* Each time the same ClientHello, in a datagram of its own. */
        dp_collect(&d);
        ASSERT_EQ(d.nq[TP_CLIENT], i + 2);
        ASSERT_EQ(d.q[TP_CLIENT][i + 1].len, d.q[TP_CLIENT][0].len);
        ASSERT_MEM_EQ(d.q[TP_CLIENT][i + 1].p + NK_DTLS_HDR, d.q[TP_CLIENT][0].p + NK_DTLS_HDR,
                      d.q[TP_CLIENT][0].len - NK_DTLS_HDR);
        last = t;
    }
    dp_free(&d);
}

/* The handshake's time limit ends a DTLS handshake whose every datagram is
 * lost (no alert: the peer broke no rule); once a handshake is over, the
 * limit no longer applies. */
TEST(handshake_limit)
{
    struct dp d;
    ASSERT_EQ(dp_new(&d, K_P256, 0, 9), OK);
    d.drop_all[TP_CLIENT] = d.drop_all[TP_SERVER] = 1;
    nk_engine_hs_limit(d.p.c[TP_CLIENT], d.now, 10000);
    ASSERT_EQ(dp_start(&d), OK);
    dp_run(&d, 100);
    ASSERT_EQ(d.p.c[TP_CLIENT]->err, ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_EQ(d.now, 1000 + 10000);
    ASSERT_EQ(d.p.c[TP_CLIENT]->dtls->retransmits, 3u);   /* at 1, 3 and 7 s */
    dp_free(&d);

    ASSERT_EQ(dp_new(&d, K_P256, 0, 10), OK);
    for (int s = 0; s < 2; s++)
        nk_engine_hs_limit(d.p.c[s], d.now, 10000);
    ASSERT_EQ(dp_start(&d), OK);
    dp_run(&d, 200);
    ASSERT_TRUE(both_open(&d));
    for (int s = 0; s < 2; s++) {
        ASSERT_EQ(nk_conn_deadline(d.p.c[s]), 0);
        ASSERT_EQ(nk_engine_timer(d.p.c[s], d.now + 60000), OK);
        ASSERT_EQ(d.p.c[s]->err, OK);
    }
    dp_free(&d);
}

/* DTLS_SET_HANDSHAKE_RETRANSMISSION_TIMER's value is the first wait. */
TEST(first_wait_is_settable)
{
    struct dp d;
    ASSERT_EQ(dp_new(&d, K_P256, 0, 7), OK);
    d.p.c[TP_CLIENT]->dtls->rto_init_ms = d.p.c[TP_CLIENT]->dtls->rto_ms = 250;
    ASSERT_EQ(dp_start(&d), OK);
    ASSERT_EQ(nk_conn_deadline(d.p.c[TP_CLIENT]) - d.now, 250);
    dp_free(&d);
}

/* ---- records that fail to decrypt ---- */

TEST(bad_record_dropped_silently)
{
    struct dp d;
    ASSERT_EQ(dp_new(&d, K_P256, 0, 8), OK);
    ASSERT_EQ(dp_start(&d), OK);
    dp_run(&d, 200);
    ASSERT_TRUE(both_open(&d));
    struct nk_conn *srv = d.p.c[TP_SERVER];
    static const char msg[] = "authentic";
    ASSERT_EQ(nk_app_write(d.p.c[TP_CLIENT], (const uint8_t *)msg, sizeof msg), OK);
    size_t n;
    const uint8_t *p = nk_dtls_out(d.p.c[TP_CLIENT], &n);
    ASSERT_NOT_NULL(p);
    uint8_t bad[256];
    ASSERT_LE(n, sizeof bad);
    memcpy(bad, p, n);
    bad[n - 1] ^= 0x40;   /* the tag */
    uint32_t macs = srv->dtls->in_cur.drops[NK_DTLS_DROP_MAC];
    ASSERT_EQ(nk_dtls_in(srv, bad, n, d.now), OK);
    ASSERT_EQ(srv->err, OK);
    ASSERT_EQ(srv->app_len, 0u);
    ASSERT_EQ(srv->dtls->in_cur.drops[NK_DTLS_DROP_MAC], macs + 1);
    ASSERT_EQ(srv->alert_out, -1);
    /* The genuine one still opens after it. */
    ASSERT_EQ(nk_dtls_in(srv, p, n, d.now), OK);
    ASSERT_EQ(srv->app_len, sizeof msg);
    ASSERT_MEM_EQ(srv->app, msg, sizeof msg);
    nk_dtls_out_ack(d.p.c[TP_CLIENT]);
    dp_free(&d);
}

/* ---- a lossy, duplicating, reordering pipe ---- */

FIXTURE(lossy) {
    struct dp d;
};

FIXTURE_VARIANT(lossy) {
    unsigned loss, dup, reorder;
    uint16_t pmtu;
};

FIXTURE_VARIANT_ADD(lossy, loss10) { .loss = 10, .dup = 5, .reorder = 10, .pmtu = 1200 };
FIXTURE_VARIANT_ADD(lossy, loss20) { .loss = 20, .dup = 10, .reorder = 20, .pmtu = 1200 };
FIXTURE_VARIANT_ADD(lossy, loss30) { .loss = 30, .dup = 10, .reorder = 30, .pmtu = 1200 };
FIXTURE_VARIANT_ADD(lossy, loss30_pmtu300) { .loss = 30, .dup = 10, .reorder = 30, .pmtu = 300 };

FIXTURE_SETUP(lossy)
{
}

FIXTURE_TEARDOWN(lossy)
{
}

TEST_F_TIMEOUT(lossy, seeds_all_complete, 120)
{
    unsigned total_rtx = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        struct dp *d = &self->d;
        ASSERT_EQ(dp_new(d, seed % 2 ? K_P256 : K_RSA, 0, seed * 7919), OK);
        d->loss = variant->loss;
        d->dup = variant->dup;
        d->reorder = variant->reorder;
        for (int s = 0; s < 2; s++)
            d->p.c[s]->dtls->pmtu = variant->pmtu;
        ASSERT_EQ(dp_start(d), OK);
        /* The simulated clock runs on: many minutes may pass at 30% loss. */
        dp_run(d, 20000);
        ASSERT_EQ(d->p.c[TP_CLIENT]->err, OK) TH_LOG("seed %llu", (unsigned long long)seed);
        ASSERT_EQ(d->p.c[TP_SERVER]->err, OK) TH_LOG("seed %llu", (unsigned long long)seed);
        ASSERT_TRUE(both_open(d)) TH_LOG("seed %llu", (unsigned long long)seed);
        uint8_t ex[2][60];
        export_both(d, ex);
        ASSERT_MEM_EQ(ex[0], ex[1], 60);
        total_rtx += d->p.c[0]->dtls->retransmits + d->p.c[1]->dtls->retransmits;
        dp_free(d);
    }
    TH_LOG("%u flights retransmitted over 40 handshakes", total_rtx);
    if (variant->loss >= 20)
        ASSERT_GT(total_rtx, 0u);
}

/* ---- resumption: RFC 5246 §7.3's abbreviated handshake over DTLS ---- */

struct dtls_session {
    uint8_t id_len, id[32], master[48];
};

/* A full handshake that leaves the client a session: by session id only
 * (tickets 0: the server sends none), or with an RFC 5077 ticket. */
static void full_for_session(struct th_meta *_metadata, int tickets, struct dtls_session *s)
{
    struct dp d;
    ASSERT_EQ(dp_new(&d, K_P256, 0, 21), OK);
    d.p.c[TP_SERVER]->num_tickets = (uint8_t)tickets;
    ASSERT_EQ(dp_start(&d), OK);
    dp_run(&d, 200);
    ASSERT_TRUE(both_open(&d));
    ASSERT_FALSE(d.p.c[TP_CLIENT]->resumed);
    ASSERT_EQ(nk_tls12_session_info(&d.p.c[TP_CLIENT]->tls, &s->id_len, s->id, s->master), OK);
    ASSERT_EQ(s->id_len, 32);
    dp_free(&d);
}

/* A pair whose client offers s (SSL_connect's id and master secret). */
static MSTATUS dp_new_resuming(struct dp *d, const struct dtls_session *s, uint64_t seed)
{
    NK_TRY(dp_new(d, K_P256, 0, seed));
    return nk_tls12_client_offer(&d->p.c[TP_CLIENT]->tls, s->id_len, s->id, s->master);
}

/* Both resumed with the exporter equal; the roles of RFC 6347 §4.2.4
 * flipped: the client sent the last flight and keeps it for the server's
 * repeats, the server keeps nothing and runs no timer. */
static void check_resumed(struct th_meta *_metadata, struct dp *d)
{
    ASSERT_EQ(d->p.c[TP_CLIENT]->err, OK);
    ASSERT_EQ(d->p.c[TP_SERVER]->err, OK);
    ASSERT_TRUE(both_open(d));
    ASSERT_TRUE(d->p.c[TP_CLIENT]->resumed);
    ASSERT_TRUE(d->p.c[TP_SERVER]->resumed);
    uint8_t ex[2][60];
    export_both(d, ex);
    ASSERT_MEM_EQ(ex[0], ex[1], 60);
    ASSERT_TRUE(d->p.c[TP_CLIENT]->dtls->last_sender);
    ASSERT_FALSE(d->p.c[TP_SERVER]->dtls->last_sender);
    ASSERT_GT(d->p.c[TP_CLIENT]->dtls->flight.len, 0u);
    ASSERT_EQ(d->p.c[TP_SERVER]->dtls->flight.cap, 0u);
    ASSERT_EQ(nk_conn_deadline(d->p.c[TP_SERVER]), 0);
}

/* By session id (the server's cache): after the cookie exchange the
 * server's one flight is ServerHello, ChangeCipherSpec, Finished in one
 * datagram (no Certificate), the client answers with its CCS and Finished,
 * data crosses both ways. */
TEST(resume_by_session_id_after_cookie)
{
    struct dtls_session s;
    struct dp d;
    full_for_session(_metadata, 0, &s);
    ASSERT_EQ(dp_new_resuming(&d, &s, 22), OK);
    ASSERT_EQ(dp_start(&d), OK);
    dp_run(&d, 200);
    check_resumed(_metadata, &d);
    ASSERT_EQ(d.first_type[TP_SERVER], NK_HS_HELLO_VERIFY_REQUEST);
    ASSERT_EQ(d.sent[TP_SERVER], 2u);   /* HelloVerifyRequest; ServerHello, CCS, Finished */
    ASSERT_EQ(d.sent[TP_CLIENT], 3u);   /* ClientHello twice; CCS, Finished */
    ASSERT_EQ(d.p.c[TP_CLIENT]->dtls->retransmits + d.p.c[TP_SERVER]->dtls->retransmits, 0u);
    static const char ping[] = "ping after resumption";
    ASSERT_EQ(nk_app_write(d.p.c[TP_CLIENT], (const uint8_t *)ping, sizeof ping), OK);
    ASSERT_EQ(nk_app_write(d.p.c[TP_SERVER], (const uint8_t *)ping, sizeof ping), OK);
    dp_drain(&d);
    ASSERT_EQ(d.p.rx[TP_SERVER].len, sizeof ping);
    ASSERT_MEM_EQ(d.p.rx[TP_SERVER].p, ping, sizeof ping);
    ASSERT_EQ(d.p.rx[TP_CLIENT].len, sizeof ping);
    dp_free(&d);
}

/* By ticket: with the server's cache emptied only the ticket the client
 * kept can resume the session. */
TEST(resume_by_ticket)
{
    struct dtls_session s;
    struct dp d;
    full_for_session(_metadata, 1, &s);
    nk_cache12_flush(NK_CACHE12_SERVER);
    ASSERT_EQ(dp_new_resuming(&d, &s, 23), OK);
    ASSERT_EQ(dp_start(&d), OK);
    dp_run(&d, 200);
    check_resumed(_metadata, &d);
    dp_free(&d);
}

/* A session is resumed only under the rules it was made with: asked for
 * another server name (the client does not offer it), or offered to a
 * server whose suites no longer include its suite, it is a full
 * handshake, never a failure. */
TEST(resume_refused_is_a_full_handshake)
{
    struct dtls_session s;
    struct dp d;
    full_for_session(_metadata, 0, &s);
    ASSERT_EQ(dp_new_resuming(&d, &s, 24), OK);
    ASSERT_EQ(nk_tls_set_server_name(&d.p.c[TP_CLIENT]->tls, "other.example.com"), OK);
    ASSERT_EQ(dp_start(&d), OK);
    dp_run(&d, 200);
    ASSERT_TRUE(both_open(&d));
    ASSERT_FALSE(d.p.c[TP_CLIENT]->resumed);
    ASSERT_FALSE(d.p.c[TP_SERVER]->resumed);
    dp_free(&d);
    uint16_t other = 0xc02c;   /* the session's is 0xc02b */
    ASSERT_EQ(dp_new_resuming(&d, &s, 25), OK);
    ASSERT_EQ(SSL_enableCiphers(d.p.h[TP_SERVER], &other, 1), OK);
    ASSERT_EQ(dp_start(&d), OK);
    dp_run(&d, 200);
    ASSERT_TRUE(both_open(&d));
    ASSERT_FALSE(d.p.c[TP_SERVER]->resumed);
    ASSERT_EQ(d.p.c[TP_CLIENT]->suite->id, 0xc02c);
    dp_free(&d);
}

/* Resumed handshakes at 30% loss with duplicates and reordering: the
 * client's last flight lost makes the server send its flight again, which
 * the client answers with its own (§4.2.4); every seed completes. */
TEST_TIMEOUT(resume_under_loss, 120)
{
    struct dtls_session s[2];
    full_for_session(_metadata, 0, &s[0]);
    full_for_session(_metadata, 1, &s[1]);
    unsigned rtx = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        struct dp d;
        ASSERT_EQ(dp_new_resuming(&d, &s[seed % 2], seed * 104729), OK);
        d.loss = 30;
        d.dup = 10;
        d.reorder = 30;
        ASSERT_EQ(dp_start(&d), OK);
        dp_run(&d, 20000);
        ASSERT_TRUE(both_open(&d)) TH_LOG("seed %llu", (unsigned long long)seed);
        check_resumed(_metadata, &d);
        rtx += d.p.c[0]->dtls->retransmits + d.p.c[1]->dtls->retransmits;
        dp_free(&d);
    }
    TH_LOG("%u flights sent again over 40 resumed handshakes", rtx);
    ASSERT_GT(rtx, 0u);
}

TEST_HARNESS_MAIN
