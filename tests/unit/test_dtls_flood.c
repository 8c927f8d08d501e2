/* test_dtls_flood.c — a DTLS 1.2 server before a valid cookie (RFC 6347
 * §4.2.1) keeps nothing of what it is sent: thousands of ClientHellos from
 * spoofed addresses, each answered with a HelloVerifyRequest and none leaving
 * an allocation, a timer, a kept flight or a moved replay window behind;
 * forged cookies (a flipped bit, another address, another hello, a secret
 * two windows old) answered the same way; truncated and oversized records
 * and fragments, hellos too long, malformed or of a refused version, and
 * records of other epochs, dropped without an answer or an error; and
 * after all of it the real client's handshake completes. In memory: the test
 * hands the server each datagram with the address it came from, as a
 * listener demultiplexing one UDP socket would. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "engine/dtls.h"

static const uint8_t addr_a[] = { 2, 0, 0x13, 0x88, 127, 0, 0, 1 };
static const uint8_t addr_b[] = { 2, 0, 0x13, 0x89, 127, 0, 0, 2 };

#define T0 (1000 * 60000 + 1000)   /* the clock: a second into a cookie window */

struct dg {
    uint8_t p[1500];
    size_t n;
};

/* A client and a server (at addr_a's client), both started; the client's
 * first ClientHello taken into *ch. */
static MSTATUS fl_new(struct tp_pair *p, struct dg *ch)
{
    NK_TRY(tp_new(p, K_P256, -1));
    NK_TRY(nk_dtls_conn(p->c[TP_CLIENT], NULL, 0));
    NK_TRY(nk_dtls_conn(p->c[TP_SERVER], addr_a, sizeof addr_a));
    NK_TRY(nk_dtls_engine_start(p->c[TP_SERVER], T0));
    NK_TRY(nk_dtls_engine_start(p->c[TP_CLIENT], T0));
    const uint8_t *out = nk_dtls_out(p->c[TP_CLIENT], &ch->n);
    NK_CHECK(out && ch->n <= sizeof ch->p, ERR_SSL_BAD_STATE);
    memcpy(ch->p, out, ch->n);
    nk_dtls_out_ack(p->c[TP_CLIENT]);
    return OK;
}

static void set_peer(struct nk_conn *srv, const uint8_t *addr, size_t len)
{
    memcpy(srv->dtls->peer, addr, len);
    srv->dtls->peer_len = (uint8_t)len;
}

/* Hand the server one datagram; its answers: how many, the first in *out. */
static int feed(struct nk_conn *srv, const struct dg *in, int64_t now, struct dg *out, MSTATUS *st)
{
    const uint8_t *p;
    size_t n;
    int k = 0;
    *st = nk_dtls_in(srv, in->p, in->n, now);
    out->n = 0;
    while ((p = nk_dtls_out(srv, &n))) {
        if (!k++ && n <= sizeof out->p) {
            memcpy(out->p, p, n);
            out->n = n;
        }
        nk_dtls_out_ack(srv);
    }
    return k;
}

static int is_hvr(const struct dg *d)
{
    return d->n == NK_DTLS_HDR + NK_DTLS_HS_HDR + 3 + NK_DTLS_COOKIE_LEN && d->p[0] == NK_CT_HANDSHAKE
           && d->p[NK_DTLS_HDR] == NK_HS_HELLO_VERIFY_REQUEST
           && d->p[NK_DTLS_HDR + NK_DTLS_HS_HDR + 2] == NK_DTLS_COOKIE_LEN;
}

static const uint8_t *cookie_of(const struct dg *hvr) { return hvr->p + NK_DTLS_HDR + NK_DTLS_HS_HDR + 3; }

static void set_rec_seq(struct dg *d, uint64_t seq)
{
    for (int i = 0; i < 6; i++)
        d->p[5 + i] = (uint8_t)(seq >> (40 - 8 * i));
}

/* Nothing of a client kept: the hello state, no flight, no timer, nothing
 * reassembled beyond the one hello just read, the epoch-0 window untouched. */
static int stateless(const struct nk_conn *srv, size_t hello_len)
{
    const struct nk_dtls *d = srv->dtls;
    return nk_dtls_hello_stateless(&srv->tls) && srv->err >= 0 && srv->status != SSL_CONNECTION_OPEN
           && d->flight.len == 0 && nk_conn_deadline(srv) == 0 && d->ra.held <= 2 * hello_len
           && d->in_cur.win.next == 0 && d->in_cur.win.bits == 0;
}

static size_t heap_used(void)
{
    return mallinfo2().uordblks;
}

