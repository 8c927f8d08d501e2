/* test_reneg12.c — TLS 1.2 renegotiation in memory (handshake/tls12_reneg.c,
 * RFC 5246 §7.4.1, RFC 5746): started by the server (HelloRequest) and by the
 * client, application data both ways in the middle of it, the new keys taking
 * over at each ChangeCipherSpec, the verify_data binding (a wrong one is
 * handshake_failure on either side), and the policy: client-started ones only
 * with NKTLS_FLAG_ALLOW_RENEGOTIATION and at most
 * NKTLS_RENEGOTIATIONS_PER_MINUTE a minute, never with a peer that did not
 * signal RFC 5746, never on a kTLS connection, never in TLS 1.3; the
 * callbacks; the automatic renegotiation after maxByteCount bytes. Refusals
 * are a no_renegotiation warning after which both ends go on. (The
 * asynchronous API's upcall: test_async.c; real peers: tests/interop/reneg.sh.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"
#include "handshake/tls12.h"

FIXTURE(reneg) {
    struct tp_pair p;
};

FIXTURE_SETUP(reneg)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_ioctl(self->p.h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
}

FIXTURE_TEARDOWN(reneg)
{
    tp_free(&self->p);
}

/* The verify_data the connection keeps (client's after its random in c_ap,
 * server's in s_ap). */
struct vds {
    uint8_t c[NK_TLS12_VERIFY], s[NK_TLS12_VERIFY];
};

static struct vds vds_of(const struct nk_conn *c)
{
    struct vds v;
    memcpy(v.c, c->c_ap + 32, sizeof v.c);
    memcpy(v.s, c->s_ap + 32, sizeof v.s);
    return v;
}

static void data_both_ways(struct __test_metadata *_metadata, struct tp_pair *p, const char *msg)
{
    size_t n = strlen(msg);
    for (int from = 0; from < 2; from++) {
        p->rx[1 - from].len = 0;
        ASSERT_EQ(tp_send(p, from, msg, n), OK);
        ASSERT_EQ(tp_pump(p), OK);
        ASSERT_EQ(p->rx[1 - from].len, n);
        ASSERT_MEM_EQ(p->rx[1 - from].p, msg, n);
    }
}

/* Both ends went through a renegotiation: open, no error, the same new
 * verify_data on both (different from before), and each direction's records
 * under the new keys from its ChangeCipherSpec on: the Finished is the one
 * record each side has sent under them. */
static void check_renegotiated(struct __test_metadata *_metadata, struct tp_pair *p, const struct vds *before)
{
    struct nk_conn *c = p->c[TP_CLIENT], *s = p->c[TP_SERVER];
    ubyte4 status = 0;
    for (int i = 0; i < 2; i++) {
        struct nk_conn *x = p->c[i];
        ASSERT_EQ(x->err, OK) TH_LOG("%s: %s", i ? "server" : "client", MERROR_lookUpErrorCode(x->err));
        ASSERT_NULL(x->hs);
        ASSERT_EQ(SSL_getSessionStatus(p->h[i], &status), OK);
        ASSERT_EQ(status, (ubyte4)SSL_CONNECTION_OPEN);
        ASSERT_EQ((unsigned)x->reneg_done, 1u);
        ASSERT_EQ((unsigned)x->secure_reneg, 1u);
        ASSERT_EQ(x->wr->seq, 1u);
        x->reneg_done = 0;   /* seen: the next check starts afresh */
    }
    struct vds vc = vds_of(c), vs = vds_of(s);
    ASSERT_MEM_EQ(vc.c, vs.c, NK_TLS12_VERIFY);
    ASSERT_MEM_EQ(vc.s, vs.s, NK_TLS12_VERIFY);
    ASSERT_TRUE(memcmp(vc.c, before->c, NK_TLS12_VERIFY) != 0);
    ASSERT_TRUE(memcmp(vc.s, before->s, NK_TLS12_VERIFY) != 0);
}

