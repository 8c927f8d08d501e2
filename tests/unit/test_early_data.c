/* test_early_data.c — TLS 1.3 0-RTT data (RFC 8446 §4.2.10, §4.5, §8) between
 * our client and our server in memory (tls_pair.h): a first handshake gives a
 * ticket that allows early data (SSL_setMaxEarlyDataSize), the resumed one
 * carries SSL_setEarlyData's bytes. Accepted, in order before the data sent
 * after the handshake; rejected (ticket without permission, another ALPN
 * protocol, after a HelloRetryRequest, over the receive limit, a ticket age
 * that disagrees, a replayed ClientHello) with the handshake completing and
 * nothing delivered; EndOfEarlyData required and refused out of place; more
 * than max_early_data_size is unexpected_message; the anti-replay register. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "handshake/early.h"

#define EARLY "GET /early HTTP/1.1\r\n\r\n"
#define LATER "and then the rest"

/* The client's ticket store: the last ticket saved. */
static ubyte g_ticket[4096];
static ubyte4 g_ticket_len;

static sbyte4 save_psk(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte *psk, ubyte4 len)
{
    (void)h, (void)info, (void)info_len;
    if (len > sizeof g_ticket)
        return -1;
    memcpy(g_ticket, psk, len);
    g_ticket_len = len;
    return 0;
}

static sbyte4 retrieve_psk(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte **psk, ubyte4 *len, intBoolean *free_it)
{
    (void)h, (void)info, (void)info_len;
    *psk = g_ticket_len ? g_ticket : NULL;
    *len = g_ticket_len;
    *free_it = FALSE;
    return 0;
}

static sbyte4 alpn_pick_first(sbyte4 h, ubyte **out[], sbyte4 *out_len, ubyte *in, sbyte4 in_len)
{
    (void)h;
    if (in_len < 2)
        return ERR_SSL_NO_APPLICATION_PROTOCOL;
    *out = (ubyte **)in;
    *out_len = 1 + in[0];
    return OK;
}

struct opts {
    sbyte4 max_early;          /* server: SSL_setMaxEarlyDataSize (-1: not called) */
    sbyte4 recv_early;         /* server: SSL_setRecvEarlyDataSize (-1: not called) */
    const char *alpn;          /* the client offers this protocol first */
    const char *alpn2;         /* and this one after it (NULL: alpn alone) */
    const ubyte2 *srv_groups;  /* the server's groups (a HelloRetryRequest) */
    ubyte4 n_srv_groups;
};

/* A pair whose client keeps tickets and offers the last one kept. */
static MSTATUS pair_new(struct tp_pair *p, const struct opts *o)
{
    NK_TRY(tp_new(p, K_P256, -1));
    NK_TRY(SSL_setClientSavePSKCallback(p->h[TP_CLIENT], save_psk));
    NK_TRY(SSL_CLIENT_setRetrievePSKCallback(p->h[TP_CLIENT], retrieve_psk));
    if (o->max_early >= 0)
        NK_TRY(SSL_setMaxEarlyDataSize(p->h[TP_SERVER], o->max_early));
    if (o->recv_early >= 0)
        NK_TRY(SSL_setRecvEarlyDataSize(p->h[TP_SERVER], o->recv_early));
    if (o->alpn) {
        const char *offer[2] = { o->alpn, o->alpn2 };
        NK_TRY(SSL_setApplicationLayerProtocol(p->h[TP_CLIENT], o->alpn2 ? 2 : 1, offer));
        NK_TRY(SSL_setAlpnCallback(p->h[TP_SERVER], alpn_pick_first));
    }
    if (o->srv_groups)
        NK_TRY(NKTLS_setGroups(p->h[TP_SERVER], o->srv_groups, o->n_srv_groups));
    return OK;
}

/* A full handshake that leaves a ticket in g_ticket. */
static MSTATUS first_session(const struct opts *o)
{
    struct tp_pair p;
    g_ticket_len = 0;
    MSTATUS st = pair_new(&p, o);
    if (st == OK)
        st = tp_handshake(&p);
    if (st == OK && !g_ticket_len)
        st = ERR_SSL_BAD_STATE;
    tp_free(&p);
    return st;
}

static ubyte4 status_of(struct tp_pair *p, int side)
{
    ubyte4 s = 99;
    if (SSL_ioctl(p->h[side], SSL_GET_EARLY_DATA_STATUS, &s) != OK)
        return 98;
    return s;
}

