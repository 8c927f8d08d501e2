/* test_conformance_client.c — RFC 8446 points where a strict peer judges our
 * client (and, for certificates and signature schemes, our server too):
 * psk_key_exchange_modes whenever a ticket could be kept (§4.2.9), the
 * compatibility change_cipher_spec before any protected record (D.4), TLS
 * 1.2-only extensions and NewSessionTicket extensions (§4.2, §4.6.1), the
 * second ClientHello after a cookie-only HelloRetryRequest (§4.1.2), the peer
 * leaf's keyUsage / extendedKeyUsage whatever the trust decision (§4.4.2.2),
 * and the per-connection signature scheme lists (§4.2.3, §4.4.3). Each
 * refusal checks the error, the alert sent and the alert the peer got. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"

enum { EXT_EXTENDED_MASTER_SECRET = 23, EXT_RENEGOTIATION_INFO = 0xff01 };

FIXTURE(conf) {
    struct tp_pair p;
};

FIXTURE_TEARDOWN(conf)
{
    tp_free(&self->p);
}

/* side failed with err and sent alert; the other side got it as fatal. */
static void check_fail(struct __test_metadata *_metadata, struct tp_pair *p, int side, MSTATUS err,
                       int alert)
{
    struct nk_conn *d = p->c[side], *peer = p->c[1 - side];
    ASSERT_EQ(d->err, err) TH_LOG("detecting side: %s", MERROR_lookUpErrorCode(d->err));
    ASSERT_EQ(d->alert_out, alert);
    ASSERT_TRUE(nk_conn_wants(d) & NK_CLOSED);
    ASSERT_EQ(peer->err, ERR_SSL_FATAL_ALERT) TH_LOG("peer: %s", MERROR_lookUpErrorCode(peer->err));
    ASSERT_EQ(peer->alert_in, alert);
    ASSERT_EQ(peer->alert_in_level, SSLALERTLEVEL_FATAL);
    ASSERT_EQ(peer->alert_out, NK_ALERT_NONE);
}

/* ---- a hook that logs the client's records and hellos, and may change the
 * server's hello or its encrypted flight ---- */

struct watch {
    uint8_t c2s_types[32];        /* outer content type of each client record */
    unsigned n_c2s;
    struct tp_hello ch[2];        /* the client's ClientHellos */
    unsigned n_ch;
    void (*sh_fn)(struct tp_hello *h);   /* changes the server's first hello */
    int sh_done;
    struct tp_flight *flight;     /* changes the server's encrypted flight */
    MSTATUS st;
};

static void watch_hook(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct watch *w = arg;
    struct tp_hello h;
    if (dir == TP_C2S) {
        if (w->n_c2s < sizeof w->c2s_types)
            w->c2s_types[w->n_c2s++] = rec->p[0];
        if (w->n_ch < 2 && tp_hello_from_record(rec, &h) == OK && h.msg_type == NK_HS_CLIENT_HELLO)
            w->ch[w->n_ch++] = h;
        return;
    }
    if (w->sh_fn && !w->sh_done && tp_hello_from_record(rec, &h) == OK) {
        w->sh_fn(&h);
        w->sh_done = 1;
        if (w->st == OK)
            w->st = tp_hello_to_record(&h, rec);
        return;
    }
    if (w->flight)
        tp_flight_hook(p, dir, rec, w->flight);
}

static MSTATUS run_watch(struct tp_pair *p, struct watch *w)
{
    p->hook = watch_hook;
    p->hook_arg = w;
    MSTATUS st = tp_handshake(p);
    p->hook = NULL;
    if (w->flight) {
        tp_flight_free(w->flight);
        if (w->flight->err != OK)
            return w->flight->err;
    }
    return w->st == OK ? st : w->st;
}

/* The body of the extension of this type in a parsed hello (length in *len), or NULL. */
static const uint8_t *ch_ext(const struct tp_hello *h, uint16_t type, size_t *len)
{
    int i = tp_hello_find(h, type);
    if (i < 0)
        return NULL;
    *len = h->ext[i].len;
    return h->ext[i].data;
}

/* ---- §4.2.9: psk_key_exchange_modes ---- */

static sbyte4 save_psk(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte *psk, ubyte4 len)
{
    (void)h, (void)info, (void)info_len, (void)psk, (void)len;
    return 0;
}

static int g_saved;

static sbyte4 count_psk(sbyte4 h, sbyte *info, ubyte4 info_len, ubyte *psk, ubyte4 len)
{
    (void)h, (void)info, (void)info_len, (void)psk, (void)len;
    g_saved++;
    return 0;
}

