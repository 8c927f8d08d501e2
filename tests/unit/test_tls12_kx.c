/* test_tls12_kx.c — handshake/tls12_kx.c on its own: the server's FFDHE group
 * (RFC 7919 §4), ServerDHParams a client takes (the named groups only, RFC
 * 7919 §3) or refuses (insufficient_security), the server's value out of
 * range (handshake_failure), and the DHE premaster secret with its leading
 * zero bytes stripped (RFC 5246 §8.1.2), agreed by both sides; RSA key
 * transport (RFC 5246 §7.4.7.1): the premaster the client encrypts is the one
 * the server decrypts, and a wrong version, bad padding or garbage gives 48
 * other bytes, not an error; a ciphertext of the wrong length is refused. */
#include <stdlib.h>
#include <string.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "harness.h"
#include "core/nk.h"
#include "core/crypto.h"
#include "core/kex.h"
#include "handshake/tls12.h"

FIXTURE(kx) {
    struct nk_tls cli, srv;
    struct nk_buf params;
};

static void conn_init(struct __test_metadata *_metadata, struct nk_tls *c, const uint16_t *groups, size_t n)
{
    memset(c, 0, sizeof *c);
    ASSERT_EQ(nk_hs_alloc(c), OK);
    c->suite = nk_suite12_by_id(0x009e);
    ASSERT_NOT_NULL(c->suite);
    for (size_t i = 0; i < n; i++)
        c->groups[c->n_groups++] = groups[i];
}

FIXTURE_SETUP(kx)
{
    ASSERT_EQ(nk_crypto_init(), OK);
    conn_init(_metadata, &self->srv, NULL, 0);
    conn_init(_metadata, &self->cli, NULL, 0);
    memset(&self->params, 0, sizeof self->params);
}

FIXTURE_TEARDOWN(kx)
{
    nk_hs_free(&self->cli);
    nk_hs_free(&self->srv);
    nk_buf_free(&self->params);
}

/* The server's ServerDHParams for group; *peer: the client's reader of dh_Ys. */
static void server_params(struct __test_metadata *_metadata, FIXTURE_DATA(kx) *self, uint16_t group)
{
    self->params.len = 0;
    self->srv.group = group;
    EVP_PKEY_free(self->srv.hs->kex_priv);
    self->srv.hs->kex_priv = NULL;
    ASSERT_EQ(nk_tls12_kx_server_params(&self->srv, &self->params), OK);
}

static MSTATUS client_reads(FIXTURE_DATA(kx) *self, const uint8_t *params, size_t n, struct nk_rd *peer)
{
    struct nk_rd r;
    nk_rd_init(&r, params, n);
    MSTATUS st = nk_tls12_kx_client_params(&self->cli, &r, peer);
    return st == OK ? nk_rd_done(&r) : st;
}

TEST_F(kx, server_group_choice)
{
    static const uint8_t l3072_2048[] = { 0x01, 0x01, 0x01, 0x00, 0x00, 0x17 };
    static const uint8_t unknown_ffdhe[] = { 0x01, 0xff, 0x00, 0x1d };
    static const uint8_t curves_only[] = { 0x00, 0x1d, 0x00, 0x17 };
    struct nk_rd r;
    /* Listing no FFDHE group of our own: every named one, ffdhe2048 first. */
    nk_rd_init(&r, l3072_2048, sizeof l3072_2048);
    EXPECT_EQ(nk_tls12_dhe_group(&self->srv, &r), NK_GROUP_FFDHE2048);
    /* §4: an FFDHE codepoint we do not know, and no other: no DHE. */
    nk_rd_init(&r, unknown_ffdhe, sizeof unknown_ffdhe);
    EXPECT_EQ(nk_tls12_dhe_group(&self->srv, &r), 0);
    /* No FFDHE group listed, or no list: our choice. */
    nk_rd_init(&r, curves_only, sizeof curves_only);
    EXPECT_EQ(nk_tls12_dhe_group(&self->srv, &r), NK_GROUP_FFDHE2048);
    EXPECT_EQ(nk_tls12_dhe_group(&self->srv, NULL), NK_GROUP_FFDHE2048);
    /* Our list decides among the client's, in our order. */
    static const uint16_t ours[] = { NK_GROUP_X25519, NK_GROUP_FFDHE4096, NK_GROUP_FFDHE3072 };
    nk_hs_free(&self->srv);
    conn_init(_metadata, &self->srv, ours, 3);
    nk_rd_init(&r, l3072_2048, sizeof l3072_2048);
    EXPECT_EQ(nk_tls12_dhe_group(&self->srv, &r), NK_GROUP_FFDHE3072);
    EXPECT_EQ(nk_tls12_dhe_group(&self->srv, NULL), NK_GROUP_FFDHE4096);
    static const uint8_t only2048[] = { 0x01, 0x00 };
    nk_rd_init(&r, only2048, sizeof only2048);
    EXPECT_EQ(nk_tls12_dhe_group(&self->srv, &r), 0);
}

