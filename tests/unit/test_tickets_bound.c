/* test_tickets_bound.c — what a session ticket may and may not resume: only
 * where it was issued (the same store and trust, client-authentication policy,
 * server name and ALPN protocol), with the client's chain carried over; only
 * to clients that list psk_dhe_ke; and PSK offers the server must refuse
 * whole (RFC 8446 §4.2.9, §4.2.11, §4.6.1). Also the request-only
 * client-authentication flag. In memory: the server and client stores live
 * across the connections of one case, as a server's do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"

static ubyte g_ticket[16384];
static ubyte4 g_ticket_len;
static int g_saved;

static sbyte4 save_psk(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte *psk, ubyte4 len)
{
    if (len > sizeof g_ticket)
        return -1;
    memcpy(g_ticket, psk, len);
    g_ticket_len = len;
    g_saved++;
    return 0;
}

static sbyte4 retrieve_psk(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte **psk, ubyte4 *len,
                           intBoolean *free_it)
{
    *psk = g_ticket_len ? g_ticket : NULL;
    *len = g_ticket_len;
    *free_it = FALSE;
    return 0;
}

/* The ALPN protocol the server picks: the client's first. */
static sbyte4 alpn_first(sbyte4 h, ubyte **out[], sbyte4 *out_len, ubyte *in, sbyte4 in_len)
{
    *out = (ubyte **)in;
    *out_len = 1 + in[0];
    return OK;
}

struct setup {
    ubyte4 srv_flags;
    const char *sni;          /* NULL: the leaf's host name */
    const char *alpn;         /* NULL: none offered */
    int offer;                /* the client offers its saved ticket */
};

/* A server store (P-256 identity, trusts the root) and a client store (trusts
 * the root, with a P-256 identity for mutual authentication), kept by the case. */
FIXTURE(tk) {
    certStorePtr srv, cli;
    struct tp_pair p;
};

FIXTURE_SETUP(tk)
{
    g_ticket_len = 0;
    g_saved = 0;
    self->srv = tp_store_new();
    self->cli = tp_store_new();
    ASSERT_TRUE(self->srv && self->cli);
    ASSERT_EQ(tp_store_identity(self->srv, pki.leaf[K_P256], pki.key[K_P256], pki.inter), OK);
    ASSERT_EQ(tp_store_trust(self->srv, pki.root), OK);
    ASSERT_EQ(tp_store_trust(self->cli, pki.root), OK);
    ASSERT_EQ(tp_store_identity(self->cli, pki.leaf[K_P256], pki.key[K_P256], pki.inter), OK);
}

FIXTURE_TEARDOWN(tk)
{
    tp_free(&self->p);
    CERT_STORE_releaseStore(&self->srv);
    CERT_STORE_releaseStore(&self->cli);
}

/* One connection over the case's stores; returns the handshake's result and
 * leaves the pair open for checks (the next call frees it). */
static MSTATUS connect_with(FIXTURE_DATA(tk) *self, const struct setup *s)
{
    tp_free(&self->p);
    MSTATUS st = tp_new_stores(&self->p, self->srv, self->cli, key_host[K_P256]);
    self->p.store[TP_SERVER] = self->p.store[TP_CLIENT] = NULL;   /* the case keeps them */
    NK_TRY(st);
    sbyte4 c = self->p.h[TP_CLIENT], sv = self->p.h[TP_SERVER];
    NK_TRY(SSL_setSessionFlags(sv, s->srv_flags));
    NK_TRY(SSL_setClientSavePSKCallback(c, save_psk));
    if (s->offer)
        NK_TRY(SSL_CLIENT_setRetrievePSKCallback(c, retrieve_psk));
    if (s->sni)
        NK_TRY(nk_tls_set_server_name(&self->p.c[TP_CLIENT]->tls, s->sni));
    if (s->alpn) {
        const char *protos[1] = { s->alpn };
        NK_TRY(SSL_setApplicationLayerProtocol(c, 1, protos));
        NK_TRY(SSL_setAlpnCallback(sv, alpn_first));
    }
    return tp_handshake(&self->p);
}

static int resumed(FIXTURE_DATA(tk) *self)
{
    return NKTLS_isSessionResumed(self->p.h[TP_SERVER]) && NKTLS_isSessionResumed(self->p.h[TP_CLIENT]);
}

/* The server holds the client's leaf as its peer certificate. */
static int server_has_client_leaf(FIXTURE_DATA(tk) *self)
{
    const ubyte *der;
    ubyte4 len;
    unsigned char *want = NULL;
    int want_len = i2d_X509(pki.leaf[K_P256], &want);
    int same = NKTLS_getPeerCertificate(self->p.h[TP_SERVER], 0, &der, &len) == OK && want_len > 0
               && len == (ubyte4)want_len && !memcmp(der, want, len);
    OPENSSL_free(want);
    return same;
}

