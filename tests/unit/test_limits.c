/* test_limits.c — what a peer can make a connection hold, and input that must
 * be refused or accepted whatever its size: handshake messages refused from
 * their 4-byte header (type, length per type), reassembly sized to the
 * message, limits at their edges (NKTLS_setLimit), lists and extension blocks
 * of any length, host names, messages that must end their record (RFC 8446
 * §5.1), empty alerts (§5.4), unprotected alerts once keys are on, KeyUpdate
 * floods, and 0-RTT data a server that does not take it skips (§4.2.10). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit/tls_pair.h"
#include "unit/bad_env.h"
#include "nktls.h"
#include "core/limits.h"

FIXTURE(lim) {
    struct tp_pair p;
};

FIXTURE_TEARDOWN(lim)
{
    tp_free(&self->p);
}

/* One unprotected handshake record carrying bytes, to the server alone. */
static void inject_hs(struct tp_pair *p, const uint8_t *d, size_t n)
{
    struct nk_buf rec = { 0 };
    if (tp_plain_record(&rec, NK_CT_HANDSHAKE, d, n) == OK)
        (void)!tp_inject(p, TP_C2S, rec.p, rec.len);
    nk_buf_free(&rec);
}

/* ---- refused from the header, before any body is held ---- */

TEST_F(lim, client_hello_over_limit_refused_at_header)
{
    /* A ClientHello announcing 16 KiB + 1: decode_error with only its 4-byte
     * header read, and nothing held for its body. */
    static const uint8_t hdr[4] = { NK_HS_CLIENT_HELLO, 0x00, 0x40, 0x01 };
    server_alone(_metadata, &self->p);
    inject_hs(&self->p, hdr, sizeof hdr);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_EQ(self->p.c[TP_SERVER]->hs_in.cap, 0u);
    check_alone(_metadata, &self->p, ERR_SSL_MESSAGE_TOO_LONG, SSL_ALERT_DECODE_ERROR);
}

TEST_F(lim, client_hello_at_limit_held_exactly)
{
    /* 16 KiB exactly is taken: the buffer is the message's size, not a
     * doubling past it, and the server waits for the rest. */
    static const uint8_t hdr[4] = { NK_HS_CLIENT_HELLO, 0x00, 0x40, 0x00 };
    server_alone(_metadata, &self->p);
    inject_hs(&self->p, hdr, sizeof hdr);
    ASSERT_EQ(tp_pump(&self->p), OK);
    struct nk_conn *s = self->p.c[TP_SERVER];
    ASSERT_EQ(s->err, OK);
    ASSERT_EQ(s->hs_in.len, 4u);
    ASSERT_EQ(s->hs_in.cap, 4u + 16384u);
    ASSERT_EQ(self->p.q[TP_S2C].len, 0u);
}

TEST_F(lim, handshake_message_limit_is_settable)
{
    static const uint8_t at[4] = { NK_HS_CLIENT_HELLO, 0x00, 0x08, 0x00 };     /* 2048 */
    static const uint8_t over[4] = { NK_HS_CLIENT_HELLO, 0x00, 0x08, 0x01 };   /* 2049 */
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_HANDSHAKE_MESSAGE, 2048), OK);
    server_alone(_metadata, &self->p);
    inject_hs(&self->p, at, sizeof at);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_EQ(self->p.c[TP_SERVER]->err, OK);
    tp_free(&self->p);
    server_alone(_metadata, &self->p);
    inject_hs(&self->p, over, sizeof over);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_alone(_metadata, &self->p, ERR_SSL_MESSAGE_TOO_LONG, SSL_ALERT_DECODE_ERROR);
}

