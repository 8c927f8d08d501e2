/* test_ocsp12.c — OCSP stapling in TLS 1.2 (RFC 6066 §8), in memory: the
 * server's empty status_request in its ServerHello and its CertificateStatus
 * message right after the Certificate, byte for byte; nothing of it when the
 * client did not ask or the server has no response; the client's verdicts
 * (good, revoked, required and not sent) and the status callback; a
 * CertificateStatus where none was agreed, twice, of another status_type or
 * empty, each with its alert. The response checks themselves are
 * test_ocsp.c's. */
#include <openssl/ocsp.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"
#include "handshake/tls12.h"
#include "handshake/ocsp.h"

FIXTURE(ocsp12) {
    struct tp_pair p;
    struct nk_buf resp;           /* the DER response the server staples */
};

/* A response about the P-256 leaf from its issuer (the intermediate). */
static MSTATUS make_resp(struct nk_buf *out, int status)
{
    time_t now = time(NULL);
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, pki.leaf[K_P256], pki.inter);
    ASN1_GENERALIZEDTIME *this_upd = ASN1_GENERALIZEDTIME_adj(NULL, now, 0, -60);
    ASN1_GENERALIZEDTIME *next_upd = ASN1_GENERALIZEDTIME_adj(NULL, now, 0, 3600);
    OCSP_RESPONSE *r = NULL;
    unsigned char *der = NULL;
    int n = -1;
    if (bs && id && this_upd && next_upd
        && OCSP_basic_add1_status(bs, id, status, OCSP_REVOKED_STATUS_KEYCOMPROMISE,
                                  status == V_OCSP_CERTSTATUS_REVOKED ? this_upd : NULL, this_upd, next_upd)
        && OCSP_basic_sign(bs, pki.inter, pki.inter_key, EVP_sha256(), NULL, 0)
        && (r = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)))
        n = i2d_OCSP_RESPONSE(r, &der);
    out->len = 0;
    MSTATUS st = n > 0 ? nk_buf_append(out, der, (size_t)n) : ERR_GENERAL;
    OPENSSL_free(der);
    OCSP_RESPONSE_free(r);
    OCSP_CERTID_free(id);
    OCSP_BASICRESP_free(bs);
    ASN1_GENERALIZEDTIME_free(this_upd);
    ASN1_GENERALIZEDTIME_free(next_upd);
    return st;
}

