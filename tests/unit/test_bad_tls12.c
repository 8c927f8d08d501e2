/* test_bad_tls12.c — TLS 1.2 handshakes (RFC 5246) that must fail, in memory:
 * messages out of order and ChangeCipherSpec where it has no place
 * (unexpected_message), extended master secret missing on either side
 * (handshake_failure, RFC 7627), a non-empty renegotiation_info
 * (handshake_failure, RFC 5746 §3.4), TLS_FALLBACK_SCSV (RFC 7507). And the
 * ServerHello's extensions, exactly: the server_name acknowledgement (RFC
 * 6066 §3), ALPN (RFC 7301), record_size_limit (RFC 8449), ec_point_formats
 * (RFC 8422 §5.2), max_fragment_length (RFC 6066 §4), and their refusals.
 * Key exchange values are in test_bad_tls12_kx.c. Both ends are held to TLS
 * 1.2 unless a case says otherwise. (The downgrade sentinel is in
 * test_bad_hello.c.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"
#include "handshake/tls12.h"
#include "core/kex.h"

FIXTURE(bad12) {
    struct tp_pair p;
};

FIXTURE_SETUP(bad12)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_ioctl(self->p.h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
}

FIXTURE_TEARDOWN(bad12)
{
    tp_free(&self->p);
}

static const uint8_t ccs_record[] = { NK_CT_CHANGE_CIPHER_SPEC, 3, 3, 0, 1, 1 };

/* The good path first: the rest only means something if this works. */
TEST_F(bad12, baseline_tls12)
{
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(self->p.c[TP_CLIENT]->minor, 3);
    EXPECT_EQ(self->p.c[TP_SERVER]->minor, 3);
}

/* Server records: 0 ServerHello, 1 Certificate, 2 ServerKeyExchange,
 * 3 ServerHelloDone. A second Certificate where the ServerKeyExchange
 * belongs has no row: unexpected_message. */