/* The client asked and got a no_renegotiation warning: nothing changed. */
static void check_refused(struct __test_metadata *_metadata, struct tp_pair *p, int asker, const struct vds *before)
{
    struct nk_conn *a = p->c[asker], *r = p->c[1 - asker];
    ASSERT_EQ(a->alert_in, NK_ALERT_NO_RENEGOTIATION);
    ASSERT_EQ(a->alert_in_level, SSLALERTLEVEL_WARNING);
    ASSERT_EQ(a->err, OK);
    ASSERT_EQ(r->err, OK);
    ASSERT_NULL(a->hs);
    ASSERT_NULL(r->hs);
    ASSERT_EQ((unsigned)a->reneg_done, 0u);
    struct vds v = vds_of(a);
    ASSERT_MEM_EQ(v.c, before->c, NK_TLS12_VERIFY);
    ASSERT_MEM_EQ(v.s, before->s, NK_TLS12_VERIFY);
    data_both_ways(_metadata, p, "still the old keys");
}

/* The length of each side's ChangeCipherSpec records, in order. */
static size_t ccs_len[2][4];
static unsigned n_ccs[2];

static void note_ccs(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    if (rec->p[0] == NK_CT_CHANGE_CIPHER_SPEC && n_ccs[dir] < 4)
        ccs_len[dir][n_ccs[dir]++] = rec->len;
}

/* RFC 5246 §7.4.1.1: the server's HelloRequest; the client renegotiates.
 * RFC 5246 §7.1: each ChangeCipherSpec goes under the keys then in use: in
 * the first handshake a bare 6-byte record, in the renegotiation a protected
 * one (AES-GCM: header, explicit nonce, the byte 1, tag). */
TEST_F(reneg, server_initiated)
{
    struct tp_pair *p = &self->p;
    p->hook = note_ccs;
    ASSERT_EQ(tp_handshake(p), OK);
    data_both_ways(_metadata, p, "before");
    struct vds before = vds_of(p->c[TP_SERVER]);
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_SERVER]), OK);
    /* The HelloRequest alone: one record, 4 bytes of message under the keys. */
    size_t len;
    ASSERT_NOT_NULL(nk_out_buf(p->c[TP_SERVER], &len));
    ASSERT_EQ(len, (size_t)(NK_REC_HDR + 8 + 4 + 16));
    ASSERT_EQ((unsigned)p->c[TP_SERVER]->reneg_asked, 1u);
    ASSERT_EQ(tp_pump(p), OK);
    check_renegotiated(_metadata, p, &before);
    ASSERT_EQ((unsigned)p->c[TP_SERVER]->reneg_asked, 0u);
    for (int d = 0; d < 2; d++) {
        ASSERT_EQ(n_ccs[d], 2u);
        ASSERT_EQ(ccs_len[d][0], (size_t)(NK_REC_HDR + 1));
        ASSERT_EQ(ccs_len[d][1], (size_t)(NK_REC_HDR + 8 + 1 + 16));
    }
    data_both_ways(_metadata, p, "after");
    /* Again: each renegotiation binds the one before. */
    before = vds_of(p->c[TP_CLIENT]);
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_SERVER]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    check_renegotiated(_metadata, p, &before);
    data_both_ways(_metadata, p, "after the second");
}

/* A renegotiation negotiates afresh: here the client now offers only an
 * AES-CBC suite (RFC 7366 encrypt_then_mac), and the records move from
 * AES-GCM to it at each ChangeCipherSpec. */
TEST_F(reneg, suite_changes)
{
    struct tp_pair *p = &self->p;
    static const ubyte2 both[] = { 0xC02B, 0xC023 };
    ASSERT_EQ(SSL_enableCiphers(p->h[TP_SERVER], both, 2), OK);
    ASSERT_EQ(tp_handshake(p), OK);
    ASSERT_EQ(p->c[TP_CLIENT]->suite->id, 0xC02B);
    struct vds before = vds_of(p->c[TP_CLIENT]);
    p->c[TP_CLIENT]->suites = nk_suite_bit(nk_suite12_by_id(0xC023));
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_SERVER]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(p->c[i]->suite->id, 0xC023);
        ASSERT_EQ(p->c[i]->wr->ops_id, NK_REC_OPS_TLS12_CBC_ETM);
        ASSERT_EQ(p->c[i]->rd->ops_id, NK_REC_OPS_TLS12_CBC_ETM);
    }
    ASSERT_EQ(p->c[TP_CLIENT]->err, OK);
    ASSERT_EQ(p->c[TP_SERVER]->err, OK);
    struct vds v = vds_of(p->c[TP_SERVER]);
    ASSERT_TRUE(memcmp(v.c, before.c, NK_TLS12_VERIFY) != 0);
    data_both_ways(_metadata, p, "under AES-CBC now");
}