/* Every datagram `from` has ready, to `to`; 0 when `to` fails. */
static int pump(struct nk_conn *from, struct nk_conn *to, int64_t now)
{
    const uint8_t *q;
    size_t n;
    while ((q = nk_dtls_out(from, &n))) {
        if (nk_dtls_in(to, q, n, now) < 0)
            return 0;
        nk_dtls_out_ack(from);
    }
    return 1;
}

/* The real client's handshake from its first ClientHello, through the
 * server now at its address: both must end open. */
static int complete(struct tp_pair *p, const struct dg *ch1, int64_t now)
{
    struct nk_conn *c = p->c[TP_CLIENT], *s = p->c[TP_SERVER];
    set_peer(s, addr_a, sizeof addr_a);
    if (nk_dtls_in(s, ch1->p, ch1->n, now) < 0)
        return 0;
    for (int step = 0; step < 20; step++) {
        if (!pump(s, c, now) || !pump(c, s, now))
            return 0;
        if (c->status == SSL_CONNECTION_OPEN && s->status == SSL_CONNECTION_OPEN)
            return 1;
    }
    return 0;
}

/* ---- the flood ---- */

#define FLOOD 5000

TEST(spoofed_hello_flood_keeps_nothing)
{
    struct tp_pair p;
    struct dg ch1, ch, out;
    MSTATUS st;
    ASSERT_EQ(fl_new(&p, &ch1), OK);
    struct nk_conn *srv = p.c[TP_SERVER];
    uint8_t first_cookie[2][NK_DTLS_COOKIE_LEN];
    size_t base = 0;
    unsigned hvr = 0;
    for (unsigned i = 0; i < FLOOD + 64; i++) {
        if (i == 64)
            base = heap_used();   /* the buffers reused for every datagram are at their size by now */
        /* A spoofed source: IPv4 and IPv6-sized addresses, every port. */
        uint8_t addr[NK_DTLS_ADDR_MAX] = { 2, 0, (uint8_t)(i >> 8), (uint8_t)i, 10, (uint8_t)(i >> 16), 7, 9 };
        size_t alen = i % 3 == 2 ? NK_DTLS_ADDR_MAX : 16;
        if (alen == NK_DTLS_ADDR_MAX) {
            addr[0] = 10;
            memcpy(addr + 8, &i, sizeof i);
        }
        set_peer(srv, addr, alen);
        /* Each its own hello (random) and record number, jumps included. */
        ch = ch1;
        if (i >= 2)
            memcpy(ch.p + NK_DTLS_HDR + NK_DTLS_HS_HDR + 2, &i, sizeof i);
        set_rec_seq(&ch, i % 7 == 3 ? 0xffffffffffffULL - i : (uint64_t)i * 7919);
        ASSERT_EQ(feed(srv, &ch, T0 + i, &out, &st), 1);
        ASSERT_EQ(st, OK);
        ASSERT_TRUE(is_hvr(&out));
        hvr++;
        /* §4.2.1: the answer's record number is the hello's. */
        ASSERT_MEM_EQ(out.p + 5, ch.p + 5, 6);
        if (i < 2)
            memcpy(first_cookie[i], cookie_of(&out), NK_DTLS_COOKIE_LEN);
        ASSERT_TRUE(stateless(srv, ch.n));
    }
    ASSERT_EQ(hvr, FLOOD + 64u);
    /* The same hello from two addresses: two cookies. */
    ASSERT_NE(memcmp(first_cookie[0], first_cookie[1], NK_DTLS_COOKIE_LEN), 0);
    size_t after = heap_used();
    TH_LOG("%u ClientHellos from spoofed sources: heap %zu -> %zu bytes", FLOOD, base, after);
    ASSERT_LE(after, base + 1024);
    /* The server still serves its client. */
    ASSERT_TRUE(complete(&p, &ch1, T0 + FLOOD));
    tp_free(&p);
}

/* ---- forged cookies ---- */

/* ClientHello 2 of a real exchange at addr_a, clock T0: the cookie valid. */
static MSTATUS second_hello(struct tp_pair *p, struct dg *ch1, struct dg *ch2)
{
    struct dg hvr;
    MSTATUS st;
    NK_TRY(fl_new(p, ch1));
    NK_CHECK(feed(p->c[TP_SERVER], ch1, T0, &hvr, &st) == 1 && is_hvr(&hvr), ERR_SSL_BAD_STATE);
    NK_TRY(nk_dtls_in(p->c[TP_CLIENT], hvr.p, hvr.n, T0));
    const uint8_t *q = nk_dtls_out(p->c[TP_CLIENT], &ch2->n);
    NK_CHECK(q && ch2->n <= sizeof ch2->p, ERR_SSL_BAD_STATE);
    memcpy(ch2->p, q, ch2->n);
    nk_dtls_out_ack(p->c[TP_CLIENT]);
    return OK;
}