/* RFC 5246 §7.4.3: dh_p, dh_g, dh_Ys with 2-byte lengths; p and g those of
 * RFC 7919 ffdhe2048; a client that offered it takes them. */
TEST_F(kx, params_bytes_and_client_takes_them)
{
    static const uint16_t offered[] = { NK_GROUP_X25519, NK_GROUP_FFDHE2048 };
    uint8_t p[NK_MAX_KEX_PUB], g[8];
    size_t gl;
    struct nk_rd peer;
    ASSERT_EQ(nk_kex_ffdhe_pg(NK_GROUP_FFDHE2048, p, g, &gl), OK);
    server_params(_metadata, self, NK_GROUP_FFDHE2048);
    ASSERT_EQ(self->params.len, 2 + 256 + 2 + 1 + 2 + 256u);
    const uint8_t *b = self->params.p;
    EXPECT_EQ(b[0] << 8 | b[1], 256);
    EXPECT_MEM_EQ(b + 2, p, 256);
    EXPECT_EQ(b[258] << 8 | b[259], 1);
    EXPECT_EQ(b[260], 2);
    EXPECT_EQ(b[261] << 8 | b[262], 256);
    nk_hs_free(&self->cli);
    conn_init(_metadata, &self->cli, offered, 2);
    ASSERT_EQ(client_reads(self, b, self->params.len, &peer), OK);
    EXPECT_EQ(self->cli.group, NK_GROUP_FFDHE2048);
    EXPECT_EQ(nk_rd_left(&peer), 256u);
    ASSERT_EQ(nk_tls12_kx_client_secret(&self->cli, peer), OK);
    EXPECT_EQ(self->cli.hs->kex_pub_len, 256u);
    EXPECT_GE(self->cli.hs->pms_len, 200u);
}

/* RFC 7919 §3: a group the client did not offer, a prime changed by one
 * bit, another generator: insufficient_security. */
TEST_F(kx, client_refuses_groups_it_did_not_offer)
{
    static const uint16_t offered[] = { NK_GROUP_FFDHE3072 };
    struct nk_rd peer;
    nk_hs_free(&self->cli);
    conn_init(_metadata, &self->cli, offered, 1);
    server_params(_metadata, self, NK_GROUP_FFDHE2048);
    EXPECT_EQ(client_reads(self, self->params.p, self->params.len, &peer), ERR_SSL_INSUFFICIENT_SECURITY);
    /* Having offered none, the named groups only. */
    nk_hs_free(&self->cli);
    conn_init(_metadata, &self->cli, NULL, 0);
    ASSERT_EQ(client_reads(self, self->params.p, self->params.len, &peer), OK);
    self->params.p[2 + 100] ^= 0x10;
    EXPECT_EQ(client_reads(self, self->params.p, self->params.len, &peer), ERR_SSL_INSUFFICIENT_SECURITY);
    self->params.p[2 + 100] ^= 0x10;
    self->params.p[260] = 5;
    EXPECT_EQ(client_reads(self, self->params.p, self->params.len, &peer), ERR_SSL_INSUFFICIENT_SECURITY);
}

