/* test_pha.c — TLS 1.3 post-handshake client authentication (RFC 8446 §4.6.2)
 * through the synchronous API: SSL_sendPosthandshakeAuthCertificateRequest on
 * a server, the client answering from its store while data flows; the client
 * without a certificate (accepted, or certificate_required); where it may not
 * be asked (no post_handshake_auth, not allowed, TLS 1.2, one at a time); a
 * request the client never allowed (unexpected_message); an answer with a
 * wrong context or a wrong Finished. Over TCP: in the kTLS VM the request and
 * the answer travel as control records of kernel sockets. */
#include "api_env.h"
#include "engine/conn.h"
#include "handshake/hs.h"
#include "ktls/ktls.h"

#define PHA SSL_FLAG_ENABLE_POST_HANDSHAKE_AUTH

/* What the server's post step does after the handshake (the case's arg). */
enum tamper { T_NONE, T_CONTEXT, T_FINISHED, T_REQUIRE, T_UNOFFERED };

/* Server: before the request there is no peer certificate; then the request
 * (st[0]), a second one while it is pending (st[1]), "ping" (st[2]); "pong"
 * comes back behind the client's answer (st[3]); then the peer certificate
 * (st[4], its DER compared by the case: u[0] its length, key[0] its start). */
static void post_request(struct srv *s)
{
    enum tamper t = (enum tamper)(uintptr_t)s->arg;
    const ubyte *der = NULL;
    ubyte4 len = 0;
    struct nk_conn *c = NULL;
    if (s->hs != OK)
        return;
    s->st[5] = NKTLS_getPeerCertificate(s->h, 0, &der, &len);
    if (t == T_REQUIRE)
        s->st[6] = SSL_setSessionFlags(s->h, PHA | SSL_FLAG_REQUIRE_MUTUAL_AUTH);
    if (nk_conn_get(s->h, &c) != OK)
        return;
    if (t == T_UNOFFERED) {
        /* A CertificateRequest the client never allowed, sent by hand. */
        s->st[0] = nk_hs_alloc(&c->tls);
        if (s->st[0] == OK) {
            c->hs->cr_context_len = 1;
            s->st[0] = nk_transcript_set_hash(&c->hs->tr, c->suite->hash);
        }
        if (s->st[0] == OK)
            s->st[0] = nk_hs_send_certificate_request(&c->tls);
        nk_hs_free(&c->tls);
        s->st[2] = send_all(s->h, "ping", 4);
        s->st[3] = recv_until_end(s->h);
        return;
    }
    s->st[0] = SSL_sendPosthandshakeAuthCertificateRequest(s->h);
    s->st[1] = SSL_sendPosthandshakeAuthCertificateRequest(s->h);
    if (t == T_CONTEXT && c->hs)
        c->hs->cr_context[0] ^= 1;   /* the client echoes what was sent */
    if (t == T_FINISHED && c->hs)
        c->hs->c_hs[0] ^= 1;         /* the client's Finished cannot match */
    s->st[2] = send_all(s->h, "ping", 4);
    char pong[4];
    s->st[3] = recv_all(s->h, pong, 4, 10000);
    if (s->st[3] == OK && memcmp(pong, "pong", 4) != 0)
        s->st[3] = ERR_GENERAL;
    s->st[4] = NKTLS_getPeerCertificate(s->h, 0, &der, &len);
    s->u[0] = len;
    if (der && len >= 32)
        memcpy(s->key[0], der, 32);
    s->u[1] = (ubyte4)(c->pha_md != NULL);
    nktlsRecordLayerInfo li;
    if (NKTLS_getRecordLayerInfo(s->h, &li) == OK) {
        s->u[2] = (ubyte4)li.txLayer;
        s->u[3] = (ubyte4)li.rxLayer;
    }
    if (s->st[3] == OK)
        s->st[7] = recv_until_end(s->h);
}

/* The client: the handshake, "ping" (the request is answered on the way),
 * "pong". Returns the first failure. */