TEST_F(conf, psk_modes_sent_when_tickets_are_kept)
{
    /* "Servers MUST NOT send a NewSessionTicket" to a client that did not send
     * psk_key_exchange_modes: a client that keeps tickets sends it, with
     * psk_dhe_ke only, even with no ticket to offer (and no pre_shared_key). */
    static const uint8_t dhe_only[] = { 1, 1 };
    struct watch w = { 0 };
    size_t n = 0;
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_setClientSavePSKCallback(self->p.h[TP_CLIENT], save_psk), OK);
    ASSERT_EQ(run_watch(&self->p, &w), OK);
    ASSERT_EQ(w.n_ch, 1u);
    const uint8_t *modes = ch_ext(&w.ch[0], NK_EXT_PSK_KEY_EXCHANGE_MODES, &n);
    ASSERT_NOT_NULL(modes);
    ASSERT_EQ(n, sizeof dhe_only);
    ASSERT_MEM_EQ(modes, dhe_only, n);
    ASSERT_EQ(tp_hello_find(&w.ch[0], NK_EXT_PRE_SHARED_KEY), -1);
}

TEST_F(conf, psk_modes_absent_without_resumption)
{
    /* No save callback and no ticket offered: nothing could be resumed. */
    struct watch w = { 0 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_watch(&self->p, &w), OK);
    ASSERT_EQ(w.n_ch, 1u);
    ASSERT_EQ(tp_hello_find(&w.ch[0], NK_EXT_PSK_KEY_EXCHANGE_MODES), -1);
}

/* ---- TLS 1.2-only extensions in the server's messages (§4.2) ---- */

static void sh_add_ems(struct tp_hello *h)
{
    (void)tp_hello_add(h, EXT_EXTENDED_MASTER_SECRET, "", 0);
}

static void sh_add_reneg(struct tp_hello *h)
{
    (void)tp_hello_add(h, EXT_RENEGOTIATION_INFO, "\0", 1);
}

TEST_F(conf, server_hello_extended_master_secret)
{
    struct watch w = { .sh_fn = sh_add_ems };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_watch(&self->p, &w), ERR_SSL_UNSUPPORTED_EXTENSION);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNSUPPORTED_EXTENSION,
               SSL_ALERT_UNSUPPORTED_EXTENSION);
}

TEST_F(conf, server_hello_renegotiation_info)
{
    struct watch w = { .sh_fn = sh_add_reneg };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_watch(&self->p, &w), ERR_SSL_UNSUPPORTED_EXTENSION);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNSUPPORTED_EXTENSION,
               SSL_ALERT_UNSUPPORTED_EXTENSION);
}

static void sh_legacy_version_ssl3(struct tp_hello *h)
{
    h->version = 0x0300;
}

TEST_F(conf, server_hello_legacy_version_ssl3)
{
    /* Appendix D.5: protocol_version, not illegal_parameter. */
    struct watch w = { .sh_fn = sh_legacy_version_ssl3 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_watch(&self->p, &w), ERR_SSL_UNSUPPORTED_VERSION);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNSUPPORTED_VERSION, SSL_ALERT_PROTOCOL_VERSION);
}

static void sh_tls11(struct tp_hello *h)
{
    h->version = 0x0302;
    tp_hello_del(h, NK_EXT_SUPPORTED_VERSIONS);
}

TEST_F(conf, server_hello_tls11_is_kept_for_the_message)
{
    /* A TLS 1.1 ServerHello: protocol_version, and NKTLS_getPeerVersions says
     * which version the server chose. */
    struct watch w = { .sh_fn = sh_tls11 };
    ubyte4 chose = 0;
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_watch(&self->p, &w), ERR_SSL_UNSUPPORTED_VERSION);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNSUPPORTED_VERSION, SSL_ALERT_PROTOCOL_VERSION);
    ASSERT_EQ(NKTLS_getPeerVersions(self->p.h[TP_CLIENT], &chose), OK);
    EXPECT_EQ(chose, NKTLS_VERSION_BIT(TLS11_MINORVERSION));
}

static void hrr_add_ems(struct tp_hello *h)
{
    if (tp_is_hrr(h))
        (void)tp_hello_add(h, EXT_EXTENDED_MASTER_SECRET, "", 0);
}

static void hrr_pair(struct __test_metadata *_metadata, struct tp_pair *p);