/* The client starts one (its ClientHello at once); the server accepts it
 * with NKTLS_FLAG_ALLOW_RENEGOTIATION. SSL_getSessionStatus says
 * SSL_CONNECTION_RENEGOTIATE meanwhile, and a second start is refused. */
TEST_F(reneg, client_initiated)
{
    struct tp_pair *p = &self->p;
    ubyte4 status = 0;
    ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], NKTLS_FLAG_ALLOW_RENEGOTIATION), OK);
    ASSERT_EQ(tp_handshake(p), OK);
    struct vds before = vds_of(p->c[TP_CLIENT]);
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), OK);
    ASSERT_EQ(SSL_getSessionStatus(p->h[TP_CLIENT], &status), OK);
    ASSERT_EQ(status, (ubyte4)SSL_CONNECTION_RENEGOTIATE);
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), ERR_SSL_BAD_STATE);
    ASSERT_EQ(tp_pump(p), OK);
    check_renegotiated(_metadata, p, &before);
    data_both_ways(_metadata, p, "after");
}

/* Without the flag the server refuses a client-started renegotiation with a
 * no_renegotiation warning; the client's handshake ends there and both go
 * on under their keys. */
TEST_F(reneg, client_initiated_refused_by_default)
{
    struct tp_pair *p = &self->p;
    ASSERT_EQ(tp_handshake(p), OK);
    struct vds before = vds_of(p->c[TP_CLIENT]);
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    check_refused(_metadata, p, TP_CLIENT, &before);
    /* It may ask again later (and is refused again). */
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    check_refused(_metadata, p, TP_CLIENT, &before);
}

/* RFC 5246 allows application data between the renegotiation's messages:
 * none is lost. The server's flight is held; meanwhile the server sends
 * (after its ServerHelloDone, under the old keys) and the client sends (while
 * it waits for the ServerHello); then the client sends again after its
 * Finished (under the new keys, before the server's). */
TEST_F(reneg, data_interleaved)
{
    struct tp_pair *p = &self->p;
    ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], NKTLS_FLAG_ALLOW_RENEGOTIATION), OK);
    ASSERT_EQ(tp_handshake(p), OK);
    struct vds before = vds_of(p->c[TP_CLIENT]);
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), OK);
    ASSERT_EQ(tp_send(p, TP_CLIENT, "c1 ", 3), OK);
    p->hold[TP_S2C] = 1;
    ASSERT_EQ(tp_pump(p), OK);
    ASSERT_NOT_NULL(p->c[TP_SERVER]->hs);   /* it has answered the ClientHello */
    ASSERT_EQ(tp_send(p, TP_SERVER, "s1 ", 3), OK);
    ASSERT_EQ(tp_send(p, TP_CLIENT, "c2 ", 3), OK);
    ASSERT_EQ(tp_pump(p), OK);
    /* Release the server's flight, but hold what comes after the client's. */
    p->hold[TP_S2C] = 0;
    p->hold[TP_C2S] = 1;
    ASSERT_EQ(tp_pump(p), OK);
    ASSERT_EQ(p->rx[TP_CLIENT].len, 3u);
    ASSERT_MEM_EQ(p->rx[TP_CLIENT].p, "s1 ", 3);
    ASSERT_EQ(tp_send(p, TP_CLIENT, "c3", 2), OK);   /* after its Finished: new keys */
    p->hold[TP_C2S] = 0;
    ASSERT_EQ(tp_pump(p), OK);
    ASSERT_EQ(p->rx[TP_SERVER].len, 8u);
    ASSERT_MEM_EQ(p->rx[TP_SERVER].p, "c1 c2 c3", 8);
    struct nk_conn *c = p->c[TP_CLIENT], *s = p->c[TP_SERVER];
    ASSERT_EQ(c->err, OK);
    ASSERT_EQ(s->err, OK);
    ASSERT_NULL(c->hs);
    ASSERT_NULL(s->hs);
    struct vds v = vds_of(s);
    ASSERT_TRUE(memcmp(v.c, before.c, NK_TLS12_VERIFY) != 0);
    data_both_ways(_metadata, p, "after");
}