TEST(handshake_memory_budget)
{
    /* Every connection trickling a 100 KiB ClientHello: the process-wide
     * budget (1 MiB here) runs out at the eleventh, which fails with
     * internal_error; the others wait; all of it is returned when they go. */
    static const uint8_t hdr[4] = { NK_HS_CLIENT_HELLO, 0x01, 0x90, 0x00 };   /* 102400 */
    struct tp_pair p[12];
    uint64_t base = nk_hs_memory_held();
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_HANDSHAKE_MESSAGE, 102400), OK);
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_HANDSHAKE_MEMORY, 1024 * 1024), OK);
    memset(p, 0, sizeof p);
    int failed = -1;
    for (int i = 0; i < 12 && failed < 0; i++) {
        ASSERT_EQ(tp_new(&p[i], K_P256, -1), OK);
        p[i].hold[TP_S2C] = 1;
        ASSERT_EQ(nk_engine_start(p[i].c[TP_SERVER]), OK);
        inject_hs(&p[i], hdr, sizeof hdr);
        ASSERT_EQ(tp_pump(&p[i]), OK);
        if (p[i].c[TP_SERVER]->err < 0)
            failed = i;
    }
    ASSERT_EQ(failed, 10);
    ASSERT_EQ(p[10].c[TP_SERVER]->err, ERR_SSL_HANDSHAKE_MEMORY);
    ASSERT_EQ(p[10].c[TP_SERVER]->alert_out, SSL_ALERT_INTERNAL_ERROR);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(p[i].c[TP_SERVER]->err, OK);
    ASSERT_LE(nk_hs_memory_held() - base, 1024u * 1024u + 102404u);
    for (int i = 0; i < 12; i++)
        tp_free(&p[i]);
    ASSERT_EQ(nk_hs_memory_held(), base);
}

