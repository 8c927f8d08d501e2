/* test_heartbeat.c — TLS heartbeats (RFC 6520), in memory: the heartbeat
 * extension in both hellos byte for byte (and none where not enabled), a
 * request and its response between two ends, one request in flight at a time,
 * peer_not_allowed_to_send honoured both ways; a heartbeat record as the
 * kernel hands it over (plaintext, its type given): the response's exact
 * bytes, and what is dropped without a word: a payload_length larger than
 * the record (the Heartbleed shape), padding under 16 bytes, an unknown
 * type, a response that is not ours, a request to an end that did not want
 * one, one during the handshake. A heartbeat record where none was agreed (or in TLS 1.3) is
 * unexpected_message; an unknown mode in a hello is illegal_parameter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"
#include "handshake/tls12.h"
#include "handshake/heartbeat.h"

FIXTURE(hb) {
    struct tp_pair p;
};

static sbyte4 g_calls[2][3];   /* [side][heartbeatType] */
static sbyte4 g_handle[2];

static sbyte4 on_hb(sbyte4 h, sbyte4 status, ubyte type)
{
    int side = h == g_handle[TP_SERVER];
    if (status == OK && type <= 2)
        g_calls[side][type]++;
    return OK;
}

FIXTURE_SETUP(hb)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    for (int s = 0; s < 2; s++) {
        ASSERT_EQ(SSL_ioctl(self->p.h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
        g_handle[s] = self->p.h[s];
    }
    memset(g_calls, 0, sizeof g_calls);
}

FIXTURE_TEARDOWN(hb)
{
    tp_free(&self->p);
}

static void enable(struct __test_metadata *_metadata, struct tp_pair *p, int side, E_HeartbeatExtension mode)
{
    ASSERT_EQ(SSL_enableHeartbeatSupport(p->h[side], mode, on_hb), OK);
}

/* The first hello each way, kept. */
struct hellos {
    struct tp_hello h[2];
    int seen[2];
};

static void keep_hellos(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct hellos *k = arg;
    if (!k->seen[dir] && tp_hello_from_record(rec, &k->h[dir]) == OK)
        k->seen[dir] = 1;
}

/* The heartbeat extension's data in a hello: its one byte, -1 absent, -2 malformed. */
static int hb_ext(const struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_HEARTBEAT);
    return i < 0 ? -1 : h->ext[i].len == 1 ? h->ext[i].data[0] : -2;
}

TEST_F(hb, hello_extension_bytes)
{
    struct hellos k = { 0 };
    enable(_metadata, &self->p, TP_CLIENT, peerAllowedToSend);
    enable(_metadata, &self->p, TP_SERVER, peerNotAllowedToSend);
    self->p.hook = keep_hellos;
    self->p.hook_arg = &k;
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_TRUE(k.seen[TP_C2S] && k.seen[TP_S2C]);
    /* RFC 6520 §2: extension 15, HeartbeatMode 1 / 2. */
    EXPECT_EQ(hb_ext(&k.h[TP_C2S]), 1);
    EXPECT_EQ(hb_ext(&k.h[TP_S2C]), 2);
    EXPECT_EQ(nk_hb_of(&self->p.c[TP_CLIENT]->tls)->peer_mode, 2);
    EXPECT_EQ(nk_hb_of(&self->p.c[TP_SERVER]->tls)->peer_mode, 1);
}

/* A server that did not enable heartbeats does not answer the extension; the
 * client then may not send requests. Nothing enabled: no extension at all. */
TEST_F(hb, server_not_enabled)
{
    struct hellos k = { 0 };
    enable(_metadata, &self->p, TP_CLIENT, peerAllowedToSend);
    self->p.hook = keep_hellos;
    self->p.hook_arg = &k;
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(hb_ext(&k.h[TP_C2S]), 1);
    EXPECT_EQ(hb_ext(&k.h[TP_S2C]), -1);
    EXPECT_EQ(SSL_sendHeartbeatMessage(self->p.h[TP_CLIENT]), ERR_SSL_HEARTBEAT_REFUSED);
    EXPECT_EQ(SSL_sendHeartbeatMessage(self->p.h[TP_SERVER]), ERR_SSL_HEARTBEAT_REFUSED);
    EXPECT_FALSE(nk_hb_of(&self->p.c[TP_SERVER]->tls));
}