/* RFC 5746 §4.2, §4.4: a peer that did not signal secure renegotiation in
 * the handshake (here: as if it had not) is never renegotiated with. Our
 * own start is refused with ERR_SSL_RENEGOTIATION_INSECURE, nothing sent;
 * the peer's request gets a no_renegotiation warning. */
TEST_F(reneg, insecure_peer_refused)
{
    struct tp_pair *p = &self->p;
    ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], NKTLS_FLAG_ALLOW_RENEGOTIATION), OK);
    ASSERT_EQ(tp_handshake(p), OK);
    struct vds before = vds_of(p->c[TP_CLIENT]);
    size_t len;
    p->c[TP_SERVER]->secure_reneg = 0;
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_SERVER]), ERR_SSL_RENEGOTIATION_INSECURE);
    ASSERT_NULL(nk_out_buf(p->c[TP_SERVER], &len));
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    check_refused(_metadata, p, TP_CLIENT, &before);

    p->c[TP_SERVER]->secure_reneg = 1;
    p->c[TP_CLIENT]->secure_reneg = 0;
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), ERR_SSL_RENEGOTIATION_INSECURE);
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_SERVER]), OK);   /* the HelloRequest */
    ASSERT_EQ(tp_pump(p), OK);
    check_refused(_metadata, p, TP_SERVER, &before);
    ASSERT_EQ((unsigned)p->c[TP_SERVER]->reneg_asked, 0u);
}

/* RFC 5746 §3.7: the client's renegotiation_info must carry the saved
 * client_verify_data; another value is handshake_failure at the server. */