static uint32_t load32(const uint8_t *p) { return (uint32_t)p[0] << 24 | nk_load24(p + 1); }

/* The ticket blob's max_early_data_size (its last four bytes, version 2). */
static void blob_set_max_early(uint32_t max)
{
    g_ticket[4] = 2;
    g_ticket[g_ticket_len - 4] = (uint8_t)(max >> 24);
    nk_store24(g_ticket + g_ticket_len - 3, max);
}

static const struct opts allow = { .max_early = 4096, .recv_early = -1 };

/* Resume with early data and check what each side ends with. */
static void resume_expect(struct __test_metadata *_metadata, const struct opts *o, ubyte4 want,
                          int want_resumed)
{
    struct tp_pair p;
    ASSERT_EQ(pair_new(&p, o), OK);
    ASSERT_EQ(SSL_setEarlyData(p.h[TP_CLIENT], (ubyte *)EARLY, sizeof EARLY - 1), OK);
    ASSERT_EQ(tp_handshake(&p), OK);
    ASSERT_EQ(NKTLS_isSessionResumed(p.h[TP_CLIENT]), want_resumed);
    ASSERT_EQ(status_of(&p, TP_CLIENT), want);
    ASSERT_EQ(status_of(&p, TP_SERVER), want);
    ASSERT_EQ(tp_send(&p, TP_CLIENT, LATER, sizeof LATER - 1), OK);
    ASSERT_EQ(tp_pump(&p), OK);
    if (want == SSL_EARLY_DATA_ACCEPTED) {   /* early data first, then the rest, once */
        ASSERT_EQ(p.rx[TP_SERVER].len, sizeof EARLY - 1 + sizeof LATER - 1);
        ASSERT_MEM_EQ(p.rx[TP_SERVER].p, EARLY LATER, p.rx[TP_SERVER].len);
    } else {                                 /* never delivered */
        ASSERT_EQ(p.rx[TP_SERVER].len, sizeof LATER - 1);
        ASSERT_MEM_EQ(p.rx[TP_SERVER].p, LATER, sizeof LATER - 1);
    }
    tp_free(&p);
}

TEST(accepted_in_order)
{
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&allow), OK);
    ASSERT_EQ(g_ticket[4], 2);   /* the kept ticket carries max_early_data_size */
    ASSERT_EQ(load32(g_ticket + g_ticket_len - 4), 4096u);
    resume_expect(_metadata, &allow, SSL_EARLY_DATA_ACCEPTED, TRUE);
}

/* Each record the client sends, by content type, and the early record's size. */
struct seen {
    unsigned n;
    uint8_t types[16];
    struct nk_buf bytes;       /* everything the client sent */
    int drop_eoed;             /* drop the record after the early data */
};

static void watch_client(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct seen *s = arg;
    (void)p;
    if (dir != TP_C2S)
        return;
    if (s->n < sizeof s->types)
        s->types[s->n] = rec->p[0];
    (void)!nk_buf_append(&s->bytes, rec->p, rec->len);
    /* CH, CCS, the early data: the fourth is EndOfEarlyData. */
    if (s->drop_eoed && s->n == 3)
        rec->len = 0;
    s->n++;
}

TEST(flight_and_end_of_early_data)
{
    struct tp_pair p;
    struct seen s = { 0 };
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&allow), OK);
    ASSERT_EQ(pair_new(&p, &allow), OK);
    p.hook = watch_client;
    p.hook_arg = &s;
    ASSERT_EQ(SSL_setEarlyData(p.h[TP_CLIENT], (ubyte *)EARLY, sizeof EARLY - 1), OK);
    ASSERT_EQ(tp_handshake(&p), OK);
    /* ClientHello, change_cipher_spec (D.4), the 0-RTT record, then
     * EndOfEarlyData and Finished each under its own key. */
    ASSERT_EQ(s.n, 5u);
    ASSERT_EQ(s.types[0], NK_CT_HANDSHAKE);
    ASSERT_EQ(s.types[1], NK_CT_CHANGE_CIPHER_SPEC);
    ASSERT_EQ(s.types[2], NK_CT_APPLICATION_DATA);
    ASSERT_EQ(s.types[3], NK_CT_APPLICATION_DATA);
    ASSERT_EQ(s.types[4], NK_CT_APPLICATION_DATA);
    /* The EndOfEarlyData record: the 4-byte message, its type byte, a tag. */
    size_t at = 0;
    for (int i = 0; i < 3; i++)
        at += NK_REC_HDR + nk_load16(s.bytes.p + at + 3);
    ASSERT_EQ(nk_load16(s.bytes.p + at + 3), 4u + 1 + 16);
    nk_buf_free(&s.bytes);
    tp_free(&p);
}