TEST_F(conf, hello_retry_extended_master_secret)
{
    struct watch w = { .sh_fn = hrr_add_ems };
    hrr_pair(_metadata, &self->p);
    ASSERT_EQ(run_watch(&self->p, &w), ERR_SSL_UNSUPPORTED_EXTENSION);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNSUPPORTED_EXTENSION,
               SSL_ALERT_UNSUPPORTED_EXTENSION);
}

/* Append one extension to an EncryptedExtensions message (header included). */
static void ee_add(struct tp_flight *f, struct nk_buf *msg, uint16_t type, const uint8_t *d, size_t n)
{
    if (msg->p[0] != NK_HS_ENCRYPTED_EXTENSIONS)
        return;
    uint8_t hdr[4] = { (uint8_t)(type >> 8), (uint8_t)type, (uint8_t)(n >> 8), (uint8_t)n };
    if (nk_buf_append(msg, hdr, sizeof hdr) != OK || nk_buf_append(msg, d, n) != OK) {
        f->err = ERR_MEM_ALLOC_FAIL;
        return;
    }
    nk_store24(msg->p + 1, (uint32_t)(msg->len - 4));
    nk_store16(msg->p + 4, (uint16_t)(msg->len - 6));
}

static void ee_add_ems(struct tp_flight *f, struct nk_buf *msg)
{
    ee_add(f, msg, EXT_EXTENDED_MASTER_SECRET, NULL, 0);
}

static void ee_add_reneg(struct tp_flight *f, struct nk_buf *msg)
{
    static const uint8_t empty_reneg[] = { 0 };
    ee_add(f, msg, EXT_RENEGOTIATION_INFO, empty_reneg, sizeof empty_reneg);
}

TEST_F(conf, encrypted_extensions_extended_master_secret)
{
    struct tp_flight f = { .dir = TP_S2C, .msg_fn = ee_add_ems };
    struct watch w = { .flight = &f };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_watch(&self->p, &w), ERR_SSL_UNSUPPORTED_EXTENSION);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNSUPPORTED_EXTENSION,
               SSL_ALERT_UNSUPPORTED_EXTENSION);
}

TEST_F(conf, encrypted_extensions_renegotiation_info)
{
    struct tp_flight f = { .dir = TP_S2C, .msg_fn = ee_add_reneg };
    struct watch w = { .flight = &f };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_watch(&self->p, &w), ERR_SSL_UNSUPPORTED_EXTENSION);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNSUPPORTED_EXTENSION,
               SSL_ALERT_UNSUPPORTED_EXTENSION);
}

/* ---- Appendix D.4: the change_cipher_spec precedes the first protected
 * record, an alert included ---- */

TEST_F(conf, ccs_before_encrypted_alert)
{
    /* The client refuses EncryptedExtensions, so the first record it protects
     * is its alert: ClientHello, then the CCS, then the alert. */
    struct tp_flight f = { .dir = TP_S2C, .msg_fn = ee_add_reneg };
    struct watch w = { .flight = &f };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_watch(&self->p, &w), ERR_SSL_UNSUPPORTED_EXTENSION);
    ASSERT_EQ(w.n_c2s, 3u);
    EXPECT_EQ(w.c2s_types[0], NK_CT_HANDSHAKE);
    EXPECT_EQ(w.c2s_types[1], NK_CT_CHANGE_CIPHER_SPEC);
    EXPECT_EQ(w.c2s_types[2], NK_CT_APPLICATION_DATA);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNSUPPORTED_EXTENSION,
               SSL_ALERT_UNSUPPORTED_EXTENSION);
}

TEST_F(conf, ccs_once_in_a_full_handshake)
{
    /* ClientHello, CCS, Finished: exactly one CCS, before the first protected record. */
    struct watch w = { 0 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_watch(&self->p, &w), OK);
    ASSERT_EQ(w.n_c2s, 3u);
    EXPECT_EQ(w.c2s_types[0], NK_CT_HANDSHAKE);
    EXPECT_EQ(w.c2s_types[1], NK_CT_CHANGE_CIPHER_SPEC);
    EXPECT_EQ(w.c2s_types[2], NK_CT_APPLICATION_DATA);
}

/* ---- NewSessionTicket extensions (§4.2, §4.6.1) ---- */

/* After a handshake, the server sends a NewSessionTicket with these extension
 * bytes (the whole extensions field, length included) under its key. */
