/* test_bad_hello.c — hellos that must be refused: nothing in common (group,
 * cipher suite), a ClientHello changed on its way to the server (versions,
 * duplicate extensions, compression, key shares that are short, all zeros or
 * off the curve, legacy_version, RFC 8446 §4.1.2 and Appendix D.5), and a
 * ServerHello or HelloRetryRequest changed on its way to the client
 * (extensions not offered or out of place, downgrade sentinels §4.1.3, the
 * version chosen, key share, session id echo, an HRR that changes nothing
 * §4.1.4). Each case checks the error on the side that detects it (c->err),
 * the alert it sends (c->alert_out), and that the peer then reports exactly
 * that alert as fatal and sends nothing back (bad_env.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"

/* Every case runs on one pair; the teardown releases it even after a failed
 * check, so the sanitizer build reports only the library's leaks. */
FIXTURE(bad) {
    struct tp_pair p;
};

FIXTURE_TEARDOWN(bad)
{
    tp_free(&self->p);
}

/* ---- nothing in common ---- */

TEST_F(bad, no_common_group)
{
    static const ubyte2 cli_groups[] = { NK_GROUP_X25519 };
    static const ubyte2 srv_groups[] = { NK_GROUP_SECP384R1 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_CLIENT], cli_groups, 1), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_SERVER], srv_groups, 1), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_NO_GROUP_MATCH, SSL_ALERT_HANDSHAKE_FAILURE);
}

TEST_F(bad, no_common_cipher_suite)
{
    static const ubyte2 cli_suites[] = { SSL_TLS_AES_256_GCM_SHA384, SSL_TLS_AES_128_CCM_SHA256 };
    static const ubyte2 srv_suites[] = { SSL_TLS_AES_128_GCM_SHA256, SSL_TLS_CHACHA20_POLY1305_SHA256 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_CLIENT], cli_suites, 2), OK);
    ASSERT_EQ(SSL_enableCiphers(self->p.h[TP_SERVER], srv_suites, 2), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_NO_CIPHER_MATCH, SSL_ALERT_HANDSHAKE_FAILURE);
}

/* ---- ClientHello, changed on its way to the server ---- */

static void ch_no_supported_versions(struct tp_hello *h)
{
    /* What a TLS 1.2-only client sends. */
    tp_hello_del(h, NK_EXT_SUPPORTED_VERSIONS);
    tp_hello_del(h, NK_EXT_KEY_SHARE);
}

static void ch_tls12_in_supported_versions(struct tp_hello *h)
{
    static const uint8_t v[] = { 4, 0x03, 0x03, 0x03, 0x02 };
    int i = tp_hello_find(h, NK_EXT_SUPPORTED_VERSIONS);
    memcpy(h->ext[i].data, v, sizeof v);
    h->ext[i].len = sizeof v;
}

static void ch_duplicate_extension(struct tp_hello *h)
{
    static const uint8_t rsl[2] = { 0x40, 0x01 };
    (void)tp_hello_add(h, NK_EXT_RECORD_SIZE_LIMIT, rsl, sizeof rsl);
}

static void ch_compression_deflate(struct tp_hello *h)
{
    h->comp[0] = 1;
    h->comp[1] = 0;
    h->comp_len = 2;
}

static void ch_compression_none_missing(struct tp_hello *h)
{
    h->comp[0] = 1;
    h->comp_len = 1;
}

/* supported_groups without X25519, the group of the one key share. */
static void ch_share_not_in_groups(struct tp_hello *h)
{
    static const uint8_t groups[] = { 0, 4, 0, NK_GROUP_SECP256R1, 0, NK_GROUP_SECP384R1 };
    int i = tp_hello_find(h, NK_EXT_SUPPORTED_GROUPS);
    memcpy(h->ext[i].data, groups, sizeof groups);
    h->ext[i].len = sizeof groups;
}