static MSTATUS client_run(struct pair *p, ubyte4 flags)
{
    char ping[4];
    MSTATUS st = SSL_setSessionFlags(p->ch, flags);
    if (st == OK)
        st = SSL_negotiateConnection(p->ch);
    if (st == OK)
        st = recv_all(p->ch, ping, 4, 10000);
    if (st == OK && memcmp(ping, "ping", 4) != 0)
        st = ERR_GENERAL;
    if (st == OK)
        st = send_all(p->ch, "pong", 4);
    return st;
}

static void start(struct pair *p, ubyte4 srv_flags, enum tamper t, certStorePtr cli)
{
    p->s.flags = srv_flags;
    p->s.post = post_request;
    p->s.arg = (const void *)(uintptr_t)t;
    p->s.st[7] = NOT_RUN;
    pair_up(p, 1, env.srv, "server.example.com", cli);
}

TEST(answered_with_certificate)
{
    struct pair p = { 0 };
    env_up(2);
    start(&p, PHA, T_NONE, env.cli_id);
    MSTATUS st = client_run(&p, PHA);
    ST_EQ(st, OK);
    pair_down(&p);
    ST_EQ(p.s.hs, OK);
    ST_EQ(p.s.st[5], ERR_SSL_NOT_OPEN);    /* none before the request */
    ST_EQ(p.s.st[0], OK);
    ST_EQ(p.s.st[1], ERR_SSL_BAD_STATE);   /* one at a time */
    ST_EQ(p.s.st[2], OK);
    ST_EQ(p.s.st[3], OK);
    ST_EQ(p.s.st[4], OK);
    ASSERT_EQ(p.s.u[0], (ubyte4)pki.cli.n);
    ASSERT_MEM_EQ(p.s.key[0], pki.cli.p, 32);
    ASSERT_EQ(p.s.u[1], 1u);               /* kept for another request */
    /* Where the kernel has TLS (the VM) it carried the exchange both ways. */
    ubyte4 layer = nk_ktls_unavailable_reason() ? NKTLS_LAYER_SOFTWARE : NKTLS_LAYER_KERNEL;
    ASSERT_EQ(p.s.u[2], layer);
    ASSERT_EQ(p.s.u[3], layer);
    ST_EQ(p.s.st[7], ERR_SSL_CONNECTION_CLOSED);
    env_down();
}

TEST(answered_without_certificate)
{
    struct pair p = { 0 };
    env_up(2);
    start(&p, PHA, T_NONE, env.cli);   /* the client has no identity */
    MSTATUS st = client_run(&p, PHA);
    ST_EQ(st, OK);
    pair_down(&p);
    ST_EQ(p.s.st[0], OK);
    ST_EQ(p.s.st[3], OK);                  /* the connection goes on */
    ST_EQ(p.s.st[4], ERR_SSL_NOT_OPEN);    /* unauthenticated */
    ST_EQ(p.s.st[7], ERR_SSL_CONNECTION_CLOSED);
    env_down();
}

