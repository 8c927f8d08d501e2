/* api_env.h — shared by the public-API tests (test_api*.c, test_ktls.c): a small
 * PKI made once with libcrypto, cert stores loaded through CA_MGMT_* / CERT_STORE_*
 * as an application would, socket pairs, a server thread, and data helpers.
 * Header-only: each test program includes it once. */
#ifndef NKTLS_TEST_API_ENV_H
#define NKTLS_TEST_API_ENV_H

/* Each program uses some of these helpers, never all. */
#pragma GCC diagnostic ignored "-Wunused-function"

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
    struct blob ca_key, other_key;             /* the CAs' keys (tests that sign, e.g. OCSP) */
    struct blob srv_key;
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
    pki.ca_key = key_der(ca_key);
    pki.other_key = key_der(other_key);
    pki.srv_key = key_der(srv_key);

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
    /* Under a slow build (TH_TIMEOUT set: valgrind, ThreadSanitizer) an RSA
     * handshake can take longer than that on a loaded machine. */
    s->sslTimeOutHello = getenv("TH_TIMEOUT") ? 60000 : 5000;
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

/* A UDP socket bound to ip (host order; the kernel picks the port), its
 * address in *a; -1 on failure. */
static int udp_bound(struct sockaddr_in *a, uint32_t ip)
{
    socklen_t len = sizeof *a;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(ip);
    if (fd < 0 || bind(fd, (struct sockaddr *)a, sizeof *a) < 0 || getsockname(fd, (struct sockaddr *)a, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* A connected UDP pair on 127.0.0.1: fd[0] the client's end, fd[1] the server's. */
static int make_udp_pair(int fd[2])
{
    struct sockaddr_in a[2];
    socklen_t l = sizeof a[0];
    for (int i = 0; i < 2; i++) {
        memset(&a[i], 0, sizeof a[i]);
        a[i].sin_family = AF_INET;
        a[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd[i] = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd[i] < 0 || bind(fd[i], (struct sockaddr *)&a[i], sizeof a[i]) < 0 ||
            getsockname(fd[i], (struct sockaddr *)&a[i], &l) < 0)
            return -1;
    }
    if (connect(fd[0], (struct sockaddr *)&a[1], sizeof a[1]) < 0 ||
        connect(fd[1], (struct sockaddr *)&a[0], sizeof a[0]) < 0)
        return -1;
    return 0;
}

/* Byte i of stream seed: any offset can be checked without keeping the stream. */
static ubyte pat(uint32_t seed, size_t i)
{
    uint32_t x = (uint32_t)i * 0x9E3779B1u + seed * 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    x ^= x >> 12;
    return (ubyte)(x >> 24);
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


/* Keys and certificates are made once, before the cases fork. */
static int api_env_main(int argc, char **argv)
{
    int list = 0;
    for (int i = 1; i < argc; i++)
        list |= strcmp(argv[i], "-l") == 0 || strcmp(argv[i], "-h") == 0;
    /* Made once here, inherited by every forked case. */
    if (!list)
        make_pki();
    return th_main(argc, argv);
}


#endif