TEST_F(reneg, client_verify_data_wrong)
{
    struct tp_pair *p = &self->p;
    ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], NKTLS_FLAG_ALLOW_RENEGOTIATION), OK);
    ASSERT_EQ(tp_handshake(p), OK);
    p->c[TP_CLIENT]->c_ap[32] ^= 1;
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    check_fail(_metadata, p, TP_SERVER, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* The client's first ClientHello (header included), kept by a hook. */
static struct nk_buf first_ch;

static void keep_first_ch(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    if (dir == TP_C2S && p->records[dir] == 1)
        (void)!nk_buf_append(&first_ch, rec->p + NK_REC_HDR, rec->len - NK_REC_HDR);
}

/* Send a renegotiating ClientHello made from the first one: its
 * renegotiation_info carrying the right client_verify_data (info 1), none
 * (info 0), and the SCSV among its suites (scsv 1). */
static void send_crafted_hello_x(struct __test_metadata *_metadata, struct tp_pair *p, int info, int scsv,
                                 uint16_t xtype, const void *x, size_t xlen);

static void send_crafted_hello(struct __test_metadata *_metadata, struct tp_pair *p, int info, int scsv)
{
    send_crafted_hello_x(_metadata, p, info, scsv, 0, NULL, 0);
}

/* The same, with the extension xtype replaced by x (when not NULL). */
static void send_crafted_hello_x(struct __test_metadata *_metadata, struct tp_pair *p, int info, int scsv,
                                 uint16_t xtype, const void *x, size_t xlen)
{
    struct tp_hello h;
    struct nk_buf out = { 0 };
    struct nk_conn *c = p->c[TP_CLIENT];
    uint8_t ri[1 + NK_TLS12_VERIFY] = { NK_TLS12_VERIFY };
    ASSERT_EQ(tp_hello_parse(first_ch.p, first_ch.len, &h), OK);
    tp_hello_del(&h, NK_EXT_RENEGOTIATION_INFO);
    memcpy(ri + 1, c->c_ap + 32, NK_TLS12_VERIFY);
    if (info)
        ASSERT_EQ(tp_hello_add(&h, NK_EXT_RENEGOTIATION_INFO, ri, sizeof ri), OK);
    if (x) {   /* (server_name is type 0) */
        tp_hello_del(&h, xtype);
        ASSERT_EQ(tp_hello_add(&h, xtype, x, xlen), OK);
    }
    if (scsv) {
        h.suites[h.suites_len++] = NK_TLS12_SCSV_RENEG >> 8;
        h.suites[h.suites_len++] = NK_TLS12_SCSV_RENEG & 0xff;
    }
    ASSERT_EQ(tp_hello_write(&h, &out), OK);
    ASSERT_EQ(nk_send_handshake(&c->tls, out.p, out.len), OK);
    nk_buf_free(&out);
}

/* RFC 5746 §3.7: "If the SCSV is present, the server MUST abort the
 * handshake", and "The server MUST verify that the "renegotiation_info"
 * extension is present": handshake_failure both. The control: the same
 * hello with the extension and no SCSV is accepted (the server answers; the
 * client, which started nothing, then finds its ServerHello unexpected). */
TEST_F(reneg, client_hello_scsv_or_no_info)
{
    static const int cases[3][2] = { { 0, 0 }, { 1, 1 }, { 1, 0 } };   /* info, scsv */
    for (int k = 0; k < 3; k++) {
        int info = cases[k][0], scsv = cases[k][1];
        struct tp_pair *p = &self->p;
        if (k) {   /* a fresh pair for each case */
            tp_free(p);
            ASSERT_EQ(tp_new(p, K_P256, -1), OK);
            for (int s = 0; s < 2; s++)
                ASSERT_EQ(SSL_ioctl(p->h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
        }
        nk_buf_free(&first_ch);
        ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], NKTLS_FLAG_ALLOW_RENEGOTIATION), OK);
        p->hook = keep_first_ch;
        ASSERT_EQ(tp_handshake(p), OK);
        p->hook = NULL;
        send_crafted_hello(_metadata, p, info, scsv);
        ASSERT_EQ(tp_pump(p), OK);
        if (k < 2) {
            check_fail(_metadata, p, TP_SERVER, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
        } else {
            ASSERT_NOT_NULL(p->c[TP_SERVER]->hs);
            ASSERT_EQ(p->c[TP_SERVER]->hs->secure_reneg, 1);
            check_fail(_metadata, p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
        }
    }
    nk_buf_free(&first_ch);
}

/* ---- ALPN and the server name across a renegotiation ---- */

static int alpn_asked;

static sbyte4 pick_http11(sbyte4 h, ubyte **out[], sbyte4 *out_len, ubyte *in, sbyte4 in_len)
{
    alpn_asked++;
    for (sbyte4 i = 0; i < in_len; i += 1 + in[i]) {
        if (in[i] == 8 && i + 9 <= in_len && memcmp(in + i + 1, "http/1.1", 8) == 0) {
            *out = (ubyte **)(in + i);
            *out_len = 9;
            return OK;
        }
    }
    return ERR_SSL_NO_APPLICATION_PROTOCOL;
}

static void alpn_setup(struct __test_metadata *_metadata, struct tp_pair *p)
{
    const char *offer[2] = { "h2", "http/1.1" };
    alpn_asked = 0;
    ASSERT_EQ(SSL_setApplicationLayerProtocol(p->h[TP_CLIENT], 2, offer), OK);
    ASSERT_EQ(SSL_setAlpnCallback(p->h[TP_SERVER], pick_http11), OK);
    ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], NKTLS_FLAG_ALLOW_RENEGOTIATION), OK);
}

static void check_alpn_both(struct __test_metadata *_metadata, struct tp_pair *p, const char *want)
{
    for (int i = 0; i < 2; i++) {
        const ubyte *proto = NULL;
        ubyte4 len = 99;
        ASSERT_EQ(SSL_getSelectedApplicationProtocol(p->h[i], &proto, &len), OK);
        ASSERT_EQ(len, (ubyte4)strlen(want)) TH_LOG("%s", i ? "server" : "client");
        ASSERT_MEM_EQ(proto, want, len);
    }
}