/* §4.4.2.4: the server may abort with certificate_required. */
TEST(certificate_required)
{
    struct pair p = { 0 };
    sbyte4 id = -1, cls = -1;
    char buf[8];
    sbyte4 got = 0;
    env_up(2);
    start(&p, PHA, T_REQUIRE, env.cli);
    MSTATUS st = client_run(&p, PHA);
    ST_EQ(st, OK);
    st = SSL_recv(p.ch, (sbyte *)buf, sizeof buf, &got, 10000);
    ST_EQ(st, ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(SSL_lookupAlert(p.ch, st, &id, &cls), OK);
    ASSERT_EQ(id, SSL_ALERT_CERTIFICATE_REQUIRED);
    pair_down(&p);
    ST_EQ(p.s.st[6], OK);
    ST_EQ(p.s.st[0], OK);
    ST_EQ(p.s.st[3], ERR_SSL_CERTIFICATE_REQUIRED);
    env_down();
}

/* The request needs both ends to allow it, a TLS 1.3 connection, and the
 * server's role. */
TEST(not_allowed)
{
    static const struct { ubyte4 cli, srv, max_minor; } cases[] = {
        { 0, PHA, 4 },     /* the client did not offer post_handshake_auth */
        { PHA, 0, 4 },     /* the server's application did not allow it */
        { PHA, PHA, 3 },   /* TLS 1.2 has no such thing */
    };
    env_up(2);
    for (size_t i = 0; i < NK_ARRAY_LEN(cases); i++) {
        struct pair p = { 0 };
        start(&p, cases[i].srv, T_NONE, env.cli_id);
        ASSERT_EQ(SSL_ioctl(p.ch, SSL_SET_VERSION, (void *)(uintptr_t)cases[i].max_minor), OK);
        MSTATUS st = client_run(&p, cases[i].cli);
        ST_EQ_AT(st, OK, at("case %zu: ", i));
        ASSERT_EQ(SSL_sendPosthandshakeAuthCertificateRequest(p.ch), ERR_SSL_BAD_STATE);   /* a client */
        pair_down(&p);
        ST_EQ_AT(p.s.st[0], ERR_SSL_BAD_STATE, at("case %zu: ", i));
        ST_EQ_AT(p.s.st[3], OK, at("case %zu: ", i));   /* nothing was sent: data goes on */
        ASSERT_EQ(p.s.u[1], 0u);   /* no transcript kept */
    }
    env_down();
}

/* §4.6.2: a CertificateRequest to a client that did not offer
 * post_handshake_auth is unexpected_message. */
TEST(request_not_offered)
{
    struct pair p = { 0 };
    sbyte4 id = -1, cls = -1;
    env_up(2);
    start(&p, 0, T_UNOFFERED, env.cli_id);
    MSTATUS st = client_run(&p, 0);
    ST_EQ(st, ERR_SSL_UNEXPECTED_MESSAGE);
    pair_down(&p);
    ST_EQ(p.s.st[0], OK);
    ST_EQ(p.s.st[3], ERR_SSL_FATAL_ALERT);
    ASSERT_EQ(alerts_for(p.s.h, &id, &cls), 1);
    ASSERT_EQ(id, SSL_ALERT_UNEXPECTED_MESSAGE);
    env_down();
}

/* §4.4.2: the context must echo the request's (illegal_parameter); §4.4.4: a
 * Finished that does not verify is decrypt_error. */
TEST(bad_answers)
{
    static const struct { enum tamper t; MSTATUS want; int alert; } cases[] = {
        { T_CONTEXT, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER },
        { T_FINISHED, ERR_SSL_BAD_FINISHED, SSL_ALERT_DECRYPT_ERROR },
    };
    env_up(2);
    for (size_t i = 0; i < NK_ARRAY_LEN(cases); i++) {
        struct pair p = { 0 };
        sbyte4 id = -1, cls = -1;
        char buf[8];
        sbyte4 got = 0;
        start(&p, PHA, cases[i].t, env.cli_id);
        MSTATUS st = client_run(&p, PHA);
        ST_EQ_AT(st, OK, at("case %zu: ", i));
        st = SSL_recv(p.ch, (sbyte *)buf, sizeof buf, &got, 10000);
        ST_EQ_AT(st, ERR_SSL_FATAL_ALERT, at("case %zu: ", i));
        ASSERT_EQ(SSL_lookupAlert(p.ch, st, &id, &cls), OK);
        ASSERT_EQ(id, cases[i].alert) TH_LOG("case %zu", i);
        pair_down(&p);
        ST_EQ_AT(p.s.st[3], cases[i].want, at("case %zu: ", i));
        ST_EQ_AT(p.s.st[4], ERR_SSL_NOT_OPEN, at("case %zu: ", i));   /* not taken */
    }
    env_down();
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