static void send_ticket(struct __test_metadata *_metadata, struct tp_pair *p, const uint8_t *exts,
                        size_t n)
{
    uint8_t msg[64] = { NK_HS_NEW_SESSION_TICKET, 0, 0, 0,
                        0, 0, 0x0e, 0x10,          /* lifetime 3600 */
                        1, 2, 3, 4,                /* age_add */
                        1, 0,                      /* nonce: one byte */
                        0, 4, 't', 'i', 'c', 'k' };
    size_t len = 20;
    ASSERT_LE(len + n, sizeof msg);
    if (n)
        memcpy(msg + len, exts, n);
    len += n;
    nk_store24(msg + 1, (uint32_t)(len - 4));
    struct nk_conn *s = p->c[TP_SERVER];
    ASSERT_EQ(nk_rec_seal(s->wr, NK_CT_HANDSHAKE, msg, len, 0, &s->out), OK);
    ASSERT_EQ(tp_pump(p), OK);
}

TEST_F(conf, ticket_duplicate_extension)
{
    static const uint8_t dup[] = { 0, 16, 0, 42, 0, 4, 0, 0, 0, 0, 0, 42, 0, 4, 0, 0, 0, 0 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_setClientSavePSKCallback(self->p.h[TP_CLIENT], count_psk), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    g_saved = 0;
    send_ticket(_metadata, &self->p, dup, sizeof dup);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
    ASSERT_EQ(g_saved, 0);
}

TEST_F(conf, ticket_extensions_malformed)
{
    /* The block says 6 bytes; its one extension claims 4 of the 2 left. */
    static const uint8_t bad[] = { 0, 6, 0x12, 0x34, 0, 4, 0, 0 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_setClientSavePSKCallback(self->p.h[TP_CLIENT], count_psk), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    g_saved = 0;
    send_ticket(_metadata, &self->p, bad, sizeof bad);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_PROTOCOL, SSL_ALERT_DECODE_ERROR);
    ASSERT_EQ(g_saved, 0);
}

TEST_F(conf, ticket_extensions_missing)
{
    /* The extensions field is not optional in a NewSessionTicket. */
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    send_ticket(_metadata, &self->p, NULL, 0);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_PROTOCOL, SSL_ALERT_DECODE_ERROR);
}

TEST_F(conf, ticket_unknown_extensions_ignored)
{
    /* early_data and an unknown extension: the ticket is kept all the same. */
    static const uint8_t exts[] = { 0, 14, 0, 42, 0, 4, 0, 0, 0x40, 0, 0x12, 0x34, 0, 2, 'x', 'y' };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_setClientSavePSKCallback(self->p.h[TP_CLIENT], count_psk), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    g_saved = 0;
    send_ticket(_metadata, &self->p, exts, sizeof exts);
    ASSERT_EQ(self->p.c[TP_CLIENT]->err, OK);
    ASSERT_EQ(g_saved, 1);
}

/* ---- §4.1.2: the second ClientHello after a HelloRetryRequest ---- */

static void hrr_cookie_only(struct tp_hello *h)
{
    static const uint8_t cookie[] = { 0, 5, 'c', 'o', 'o', 'k', 'y' };
    if (!tp_is_hrr(h))
        return;
    tp_hello_del(h, NK_EXT_KEY_SHARE);
    tp_hello_del(h, NK_EXT_COOKIE);
    (void)tp_hello_add(h, NK_EXT_COOKIE, cookie, sizeof cookie);
}

/* A server that takes P-256 only draws a HelloRetryRequest from a client whose
 * first share is X25519. */
static void hrr_pair(struct __test_metadata *_metadata, struct tp_pair *p)
{
    static const ubyte2 p256 = NK_GROUP_SECP256R1;
    ASSERT_EQ(tp_new(p, K_P256, -1), OK);
    ASSERT_EQ(NKTLS_setGroups(p->h[TP_SERVER], &p256, 1), OK);
}

TEST_F(conf, hrr_cookie_only_keeps_key_share)
{
    static const uint8_t cookie[] = { 0, 5, 'c', 'o', 'o', 'k', 'y' };
    struct watch w = { .sh_fn = hrr_cookie_only };
    size_t n1 = 0, n2 = 0, nc = 0;
    hrr_pair(_metadata, &self->p);
    (void)run_watch(&self->p, &w);   /* the server, which wanted P-256, then refuses */
    ASSERT_EQ(w.n_ch, 2u);
    const uint8_t *ks1 = ch_ext(&w.ch[0], NK_EXT_KEY_SHARE, &n1);
    const uint8_t *ks2 = ch_ext(&w.ch[1], NK_EXT_KEY_SHARE, &n2);
    ASSERT_NOT_NULL(ks1);
    ASSERT_NOT_NULL(ks2);
    /* The same group, the same public value. */
    ASSERT_EQ(n1, 2u + 2 + 2 + 32);
    ASSERT_EQ(nk_load16(ks1 + 2), NK_GROUP_X25519);
    ASSERT_EQ(n2, n1);
    ASSERT_MEM_EQ(ks2, ks1, n1);
    const uint8_t *c2 = ch_ext(&w.ch[1], NK_EXT_COOKIE, &nc);
    ASSERT_NOT_NULL(c2);
    ASSERT_EQ(nc, sizeof cookie);
    ASSERT_MEM_EQ(c2, cookie, nc);
}