TEST_F(hb, none_enabled_no_extension)
{
    struct hellos k = { 0 };
    self->p.hook = keep_hellos;
    self->p.hook_arg = &k;
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(hb_ext(&k.h[TP_C2S]), -1);
    EXPECT_EQ(hb_ext(&k.h[TP_S2C]), -1);
}

TEST_F(hb, request_and_response)
{
    struct tp_pair *p = &self->p;
    enable(_metadata, p, TP_CLIENT, peerAllowedToSend);
    enable(_metadata, p, TP_SERVER, peerAllowedToSend);
    ASSERT_EQ(tp_handshake(p), OK);
    for (int round = 0; round < 2; round++) {
        ASSERT_EQ(SSL_sendHeartbeatMessage(p->h[TP_CLIENT]), OK);
        /* RFC 6520 §3: one request in flight at a time. */
        EXPECT_EQ(SSL_sendHeartbeatMessage(p->h[TP_CLIENT]), ERR_SSL_HEARTBEAT_IN_FLIGHT);
        ASSERT_EQ(tp_pump(p), OK);
        EXPECT_EQ(g_calls[TP_SERVER][NK_HB_REQUEST], round + 1);
        EXPECT_EQ(g_calls[TP_CLIENT][NK_HB_RESPONSE], round + 1);
        EXPECT_FALSE(nk_hb_of(&p->c[TP_CLIENT]->tls)->in_flight);
    }
    /* The other way too, and data still flows. */
    ASSERT_EQ(SSL_sendHeartbeatMessage(p->h[TP_SERVER]), OK);
    ASSERT_EQ(tp_send(p, TP_CLIENT, "ping", 4), OK);
    ASSERT_EQ(tp_pump(p), OK);
    EXPECT_EQ(g_calls[TP_CLIENT][NK_HB_REQUEST], 1);
    EXPECT_EQ(g_calls[TP_SERVER][NK_HB_RESPONSE], 1);
    ASSERT_EQ(p->rx[TP_SERVER].len, 4u);
    EXPECT_EQ(memcmp(p->rx[TP_SERVER].p, "ping", 4), 0);
    EXPECT_EQ(p->c[TP_CLIENT]->err, OK);
    EXPECT_EQ(p->c[TP_SERVER]->err, OK);
}

/* The server said peer_not_allowed_to_send: the client may not send; the
 * server may (the client allowed it). */