TEST_F(lim, wrong_type_refused_at_header)
{
    /* A Finished where a ClientHello must come: unexpected_message from the
     * header, before its 16 MiB body. */
    static const uint8_t hdr[4] = { NK_HS_FINISHED, 0xff, 0xff, 0xff };
    server_alone(_metadata, &self->p);
    inject_hs(&self->p, hdr, sizeof hdr);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_EQ(self->p.c[TP_SERVER]->hs_in.cap, 0u);
    check_alone(_metadata, &self->p, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(lim, header_split_across_records)
{
    /* The header arrives a byte per record: still refused as soon as it is whole. */
    static const uint8_t hdr[4] = { NK_HS_CLIENT_HELLO, 0x01, 0x00, 0x00 };
    server_alone(_metadata, &self->p);
    for (int i = 0; i < 4; i++)
        inject_hs(&self->p, hdr + i, 1);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_alone(_metadata, &self->p, ERR_SSL_MESSAGE_TOO_LONG, SSL_ALERT_DECODE_ERROR);
}

/* After the handshake: a protected handshake record from the client. */
static void client_sends_sealed(struct tp_pair *p, uint8_t type, const uint8_t *d, size_t n)
{
    struct nk_conn *c = p->c[TP_CLIENT];
    (void)!nk_rec_seal(c->wr, type, d, n, 0, &c->out);
}

TEST_F(lim, post_handshake_key_update_announcing_megabytes)
{
    static const uint8_t ku[4] = { NK_HS_KEY_UPDATE, 0x03, 0x00, 0x00 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    client_sends_sealed(&self->p, NK_CT_HANDSHAKE, ku, sizeof ku);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_EQ(self->p.c[TP_SERVER]->hs_in.cap, 0u);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_MESSAGE_TOO_LONG, SSL_ALERT_DECODE_ERROR);
}

TEST_F(lim, post_handshake_certificate_refused_at_header)
{
    static const uint8_t cert[4] = { NK_HS_CERTIFICATE, 0x00, 0x40, 0x00 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    client_sends_sealed(&self->p, NK_CT_HANDSHAKE, cert, sizeof cert);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(lim, key_update_flood_through_empty_records)
{
    /* Empty application data carries nothing: it does not reset the count of
     * KeyUpdates in a row. */
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct nk_conn *c = self->p.c[TP_CLIENT];
    for (int i = 0; i < 40; i++) {
        ASSERT_EQ(nk_key_update_send(&c->tls, 0), OK);
        ASSERT_EQ(nk_rec_seal(c->wr, NK_CT_APPLICATION_DATA, (const uint8_t *)"", 0, 0, &c->out), OK);
    }
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_KEY_UPDATE_LIMIT, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(lim, key_update_limit_edges)
{
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_KEY_UPDATES, 4), OK);
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct nk_conn *c = self->p.c[TP_CLIENT];
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(nk_key_update_send(&c->tls, 0), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_EQ(self->p.c[TP_SERVER]->err, OK);
    ASSERT_EQ(tp_send(&self->p, TP_CLIENT, "x", 1), OK);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(nk_key_update_send(&c->tls, 0), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_KEY_UPDATE_LIMIT, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(lim, key_update_while_kernel_rekey_pending)
{
    /* Kernel TX with a KeyUpdate still queued (the kernel switches keys once
     * it has left): a second one must not be sealed under the retiring key.
     * An answer to the peer's request is the queued one; our own request waits. */
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    struct nk_conn *s = self->p.c[TP_SERVER];
    uint8_t secret[NK_MAX_SECRET];
    memcpy(secret, s->s_ap, sizeof secret);
    s->ktls_tx = 1;
    s->tx_rekey_pending = 1;
    s->key_update_pending = 1;
    size_t queued = s->out.len;
    ASSERT_EQ(nk_key_update_send(&s->tls, 0), OK);
    ASSERT_EQ(s->out.len, queued);
    ASSERT_EQ(memcmp(secret, s->s_ap, sizeof secret), 0);
    ASSERT_FALSE(s->key_update_pending);
    ASSERT_EQ(nk_key_update_send(&s->tls, 1), ERR_SSL_BAD_STATE);
    ASSERT_EQ(s->out.len, queued);
    s->ktls_tx = 0;
    s->tx_rekey_pending = 0;
}

TEST_F(lim, certificate_count_edges)
{
    /* The server sends its leaf and the intermediate: two certificates. */
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_CERTIFICATE_COUNT, 2), OK);
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    tp_free(&self->p);
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_CERTIFICATE_COUNT, 1), OK);
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_PROTOCOL_PROCESS_CERTIFICATE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_PROTOCOL_PROCESS_CERTIFICATE,
               SSL_ALERT_BAD_CERTIFICATE);
}

TEST_F(lim, certificate_message_edges)
{
    /* The server's Certificate: context<1>, list<3>, per entry cert<3> and
     * extensions<2>; leaf and intermediate. At its size it passes; a byte
     * less of limit and the client refuses it from its header. */
    int leaf = i2d_X509(pki.leaf[K_P256], NULL), inter = i2d_X509(pki.inter, NULL);
    ASSERT_TRUE(leaf > 0 && inter > 0);
    ubyte4 len = 1 + 3 + (3 + (ubyte4)leaf + 2) + (3 + (ubyte4)inter + 2);
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_CERTIFICATE_MESSAGE, len), OK);
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    tp_free(&self->p);
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_CERTIFICATE_MESSAGE, len - 1), OK);
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_MESSAGE_TOO_LONG);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_MESSAGE_TOO_LONG, SSL_ALERT_DECODE_ERROR);
}