TEST(missing_end_of_early_data_fails)
{
    struct tp_pair p;
    struct seen s = { .drop_eoed = 1 };
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&allow), OK);
    ASSERT_EQ(pair_new(&p, &allow), OK);
    p.hook = watch_client;
    p.hook_arg = &s;
    ASSERT_EQ(SSL_setEarlyData(p.h[TP_CLIENT], (ubyte *)EARLY, sizeof EARLY - 1), OK);
    ASSERT_NE(tp_handshake(&p), OK);
    /* The Finished arrives under the handshake key while the early key still
     * reads: it does not open (bad_record_mac, §5.2). */
    ASSERT_EQ(p.c[TP_SERVER]->err, ERR_SSL_BAD_RECORD_MAC);
    ASSERT_EQ(p.c[TP_SERVER]->alert_out, NK_ALERT_BAD_RECORD_MAC);
    ASSERT_EQ(p.rx[TP_SERVER].len, 0u);   /* nothing of an unfinished handshake */
    nk_buf_free(&s.bytes);
    tp_free(&p);
}

/* A client that sends its Finished under the early key, with no
 * EndOfEarlyData: the early key reads nothing but 0-RTT data, alerts and
 * EndOfEarlyData (§4.5). The test seals the record with the client's early
 * key, at the sequence number after the 0-RTT record. */
struct forge {
    struct tp_crypt k;
    unsigned n;
};

static void finished_under_early_key(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct forge *f = arg;
    if (dir != TP_C2S || f->n++ != 3)
        return;
    uint8_t fin[4 + 32] = { NK_HS_FINISHED, 0, 0, 32 };
    rec->len = 0;
    (void)!tp_crypt_seal(&f->k, NK_CT_HANDSHAKE, fin, sizeof fin, 0, rec);
}

TEST(finished_under_early_key_is_unexpected)
{
    struct tp_pair p;
    struct forge f = { 0 };
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&allow), OK);
    ASSERT_EQ(pair_new(&p, &allow), OK);
    ASSERT_EQ(SSL_setEarlyData(p.h[TP_CLIENT], (ubyte *)EARLY, sizeof EARLY - 1), OK);
    ASSERT_EQ(tp_start(&p), OK);   /* ClientHello, CCS and the 0-RTT record are queued */
    struct nk_conn *c = p.c[TP_CLIENT];
    ASSERT_TRUE(c->early && c->early->sending);
    ASSERT_EQ(tp_crypt_init(&f.k, nk_suite_by_id(c->hs->offer->suite), c->early->secret, 1), OK);
    p.hook = finished_under_early_key;
    p.hook_arg = &f;
    ASSERT_EQ(tp_pump(&p), OK);
    ASSERT_EQ(p.c[TP_SERVER]->err, ERR_SSL_UNEXPECTED_MESSAGE);
    ASSERT_EQ(p.c[TP_SERVER]->alert_out, NK_ALERT_UNEXPECTED_MESSAGE);
    tp_crypt_free(&f.k);
    tp_free(&p);
}

TEST(end_of_early_data_out_of_place)
{
    struct tp_pair p;
    uint8_t eoed[4] = { NK_HS_END_OF_EARLY_DATA, 0, 0, 0 };
    struct nk_rd body;
    /* A server that accepted no early data: EndOfEarlyData is unexpected (§4.5). */
    ASSERT_EQ(tp_new(&p, K_P256, -1), OK);
    ASSERT_EQ(SSL_setMaxEarlyDataSize(p.h[TP_SERVER], 100), OK);
    nk_rd_init(&body, eoed + 4, 0);
    ASSERT_EQ(nk_early_on_end(&p.c[TP_SERVER]->tls, &body, eoed, 4), ERR_SSL_UNEXPECTED_MESSAGE);
    ASSERT_EQ(nk_alert_for(ERR_SSL_UNEXPECTED_MESSAGE), NK_ALERT_UNEXPECTED_MESSAGE);
    tp_free(&p);
}

