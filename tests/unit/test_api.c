/* test_api.c — the synchronous NanoSSL API end to end over real sockets
 * (socketpair and TCP loopback): start-up and shutdown, data both ways, receive
 * and handshake timeouts, closure, stale handles, the connection table limit,
 * per-connection settings and queries, SNI, ALPN, host names, certificate
 * callbacks, alerts, KeyUpdate, the exporter, mutual authentication, and many
 * connections on many threads at once.
 *
 * The server runs in a thread, the client in the case's own thread. Keys and
 * certificates are made once with libcrypto before the cases fork; each case
 * loads them through CA_MGMT_* / CERT_STORE_* like an application would.
 * Only public headers are used, except handshake/cert.h to look inside the
 * chain that SSL_setCertAndStatusCallback hands over (opaque in ssl.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/socket.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "harness.h"
#include "common/mocana.h"
#include "crypto/ca_mgmt.h"
#include "crypto/cert_store.h"
#include "ssl/ssl.h"
#include "nktls.h"
#include "handshake/cert.h"

/* ---- keys and certificates ------------------------------------------------ */

struct blob {
    ubyte *p;
    ubyte4 n;
};

/*   ca (P-256) ─ srv      P-256, server.example.com   (also given to CA_MGMT as PEM)
 *              ─ rsa      RSA-2048, rsa.example.com
 *              ─ cli      P-256, client.example.com
 *   other_ca (P-256): trusted by nothing the server sends. */
static struct {
    struct blob ca, other_ca, srv, rsa, cli;   /* certificates, DER */
    struct blob rsa_key, cli_key;              /* PKCS#8 DER */
    char *srv_pem, *srv_key_pem;
} pki;

static void die(const char *what)
{
    fprintf(stderr, "test_api: cannot make %s\n", what);
    exit(1);
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok = e != NULL && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, const char *san, int ca, X509 *issuer,
                       EVP_PKEY *issuer_key)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509V3_CTX v3;
    int ok = x != NULL && X509_set_version(x, X509_VERSION_3) &&
             ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -24L * 3600) &&
             X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600) &&
             X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "O", MBSTRING_ASC,
                                        (const unsigned char *)"nktls api test", -1, -1, 0) &&
             X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                        (const unsigned char *)cn, -1, -1, 0) &&
             X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x)) &&
             X509_set_pubkey(x, key);
    if (ok) {
        X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
        ok = add_ext(x, &v3, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE") &&
             add_ext(x, &v3, NID_key_usage, ca ? "critical,keyCertSign,cRLSign"
                                               : "critical,digitalSignature") &&
             add_ext(x, &v3, NID_subject_key_identifier, "hash") &&
             (!issuer || add_ext(x, &v3, NID_authority_key_identifier, "keyid:always")) &&
             (!san || add_ext(x, &v3, NID_subject_alt_name, san)) &&
             X509_sign(x, issuer ? issuer_key : key, EVP_sha256()) > 0;
    }
    if (!ok)
        die(cn);
    return x;
}

static struct blob cert_der(X509 *x)
{
    struct blob b = { 0 };
    int n = i2d_X509(x, NULL);
    unsigned char *p;
    if (n <= 0 || !(b.p = malloc((size_t)n)))
        die("certificate DER");
    p = b.p;
    i2d_X509(x, &p);
    b.n = (ubyte4)n;
    return b;
}

static struct blob key_der(EVP_PKEY *k)
{
    struct blob b = { 0 };
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
    int n = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, NULL) : -1;
    unsigned char *p;
    if (n <= 0 || !(b.p = malloc((size_t)n)))
        die("key DER");
    p = b.p;
    i2d_PKCS8_PRIV_KEY_INFO(p8, &p);
    b.n = (ubyte4)n;
    PKCS8_PRIV_KEY_INFO_free(p8);
    return b;
}

static char *bio_text(BIO *b)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *s = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (!s)
        die("PEM");
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    BIO_free(b);
    return s;
}

static void make_pki(void)
{
    EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *srv_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *cli_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (!ca_key || !other_key || !srv_key || !cli_key || !rsa_key)
        die("keys");
    X509 *ca = make_cert(ca_key, "nktls api test CA", NULL, 1, NULL, NULL);
    X509 *other = make_cert(other_key, "nktls api other CA", NULL, 1, NULL, NULL);
    X509 *srv = make_cert(srv_key, "server.example.com", "DNS:server.example.com", 0, ca, ca_key);
    X509 *rsa = make_cert(rsa_key, "rsa.example.com", "DNS:rsa.example.com", 0, ca, ca_key);
    X509 *cli = make_cert(cli_key, "client.example.com", "DNS:client.example.com", 0, ca, ca_key);

    pki.ca = cert_der(ca);
    pki.other_ca = cert_der(other);
    pki.srv = cert_der(srv);
    pki.rsa = cert_der(rsa);
    pki.cli = cert_der(cli);
    pki.rsa_key = key_der(rsa_key);
    pki.cli_key = key_der(cli_key);

    BIO *b = BIO_new(BIO_s_mem());
    if (!b || PEM_write_bio_X509(b, srv) != 1)
        die("server PEM");
    pki.srv_pem = bio_text(b);
    b = BIO_new(BIO_s_mem());
    if (!b || PEM_write_bio_PrivateKey(b, srv_key, NULL, NULL, 0, NULL, NULL) != 1)
        die("server key PEM");
    pki.srv_key_pem = bio_text(b);

    X509 *certs[] = { ca, other, srv, rsa, cli };
    EVP_PKEY *keys[] = { ca_key, other_key, srv_key, cli_key, rsa_key };
    for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
        X509_free(certs[i]);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        EVP_PKEY_free(keys[i]);
}

/* ---- per-case environment --------------------------------------------------- */

static struct {
    certStorePtr srv;         /* identities: srv (first), rsa; trusts ca */
    certStorePtr srv_other;   /* same identities; trusts only other_ca */
    certStorePtr cli;         /* trusts ca */
    certStorePtr cli_id;      /* trusts ca; identity cli */
    certStorePtr other;       /* trusts only other_ca */
} env;

/* Alerts the peer sent, as funcPtrAlertCallback reports them. */
static pthread_mutex_t alert_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    sbyte4 h, id, cls;
} alerts[32];
static int n_alerts;

static sbyte4 on_alert(sbyte4 h, sbyte4 id, sbyte4 cls)
{
    pthread_mutex_lock(&alert_mu);
    if (n_alerts < (int)(sizeof(alerts) / sizeof(alerts[0]))) {
        alerts[n_alerts].h = h;
        alerts[n_alerts].id = id;
        alerts[n_alerts].cls = cls;
        n_alerts++;
    }
    pthread_mutex_unlock(&alert_mu);
    return OK;
}

/* How many alerts handle h received; the last one's id and class. */
static int alerts_for(sbyte4 h, sbyte4 *id, sbyte4 *cls)
{
    int n = 0;
    pthread_mutex_lock(&alert_mu);
    for (int i = 0; i < n_alerts; i++) {
        if (alerts[i].h != h)
            continue;
        n++;
        *id = alerts[i].id;
        *cls = alerts[i].cls;
    }
    pthread_mutex_unlock(&alert_mu);
    return n;
}

/* The EC server identity goes through the PEM calls, the others through DER. */
static void add_pem_identity(certStorePtr s)
{
    ubyte *der = NULL, *blob = NULL;
    ubyte4 der_len = 0, blob_len = 0;
    ASSERT_EQ(CA_MGMT_decodeCertificate((const ubyte *)pki.srv_pem, (ubyte4)strlen(pki.srv_pem),
                                        &der, &der_len), OK);
    ASSERT_EQ(der_len, pki.srv.n);
    ASSERT_MEM_EQ(der, pki.srv.p, der_len);
    ASSERT_EQ(CA_MGMT_convertKeyPEM((const ubyte *)pki.srv_key_pem,
                                    (ubyte4)strlen(pki.srv_key_pem), &blob, &blob_len), OK);
    ASSERT_EQ(CERT_STORE_addIdentity(s, der, der_len, blob, blob_len), OK);
    free(der);
    ASSERT_EQ(CA_MGMT_freeKeyBlob(&blob), OK);
    ASSERT_NULL(blob);
}

static void add_der_identity(certStorePtr s, struct blob cert, struct blob key)
{
    ubyte *blob = NULL;
    ubyte4 blob_len = 0;
    ASSERT_EQ(CA_MGMT_convertKeyDER(key.p, key.n, &blob, &blob_len), OK);
    ASSERT_EQ(CERT_STORE_addIdentity(s, cert.p, cert.n, blob, blob_len), OK);
    ASSERT_EQ(CA_MGMT_freeKeyBlob(&blob), OK);
}

static certStorePtr new_store(const struct blob *trust)
{
    certStorePtr s = NULL;
    ASSERT_EQ(CERT_STORE_createStore(&s), OK);
    ASSERT_NOT_NULL(s);
    if (trust)
        ASSERT_EQ(CERT_STORE_addTrustPoint(s, trust->p, trust->n), OK);
    return s;
}

static void make_stores(void)
{
    env.srv = new_store(&pki.ca);
    add_pem_identity(env.srv);
    add_der_identity(env.srv, pki.rsa, pki.rsa_key);
    env.srv_other = new_store(&pki.other_ca);
    add_pem_identity(env.srv_other);
    add_der_identity(env.srv_other, pki.rsa, pki.rsa_key);
    env.cli = new_store(&pki.ca);
    env.cli_id = new_store(&pki.ca);
    add_der_identity(env.cli_id, pki.cli, pki.cli_key);
    env.other = new_store(&pki.other_ca);
}

static void release_stores(void)
{
    certStorePtr *all[] = { &env.srv, &env.srv_other, &env.cli, &env.cli_id, &env.other };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        ASSERT_EQ(CERT_STORE_releaseStore(all[i]), OK);
        ASSERT_NULL(*all[i]);
    }
}

/* Start-up as an application does it; n server and n client connections. */
static void env_up(sbyte4 n)
{
    ASSERT_EQ(MOCANA_initMocana(), OK);
    ASSERT_EQ(SSL_init(n, n), OK);
    sslSettings *s = SSL_sslSettings();
    ASSERT_NOT_NULL(s);
    /* SSL_init sets the defaults; a broken case should fail in seconds, not 15 s. */
    ASSERT_EQ(s->sslTimeOutHello, (ubyte4)TIMEOUT_SSL_HELLO);
    ASSERT_EQ(s->sslTimeOutReceive, (ubyte4)TIMEOUT_SSL_RECV);
    s->sslTimeOutHello = 5000;
    s->funcPtrAlertCallback = on_alert;
    make_stores();
}

static void env_down(void)
{
    release_stores();
    ASSERT_EQ(SSL_shutdownStack(), OK);
    ASSERT_EQ(SSL_releaseTables(), OK);
    ASSERT_EQ(MOCANA_freeMocana(), OK);
}

/* ---- sockets, data, time ------------------------------------------------------ */

