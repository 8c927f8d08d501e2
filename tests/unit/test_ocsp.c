/* test_ocsp.c — OCSP stapling (RFC 6066 §8, RFC 8446 §4.4.2.1): the client's
 * check of a stapled response (nk_ocsp_check: good, revoked, unknown, stale,
 * from the future, without nextUpdate, signed by a stranger, by a delegated
 * responder with and without id-kp-OCSPSigning, for another certificate,
 * garbage); NKTLS_setOcspResponse's refusals; and handshakes: a server
 * stapling what it was given to a client that asks, the client's verdicts and
 * alerts, the status callback, required status, must-staple certificates, and
 * responses replaced while handshakes run. Responses are made here with the
 * test CA's key. */
#include <openssl/ocsp.h>
#include "api_env.h"
#include "handshake/ocsp.h"
#include "handshake/store.h"

static X509 *x509_of(struct blob b)
{
    const unsigned char *p = b.p;
    return d2i_X509(NULL, &p, (long)b.n);
}

static EVP_PKEY *key_of(struct blob b)
{
    const unsigned char *p = b.p;
    return d2i_AutoPrivateKey(NULL, &p, (long)b.n);
}

#define NO_NEXT LONG_MIN

struct resp_spec {
    X509 *leaf, *issuer;     /* the certificate the response is about */
    X509 *signer;            /* NULL: the issuer */
    EVP_PKEY *signer_key;    /* NULL: the CA's */
    int status;              /* V_OCSP_CERTSTATUS_* */
    long this_off, next_off; /* seconds from now; next_off NO_NEXT: none */
    int resp_status;         /* OCSP_RESPONSE_STATUS_* */
};

static EVP_PKEY *g_ca_key;
static X509 *g_ca, *g_srv, *g_rsa;

/* A DER OCSPResponse as a responder would send it. */
static struct blob make_resp(const struct resp_spec *s)
{
    struct blob out = { 0 };
    OCSP_RESPONSE *r = NULL;
    OCSP_BASICRESP *bs = NULL;
    if (s->resp_status == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        time_t now = time(NULL);
        bs = OCSP_BASICRESP_new();
        OCSP_CERTID *id = OCSP_cert_to_id(NULL, s->leaf, s->issuer);
        ASN1_GENERALIZEDTIME *this_upd = ASN1_GENERALIZEDTIME_adj(NULL, now, 0, s->this_off);
        ASN1_GENERALIZEDTIME *next_upd =
            s->next_off == NO_NEXT ? NULL : ASN1_GENERALIZEDTIME_adj(NULL, now, 0, s->next_off);
        ASN1_GENERALIZEDTIME *rev = ASN1_GENERALIZEDTIME_adj(NULL, now, 0, -3600);
        if (!bs || !id || !this_upd
            || !OCSP_basic_add1_status(bs, id, s->status, OCSP_REVOKED_STATUS_KEYCOMPROMISE,
                                       s->status == V_OCSP_CERTSTATUS_REVOKED ? rev : NULL, this_upd,
                                       next_upd)
            || !OCSP_basic_sign(bs, s->signer ? s->signer : s->issuer, s->signer_key ? s->signer_key : g_ca_key,
                                EVP_sha256(), NULL, 0))
            die("OCSP response");
        OCSP_CERTID_free(id);
        ASN1_GENERALIZEDTIME_free(this_upd);
        ASN1_GENERALIZEDTIME_free(next_upd);
        ASN1_GENERALIZEDTIME_free(rev);
    }
    r = OCSP_response_create(s->resp_status, bs);
    int n = r ? i2d_OCSP_RESPONSE(r, NULL) : -1;
    unsigned char *p;
    if (n <= 0 || !(out.p = malloc((size_t)n)))
        die("OCSP DER");
    p = out.p;
    i2d_OCSP_RESPONSE(r, &p);
    out.n = (ubyte4)n;
    OCSP_RESPONSE_free(r);
    OCSP_BASICRESP_free(bs);
    return out;
}

static struct blob good_for(X509 *leaf)
{
    struct resp_spec s = { .leaf = leaf, .issuer = g_ca, .status = V_OCSP_CERTSTATUS_GOOD,
                           .this_off = -60, .next_off = 3600, .resp_status = OCSP_RESPONSE_STATUS_SUCCESSFUL };
    return make_resp(&s);
}

static void pki_up(void)
{
    g_ca = x509_of(pki.ca);
    g_srv = x509_of(pki.srv);
    g_rsa = x509_of(pki.rsa);
    g_ca_key = key_of(pki.ca_key);
    if (!g_ca || !g_srv || !g_rsa || !g_ca_key)
        die("test PKI");
}