TEST_F(tk, resumes_where_issued)
{
    struct setup s = { .alpn = "h2" };
    ASSERT_EQ(connect_with(self, &s), OK);
    ASSERT_EQ(g_saved, 1);
    s.offer = 1;
    ASSERT_EQ(connect_with(self, &s), OK);
    ASSERT_TRUE(resumed(self));
}

TEST_F(tk, not_across_client_auth_policy)
{
    /* Issued where no client certificate was asked for; offered where one is
     * required: a full handshake with CertificateRequest, never a resumption
     * that skips it. */
    struct setup s = { 0 };
    ASSERT_EQ(connect_with(self, &s), OK);
    ASSERT_EQ(g_saved, 1);
    s.offer = 1;
    s.srv_flags = SSL_FLAG_REQUIRE_MUTUAL_AUTH;
    ASSERT_EQ(connect_with(self, &s), OK);
    ASSERT_FALSE(resumed(self));
    ASSERT_TRUE(server_has_client_leaf(self));
}

TEST_F(tk, not_across_server_names)
{
    struct setup s = { .sni = "one.example.com" };
    ASSERT_EQ(connect_with(self, &s), OK);
    s.offer = 1;
    s.sni = "two.example.com";
    ASSERT_EQ(connect_with(self, &s), OK);
    ASSERT_FALSE(resumed(self));
    /* The control: the same name resumes. */
    s.sni = "two.example.com";
    ASSERT_EQ(connect_with(self, &s), OK);
    ASSERT_TRUE(resumed(self));
}

TEST_F(tk, not_across_alpn)
{
    struct setup s = { .alpn = "h2" };
    ASSERT_EQ(connect_with(self, &s), OK);
    s.offer = 1;
    s.alpn = "http/1.1";
    ASSERT_EQ(connect_with(self, &s), OK);
    ASSERT_FALSE(resumed(self));
}

TEST_F(tk, not_across_stores)
{
    struct setup s = { 0 };
    ASSERT_EQ(connect_with(self, &s), OK);
    /* A second listener with its own store (same identity): its tickets and
     * this one's are not interchangeable. */
    certStorePtr other = tp_store_new();
    ASSERT_TRUE(other != NULL);
    ASSERT_EQ(tp_store_identity(other, pki.leaf[K_P256], pki.key[K_P256], pki.inter), OK);
    certStorePtr mine = self->srv;
    self->srv = other;
    s.offer = 1;
    MSTATUS st = connect_with(self, &s);
    int was_resumed = resumed(self);
    tp_free(&self->p);
    self->srv = mine;
    CERT_STORE_releaseStore(&other);
    ASSERT_EQ(st, OK);
    ASSERT_FALSE(was_resumed);
}

TEST_F(tk, not_after_trust_changes)
{
    struct setup s = { .srv_flags = SSL_FLAG_REQUIRE_MUTUAL_AUTH };
    ASSERT_EQ(connect_with(self, &s), OK);
    ASSERT_EQ(tp_store_trust(self->srv, pki.other_root), OK);
    s.offer = 1;
    ASSERT_EQ(connect_with(self, &s), OK);
    ASSERT_FALSE(resumed(self));
}

TEST_F(tk, mutual_auth_resumption_keeps_client_chain)
{
    struct setup s = { .srv_flags = SSL_FLAG_REQUIRE_MUTUAL_AUTH };
    ASSERT_EQ(connect_with(self, &s), OK);
    ASSERT_TRUE(server_has_client_leaf(self));
    s.offer = 1;
    ASSERT_EQ(connect_with(self, &s), OK);
    ASSERT_TRUE(resumed(self));
    ASSERT_TRUE(server_has_client_leaf(self));
    const ubyte *der;
    ubyte4 len;
    sbyte subject[256];
    ASSERT_EQ(NKTLS_getPeerCertificate(self->p.h[TP_SERVER], 1, &der, &len), OK);   /* the intermediate */
    ASSERT_EQ(NKTLS_getPeerCertificate(self->p.h[TP_SERVER], 2, &der, &len), ERR_INVALID_ARG);
    ASSERT_EQ(NKTLS_getPeerSubject(self->p.h[TP_SERVER], subject, sizeof subject), OK);
    ASSERT_TRUE(strstr((char *)subject, key_host[K_P256]) != NULL);
}