/* fd[0] is the client's end, fd[1] the server's. */
static int make_pair(int tcp, int fd[2])
{
    if (!tcp)
        return socketpair(AF_UNIX, SOCK_STREAM, 0, fd);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);
    int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &alen) < 0)
        return -1;
    fd[0] = socket(AF_INET, SOCK_STREAM, 0);
    if (fd[0] < 0 || connect(fd[0], (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    fd[1] = accept(l, NULL, NULL);
    close(l);
    if (fd[1] < 0)
        return -1;
    setsockopt(fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

static void fill(ubyte *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u | 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (ubyte)(x >> 11);
    }
}

static double ms_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static MSTATUS send_all(sbyte4 h, const void *p, size_t n)
{
    const ubyte *b = p;
    while (n) {
        sbyte4 k = SSL_send(h, (sbyte *)b, (sbyte4)n);
        if (k < 0)
            return (MSTATUS)k;
        if (k == 0)
            return ERR_GENERAL;
        b += k;
        n -= (size_t)k;
    }
    return OK;
}

static MSTATUS recv_all(sbyte4 h, void *p, size_t n, ubyte4 timeout_ms)
{
    ubyte *b = p;
    while (n) {
        sbyte4 k = 0;
        sbyte4 want = n > 65536 ? 65536 : (sbyte4)n;
        MSTATUS st = SSL_recv(h, (sbyte *)b, want, &k, timeout_ms);
        if (st != OK)
            return st;
        if (k < 0 || k > want)
            return ERR_GENERAL;
        b += k;
        n -= (size_t)k;
    }
    return OK;
}

/* Receive exactly n bytes and compare them with fill(seed). */
static MSTATUS recv_check(sbyte4 h, size_t n, uint32_t seed)
{
    ubyte *want = malloc(n), *got = malloc(n);
    MSTATUS st = want && got ? recv_all(h, got, n, 10000) : ERR_MEM_ALLOC_FAIL;
    if (st == OK) {
        fill(want, n, seed);
        if (memcmp(want, got, n) != 0)
            st = ERR_GENERAL;
    }
    free(want);
    free(got);
    return st;
}

static MSTATUS send_fill(sbyte4 h, size_t n, uint32_t seed)
{
    ubyte *b = malloc(n);
    MSTATUS st = ERR_MEM_ALLOC_FAIL;
    if (b) {
        fill(b, n, seed);
        st = send_all(h, b, n);
    }
    free(b);
    return st;
}

/* Read until the connection ends; returns how it ended. */
static MSTATUS recv_until_end(sbyte4 h)
{
    sbyte buf[256];
    sbyte4 n;
    MSTATUS st;
    do
        st = SSL_recv(h, buf, sizeof(buf), &n, 10000);
    while (st == OK);
    return st;
}

static const char *errname(sbyte4 st)
{
    return (const char *)MERROR_lookUpErrorCode((MSTATUS)st);
}

/* printf into a static buffer: for failure messages only. */
static const char * __attribute__((format(printf, 1, 2))) at(const char *fmt, ...)
{
    static char buf[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return buf;
}

/* Status checks that name both codes when they fail; a must be a plain variable
 * (the message evaluates it again). No statement may follow them. */
#define ST_EQ(a, b) ST_EQ_AT(a, b, "")
#define ST_EQ_AT(a, b, where) \
    ASSERT_EQ(a, b) TH_LOG("%s%s is %s, want %s", where, #a, errname(a), errname(b))
#define ST_EXPECT(a, b) ST_EXPECT_AT(a, b, "")
#define ST_EXPECT_AT(a, b, where) \
    EXPECT_EQ(a, b) TH_LOG("%s%s is %s, want %s", where, #a, errname(a), errname(b))

/* ---- the server thread -------------------------------------------------------- */

#define NOT_RUN ((MSTATUS)1)   /* no call returns 1: "this step never ran" */

struct srv {
    /* set by the case */
    int fd;
    certStorePtr store;
    ubyte4 flags;                 /* session flags set before the handshake */
    void (*pre)(struct srv *);    /* after SSL_acceptConnection, before the handshake */
    void (*post)(struct srv *);   /* after the handshake, whatever its result */
    const void *arg;
    funcPtrAlpnCallback_t alpn_cb;
    int keep;                     /* post disposes of the connection itself */
    /* filled in by the thread, read by the case after srv_join */
    sbyte4 h;
    MSTATUS hs;
    sbyte4 alert, alert_cls;      /* SSL_lookupAlert(h, hs) after a failed handshake */
    MSTATUS st[8];
    ubyte4 u[8];
    char text[256];
    ubyte key[8][32];
    sem_t go;
    pthread_t th;
};

static void *srv_main(void *p)
{
    struct srv *s = p;
    s->h = SSL_acceptConnection(s->fd, s->store);
    if (s->h <= 0) {
        s->hs = (MSTATUS)s->h;
        return NULL;
    }
    if (s->flags)
        s->st[7] = SSL_setSessionFlags(s->h, s->flags);
    if (s->pre)
        s->pre(s);
    s->hs = SSL_negotiateConnection(s->h);
    s->alert = s->alert_cls = -1;
    if (s->hs < 0 && SSL_lookupAlert(s->h, s->hs, &s->alert, &s->alert_cls) != OK)
        s->alert = s->alert_cls = -1;
    if (s->post)
        s->post(s);
    if (!s->keep)
        SSL_closeConnection(s->h);
    return NULL;
}

static void srv_start(struct srv *s)
{
    for (int i = 0; i < 8; i++)
        s->st[i] = NOT_RUN;
    s->hs = NOT_RUN;
    ASSERT_EQ(sem_init(&s->go, 0, 0), 0);
    ASSERT_EQ(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_join(struct srv *s)
{
    ASSERT_EQ(pthread_join(s->th, NULL), 0);
    sem_destroy(&s->go);
}

/* One client/server pair. The case fills p->s (pre, post, flags...) first. */
struct pair {
    int fd[2];
    struct srv s;
    sbyte4 ch;
};

static void pair_up(struct pair *p, int tcp, certStorePtr sstore, const char *host,
                    certStorePtr cstore)
{
    ASSERT_EQ(make_pair(tcp, p->fd), 0);
    p->s.fd = p->fd[1];
    p->s.store = sstore;
    srv_start(&p->s);
    p->ch = SSL_connect(p->fd[0], 0, NULL, NULL, (const sbyte *)host, cstore);
    ASSERT_GT(p->ch, 0) TH_LOG("SSL_connect: %s", errname(p->ch));
}

/* Close the client (close_notify if open), end the client's sending side so a
 * server still waiting sees the end, join the server, close both sockets. */
static void pair_down(struct pair *p)
{
    if (p->ch > 0)
        ASSERT_EQ(SSL_closeConnection(p->ch), OK);
    p->ch = 0;
    shutdown(p->fd[0], SHUT_WR);
    srv_join(&p->s);
    close(p->fd[0]);
    close(p->fd[1]);
}

/* Server post steps used by several cases. */
static void post_wait_end(struct srv *s)
{
    if (s->hs == OK)
        s->st[0] = recv_until_end(s->h);
}

static void post_status(struct srv *s)
{
    ubyte2 cipher = 0, group = 0;
    ubyte4 curves = 0;
    s->st[1] = SSL_getSessionStatus(s->h, &s->u[0]);
    if (s->hs != OK)
        return;
    s->st[2] = SSL_getCipherInfo(s->h, &cipher, &curves);
    s->u[1] = cipher;
    s->u[2] = curves;
    s->st[3] = SSL_getSSLTLSVersion(s->h, &s->u[3]);
    s->st[4] = NKTLS_getNegotiatedGroup(s->h, &group);
    s->u[4] = group;
    s->st[0] = recv_until_end(s->h);
}

/* ---- start-up, data, shutdown ------------------------------------------------- */

FIXTURE(xfer) {
    int unused;
};
FIXTURE_VARIANT(xfer) {
    int tcp;
};
FIXTURE_VARIANT_ADD(xfer, unix) { .tcp = 0 };
FIXTURE_VARIANT_ADD(xfer, tcp) { .tcp = 1 };

static const size_t xfer_sizes[3] = { 1, 16 * 1024, 1024 * 1024 };

/* For each size: receive fill(10 + i), answer with fill(20 + i). */
static void post_xfer(struct srv *s)
{
    if (s->hs != OK)
        return;
    for (int i = 0; i < 3; i++) {
        s->st[i] = recv_check(s->h, xfer_sizes[i], 10 + (uint32_t)i);
        if (s->st[i] == OK)
            s->st[i] = send_fill(s->h, xfer_sizes[i], 20 + (uint32_t)i);
        if (s->st[i] != OK)
            return;
    }
    s->st[3] = recv_until_end(s->h);
}

TEST_F(xfer, lifecycle_and_data)
{
    struct pair p = { .s.post = post_xfer };
    ubyte *out = malloc(1 << 20), *in = malloc(1 << 20);
    MSTATUS st;
    ASSERT_NOT_NULL(out);
    ASSERT_NOT_NULL(in);

    env_up(4);
    pair_up(&p, variant->tcp, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    /* Already open: a second call is a no-op. */
    ASSERT_EQ(SSL_negotiateConnection(p.ch), OK);
    for (int i = 0; i < 3; i++) {
        size_t n = xfer_sizes[i];
        fill(out, n, 10 + (uint32_t)i);
        /* A blocking send takes everything. */
        ASSERT_EQ(SSL_send(p.ch, (sbyte *)out, (sbyte4)n), (sbyte4)n);
        st = recv_all(p.ch, in, n, 10000);
        ST_EQ(st, OK);
        fill(out, n, 20 + (uint32_t)i);
        ASSERT_MEM_EQ(in, out, n) TH_LOG("%zu bytes from the server", n);
    }
    /* Zero bytes is a valid send of nothing. */
    ASSERT_EQ(SSL_send(p.ch, (sbyte *)out, 0), 0);
    sbyte4 opened = p.ch;
    /* Left open on purpose: SSL_shutdownStack must free it (ASan would see a leak). */
    sbyte4 spare = SSL_connect(p.fd[0], 0, NULL, NULL, (const sbyte *)"x.example", env.cli);
    ASSERT_GT(spare, 0);
    pair_down(&p);
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(p.s.st[i], OK) TH_LOG("server, %zu bytes: %s", xfer_sizes[i],
                                        errname(p.s.st[i]));
    ST_EXPECT(p.s.st[3], ERR_SSL_CONNECTION_CLOSED);

    /* After shutdown nothing is open and no connection can be made... */
    env_down();
    ubyte4 status = 0;
    ASSERT_EQ(SSL_getSessionStatus(opened, &status), ERR_SSL_BAD_ID);
    ASSERT_EQ(SSL_getSessionStatus(spare, &status), ERR_SSL_BAD_ID);
    ASSERT_EQ(SSL_connect(p.fd[0], 0, NULL, NULL, NULL, NULL), ERR_SSL_NOT_INITIALIZED);
    ASSERT_EQ(SSL_acceptConnection(p.fd[1], NULL), ERR_SSL_NOT_INITIALIZED);

    /* ...and the whole sequence can start again, with a different table size. */
    struct pair q = { .s.post = post_xfer };
    env_up(2);
    pair_up(&q, variant->tcp, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(q.ch);
    ST_EQ(st, OK);
    fill(out, 1, 10);
    ASSERT_EQ(SSL_send(q.ch, (sbyte *)out, 1), 1);
    st = recv_all(q.ch, in, 1, 10000);
    ST_EQ(st, OK);
    fill(out, 1, 20);
    ASSERT_EQ(in[0], out[0]);
    /* Closing in the middle: the server's next read sees close_notify. */
    pair_down(&q);
    ASSERT_EQ(q.s.st[0], OK);
    ST_EQ(q.s.st[1], ERR_SSL_CONNECTION_CLOSED);
    env_down();
    free(out);
    free(in);
}

/* ---- receive timeouts ------------------------------------------------------- */

static void post_late_data(struct srv *s)
{
    if (s->hs != OK)
        return;
    sem_wait(&s->go);
    s->st[0] = send_all(s->h, "late", 4);
    s->st[1] = recv_until_end(s->h);
}

TEST_F(xfer, recv_timeout)
{
    struct pair p = { .s.post = post_late_data };
    sbyte buf[64];
    sbyte4 got = -1;
    MSTATUS st;
    double t0, dt;

    env_up(2);
    pair_up(&p, variant->tcp, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);

    /* The call's own timeout. The library counts whole milliseconds, so allow
     * one for rounding; no upper bound (a loaded machine may be slow). */
    t0 = ms_now();
    st = SSL_recv(p.ch, buf, sizeof(buf), &got, 200);
    dt = ms_now() - t0;
    ST_EQ(st, ERR_TCP_READ_TIMEOUT);
    ASSERT_EQ(got, 0);
    ASSERT_GE(dt, 199.0);

    /* Timeout 0 in the call: the connection's SSL_SET_RECV_TIMEOUT applies. */
    ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_RECV_TIMEOUT, (void *)(uintptr_t)150), OK);
    got = -1;
    t0 = ms_now();
    st = SSL_recv(p.ch, buf, sizeof(buf), &got, 0);
    dt = ms_now() - t0;
    ST_EQ(st, ERR_TCP_READ_TIMEOUT);
    ASSERT_EQ(got, 0);
    ASSERT_GE(dt, 149.0);

    /* Bad arguments change nothing. */
    ASSERT_EQ(SSL_recv(p.ch, buf, 0, &got, 10), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_recv(p.ch, NULL, sizeof(buf), &got, 10), ERR_NULL_POINTER);
    ASSERT_EQ(SSL_recv(p.ch, buf, sizeof(buf), NULL, 10), ERR_NULL_POINTER);

    /* A timeout is not fatal: data sent afterwards arrives. */
    sem_post(&p.s.go);
    st = SSL_recv(p.ch, buf, sizeof(buf), &got, 10000);
    ST_EQ(st, OK);
    ASSERT_EQ(got, 4);
    ASSERT_MEM_EQ(buf, "late", 4);
    pair_down(&p);
    ASSERT_EQ(p.s.st[0], OK);
    ST_EQ(p.s.st[1], ERR_SSL_CONNECTION_CLOSED);
    env_down();
}

/* sslTimeOutHello bounds the whole handshake: a server whose client never
 * speaks gives up with ERR_SSL_HANDSHAKE_TIMEOUT and sends nothing. */
TEST(hello_timeout_server)
{
    int fd[2];
    ubyte buf[64];
    ubyte4 status = 0;
    sbyte4 a = 0, l = 0;
    MSTATUS st;

    env_up(2);
    SSL_sslSettings()->sslTimeOutHello = 300;
    ASSERT_EQ(make_pair(0, fd), 0);
    sbyte4 h = SSL_acceptConnection(fd[1], env.srv);
    ASSERT_GT(h, 0);
    double t0 = ms_now();
    st = SSL_negotiateConnection(h);
    double dt = ms_now() - t0;
    ST_EQ(st, ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_GE(dt, 299.0);
    ASSERT_EQ(recv(fd[0], buf, sizeof(buf), MSG_DONTWAIT), -1);
    ASSERT_EQ(errno, EAGAIN);
    ASSERT_EQ(SSL_getSessionStatus(h, &status), OK);
    ASSERT_EQ(status, (ubyte4)SSL_CONNECTION_NEGOTIATE);
    /* A timeout has no alert to report. */
    ASSERT_EQ(SSL_lookupAlert(h, ERR_SSL_HANDSHAKE_TIMEOUT, &a, &l), ERR_INVALID_ARG);
    /* The failure is sticky. */
    st = SSL_negotiateConnection(h);
    ST_EQ(st, ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_EQ(SSL_closeConnection(h), OK);
    /* Nothing, not even close_notify, went out for a connection never opened. */
    ASSERT_EQ(recv(fd[0], buf, sizeof(buf), MSG_DONTWAIT), -1);
    close(fd[0]);
    close(fd[1]);
    env_down();
}

/* The same on the client: its ClientHello goes out, no answer comes back. */
TEST(hello_timeout_client)
{
    int fd[2];
    ubyte buf[4096];
    MSTATUS st;

    env_up(2);
    SSL_sslSettings()->sslTimeOutHello = 300;
    ASSERT_EQ(make_pair(0, fd), 0);
    sbyte4 h = SSL_connect(fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h, 0);
    double t0 = ms_now();
    st = SSL_negotiateConnection(h);
    double dt = ms_now() - t0;
    ST_EQ(st, ERR_SSL_HANDSHAKE_TIMEOUT);
    ASSERT_GE(dt, 299.0);
    ASSERT_EQ(SSL_closeConnection(h), OK);
    /* Exactly one record arrived: a handshake record (the ClientHello). */
    ssize_t n = recv(fd[1], buf, sizeof(buf), MSG_DONTWAIT);
    ASSERT_GE(n, 5);
    ASSERT_EQ(buf[0], 22);
    ASSERT_EQ(buf[1], 3);
    ASSERT_EQ((size_t)n, 5 + ((size_t)buf[3] << 8 | buf[4]));
    close(fd[0]);
    close(fd[1]);
    env_down();
}

/* sslTimeOutReceive bounds each read of the handshake. */
TEST(handshake_read_timeout)
{
    int fd[2];
    MSTATUS st;

    env_up(2);
    SSL_sslSettings()->sslTimeOutHello = 5000;
    SSL_sslSettings()->sslTimeOutReceive = 200;
    ASSERT_EQ(make_pair(0, fd), 0);
    sbyte4 h = SSL_acceptConnection(fd[1], env.srv);
    ASSERT_GT(h, 0);
    double t0 = ms_now();
    st = SSL_negotiateConnection(h);
    double dt = ms_now() - t0;
    ST_EQ(st, ERR_TCP_READ_TIMEOUT);
    ASSERT_GE(dt, 199.0);
    ASSERT_LT(dt, 4000.0);   /* the per-read limit, not the 5 s handshake limit */
    ASSERT_EQ(SSL_closeConnection(h), OK);
    close(fd[0]);
    close(fd[1]);
    env_down();
}

/* ---- pending data ----------------------------------------------------------- */

static void post_send_100(struct srv *s)
{
    ubyte b[100];
    if (s->hs != OK)
        return;
    fill(b, sizeof(b), 7);
    s->st[1] = SSL_send(s->h, (sbyte *)b, sizeof(b)) == (sbyte4)sizeof(b) ? OK : ERR_GENERAL;
    s->st[0] = recv_until_end(s->h);
}

TEST(pending)
{
    struct pair p = { .s.post = post_send_100 };
    sbyte4 pending = -1, got = 0;
    ubyte want[100], in[200];
    MSTATUS st;

    env_up(2);
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_sendPending(p.ch, &pending), OK);
    ASSERT_EQ(pending, 0);
    ASSERT_EQ(SSL_recvPending(p.ch, &pending), OK);
    ASSERT_EQ(pending, FALSE);
    ASSERT_EQ(SSL_sendPending(p.ch, NULL), ERR_NULL_POINTER);
    ASSERT_EQ(SSL_recvPending(p.ch, NULL), ERR_NULL_POINTER);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);

    /* The server's 100 bytes come in one record: take 10, 90 stay pending. */
    fill(want, sizeof(want), 7);
    st = SSL_recv(p.ch, (sbyte *)in, 10, &got, 10000);
    ST_EQ(st, OK);
    ASSERT_EQ(got, 10);
    ASSERT_MEM_EQ(in, want, 10);
    ASSERT_EQ(SSL_recvPending(p.ch, &pending), OK);
    ASSERT_EQ(pending, TRUE);
    st = SSL_recv(p.ch, (sbyte *)in, sizeof(in), &got, 10000);
    ST_EQ(st, OK);
    ASSERT_EQ(got, 90);
    ASSERT_MEM_EQ(in, want + 10, 90);
    ASSERT_EQ(SSL_recvPending(p.ch, &pending), OK);
    ASSERT_EQ(pending, FALSE);

    /* A blocking send leaves nothing behind. */
    ASSERT_EQ(SSL_send(p.ch, (sbyte *)in, 50), 50);
    ASSERT_EQ(SSL_sendPending(p.ch, &pending), OK);
    ASSERT_EQ(pending, 0);
    pair_down(&p);
    ASSERT_EQ(p.s.st[1], OK);
    ST_EQ(p.s.st[0], ERR_SSL_CONNECTION_CLOSED);
    env_down();
}

/* ---- closure -------------------------------------------------------------- */

static void post_close_notify(struct srv *s)
{
    s->st[0] = s->hs == OK ? SSL_closeConnection(s->h) : NOT_RUN;
}

static void post_drop_socket(struct srv *s)
{
    /* The socket goes away under an open connection: no close_notify. shutdown,
     * not close, so the descriptor number cannot be reused before it is freed. */
    if (s->hs == OK)
        s->st[0] = shutdown(s->fd, SHUT_RDWR) == 0 ? OK : ERR_GENERAL;
    SSL_closeConnection(s->h);
}

TEST_F(xfer, peer_close_notify)
{
    struct pair p = { .s.post = post_close_notify, .s.keep = 1 };
    sbyte buf[16];
    sbyte4 got = -1, id = -1, cls = -1;
    MSTATUS st;

    env_up(2);
    pair_up(&p, variant->tcp, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    st = SSL_recv(p.ch, buf, sizeof(buf), &got, 10000);
    ST_EQ(st, ERR_SSL_CONNECTION_CLOSED);
    ASSERT_EQ(got, 0);
    /* It stays closed. */
    st = SSL_recv(p.ch, buf, sizeof(buf), &got, 100);
    ST_EQ(st, ERR_SSL_CONNECTION_CLOSED);
    /* The alert callback saw close_notify, as a warning. */
    ASSERT_EQ(alerts_for(p.ch, &id, &cls), 1);
    ASSERT_EQ(id, SSL_ALERT_CLOSE_NOTIFY);
    ASSERT_EQ(cls, SSLALERTLEVEL_WARNING);
    pair_down(&p);
    ASSERT_EQ(p.s.st[0], OK);
    env_down();
}

TEST_F(xfer, peer_close_socket)
{
    struct pair p = { .s.post = post_drop_socket, .s.keep = 1 };
    sbyte buf[16];
    sbyte4 got = -1, id = -1, cls = -1;
    MSTATUS st;

    env_up(2);
    pair_up(&p, variant->tcp, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    st = SSL_recv(p.ch, buf, sizeof(buf), &got, 10000);
    ST_EQ(st, ERR_TCP_SOCKET_CLOSED);
    ASSERT_EQ(got, 0);
    ASSERT_EQ(alerts_for(p.ch, &id, &cls), 0);
    pair_down(&p);
    ASSERT_EQ(p.s.st[0], OK);
    env_down();
}

/* ---- handles ----------------------------------------------------------------- */

static sbyte4 dummy_alpn(sbyte4 h, ubyte **out[], sbyte4 *out_len, ubyte *in, sbyte4 in_len)
{
    return -1;
}

static MSTATUS dummy_cert_status(sbyte4 h, struct certChain *chain, MSTATUS st)
{
    return st;
}

static MSTATUS dummy_invalid_cert(sbyte4 h, MSTATUS st)
{
    return st;
}

/* Every per-connection call with handle x must answer ERR_SSL_BAD_ID. */
static void expect_bad_id(sbyte4 x)
{
    static const CNMatchInfo names[] = { { 0, (const sbyte *)"a.example" }, { 0, NULL } };
    static const char *protos[] = { "h2" };
    static const ubyte2 suites[] = { SSL_TLS_AES_128_GCM_SHA256 };
    ubyte b[32] = "label";
    sbyte4 n = 0, a = 0, l = 0;
    ubyte4 u = 0;
    ubyte2 u2 = 0;
    TCP_SOCKET fd = 0;
    void *cookie = NULL;
    const ubyte *proto = NULL;
    const sbyte *name = NULL;
    nktlsRecordLayerInfo info;
    sbyte subj[64];

#define BAD(call) EXPECT_EQ((sbyte4)(call), (sbyte4)ERR_SSL_BAD_ID) TH_LOG("handle %d: %s", x, #call)
    BAD(SSL_negotiateConnection(x));
    BAD(SSL_send(x, (sbyte *)b, 1));
    BAD(SSL_recv(x, (sbyte *)b, sizeof(b), &n, 1));
    BAD(SSL_recvPending(x, &n));
    BAD(SSL_sendPending(x, &n));
    BAD(SSL_ioctl(x, SSL_SET_RECV_TIMEOUT, (void *)(uintptr_t)10));
    BAD(SSL_ioctl(x, SSL_SET_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION));
    BAD(SSL_setSessionFlags(x, 0));
    BAD(SSL_getSessionFlags(x, &u));
    BAD(SSL_getSessionStatus(x, &u));
    BAD(SSL_isSessionSSL(x));
    BAD(SSL_getSocketId(x, &fd));
    BAD(SSL_getCookie(x, &cookie));
    BAD(SSL_setCookie(x, b));
    BAD(SSL_enableCiphers(x, suites, 1));
    BAD(SSL_getCipherInfo(x, &u2, &u));
    BAD(SSL_getSSLTLSVersion(x, &u));
    BAD(SSL_getSignatureAlgo(x, &u2));
    BAD(SSL_setDNSNames(x, names));
    BAD(SSL_setServerNameIndication(x, "a.example"));
    BAD(SSL_setApplicationLayerProtocol(x, 1, protos));
    BAD(SSL_getSelectedApplicationProtocol(x, &proto, &u));
    BAD(SSL_setAlpnCallback(x, dummy_alpn));
    BAD(SSL_setCertAndStatusCallback(x, dummy_cert_status));
    BAD(SSL_setInvalidCertCallback(x, dummy_invalid_cert));
    BAD(SSL_lookupAlert(x, ERR_SSL_PROTOCOL, &a, &l));
    BAD(SSL_sendAlert(x, SSL_ALERT_CLOSE_NOTIFY, SSLALERTLEVEL_WARNING));
    BAD(SSL_sendKeyUpdateRequest(x, SSL_KEY_UPDATE_NOT_REQUESTED));
    BAD(SSL_generateExportKeyMaterial(x, b, sizeof(b), b, 5, NULL, 0, 0));
    BAD(NKTLS_getServerName(x, &name));
    BAD(NKTLS_getNegotiatedGroup(x, &u2));
    BAD(NKTLS_getPeerSubject(x, subj, sizeof(subj)));
    BAD(NKTLS_getPeerSignatureScheme(x, &u2));
    BAD(NKTLS_getRecordLayerInfo(x, &info));
    BAD(NKTLS_setGroups(x, (const ubyte2[]){ tlsExtNamedCurves_x25519 }, 1));
    BAD(SSL_closeConnection(x));
    BAD(SSL_ASYNC_closeConnection(x));
#undef BAD
}

TEST(stale_handle)
{
    struct pair p = { .s.post = post_wait_end };
    sbyte4 seen[8];
    MSTATUS st;

    env_up(2);
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    sbyte4 h = p.ch;
    ASSERT_EQ(SSL_getInstanceFromSocket(p.fd[0]), h);
    pair_down(&p);   /* closes h */
    ST_EQ(p.s.st[0], ERR_SSL_CONNECTION_CLOSED);

    expect_bad_id(h);
    ASSERT_EQ(SSL_getInstanceFromSocket(p.fd[0]), ERR_SSL_BAD_ID);
    /* Never valid: none, negative, an error code, one never issued. */
    expect_bad_id(0);
    expect_bad_id(-1);
    expect_bad_id(INT32_MIN);
    expect_bad_id(ERR_SSL_BAD_ID);
    expect_bad_id(INT32_MAX);

    /* New connections reuse the slot, never the handle. */
    int fd[2];
    ASSERT_EQ(make_pair(0, fd), 0);
    for (int i = 0; i < 8; i++) {
        seen[i] = SSL_connect(fd[0], 0, NULL, NULL, NULL, env.cli);
        ASSERT_GT(seen[i], 0);
        ASSERT_NE(seen[i], h);
        for (int j = 0; j < i; j++)
            ASSERT_NE(seen[i], seen[j]);
        ubyte4 status = 0;
        ASSERT_EQ(SSL_getSessionStatus(seen[i], &status), OK);
        ASSERT_EQ(status, (ubyte4)SSL_CONNECTION_NEGOTIATE);
        expect_bad_id(h);
        ASSERT_EQ(SSL_closeConnection(seen[i]), OK);
        expect_bad_id(seen[i]);
    }
    close(fd[0]);
    close(fd[1]);
    env_down();
}

/* ---- the connection table ------------------------------------------------- */

TEST(too_many_connections)
{
    int fd[2];
    sbyte4 h[4];
    MSTATUS st;

    ASSERT_EQ(MOCANA_initMocana(), OK);
    ASSERT_EQ(make_pair(0, fd), 0);
    /* Before SSL_init nothing can be made; sizes must make sense. */
    ASSERT_EQ(SSL_connect(fd[0], 0, NULL, NULL, NULL, NULL), ERR_SSL_NOT_INITIALIZED);
    ASSERT_EQ(SSL_acceptConnection(fd[1], NULL), ERR_SSL_NOT_INITIALIZED);
    ASSERT_EQ(SSL_init(0, 0), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_init(-1, 1), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_init(1, 1), OK);
    /* The table is sized once: the same size again is fine, another is not. */
    ASSERT_EQ(SSL_init(1, 1), OK);
    ASSERT_EQ(SSL_init(2, 2), ERR_SSL_BAD_STATE);
    make_stores();
    SSL_sslSettings()->sslTimeOutHello = 5000;

    h[0] = SSL_acceptConnection(fd[1], env.srv);
    ASSERT_GT(h[0], 0);
    h[1] = SSL_connect(fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    ASSERT_GT(h[1], 0);
    ASSERT_EQ(SSL_connect(fd[0], 0, NULL, NULL, NULL, env.cli), ERR_SSL_TOO_MANY_CONNECTIONS);
    ASSERT_EQ(SSL_acceptConnection(fd[1], env.srv), ERR_SSL_TOO_MANY_CONNECTIONS);
    /* A freed slot is usable again, under a new handle. */
    ASSERT_EQ(SSL_closeConnection(h[0]), OK);
    h[2] = SSL_acceptConnection(fd[1], env.srv);
    ASSERT_GT(h[2], 0);
    ASSERT_NE(h[2], h[0]);
    ASSERT_EQ(SSL_connect(fd[0], 0, NULL, NULL, NULL, env.cli), ERR_SSL_TOO_MANY_CONNECTIONS);
    ASSERT_EQ(SSL_closeConnection(h[1]), OK);
    ASSERT_EQ(SSL_closeConnection(h[2]), OK);
    close(fd[0]);
    close(fd[1]);

    /* The two slots carry a real connection. */
    struct pair p = { .s.post = post_wait_end };
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    ASSERT_EQ(SSL_connect(p.fd[0], 0, NULL, NULL, NULL, env.cli), ERR_SSL_TOO_MANY_CONNECTIONS);
    pair_down(&p);
    ST_EQ(p.s.st[0], ERR_SSL_CONNECTION_CLOSED);
    env_down();
}

/* ---- flags, status, negotiated parameters ------------------------------------- */

TEST(session_info)
{
    struct pair p = { .s.post = post_status };
    ubyte4 u = 0, curves = 0;
    ubyte2 cipher = 0, group = 0, sig = 0;
    MSTATUS st;

    env_up(2);
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(SSL_getSessionFlags(p.ch, &u), OK);
    ASSERT_EQ(u, 0u);
    ASSERT_EQ(SSL_setSessionFlags(p.ch, SSL_FLAG_ENABLE_SEND_EMPTY_FRAME | SSL_FLAG_ENABLE_RECV_BUFFER), OK);
    ASSERT_EQ(SSL_getSessionFlags(p.ch, &u), OK);
    ASSERT_EQ(u, (ubyte4)(SSL_FLAG_ENABLE_SEND_EMPTY_FRAME | SSL_FLAG_ENABLE_RECV_BUFFER));
    ASSERT_EQ(SSL_getSessionFlags(p.ch, NULL), ERR_NULL_POINTER);
    ASSERT_EQ(SSL_getSessionStatus(p.ch, &u), OK);
    ASSERT_EQ(u, (ubyte4)SSL_CONNECTION_NEGOTIATE);
    ASSERT_EQ(SSL_getSessionStatus(p.ch, NULL), ERR_NULL_POINTER);
    ASSERT_EQ(SSL_isSessionSSL(p.ch), TRUE);
    ASSERT_EQ(SSL_getCipherInfo(p.ch, &cipher, &curves), ERR_SSL_NOT_OPEN);
    ASSERT_EQ(SSL_getSSLTLSVersion(p.ch, &u), ERR_SSL_NOT_OPEN);

    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    ASSERT_EQ(SSL_getSessionStatus(p.ch, &u), OK);
    ASSERT_EQ(u, (ubyte4)SSL_CONNECTION_OPEN);
    ASSERT_EQ(SSL_getSSLTLSVersion(p.ch, &u), OK);
    ASSERT_EQ(u, (ubyte4)TLS13_MINORVERSION);
    ASSERT_EQ(SSL_getCipherInfo(p.ch, &cipher, &curves), OK);
    ASSERT_EQ(cipher, SSL_TLS_AES_128_GCM_SHA256);   /* first in both default lists */
    /* The client knows only the group the server chose. */
    ASSERT_EQ(curves, 1u << tlsExtNamedCurves_x25519);
    ASSERT_EQ(SSL_getCipherInfo(p.ch, NULL, &curves), ERR_NULL_POINTER);
    ASSERT_EQ(NKTLS_getNegotiatedGroup(p.ch, &group), OK);
    ASSERT_EQ(group, tlsExtNamedCurves_x25519);
    ASSERT_EQ(SSL_getSignatureAlgo(p.ch, &sig), OK);
    ASSERT_EQ(sig, 0x0403);   /* ecdsa_secp256r1_sha256: the P-256 server key */
    /* Flags survive the handshake. */
    ASSERT_EQ(SSL_getSessionFlags(p.ch, &u), OK);
    ASSERT_EQ(u, (ubyte4)(SSL_FLAG_ENABLE_SEND_EMPTY_FRAME | SSL_FLAG_ENABLE_RECV_BUFFER));
    pair_down(&p);

    ST_EQ(p.s.hs, OK);
    ASSERT_EQ(p.s.st[1], OK);
    ASSERT_EQ(p.s.u[0], (ubyte4)SSL_CONNECTION_OPEN);
    ASSERT_EQ(p.s.st[2], OK);
    ASSERT_EQ(p.s.u[1], (ubyte4)SSL_TLS_AES_128_GCM_SHA256);
    /* The server saw every group the client supports. */
    ASSERT_EQ(p.s.u[2], (1u << tlsExtNamedCurves_x25519) | (1u << tlsExtNamedCurves_secp256r1) |
                        (1u << tlsExtNamedCurves_secp384r1) | (1u << tlsExtNamedCurves_x448) |
                        (1u << tlsExtNamedCurves_secp521r1));
    ASSERT_EQ(p.s.st[3], OK);
    ASSERT_EQ(p.s.u[3], (ubyte4)TLS13_MINORVERSION);
    ASSERT_EQ(p.s.st[4], OK);
    ASSERT_EQ(p.s.u[4], (ubyte4)tlsExtNamedCurves_x25519);
    ST_EQ(p.s.st[0], ERR_SSL_CONNECTION_CLOSED);
    env_down();
}

TEST(socket_and_cookie)
{
    int fd[2], x = 0;
    TCP_SOCKET s = -1;
    void *cookie = &x;

    env_up(2);
    ASSERT_EQ(make_pair(0, fd), 0);
    sbyte4 c = SSL_connect(fd[0], 0, NULL, NULL, NULL, env.cli);
    sbyte4 a = SSL_acceptConnection(fd[1], env.srv);
    ASSERT_GT(c, 0);
    ASSERT_GT(a, 0);
    ASSERT_NE(c, a);
    ASSERT_EQ(SSL_getSocketId(c, &s), OK);
    ASSERT_EQ(s, fd[0]);
    ASSERT_EQ(SSL_getSocketId(a, &s), OK);
    ASSERT_EQ(s, fd[1]);
    ASSERT_EQ(SSL_getSocketId(a, NULL), ERR_NULL_POINTER);
    ASSERT_EQ(SSL_getInstanceFromSocket(fd[0]), c);
    ASSERT_EQ(SSL_getInstanceFromSocket(fd[1]), a);
    ASSERT_LT(SSL_getInstanceFromSocket(fd[1] + 100), 0);
    ASSERT_LT(SSL_getInstanceFromSocket(-1), 0);

    ASSERT_EQ(SSL_getCookie(c, &cookie), OK);
    ASSERT_NULL(cookie);
    ASSERT_EQ(SSL_setCookie(c, &x), OK);
    ASSERT_EQ(SSL_getCookie(c, &cookie), OK);
    ASSERT_TRUE(cookie == &x);
    ASSERT_EQ(SSL_getCookie(a, &cookie), OK);
    ASSERT_NULL(cookie);
    ASSERT_EQ(SSL_getCookie(c, NULL), ERR_NULL_POINTER);

    ASSERT_EQ(SSL_closeConnection(c), OK);
    ASSERT_LT(SSL_getInstanceFromSocket(fd[0]), 0);
    ASSERT_EQ(SSL_getInstanceFromSocket(fd[1]), a);
    ASSERT_EQ(SSL_closeConnection(a), OK);
    close(fd[0]);
    close(fd[1]);
    env_down();
}

/* ---- cipher suites and versions ------------------------------------------------ */

static void pre_enable_cipher(struct srv *s)
{
    s->st[5] = SSL_enableCiphers(s->h, s->arg, 1);
}

TEST(enable_ciphers)
{
    static const ubyte2 suites[] = { SSL_TLS_AES_128_GCM_SHA256, SSL_TLS_AES_256_GCM_SHA384,
                                     SSL_TLS_CHACHA20_POLY1305_SHA256, SSL_TLS_AES_128_CCM_SHA256 };
    static const char *names[] = { "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                   "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256" };
    /* Ids no version of TLS will ever negotiate: unassigned, GREASE, TLS_NULL_WITH_NULL_NULL. */
    static const ubyte2 unknown[] = { 0xFFFF, 0x0A0A, 0x0000 };
    ubyte2 cipher = 0;
    ubyte4 curves = 0;
    MSTATUS st;

    env_up(2);
    /* The client offers one suite: that is the one negotiated. */
    for (int i = 0; i < 4; i++) {
        struct pair p = { .s.post = post_status };
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        ASSERT_EQ(SSL_enableCiphers(p.ch, &suites[i], 1), OK);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ_AT(st, OK, names[i]);
        ASSERT_EQ(SSL_getCipherInfo(p.ch, &cipher, &curves), OK);
        ASSERT_EQ(cipher, suites[i]);
        ASSERT_STR_EQ(NKTLS_cipherName(cipher), names[i]);
        /* Data flows under each suite. */
        ASSERT_EQ(SSL_send(p.ch, (sbyte *)"x", 1), 1);
        /* Too late to change the list. */
        ASSERT_EQ(SSL_enableCiphers(p.ch, suites, 4), ERR_SSL_BAD_STATE);
        pair_down(&p);
        ASSERT_EQ(p.s.u[1], (ubyte4)suites[i]);
        ST_EQ(p.s.st[0], ERR_SSL_CONNECTION_CLOSED);
    }

    /* Unknown ids only: refused; unknown ids mixed with a known one: kept. */
    {
        struct pair p = { .s.post = post_status };
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        ASSERT_EQ(SSL_enableCiphers(p.ch, unknown, 3), ERR_SSL_NO_CIPHER_MATCH);
        ASSERT_EQ(SSL_enableCiphers(p.ch, NULL, 1), ERR_NULL_POINTER);
        ubyte2 mixed[] = { 0xFFFF, SSL_TLS_CHACHA20_POLY1305_SHA256, 0x0A0A };
        ASSERT_EQ(SSL_enableCiphers(p.ch, mixed, 3), OK);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, OK);
        ASSERT_EQ(SSL_getCipherInfo(p.ch, &cipher, &curves), OK);
        ASSERT_EQ(cipher, SSL_TLS_CHACHA20_POLY1305_SHA256);
        pair_down(&p);
    }

    /* Nothing in common: the server fails and says handshake_failure. */
    {
        static const ubyte2 srv_suite = SSL_TLS_AES_128_GCM_SHA256;
        struct pair p = { .s.pre = pre_enable_cipher, .s.arg = &srv_suite };
        sbyte4 id = -1, cls = -1;
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        ASSERT_EQ(SSL_enableCiphers(p.ch, &suites[3], 1), OK);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, ERR_SSL_FATAL_ALERT);
        ASSERT_EQ(SSL_lookupAlert(p.ch, st, &id, &cls), OK);
        ASSERT_EQ(id, SSL_ALERT_HANDSHAKE_FAILURE);
        ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
        ASSERT_EQ(alerts_for(p.ch, &id, &cls), 1);
        ASSERT_EQ(id, SSL_ALERT_HANDSHAKE_FAILURE);
        ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
        pair_down(&p);
        ASSERT_EQ(p.s.st[5], OK);
        ST_EQ(p.s.hs, ERR_SSL_NO_CIPHER_MATCH);
        ASSERT_EQ(p.s.alert, SSL_ALERT_HANDSHAKE_FAILURE);
        ASSERT_EQ(p.s.alert_cls, SSLALERTLEVEL_FATAL);
    }
    env_down();
}

TEST(versions)
{
    MSTATUS st;
    sbyte4 id = -1, cls = -1;
    ubyte4 v = 0;

    env_up(2);
    /* Only TLS 1.2 and 1.3 are versions one can ask for. */
    {
        int fd[2];
        ASSERT_EQ(make_pair(0, fd), 0);
        sbyte4 h = SSL_connect(fd[0], 0, NULL, NULL, NULL, env.cli);
        ASSERT_GT(h, 0);
        ASSERT_EQ(SSL_ioctl(h, SSL_SET_VERSION, (void *)(uintptr_t)TLS11_MINORVERSION),
                  ERR_SSL_UNSUPPORTED_VERSION);
        ASSERT_EQ(SSL_ioctl(h, SSL_SET_VERSION, (void *)(uintptr_t)5), ERR_SSL_UNSUPPORTED_VERSION);
        ASSERT_EQ(SSL_ioctl(h, SSL_SET_MINIMUM_VERSION, (void *)(uintptr_t)TLS10_MINORVERSION),
                  ERR_SSL_UNSUPPORTED_VERSION);
        ASSERT_EQ(SSL_ioctl(h, 9999, NULL), ERR_NOT_SUPPORTED);
        ASSERT_EQ(SSL_closeConnection(h), OK);
        close(fd[0]);
        close(fd[1]);
    }
    /* Exactly 1.3 on the client. */
    {
        struct pair p = { .s.post = post_wait_end };
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_MINIMUM_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION), OK);
        ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION), OK);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, OK);
        ASSERT_EQ(SSL_getSSLTLSVersion(p.ch, &v), OK);
        ASSERT_EQ(v, (ubyte4)TLS13_MINORVERSION);
        ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION),
                  ERR_SSL_BAD_STATE);
        pair_down(&p);
    }
    /* A client capped at 1.2 cannot connect: only 1.3 is implemented. */
    {
        struct pair p = { .s.post = post_wait_end };
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION), OK);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, ERR_SSL_UNSUPPORTED_VERSION);
        ASSERT_EQ(SSL_lookupAlert(p.ch, st, &id, &cls), OK);
        ASSERT_EQ(id, SSL_ALERT_PROTOCOL_VERSION);
        ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
        pair_down(&p);
        /* It said so before giving up. */
        ST_EQ(p.s.hs, ERR_SSL_FATAL_ALERT);
        ASSERT_EQ(alerts_for(p.s.h, &id, &cls), 1);
        ASSERT_EQ(id, SSL_ALERT_PROTOCOL_VERSION);
    }
    env_down();
}