static void pki_down(void)
{
    X509_free(g_ca);
    X509_free(g_srv);
    X509_free(g_rsa);
    EVP_PKEY_free(g_ca_key);
}

/* ---- the client's check ------------------------------------------------------ */

static MSTATUS check(struct blob resp, struct blob leaf)
{
    struct nk_der chain[1] = { { leaf.p, leaf.n } };
    MSTATUS st = nk_ocsp_check(resp.p, resp.n, chain, 1, env.cli, time(NULL));
    free(resp.p);
    return st;
}

TEST(check_verdicts)
{
    env_up(2);
    pki_up();
    X509 *other = x509_of(pki.other_ca);
    EVP_PKEY *other_key = key_of(pki.other_key);
    EVP_PKEY *srv_key = key_of(pki.srv_key);
    ASSERT_NOT_NULL(other);
    ASSERT_NOT_NULL(other_key);
    ASSERT_NOT_NULL(srv_key);
    /* A responder the CA delegated to (id-kp-OCSPSigning), and a CA-issued
     * certificate without that purpose. */
    X509 *responder = make_cert(srv_key, "ocsp.example.com", NULL, 0, g_ca, g_ca_key);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, g_ca, responder, NULL, NULL, 0);
    ASSERT_TRUE(add_ext(responder, &v3, NID_ext_key_usage, "OCSPSigning"));
    ASSERT_GT(X509_sign(responder, g_ca_key, EVP_sha256()), 0);
    static const struct {
        const char *what;
        int status;
        long this_off, next_off;
        int signer;          /* 0 CA, 1 other CA, 2 delegated responder, 3 server cert (not a responder) */
        MSTATUS want;
    } cases[] = {
        { "good", V_OCSP_CERTSTATUS_GOOD, -60, 3600, 0, OK },
        { "revoked", V_OCSP_CERTSTATUS_REVOKED, -60, 3600, 0, ERR_CERT_REVOKED },
        { "unknown", V_OCSP_CERTSTATUS_UNKNOWN, -60, 3600, 0, ERR_CERT_STATUS },
        { "stale", V_OCSP_CERTSTATUS_GOOD, -7200, -3600, 0, ERR_CERT_STATUS },
        { "within skew", V_OCSP_CERTSTATUS_GOOD, -7200, -120, 0, OK },
        { "from the future", V_OCSP_CERTSTATUS_GOOD, 3600, 7200, 0, ERR_CERT_STATUS },
        { "no nextUpdate, recent", V_OCSP_CERTSTATUS_GOOD, -3600, NO_NEXT, 0, OK },
        { "no nextUpdate, 8 days old", V_OCSP_CERTSTATUS_GOOD, -8L * 86400, NO_NEXT, 0, ERR_CERT_STATUS },
        { "signed by a stranger", V_OCSP_CERTSTATUS_GOOD, -60, 3600, 1, ERR_CERT_STATUS },
        { "delegated responder", V_OCSP_CERTSTATUS_GOOD, -60, 3600, 2, OK },
        { "not a responder", V_OCSP_CERTSTATUS_GOOD, -60, 3600, 3, ERR_CERT_STATUS },
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(cases); i++) {
        X509 *signers[] = { NULL, other, responder, g_srv };
        EVP_PKEY *keys[] = { NULL, other_key, srv_key, srv_key };
        struct resp_spec s = { .leaf = g_srv, .issuer = g_ca, .signer = signers[cases[i].signer],
                               .signer_key = keys[cases[i].signer], .status = cases[i].status,
                               .this_off = cases[i].this_off, .next_off = cases[i].next_off,
                               .resp_status = OCSP_RESPONSE_STATUS_SUCCESSFUL };
        MSTATUS got = check(make_resp(&s), pki.srv);
        ST_EXPECT_AT(got, cases[i].want, at("%s: ", cases[i].what));
    }
    /* A good response, but about another certificate. */
    MSTATUS got = check(good_for(g_rsa), pki.srv);
    ST_EQ(got, ERR_CERT_STATUS);
    /* Not a successful response; not a response at all; one byte too many. */
    struct resp_spec later = { .resp_status = OCSP_RESPONSE_STATUS_TRYLATER };
    got = check(make_resp(&later), pki.srv);
    ST_EQ(got, ERR_CERT_STATUS);
    struct blob junk = { malloc(4), 4 };
    memcpy(junk.p, "\x30\x02\x0a\x00", 4);
    got = check(junk, pki.srv);
    ST_EQ(got, ERR_CERT_STATUS);
    struct blob good = good_for(g_srv), longer = { malloc(good.n + 1), good.n + 1 };
    memcpy(longer.p, good.p, good.n);
    longer.p[good.n] = 0;
    free(good.p);
    got = check(longer, pki.srv);
    ST_EQ(got, ERR_CERT_STATUS);
    X509_free(responder);
    X509_free(other);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(srv_key);
    pki_down();
    env_down();
}