TEST(limits_api)
{
    ubyte4 v = 0;
    ASSERT_EQ(NKTLS_getLimit(NKTLS_LIMIT_HANDSHAKE_MESSAGE, &v), OK);
    ASSERT_EQ(v, 16384u);
    ASSERT_EQ(NKTLS_getLimit(NKTLS_LIMIT_CERTIFICATE_MESSAGE, &v), OK);
    ASSERT_EQ(v, 65536u);
    ASSERT_EQ(NKTLS_getLimit(NKTLS_LIMIT_CERTIFICATE_COUNT, &v), OK);
    ASSERT_EQ(v, 10u);
    ASSERT_EQ(NKTLS_getLimit(NKTLS_LIMIT_KEY_UPDATES, &v), OK);
    ASSERT_EQ(v, 32u);
    ASSERT_EQ(NKTLS_getLimit(NKTLS_LIMIT_EARLY_DATA_SKIP, &v), OK);
    ASSERT_EQ(v, 16384u);
    ASSERT_EQ(NKTLS_getLimit(NKTLS_LIMIT_RECV_BUFFER, &v), OK);
    ASSERT_EQ(v, 262144u);
    ASSERT_EQ(NKTLS_getLimit(NKTLS_LIMIT_HANDSHAKE_MEMORY, &v), OK);
    ASSERT_EQ(v, 64u * 1024 * 1024);
    ASSERT_EQ(NKTLS_getLimit(NKTLS_LIMIT_SESSION_CACHE, &v), OK);
    ASSERT_EQ(v, 4096u);
    ASSERT_EQ(NKTLS_getLimit(NKTLS_LIMIT_SESSION_LIFETIME, &v), OK);
    ASSERT_EQ(v, 3600u);
    /* Session ids may be turned off; a lifetime is at least a second and at
     * most a day. */
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_SESSION_CACHE, 0), OK);
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_SESSION_CACHE, 1024 * 1024 + 1), ERR_INVALID_ARG);
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_SESSION_LIFETIME, 0), ERR_INVALID_ARG);
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_SESSION_LIFETIME, 86401), ERR_INVALID_ARG);
    /* Each has a floor and a ceiling: a limit cannot be switched off. */
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_HANDSHAKE_MESSAGE, 1023), ERR_INVALID_ARG);
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_HANDSHAKE_MESSAGE, 0x1000000), ERR_INVALID_ARG);
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_KEY_UPDATES, 0), ERR_INVALID_ARG);
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_CERTIFICATE_COUNT, 65), ERR_INVALID_ARG);
    ASSERT_EQ(NKTLS_setLimit(99, 1), ERR_INVALID_ARG);
    ASSERT_EQ(NKTLS_getLimit(99, &v), ERR_INVALID_ARG);
    ASSERT_EQ(NKTLS_getLimit(NKTLS_LIMIT_KEY_UPDATES, NULL), ERR_NULL_POINTER);
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_KEY_UPDATES, 255), OK);
    ASSERT_EQ(NKTLS_getLimit(NKTLS_LIMIT_KEY_UPDATES, &v), OK);
    ASSERT_EQ(v, 255u);
}

/* ---- ClientHellos of any length ---- */

static void ch_many_extensions(struct tp_hello *h)
{
    /* 100 unknown, empty extensions before the real ones' end. */
    for (int i = 0; i < 100; i++)
        (void)tp_hello_add(h, (uint16_t)(0x7000 + i), "", 0);
}

static void ch_groups_acceptable_last(struct tp_hello *h)
{
    /* 40 groups we do not know, then X25519 (the group of the one share). */
    int i = tp_hello_find(h, NK_EXT_SUPPORTED_GROUPS);
    uint8_t *d = h->ext[i].data;
    nk_store16(d, 2 * 41);
    for (int k = 0; k < 40; k++)
        nk_store16(d + 2 + 2 * k, (uint16_t)(0x0200 + k));
    nk_store16(d + 2 + 80, NK_GROUP_X25519);
    h->ext[i].len = 2 + 82;
}

static void ch_sigs_acceptable_last(struct tp_hello *h)
{
    /* 30 schemes we do not know, then ecdsa_secp256r1_sha256. */
    int i = tp_hello_find(h, NK_EXT_SIGNATURE_ALGORITHMS);
    uint8_t *d = h->ext[i].data;
    nk_store16(d, 2 * 31);
    for (int k = 0; k < 30; k++)
        nk_store16(d + 2 + 2 * k, (uint16_t)(0x0e00 + k));
    nk_store16(d + 2 + 60, NK_SIG_ECDSA_SECP256R1_SHA256);
    h->ext[i].len = 2 + 62;
}

/* 20 listed groups we do not know, each with a one-byte share, the X25519
 * share, then a second share for the 18th: a duplicate past the 16th share. */