static void pre_server_max_12(struct srv *s)
{
    s->st[5] = SSL_ioctl(s->h, SSL_SET_VERSION, (void *)(uintptr_t)TLS12_MINORVERSION);
}

/* A server capped at 1.2 must not negotiate 1.3 (and 1.2 is not implemented). */
TEST(server_max_version)
{
    struct pair p = { .s.pre = pre_server_max_12, .s.post = post_status };
    sbyte4 id = -1, cls = -1;
    MSTATUS st;

    env_up(2);
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    sbyte4 ch = p.ch;
    pair_down(&p);
    ASSERT_EQ(p.s.st[5], OK);
    ST_EXPECT(p.s.hs, ERR_SSL_UNSUPPORTED_VERSION);
    ST_EXPECT(st, ERR_SSL_FATAL_ALERT);
    if (st == ERR_SSL_FATAL_ALERT) {
        EXPECT_EQ(alerts_for(ch, &id, &cls), 1);
        EXPECT_EQ(id, SSL_ALERT_PROTOCOL_VERSION);
    }
    env_down();
}

/* ---- host names and SNI -------------------------------------------------------- */

struct name_case {
    const char *host;           /* SSL_connect's dnsName */
    CNMatchInfo names[3];       /* SSL_setDNSNames, unless names[0].name is NULL */
    MSTATUS want;
};