/* RFC 7301 §3.1: the ServerHello's protocol "SHALL be definitive for the
 * connection, until renegotiated"; here a renegotiation keeps it. Started
 * by either side, our client offers the connection's protocol alone and the
 * server answers it without asking its callback again: both ends still say
 * http/1.1 after each, and the callback was asked once, in the first handshake. */
TEST_F(reneg, alpn_kept)
{
    struct tp_pair *p = &self->p;
    alpn_setup(_metadata, p);
    ASSERT_EQ(tp_handshake(p), OK);
    check_alpn_both(_metadata, p, "http/1.1");
    for (int k = 0; k < 2; k++) {
        struct vds before = vds_of(p->c[TP_CLIENT]);
        ASSERT_EQ(SSL_initiateRehandshake(p->h[k ? TP_CLIENT : TP_SERVER]), OK);
        ASSERT_EQ(tp_pump(p), OK);
        check_renegotiated(_metadata, p, &before);
        check_alpn_both(_metadata, p, "http/1.1");
    }
    ASSERT_EQ(alpn_asked, 1);
    data_both_ways(_metadata, p, "after");
    const sbyte *name = NULL;
    ASSERT_EQ(NKTLS_getServerName(p->h[TP_SERVER], &name), OK);
    ASSERT_STR_EQ((const char *)name, "p256.example.com");
}

/* Our renegotiating ClientHello names the server as the first did (RFC
 * 6066 §3): a client whose name changed meanwhile is refused by the server
 * with illegal_parameter, so the name is in it. */
TEST_F(reneg, client_sends_name)
{
    struct tp_pair *p = &self->p;
    ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], NKTLS_FLAG_ALLOW_RENEGOTIATION), OK);
    ASSERT_EQ(tp_handshake(p), OK);
    ASSERT_EQ(nk_tls_set_server_name(&p->c[TP_CLIENT]->tls, "other.example.com"), OK);
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    check_fail(_metadata, p, TP_SERVER, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

/* A renegotiating ClientHello that does not offer the connection's protocol
 * (RFC 7301 §3.2: "the server supports no protocols that the client
 * advertises": no_application_protocol), or names another server
 * (illegal_parameter: the certificate was chosen for the first name). */
TEST_F(reneg, alpn_or_name_changed)
{
    static const uint8_t h2[] = { 0, 3, 2, 'h', '2' };
    uint8_t sni[64];
    const char *other = "other.example.com";
    size_t n = strlen(other);
    sni[0] = 0, sni[1] = (uint8_t)(n + 3), sni[2] = 0, sni[3] = 0, sni[4] = (uint8_t)n;
    memcpy(sni + 5, other, n);
    for (int k = 0; k < 2; k++) {
        struct tp_pair *p = &self->p;
        if (k) {
            tp_free(p);
            ASSERT_EQ(tp_new(p, K_P256, -1), OK);
            for (int s = 0; s < 2; s++)
                ASSERT_EQ(SSL_ioctl(p->h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
        }
        nk_buf_free(&first_ch);
        alpn_setup(_metadata, p);
        p->hook = keep_first_ch;
        ASSERT_EQ(tp_handshake(p), OK);
        p->hook = NULL;
        if (k == 0)
            send_crafted_hello_x(_metadata, p, 1, 0, NK_EXT_ALPN, h2, sizeof h2);
        else
            send_crafted_hello_x(_metadata, p, 1, 0, NK_EXT_SERVER_NAME, sni, 5 + n);
        ASSERT_EQ(tp_pump(p), OK);
        if (k == 0)
            check_fail(_metadata, p, TP_SERVER, ERR_SSL_NO_APPLICATION_PROTOCOL, SSL_ALERT_NO_APPLICATION_PROTOCOL);
        else
            check_fail(_metadata, p, TP_SERVER, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
        ASSERT_EQ(alpn_asked, 1);
    }
    nk_buf_free(&first_ch);
}

/* RFC 5746 §3.5: the ServerHello's must carry both saved verify_data; a
 * wrong server_verify_data is handshake_failure at the client. */
TEST_F(reneg, server_verify_data_wrong)
{
    struct tp_pair *p = &self->p;
    ASSERT_EQ(tp_handshake(p), OK);
    p->c[TP_SERVER]->s_ap[32 + NK_TLS12_VERIFY - 1] ^= 0x80;
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_SERVER]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    check_fail(_metadata, p, TP_CLIENT, ERR_SSL_HANDSHAKE_FAILURE, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* Client-started renegotiations: NKTLS_RENEGOTIATIONS_PER_MINUTE at once,
 * then refused until a minute / N has passed on the server's clock. */
TEST_F(reneg, rate_limited)
{
    struct tp_pair *p = &self->p;
    struct nk_conn *s = p->c[TP_SERVER];
    ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], NKTLS_FLAG_ALLOW_RENEGOTIATION), OK);
    ASSERT_EQ(tp_handshake(p), OK);
    struct vds before;
    for (int i = 0; i < NKTLS_RENEGOTIATIONS_PER_MINUTE; i++) {
        before = vds_of(s);
        ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), OK);
        ASSERT_EQ(tp_pump(p), OK);
        check_renegotiated(_metadata, p, &before);
    }
    before = vds_of(s);
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    check_refused(_metadata, p, TP_CLIENT, &before);
    s->now += 60000 / NKTLS_RENEGOTIATIONS_PER_MINUTE - 1;
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    check_refused(_metadata, p, TP_CLIENT, &before);
    s->now += 1;
    p->c[TP_CLIENT]->alert_in = -1;
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    check_renegotiated(_metadata, p, &before);
    ASSERT_EQ(p->c[TP_CLIENT]->alert_in, -1);
    /* Server-started ones are not counted. */
    before = vds_of(s);
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_SERVER]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    check_renegotiated(_metadata, p, &before);
}