TEST_F(tk, request_only_client_auth)
{
    /* Asked for, not required: a client with no certificate gets through
     * (and the server has none); one with a certificate is authenticated. */
    struct setup s = { .srv_flags = NKTLS_FLAG_REQUEST_MUTUAL_AUTH };
    certStorePtr with_id = self->cli;
    self->cli = tp_store_new();
    ASSERT_EQ(tp_store_trust(self->cli, pki.root), OK);
    MSTATUS st = connect_with(self, &s);
    const ubyte *der;
    ubyte4 len;
    MSTATUS peer = NKTLS_getPeerCertificate(self->p.h[TP_SERVER], 0, &der, &len);
    tp_free(&self->p);
    CERT_STORE_releaseStore(&self->cli);
    self->cli = with_id;
    ASSERT_EQ(st, OK);
    ASSERT_EQ(peer, ERR_SSL_NOT_OPEN);
    ASSERT_EQ(connect_with(self, &s), OK);
    ASSERT_TRUE(server_has_client_leaf(self));
}

/* ---- the client's psk_key_exchange_modes and pre_shared_key, edited ---- */

static void ch_modes_psk_ke_only(struct tp_hello *h)
{
    static const uint8_t ke_only[2] = { 1, 0 };   /* psk_ke (0) only */
    int i = tp_hello_find(h, NK_EXT_PSK_KEY_EXCHANGE_MODES);
    if (i >= 0) {
        memcpy(h->ext[i].data, ke_only, 2);
        h->ext[i].len = 2;
    }
}

static void ch_drop_modes(struct tp_hello *h)
{
    tp_hello_del(h, NK_EXT_PSK_KEY_EXCHANGE_MODES);
}

static void ch_extra_binder(struct tp_hello *h)
{
    /* pre_shared_key: identities<2..>, binders<2..>: one more 32-byte binder. */
    int i = tp_hello_find(h, NK_EXT_PRE_SHARED_KEY);
    if (i < 0 || h->ext[i].len + 33 > sizeof h->ext[i].data)
        return;
    uint8_t *d = h->ext[i].data;
    size_t b = 2 + nk_load16(d);
    nk_store16(d + b, (uint16_t)(nk_load16(d + b) + 33));
    d[h->ext[i].len] = 32;
    memset(d + h->ext[i].len + 1, 0x5a, 32);
    h->ext[i].len += 33;
}

TEST_F(tk, no_tickets_for_psk_ke_only)
{
    /* §4.2.9: we resume with psk_dhe_ke only; a client that lists psk_ke
     * alone gets no ticket it could never use. */
    struct hello_edit e = { .dir = TP_C2S, .fn = ch_modes_psk_ke_only, .fix_transcript = 1 };
    struct setup s = { 0 };
    tp_free(&self->p);
    ASSERT_EQ(tp_new_stores(&self->p, self->srv, self->cli, key_host[K_P256]), OK);
    self->p.store[TP_SERVER] = self->p.store[TP_CLIENT] = NULL;
    ASSERT_EQ(SSL_setClientSavePSKCallback(self->p.h[TP_CLIENT], save_psk), OK);
    ASSERT_EQ(run_hello_edit(&self->p, &e), OK);
    ASSERT_EQ(g_saved, 0);
    ASSERT_EQ(self->p.records[TP_SERVER], 6u);   /* SH, CCS, EE, Certificate, CV, Finished */
    (void)s;
}

/* A ticket first, then a second connection whose ClientHello fn edits. */
static void offer_edited(struct __test_metadata *_metadata, FIXTURE_DATA(tk) *self,
                         void (*fn)(struct tp_hello *h), MSTATUS err, int alert)
{
    struct setup s = { 0 };
    ASSERT_EQ(connect_with(self, &s), OK);
    ASSERT_EQ(g_saved, 1);
    tp_free(&self->p);
    ASSERT_EQ(tp_new_stores(&self->p, self->srv, self->cli, key_host[K_P256]), OK);
    self->p.store[TP_SERVER] = self->p.store[TP_CLIENT] = NULL;
    ASSERT_EQ(SSL_setClientSavePSKCallback(self->p.h[TP_CLIENT], save_psk), OK);
    ASSERT_EQ(SSL_CLIENT_setRetrievePSKCallback(self->p.h[TP_CLIENT], retrieve_psk), OK);
    struct hello_edit e = { .dir = TP_C2S, .fn = fn };
    ASSERT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, err, alert);
}

TEST_F(tk, psk_without_modes_is_missing_extension)
{
    /* §4.2.9: "If clients offer pre_shared_key without a
     * psk_key_exchange_modes extension, servers MUST abort the handshake." */
    offer_edited(_metadata, self, ch_drop_modes, ERR_SSL_MISSING_EXTENSION, SSL_ALERT_MISSING_EXTENSION);
}

TEST_F(tk, more_binders_than_identities)
{
    /* §4.2.11: one binder per identity; otherwise illegal_parameter. */
    offer_edited(_metadata, self, ch_extra_binder, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

TEST_HARNESS_MAIN