TEST_F(bad12, certificate_twice)
{
    struct rec_edit e = { .dir = TP_S2C, .index = 1, .op = RE_DUP };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* RFC 5246 §7.1: a ChangeCipherSpec before the ClientKeyExchange. */
TEST_F(bad12, ccs_before_client_key_exchange)
{
    struct rec_edit e = { .dir = TP_C2S, .index = 0, .op = RE_APPEND, .bytes = ccs_record,
                          .n = sizeof ccs_record };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* Client records: 0 ClientHello, 1 ClientKeyExchange, 2 ChangeCipherSpec,
 * 3 Finished. A second ChangeCipherSpec where the Finished belongs. */
TEST_F(bad12, ccs_twice)
{
    struct rec_edit e = { .dir = TP_C2S, .index = 2, .op = RE_DUP };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* A ChangeCipherSpec from the server before its ServerHelloDone. */
TEST_F(bad12, server_ccs_early)
{
    struct rec_edit e = { .dir = TP_S2C, .index = 0, .op = RE_APPEND, .bytes = ccs_record,
                          .n = sizeof ccs_record };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

static void drop_ems(struct tp_hello *h)
{
    tp_hello_del(h, NK_EXT_EXTENDED_MASTER_SECRET);
}

/* RFC 7627: required by default. A ClientHello without it: the server says
 * handshake_failure. */
TEST_F(bad12, client_without_ems)
{
    struct hello_edit e = { .dir = TP_C2S, .fn = drop_ems, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* A ServerHello without it: the client says handshake_failure. */
TEST_F(bad12, server_without_ems)
{
    struct hello_edit e = { .dir = TP_S2C, .fn = drop_ems };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_HANDSHAKE_FAILURE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

static void reneg_not_empty(struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_RENEGOTIATION_INFO);
    if (i < 0 || h->ext[i].len != 1)
        return;
    /* renegotiated_connection<0..255> of one byte: 01 xx */
    h->ext[i].data[0] = 1;
    h->ext[i].data[1] = 0x5a;
    h->ext[i].len = 2;
}

/* RFC 5746 §3.4: in an initial handshake renegotiated_connection must be
 * empty; the client checks the server's. */
TEST_F(bad12, server_renegotiation_info_not_empty)
{
    struct hello_edit e = { .dir = TP_S2C, .fn = reneg_not_empty };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_HANDSHAKE_FAILURE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* RFC 5746 §3.6: and the server the client's. */
TEST_F(bad12, client_renegotiation_info_not_empty)
{
    struct hello_edit e = { .dir = TP_C2S, .fn = reneg_not_empty, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

static void add_fallback_scsv(struct tp_hello *h)
{
    h->suites[h->suites_len++] = NK_TLS12_SCSV_FALLBACK >> 8;
    h->suites[h->suites_len++] = NK_TLS12_SCSV_FALLBACK & 0xff;
}

/* RFC 7507 §3: a TLS 1.2 ClientHello with TLS_FALLBACK_SCSV to a server that
 * speaks TLS 1.3: inappropriate_fallback. */
TEST_F(bad12, fallback_scsv_to_tls13_server)
{
    ASSERT_EQ(SSL_ioctl(self->p.h[TP_SERVER], SSL_SET_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION), OK);
    struct hello_edit e = { .dir = TP_C2S, .fn = add_fallback_scsv, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_INAPPROPRIATE_FALLBACK, SSL_ALERT_INAPPROPRIATE_FALLBACK);
}

/* The same hello to a server whose highest version is TLS 1.2: no fallback
 * happened, the handshake completes in TLS 1.2. */
TEST_F(bad12, fallback_scsv_to_tls12_server)
{
    struct hello_edit e = { .dir = TP_C2S, .fn = add_fallback_scsv, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), OK);
    EXPECT_EQ(self->p.c[TP_SERVER]->minor, 3);
}

/* ---- ServerHello extensions ---- */

/* The ServerHello as the client received it (the server's first record). */
static struct tp_hello seen_sh;
static int seen_sh_ok;

static void keep_sh(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    if (dir == TP_S2C && p->records[dir] == 1)
        seen_sh_ok = tp_hello_from_record(rec, &seen_sh) == OK;
}

static MSTATUS handshake_keeping_sh(struct tp_pair *p)
{
    seen_sh_ok = 0;
    p->hook = keep_sh;
    MSTATUS st = tp_handshake(p);
    p->hook = NULL;
    return seen_sh_ok ? st : ERR_GENERAL;
}

/* A ClientHello edit and the ServerHello kept, both. */
static void edit_and_keep_sh(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    hello_edit_hook(p, dir, rec, arg);
    keep_sh(p, dir, rec, arg);
}

static MSTATUS run_hello_edit_keeping_sh(struct tp_pair *p, struct hello_edit *e)
{
    seen_sh_ok = 0;
    p->hook = edit_and_keep_sh;
    p->hook_arg = e;
    MSTATUS st = tp_handshake(p);
    p->hook = NULL;
    return e->done && e->st == OK && seen_sh_ok ? st : ERR_GENERAL;
}

/* The extension's data in the ServerHello is exactly want (n bytes). */
static void check_sh_ext(struct __test_metadata *_metadata, uint16_t type, const void *want, size_t n)
{
    int i = tp_hello_find(&seen_sh, type);
    ASSERT_GE(i, 0) TH_LOG("extension %u missing", type);
    ASSERT_EQ(seen_sh.ext[i].len, n);
    ASSERT_MEM_EQ(seen_sh.ext[i].data, want, n);
}

/* RFC 6066 §3: the server used the client's name: an empty server_name. */
TEST_F(bad12, sni_acknowledged)
{
    ASSERT_EQ(handshake_keeping_sh(&self->p), OK);
    check_sh_ext(_metadata, NK_EXT_SERVER_NAME, "", 0);
}

static void drop_sni(struct tp_hello *h)
{
    tp_hello_del(h, NK_EXT_SERVER_NAME);
}

/* No name sent, none acknowledged. */
TEST_F(bad12, sni_absent_not_acknowledged)
{
    struct hello_edit e = { .dir = TP_C2S, .fn = drop_sni, .fix_transcript = 1 };
    ASSERT_EQ(run_hello_edit_keeping_sh(&self->p, &e), OK);
    ASSERT_LT(tp_hello_find(&seen_sh, NK_EXT_SERVER_NAME), 0);
    ASSERT_GE(tp_hello_find(&seen_sh, NK_EXT_EXTENDED_MASTER_SECRET), 0);
}

static sbyte4 alpn_http11(sbyte4 h, ubyte **out[], sbyte4 *out_len, ubyte *in, sbyte4 in_len)
{
    for (sbyte4 i = 0; i < in_len; i += 1 + in[i]) {
        if (in[i] == 8 && i + 9 <= in_len && memcmp(in + i + 1, "http/1.1", 8) == 0) {
            *out = (ubyte **)(in + i);
            *out_len = 9;
            return OK;
        }
    }
    return ERR_SSL_NO_APPLICATION_PROTOCOL;
}

/* RFC 7301 §3.1: the server's choice in its ServerHello, both ends agree. */
TEST_F(bad12, alpn_chosen)
{
    const char *offer[] = { "h2", "http/1.1" };
    ASSERT_EQ(SSL_setApplicationLayerProtocol(self->p.h[TP_CLIENT], 2, offer), OK);
    ASSERT_EQ(SSL_setAlpnCallback(self->p.h[TP_SERVER], alpn_http11), OK);
    ASSERT_EQ(handshake_keeping_sh(&self->p), OK);
    static const uint8_t want[] = { 0, 9, 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };
    check_sh_ext(_metadata, NK_EXT_ALPN, want, sizeof want);
    for (int s = 0; s < 2; s++) {
        const ubyte *proto = NULL;
        ubyte4 len = 0;
        ASSERT_EQ(SSL_getSelectedApplicationProtocol(self->p.h[s], &proto, &len), OK);
        ASSERT_EQ(len, 8u);
        ASSERT_MEM_EQ(proto, "http/1.1", 8);
    }
}

/* RFC 7301 §3.2: nothing in common: no_application_protocol. */
TEST_F(bad12, alpn_mismatch)
{
    const char *offer[] = { "h2", "spdy/3" };
    ASSERT_EQ(SSL_setApplicationLayerProtocol(self->p.h[TP_CLIENT], 2, offer), OK);
    ASSERT_EQ(SSL_setAlpnCallback(self->p.h[TP_SERVER], alpn_http11), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_NO_APPLICATION_PROTOCOL, SSL_ALERT_NO_APPLICATION_PROTOCOL);
}

/* RFC 8449 §4: our client offers 2^14+1 (its TLS 1.3 value); the TLS 1.2
 * server answers 2^14, and each side sends records of at most 2^14. */
TEST_F(bad12, record_size_limit_answered)
{
    ASSERT_EQ(handshake_keeping_sh(&self->p), OK);
    static const uint8_t want[] = { 0x40, 0x00 };
    check_sh_ext(_metadata, NK_EXT_RECORD_SIZE_LIMIT, want, sizeof want);
    EXPECT_EQ(self->p.c[TP_CLIENT]->send_limit, 16384);
    EXPECT_EQ(self->p.c[TP_SERVER]->send_limit, 16384);
}

static uint16_t rsl_value;

static void set_rsl(struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_RECORD_SIZE_LIMIT);
    if (i >= 0)
        nk_store16(h->ext[i].data, rsl_value);
}

/* A client limit of 100: the server's records carry at most 100 bytes of
 * plaintext (in TLS 1.2 the limit has no content type inside). */
TEST_F(bad12, record_size_limit_small)
{
    rsl_value = 100;
    struct hello_edit e = { .dir = TP_C2S, .fn = set_rsl, .fix_transcript = 1 };
    ASSERT_EQ(run_hello_edit(&self->p, &e), OK);
    EXPECT_EQ(self->p.c[TP_SERVER]->send_limit, 100);
    uint8_t d[1000];
    tp_fill(d, sizeof d, 7);
    unsigned before = self->p.records[TP_S2C];
    ASSERT_EQ(nk_app_write(self->p.c[TP_SERVER], d, sizeof d), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    EXPECT_EQ(self->p.records[TP_S2C] - before, 10u);
    ASSERT_EQ(self->p.rx[TP_CLIENT].len, sizeof d);
    ASSERT_MEM_EQ(self->p.rx[TP_CLIENT].p, d, sizeof d);
}

/* RFC 8449 §4: below 64 is illegal_parameter. */
TEST_F(bad12, record_size_limit_too_small)
{
    rsl_value = 63;
    struct hello_edit e = { .dir = TP_C2S, .fn = set_rsl, .fix_transcript = 1 };
    ASSERT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

/* A server limit above TLS 1.2's 2^14: the client may refuse it, and does. */
TEST_F(bad12, record_size_limit_server_too_large)
{
    rsl_value = 16385;
    struct hello_edit e = { .dir = TP_S2C, .fn = set_rsl };
    ASSERT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_ILLEGAL_PARAMETER);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

static const uint8_t *point_formats;
static size_t point_formats_len;

static void add_point_formats(struct tp_hello *h)
{
    (void)!tp_hello_add(h, NK_EXT_EC_POINT_FORMATS, point_formats, point_formats_len);
}

/* RFC 8422 §5.2: a client that sent ec_point_formats gets ours back:
 * uncompressed only. Here the extension was added to our client's hello
 * in flight: our client, which did not send it, refuses the answer
 * (unsupported_extension, RFC 5246 §7.4.1.4). Our client sends none and
 * gets none (point_formats_not_sent). */
TEST_F(bad12, point_formats_answered)
{
    static const uint8_t formats[] = { 2, 1, 0 };   /* compressed_prime, uncompressed */
    point_formats = formats;
    point_formats_len = sizeof formats;
    struct hello_edit e = { .dir = TP_C2S, .fn = add_point_formats, .fix_transcript = 1 };
    ASSERT_EQ(run_hello_edit_keeping_sh(&self->p, &e), ERR_SSL_UNSUPPORTED_EXTENSION);
    static const uint8_t want[] = { 1, 0 };
    check_sh_ext(_metadata, NK_EXT_EC_POINT_FORMATS, want, sizeof want);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNSUPPORTED_EXTENSION, SSL_ALERT_UNSUPPORTED_EXTENSION);
}

TEST_F(bad12, point_formats_not_sent)
{
    ASSERT_EQ(handshake_keeping_sh(&self->p), OK);
    ASSERT_LT(tp_hello_find(&seen_sh, NK_EXT_EC_POINT_FORMATS), 0);
}

/* RFC 8422 §5.1.2: the list must contain uncompressed: illegal_parameter. */
TEST_F(bad12, point_formats_without_uncompressed)
{
    static const uint8_t formats[] = { 1, 1 };   /* ansiX962_compressed_prime only */
    point_formats = formats;
    point_formats_len = sizeof formats;
    struct hello_edit e = { .dir = TP_C2S, .fn = add_point_formats, .fix_transcript = 1 };
    ASSERT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

static uint8_t mfl_code;
static int mfl_keep_rsl;

static void set_mfl(struct tp_hello *h)
{
    if (!mfl_keep_rsl)
        tp_hello_del(h, NK_EXT_RECORD_SIZE_LIMIT);
    (void)!tp_hello_add(h, NK_EXT_MAX_FRAGMENT_LENGTH, &mfl_code, 1);
}

/* Every record the server sent after its ServerHello, at most this long. */
static size_t longest_s2c;

static void edit_and_measure(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    edit_and_keep_sh(p, dir, rec, arg);
    if (dir == TP_S2C && p->records[dir] > 1 && rec->len - NK_REC_HDR > longest_s2c)
        longest_s2c = rec->len - NK_REC_HDR;
}

/* RFC 6066 §4: max_fragment_length 2^10 (code 2) without record_size_limit:
 * echoed, and no record of the server's is longer from then on (its
 * Certificate is cut). Our client sends none, so it refuses the answer
 * (unsupported_extension); tests/interop/tls12.sh has a client that asks. */
TEST_F(bad12, max_fragment_length_answered)
{
    mfl_code = 2;
    struct hello_edit e = { .dir = TP_C2S, .fn = set_mfl, .fix_transcript = 1 };
    seen_sh_ok = 0;
    self->p.hook = edit_and_measure;
    self->p.hook_arg = &e;
    EXPECT_EQ(tp_handshake(&self->p), ERR_SSL_UNSUPPORTED_EXTENSION);
    self->p.hook = NULL;
    ASSERT_TRUE(seen_sh_ok);
    check_sh_ext(_metadata, NK_EXT_MAX_FRAGMENT_LENGTH, "\x02", 1);
    EXPECT_EQ(self->p.c[TP_SERVER]->send_limit, 1024);
    EXPECT_GT(longest_s2c, 0u);
    EXPECT_LE(longest_s2c, 1024u);
    EXPECT_GE(self->p.records[TP_S2C], 5u);   /* ServerHello, Certificate, ..., ServerHelloDone */
}

/* RFC 6066 §4: a code other than 1..4 is illegal_parameter. */
TEST_F(bad12, max_fragment_length_bad_code)
{
    mfl_code = 5;
    struct hello_edit e = { .dir = TP_C2S, .fn = set_mfl, .fix_transcript = 1 };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

/* RFC 8449 §5: with record_size_limit too, max_fragment_length is ignored. */
TEST_F(bad12, max_fragment_length_ignored_with_record_size_limit)
{
    mfl_code = 1;
    mfl_keep_rsl = 1;
    struct hello_edit e = { .dir = TP_C2S, .fn = set_mfl, .fix_transcript = 1 };
    ASSERT_EQ(run_hello_edit_keeping_sh(&self->p, &e), OK);
    ASSERT_LT(tp_hello_find(&seen_sh, NK_EXT_MAX_FRAGMENT_LENGTH), 0);
    ASSERT_GE(tp_hello_find(&seen_sh, NK_EXT_RECORD_SIZE_LIMIT), 0);
    EXPECT_EQ(self->p.c[TP_SERVER]->send_limit, 16384);
}

/* ---- the AEAD limit ---- */

/* At the record limit TLS 1.3 sends a KeyUpdate; TLS 1.2 has none: the
 * writer gets ERR_SSL_SEQUENCE_EXHAUSTED, the peer an orderly close_notify
 * (not a TLS 1.3 KeyUpdate it could not read). One record before the
 * limit still goes. Both ends' counters are moved there, as if that many
 * records had passed. */
TEST_F(bad12, aead_limit_closes)
{
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct nk_conn *s = self->p.c[TP_SERVER], *c = self->p.c[TP_CLIENT];
    uint64_t at = s->suite->aead_limit - 3;
    s->wr->seq = at;
    c->rd->seq = at;
    ASSERT_EQ(nk_app_write(s, (const uint8_t *)"last", 4), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_EQ(self->p.rx[TP_CLIENT].len, 4u);
    ASSERT_MEM_EQ(self->p.rx[TP_CLIENT].p, "last", 4);
    EXPECT_EQ(nk_app_write(s, (const uint8_t *)"over", 4), ERR_SSL_SEQUENCE_EXHAUSTED);
    EXPECT_EQ(s->err, ERR_SSL_SEQUENCE_EXHAUSTED);
    EXPECT_TRUE(s->sent_close_notify);
    ASSERT_EQ(tp_pump(&self->p), OK);
    EXPECT_TRUE(c->got_close_notify);
    EXPECT_EQ(c->err, OK);
    EXPECT_EQ(self->p.rx[TP_CLIENT].len, 4u);   /* nothing more arrived */
    EXPECT_EQ(s->wr->seq, at + 2);               /* "last" and the close_notify */
}

/* ---- Finished, renegotiation, message order, key shares ---- */

/* Takes the client's Finished (its 4th record) off the wire, for later. */
static struct nk_buf held_finished;

static void hold_client_finished(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    if (dir == TP_C2S && p->records[dir] == 4) {
        (void)!nk_buf_append(&held_finished, rec->p, rec->len);
        rec->len = 0;
    }
}

/* RFC 5246 §7.4.9: a wrong verify_data is decrypt_error. With the extended
 * master secret every change to the messages before it changes the keys (a
 * record edit shows as bad_record_mac), so the server's Finished handler is
 * driven directly, in the state the real handshake left it in; then the
 * real Finished, held back so far, completes the handshake. */
TEST_F(bad12, bad_finished)
{
    self->p.hook = hold_client_finished;
    EXPECT_EQ(tp_handshake(&self->p), ERR_SSL_BAD_STATE);   /* stalled: the server waits */
    self->p.hook = NULL;
    struct nk_conn *s = self->p.c[TP_SERVER];
    ASSERT_NOT_NULL(s->hs);
    ASSERT_EQ(s->hs->state, ST_S12_WAIT_FIN);
    uint8_t msg[4 + NK_TLS12_VERIFY] = { NK_HS_FINISHED, 0, 0, NK_TLS12_VERIFY };
    struct nk_rd body;
    nk_rd_init(&body, msg + 4, NK_TLS12_VERIFY);
    EXPECT_EQ(nk_tls12_on_finished(&s->tls, &body, msg, sizeof msg), ERR_SSL_BAD_FINISHED);
    sbyte4 alert = -1, level = -1;
    ASSERT_EQ(SSL_lookupAlert(self->p.h[TP_SERVER], ERR_SSL_BAD_FINISHED, &alert, &level), OK);
    EXPECT_EQ(alert, SSL_ALERT_DECRYPT_ERROR);
    EXPECT_EQ(level, SSLALERTLEVEL_FATAL);
    /* A verify_data one byte short is decode_error. */
    nk_rd_init(&body, msg + 4, NK_TLS12_VERIFY - 1);
    EXPECT_EQ(nk_tls12_on_finished(&s->tls, &body, msg, sizeof msg - 1), ERR_SSL_PROTOCOL);
    ASSERT_GT(held_finished.len, 0u);
    ASSERT_EQ(tp_inject(&self->p, TP_C2S, held_finished.p, held_finished.len), OK);
    nk_buf_free(&held_finished);
    ASSERT_EQ(tp_pump(&self->p), OK);
    EXPECT_TRUE(tp_open(&self->p, TP_SERVER));
    EXPECT_TRUE(tp_open(&self->p, TP_CLIENT));
}

/* The client's first ClientHello, kept for a second one after the handshake. */
static struct nk_buf first_ch;

static void keep_first_ch(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    if (dir == TP_C2S && p->records[dir] == 1)
        (void)!nk_buf_append(&first_ch, rec->p + NK_REC_HDR, rec->len - NK_REC_HDR);
}

static void check_data_both_ways(struct __test_metadata *_metadata, struct tp_pair *p)
{
    for (int from = 0; from < 2; from++) {
        p->rx[1 - from].len = 0;
        ASSERT_EQ(tp_send(p, from, "still here", 10), OK);
        ASSERT_EQ(tp_pump(p), OK);
        ASSERT_EQ(p->rx[1 - from].len, 10u);
        ASSERT_MEM_EQ(p->rx[1 - from].p, "still here", 10);
    }
}

/* RFC 5746 §4.4, RFC 5246 §7.4.1.2: a ClientHello after the handshake
 * (under the client's key) asks to renegotiate; the server refuses with a
 * warning no_renegotiation, and both ends go on. */
TEST_F(bad12, renegotiation_refused)
{
    self->p.hook = keep_first_ch;
    ASSERT_EQ(tp_handshake(&self->p), OK);
    self->p.hook = NULL;
    ASSERT_GT(first_ch.len, 4u);
    struct nk_conn *c = self->p.c[TP_CLIENT], *s = self->p.c[TP_SERVER];
    ASSERT_EQ(nk_send_handshake(&c->tls, first_ch.p, first_ch.len), OK);
    nk_buf_free(&first_ch);
    ASSERT_EQ(tp_pump(&self->p), OK);
    EXPECT_EQ(c->alert_in, NK_ALERT_NO_RENEGOTIATION);
    EXPECT_EQ(c->alert_in_level, SSLALERTLEVEL_WARNING);
    EXPECT_EQ(c->err, OK);
    EXPECT_EQ(s->err, OK);
    check_data_both_ways(_metadata, &self->p);
}

/* RFC 5246 §7.4.1.1: the client answers a HelloRequest with a
 * renegotiating ClientHello (handshake/tls12_reneg.c); this server, whose
 * application neither sent that HelloRequest nor allowed client-started
 * renegotiation, refuses it with a warning no_renegotiation, and both ends
 * go on under their keys (the renegotiations that succeed:
 * test_reneg12.c). */
TEST_F(bad12, hello_request_refused)
{
    static const uint8_t hello_request[] = { NK_HS_HELLO_REQUEST, 0, 0, 0 };
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct nk_conn *c = self->p.c[TP_CLIENT], *s = self->p.c[TP_SERVER];
    ASSERT_EQ(nk_send_handshake(&s->tls, hello_request, sizeof hello_request), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    EXPECT_EQ(c->alert_in, NK_ALERT_NO_RENEGOTIATION);
    EXPECT_EQ(c->alert_in_level, SSLALERTLEVEL_WARNING);
    EXPECT_NULL(c->hs);   /* the client's renegotiation ended there */
    EXPECT_EQ(c->err, OK);
    EXPECT_EQ(s->err, OK);
    check_data_both_ways(_metadata, &self->p);
}

/* A HelloRequest with a body: decode_error at the client. */
TEST_F(bad12, hello_request_not_empty)
{
    static const uint8_t hello_request[] = { NK_HS_HELLO_REQUEST, 0, 0, 1, 0 };
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_EQ(nk_send_handshake(&self->p.c[TP_SERVER]->tls, hello_request, sizeof hello_request), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_PROTOCOL, SSL_ALERT_DECODE_ERROR);
}

/* RFC 5246 §7.4.1.1: a HelloRequest while the handshake runs is ignored
 * (and kept out of the transcript: the Finished still match). */
TEST_F(bad12, hello_request_during_handshake_ignored)
{
    static const uint8_t rec[] = { NK_CT_HANDSHAKE, 3, 3, 0, 4, NK_HS_HELLO_REQUEST, 0, 0, 0 };
    struct rec_edit e = { .dir = TP_S2C, .index = 1, .op = RE_APPEND, .bytes = rec, .n = sizeof rec };
    EXPECT_EQ(run_edit(&self->p, &e), OK);
    EXPECT_EQ(self->p.c[TP_CLIENT]->err, OK);
    EXPECT_EQ(self->p.c[TP_SERVER]->alert_in, -1);   /* no alert came */
    check_data_both_ways(_metadata, &self->p);
}

/* Server records: 0 ServerHello, 1 Certificate, 2 ServerKeyExchange,
 * 3 ServerHelloDone. Without its Certificate the ServerKeyExchange comes
 * first: unexpected_message at the client (RFC 5246 §7.3). */
TEST_F(bad12, server_key_exchange_before_certificate)
{
    struct rec_edit e = { .dir = TP_S2C, .index = 1, .op = RE_REPLACE, .n = 0 };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* A second ServerHelloDone, after the client's flight went out. */
TEST_F(bad12, server_hello_done_twice)
{
    struct rec_edit e = { .dir = TP_S2C, .index = 3, .op = RE_DUP };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* Client records: 0 ClientHello, 1 ClientKeyExchange, 2 ChangeCipherSpec,
 * 3 Finished. Without the ChangeCipherSpec the Finished arrives while the
 * server still reads in the clear: what it sees is no handshake message
 * it expects (AES-GCM: the explicit nonce's zero bytes read as a
 * HelloRequest header), unexpected_message. */
TEST_F(bad12, finished_before_ccs)
{
    struct rec_edit e = { .dir = TP_C2S, .index = 2, .op = RE_REPLACE, .n = 0 };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* RFC 8422 §5.7: an X25519 ClientKeyExchange with a 31-byte key. */
TEST_F(bad12, client_key_exchange_x25519_short)
{
    static const ubyte2 groups[] = { NK_GROUP_X25519 };
    uint8_t rec[NK_REC_HDR + 4 + 1 + 31] = { NK_CT_HANDSHAKE, 3, 3, 0, 4 + 1 + 31,
                                            NK_HS_CLIENT_KEY_EXCHANGE, 0, 0, 1 + 31, 31 };
    memset(rec + NK_REC_HDR + 5, 0x55, 31);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_SERVER], groups, 1), OK);
    struct rec_edit e = { .dir = TP_C2S, .index = 1, .op = RE_REPLACE, .bytes = rec, .n = sizeof rec };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_BAD_KEY_SHARE, SSL_ALERT_ILLEGAL_PARAMETER);
}

/* RFC 8422 §5.11: a P-256 point must be on the curve. The last byte of the
 * client's point (in y) flipped: illegal_parameter. */
TEST_F(bad12, client_key_exchange_p256_off_curve)
{
    static const ubyte2 groups[] = { NK_GROUP_SECP256R1 };
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_SERVER], groups, 1), OK);
    /* ClientKeyExchange record: 5 + 4 + 1 + 65 bytes; y ends the record. */
    struct rec_edit e = { .dir = TP_C2S, .index = 1, .op = RE_FLIP, .at = NK_REC_HDR + 4 + 65 };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_BAD_KEY_SHARE, SSL_ALERT_ILLEGAL_PARAMETER);
}

TEST_HARNESS_MAIN