/* TLS 1.3 has no renegotiation: a clear error on both ends, nothing sent;
 * before any handshake the connection is not open. */
TEST_F(reneg, tls13_refused)
{
    struct tp_pair *p = &self->p;
    size_t len;
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), ERR_SSL_NOT_OPEN);
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_ioctl(p->h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION), OK);
    ASSERT_EQ(tp_handshake(p), OK);
    for (int s = 0; s < 2; s++) {
        ASSERT_EQ(SSL_initiateRehandshake(p->h[s]), ERR_SSL_RENEGOTIATION_TLS13);
        ASSERT_NULL(nk_out_buf(p->c[s], &len));
    }
}

/* The kernel cannot take a TLS 1.2 connection's new keys: a connection it
 * carries (either direction) refuses both ways. */
TEST_F(reneg, ktls_refused)
{
    struct tp_pair *p = &self->p;
    ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], NKTLS_FLAG_ALLOW_RENEGOTIATION), OK);
    ASSERT_EQ(tp_handshake(p), OK);
    struct vds before = vds_of(p->c[TP_CLIENT]);
    p->c[TP_CLIENT]->ktls_tx = 1;
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), ERR_SSL_RENEGOTIATION_KTLS);
    p->c[TP_CLIENT]->ktls_tx = 0;
    p->c[TP_SERVER]->ktls_rx = 1;   /* the ClientHello came through the kernel */
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_SERVER]), ERR_SSL_RENEGOTIATION_KTLS);
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    p->c[TP_SERVER]->ktls_rx = 0;
    check_refused(_metadata, p, TP_CLIENT, &before);
}

static sbyte4 client_request_answer;
static int client_requests, new_handshakes;

static sbyte4 on_client_request(sbyte4 h)
{
    client_requests++;
    return client_request_answer;
}

static sbyte4 on_new_handshake(sbyte4 h, sbyte4 *again, sbyte4 *resume)
{
    new_handshakes++;
    if (*again != TRUE || *resume != FALSE)
        abort();
    *again = FALSE;
    return OK;
}