/* RFC 7919 §3: "the client MUST verify that 1 < dh_Ys < dh_p - 1 ...
 * handshake_failure(40)": 1, p-1, and a value longer than p. */
TEST_F(kx, client_refuses_server_value_out_of_range)
{
    struct nk_rd peer;
    server_params(_metadata, self, NK_GROUP_FFDHE2048);
    uint8_t *ys = self->params.p + 263, p[NK_MAX_KEX_PUB];
    memcpy(p, self->params.p + 2, 256);
    memset(ys, 0, 256);
    ys[255] = 1;
    ASSERT_EQ(client_reads(self, self->params.p, self->params.len, &peer), OK);
    EXPECT_EQ(nk_tls12_kx_client_secret(&self->cli, peer), ERR_SSL_BAD_DH_VALUE);
    memcpy(ys, p, 256);
    ys[255] -= 1;
    EVP_PKEY_free(self->cli.hs->kex_priv);
    self->cli.hs->kex_priv = NULL;
    ASSERT_EQ(client_reads(self, self->params.p, self->params.len, &peer), OK);
    EXPECT_EQ(nk_tls12_kx_client_secret(&self->cli, peer), ERR_SSL_BAD_DH_VALUE);
    /* dh_Ys of 257 bytes. */
    struct nk_buf longer = { 0 };
    ASSERT_EQ(nk_buf_append(&longer, self->params.p, 261), OK);
    static const uint8_t len257[2] = { 0x01, 0x01 };
    ASSERT_EQ(nk_buf_append(&longer, len257, 2), OK);
    ASSERT_EQ(nk_buf_append(&longer, p, 1), OK);
    ASSERT_EQ(nk_buf_append(&longer, p, 256), OK);
    EXPECT_EQ(client_reads(self, longer.p, longer.len, &peer), ERR_SSL_BAD_DH_VALUE);
    nk_buf_free(&longer);
}

/* RFC 5246 §8.1.2: both sides strip Z's leading zero bytes; the padded Z of
 * TLS 1.3 (nk_kex_derive) starts with the zero they strip. About one key in
 * 256 gives such a Z: try client keys until one does. */
TEST_F(kx, premaster_leading_zeros_stripped)
{
    int found = 0;
    server_params(_metadata, self, NK_GROUP_FFDHE2048);
    const uint8_t *ys = self->params.p + 263;
    for (int tries = 0; tries < 4000 && !found; tries++) {
        struct nk_rd peer;
        EVP_PKEY_free(self->cli.hs->kex_priv);
        self->cli.hs->kex_priv = NULL;
        ASSERT_EQ(client_reads(self, self->params.p, self->params.len, &peer), OK);
        ASSERT_EQ(nk_tls12_kx_client_secret(&self->cli, peer), OK);
        uint8_t z[NK_MAX_KEX_SECRET];
        size_t zl;
        ASSERT_EQ(nk_kex_derive(NK_GROUP_FFDHE2048, self->cli.hs->kex_priv, ys, 256, z, &zl), OK);
        ASSERT_EQ(zl, 256u);
        size_t lead = 0;
        while (z[lead] == 0)
            lead++;
        ASSERT_EQ(self->cli.hs->pms_len, 256 - lead);
        ASSERT_MEM_EQ(self->cli.hs->pms, z + lead, 256 - lead);
        if (!lead)
            continue;
        found = 1;
        /* The server, from the client's ClientKeyExchange, gets the same. */
        uint8_t cke[2 + 256], pms[NK_MAX_KEX_SECRET];
        size_t pl;
        cke[0] = 1;
        cke[1] = 0;
        memcpy(cke + 2, self->cli.hs->kex_pub, 256);
        struct nk_rd r;
        nk_rd_init(&r, cke, sizeof cke);
        ASSERT_EQ(nk_tls12_kx_server_secret(&self->srv, &r, pms, &pl), OK);
        ASSERT_EQ(pl, 256 - lead);
        ASSERT_MEM_EQ(pms, self->cli.hs->pms, pl);
    }
    ASSERT_TRUE(found);
}