TEST(set_refusals)
{
    env_up(2);
    pki_up();
    struct resp_spec later = { .resp_status = OCSP_RESPONSE_STATUS_TRYLATER };
    struct blob b = make_resp(&later);
    ASSERT_EQ(NKTLS_setOcspResponse(env.srv, b.p, b.n), ERR_CERT_DECODE);
    free(b.p);
    X509 *cli = x509_of(pki.cli);
    b = good_for(cli);   /* no identity of env.srv */
    X509_free(cli);
    ASSERT_EQ(NKTLS_setOcspResponse(env.srv, b.p, b.n), ERR_INVALID_ARG);
    ASSERT_EQ(NKTLS_setOcspResponse(NULL, b.p, b.n), ERR_NULL_POINTER);
    ASSERT_EQ(NKTLS_setOcspResponse(env.srv, b.p, 0), ERR_INVALID_ARG);
    free(b.p);
    b = good_for(g_rsa);
    ASSERT_EQ(NKTLS_setOcspResponse(env.srv, b.p, b.n), OK);
    /* The RSA identity has it; the P-256 one still has none. */
    ASSERT_NOT_NULL(env.srv->ids[1]->ocsp);
    ASSERT_NULL(env.srv->ids[0]->ocsp);
    free(b.p);
    pki_down();
    env_down();
}

/* ---- handshakes ---------------------------------------------------------------- */

static int g_cb_calls, g_cb_status, g_cb_answer;

static sbyte4 on_status(sbyte4 h, intBoolean status)
{
    (void)h;
    g_cb_calls++;
    g_cb_status = status;
    return g_cb_answer;
}

/* One handshake; the client's result, and the alert the server got. */
static MSTATUS shake(struct th_meta *_metadata, certStorePtr srv, ubyte4 cli_flags, sbyte4 *srv_alert)
{
    struct pair p = { .s.post = post_wait_end };
    pair_up(&p, 0, srv, "server.example.com", env.cli);
    EXPECT_EQ(SSL_setSessionFlags(p.ch, cli_flags), OK);
    MSTATUS st = SSL_negotiateConnection(p.ch);
    pair_down(&p);
    *srv_alert = p.s.hs == OK ? (p.s.st[0] == ERR_SSL_FATAL_ALERT ? -2 : -1) : p.s.alert;
    if (p.s.hs == OK && p.s.st[0] == ERR_SSL_FATAL_ALERT) {
        sbyte4 id = -1, cls = -1;
        if (SSL_lookupAlert(p.s.h, p.s.st[0], &id, &cls) == OK)
            *srv_alert = id;
    }
    return st;
}

/* One handshake, its result checked (evaluated once). */
#define SHAKE(store, flags, want) \
    do { MSTATUS r_ = shake(_metadata, store, flags, &alert); ST_EQ(r_, want); } while (0)

TEST(stapled_handshakes)
{
    sbyte4 alert;
    env_up(2);
    pki_up();
    /* Asked, none to give: the handshake goes on; required: it fails. */
    SHAKE(env.srv, NKTLS_FLAG_OCSP_REQUEST, OK);
    SHAKE(env.srv, NKTLS_FLAG_OCSP_REQUIRE, ERR_CERT_STATUS);
    struct blob b = good_for(g_srv);
    ASSERT_EQ(NKTLS_setOcspResponse(env.srv, b.p, b.n), OK);
    free(b.p);
    SHAKE(env.srv, NKTLS_FLAG_OCSP_REQUIRE, OK);
    SHAKE(env.srv, 0, OK);   /* not asked: not stapled, not checked */
    /* Replaced by a revoked one: certificate_revoked. */
    struct resp_spec s = { .leaf = g_srv, .issuer = g_ca, .status = V_OCSP_CERTSTATUS_REVOKED,
                           .this_off = -60, .next_off = 3600, .resp_status = OCSP_RESPONSE_STATUS_SUCCESSFUL };
    b = make_resp(&s);
    ASSERT_EQ(NKTLS_setOcspResponse(env.srv, b.p, b.n), OK);
    free(b.p);
    SHAKE(env.srv, NKTLS_FLAG_OCSP_REQUEST, ERR_CERT_REVOKED);
    ASSERT_EQ(alert, SSL_ALERT_CERTIFICATE_REVOKED);
    /* Stale: bad_certificate_status_response. */
    s.status = V_OCSP_CERTSTATUS_GOOD;
    s.this_off = -7200;
    s.next_off = -3600;
    b = make_resp(&s);
    ASSERT_EQ(NKTLS_setOcspResponse(env.srv, b.p, b.n), OK);
    free(b.p);
    SHAKE(env.srv, NKTLS_FLAG_OCSP_REQUEST, ERR_CERT_STATUS);
    ASSERT_EQ(alert, SSL_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE);
    pki_down();
    env_down();
}