TEST_F(conf, hrr_with_group_changes_key_share)
{
    struct watch w = { 0 };
    size_t n1 = 0, n2 = 0;
    hrr_pair(_metadata, &self->p);
    ASSERT_EQ(run_watch(&self->p, &w), OK);
    ASSERT_EQ(w.n_ch, 2u);
    const uint8_t *ks1 = ch_ext(&w.ch[0], NK_EXT_KEY_SHARE, &n1);
    const uint8_t *ks2 = ch_ext(&w.ch[1], NK_EXT_KEY_SHARE, &n2);
    ASSERT_NOT_NULL(ks1);
    ASSERT_NOT_NULL(ks2);
    ASSERT_EQ(nk_load16(ks1 + 2), NK_GROUP_X25519);
    ASSERT_EQ(n2, 2u + 2 + 2 + 65);
    ASSERT_EQ(nk_load16(ks2 + 2), NK_GROUP_SECP256R1);
    ASSERT_EQ(self->p.c[TP_CLIENT]->group, NK_GROUP_SECP256R1);
}

/* ---- the peer leaf's keyUsage and extendedKeyUsage (§4.4.2.2), whatever the
 * trust decision ---- */

static MSTATUS accept_any_chain(sbyte4 h, struct certChain *chain, MSTATUS st)
{
    (void)h, (void)chain, (void)st;
    return OK;
}

static MSTATUS accept_invalid(sbyte4 h, MSTATUS st)
{
    (void)h, (void)st;
    return OK;
}

/* The server presents leaf (P-256 key) with the intermediate; the client
 * trusts the root (trust = 1) or nothing, and asks for host. */
static void leaf_pair(struct __test_metadata *_metadata, struct tp_pair *p, X509 *leaf, const char *host,
                      int trust)
{
    certStorePtr srv = tp_store_new(), cli = tp_store_new();
    ASSERT_NOT_NULL(srv);
    ASSERT_NOT_NULL(cli);
    ASSERT_EQ(tp_store_identity(srv, leaf, pki.key[K_P256], pki.inter), OK);
    if (trust)
        ASSERT_EQ(tp_store_trust(cli, pki.root), OK);
    ASSERT_EQ(tp_new_stores(p, srv, cli, host), OK);
}

TEST_F(conf, server_leaf_key_encipherment_only)
{
    /* The chain verifies (a TLS server purpose allows keyEncipherment), but the
     * key may not sign a CertificateVerify. */
    leaf_pair(_metadata, &self->p, pki.ku_encipher, "kuenc.example.com", 1);
    ASSERT_EQ(tp_handshake(&self->p), ERR_CERT_KEY_USAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_CERT_KEY_USAGE, SSL_ALERT_UNSUPPORTED_CERTIFICATE);
}

TEST_F(conf, server_leaf_key_usage_not_waived_by_status_callback)
{
    leaf_pair(_metadata, &self->p, pki.ku_encipher, "kuenc.example.com", 1);
    ASSERT_EQ(SSL_setCertAndStatusCallback(self->p.h[TP_CLIENT], accept_any_chain), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_CERT_KEY_USAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_CERT_KEY_USAGE, SSL_ALERT_UNSUPPORTED_CERTIFICATE);
}

TEST_F(conf, server_leaf_key_usage_not_waived_by_invalid_cert_callback)
{
    /* Untrusted, and the application accepts that: the usage still counts. */
    leaf_pair(_metadata, &self->p, pki.ku_encipher, "kuenc.example.com", 0);
    ASSERT_EQ(SSL_setInvalidCertCallback(self->p.h[TP_CLIENT], accept_invalid), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_CERT_KEY_USAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_CERT_KEY_USAGE, SSL_ALERT_UNSUPPORTED_CERTIFICATE);
}