TEST(dns_names)
{
    static const struct name_case cases[] = {
        { NULL, { { 0, (const sbyte *)"server.example.com" }, { 0, NULL } }, OK },
        { "wrong.example.com", { { 0, (const sbyte *)"nomatch.example.org" },
                                 { 0, (const sbyte *)"server.example.com" }, { 0, NULL } }, OK },
        { NULL, { { matchFlagSuffix, (const sbyte *)"example.com" }, { 0, NULL } }, OK },
        { "server.example.com", { { 0, NULL } }, OK },
        { NULL, { { 0, (const sbyte *)"other.example.org" }, { 0, NULL } },
          ERR_CERT_HOSTNAME_MISMATCH },
        { NULL, { { matchFlagSuffix, (const sbyte *)"example.org" }, { 0, NULL } },
          ERR_CERT_HOSTNAME_MISMATCH },
        { "wrong.example.com", { { 0, NULL } }, ERR_CERT_HOSTNAME_MISMATCH },
    };
    MSTATUS st;

    env_up(2);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct name_case *k = &cases[i];
        struct pair p = { .s.post = post_wait_end };
        sbyte4 id = -1, cls = -1;
        pair_up(&p, 0, env.srv, k->host, env.cli);
        if (k->names[0].name)
            ASSERT_EQ(SSL_setDNSNames(p.ch, k->names), OK);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ_AT(st, k->want, at("case %zu: ", i));
        if (k->want != OK) {
            ASSERT_EQ(SSL_lookupAlert(p.ch, st, &id, &cls), OK);
            ASSERT_EQ(id, SSL_ALERT_CERTIFICATE_UNKNOWN);
            ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
        }
        pair_down(&p);
        if (k->want != OK) {
            ST_EQ(p.s.hs, ERR_SSL_FATAL_ALERT);
            ASSERT_EQ(alerts_for(p.s.h, &id, &cls), 1);
            ASSERT_EQ(id, SSL_ALERT_CERTIFICATE_UNKNOWN);
            ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
        } else {
            ST_EQ_AT(p.s.st[0], ERR_SSL_CONNECTION_CLOSED, at("case %zu: ", i));
        }
    }
    env_down();
}