/* The one X25519 share (client_shares<2>, group<2>, key_exchange<2>, 32 bytes). */
static uint8_t *x25519_share(struct tp_hello *h, int *ext)
{
    *ext = tp_hello_find(h, NK_EXT_KEY_SHARE);
    if (*ext < 0 || h->ext[*ext].len != 2 + 4 + 32)
        return NULL;
    return h->ext[*ext].data + 6;
}

static void ch_share_short(struct tp_hello *h)
{
    int i;
    if (!x25519_share(h, &i))
        return;
    uint8_t *d = h->ext[i].data;
    nk_store16(d, 2 + 2 + 31);
    nk_store16(d + 4, 31);
    h->ext[i].len = 2 + 4 + 31;
}

static void ch_share_zero(struct tp_hello *h)
{
    /* §7.4.2: an X25519 share that makes the shared secret all zeros. */
    int i;
    uint8_t *k = x25519_share(h, &i);
    if (k)
        memset(k, 0, 32);
}

static void ch_share_off_curve(struct tp_hello *h)
{
    /* An uncompressed P-256 point that is not on the curve. */
    int i = tp_hello_find(h, NK_EXT_KEY_SHARE);
    if (i >= 0 && h->ext[i].len == 2 + 4 + 65)
        memset(h->ext[i].data + 6 + 1, 0x01, 64);
}

static void ch_legacy_version_ssl3(struct tp_hello *h)
{
    h->version = 0x0300;
}

static void ch_legacy_version_zero(struct tp_hello *h)
{
    h->version = 0x0000;
}

static void ch_legacy_version_tls10(struct tp_hello *h)
{
    /* §4.1.2: legacy_version is otherwise ignored once supported_versions
     * offers 1.3 — this must still work. */
    h->version = 0x0301;
}

struct ch_case {
    const char *name;
    void (*fn)(struct tp_hello *h);
    MSTATUS err;
    int alert;
};

static void run_ch_case(struct __test_metadata *_metadata, struct tp_pair *p, const struct ch_case *c,
                        const ubyte2 *groups, ubyte4 n_groups)
{
    struct hello_edit e = { .dir = TP_C2S, .fn = c->fn };
    ASSERT_EQ(tp_new(p, K_P256, -1), OK);
    if (groups)
        ASSERT_EQ(NKTLS_setGroups(p->h[TP_CLIENT], groups, n_groups), OK);
    MSTATUS st = run_hello_edit(p, &e);
    EXPECT_EQ(st, c->err == OK ? OK : ERR_SSL_FATAL_ALERT) TH_LOG("case %s", c->name);
    if (c->err != OK)
        check_fail(_metadata, p, TP_SERVER, c->err, c->alert);
    tp_free(p);
}

/* A server held to TLS 1.3 (SSL_SET_MINIMUM_VERSION) refuses a hello that
 * offers only TLS 1.2 or older with protocol_version. */
static void run_ch_case_server_13(struct __test_metadata *_metadata, struct tp_pair *p, const struct ch_case *c)
{
    struct hello_edit e = { .dir = TP_C2S, .fn = c->fn };
    ASSERT_EQ(tp_new(p, K_P256, -1), OK);
    ASSERT_EQ(SSL_ioctl(p->h[TP_SERVER], SSL_SET_MINIMUM_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION), OK);
    EXPECT_EQ(run_hello_edit(p, &e), ERR_SSL_FATAL_ALERT) TH_LOG("case %s", c->name);
    check_fail(_metadata, p, TP_SERVER, c->err, c->alert);
    tp_free(p);
}

TEST_F(bad, client_hello_without_tls13)
{
    struct ch_case c = { "no supported_versions", ch_no_supported_versions,
                         ERR_SSL_UNSUPPORTED_VERSION, SSL_ALERT_PROTOCOL_VERSION };
    run_ch_case_server_13(_metadata, &self->p, &c);
}