TEST_F(conf, server_leaf_client_auth_only)
{
    leaf_pair(_metadata, &self->p, pki.client_only, "clientonly.example.com", 1);
    ASSERT_EQ(SSL_setCertAndStatusCallback(self->p.h[TP_CLIENT], accept_any_chain), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_CERT_KEY_USAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_CERT_KEY_USAGE, SSL_ALERT_UNSUPPORTED_CERTIFICATE);
}

TEST_F(conf, server_leaf_client_auth_only_without_callback)
{
    /* The same refusal, and the same alert, without any callback. */
    leaf_pair(_metadata, &self->p, pki.client_only, "clientonly.example.com", 1);
    ASSERT_EQ(tp_handshake(&self->p), ERR_CERT_KEY_USAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_CERT_KEY_USAGE, SSL_ALERT_UNSUPPORTED_CERTIFICATE);
}

TEST_F(conf, server_leaf_any_extended_key_usage)
{
    /* anyExtendedKeyUsage allows a server's use: accepted once the trust
     * decision is the application's. */
    leaf_pair(_metadata, &self->p, pki.any_eku, "anyeku.example.com", 1);
    ASSERT_EQ(SSL_setCertAndStatusCallback(self->p.h[TP_CLIENT], accept_any_chain), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
}

/* Mutual authentication where the client presents leaf (P-256 key). */
static void client_leaf_pair(struct __test_metadata *_metadata, struct tp_pair *p, X509 *leaf)
{
    ASSERT_EQ(tp_new(p, K_P256, -1), OK);
    ASSERT_EQ(tp_store_identity(p->store[TP_CLIENT], leaf, pki.key[K_P256], pki.inter), OK);
    ASSERT_EQ(SSL_setSessionFlags(p->h[TP_SERVER], SSL_FLAG_REQUIRE_MUTUAL_AUTH), OK);
    ASSERT_EQ(SSL_setCertAndStatusCallback(p->h[TP_SERVER], accept_any_chain), OK);
}

TEST_F(conf, client_leaf_server_auth_only)
{
    client_leaf_pair(_metadata, &self->p, pki.server_only);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_CERT_KEY_USAGE, SSL_ALERT_UNSUPPORTED_CERTIFICATE);
}

TEST_F(conf, client_leaf_key_encipherment_only)
{
    client_leaf_pair(_metadata, &self->p, pki.ku_encipher);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_CERT_KEY_USAGE, SSL_ALERT_UNSUPPORTED_CERTIFICATE);
}

TEST_F(conf, client_leaf_client_auth_accepted)
{
    client_leaf_pair(_metadata, &self->p, pki.client_only);
    ASSERT_EQ(tp_handshake(&self->p), OK);
}

/* ---- NKTLS_didHelloRetry ---- */

TEST_F(conf, did_hello_retry_after_hrr)
{
    intBoolean r[2] = { FALSE, FALSE };
    hrr_pair(_metadata, &self->p);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_EQ(NKTLS_didHelloRetry(self->p.h[TP_CLIENT], &r[TP_CLIENT]), OK);
    ASSERT_EQ(NKTLS_didHelloRetry(self->p.h[TP_SERVER], &r[TP_SERVER]), OK);
    ASSERT_EQ(r[TP_CLIENT], TRUE);
    ASSERT_EQ(r[TP_SERVER], TRUE);
}

TEST_F(conf, did_hello_retry_without_hrr)
{
    intBoolean r[2] = { TRUE, TRUE };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(NKTLS_didHelloRetry(self->p.h[TP_CLIENT], &r[TP_CLIENT]), OK);
    ASSERT_EQ(r[TP_CLIENT], FALSE);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_EQ(NKTLS_didHelloRetry(self->p.h[TP_CLIENT], &r[TP_CLIENT]), OK);
    ASSERT_EQ(NKTLS_didHelloRetry(self->p.h[TP_SERVER], &r[TP_SERVER]), OK);
    ASSERT_EQ(r[TP_CLIENT], FALSE);
    ASSERT_EQ(r[TP_SERVER], FALSE);
    ASSERT_EQ(NKTLS_didHelloRetry(self->p.h[TP_CLIENT], NULL), ERR_NULL_POINTER);
    ASSERT_EQ(NKTLS_didHelloRetry(0x7fff0000, &r[0]), ERR_SSL_BAD_ID);
}

/* ---- per-connection signature schemes (§4.2.3, §4.4.3) ---- */