static void ch_duplicate_share_late(struct tp_hello *h)
{
    int g = tp_hello_find(h, NK_EXT_SUPPORTED_GROUPS), k = tp_hello_find(h, NK_EXT_KEY_SHARE);
    uint8_t *gd = h->ext[g].data, *kd = h->ext[k].data, x25519[2 + 2 + 32];
    memcpy(x25519, kd + 2, sizeof x25519);
    nk_store16(gd, 2 * 21);
    for (int i = 0; i < 20; i++)
        nk_store16(gd + 2 + 2 * i, (uint16_t)(0x0300 + i));
    nk_store16(gd + 2 + 40, NK_GROUP_X25519);
    h->ext[g].len = 2 + 42;
    size_t off = 2;
    for (int i = 0; i < 21; i++) {
        uint16_t group = (uint16_t)(0x0300 + (i == 20 ? 17 : i));
        nk_store16(kd + off, group);
        nk_store16(kd + off + 2, 1);
        kd[off + 4] = 0x42;
        off += 5;
    }
    memcpy(kd + off, x25519, sizeof x25519);
    off += sizeof x25519;
    nk_store16(kd, (uint16_t)(off - 2));
    h->ext[k].len = off;
}

static MSTATUS edited_handshake(struct tp_pair *p, void (*fn)(struct tp_hello *h))
{
    struct hello_edit e = { .dir = TP_C2S, .fn = fn, .fix_transcript = 1 };
    NK_TRY(tp_new(p, K_P256, -1));
    return run_hello_edit(p, &e);
}

TEST_F(lim, client_hello_with_100_extensions)
{
    ASSERT_EQ(edited_handshake(&self->p, ch_many_extensions), OK);
}

TEST_F(lim, supported_groups_acceptable_at_41st)
{
    ASSERT_EQ(edited_handshake(&self->p, ch_groups_acceptable_last), OK);
    ASSERT_EQ(self->p.c[TP_SERVER]->group, NK_GROUP_X25519);
}

TEST_F(lim, signature_algorithms_acceptable_at_31st)
{
    ASSERT_EQ(edited_handshake(&self->p, ch_sigs_acceptable_last), OK);
    ASSERT_EQ(self->p.c[TP_CLIENT]->peer_sig, NK_SIG_ECDSA_SECP256R1_SHA256);
}

TEST_F(lim, duplicate_key_share_past_the_16th)
{
    ASSERT_EQ(edited_handshake(&self->p, ch_duplicate_share_late), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
}

/* ---- host names (RFC 6066 §3) ---- */

static const char *g_sni;

static void ch_set_sni(struct tp_hello *h)
{
    int i = tp_hello_find(h, NK_EXT_SERVER_NAME);
    size_t n = strlen(g_sni);
    uint8_t *d = h->ext[i].data;
    nk_store16(d, (uint16_t)(3 + n));
    d[2] = 0;
    nk_store16(d + 3, (uint16_t)n);
    memcpy(d + 5, g_sni, n);
    h->ext[i].len = 5 + n;
}

TEST_F(lim, host_names_must_be_ascii_dns)
{
    static const char *const bad[] = {
        "evil\x1b[31m.example.com", "a\r\nb.example.com", "sp ace.example.com", "a..b.example.com",
        ".example.com", "example.com.", "caf\xc3\xa9.example.com",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com",   /* 64 */
    };
    for (size_t i = 0; i < NK_ARRAY_LEN(bad); i++) {
        g_sni = bad[i];
        struct hello_edit e = { .dir = TP_C2S, .fn = ch_set_sni };
        ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
        ASSERT_EQ(run_hello_edit(&self->p, &e), ERR_SSL_FATAL_ALERT) TH_LOG("name %zu", i);
        check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_ILLEGAL_PARAMETER, SSL_ALERT_ILLEGAL_PARAMETER);
        tp_free(&self->p);
    }
    /* Letters, digits, hyphens, underscores and a 63-byte label pass. */
    g_sni = "a-b_c.x1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com";
    ASSERT_EQ(edited_handshake(&self->p, ch_set_sni), OK);
    ASSERT_STR_EQ(self->p.c[TP_SERVER]->server_name, g_sni);
}

/* ---- record boundaries and alerts ---- */

/* The index-th record of dir gets extra bytes inside it (its length grows). */
struct grow {
    int dir;
    unsigned index;
    const uint8_t *bytes;
    size_t n;
};