TEST_F(bad, client_hello_tls12_and_older_only)
{
    struct ch_case c = { "supported_versions 1.2, 1.1", ch_tls12_in_supported_versions,
                         ERR_SSL_UNSUPPORTED_VERSION, SSL_ALERT_PROTOCOL_VERSION };
    run_ch_case_server_13(_metadata, &self->p, &c);
}

/* Where the server allows TLS 1.2, a hello stripped down to TLS 1.2 on the
 * way gets it, with the downgrade sentinel (RFC 8446 §4.1.3): the client,
 * which offered 1.3, sees it and refuses with illegal_parameter. */
TEST_F(bad, client_hello_stripped_to_tls12_is_a_detected_downgrade)
{
    void (*edits[])(struct tp_hello *) = { ch_no_supported_versions, ch_tls12_in_supported_versions };
    for (size_t i = 0; i < 2; i++) {
        struct hello_edit e = { .dir = TP_C2S, .fn = edits[i] };
        ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
        EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_DOWNGRADE_DETECTED) TH_LOG("edit %zu", i);
        check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_DOWNGRADE_DETECTED, SSL_ALERT_ILLEGAL_PARAMETER);
        tp_free(&self->p);
    }
}

TEST_F(bad, client_hello_duplicate_extension)
{
    struct ch_case c = { "record_size_limit twice", ch_duplicate_extension,
                         ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER };
    run_ch_case(_metadata, &self->p, &c, NULL, 0);
}

TEST_F(bad, client_hello_compression)
{
    struct ch_case c1 = { "compression {1, 0}", ch_compression_deflate,
                          ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER };
    struct ch_case c2 = { "compression {1}", ch_compression_none_missing,
                          ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER };
    run_ch_case(_metadata, &self->p, &c1, NULL, 0);
    run_ch_case(_metadata, &self->p, &c2, NULL, 0);
}

TEST_F(bad, client_hello_share_not_in_supported_groups)
{
    struct ch_case c = { "share X25519, groups P-256/P-384", ch_share_not_in_groups,
                         ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER };
    run_ch_case(_metadata, &self->p, &c, NULL, 0);
}

TEST_F(bad, client_hello_bad_key_share)
{
    static const ubyte2 p256[] = { NK_GROUP_SECP256R1 };
    struct ch_case c1 = { "X25519 share of 31 bytes", ch_share_short, ERR_SSL_BAD_KEY_SHARE,
                          SSL_ALERT_ILLEGAL_PARAMETER };
    struct ch_case c2 = { "X25519 share of zeros", ch_share_zero, ERR_SSL_BAD_KEY_SHARE,
                          SSL_ALERT_ILLEGAL_PARAMETER };
    struct ch_case c3 = { "P-256 point off the curve", ch_share_off_curve, ERR_SSL_BAD_KEY_SHARE,
                          SSL_ALERT_ILLEGAL_PARAMETER };
    run_ch_case(_metadata, &self->p, &c1, NULL, 0);
    run_ch_case(_metadata, &self->p, &c2, NULL, 0);
    run_ch_case(_metadata, &self->p, &c3, p256, 1);
}

TEST_F(bad, client_hello_legacy_version)
{
    /* Appendix D.5: a Hello with legacy_version 0x0300 or below is aborted
     * with protocol_version, whatever supported_versions says. */
    struct ch_case ssl3 = { "legacy_version 0x0300", ch_legacy_version_ssl3, ERR_SSL_UNSUPPORTED_VERSION,
                            SSL_ALERT_PROTOCOL_VERSION };
    struct ch_case zero = { "legacy_version 0x0000", ch_legacy_version_zero, ERR_SSL_UNSUPPORTED_VERSION,
                            SSL_ALERT_PROTOCOL_VERSION };
    run_ch_case(_metadata, &self->p, &ssl3, NULL, 0);
    run_ch_case(_metadata, &self->p, &zero, NULL, 0);
    struct hello_edit e = { .dir = TP_C2S, .fn = ch_legacy_version_tls10, .fix_transcript = 1 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_hello_edit(&self->p, &e), OK);
}