static void pre_sni(struct srv *s)
{
    s->st[5] = SSL_setServerNameIndication(s->h, "not.for.servers");
}

static void post_sni(struct srv *s)
{
    const sbyte *name = NULL;
    if (s->hs != OK)
        return;
    s->st[1] = NKTLS_getServerName(s->h, &name);
    if (name)
        snprintf(s->text, sizeof(s->text), "%s", (const char *)name);
    s->st[0] = recv_until_end(s->h);
}

TEST(server_name_indication)
{
    const sbyte *name = NULL;
    char long_name[300];
    sbyte subject[256];
    ubyte2 sig = 0;
    MSTATUS st;

    env_up(2);
    /* The SNI sent can differ from the name the certificate is checked against. */
    {
        struct pair p = { .s.pre = pre_sni, .s.post = post_sni };
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        ASSERT_EQ(SSL_setServerNameIndication(p.ch, "sni.example.net"), OK);
        memset(long_name, 'a', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        ASSERT_EQ(SSL_setServerNameIndication(p.ch, long_name), ERR_INVALID_ARG);
        ASSERT_EQ(NKTLS_getServerName(p.ch, &name), OK);
        ASSERT_STR_EQ((const char *)name, "sni.example.net");
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, OK);
        pair_down(&p);
        ASSERT_EQ(p.s.st[5], ERR_SSL_BAD_STATE);
        ASSERT_EQ(p.s.st[1], OK);
        ASSERT_STR_EQ(p.s.text, "sni.example.net");
    }
    /* The server picks its identity by the name: rsa.example.com gets the RSA one. */
    {
        struct pair p = { .s.post = post_sni };
        pair_up(&p, 0, env.srv, "rsa.example.com", env.cli);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, OK);
        ASSERT_EQ(SSL_getSignatureAlgo(p.ch, &sig), OK);
        ASSERT_EQ(sig, 0x0804);   /* rsa_pss_rsae_sha256 */
        ASSERT_EQ(NKTLS_getPeerSubject(p.ch, subject, sizeof(subject)), OK);
        ASSERT_NOT_NULL(strstr((const char *)subject, "rsa.example.com")) TH_LOG("%s", subject);
        pair_down(&p);
        ASSERT_STR_EQ(p.s.text, "rsa.example.com");
    }
    /* No name, no SNI: the server sees none. */
    {
        struct pair p = { .s.post = post_sni };
        pair_up(&p, 0, env.srv, NULL, env.cli);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, OK);
        ASSERT_EQ(NKTLS_getPeerSubject(p.ch, subject, sizeof(subject)), OK);
        ASSERT_NOT_NULL(strstr((const char *)subject, "server.example.com")) TH_LOG("%s", subject);
        pair_down(&p);
        ASSERT_EQ(p.s.st[1], OK);
        ASSERT_STR_EQ(p.s.text, "");
    }
    env_down();
}

/* ---- ALPN ---------------------------------------------------------------------- */

static struct {
    int calls;
    sbyte4 h;
    ubyte in[64];
    sbyte4 in_len;
} alpn_seen;

/* Picks http/1.1 from the client's list: *out points at its length byte. */
static sbyte4 alpn_pick_http11(sbyte4 h, ubyte **out[], sbyte4 *out_len, ubyte *in, sbyte4 in_len)
{
    alpn_seen.calls++;
    alpn_seen.h = h;
    alpn_seen.in_len = in_len;
    if (in_len > 0 && (size_t)in_len <= sizeof(alpn_seen.in))
        memcpy(alpn_seen.in, in, (size_t)in_len);
    for (sbyte4 i = 0; i < in_len; i += 1 + in[i]) {
        if (in[i] == 8 && i + 9 <= in_len && memcmp(in + i + 1, "http/1.1", 8) == 0) {
            *out = (ubyte **)(in + i);
            *out_len = 1 + in[i];
            return OK;
        }
    }
    return -1;
}