TEST_F(hb, peer_not_allowed_to_send)
{
    struct tp_pair *p = &self->p;
    enable(_metadata, p, TP_CLIENT, peerAllowedToSend);
    enable(_metadata, p, TP_SERVER, peerNotAllowedToSend);
    ASSERT_EQ(tp_handshake(p), OK);
    EXPECT_EQ(SSL_sendHeartbeatMessage(p->h[TP_CLIENT]), ERR_SSL_HEARTBEAT_REFUSED);
    ASSERT_EQ(SSL_sendHeartbeatMessage(p->h[TP_SERVER]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    EXPECT_EQ(g_calls[TP_SERVER][NK_HB_RESPONSE], 1);
}

TEST_F(hb, enable_refusals)
{
    struct tp_pair *p = &self->p;
    EXPECT_EQ(SSL_enableHeartbeatSupport(p->h[TP_CLIENT], (E_HeartbeatExtension)7, NULL), ERR_INVALID_ARG);
    EXPECT_EQ(SSL_sendHeartbeatMessage(p->h[TP_CLIENT]), ERR_SSL_NOT_OPEN);
    enable(_metadata, p, TP_CLIENT, peerAllowedToSend);
    /* Turned off again: gone, and no extension goes out. */
    ASSERT_EQ(SSL_enableHeartbeatSupport(p->h[TP_CLIENT], noHeartbeatMessages, NULL), OK);
    EXPECT_FALSE(nk_hb_of(&p->c[TP_CLIENT]->tls));
    ASSERT_EQ(tp_handshake(p), OK);
    /* The hellos carried the mode: too late now. */
    EXPECT_EQ(SSL_enableHeartbeatSupport(p->h[TP_CLIENT], peerAllowedToSend, on_hb), ERR_SSL_BAD_STATE);
    EXPECT_EQ(SSL_sendHeartbeatMessage(p->h[TP_CLIENT] + (1 << 16)), ERR_SSL_BAD_ID);
}

/* ---- a heartbeat record as the kernel hands it over: plaintext, its type given ---- */

/* Both ends agreed (peer_allowed_to_send both ways); the server's keys are set
 * aside, as when the kernel carries both directions, so what it sends is
 * plaintext in p->c[TP_SERVER]->out. */
struct kernel_side {
    struct nk_rec_key *rd, *wr;
};

static void as_kernel(struct __test_metadata *_metadata, struct tp_pair *p, struct kernel_side *k,
                      E_HeartbeatExtension server_mode)
{
    enable(_metadata, p, TP_CLIENT, peerAllowedToSend);
    enable(_metadata, p, TP_SERVER, server_mode);
    ASSERT_EQ(tp_handshake(p), OK);
    struct nk_conn *s = p->c[TP_SERVER];
    k->rd = s->rd;
    k->wr = s->wr;
    s->rd = s->wr = NULL;
    s->out.len = s->out_off = 0;
}

static void back_from_kernel(struct tp_pair *p, struct kernel_side *k)
{
    p->c[TP_SERVER]->rd = k->rd;
    p->c[TP_SERVER]->wr = k->wr;
}

/* A HeartbeatMessage: type, payload_length (claimed), payload (n bytes), padding. */
static size_t hb_msg(uint8_t *out, uint8_t type, uint16_t claimed, const uint8_t *payload, size_t n, size_t pad)
{
    out[0] = type;
    out[1] = (uint8_t)(claimed >> 8);
    out[2] = (uint8_t)claimed;
    memcpy(out + 3, payload, n);
    memset(out + 3 + n, 0xAA, pad);
    return 3 + n + pad;
}

TEST_F(hb, response_bytes)
{
    struct kernel_side k;
    uint8_t m[64];
    static const uint8_t payload[5] = { 'h', 'e', 'l', 'l', 'o' };
    as_kernel(_metadata, &self->p, &k, peerAllowedToSend);
    struct nk_conn *s = self->p.c[TP_SERVER];
    size_t n = hb_msg(m, NK_HB_REQUEST, 5, payload, 5, 16);
    ASSERT_EQ(nk_in_plain(s, NK_CT_HEARTBEAT, m, n), OK);
    /* 24 | 3 3 | length 24 | response(2) | payload_length 5 | "hello" | 16 random bytes */
    static const uint8_t want[] = { 24, 3, 3, 0, 24, 2, 0, 5, 'h', 'e', 'l', 'l', 'o' };
    ASSERT_EQ(s->out.len, sizeof want + 16);
    EXPECT_EQ(memcmp(s->out.p, want, sizeof want), 0);
    EXPECT_EQ(g_calls[TP_SERVER][NK_HB_REQUEST], 1);
    /* The padding is fresh random bytes, not the request's. */
    EXPECT_NE(memcmp(s->out.p + sizeof want, m + 8, 16), 0);
    /* Exactly fitting: a payload filling the record but for 16 bytes. */
    s->out.len = 0;
    n = hb_msg(m, NK_HB_REQUEST, 20, (const uint8_t *)"0123456789abcdefghij", 20, 16);
    ASSERT_EQ(nk_in_plain(s, NK_CT_HEARTBEAT, m, n), OK);
    EXPECT_EQ(s->out.len, 5u + 3 + 20 + 16);
    back_from_kernel(&self->p, &k);
}

/* RFC 6520 §4: each of these is dropped silently: no answer, no error. */
TEST_F(hb, dropped_silently)
{
    struct kernel_side k;
    uint8_t m[64];
    static const uint8_t payload[5] = { 1, 2, 3, 4, 5 };
    as_kernel(_metadata, &self->p, &k, peerAllowedToSend);
    struct nk_conn *s = self->p.c[TP_SERVER];
    struct { const char *what; uint8_t type; uint16_t claimed; size_t pad; } cases[] = {
        { "payload_length 16 KiB in a 24-byte record (Heartbleed)", NK_HB_REQUEST, 0x4000, 16 },
        { "payload_length one past what the record holds", NK_HB_REQUEST, 6, 16 },
        { "padding of 15 bytes", NK_HB_REQUEST, 5, 15 },
        { "unknown type 3", 3, 5, 16 },
        { "a response to no request", NK_HB_RESPONSE, 5, 16 },
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(cases); i++) {
        size_t n = hb_msg(m, cases[i].type, cases[i].claimed, payload, 5, cases[i].pad);
        EXPECT_EQ(nk_in_plain(s, NK_CT_HEARTBEAT, m, n), OK) TH_LOG("%s", cases[i].what);
        EXPECT_EQ(s->out.len, 0u) TH_LOG("%s", cases[i].what);
    }
    /* Too short for a header: one and two bytes. */
    EXPECT_EQ(nk_in_plain(s, NK_CT_HEARTBEAT, m, 1), OK);
    EXPECT_EQ(nk_in_plain(s, NK_CT_HEARTBEAT, m, 2), OK);
    EXPECT_EQ(s->out.len, 0u);
    /* Our request in flight; a response with another payload is not its answer. */
    ASSERT_EQ(SSL_sendHeartbeatMessage(self->p.h[TP_SERVER]), OK);
    s->out.len = s->out_off = 0;
    uint8_t other[NK_HB_PAYLOAD];
    memcpy(other, nk_hb_of(&s->tls)->payload, sizeof other);
    other[0] ^= 1;
    size_t n = hb_msg(m, NK_HB_RESPONSE, NK_HB_PAYLOAD, other, sizeof other, 16);
    EXPECT_EQ(nk_in_plain(s, NK_CT_HEARTBEAT, m, n), OK);
    EXPECT_TRUE(nk_hb_of(&s->tls)->in_flight);
    n = hb_msg(m, NK_HB_RESPONSE, NK_HB_PAYLOAD, nk_hb_of(&s->tls)->payload, NK_HB_PAYLOAD, 16);
    EXPECT_EQ(nk_in_plain(s, NK_CT_HEARTBEAT, m, n), OK);
    EXPECT_FALSE(nk_hb_of(&s->tls)->in_flight);
    EXPECT_EQ(g_calls[TP_SERVER][NK_HB_RESPONSE], 1);
    EXPECT_EQ(g_calls[TP_SERVER][NK_HB_REQUEST], 0);
    EXPECT_EQ(s->err, OK);
    EXPECT_EQ(s->out.len, 0u);
    back_from_kernel(&self->p, &k);
}

/* We said peer_not_allowed_to_send: a request anyway is dropped (§2). */
TEST_F(hb, request_not_wanted)
{
    struct kernel_side k;
    uint8_t m[64];
    as_kernel(_metadata, &self->p, &k, peerNotAllowedToSend);
    struct nk_conn *s = self->p.c[TP_SERVER];
    size_t n = hb_msg(m, NK_HB_REQUEST, 4, (const uint8_t *)"ping", 4, 16);
    EXPECT_EQ(nk_in_plain(s, NK_CT_HEARTBEAT, m, n), OK);
    EXPECT_EQ(s->out.len, 0u);
    EXPECT_EQ(g_calls[TP_SERVER][NK_HB_REQUEST], 0);
    back_from_kernel(&self->p, &k);
}

/* §3: during the handshake a heartbeat is discarded. The server has read
 * the ClientHello (both agreed) and sent its flight, held back here: its
 * handshake is still running. */
TEST_F(hb, during_handshake_discarded)
{
    struct tp_pair *p = &self->p;
    uint8_t m[64];
    enable(_metadata, p, TP_CLIENT, peerAllowedToSend);
    enable(_metadata, p, TP_SERVER, peerAllowedToSend);
    p->hold[TP_S2C] = 1;
    EXPECT_EQ(tp_handshake(p), ERR_SSL_BAD_STATE);   /* neither end open yet */
    struct nk_conn *s = p->c[TP_SERVER];
    ASSERT_NOT_NULL(s->hs);
    ASSERT_EQ(nk_hb_of(&s->tls)->peer_mode, peerAllowedToSend);
    size_t out = s->out.len;
    size_t n = hb_msg(m, NK_HB_REQUEST, 4, (const uint8_t *)"ping", 4, 16);
    EXPECT_EQ(nk_hb_on_record(&s->tls, m, n), OK);
    EXPECT_EQ(s->out.len, out);
    EXPECT_EQ(g_calls[TP_SERVER][NK_HB_REQUEST], 0);
    EXPECT_EQ(s->err, OK);
}

/* No heartbeat agreed: a protected heartbeat record is unexpected_message. */
TEST_F(hb, not_agreed_unexpected)
{
    struct tp_pair *p = &self->p;
    uint8_t m[64];
    ASSERT_EQ(tp_handshake(p), OK);
    size_t n = hb_msg(m, NK_HB_REQUEST, 4, (const uint8_t *)"ping", 4, 16);
    ASSERT_EQ(nk_send_records(&p->c[TP_CLIENT]->tls, NK_CT_HEARTBEAT, m, n), OK);
    EXPECT_EQ(tp_pump(p), OK);   /* the bytes moved; the server failed */
    check_fail(_metadata, p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* TLS 1.3 has no heartbeat: enabled on both ends, nothing is agreed, the state
 * is gone once the handshake completes, and the record type is unexpected. */
TEST_F(hb, tls13_none)
{
    struct tp_pair *p = &self->p;
    uint8_t m[64];
    for (int s = 0; s < 2; s++) {
        ASSERT_EQ(SSL_ioctl(p->h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION), OK);
        enable(_metadata, p, s, peerAllowedToSend);
    }
    ASSERT_EQ(tp_handshake(p), OK);
    EXPECT_EQ(p->c[TP_CLIENT]->minor, 4);
    EXPECT_FALSE(nk_hb_of(&p->c[TP_CLIENT]->tls));
    EXPECT_FALSE(nk_hb_of(&p->c[TP_SERVER]->tls));
    EXPECT_EQ(SSL_sendHeartbeatMessage(p->h[TP_CLIENT]), ERR_SSL_HEARTBEAT_REFUSED);
    size_t n = hb_msg(m, NK_HB_REQUEST, 4, (const uint8_t *)"ping", 4, 16);
    ASSERT_EQ(nk_send_records(&p->c[TP_CLIENT]->tls, NK_CT_HEARTBEAT, m, n), OK);
    EXPECT_EQ(tp_pump(p), OK);   /* the bytes moved; the server failed */
    check_fail(_metadata, p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* §2: an unknown HeartbeatMode is illegal_parameter. */
static void mode_3(struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_HEARTBEAT);
    if (i >= 0)
        h->ext[i].data[0] = 3;
}

TEST_F(hb, unknown_mode_in_client_hello)
{
    enable(_metadata, &self->p, TP_CLIENT, peerAllowedToSend);
    enable(_metadata, &self->p, TP_SERVER, peerAllowedToSend);
    struct hello_edit e = { .dir = TP_C2S, .fn = mode_3, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);   /* the client's: it got the alert */
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

TEST_F(hb, unknown_mode_in_server_hello)
{
    enable(_metadata, &self->p, TP_CLIENT, peerAllowedToSend);
    enable(_metadata, &self->p, TP_SERVER, peerAllowedToSend);
    struct hello_edit e = { .dir = TP_S2C, .fn = mode_3 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_ILLEGAL_PARAMETER);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

/* A ServerHello with the extension the client never sent: unsupported_extension. */
static void add_hb(struct tp_hello *h)
{
    static const uint8_t mode = 1;
    (void)tp_hello_add(h, NK_EXT_HEARTBEAT, &mode, 1);
}

TEST_F(hb, server_hello_unasked)
{
    struct hello_edit e = { .dir = TP_S2C, .fn = add_hb };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_UNSUPPORTED_EXTENSION);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNSUPPORTED_EXTENSION, SSL_ALERT_UNSUPPORTED_EXTENSION);
}

TEST_HARNESS_MAIN