TEST(ticket_without_permission)
{
    struct opts no = { .max_early = -1, .recv_early = -1 };
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&no), OK);
    ASSERT_EQ(g_ticket[4], 1);   /* no max_early_data_size: the client sends none */
    resume_expect(_metadata, &allow, SSL_EARLY_DATA_NOT_SENT, TRUE);
    /* A client that claims a permission the ticket lacks: skipped. */
    ASSERT_EQ(first_session(&no), OK);
    g_ticket_len += 4;
    blob_set_max_early(4096);
    resume_expect(_metadata, &allow, SSL_EARLY_DATA_REJECTED, TRUE);
}

/* A server connection that never enabled 0-RTT (no SSL_setMaxEarlyDataSize,
 * no receive bound) skips the early data of a client whose ticket, from a
 * server that did, allows it: both ends say SSL_EARLY_DATA_REJECTED (the
 * early_data extension was in the ClientHello), not NOT_SENT, and the
 * connection holds no 0-RTT state for it. */
TEST(server_without_0rtt_reports_rejected)
{
    struct opts off = { .max_early = -1, .recv_early = -1 };
    struct tp_pair p;
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&allow), OK);
    resume_expect(_metadata, &off, SSL_EARLY_DATA_REJECTED, TRUE);
    /* The same server, the client sending nothing early: NOT_SENT. */
    ASSERT_EQ(first_session(&allow), OK);
    ASSERT_EQ(pair_new(&p, &off), OK);
    ASSERT_EQ(tp_handshake(&p), OK);
    ASSERT_EQ(NKTLS_isSessionResumed(p.h[TP_SERVER]), TRUE);
    ASSERT_NULL(p.c[TP_SERVER]->early);
    ASSERT_EQ(status_of(&p, TP_SERVER), (ubyte4)SSL_EARLY_DATA_NOT_SENT);
    ASSERT_EQ(status_of(&p, TP_CLIENT), (ubyte4)SSL_EARLY_DATA_NOT_SENT);
    tp_free(&p);
}

TEST(other_alpn_rejected)
{
    struct opts h2 = allow, h11 = allow;
    h2.alpn = "h2";
    h11.alpn = "http/1.1";
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&h2), OK);
    /* The ticket is bound to h2 and its data written for h2: a client that
     * now asks for http/1.1 sends none (§4.2.10), and the server, which
     * selects http/1.1, makes it a full handshake. */
    resume_expect(_metadata, &h11, SSL_EARLY_DATA_NOT_SENT, FALSE);
    ASSERT_EQ(first_session(&h2), OK);
    resume_expect(_metadata, &h2, SSL_EARLY_DATA_ACCEPTED, TRUE);
    /* A client that still sends such data (a blob claiming http/1.1): the
     * server refuses it as before. */
    ASSERT_EQ(first_session(&h2), OK);
    ASSERT_EQ(g_ticket[4], 3);
    g_ticket_len -= 2;   /* "\x02h2" becomes "\x08http/1.1" */
    memcpy(g_ticket + g_ticket_len - 1, "\x08http/1.1", 9);
    g_ticket_len += 8;
    resume_expect(_metadata, &h11, SSL_EARLY_DATA_REJECTED, FALSE);
}

/* The ticket keeps the ALPN protocol its 0-RTT data is for (blob version 3:
 * max_early_data_size, then the protocol); the client sends early data only
 * when the protocol it offers first is that one. An older blob (version 2,
 * no protocol) still reads, as a ticket of a connection without ALPN. */