static void grow_hook(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct grow *g = arg;
    if (dir != g->dir || p->records[dir] - 1 != g->index)
        return;
    if (nk_buf_append(rec, g->bytes, g->n) == OK)
        nk_store16(rec->p + 3, (uint16_t)(rec->len - NK_REC_HDR));
}

TEST_F(lim, client_hello_with_trailing_bytes_refused_before_signing)
{
    /* §5.1: a ClientHello must end its record. The server refuses it before
     * any ServerHello: all it sends is one alert. */
    static const uint8_t more[3] = { NK_HS_CLIENT_HELLO, 0, 0 };
    struct grow g = { .dir = TP_C2S, .index = 0, .bytes = more, .n = sizeof more };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    self->p.hook = grow_hook;
    self->p.hook_arg = &g;
    self->p.hold[TP_S2C] = 1;
    ASSERT_EQ(tp_start(&self->p), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_alone(_metadata, &self->p, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(lim, server_hello_with_more_in_its_record)
{
    /* The start of an EncryptedExtensions in the ServerHello's record would
     * straddle the key change. */
    static const uint8_t more[4] = { NK_HS_ENCRYPTED_EXTENSIONS, 0, 0, 2 };
    struct grow g = { .dir = TP_S2C, .index = 0, .bytes = more, .n = sizeof more };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    self->p.hook = grow_hook;
    self->p.hook_arg = &g;
    ASSERT_EQ(tp_handshake(&self->p), ERR_SSL_UNEXPECTED_MESSAGE);
    check_fail(_metadata, &self->p, TP_CLIENT, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

static void finished_then_more(struct tp_flight *f, struct nk_buf *msg)
{
    static const uint8_t ku[5] = { NK_HS_KEY_UPDATE, 0, 0, 1, 0 };
    if (msg->p[0] == NK_HS_FINISHED && nk_buf_append(msg, ku, sizeof ku) != OK)
        f->err = ERR_MEM_ALLOC_FAIL;
}

TEST_F(lim, finished_with_more_in_its_record)
{
    /* §5.1: the client's Finished and a KeyUpdate in one record: the KeyUpdate
     * would be read under the handshake key. */
    struct tp_flight f = { .dir = TP_C2S, .msg_fn = finished_then_more, .coalesce = 1 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(run_flight(&self->p, &f), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(lim, empty_protected_alert)
{
    /* §5.4: a zero-length alert is unexpected_message (not decode_error). */
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(tp_handshake(&self->p), OK);
    client_sends_sealed(&self->p, NK_CT_ALERT, (const uint8_t *)"", 0);
    ASSERT_EQ(tp_pump(&self->p), OK);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_UNEXPECTED_MESSAGE, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(lim, unprotected_alert_refused_by_client_with_keys)
{
    /* The server has keys from its ServerHello on: in place of its encrypted
     * EncryptedExtensions, an unprotected fatal alert is a forgery. */
    static const uint8_t alert[7] = { NK_CT_ALERT, 3, 3, 0, 2, 2, 40 };
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    self->p.hold[TP_S2C] = 1;
    ASSERT_EQ(tp_start(&self->p), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    /* Keep ServerHello and CCS; replace the rest by the alert. */
    struct nk_buf *q = &self->p.q[TP_S2C];
    size_t sh = NK_REC_HDR + nk_load16(q->p + 3);
    size_t ccs = NK_REC_HDR + 1;
    q->len = sh + ccs;
    ASSERT_EQ(nk_buf_append(q, alert, sizeof alert), OK);
    self->p.hold[TP_S2C] = 0;
    ASSERT_EQ(tp_pump(&self->p), OK);
    struct nk_conn *c = self->p.c[TP_CLIENT];
    ASSERT_EQ(c->err, ERR_SSL_UNEXPECTED_MESSAGE);
    ASSERT_EQ(c->alert_out, SSL_ALERT_UNEXPECTED_MESSAGE);
    ASSERT_EQ(c->alert_in, -1);
}

/* ---- 0-RTT data the server does not take (§4.2.10) ---- */

struct early {
    unsigned records;             /* of this many bytes each */
    size_t size;
    int done;
};

static void ch_add_early_data(struct tp_hello *h)
{
    /* early_data goes before pre_shared_key, which we do not offer here. */
    (void)tp_hello_add(h, NK_EXT_EARLY_DATA, "", 0);
}

/* After the first ClientHello: its early_data extension, then the 0-RTT
 * records a client would send (random bytes: no key of ours opens them). */
static void early_hook(struct tp_pair *p, int dir, struct nk_buf *rec, void *arg)
{
    struct early *e = arg;
    struct tp_hello h;
    if (dir != TP_C2S || e->done || tp_hello_from_record(rec, &h) != OK)
        return;
    e->done = 1;
    ch_add_early_data(&h);
    if (tp_hello_to_record(&h, rec) != OK)
        return;
    struct nk_transcript *tr = &p->c[TP_CLIENT]->hs->tr;
    tr->pending.len = 0;
    (void)!nk_buf_append(&tr->pending, rec->p + NK_REC_HDR, rec->len - NK_REC_HDR);
    uint8_t body[NK_MAX_CIPHER];
    for (unsigned i = 0; i < e->records; i++) {
        tp_fill(body, e->size, 7 + i);
        (void)!tp_plain_record(rec, NK_CT_APPLICATION_DATA, body, e->size);
    }
}

/* p: a pair made by the caller, or an empty one to make here. */
static MSTATUS early_handshake(struct tp_pair *p, struct early *e, const ubyte2 *client_groups, ubyte4 n)
{
    if (!p->h[TP_CLIENT])
        NK_TRY(tp_new(p, K_P256, -1));
    if (client_groups)
        NK_TRY(NKTLS_setGroups(p->h[TP_CLIENT], client_groups, n));
    p->hook = early_hook;
    p->hook_arg = e;
    MSTATUS st = tp_handshake(p);
    p->hook = NULL;
    return e->done ? st : ERR_GENERAL;
}

TEST_F(lim, early_data_skipped)
{
    /* 16 KiB of 0-RTT data (the default limit, counted as plaintext: record
     * body less tag and type byte) is skipped and the handshake completes. */
    struct early e = { .records = 4, .size = 4096 + 17 };
    ASSERT_EQ(early_handshake(&self->p, &e, NULL, 0), OK);
    ASSERT_EQ(tp_send(&self->p, TP_CLIENT, "after", 5), OK);
    ASSERT_EQ(tp_pump(&self->p), OK);
    ASSERT_EQ(self->p.rx[TP_SERVER].len, 5u);
}

TEST_F(lim, early_data_over_limit)
{
    struct early e = { .records = 5, .size = 4096 + 17 };
    ASSERT_EQ(early_handshake(&self->p, &e, NULL, 0), ERR_SSL_FATAL_ALERT);
    check_fail(_metadata, &self->p, TP_SERVER, ERR_SSL_EARLY_DATA_LIMIT, SSL_ALERT_UNEXPECTED_MESSAGE);
}

TEST_F(lim, early_data_skipped_after_hello_retry)
{
    /* The client's share is P-256, the server prefers X25519: HelloRetryRequest;
     * the 0-RTT records, which came before it, are skipped by their type. */
    static const ubyte2 groups[] = { 23, 29 };
    struct early e = { .records = 2, .size = NK_MAX_CIPHER };
    static const ubyte2 x25519 = 29;
    ASSERT_EQ(NKTLS_setLimit(NKTLS_LIMIT_EARLY_DATA_SKIP, 65536), OK);
    ASSERT_EQ(tp_new(&self->p, K_P256, -1), OK);
    ASSERT_EQ(NKTLS_setGroups(self->p.h[TP_SERVER], &x25519, 1), OK);
    ASSERT_EQ(early_handshake(&self->p, &e, groups, 2), OK);
    ASSERT_EQ(self->p.c[TP_SERVER]->group, NK_GROUP_X25519);
}

TEST_HARNESS_MAIN
