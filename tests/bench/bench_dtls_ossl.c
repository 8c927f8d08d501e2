/* bench_dtls_ossl.c — bench_dtls's measurement over OpenSSL's libssl, for the
 * ratio against a peer measured in the same run on the same machine.
 *
 *   bench_dtls_ossl [--count N] [--dir CERTDIR] [--warmup N] [--no-floor]
 *
 * The same handshake as bench_dtls: DTLS 1.2, client and server in one
 * thread, BC_BATCH handshakes side by side, memory BIOs instead of sockets
 * (each holds whole records: a DTLS reader walks records, not datagrams), a
 * 1200-byte MTU, the cookie exchange (SSL_OP_COOKIE_EXCHANGE; the cookie
 * callbacks make and check an HMAC-SHA256 over the client's address under a
 * per-minute secret kept, one HMAC per cookie as bench_dtls's server
 * computes), X25519 (the client also lists P-256), an ECDSA P-256 SHA-256
 * signature (both checked), ECDHE-ECDSA-AES128-GCM-SHA256 with the P-256
 * certificate, extended master secret, no ticket (the nktls DTLS client asks
 * for none), the server keeping each session in its cache for resumption by
 * id (libssl's default, as nktls's server does by default), the client
 * verifying the chain for "localhost". Each side's
 * calls (SSL_new .. SSL_free, BIOs included) are bracketed with the thread
 * CPU clock. This program links libssl and not nktls: both export SSL_*. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include "bench_ossl.h"

/* ---- cookies: HMAC-SHA256(HMAC-SHA256(key, minute), client address) ----
 * As bench_dtls's server makes them: the secrets of the last two minutes
 * kept (here as HMAC contexts keyed with them, the cheapest way libcrypto
 * has to MAC again under one key), one HMAC per cookie made or checked. */

static unsigned char g_cookie_key[32];
static const unsigned char g_peer[16] = { 2, 0, 0x13, 0x88, 127, 0, 0, 1 };
static unsigned long g_made, g_checked;
static struct {
    time_t minute;
    EVP_MAC_CTX *mac;   /* keyed with the minute's secret; NULL: none yet */
} g_win[2];

/* The HMAC context of a minute's secret: kept, or made in the place of the
 * older of the two. */
static EVP_MAC_CTX *window_mac(time_t minute)
{
    for (int i = 0; i < 2; i++)
        if (g_win[i].mac && g_win[i].minute == minute)
            return g_win[i].mac;
    int i = !g_win[0].mac || (g_win[1].mac && g_win[0].minute < g_win[1].minute) ? 0 : 1;
    unsigned char win[8], secret[32];
    unsigned int n = 0;
    for (int b = 0; b < 8; b++)
        win[b] = (unsigned char)((unsigned long long)minute >> (56 - 8 * b));
    if (!HMAC(EVP_sha256(), g_cookie_key, sizeof g_cookie_key, win, sizeof win, secret, &n))
        return NULL;
    OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0), OSSL_PARAM_construct_end() };
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *mac = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
    EVP_MAC_free(hmac);
    if (!mac || EVP_MAC_init(mac, secret, sizeof secret, params) != 1) {
        EVP_MAC_CTX_free(mac);
        return NULL;
    }
    EVP_MAC_CTX_free(g_win[i].mac);
    g_win[i].mac = mac;
    g_win[i].minute = minute;
    return mac;
}

static int make_cookie(time_t minute, unsigned char out[32])
{
    EVP_MAC_CTX *keyed = window_mac(minute), *mac = keyed ? EVP_MAC_CTX_dup(keyed) : NULL;
    size_t n = 0;
    int ok = mac && EVP_MAC_update(mac, g_peer, sizeof g_peer) == 1 && EVP_MAC_final(mac, out, &n, 32) == 1;
    EVP_MAC_CTX_free(mac);
    return ok;
}

static int gen_cookie(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
    (void)ssl;
    g_made++;
    *len = 32;
    return make_cookie(time(NULL) / 60, cookie);
}

static int verify_cookie(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
    unsigned char want[32];
    time_t minute = time(NULL) / 60;
    (void)ssl;
    g_checked++;
    if (len != sizeof want)
        return 0;
    for (time_t w = minute; w >= minute - 1; w--)
        if (make_cookie(w, want) && CRYPTO_memcmp(want, cookie, sizeof want) == 0)
            return 1;
    return 0;
}