TEST(early_data_follows_first_alpn)
{
    struct opts h2 = allow, h2_h11 = allow, h11_h2 = allow, none = allow;
    h2.alpn = "h2";
    h2_h11.alpn = "h2", h2_h11.alpn2 = "http/1.1";
    h11_h2.alpn = "http/1.1", h11_h2.alpn2 = "h2";
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&h2), OK);
    ASSERT_EQ(g_ticket[4], 3);
    ASSERT_MEM_EQ(g_ticket + g_ticket_len - 7, "\0\0\x10\0\x02h2", 7);   /* 4096, then "h2" */
    resume_expect(_metadata, &h2_h11, SSL_EARLY_DATA_ACCEPTED, TRUE);
    ASSERT_EQ(first_session(&h2), OK);
    resume_expect(_metadata, &h11_h2, SSL_EARLY_DATA_NOT_SENT, FALSE);
    /* Without ALPN on either side: version 2, and the data goes. */
    ASSERT_EQ(first_session(&none), OK);
    ASSERT_EQ(g_ticket[4], 2);
    resume_expect(_metadata, &none, SSL_EARLY_DATA_ACCEPTED, TRUE);
    /* A version-2 blob of an h2 connection: read, but no protocol kept, so
     * a client offering h2 sends nothing early; it still resumes. */
    ASSERT_EQ(first_session(&h2), OK);
    g_ticket[4] = 2;
    g_ticket_len -= 3;
    resume_expect(_metadata, &h2, SSL_EARLY_DATA_NOT_SENT, TRUE);
}

TEST(after_hello_retry_rejected)
{
    static const ubyte2 p256 = 23;
    struct opts hrr = allow;
    hrr.srv_groups = &p256;   /* the client's first share is X25519's */
    hrr.n_srv_groups = 1;
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&allow), OK);
    resume_expect(_metadata, &hrr, SSL_EARLY_DATA_REJECTED, TRUE);
}

/* The process-wide receive bound serves a connection that set none itself
 * (a server of a fleet that shares ticket keys: another issued the ticket). */
TEST(process_wide_receive_bound)
{
    struct opts none = { .max_early = -1, .recv_early = -1 };
    ubyte4 v = 99;
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&allow), OK);
    ASSERT_EQ(SSL_Settings_Ioctl(SSL_SETTINGS_SET_RECV_MAX_EARLY_DATA, (void *)(uintptr_t)4096), OK);
    ASSERT_EQ(SSL_Settings_Ioctl(SSL_SETTINGS_GET_RECV_MAX_EARLY_DATA, &v), OK);
    ASSERT_EQ(v, 4096u);
    resume_expect(_metadata, &none, SSL_EARLY_DATA_ACCEPTED, TRUE);
    ASSERT_EQ(first_session(&allow), OK);
    ASSERT_EQ(SSL_Settings_Ioctl(SSL_SETTINGS_SET_RECV_MAX_EARLY_DATA, (void *)(uintptr_t)100), OK);
    resume_expect(_metadata, &none, SSL_EARLY_DATA_REJECTED, TRUE);   /* the ticket allows more */
    ASSERT_EQ(SSL_Settings_Ioctl(SSL_SETTINGS_SET_RECV_MAX_EARLY_DATA, NULL), OK);
}

TEST(over_receive_limit_rejected)
{
    struct opts small = allow;
    small.recv_early = 10;   /* less than the ticket allows: not accepted */
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&allow), OK);
    resume_expect(_metadata, &small, SSL_EARLY_DATA_REJECTED, TRUE);
}

TEST(more_than_max_early_data_is_unexpected_message)
{
    struct tp_pair p;
    static uint8_t big[3000];
    struct opts o = { .max_early = 1000, .recv_early = -1 };
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&o), OK);
    blob_set_max_early(sizeof big);   /* the client believes it may send more */
    ASSERT_EQ(pair_new(&p, &o), OK);
    tp_fill(big, sizeof big, 7);
    ASSERT_EQ(SSL_setEarlyData(p.h[TP_CLIENT], big, sizeof big), OK);
    ASSERT_NE(tp_handshake(&p), OK);
    /* §4.2.10: more than max_early_data_size: unexpected_message. */
    ASSERT_EQ(p.c[TP_SERVER]->err, ERR_SSL_EARLY_DATA_LIMIT);
    ASSERT_EQ(p.c[TP_SERVER]->alert_out, NK_ALERT_UNEXPECTED_MESSAGE);
    ASSERT_EQ(p.c[TP_CLIENT]->alert_in, NK_ALERT_UNEXPECTED_MESSAGE);
    ASSERT_EQ(p.rx[TP_SERVER].len, 0u);
    tp_free(&p);
}