/* ---- RSA key transport ---- */

static EVP_PKEY *g_rsa;

static EVP_PKEY *rsa_key(void)
{
    if (!g_rsa)
        g_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    return g_rsa;
}

static size_t rsa_encrypt(EVP_PKEY *k, const uint8_t *pms, size_t n, uint8_t *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    size_t len = 512;
    int ok = ctx && EVP_PKEY_encrypt_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1
             && EVP_PKEY_encrypt(ctx, out, &len, pms, n) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? len : 0;
}

/* The DER of a self-signed certificate for k with this keyUsage. */
static int cert_der(EVP_PKEY *k, const char *ku, struct nk_der *out)
{
    X509 *x = X509_new();
    X509V3_CTX v3;
    X509_EXTENSION *e = NULL;
    unsigned char *der = NULL;
    int n = -1;
    if (x && X509_set_version(x, X509_VERSION_3) && X509_set_pubkey(x, k)
        && X509_gmtime_adj(X509_getm_notBefore(x), 0) && X509_gmtime_adj(X509_getm_notAfter(x), 3600)) {
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, ku);
        if (e && X509_add_ext(x, e, -1) && X509_sign(x, k, EVP_sha256()) > 0)
            n = i2d_X509(x, &der);
    }
    X509_EXTENSION_free(e);
    X509_free(x);
    if (n <= 0)
        return -1;
    out->p = malloc((size_t)n);
    if (!out->p) {
        OPENSSL_free(der);
        return -1;
    }
    memcpy(out->p, der, (size_t)n);
    out->len = (size_t)n;
    OPENSSL_free(der);
    return 0;
}

/* The client's hs holds one certificate (the leaf). */
static int client_leaf(struct nk_tls *cli, EVP_PKEY *k, const char *ku)
{
    struct nk_hs *hs = cli->hs;
    for (size_t i = 0; i < hs->peer_chain_len; i++)
        free(hs->peer_chain[i].p);
    free(hs->peer_chain);
    hs->peer_chain_len = 0;
    if (!(hs->peer_chain = calloc(1, sizeof *hs->peer_chain)) || cert_der(k, ku, &hs->peer_chain[0]) < 0)
        return -1;
    hs->peer_chain_len = 1;
    return 0;
}

/* RFC 5246 §7.4.2: a leaf whose keyUsage lacks keyEncipherment may not take
 * the premaster secret: ERR_CERT_KEY_USAGE, nothing encrypted. */
TEST_F(kx, rsa_key_usage)
{
    EVP_PKEY *k = rsa_key();
    ASSERT_NOT_NULL(k);
    self->cli.suite = nk_suite12_by_id(0x009c);
    self->cli.hs->peer_pub = k;
    EVP_PKEY_up_ref(k);
    ASSERT_EQ(client_leaf(&self->cli, k, "critical,digitalSignature"), 0);
    EXPECT_EQ(nk_tls12_kx_client_rsa(&self->cli), ERR_CERT_KEY_USAGE);
    EXPECT_EQ(self->cli.hs->kex_pub_len, 0u);
    ASSERT_EQ(client_leaf(&self->cli, k, "critical,keyEncipherment"), 0);
    EXPECT_EQ(nk_tls12_kx_client_rsa(&self->cli), OK);
    EXPECT_EQ(self->cli.hs->kex_pub_len, 256u);
}