/* ---- ServerHello and HelloRetryRequest, changed on their way to the client ---- */

static void sh_unoffered_extension(struct tp_hello *h)
{
    (void)tp_hello_add(h, 0x1234, "", 0);
}

static void sh_extension_not_for_server_hello(struct tp_hello *h)
{
    /* The client offered server_name, but it belongs in EncryptedExtensions. */
    (void)tp_hello_add(h, NK_EXT_SERVER_NAME, "", 0);
}

static void sh_tls12(struct tp_hello *h)
{
    tp_hello_del(h, NK_EXT_SUPPORTED_VERSIONS);
    tp_hello_del(h, NK_EXT_KEY_SHARE);
}

static void sh_tls12_downgrade(struct tp_hello *h)
{
    /* §4.1.3: a TLS 1.3 server negotiating TLS 1.2 ends its random with
     * "DOWNGRD" 01. */
    sh_tls12(h);
    memcpy(h->random + 24, "DOWNGRD\x01", 8);
}

static void sh_tls11_downgrade(struct tp_hello *h)
{
    sh_tls12(h);
    memcpy(h->random + 24, "DOWNGRD\x00", 8);
}

static void sh_selects_tls12(struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_SUPPORTED_VERSIONS);
    nk_store16(h->ext[i].data, 0x0303);
}

static void sh_share_short(struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_KEY_SHARE);
    if (i < 0 || h->ext[i].len != 4 + 32)
        return;
    nk_store16(h->ext[i].data + 2, 31);
    h->ext[i].len = 4 + 31;
}

static void sh_session_id_changed(struct tp_hello *h)
{
    h->sid[0] ^= 1;
}

static void hrr_no_change(struct tp_hello *h)
{
    /* §4.1.4: neither a new group nor a cookie. */
    tp_hello_del(h, NK_EXT_KEY_SHARE);
    tp_hello_del(h, NK_EXT_COOKIE);
}

static void hrr_group_already_shared(struct tp_hello *h)
{
    /* §4.2.8: the group the client already sent a share for. */
    int i = tp_hello_find(h, NK_EXT_KEY_SHARE);
    nk_store16(h->ext[i].data, NK_GROUP_X25519);
    tp_hello_del(h, NK_EXT_COOKIE);
}

static void hrr_group_not_offered(struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_KEY_SHARE);
    nk_store16(h->ext[i].data, NK_GROUP_X448);
}

struct sh_case {
    const char *name;
    void (*fn)(struct tp_hello *h);
    int hrr;
    MSTATUS err;
    int alert;
};

static void run_sh_case(struct __test_metadata *_metadata, struct tp_pair *p, const struct sh_case *c)
{
    static const ubyte2 cli_groups[] = { NK_GROUP_X25519, NK_GROUP_SECP256R1 };
    static const ubyte2 srv_groups[] = { NK_GROUP_SECP256R1 };
    struct hello_edit e = { .dir = TP_S2C, .fn = c->fn, .hrr_only = c->hrr };
    ASSERT_EQ(tp_new(p, K_P256, -1), OK);
    if (c->hrr) {
        ASSERT_EQ(NKTLS_setGroups(p->h[TP_CLIENT], cli_groups, 2), OK);
        ASSERT_EQ(NKTLS_setGroups(p->h[TP_SERVER], srv_groups, 1), OK);
    }
    EXPECT_EQ(run_hello_edit(p, &e), c->err) TH_LOG("case %s", c->name);
    check_fail(_metadata, p, TP_CLIENT, c->err, c->alert);
    tp_free(p);
}

TEST_F(bad, server_hello_unoffered_extension)
{
    struct sh_case c = { "extension 0x1234", sh_unoffered_extension, 0,
                         ERR_SSL_UNSUPPORTED_EXTENSION, SSL_ALERT_UNSUPPORTED_EXTENSION };
    run_sh_case(_metadata, &self->p, &c);
}