TEST(tls12_answer_to_early_data_fails)
{
    struct tp_pair p;
    struct seen w = { 0 };
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&allow), OK);
    ASSERT_EQ(pair_new(&p, &allow), OK);
    p.hook = watch_client;
    p.hook_arg = &w;
    ASSERT_EQ(SSL_ioctl(p.h[TP_SERVER], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
    ASSERT_EQ(SSL_setEarlyData(p.h[TP_CLIENT], (ubyte *)EARLY, sizeof EARLY - 1), OK);
    ASSERT_NE(tp_handshake(&p), OK);
    /* RFC 8446 D.3: a client that sent 0-RTT data fails on a TLS 1.2
     * ServerHello, with protocol_version in the clear (a TLS 1.2 server has no
     * early key): its last record is the bare alert. */
    ASSERT_EQ(p.c[TP_CLIENT]->err, ERR_SSL_EARLY_DATA_DOWNGRADE);
    ASSERT_EQ(p.c[TP_CLIENT]->alert_out, NK_ALERT_PROTOCOL_VERSION);
    ASSERT_EQ(status_of(&p, TP_CLIENT), (ubyte4)SSL_EARLY_DATA_REJECTED);
    ASSERT_GE(w.bytes.len, 7u);
    const uint8_t alert[7] = { NK_CT_ALERT, 3, 3, 0, 2, SSLALERTLEVEL_FATAL, NK_ALERT_PROTOCOL_VERSION };
    ASSERT_MEM_EQ(w.bytes.p + w.bytes.len - 7, alert, 7);
    nk_buf_free(&w.bytes);
    tp_free(&p);
}

TEST(ticket_age_disagrees_rejected)
{
    struct tp_pair p;
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&allow), OK);
    ASSERT_EQ(pair_new(&p, &allow), OK);
    p.c[TP_SERVER]->now += 60 * 1000;   /* §8.3: a minute older than the client says */
    ASSERT_EQ(SSL_setEarlyData(p.h[TP_CLIENT], (ubyte *)EARLY, sizeof EARLY - 1), OK);
    ASSERT_EQ(tp_handshake(&p), OK);
    ASSERT_TRUE(NKTLS_isSessionResumed(p.h[TP_SERVER]));
    ASSERT_EQ(status_of(&p, TP_SERVER), (ubyte4)SSL_EARLY_DATA_REJECTED);
    ASSERT_EQ(status_of(&p, TP_CLIENT), (ubyte4)SSL_EARLY_DATA_REJECTED);
    ASSERT_EQ(p.rx[TP_SERVER].len, 0u);
    tp_free(&p);
}

TEST(replayed_client_hello_rejected)
{
    struct tp_pair p;
    struct seen s = { 0 };
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&allow), OK);
    ASSERT_EQ(pair_new(&p, &allow), OK);
    p.hook = watch_client;
    p.hook_arg = &s;
    ASSERT_EQ(SSL_setEarlyData(p.h[TP_CLIENT], (ubyte *)EARLY, sizeof EARLY - 1), OK);
    ASSERT_EQ(tp_handshake(&p), OK);
    ASSERT_EQ(status_of(&p, TP_SERVER), (ubyte4)SSL_EARLY_DATA_ACCEPTED);
    ASSERT_EQ(p.rx[TP_SERVER].len, sizeof EARLY - 1);
    /* The attacker sends the first flight again (ClientHello, CCS, the 0-RTT
     * record) to a second server connection of the same process. */
    size_t flight = 0;
    for (int i = 0; i < 3; i++)
        flight += NK_REC_HDR + nk_load16(s.bytes.p + flight + 3);
    sbyte4 h2 = SSL_acceptConnection(-1, p.store[TP_SERVER]);
    struct nk_conn *c2;
    ASSERT_GT(h2, 0);
    ASSERT_EQ(nk_conn_get(h2, &c2), OK);
    c2->now = p.c[TP_SERVER]->now;
    c2->is_async = 1;
    ASSERT_EQ(SSL_setMaxEarlyDataSize(h2, 4096), OK);
    ASSERT_EQ(nk_engine_start(c2), OK);
    size_t used;
    ASSERT_EQ(nk_in_datagram(c2, s.bytes.p, flight, &used), OK);
    ASSERT_EQ(used, flight);
    ASSERT_EQ(c2->err, OK);   /* the handshake goes on, resumed ... */
    ASSERT_TRUE(c2->hs && c2->hs->psk_ok);
    ubyte4 st = 99;           /* ... without the early data: skipped, never delivered */
    ASSERT_EQ(SSL_ioctl(h2, SSL_GET_EARLY_DATA_STATUS, &st), OK);
    ASSERT_EQ(st, (ubyte4)SSL_EARLY_DATA_REJECTED);
    ASSERT_TRUE(c2->early->replayed);
    ASSERT_EQ(c2->app_len, 0u);
    ASSERT_EQ(c2->early->data.len, 0u);
    ASSERT_EQ(SSL_closeConnection(h2), OK);
    nk_buf_free(&s.bytes);
    tp_free(&p);
}