/* funcPtrClientRehandshakeRequest hears the HelloRequest and may refuse it
 * (a negative answer); funcPtrNewHandshakeCallback may decline one the
 * application did not start. */
TEST_F(reneg, callbacks)
{
    struct tp_pair *p = &self->p;
    sslSettings *set = SSL_sslSettings();
    ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], NKTLS_FLAG_ALLOW_RENEGOTIATION), OK);
    ASSERT_EQ(tp_handshake(p), OK);
    struct vds before = vds_of(p->c[TP_CLIENT]);
    set->funcPtrClientRehandshakeRequest = on_client_request;
    client_request_answer = -1;
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_SERVER]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    ASSERT_EQ(client_requests, 1);
    check_refused(_metadata, p, TP_SERVER, &before);
    client_request_answer = OK;
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_SERVER]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    ASSERT_EQ(client_requests, 2);
    check_renegotiated(_metadata, p, &before);
    /* The server's application declines the client's; its own start is not asked about. */
    set->funcPtrNewHandshakeCallback = on_new_handshake;
    before = vds_of(p->c[TP_CLIENT]);
    ASSERT_EQ(SSL_initiateRehandshake(p->h[TP_CLIENT]), OK);
    ASSERT_EQ(tp_pump(p), OK);
    ASSERT_EQ(new_handshakes, 1);
    check_refused(_metadata, p, TP_CLIENT, &before);
    set->funcPtrNewHandshakeCallback = NULL;
}

/* sslSettings.maxByteCount: once that many bytes were sent since the last
 * handshake, the sender renegotiates (a server with a HelloRequest) before
 * the data that reaches it; the count starts again after. */
TEST_F(reneg, after_max_byte_count)
{
    struct tp_pair *p = &self->p;
    static uint8_t big[3000];
    SSL_sslSettings()->maxByteCount = 4000;
    ASSERT_EQ(tp_handshake(p), OK);
    struct vds before = vds_of(p->c[TP_CLIENT]);
    tp_fill(big, sizeof big, 1);
    ASSERT_EQ(tp_send(p, TP_SERVER, big, sizeof big), OK);
    ASSERT_EQ(tp_pump(p), OK);
    ASSERT_EQ((unsigned)p->c[TP_SERVER]->reneg_done, 0u);
    ASSERT_EQ(tp_send(p, TP_SERVER, big, sizeof big), OK);   /* 6000 >= 4000 */
    ASSERT_EQ(tp_pump(p), OK);
    check_renegotiated(_metadata, p, &before);
    ASSERT_EQ(p->rx[TP_CLIENT].len, 2 * sizeof big);
    ASSERT_MEM_EQ(p->rx[TP_CLIENT].p + sizeof big, big, sizeof big);
    /* Counted from the new handshake: 3000 more is not yet due. */
    p->c[TP_SERVER]->reneg_done = 0;
    ASSERT_EQ(tp_send(p, TP_SERVER, big, sizeof big), OK);
    ASSERT_EQ(tp_pump(p), OK);
    ASSERT_EQ((unsigned)p->c[TP_SERVER]->reneg_done, 0u);
}

/* sslSettings.maxTimerCountForRehandShake: the same after that many ms on
 * the connection's clock. */
TEST_F(reneg, after_max_timer)
{
    struct tp_pair *p = &self->p;
    SSL_sslSettings()->maxTimerCountForRehandShake = 5000;
    ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], NKTLS_FLAG_ALLOW_RENEGOTIATION), OK);
    ASSERT_EQ(tp_handshake(p), OK);
    struct vds before = vds_of(p->c[TP_CLIENT]);
    p->c[TP_CLIENT]->now += 4999;
    data_both_ways(_metadata, p, "not yet");
    ASSERT_EQ((unsigned)p->c[TP_CLIENT]->reneg_done, 0u);
    p->c[TP_CLIENT]->now += 1;
    ASSERT_EQ(tp_send(p, TP_CLIENT, "now", 3), OK);
    ASSERT_EQ(tp_pump(p), OK);
    check_renegotiated(_metadata, p, &before);
}

TEST_HARNESS_MAIN