/* The server's answer to a ClientKeyExchange carrying enc (2-byte length). */
static MSTATUS server_decrypts(struct nk_tls *srv, const uint8_t *enc, size_t n, uint8_t *pms, size_t *pl)
{
    uint8_t body[2 + 512];
    body[0] = (uint8_t)(n >> 8);
    body[1] = (uint8_t)n;
    memcpy(body + 2, enc, n);
    struct nk_rd r;
    nk_rd_init(&r, body, 2 + n);
    return nk_tls12_kx_server_secret(srv, &r, pms, pl);
}

TEST_F(kx, rsa_premaster_round_trip_and_failures)
{
    EVP_PKEY *k = rsa_key();
    ASSERT_NOT_NULL(k);
    struct nk_identity id = { .key = k, .type = NK_KEY_RSA };
    self->srv.suite = self->cli.suite = nk_suite12_by_id(0x009c);
    self->srv.hs->identity = &id;
    self->srv.hs->client_version = 0x0303;
    self->cli.hs->peer_pub = k;
    EVP_PKEY_up_ref(k);
    ASSERT_EQ(client_leaf(&self->cli, k, "critical,digitalSignature,keyEncipherment"), 0);
    uint8_t pms[NK_MAX_KEX_SECRET], enc[512];
    size_t pl = 0;
    /* Our client's ClientKeyExchange: 0x0303 then 46 random bytes, the
     * length the key's. */
    ASSERT_EQ(nk_tls12_kx_client_rsa(&self->cli), OK);
    ASSERT_EQ(self->cli.hs->pms_len, 48u);
    EXPECT_EQ(self->cli.hs->pms[0], 3);
    EXPECT_EQ(self->cli.hs->pms[1], 3);
    ASSERT_EQ(self->cli.hs->kex_pub_len, 256u);
    ASSERT_EQ(server_decrypts(&self->srv, self->cli.hs->kex_pub, 256, pms, &pl), OK);
    ASSERT_EQ(pl, 48u);
    ASSERT_MEM_EQ(pms, self->cli.hs->pms, 48);
    /* client_version other than the ClientHello's: 48 other bytes, no error. */
    uint8_t mine[48];
    memcpy(mine, self->cli.hs->pms, 48);
    mine[1] = 2;
    size_t n = rsa_encrypt(k, mine, 48, enc);
    ASSERT_EQ(n, 256u);
    ASSERT_EQ(server_decrypts(&self->srv, enc, n, pms, &pl), OK);
    ASSERT_EQ(pl, 48u);
    EXPECT_NE(memcmp(pms, mine, 48), 0);
    /* A premaster of the wrong length, and a ciphertext that is no PKCS#1
     * padding at all: the same, 48 bytes that are not it. */
    n = rsa_encrypt(k, mine, 47, enc);
    ASSERT_EQ(server_decrypts(&self->srv, enc, n, pms, &pl), OK);
    ASSERT_EQ(pl, 48u);
    memset(enc, 0x42, 256);
    enc[0] = 0;
    ASSERT_EQ(server_decrypts(&self->srv, enc, 256, pms, &pl), OK);
    ASSERT_EQ(pl, 48u);
    /* Two tries of the same garbage: random each time (nothing to learn). */
    uint8_t first[48];
    memcpy(first, pms, 48);
    ASSERT_EQ(server_decrypts(&self->srv, enc, 256, pms, &pl), OK);
    EXPECT_NE(memcmp(first, pms, 48), 0);
    /* The right version again: accepted exactly. */
    memcpy(mine, self->cli.hs->pms, 48);
    n = rsa_encrypt(k, mine, 48, enc);
    ASSERT_EQ(server_decrypts(&self->srv, enc, n, pms, &pl), OK);
    ASSERT_MEM_EQ(pms, mine, 48);
    /* Not the key's length: decode_error. */
    EXPECT_EQ(server_decrypts(&self->srv, enc, 255, pms, &pl), ERR_SSL_PROTOCOL);
    EXPECT_EQ(server_decrypts(&self->srv, enc, 0, pms, &pl), ERR_SSL_PROTOCOL);
    self->srv.hs->identity = NULL;
}

TEST_HARNESS_MAIN