static struct nk_buf g_cb_data;
static int g_cb_calls;
static dataState g_cb_state = DATA_STATE_APPLICATION;

static sbyte4 on_data(sbyte4 h, ubyte *d, ubyte4 n, dataState state)
{
    (void)h;
    g_cb_calls++;
    g_cb_state = state;
    return nk_buf_append(&g_cb_data, d, n);
}

TEST(receive_callback_gets_early_data)
{
    struct tp_pair p;
    nk_antireplay_reset();
    ASSERT_EQ(first_session(&allow), OK);
    ASSERT_EQ(SSL_setReceiveApplicationDataCallback(on_data), OK);
    ASSERT_EQ(pair_new(&p, &allow), OK);
    ASSERT_EQ(SSL_setEarlyData(p.h[TP_CLIENT], (ubyte *)EARLY, sizeof EARLY - 1), OK);
    ASSERT_EQ(tp_handshake(&p), OK);
    ASSERT_EQ(g_cb_calls, 1);
    ASSERT_EQ((int)g_cb_state, (int)DATA_STATE_EARLY);
    ASSERT_EQ(g_cb_data.len, sizeof EARLY - 1);
    ASSERT_MEM_EQ(g_cb_data.p, EARLY, sizeof EARLY - 1);
    ASSERT_EQ(p.rx[TP_SERVER].len, 0u);   /* not a second time through SSL_recv */
    ASSERT_EQ(SSL_setReceiveApplicationDataCallback(NULL), OK);
    nk_buf_free(&g_cb_data);
    tp_free(&p);
}

TEST(api_answers)
{
    struct tp_pair p;
    ubyte4 v = 99;
    ASSERT_EQ(tp_new(&p, K_P256, -1), OK);
    /* Each side's calls on the other side's connection are refused. */
    ASSERT_EQ(SSL_setEarlyData(p.h[TP_SERVER], (ubyte *)"x", 1), ERR_SSL_BAD_STATE);
    ASSERT_EQ(SSL_setMaxEarlyDataSize(p.h[TP_CLIENT], 10), ERR_SSL_BAD_STATE);
    ASSERT_EQ(SSL_setRecvEarlyDataSize(p.h[TP_CLIENT], 10), ERR_SSL_BAD_STATE);
    ASSERT_EQ(SSL_setMaxEarlyDataSize(p.h[TP_SERVER], -1), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_setEarlyData(p.h[TP_CLIENT], NULL, 3), ERR_NULL_POINTER);
    ASSERT_EQ(SSL_ioctl(p.h[TP_SERVER], SSL_SET_MAX_EARLY_DATA, (void *)(uintptr_t)777), OK);
    ASSERT_EQ(SSL_ioctl(p.h[TP_SERVER], SSL_GET_MAX_EARLY_DATA, &v), OK);
    ASSERT_EQ(v, 777u);
    ASSERT_EQ(SSL_ioctl(p.h[TP_CLIENT], SSL_GET_EARLY_DATA_STATUS, &v), OK);
    ASSERT_EQ(v, (ubyte4)SSL_EARLY_DATA_NOT_SENT);
    ASSERT_EQ(SSL_ioctl(p.h[TP_CLIENT], SSL_GET_EARLY_DATA_STATUS, NULL), ERR_NULL_POINTER);
    ASSERT_EQ(tp_handshake(&p), OK);
    /* Once the handshake has begun, too late. */
    ASSERT_EQ(SSL_setEarlyData(p.h[TP_CLIENT], (ubyte *)"x", 1), ERR_SSL_BAD_STATE);
    ASSERT_EQ(SSL_setMaxEarlyDataSize(p.h[TP_SERVER], 10), ERR_SSL_BAD_STATE);
    tp_free(&p);
}

/* ---- the anti-replay register on its own (RFC 8446 §8.2) ---- */