TEST_F(bad, server_hello_extension_out_of_place)
{
    struct sh_case c = { "server_name in ServerHello", sh_extension_not_for_server_hello, 0,
                         ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER };
    run_sh_case(_metadata, &self->p, &c);
}

TEST_F(bad, server_hello_downgrade_sentinel)
{
    struct sh_case c1 = { "TLS 1.2 with DOWNGRD 01", sh_tls12_downgrade, 0,
                          ERR_SSL_DOWNGRADE_DETECTED, SSL_ALERT_ILLEGAL_PARAMETER };
    struct sh_case c2 = { "TLS 1.2 with DOWNGRD 00", sh_tls11_downgrade, 0,
                          ERR_SSL_DOWNGRADE_DETECTED, SSL_ALERT_ILLEGAL_PARAMETER };
    run_sh_case(_metadata, &self->p, &c1);
    run_sh_case(_metadata, &self->p, &c2);
}

TEST_F(bad, server_hello_tls12)
{
    /* A client held to 1.3 offered only 1.3: a TLS 1.2 ServerHello is
     * protocol_version. */
    struct hello_edit e = { .dir = TP_S2C, .fn = sh_tls12 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(SSL_ioctl(self->p.h[TP_CLIENT], SSL_SET_MINIMUM_VERSION, (void *)(uintptr_t)TLS13_MINORVERSION), OK);
    EXPECT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_UNSUPPORTED_VERSION);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNSUPPORTED_VERSION, SSL_ALERT_PROTOCOL_VERSION);
}

TEST_F(bad, server_hello_tls12_with_tls13_suite)
{
    /* A client that allows 1.2 follows a TLS 1.2 ServerHello, whose suite
     * must be a TLS 1.2 one it offered (RFC 5246 §7.4.1.3): illegal_parameter. */
    struct sh_case c = { "TLS 1.2 ServerHello, TLS 1.3 suite", sh_tls12, 0, ERR_SSL_ILLEGAL_PARAMETER,
                         SSL_ALERT_ILLEGAL_PARAMETER };
    run_sh_case(_metadata, &self->p, &c);
}

TEST_F(bad, server_hello_selects_unoffered_version)
{
    /* §4.2.1: selected_version not offered: illegal_parameter. */
    struct sh_case c = { "supported_versions 1.2", sh_selects_tls12, 0, ERR_SSL_ILLEGAL_PARAMETER,
                         SSL_ALERT_ILLEGAL_PARAMETER };
    run_sh_case(_metadata, &self->p, &c);
}

TEST_F(bad, server_hello_bad_key_share)
{
    struct sh_case c = { "X25519 share of 31 bytes", sh_share_short, 0, ERR_SSL_BAD_KEY_SHARE,
                         SSL_ALERT_ILLEGAL_PARAMETER };
    run_sh_case(_metadata, &self->p, &c);
}

TEST_F(bad, server_hello_session_id_not_echoed)
{
    /* §4.1.3: legacy_session_id_echo must match: illegal_parameter. */
    struct sh_case c = { "session id changed", sh_session_id_changed, 0,
                         ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER };
    run_sh_case(_metadata, &self->p, &c);
}

TEST_F(bad, hello_retry_request_changes_nothing)
{
    struct sh_case c1 = { "no key_share, no cookie", hrr_no_change, 1, ERR_SSL_ILLEGAL_PARAMETER,
                          SSL_ALERT_ILLEGAL_PARAMETER };
    struct sh_case c2 = { "group already shared", hrr_group_already_shared, 1,
                          ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER };
    run_sh_case(_metadata, &self->p, &c1);
    run_sh_case(_metadata, &self->p, &c2);
}

TEST_F(bad, hello_retry_request_group_not_offered)
{
    struct sh_case c = { "X448, not offered", hrr_group_not_offered, 1, ERR_SSL_ILLEGAL_PARAMETER,
                         SSL_ALERT_ILLEGAL_PARAMETER };
    run_sh_case(_metadata, &self->p, &c);
}

TEST_HARNESS_MAIN