FIXTURE_SETUP(ocsp12)
{
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    for (int s = 0; s < 2; s++)
        ASSERT_EQ(SSL_ioctl(self->p.h[s], SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
    memset(&self->resp, 0, sizeof self->resp);
    ASSERT_EQ(make_resp(&self->resp, V_OCSP_CERTSTATUS_GOOD), OK);
}

FIXTURE_TEARDOWN(ocsp12)
{
    nk_buf_free(&self->resp);
    tp_free(&self->p);
}

static void staple(struct __test_metadata *_metadata, struct tp_pair *p, const struct nk_buf *resp)
{
    ASSERT_EQ(NKTLS_setOcspResponse(p->store[TP_SERVER], resp->p, (ubyte4)resp->len), OK);
}

static void ask(struct __test_metadata *_metadata, struct tp_pair *p, ubyte4 flag)
{
    ASSERT_EQ(SSL_setSessionFlags(p->h[TP_CLIENT], flag), OK);
}

/* The server's records, kept as they went (each handshake message is one). */
struct keep {
    struct nk_buf rec[8];
    unsigned n;
};

static void keep_hook(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct keep *k = arg;
    if (dir == TP_S2C && k->n < 8 && rec->len && rec->p[0] == NK_CT_HANDSHAKE
        && nk_buf_append(&k->rec[k->n], rec->p, rec->len) == OK)
        k->n++;
}

static void keep_free(struct keep *k)
{
    for (unsigned i = 0; i < 8; i++)
        nk_buf_free(&k->rec[i]);
}

/* Does the ServerHello record carry status_request with empty data? */
static int sh_agrees(const struct nk_buf *rec)
{
    struct tp_hello h;
    if (tp_hello_from_record(rec, &h) != OK)
        return -1;
    int i = tp_hello_find(&h, NK_EXT_STATUS_REQUEST);
    return i < 0 ? 0 : h.ext[i].len == 0 ? 1 : -1;
}

TEST_F(ocsp12, stapled_bytes)
{
    struct keep k = { 0 };
    staple(_metadata, &self->p, &self->resp);
    ask(_metadata, &self->p, NKTLS_FLAG_OCSP_REQUIRE);
    self->p.hook = keep_hook;
    self->p.hook_arg = &k;
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(self->p.c[TP_CLIENT]->minor, 3);
    /* ServerHello, Certificate, CertificateStatus, ServerKeyExchange, ServerHelloDone. */
    ASSERT_GE(k.n, 5u);
    EXPECT_EQ(sh_agrees(&k.rec[0]), 1);
    EXPECT_EQ(k.rec[1].p[NK_REC_HDR], NK_HS_CERTIFICATE);
    /* RFC 6066 §8: 22 | u24 length | status_type ocsp(1) | u24 length | OCSPResponse */
    size_t n = self->resp.len;
    const uint8_t head[] = { NK_CT_HANDSHAKE, 3, 3, (uint8_t)((n + 8) >> 8), (uint8_t)(n + 8),
                             NK_HS_CERTIFICATE_STATUS, 0, (uint8_t)((n + 4) >> 8), (uint8_t)(n + 4),
                             1, 0, (uint8_t)(n >> 8), (uint8_t)n };
    ASSERT_EQ(k.rec[2].len, sizeof head + n);
    EXPECT_EQ(memcmp(k.rec[2].p, head, sizeof head), 0);
    EXPECT_EQ(memcmp(k.rec[2].p + sizeof head, self->resp.p, n), 0);
    EXPECT_EQ(k.rec[3].p[NK_REC_HDR], NK_HS_SERVER_KEY_EXCHANGE);
    keep_free(&k);
}

/* Not asked, or nothing to staple: no extension, no CertificateStatus. */
TEST_F(ocsp12, not_asked_not_stapled)
{
    struct keep k = { 0 };
    staple(_metadata, &self->p, &self->resp);
    self->p.hook = keep_hook;
    self->p.hook_arg = &k;
    ASSERT_EQ(tp_handshake(&self->p), OK);
    EXPECT_EQ(sh_agrees(&k.rec[0]), 0);
    EXPECT_EQ(k.rec[2].p[NK_REC_HDR], NK_HS_SERVER_KEY_EXCHANGE);
    keep_free(&k);
}

TEST_F(ocsp12, nothing_to_staple)
{
    struct keep k = { 0 };
    ask(_metadata, &self->p, NKTLS_FLAG_OCSP_REQUEST);
    self->p.hook = keep_hook;
    self->p.hook_arg = &k;
    ASSERT_EQ(tp_handshake(&self->p), OK);   /* asked only: goes on without */
    EXPECT_EQ(sh_agrees(&k.rec[0]), 0);
    EXPECT_EQ(k.rec[2].p[NK_REC_HDR], NK_HS_SERVER_KEY_EXCHANGE);
    keep_free(&k);
}

/* Required, none to staple: judged at the Certificate. */
TEST_F(ocsp12, required_none)
{
    ask(_metadata, &self->p, NKTLS_FLAG_OCSP_REQUIRE);
    EXPECT_EQ(tp_handshake(&self->p), ERR_CERT_STATUS);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_CERT_STATUS, SSL_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE);
}

/* Agreed in the ServerHello, then no CertificateStatus ("MAY also choose not
 * to send"): required, the client refuses at the ServerHelloDone. */
TEST_F(ocsp12, agreed_then_withheld)
{
    staple(_metadata, &self->p, &self->resp);
    ask(_metadata, &self->p, NKTLS_FLAG_OCSP_REQUIRE);
    struct rec_edit e = { .dir = TP_S2C, .index = 2, .op = RE_REPLACE, .bytes = NULL, .n = 0 };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_CERT_STATUS);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_CERT_STATUS, SSL_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE);
}

TEST_F(ocsp12, revoked)
{
    struct nk_buf bad = { 0 };
    ASSERT_EQ(make_resp(&bad, V_OCSP_CERTSTATUS_REVOKED), OK);
    staple(_metadata, &self->p, &bad);
    nk_buf_free(&bad);
    ask(_metadata, &self->p, NKTLS_FLAG_OCSP_REQUEST);
    EXPECT_EQ(tp_handshake(&self->p), ERR_CERT_REVOKED);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_CERT_REVOKED, SSL_ALERT_CERTIFICATE_REVOKED);
}

static int g_calls, g_status;

static sbyte4 on_status(sbyte4 h, intBoolean status)
{
    (void)h;
    g_calls++;
    g_status = status;
    return 0;
}

TEST_F(ocsp12, status_callback)
{
    staple(_metadata, &self->p, &self->resp);
    SSL_sslSettings()->funcPtrCertStatusCallback = on_status;   /* asks, as OCSP_REQUEST does */
    MSTATUS st = tp_handshake(&self->p);
    SSL_sslSettings()->funcPtrCertStatusCallback = NULL;
    ASSERT_EQ(st, OK);
    EXPECT_EQ(g_calls, 1);
    EXPECT_EQ(g_status, TRUE);
}