TEST(status_callback)
{
    sbyte4 alert;
    env_up(2);
    pki_up();
    SSL_sslSettings()->funcPtrCertStatusCallback = on_status;   /* asks, as OCSP_REQUEST does */
    g_cb_answer = 0;
    SHAKE(env.srv, 0, OK);
    ASSERT_EQ(g_cb_calls, 1);
    ASSERT_EQ(g_cb_status, FALSE);
    struct blob b = good_for(g_srv);
    ASSERT_EQ(NKTLS_setOcspResponse(env.srv, b.p, b.n), OK);
    free(b.p);
    SHAKE(env.srv, 0, OK);
    ASSERT_EQ(g_cb_calls, 2);
    ASSERT_EQ(g_cb_status, TRUE);
    g_cb_answer = -1;   /* the application refuses */
    SHAKE(env.srv, 0, ERR_CERT_STATUS);
    SSL_sslSettings()->funcPtrCertStatusCallback = NULL;
    pki_down();
    env_down();
}

/* RFC 7633: a must-staple leaf without a staple fails even when only asked. */
TEST(must_staple)
{
    sbyte4 alert;
    env_up(2);
    pki_up();
    EVP_PKEY *key = key_of(pki.srv_key);
    X509 *leaf = make_cert(key, "server.example.com", "DNS:server.example.com", 0, g_ca, g_ca_key);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, g_ca, leaf, NULL, NULL, 0);
    ASSERT_TRUE(add_ext(leaf, &v3, NID_tlsfeature, "status_request"));
    ASSERT_GT(X509_sign(leaf, g_ca_key, EVP_sha256()), 0);
    struct blob der = cert_der(leaf);
    ASSERT_TRUE(nk_ocsp_must_staple(der.p, der.n));
    ASSERT_FALSE(nk_ocsp_must_staple(pki.srv.p, pki.srv.n));
    certStorePtr s = new_store(&pki.ca);
    add_der_identity(s, der, pki.srv_key);
    SHAKE(s, NKTLS_FLAG_OCSP_REQUEST, ERR_CERT_STATUS);
    ASSERT_EQ(alert, SSL_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE);
    struct blob b = good_for(leaf);
    ASSERT_EQ(NKTLS_setOcspResponse(s, b.p, b.n), OK);
    free(b.p);
    SHAKE(s, NKTLS_FLAG_OCSP_REQUEST, OK);
    CERT_STORE_releaseStore(&s);
    free(der.p);
    X509_free(leaf);
    EVP_PKEY_free(key);
    pki_down();
    env_down();
}

/* Responses replaced on one thread while another staples them (the sanitizer
 * builds watch): every handshake sees one whole response or the other. */
static volatile int g_stop;

static void *replacer(void *arg)
{
    struct blob *v = arg;
    for (int i = 0; !g_stop; i++)
        if (NKTLS_setOcspResponse(env.srv, v[i & 1].p, v[i & 1].n) != OK)
            return (void *)1;
    return NULL;
}

TEST(replaced_while_serving)
{
    sbyte4 alert;
    pthread_t th;
    void *rc;
    env_up(2);
    pki_up();
    struct resp_spec s = { .leaf = g_srv, .issuer = g_ca, .status = V_OCSP_CERTSTATUS_GOOD,
                           .this_off = -60, .next_off = 3600, .resp_status = OCSP_RESPONSE_STATUS_SUCCESSFUL };
    struct blob v[2] = { make_resp(&s), make_resp(&s) };   /* two encodings, both good */
    ASSERT_EQ(NKTLS_setOcspResponse(env.srv, v[0].p, v[0].n), OK);
    g_stop = 0;
    ASSERT_EQ(pthread_create(&th, NULL, replacer, v), 0);
    for (int i = 0; i < 20; i++)
        SHAKE(env.srv, NKTLS_FLAG_OCSP_REQUIRE, OK);
    g_stop = 1;
    ASSERT_EQ(pthread_join(th, &rc), 0);
    ASSERT_NULL(rc);
    free(v[0].p);
    free(v[1].p);
    pki_down();
    env_down();
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
