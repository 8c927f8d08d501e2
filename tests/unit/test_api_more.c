/* test_api_more.c — the synchronous API, continued: SNI and host names, ALPN,
 * alerts, certificate callbacks and policy, KeyUpdate, the exporter, mutual
 * authentication. Many threads: test_api_threads.c; error names, logging and
 * files (api/common.c): test_api_common.c. */
#include "api_env.h"

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
            const ubyte *der = NULL;
            ubyte4 len = 0;
            sbyte names[256];
            ASSERT_EQ(SSL_lookupAlert(p.ch, st, &id, &cls), OK);
            ASSERT_EQ(id, SSL_ALERT_CERTIFICATE_UNKNOWN);
            ASSERT_EQ(cls, SSLALERTLEVEL_FATAL);
            /* The refused chain stays readable, to say which names it has. */
            ASSERT_EQ(NKTLS_getPeerCertificate(p.ch, 0, &der, &len), OK);
            ASSERT_EQ(NKTLS_getCertificateName(der, len, NKTLS_CERT_HOST_NAMES, names, sizeof(names)), OK);
            EXPECT_NOT_NULL(strstr((const char *)names, "DNS:server.example.com")) TH_LOG("%s", names);
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

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