TEST_F(conf, sig_schemes_default_unchanged)
{
    ubyte2 v[NK_SIGS_MAX];
    ubyte4 n = NK_SIGS_MAX;
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    for (sbyte4 list = NKTLS_SIGS_OFFERED; list <= NKTLS_SIGS_SIGNING; list++) {
        n = NK_SIGS_MAX;
        ASSERT_EQ(NKTLS_getSignatureSchemes(self->p.h[TP_CLIENT], list, v, &n), OK);
        ASSERT_EQ(n, nk_sig_scheme_count);
        ASSERT_MEM_EQ(v, nk_sig_schemes, n * sizeof v[0]);
    }
    n = 2;
    ASSERT_EQ(NKTLS_getSignatureSchemes(self->p.h[TP_CLIENT], NKTLS_SIGS_OFFERED, v, &n),
              ERR_BUFFER_TOO_SMALL);
    ASSERT_EQ(n, nk_sig_scheme_count);
    ASSERT_NULL(self->p.c[TP_CLIENT]->sig_prefs);   /* nothing allocated for defaults */
}

TEST_F(conf, sig_schemes_offered_on_the_wire)
{
    /* signature_algorithms carries exactly the list set, in its order. */
    static const ubyte2 mine[] = { NK_SIG_RSA_PSS_RSAE_SHA384, NK_SIG_RSA_PSS_RSAE_SHA256 };
    static const uint8_t wire[] = { 0, 4, 0x08, 0x05, 0x08, 0x04 };
    struct watch w = { 0 };
    size_t n = 0;
    ubyte2 peer = 0;
    ASSERT_EQ(tp_new(&self->p, K_RSA, -1), OK);
    ASSERT_EQ(NKTLS_setSignatureSchemes(self->p.h[TP_CLIENT], NKTLS_SIGS_OFFERED, mine, 2), OK);
    ASSERT_EQ(run_watch(&self->p, &w), OK);
    const uint8_t *sa = ch_ext(&w.ch[0], NK_EXT_SIGNATURE_ALGORITHMS, &n);
    ASSERT_NOT_NULL(sa);
    ASSERT_EQ(n, sizeof wire);
    ASSERT_MEM_EQ(sa, wire, n);
    /* The server signs with its own first choice among those: rsae_sha256. */
    ASSERT_EQ(NKTLS_getPeerSignatureScheme(self->p.h[TP_CLIENT], &peer), OK);
    ASSERT_EQ(peer, NK_SIG_RSA_PSS_RSAE_SHA256);
}