/* A CertificateStatus record: status_type, response bytes (len of them). */
static size_t cs_record(uint8_t *out, uint8_t type, const uint8_t *resp, size_t len)
{
    const uint8_t h[] = { NK_CT_HANDSHAKE, 3, 3, (uint8_t)((len + 8) >> 8), (uint8_t)(len + 8),
                          NK_HS_CERTIFICATE_STATUS, 0, (uint8_t)((len + 4) >> 8), (uint8_t)(len + 4),
                          type, 0, (uint8_t)(len >> 8), (uint8_t)len };
    memcpy(out, h, sizeof h);
    if (len)
        memcpy(out + sizeof h, resp, len);
    return sizeof h + len;
}

/* RFC 6066 §8: a CertificateStatus only after a ServerHello that agreed. */
TEST_F(ocsp12, unexpected_when_not_agreed)
{
    uint8_t rec[4096];
    ASSERT_LT(self->resp.len + 13, sizeof rec);
    size_t n = cs_record(rec, 1, self->resp.p, self->resp.len);
    ask(_metadata, &self->p, NKTLS_FLAG_OCSP_REQUEST);   /* asked; the server has none */
    struct rec_edit e = { .dir = TP_S2C, .index = 1, .op = RE_APPEND, .bytes = rec, .n = n };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(ocsp12, unexpected_when_not_asked)
{
    uint8_t rec[4096];
    size_t n = cs_record(rec, 1, self->resp.p, self->resp.len);
    struct rec_edit e = { .dir = TP_S2C, .index = 1, .op = RE_APPEND, .bytes = rec, .n = n };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(ocsp12, twice)
{
    staple(_metadata, &self->p, &self->resp);
    ask(_metadata, &self->p, NKTLS_FLAG_OCSP_REQUEST);
    struct rec_edit e = { .dir = TP_S2C, .index = 2, .op = RE_DUP };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

/* After the ServerKeyExchange it has no row: unexpected_message. */
TEST_F(ocsp12, after_server_key_exchange)
{
    uint8_t rec[4096];
    size_t n = cs_record(rec, 1, self->resp.p, self->resp.len);
    staple(_metadata, &self->p, &self->resp);
    ask(_metadata, &self->p, NKTLS_FLAG_OCSP_REQUEST);
    struct rec_edit e = { .dir = TP_S2C, .index = 3, .op = RE_APPEND, .bytes = rec, .n = n };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(ocsp12, other_status_type)
{
    uint8_t rec[4096];
    size_t n = cs_record(rec, 2, self->resp.p, self->resp.len);   /* ocsp_multi's number */
    staple(_metadata, &self->p, &self->resp);
    ask(_metadata, &self->p, NKTLS_FLAG_OCSP_REQUEST);
    struct rec_edit e = { .dir = TP_S2C, .index = 2, .op = RE_REPLACE, .bytes = rec, .n = n };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_ILLEGAL_PARAMETER);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

/* OCSPResponse<1..2^24-1>: empty is decode_error. */
TEST_F(ocsp12, empty_response)
{
    uint8_t rec[32];
    size_t n = cs_record(rec, 1, NULL, 0);
    staple(_metadata, &self->p, &self->resp);
    ask(_metadata, &self->p, NKTLS_FLAG_OCSP_REQUEST);
    struct rec_edit e = { .dir = TP_S2C, .index = 2, .op = RE_REPLACE, .bytes = rec, .n = n };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_SSL_PROTOCOL);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_PROTOCOL, SSL_ALERT_DECODE_ERROR);
}

/* A response that is not an OCSP response at all: bad_certificate_status_response. */
TEST_F(ocsp12, garbage_response)
{
    uint8_t rec[32];
    static const uint8_t junk[] = { 0x30, 0x02, 0x0a, 0x00 };
    size_t n = cs_record(rec, 1, junk, sizeof junk);
    staple(_metadata, &self->p, &self->resp);
    ask(_metadata, &self->p, NKTLS_FLAG_OCSP_REQUEST);
    struct rec_edit e = { .dir = TP_S2C, .index = 2, .op = RE_REPLACE, .bytes = rec, .n = n };
    EXPECT_EQ(run_edit(&self->p, &e), ERR_CERT_STATUS);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_CERT_STATUS, SSL_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE);
}

/* The server's empty extension where the client never asked: unsupported_extension. */
static void add_status(struct tp_hello *h)
{
    static const uint8_t none[1];
    (void)tp_hello_add(h, NK_EXT_STATUS_REQUEST, none, 0);   /* empty extension_data */
}

TEST_F(ocsp12, server_extension_unasked)
{
    struct hello_edit e = { .dir = TP_S2C, .fn = add_status };
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_UNSUPPORTED_EXTENSION);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNSUPPORTED_EXTENSION, SSL_ALERT_UNSUPPORTED_EXTENSION);
}

TEST_HARNESS_MAIN