static SSL_CTX *make_ctx(const struct bc_opts *o, int server)
{
    char path[600];
    SSL_CTX *ctx = SSL_CTX_new(server ? DTLS_server_method() : DTLS_client_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1
        || SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1
        || SSL_CTX_set_cipher_list(ctx, bc_suite12_name[BC_P256]) != 1
        || SSL_CTX_set1_groups_list(ctx, "X25519:P-256") != 1)
        bo_die("SSL_CTX setup");
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_QUERY_MTU);
    SSL_CTX_set_session_cache_mode(ctx, server ? SSL_SESS_CACHE_SERVER : SSL_SESS_CACHE_OFF);
    if (server) {
        bc_path(o, bc_cert_file[BC_P256], path, sizeof path);
        if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1)
            bo_die(path);
        bc_path(o, bc_key_file[BC_P256], path, sizeof path);
        if (SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) != 1)
            bo_die(path);
        SSL_CTX_set_options(ctx, SSL_OP_COOKIE_EXCHANGE);
        SSL_CTX_set_cookie_generate_cb(ctx, gen_cookie);
        SSL_CTX_set_cookie_verify_cb(ctx, verify_cookie);
    } else {
        bc_path(o, "ca.pem", path, sizeof path);
        if (SSL_CTX_load_verify_locations(ctx, path, NULL) != 1)
            bo_die(path);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
}

struct run {
    SSL_CTX *ctx[2];
    struct bc_side side[2];
};

static void new_ssl(struct run *r, int who, struct bo_conn *c)
{
    bc_begin(&r->side[who]);
    bo_open(r->ctx[who], who, c);
    if (SSL_set_mtu(c->ssl, 1200) != 1200)   /* it returns the MTU set */
        bo_die("SSL_set_mtu");
    bc_end(&r->side[who]);
}

/* n (at most BC_BATCH) handshakes side by side, as bench_dtls does. */
static void handshakes(void *arg, long n)
{
    struct run *r = arg;
    struct bo_conn s[BC_BATCH], c[BC_BATCH];
    unsigned long made = g_made, checked = g_checked;
    for (long i = 0; i < n; i++) {
        new_ssl(r, BO_SRV, &s[i]);
        new_ssl(r, BO_CLI, &c[i]);
        c[i].done = bo_step(&r->side[BO_CLI], c[i].ssl, BO_CLI, 0);
    }
    bo_exchange(r->side, s, c, n, 0);
    for (long i = 0; i < n; i++) {
        int hash = 0, key = 0;
        if (SSL_get_negotiated_group(s[i].ssl) != NID_X25519 || SSL_get_peer_signature_nid(c[i].ssl, &hash) != 1
            || SSL_get_peer_signature_type_nid(c[i].ssl, &key) != 1 || hash != NID_sha256 || key != EVP_PKEY_EC)
            bo_die("X25519 and an ECDSA SHA-256 signature");
    }
    if (g_made - made != (unsigned long)n || g_checked - checked != (unsigned long)n)
        bo_die("one cookie exchange per handshake");
    for (long i = 0; i < n; i++)
        bo_close(&r->side[BO_SRV], &s[i]);
    for (long i = 0; i < n; i++)
        bo_close(&r->side[BO_CLI], &c[i]);
}

int main(int argc, char **argv)
{
    struct bc_opts o;
    struct bc_floor fl;
    bo_prog = argv[0];
    bc_parse(argc, argv, &o);
    o.keys[BC_RSA2048] = 0;
    if (RAND_bytes(g_cookie_key, sizeof g_cookie_key) != 1)
        bo_die("RAND_bytes");
    bc_floor_measure(&o, &fl);
    double clock_ns = bc_clock_cost_ns();
    struct run r = { .ctx = { make_ctx(&o, 0), make_ctx(&o, 1) } };
    handshakes(&r, 1);
    bc_batches(handshakes, &r, o.warmup);
    double best[2];
    long n = bc_rounds(handshakes, &r, r.side, o.count, clock_ns, best);
    bc_report_dtls("openssl", n, best[BO_SRV], best[BO_CLI], &fl, clock_ns);
    for (int i = 0; i < 2; i++)
        EVP_MAC_CTX_free(g_win[i].mac);
    SSL_CTX_free(r.ctx[BO_SRV]);
    SSL_CTX_free(r.ctx[BO_CLI]);
    bc_cleanup(&o);
    return 0;
}