static sbyte4 alpn_refuse(sbyte4 h, ubyte **out[], sbyte4 *out_len, ubyte *in, sbyte4 in_len)
{
    alpn_seen.calls++;
    return -1;
}

static void pre_alpn(struct srv *s)
{
    s->st[5] = SSL_setAlpnCallback(s->h, s->alpn_cb);
}

static void post_alpn(struct srv *s)
{
    const ubyte *proto = NULL;
    if (s->hs != OK)
        return;
    s->st[1] = SSL_getSelectedApplicationProtocol(s->h, &proto, &s->u[0]);
    if (proto && s->u[0] < sizeof(s->text)) {
        memcpy(s->text, proto, s->u[0]);
        s->text[s->u[0]] = '\0';
    }
    s->st[0] = recv_until_end(s->h);
}

TEST(alpn)
{
    static const char *protos[] = { "h2", "http/1.1" };
    static const char *empty[] = { "" };
    const ubyte *proto = NULL;
    ubyte4 len = 99;
    sbyte4 id = -1, cls = -1;
    MSTATUS st;

    env_up(2);
    /* The server's callback chooses; both ends report the choice. */
    {
        struct pair p = { .s.pre = pre_alpn, .s.post = post_alpn,
                          .s.alpn_cb = alpn_pick_http11 };
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        ASSERT_EQ(SSL_setApplicationLayerProtocol(p.ch, 1, empty), ERR_INVALID_ARG);
        ASSERT_EQ(SSL_setApplicationLayerProtocol(p.ch, 2, protos), OK);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, OK);
        ASSERT_EQ(SSL_getSelectedApplicationProtocol(p.ch, &proto, &len), OK);
        ASSERT_EQ(len, 8u);
        ASSERT_MEM_EQ(proto, "http/1.1", 8);
        ASSERT_EQ(SSL_getSelectedApplicationProtocol(p.ch, NULL, &len), ERR_NULL_POINTER);
        pair_down(&p);
        ASSERT_EQ(p.s.st[5], OK);
        ASSERT_EQ(p.s.st[1], OK);
        ASSERT_EQ(p.s.u[0], 8u);
        ASSERT_STR_EQ(p.s.text, "http/1.1");
        ASSERT_EQ(alpn_seen.calls, 1);
        ASSERT_EQ(alpn_seen.h, p.s.h);
        ASSERT_EQ(alpn_seen.in_len, 12);
        ASSERT_MEM_EQ(alpn_seen.in, "\x02h2\x08http/1.1", 12);
    }
    /* The callback refuses: no_application_protocol. */
    {
        struct pair p = { .s.pre = pre_alpn, .s.alpn_cb = alpn_refuse };
        alpn_seen.calls = 0;
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        ASSERT_EQ(SSL_setApplicationLayerProtocol(p.ch, 1, protos), OK);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, ERR_SSL_FATAL_ALERT);
        ASSERT_EQ(SSL_lookupAlert(p.ch, st, &id, &cls), OK);
        ASSERT_EQ(id, SSL_ALERT_NO_APPLICATION_PROTOCOL);
        ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
        pair_down(&p);
        ASSERT_EQ(alpn_seen.calls, 1);
        ST_EQ(p.s.hs, ERR_SSL_NO_APPLICATION_PROTOCOL);
        ASSERT_EQ(p.s.alert, SSL_ALERT_NO_APPLICATION_PROTOCOL);
        ASSERT_EQ(p.s.alert_cls, SSLALERTLEVEL_FATAL);
    }
    /* The client offers, the server has no callback: nothing is selected. */
    {
        struct pair p = { .s.post = post_alpn };
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        ASSERT_EQ(SSL_setApplicationLayerProtocol(p.ch, 2, protos), OK);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, OK);
        ASSERT_EQ(SSL_getSelectedApplicationProtocol(p.ch, &proto, &len), OK);
        ASSERT_EQ(len, 0u);
        pair_down(&p);
        ASSERT_EQ(p.s.u[0], 0u);
    }
    /* The server has a callback, the client offers nothing: it is not called. */
    {
        struct pair p = { .s.pre = pre_alpn, .s.post = post_alpn,
                          .s.alpn_cb = alpn_pick_http11 };
        alpn_seen.calls = 0;
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, OK);
        ASSERT_EQ(SSL_getSelectedApplicationProtocol(p.ch, &proto, &len), OK);
        ASSERT_EQ(len, 0u);
        pair_down(&p);
        ASSERT_EQ(alpn_seen.calls, 0);
        ASSERT_EQ(p.s.u[0], 0u);
    }
    env_down();
}

/* ---- alerts --------------------------------------------------------------------- */

static void post_expect_alert(struct srv *s)
{
    sbyte4 id = -1, cls = -1;
    if (s->hs != OK)
        return;
    s->st[0] = recv_until_end(s->h);
    s->st[1] = SSL_lookupAlert(s->h, s->st[0], &id, &cls);
    s->u[0] = (ubyte4)id;
    s->u[1] = (ubyte4)cls;
}