/* Offset of the cookie in a ClientHello datagram: after the version, the
 * random, the session id and the cookie's length byte. */
static size_t cookie_at(const struct dg *ch)
{
    size_t at = NK_DTLS_HDR + NK_DTLS_HS_HDR + 2 + 32;
    return at + 1 + ch->p[at] + 1;
}

TEST(forged_cookies_refused_without_state)
{
    struct tp_pair p;
    struct dg ch1, ch2, bad, out;
    MSTATUS st;
    ASSERT_EQ(second_hello(&p, &ch1, &ch2), OK);
    struct nk_conn *srv = p.c[TP_SERVER];
    size_t at = cookie_at(&ch2);
    ASSERT_EQ(ch2.p[at - 1], NK_DTLS_COOKIE_LEN);

    /* A wrong HMAC: every byte of the cookie in turn, one bit flipped. */
    for (size_t i = 0; i < NK_DTLS_COOKIE_LEN; i++) {
        bad = ch2;
        bad.p[at + i] ^= (uint8_t)(1u << (i % 8));
        ASSERT_EQ(feed(srv, &bad, T0, &out, &st), 1);
        ASSERT_EQ(st, OK);
        ASSERT_TRUE(is_hvr(&out));
        ASSERT_TRUE(stateless(srv, bad.n));
    }
    /* The cookie of another address. */
    set_peer(srv, addr_b, sizeof addr_b);
    ASSERT_EQ(feed(srv, &ch2, T0, &out, &st), 1);
    ASSERT_TRUE(is_hvr(&out));
    ASSERT_TRUE(stateless(srv, ch2.n));
    set_peer(srv, addr_a, sizeof addr_a);
    /* The cookie of another hello: the random changed. */
    bad = ch2;
    bad.p[NK_DTLS_HDR + NK_DTLS_HS_HDR + 2] ^= 1;
    ASSERT_EQ(feed(srv, &bad, T0, &out, &st), 1);
    ASSERT_TRUE(is_hvr(&out));
    ASSERT_TRUE(stateless(srv, bad.n));
    /* A secret two windows old (the cookie's window and the next one are
     * accepted, a minute each, on the connection's wall clock), and one of
     * a window still to come. */
    int64_t made = srv->now;
    srv->now = made + 2 * 60000;
    ASSERT_EQ(feed(srv, &ch2, T0, &out, &st), 1);
    ASSERT_TRUE(is_hvr(&out));
    ASSERT_TRUE(stateless(srv, ch2.n));
    srv->now = made - 60000;
    ASSERT_EQ(feed(srv, &ch2, T0, &out, &st), 1);
    ASSERT_TRUE(is_hvr(&out));
    ASSERT_TRUE(stateless(srv, ch2.n));
    /* The new HelloVerifyRequest's cookie is not the refused one. */
    ASSERT_NE(memcmp(cookie_of(&out), ch2.p + at, NK_DTLS_COOKIE_LEN), 0);
    /* The genuine cookie, a window later, still opens the handshake: the
     * ServerHello comes, and from here the server keeps state. */
    srv->now = made + 60000;
    ASSERT_GE(feed(srv, &ch2, T0, &out, &st), 1);
    ASSERT_EQ(st, OK);
    ASSERT_EQ(out.p[NK_DTLS_HDR], NK_HS_SERVER_HELLO);
    ASSERT_FALSE(nk_dtls_hello_stateless(&srv->tls));
    ASSERT_GT(srv->dtls->flight.len, 0u);
    tp_free(&p);
}

/* ---- malformed datagrams before the cookie ---- */