TEST(antireplay_register)
{
    uint8_t b[32];
    int64_t now = 1700000000000;
    nk_antireplay_reset();
    tp_fill(b, sizeof b, 1);
    ASSERT_EQ(nk_antireplay_check(NULL, b, sizeof b, now), OK);
    ASSERT_EQ(nk_antireplay_check(NULL, b, sizeof b, now + 1), ERR_SSL_EARLY_DATA_REPLAY);
    /* Kept while a copy could still pass the age check, forgotten after. */
    ASSERT_EQ(nk_antireplay_check(NULL, b, sizeof b, now + 2 * (NK_ANTIREPLAY_WINDOW_MS + 1000) - 1),
              ERR_SSL_EARLY_DATA_REPLAY);
    ASSERT_EQ(nk_antireplay_check(NULL, b, sizeof b, now + 2 * (NK_ANTIREPLAY_WINDOW_MS + 1000)), OK);
    /* Binders that start alike (once the same slot: the raw first 4 bytes)
     * spread over the register under its keyed hash: all are kept, and each
     * copy is still caught. */
    nk_antireplay_reset();
    uint32_t slots[64];
    int distinct = 0;
    for (int i = 0; i < 64; i++) {
        tp_fill(b, sizeof b, 2);
        memset(b, 0, 4);
        b[4] = (uint8_t)i;         /* a different ClientHello */
        slots[i] = nk_antireplay_slot(b, sizeof b);
        ASSERT_LT(slots[i], (uint32_t)NK_ANTIREPLAY_SLOTS);
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= slots[j] == slots[i];
        distinct += !seen;
        ASSERT_EQ(nk_antireplay_check(NULL, b, sizeof b, now), OK) TH_LOG("binder %d", i);
    }
    EXPECT_GE(distinct, 56);   /* 64 uniform draws from 16384: 2 collide at most, nearly always */
    for (int i = 0; i < 64; i++) {
        tp_fill(b, sizeof b, 2);
        memset(b, 0, 4);
        b[4] = (uint8_t)i;
        ASSERT_EQ(nk_antireplay_check(NULL, b, sizeof b, now + 1), ERR_SSL_EARLY_DATA_REPLAY);
    }
    /* Binders that do hash to one slot (found here with the hash itself, as
     * a client without the key cannot): the probe's room fills, then the
     * register refuses (fails closed) rather than forget a live entry. */
    nk_antireplay_reset();
    uint8_t c[32];
    tp_fill(c, sizeof c, 3);
    uint32_t target = nk_antireplay_slot(c, sizeof c), n = 0;
    int refused = -1;
    for (uint32_t i = 0; i < 4000000 && refused < 0; i++) {
        memcpy(c, &i, sizeof i);
        if (nk_antireplay_slot(c, sizeof c) != target)
            continue;
        if (nk_antireplay_check(NULL, c, sizeof c, now) == ERR_SSL_EARLY_DATA_REPLAY)
            refused = (int)n;
        n++;
    }
    ASSERT_EQ(refused, NK_ANTIREPLAY_PROBE);
    /* Once the window has passed, the room is free again. */
    ASSERT_EQ(nk_antireplay_check(NULL, c, sizeof c, now + 2 * (NK_ANTIREPLAY_WINDOW_MS + 1000)), OK);
    nk_antireplay_reset();
}

static int g_hook_calls;
static MSTATUS single_use(const struct nk_tls *c, const uint8_t *binder, size_t len)
{
    (void)c, (void)binder, (void)len;
    return g_hook_calls++ ? ERR_SSL_EARLY_DATA_REPLAY : OK;
}

TEST(antireplay_hook_answers_instead)
{
    uint8_t b[32] = { 1 };
    nk_antireplay_reset();
    nk_antireplay_set_hook(single_use);
    ASSERT_EQ(nk_antireplay_check(NULL, b, sizeof b, 0), OK);
    ASSERT_EQ(nk_antireplay_check(NULL, b + 1, sizeof b - 1, 0), ERR_SSL_EARLY_DATA_REPLAY);
    ASSERT_EQ(g_hook_calls, 2);
    nk_antireplay_set_hook(NULL);
    ASSERT_EQ(nk_antireplay_check(NULL, b, sizeof b, 0), OK);   /* the register again */
}

TEST_HARNESS_MAIN