TEST_F(conf, sig_schemes_signing_order)
{
    /* The server prefers SHA-512, the client (RSA identity too) SHA-384. */
    static const ubyte2 srv[] = { NK_SIG_RSA_PSS_RSAE_SHA512, NK_SIG_RSA_PSS_RSAE_SHA256 };
    static const ubyte2 cli[] = { NK_SIG_RSA_PSS_RSAE_SHA384 };
    ubyte2 at_client = 0, at_server = 0;
    ASSERT_EQ(tp_new(&self->p, K_RSA, K_RSA), OK);
    ASSERT_EQ(SSL_setSessionFlags(self->p.h[TP_SERVER], SSL_FLAG_REQUIRE_MUTUAL_AUTH), OK);
    ASSERT_EQ(NKTLS_setSignatureSchemes(self->p.h[TP_SERVER], NKTLS_SIGS_SIGNING, srv, 2), OK);
    ASSERT_EQ(NKTLS_setSignatureSchemes(self->p.h[TP_CLIENT], NKTLS_SIGS_SIGNING, cli, 1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_EQ(NKTLS_getPeerSignatureScheme(self->p.h[TP_CLIENT], &at_client), OK);
    ASSERT_EQ(NKTLS_getPeerSignatureScheme(self->p.h[TP_SERVER], &at_server), OK);
    ASSERT_EQ(at_client, NK_SIG_RSA_PSS_RSAE_SHA512);
    ASSERT_EQ(at_server, NK_SIG_RSA_PSS_RSAE_SHA384);
}

TEST_F(conf, sig_schemes_nothing_offered_fits_the_server)
{
    /* The client offers Ed25519 only; the server has a P-256 key. */
    static const ubyte2 ed[] = { NK_SIG_ED25519 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(NKTLS_setSignatureSchemes(self->p.h[TP_CLIENT], NKTLS_SIGS_OFFERED, ed, 1), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_NO_IDENTITY, SSL_ALERT_HANDSHAKE_FAILURE);
}

TEST_F(conf, sig_schemes_server_signing_has_nothing_in_common)
{
    /* The server would sign with P-384 only, its key is P-256. */
    static const ubyte2 p384[] = { NK_SIG_ECDSA_SECP384R1_SHA384 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(NKTLS_setSignatureSchemes(self->p.h[TP_SERVER], NKTLS_SIGS_SIGNING, p384, 1), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_NO_IDENTITY, SSL_ALERT_HANDSHAKE_FAILURE);
}

TEST_F(conf, sig_schemes_not_accepted)
{
    /* The client offers the defaults but takes RSA-PSS only; the server signs
     * with ECDSA, which it was offered. */
    static const ubyte2 pss[] = { NK_SIG_RSA_PSS_RSAE_SHA256 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(NKTLS_setSignatureSchemes(self->p.h[TP_CLIENT], NKTLS_SIGS_ACCEPTED, pss, 1), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_NO_SIGALG_MATCH);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_NO_SIGALG_MATCH, SSL_ALERT_HANDSHAKE_FAILURE);
}

TEST_F(conf, sig_schemes_certificate_request)
{
    /* The server's CertificateRequest offers Ed25519 only: the client's P-256
     * identity cannot answer, it sends no certificate, and a server that
     * requires one says certificate_required. */
    static const ubyte2 ed[] = { NK_SIG_ED25519 };
    ASSERT_EQ(tp_new(&self->p, K_P256, K_P256), OK);
    ASSERT_EQ(SSL_setSessionFlags(self->p.h[TP_SERVER], SSL_FLAG_REQUIRE_MUTUAL_AUTH), OK);
    ASSERT_EQ(NKTLS_setSignatureSchemes(self->p.h[TP_SERVER], NKTLS_SIGS_OFFERED, ed, 1), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_CERTIFICATE_REQUIRED,
               SSL_ALERT_CERTIFICATE_REQUIRED);
}

TEST_F(conf, sig_schemes_bad_lists)
{
    static const ubyte2 unknown[] = { NK_SIG_ED25519, 0x1234 };
    static const ubyte2 twice[] = { NK_SIG_ED25519, NK_SIG_ED25519 };
    static const ubyte2 sha1[] = { NK_SIG_ECDSA_SECP256R1_SHA256, NK_SIG_RSA_PKCS1_SHA1 };
    static const ubyte2 ok[] = { NK_SIG_ED25519 };
    ubyte2 v[NK_SIGS_MAX];
    ubyte4 n = NK_SIGS_MAX;
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    sbyte4 h = self->p.h[TP_CLIENT];
    ASSERT_EQ(NKTLS_setSignatureSchemes(h, NKTLS_SIGS_OFFERED, unknown, 2), ERR_INVALID_ARG);
    ASSERT_EQ(NKTLS_setSignatureSchemes(h, NKTLS_SIGS_OFFERED, twice, 2), ERR_INVALID_ARG);
    ASSERT_EQ(NKTLS_setSignatureSchemes(h, NKTLS_SIGS_OFFERED, sha1, 2), ERR_INVALID_ARG);
    ASSERT_EQ(NKTLS_setSignatureSchemes(h, 3, ok, 1), ERR_INVALID_ARG);
    ASSERT_EQ(NKTLS_setSignatureSchemes(h, NKTLS_SIGS_OFFERED, NULL, 1), ERR_NULL_POINTER);
    ASSERT_NULL(self->p.c[TP_CLIENT]->sig_prefs);   /* refused lists leave nothing behind */
    /* SHA-1 once the application allows it. */
    ASSERT_EQ(SSL_setSha1SigAlg(TRUE), OK);
    ASSERT_EQ(NKTLS_setSignatureSchemes(h, NKTLS_SIGS_OFFERED, sha1, 2), OK);
    ASSERT_EQ(NKTLS_getSignatureSchemes(h, NKTLS_SIGS_OFFERED, v, &n), OK);
    ASSERT_EQ(n, 2u);
    ASSERT_MEM_EQ(v, sha1, sizeof sha1);
    ASSERT_EQ(SSL_setSha1SigAlg(FALSE), OK);
    /* Back to the default: the allocation goes. */
    ASSERT_EQ(NKTLS_setSignatureSchemes(h, NKTLS_SIGS_OFFERED, NULL, 0), OK);
    ASSERT_NULL(self->p.c[TP_CLIENT]->sig_prefs);
    /* Not once the handshake has begun. */
    ASSERT_EQ(tp_handshake(&self->p), OK);
    ASSERT_EQ(NKTLS_setSignatureSchemes(h, NKTLS_SIGS_OFFERED, ok, 1), ERR_SSL_BAD_STATE);
}

TEST_HARNESS_MAIN