TEST(alerts)
{
    static const struct {
        MSTATUS err;
        sbyte4 alert;
    } map[] = {
        { ERR_SSL_PROTOCOL, SSL_ALERT_DECODE_ERROR },
        { ERR_SSL_BAD_RECORD_MAC, SSL_ALERT_BAD_RECORD_MAC },
        { ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE },
        { ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY, SSL_ALERT_UNKNOWN_CA },
        { ERR_CERT_EXPIRED, SSL_ALERT_CERTIFICATE_EXPIRED },
        { ERR_CERT_HOSTNAME_MISMATCH, SSL_ALERT_CERTIFICATE_UNKNOWN },
        { ERR_CERT_KEY_TOO_SMALL, SSL_ALERT_INSUFFICIENT_SECURITY },
        { ERR_SSL_CERTIFICATE_REQUIRED, SSL_ALERT_CERTIFICATE_REQUIRED },
        { ERR_SSL_NO_APPLICATION_PROTOCOL, SSL_ALERT_NO_APPLICATION_PROTOCOL },
        { ERR_SSL_UNSUPPORTED_VERSION, SSL_ALERT_PROTOCOL_VERSION },
        { ERR_SSL_NO_CIPHER_MATCH, SSL_ALERT_HANDSHAKE_FAILURE },
    };
    struct pair p = { .s.post = post_expect_alert };
    sbyte4 id = -1, cls = -1;
    MSTATUS st;

    env_up(2);
    /* Set through the setter this time (env_up wrote the field directly). */
    ASSERT_EQ(SSL_setFuncPtrAlertCallback(on_alert), OK);
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        id = cls = -1;
        ASSERT_EQ(SSL_lookupAlert(p.ch, map[i].err, &id, &cls), OK) TH_LOG("%s", errname(map[i].err));
        EXPECT_EQ(id, map[i].alert) TH_LOG("%s", errname(map[i].err));
        EXPECT_EQ(cls, SSLALERTLEVEL_FATAL);
    }
    /* Errors that send no alert have none to look up. */
    ASSERT_EQ(SSL_lookupAlert(p.ch, ERR_TCP_READ_TIMEOUT, &id, &cls), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_lookupAlert(p.ch, ERR_TCP_SOCKET_CLOSED, &id, &cls), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_lookupAlert(p.ch, ERR_SSL_PROTOCOL, NULL, &cls), ERR_NULL_POINTER);
    /* Out-of-range alerts and levels are refused, and nothing is sent. */
    ASSERT_EQ(SSL_sendAlert(p.ch, 256, SSLALERTLEVEL_FATAL), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_sendAlert(p.ch, -1, SSLALERTLEVEL_FATAL), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_sendAlert(p.ch, SSL_ALERT_ACCESS_DENIED, 3), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_send(p.ch, (sbyte *)"ok", 2), 2);

    /* access_denied asked as a warning goes out fatal: TLS 1.3 has no warnings
     * but close_notify and user_canceled. */
    ASSERT_EQ(SSL_sendAlert(p.ch, SSL_ALERT_ACCESS_DENIED, SSLALERTLEVEL_WARNING), OK);
    /* The connection is over for us too. */
    ASSERT_EQ(SSL_send(p.ch, (sbyte *)"x", 1), ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(SSL_sendAlert(p.ch, SSL_ALERT_ACCESS_DENIED, SSLALERTLEVEL_FATAL), ERR_SSL_BAD_STATE);
    pair_down(&p);
    ST_EQ(p.s.st[0], ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(p.s.st[1], OK);
    ASSERT_EQ(p.s.u[0], (ubyte4)SSL_ALERT_ACCESS_DENIED);
    ASSERT_EQ(p.s.u[1], (ubyte4)SSLALERTLEVEL_FATAL);
    ASSERT_EQ(alerts_for(p.s.h, &id, &cls), 1);
    ASSERT_EQ(id, SSL_ALERT_ACCESS_DENIED);
    ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
    env_down();
}

/* ---- certificate callbacks and policy ---------------------------------------------- */

static struct {
    int calls;
    sbyte4 h;
    MSTATUS status;
    size_t count;
    int leaf_is_srv;
    int accept;
} cb;

static MSTATUS on_cert_status(sbyte4 h, struct certChain *chain, MSTATUS status)
{
    cb.calls++;
    cb.h = h;
    cb.status = status;
    cb.count = chain ? chain->count : 0;
    cb.leaf_is_srv = chain && chain->count > 0 && chain->certs[0].len == pki.srv.n &&
                     memcmp(chain->certs[0].p, pki.srv.p, pki.srv.n) == 0;
    return cb.accept ? OK : status;
}

static MSTATUS on_invalid_cert(sbyte4 h, MSTATUS status)
{
    cb.calls++;
    cb.h = h;
    cb.status = status;
    return cb.accept ? OK : status;
}

/* One handshake against the EC server with the client's store and callbacks. */
static MSTATUS cert_case(certStorePtr cstore, funcPtrCertAndStatusCallback_t status_cb,
                         funcPtrInvalidCertCallback_t invalid_cb, int accept, sbyte4 *ch,
                         MSTATUS *srv_hs, sbyte4 *srv_alert)
{
    struct pair p = { .s.post = post_wait_end };
    sbyte4 cls = -1;
    MSTATUS st;

    memset(&cb, 0, sizeof(cb));
    cb.accept = accept;
    *srv_alert = -1;
    pair_up(&p, 0, env.srv, "server.example.com", cstore);
    if (status_cb)
        EXPECT_EQ(SSL_setCertAndStatusCallback(p.ch, status_cb), OK);
    if (invalid_cb)
        EXPECT_EQ(SSL_setInvalidCertCallback(p.ch, invalid_cb), OK);
    st = SSL_negotiateConnection(p.ch);
    *ch = p.ch;
    if (st == OK)
        EXPECT_EQ(SSL_send(p.ch, (sbyte *)"x", 1), 1);
    pair_down(&p);
    *srv_hs = p.s.hs == OK ? p.s.st[0] : p.s.hs;
    alerts_for(p.s.h, srv_alert, &cls);
    return st;
}

TEST(cert_callbacks)
{
    sbyte4 ch = 0, alert = -1;
    MSTATUS st, srv;

    env_up(2);
    /* No callback: a server the client does not trust is refused. */
    st = cert_case(env.other, NULL, NULL, 0, &ch, &srv, &alert);
    ST_EQ(st, ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
    ST_EQ(srv, ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(alert, SSL_ALERT_UNKNOWN_CA);

    /* The status callback sees the chain and the verdict; OK accepts. */
    st = cert_case(env.other, on_cert_status, NULL, 1, &ch, &srv, &alert);
    ST_EQ(st, OK);
    ASSERT_EQ(cb.calls, 1);
    ASSERT_EQ(cb.h, ch);
    ST_EQ(cb.status, ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
    ASSERT_EQ(cb.count, 1u);
    ASSERT_TRUE(cb.leaf_is_srv);
    ST_EQ(srv, ERR_SSL_CONNECTION_CLOSED);

    /* Handing the verdict back keeps it. */
    st = cert_case(env.other, on_cert_status, NULL, 0, &ch, &srv, &alert);
    ST_EQ(st, ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
    ASSERT_EQ(cb.calls, 1);
    ASSERT_EQ(alert, SSL_ALERT_UNKNOWN_CA);

    /* It is called on success too, with OK. */
    st = cert_case(env.cli, on_cert_status, NULL, 0, &ch, &srv, &alert);
    ST_EQ(st, OK);
    ASSERT_EQ(cb.calls, 1);
    ST_EQ(cb.status, OK);
    ASSERT_TRUE(cb.leaf_is_srv);

    /* The invalid-certificate callback is called only on failure. */
    st = cert_case(env.cli, NULL, on_invalid_cert, 0, &ch, &srv, &alert);
    ST_EQ(st, OK);
    ASSERT_EQ(cb.calls, 0);
    st = cert_case(env.other, NULL, on_invalid_cert, 1, &ch, &srv, &alert);
    ST_EQ(st, OK);
    ASSERT_EQ(cb.calls, 1);
    ASSERT_EQ(cb.h, ch);
    ST_EQ(cb.status, ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
    ST_EQ(srv, ERR_SSL_CONNECTION_CLOSED);
    st = cert_case(env.other, NULL, on_invalid_cert, 0, &ch, &srv, &alert);
    ST_EQ(st, ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
    ASSERT_EQ(cb.calls, 1);
    env_down();
}

TEST(min_rsa_key_size)
{
    struct pair p = { .s.post = post_wait_end };
    sbyte4 id = -1, cls = -1;
    MSTATUS st;

    env_up(2);
    ASSERT_EQ(SSL_setMinRSAKeySize(512), ERR_INVALID_ARG);
    ASSERT_EQ(SSL_sslSettings()->minRSAKeySize, 2048u);
    /* RSA-2048 passes the default... */
    pair_up(&p, 0, env.srv, "rsa.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    pair_down(&p);

    /* ...not a 3072-bit minimum. */
    struct pair q = { .s.post = post_wait_end };
    ASSERT_EQ(SSL_setMinRSAKeySize(3072), OK);
    ASSERT_EQ(SSL_sslSettings()->minRSAKeySize, 3072u);
    pair_up(&q, 0, env.srv, "rsa.example.com", env.cli);
    st = SSL_negotiateConnection(q.ch);
    ST_EQ(st, ERR_CERT_KEY_TOO_SMALL);
    ASSERT_EQ(SSL_lookupAlert(q.ch, st, &id, &cls), OK);
    ASSERT_EQ(id, SSL_ALERT_INSUFFICIENT_SECURITY);
    ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
    pair_down(&q);
    ST_EQ(q.s.hs, ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(alerts_for(q.s.h, &id, &cls), 1);
    ASSERT_EQ(id, SSL_ALERT_INSUFFICIENT_SECURITY);

    /* An EC server is not affected. */
    struct pair r = { .s.post = post_wait_end };
    pair_up(&r, 0, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(r.ch);
    ST_EQ(st, OK);
    pair_down(&r);
    env_down();
}

/* ---- KeyUpdate -------------------------------------------------------------- */

static pthread_mutex_t ku_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    sbyte4 h;
    int n;
} ku_seen[4];

static sbyte4 on_key_update(sbyte4 h)
{
    pthread_mutex_lock(&ku_mu);
    for (int i = 0; i < 4; i++) {
        if (ku_seen[i].h == h || ku_seen[i].h == 0) {
            ku_seen[i].h = h;
            ku_seen[i].n++;
            break;
        }
    }
    pthread_mutex_unlock(&ku_mu);
    return OK;
}

static int key_updates(sbyte4 h)
{
    int n = 0;
    pthread_mutex_lock(&ku_mu);
    for (int i = 0; i < 4; i++)
        if (ku_seen[i].h == h)
            n = ku_seen[i].n;
    pthread_mutex_unlock(&ku_mu);
    return n;
}

static void post_key_update(struct srv *s)
{
    if (s->hs != OK)
        return;
    /* 1: the client asked for an update before this. */
    s->st[0] = recv_check(s->h, 5, 1);
    s->st[1] = send_fill(s->h, 5, 2);
    /* 2: our own update, not asking for one back. */
    s->st[2] = SSL_sendKeyUpdateRequest(s->h, SSL_KEY_UPDATE_NOT_REQUESTED);
    s->st[3] = send_fill(s->h, 5, 3);
    /* 3: the client updated twice, then sends 16 KiB. */
    s->st[4] = recv_check(s->h, 16384, 4);
    s->st[5] = send_fill(s->h, 16384, 5);
    s->st[6] = recv_until_end(s->h);
}

TEST(key_update)
{
    struct pair p = { .s.post = post_key_update };
    MSTATUS st;

    env_up(2);
    ASSERT_EQ(SSL_setFuncPtrKeyUpdateRequest(on_key_update), OK);
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    ASSERT_EQ(SSL_sendKeyUpdateRequest(p.ch, 2), ERR_INVALID_ARG);

    ASSERT_EQ(SSL_sendKeyUpdateRequest(p.ch, SSL_KEY_UPDATE_REQUESTED), OK);
    st = send_fill(p.ch, 5, 1);
    ST_EQ(st, OK);
    st = recv_check(p.ch, 5, 2);
    ST_EQ(st, OK);
    st = recv_check(p.ch, 5, 3);
    ST_EQ(st, OK);
    ASSERT_EQ(SSL_sendKeyUpdateRequest(p.ch, SSL_KEY_UPDATE_NOT_REQUESTED), OK);
    ASSERT_EQ(SSL_sendKeyUpdateRequest(p.ch, SSL_KEY_UPDATE_NOT_REQUESTED), OK);
    st = send_fill(p.ch, 16384, 4);
    ST_EQ(st, OK);
    st = recv_check(p.ch, 16384, 5);
    ST_EQ(st, OK);
    sbyte4 ch = p.ch;
    pair_down(&p);
    for (int i = 0; i < 6; i++)
        ST_EXPECT_AT(p.s.st[i], OK, at("server step %d: ", i));
    ST_EQ(p.s.st[6], ERR_SSL_CONNECTION_CLOSED);
    /* The callback ran once per KeyUpdate received: the server got the client's
     * three, the client got the server's answer to its request and its own. */
    ASSERT_EQ(key_updates(p.s.h), 3);
    ASSERT_EQ(key_updates(ch), 2);
    env_down();
}

/* A KeyUpdate asked for before the handshake is refused, and must not spoil it.
 * A short timeout: a hang here must not stall the whole suite. */
TEST_TIMEOUT(key_update_before_open, 5)
{
    struct pair p = { .s.post = post_wait_end };
    MSTATUS st;

    env_up(2);
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    st = SSL_sendKeyUpdateRequest(p.ch, SSL_KEY_UPDATE_NOT_REQUESTED);
    ST_EQ(st, ERR_SSL_NOT_OPEN);
    st = SSL_negotiateConnection(p.ch);
    ST_EXPECT(st, OK);
    pair_down(&p);
    ST_EXPECT(p.s.hs, OK);
    env_down();
}

/* An alert before any handshake: the call returns, and if it says OK the peer
 * got exactly that alert, as one plaintext record. */
TEST_TIMEOUT(alert_before_open, 5)
{
    int fd[2];
    ubyte buf[64];
    MSTATUS st;

    env_up(2);
    ASSERT_EQ(make_pair(0, fd), 0);
    sbyte4 h = SSL_connect(fd[0], 0, NULL, NULL, NULL, env.cli);
    ASSERT_GT(h, 0);
    st = SSL_sendAlert(h, SSL_ALERT_HANDSHAKE_FAILURE, SSLALERTLEVEL_FATAL);
    TH_LOG("SSL_sendAlert before the handshake: %s", errname(st));
    ssize_t n = recv(fd[1], buf, sizeof(buf), MSG_DONTWAIT);
    if (st == OK) {
        ASSERT_EQ(n, 7);
        ASSERT_EQ(buf[0], 21);
        ASSERT_EQ(buf[1], 3);
        ASSERT_EQ(buf[3], 0);
        ASSERT_EQ(buf[4], 2);
        ASSERT_EQ(buf[5], SSLALERTLEVEL_FATAL);
        ASSERT_EQ(buf[6], SSL_ALERT_HANDSHAKE_FAILURE);
    }
    ASSERT_EQ(SSL_closeConnection(h), OK);
    close(fd[0]);
    close(fd[1]);
    env_down();
}

/* ---- exporter ------------------------------------------------------------- */

static const struct {
    const char *label, *ctx;
    int use_ctx;
} exports[] = {
    { "EXPORTER-nktls-test", "context", 1 },
    { "EXPORTER-nktls-other", "context", 1 },
    { "EXPORTER-nktls-test", "context2", 1 },
    { "EXPORTER-nktls-test", NULL, 0 },
    { "EXPORTER-nktls-test", "", 1 },
};
#define N_EXPORTS (sizeof(exports) / sizeof(exports[0]))

static MSTATUS do_export(sbyte4 h, int i, ubyte out[32])
{
    ubyte label[64], ctx[64];
    size_t ll = strlen(exports[i].label), cl = exports[i].ctx ? strlen(exports[i].ctx) : 0;
    memcpy(label, exports[i].label, ll);
    if (cl)
        memcpy(ctx, exports[i].ctx, cl);
    return SSL_generateExportKeyMaterial(h, out, 32, label, (ubyte2)ll,
                                         exports[i].ctx ? ctx : NULL, (ubyte2)cl,
                                         exports[i].use_ctx);
}

static void post_export(struct srv *s)
{
    if (s->hs != OK)
        return;
    for (size_t i = 0; i < N_EXPORTS; i++)
        s->st[i] = do_export(s->h, (int)i, s->key[i]);
    s->st[7] = recv_until_end(s->h);
}

TEST(export_key_material)
{
    struct pair p = { .s.post = post_export };
    ubyte key[N_EXPORTS][32];
    MSTATUS st;

    env_up(2);
    pair_up(&p, 0, env.srv, "server.example.com", env.cli);
    ASSERT_EQ(do_export(p.ch, 0, key[0]), ERR_SSL_NOT_OPEN);
    st = SSL_negotiateConnection(p.ch);
    ST_EQ(st, OK);
    for (size_t i = 0; i < N_EXPORTS; i++)
        ASSERT_EQ(do_export(p.ch, (int)i, key[i]), OK);
    ASSERT_EQ(SSL_generateExportKeyMaterial(p.ch, NULL, 32, (ubyte *)"x", 1, NULL, 0, 0),
              ERR_NULL_POINTER);
    pair_down(&p);
    for (size_t i = 0; i < N_EXPORTS; i++) {
        ASSERT_EQ(p.s.st[i], OK);
        /* Both ends derive the same bytes. */
        ASSERT_MEM_EQ(key[i], p.s.key[i], 32) TH_LOG("export %zu", i);
    }
    /* Another label or context gives other bytes. */
    ASSERT_NE(memcmp(key[0], key[1], 32), 0);
    ASSERT_NE(memcmp(key[0], key[2], 32), 0);
    ASSERT_NE(memcmp(key[0], key[3], 32), 0);
    /* RFC 8446 §7.5: no context and an empty one are the same in TLS 1.3. */
    ASSERT_MEM_EQ(key[3], key[4], 32);
    ST_EQ(p.s.st[7], ERR_SSL_CONNECTION_CLOSED);
    env_down();
}

/* ---- mutual authentication ------------------------------------------------------ */

static void post_mutual(struct srv *s)
{
    sbyte subject[256];
    ubyte2 sig = 0;
    s->st[2] = SSL_getSessionFlags(s->h, &s->u[0]);
    if (s->hs != OK)
        return;
    s->st[1] = NKTLS_getPeerSubject(s->h, subject, sizeof(subject));
    snprintf(s->text, sizeof(s->text), "%s", (const char *)subject);
    s->st[3] = SSL_getSignatureAlgo(s->h, &sig);
    s->u[1] = sig;
    s->st[4] = send_fill(s->h, 1, 9);
    s->st[0] = recv_until_end(s->h);
}

TEST(mutual_auth)
{
    sbyte4 id = -1, cls = -1;
    sbyte buf[16];
    sbyte4 got = 0;
    MSTATUS st;

    env_up(2);
    /* The client has an identity: both ends open, the server knows who it is. */
    {
        struct pair p = { .s.flags = SSL_FLAG_REQUIRE_MUTUAL_AUTH, .s.post = post_mutual };
        pair_up(&p, 0, env.srv, "server.example.com", env.cli_id);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, OK);
        st = recv_check(p.ch, 1, 9);
        ST_EQ(st, OK);
        pair_down(&p);
        ASSERT_EQ(p.s.st[7], OK);
        ST_EQ(p.s.hs, OK);
        ASSERT_EQ(p.s.u[0], (ubyte4)SSL_FLAG_REQUIRE_MUTUAL_AUTH);
        ASSERT_EQ(p.s.st[1], OK);
        ASSERT_NOT_NULL(strstr(p.s.text, "client.example.com")) TH_LOG("%s", p.s.text);
        ASSERT_EQ(p.s.st[3], OK);
        ASSERT_EQ(p.s.u[1], 0x0403u);
        ST_EQ(p.s.st[0], ERR_SSL_CONNECTION_CLOSED);
    }
    /* Without: the client finishes first (TLS 1.3), then hears certificate_required. */
    {
        struct pair p = { .s.flags = SSL_FLAG_REQUIRE_MUTUAL_AUTH, .s.post = post_mutual };
        pair_up(&p, 0, env.srv, "server.example.com", env.cli);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, OK);
        st = SSL_recv(p.ch, buf, sizeof(buf), &got, 10000);
        ST_EQ(st, ERR_SSL_FATAL_ALERT);
        ASSERT_EQ(SSL_lookupAlert(p.ch, st, &id, &cls), OK);
        ASSERT_EQ(id, SSL_ALERT_CERTIFICATE_REQUIRED);
        ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
        pair_down(&p);
        ST_EQ(p.s.hs, ERR_SSL_CERTIFICATE_REQUIRED);
        ASSERT_EQ(p.s.alert, SSL_ALERT_CERTIFICATE_REQUIRED);
        ASSERT_EQ(p.s.alert_cls, SSLALERTLEVEL_FATAL);
    }
    /* The server does not trust the client's issuer: unknown_ca. */
    {
        struct pair p = { .s.flags = SSL_FLAG_REQUIRE_MUTUAL_AUTH, .s.post = post_mutual };
        pair_up(&p, 0, env.srv_other, "server.example.com", env.cli_id);
        st = SSL_negotiateConnection(p.ch);
        ST_EQ(st, OK);
        st = SSL_recv(p.ch, buf, sizeof(buf), &got, 10000);
        ST_EQ(st, ERR_SSL_FATAL_ALERT);
        ASSERT_EQ(SSL_lookupAlert(p.ch, st, &id, &cls), OK);
        ASSERT_EQ(id, SSL_ALERT_UNKNOWN_CA);
        pair_down(&p);
        ST_EQ(p.s.hs, ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
        ASSERT_EQ(p.s.alert, SSL_ALERT_UNKNOWN_CA);
    }
    env_down();
}

/* ---- many connections on many threads ----------------------------------------- */

#define N_WORKERS 8
#define N_ROUNDS 200

static void post_echo(struct srv *s)
{
    ubyte buf[4096];
    if (s->hs != OK)
        return;
    s->u[0] = 0;
    for (;;) {
        sbyte4 n = 0;
        MSTATUS st = SSL_recv(s->h, (sbyte *)buf, sizeof(buf), &n, 10000);
        if (st == OK)
            st = send_all(s->h, buf, (size_t)n);
        if (st != OK) {
            s->st[0] = st;
            return;
        }
        s->u[0] += (ubyte4)n;
    }
}

struct worker {
    int id;
    pthread_barrier_t *start;
    sbyte4 h;
    MSTATUS hs, st;
    int rounds, mismatches;
    size_t bytes;
    int fd[2];
    struct srv s;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    ubyte out[2048], in[2048];

    w->hs = w->st = NOT_RUN;
    w->s.st[0] = NOT_RUN;
    pthread_barrier_wait(w->start);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, w->fd) != 0)
        return NULL;
    w->s.fd = w->fd[1];
    w->s.store = env.srv;
    w->s.post = post_echo;
    w->s.hs = NOT_RUN;
    sem_init(&w->s.go, 0, 0);
    for (int i = 0; i < 8; i++)
        w->s.st[i] = NOT_RUN;
    if (pthread_create(&w->s.th, NULL, srv_main, &w->s) != 0)
        return NULL;
    w->h = SSL_connect(w->fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    w->hs = w->h > 0 ? SSL_negotiateConnection(w->h) : (MSTATUS)w->h;
    w->st = w->hs;
    for (int i = 0; w->st == OK && i < N_ROUNDS; i++) {
        size_t n = 1 + ((size_t)w->id * 131 + (size_t)i * 37) % sizeof(out);
        fill(out, n, (uint32_t)(w->id * 100000 + i));
        w->st = send_all(w->h, out, n);
        if (w->st == OK)
            w->st = recv_all(w->h, in, n, 10000);
        if (w->st != OK)
            break;
        if (memcmp(in, out, n) != 0)
            w->mismatches++;
        w->rounds++;
        w->bytes += n;
    }
    if (w->h > 0)
        SSL_closeConnection(w->h);
    shutdown(w->fd[0], SHUT_WR);
    pthread_join(w->s.th, NULL);
    sem_destroy(&w->s.go);
    close(w->fd[0]);
    close(w->fd[1]);
    return NULL;
}

TEST(threads)
{
    static struct worker w[N_WORKERS];
    pthread_t th[N_WORKERS];
    pthread_barrier_t start;

    env_up(2 * N_WORKERS);
    ASSERT_EQ(pthread_barrier_init(&start, NULL, N_WORKERS), 0);
    for (int i = 0; i < N_WORKERS; i++) {
        w[i].id = i;
        w[i].start = &start;
        ASSERT_EQ(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < N_WORKERS; i++)
        ASSERT_EQ(pthread_join(th[i], NULL), 0);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < N_WORKERS; i++) {
        ST_EXPECT_AT(w[i].hs, OK, at("worker %d: ", i));
        ST_EXPECT_AT(w[i].s.hs, OK, at("worker %d: ", i));
        ST_EXPECT_AT(w[i].st, OK, at("worker %d: ", i));
        EXPECT_EQ(w[i].rounds, N_ROUNDS) TH_LOG("worker %d", i);
        EXPECT_EQ(w[i].mismatches, 0) TH_LOG("worker %d", i);
        EXPECT_EQ((size_t)w[i].s.u[0], w[i].bytes) TH_LOG("worker %d: server echoed", i);
        ST_EXPECT_AT(w[i].s.st[0], ERR_SSL_CONNECTION_CLOSED, at("worker %d: ", i));
        /* Live at the same time, so all different. */
        for (int j = 0; j < i; j++)
            EXPECT_NE(w[i].h, w[j].h);
    }
    env_down();
}

/* ---- error names and files ------------------------------------------------------ */

TEST(error_names)
{
    static const struct {
        MSTATUS code;
        const char *name;
    } names[] = {
        { OK, "OK" },
        { ERR_TCP_SOCKET_CLOSED, "ERR_TCP_SOCKET_CLOSED" },
        { ERR_TCP_READ_TIMEOUT, "ERR_TCP_READ_TIMEOUT" },
        { ERR_TCP_WOULDBLOCK, "ERR_TCP_WOULDBLOCK" },
        { ERR_GENERAL, "ERR_GENERAL" },
        { ERR_NULL_POINTER, "ERR_NULL_POINTER" },
        { ERR_MEM_ALLOC_FAIL, "ERR_MEM_ALLOC_FAIL" },
        { ERR_SSL_TOO_MANY_CONNECTIONS, "ERR_SSL_TOO_MANY_CONNECTIONS" },
        { ERR_SSL_BAD_ID, "ERR_SSL_BAD_ID" },
        { ERR_SSL_NO_CIPHER_MATCH, "ERR_SSL_NO_CIPHER_MATCH" },
        { ERR_SSL_FATAL_ALERT, "ERR_SSL_FATAL_ALERT" },
        { ERR_SSL_CONNECTION_CLOSED, "ERR_SSL_CONNECTION_CLOSED" },
        { ERR_SSL_HANDSHAKE_TIMEOUT, "ERR_SSL_HANDSHAKE_TIMEOUT" },
        { ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY, "ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY" },
        { ERR_CERT_HOSTNAME_MISMATCH, "ERR_CERT_HOSTNAME_MISMATCH" },
        { ERR_FILE_OPEN_FAILED, "ERR_FILE_OPEN_FAILED" },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        EXPECT_STR_EQ((const char *)MERROR_lookUpErrorCode(names[i].code), names[i].name);
    /* Fixed values applications compare against. */
    ASSERT_EQ(ERR_SSL_BAD_ID, -7503);
    ASSERT_EQ(ERR_TCP_READ_TIMEOUT, -5904);
    ASSERT_EQ(ERR_SSL_TOO_MANY_CONNECTIONS, -7501);
    ASSERT_EQ(ERR_SSL_UNKNOWN_CERTIFICATE_AUTHORITY, ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY);
    ASSERT_STR_EQ((const char *)MERROR_lookUpErrorCode((MSTATUS)-1), "ERR_UNKNOWN");
    ASSERT_STR_EQ((const char *)MERROR_lookUpErrorCode((MSTATUS)12345), "ERR_UNKNOWN");
}

static struct {
    int calls;
    sbyte4 severity;
    char line[512];
} logged;

static void on_log(sbyte4 module, sbyte4 severity, sbyte *msg)
{
    logged.calls++;
    logged.severity = severity;
    snprintf(logged.line, sizeof(logged.line), "%s", (const char *)msg);
}

/* DISPLAY_ERROR reaches the sink as "file:line: NAME (value)"; no sink, no call. */
TEST(log_sink)
{
    ASSERT_EQ(MOCANA_initLog(on_log), OK);
    DISPLAY_ERROR(0, ERR_SSL_BAD_ID);
    ASSERT_EQ(logged.calls, 1);
    ASSERT_EQ(logged.severity, LS_MINOR);
    ASSERT_NOT_NULL(strstr(logged.line, "test_api.c:")) TH_LOG("%s", logged.line);
    ASSERT_NOT_NULL(strstr(logged.line, ": ERR_SSL_BAD_ID (-7503)")) TH_LOG("%s", logged.line);
    ASSERT_EQ(MOCANA_initLog(NULL), OK);
    DISPLAY_ERROR(0, ERR_GENERAL);
    ASSERT_EQ(logged.calls, 1);
}

TEST(read_write_file)
{
    char path[] = "/tmp/nktls-test-api-XXXXXX", missing[64];
    ubyte data[3000], *buf = (ubyte *)1;
    ubyte4 len = 1;
    int fd = mkstemp(path);

    ASSERT_GE(fd, 0);
    close(fd);
    fill(data, sizeof(data), 42);
    ASSERT_EQ(MOCANA_writeFile(path, data, sizeof(data)), OK);
    ASSERT_EQ(MOCANA_readFile(path, &buf, &len), OK);
    ASSERT_EQ(len, (ubyte4)sizeof(data));
    ASSERT_MEM_EQ(buf, data, sizeof(data));
    ASSERT_EQ(MOCANA_freeReadFile(&buf), OK);
    ASSERT_NULL(buf);

    /* Rewriting truncates; an empty file reads back as nothing. */
    ASSERT_EQ(MOCANA_writeFile(path, data, 0), OK);
    len = 1;
    ASSERT_EQ(MOCANA_readFile(path, &buf, &len), OK);
    ASSERT_EQ(len, 0u);
    ASSERT_EQ(MOCANA_freeReadFile(&buf), OK);
    unlink(path);

    snprintf(missing, sizeof(missing), "%s.missing", path);
    buf = (ubyte *)1;
    len = 1;
    ASSERT_EQ(MOCANA_readFile(missing, &buf, &len), ERR_FILE_OPEN_FAILED);
    ASSERT_NULL(buf);
    ASSERT_EQ(len, 0u);
    ASSERT_EQ(MOCANA_writeFile("/nonexistent-nktls-dir/x", data, 1), ERR_FILE_OPEN_FAILED);
    ASSERT_EQ(MOCANA_readFile(NULL, &buf, &len), ERR_NULL_POINTER);
    ASSERT_EQ(MOCANA_readFile(path, NULL, &len), ERR_NULL_POINTER);
    ASSERT_EQ(MOCANA_writeFile(NULL, data, 1), ERR_NULL_POINTER);
    ASSERT_EQ(MOCANA_writeFile(path, NULL, 1), ERR_NULL_POINTER);
    ASSERT_EQ(MOCANA_freeReadFile(NULL), ERR_NULL_POINTER);
}

int main(int argc, char **argv)
{
    int list = 0;
    for (int i = 1; i < argc; i++)
        list |= strcmp(argv[i], "-l") == 0 || strcmp(argv[i], "-h") == 0;
    /* Made once here, inherited by every forked case. */
    if (!list)
        make_pki();
    return th_main(argc, argv);
}