TEST(truncated_oversized_and_other_epochs_dropped)
{
    struct tp_pair p;
    struct dg ch1, bad, out;
    MSTATUS st;
    ASSERT_EQ(fl_new(&p, &ch1), OK);
    struct nk_conn *srv = p.c[TP_SERVER];
    struct nk_dtls_in *in = &srv->dtls->in_cur;
    size_t body = ch1.n - NK_DTLS_HDR;

    /* The record cut short at every length: dropped, nothing said. */
    for (size_t n = 1; n < ch1.n; n++) {
        bad = ch1;
        bad.n = n;
        ASSERT_EQ(feed(srv, &bad, T0, &out, &st), 0);
        ASSERT_EQ(st, OK);
        ASSERT_TRUE(stateless(srv, 0));
    }
    ASSERT_GT(in->drops[NK_DTLS_DROP_TRUNCATED], 0u);
    /* A record length past the datagram. */
    bad = ch1;
    nk_store16(bad.p + 11, (uint16_t)(body + 1));
    ASSERT_EQ(feed(srv, &bad, T0, &out, &st), 0);
    ASSERT_TRUE(stateless(srv, 0));
    /* A fragment_length past the record: the fragment is dropped. */
    bad = ch1;
    bad.p[NK_DTLS_HDR + 11] += 1;
    ASSERT_EQ(feed(srv, &bad, T0, &out, &st), 0);
    ASSERT_EQ(st, OK);
    ASSERT_TRUE(stateless(srv, 0));
    /* A record over the limit (2^14 + 1 plaintext bytes). */
    static uint8_t big[NK_DTLS_HDR + 16385];
    memcpy(big, ch1.p, NK_DTLS_HDR);
    nk_store16(big + 11, 16385);
    ASSERT_EQ(nk_dtls_in(srv, big, sizeof big, T0), OK);
    ASSERT_NULL(nk_dtls_out(srv, &body));
    ASSERT_TRUE(stateless(srv, 0));
    ASSERT_GT(in->drops[NK_DTLS_DROP_LENGTH], 0u);
    /* Epochs: 1 (not yet ours), 2, 0xffff: dropped, never answered. */
    static const uint16_t epochs[] = { 1, 2, 0x8000, 0xffff };
    for (size_t i = 0; i < NK_ARRAY_LEN(epochs); i++) {
        bad = ch1;
        nk_store16(bad.p + 3, epochs[i]);
        ASSERT_EQ(feed(srv, &bad, T0, &out, &st), 0);
        ASSERT_EQ(st, OK);
        ASSERT_TRUE(stateless(srv, 0));
    }
    ASSERT_GT(in->drops[NK_DTLS_DROP_EPOCH], 0u);
    /* A hello fragment claiming a message longer than any limit (2^24 - 1
     * bytes), and a first fragment of a hello whose rest never comes, from
     * a thousand sources: no answer, no error, at most one message held. */
    bad = ch1;
    bad.p[NK_DTLS_HDR + 1] = bad.p[NK_DTLS_HDR + 2] = bad.p[NK_DTLS_HDR + 3] = 0xff;
    ASSERT_EQ(feed(srv, &bad, T0, &out, &st), 0);
    ASSERT_EQ(st, OK);
    ASSERT_TRUE(stateless(srv, 0));
    /* A malformed hello (a 33-byte session id) and one of DTLS 1.0: before
     * a cookie anyone may have sent them; dropped, the server waits on. */
    bad = ch1;
    bad.p[NK_DTLS_HDR + NK_DTLS_HS_HDR + 2 + 32] = 33;
    ASSERT_EQ(feed(srv, &bad, T0, &out, &st), 0);
    ASSERT_EQ(st, OK);
    ASSERT_TRUE(stateless(srv, 0));
    bad = ch1;
    nk_store16(bad.p + NK_DTLS_HDR + NK_DTLS_HS_HDR, 0xfeff);
    ASSERT_EQ(feed(srv, &bad, T0, &out, &st), 0);
    ASSERT_EQ(st, OK);
    ASSERT_TRUE(stateless(srv, 0));
    size_t base = heap_used();
    for (unsigned i = 0; i < 1000; i++) {
        uint8_t addr[16] = { 2, 0, (uint8_t)(i >> 8), (uint8_t)i, 192, 0, 2, 1 };
        set_peer(srv, addr, sizeof addr);
        bad = ch1;
        nk_store16(bad.p + 11, (uint16_t)(body - 10));   /* the record ends 10 bytes early */
        bad.p[NK_DTLS_HDR + 11] -= 10;                    /* and so does the fragment */
        bad.n -= 10;
        memcpy(bad.p + NK_DTLS_HDR + NK_DTLS_HS_HDR + 2, &i, sizeof i);
        ASSERT_EQ(feed(srv, &bad, T0, &out, &st), 0);
        ASSERT_EQ(st, OK);
        ASSERT_LE(srv->dtls->ra.held, 2 * ch1.n);
    }
    ASSERT_LE(heap_used(), base + 2 * ch1.n + 1024);
    /* After all of it the client's hello gets its HelloVerifyRequest, and
     * its handshake completes. */
    ASSERT_TRUE(complete(&p, &ch1, T0));
    tp_free(&p);
}

TEST_HARNESS_MAIN
