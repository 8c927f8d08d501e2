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
 * per-minute secret, two HMACs as bench_dtls's server computes), X25519 (the
 * client also lists P-256), ECDHE-ECDSA-AES128-GCM-SHA256 with the P-256
 * certificate, extended master secret, no ticket (the nktls DTLS client asks
 * for none), the client verifying the chain for "localhost". Each side's
 * calls (SSL_new .. SSL_free, BIOs included) are bracketed with the thread
 * CPU clock. This program links libssl and not nktls: both export SSL_*. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include "bench_common.h"

enum { CLI = 0, SRV = 1 };

static void die_ssl(const char *what)
{
    fprintf(stderr, "bench_dtls_ossl: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* ---- cookies: HMAC-SHA256(HMAC-SHA256(key, minute), client address) ---- */

static unsigned char g_cookie_key[32];
static const unsigned char g_peer[16] = { 2, 0, 0x13, 0x88, 127, 0, 0, 1 };
static unsigned long g_made, g_checked;

static int make_cookie(time_t minute, unsigned char out[32])
{
    unsigned char win[8], secret[32];
    unsigned int n = 0;
    for (int i = 0; i < 8; i++)
        win[i] = (unsigned char)((unsigned long long)minute >> (56 - 8 * i));
    if (!HMAC(EVP_sha256(), g_cookie_key, sizeof g_cookie_key, win, sizeof win, secret, &n))
        return 0;
    return HMAC(EVP_sha256(), secret, sizeof secret, g_peer, sizeof g_peer, out, &n) != NULL;
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
        die_ssl("SSL_CTX setup");
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_QUERY_MTU);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (server) {
        bc_path(o, bc_cert_file[BC_P256], path, sizeof path);
        if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1)
            die_ssl(path);
        bc_path(o, bc_key_file[BC_P256], path, sizeof path);
        if (SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) != 1)
            die_ssl(path);
        SSL_CTX_set_options(ctx, SSL_OP_COOKIE_EXCHANGE);
        SSL_CTX_set_cookie_generate_cb(ctx, gen_cookie);
        SSL_CTX_set_cookie_verify_cb(ctx, verify_cookie);
    } else {
        bc_path(o, "ca.pem", path, sizeof path);
        if (SSL_CTX_load_verify_locations(ctx, path, NULL) != 1)
            die_ssl(path);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
}

struct run {
    SSL_CTX *ctx[2];
    struct bc_side side[2];
};

/* One connection of a batch: its SSL, its two memory BIOs (in, out). */
struct side {
    SSL *ssl;
    BIO *in, *out;
    int done;
};

/* Run one side's handshake step; 1 when that side is done. */
static int step(struct run *r, SSL *ssl, int who)
{
    bc_begin(&r->side[who]);
    int rc = SSL_do_handshake(ssl);
    int err = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, rc);
    bc_end(&r->side[who]);
    if (rc != 1 && err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
        die_ssl(who == SRV ? "server handshake" : "client handshake");
    return rc == 1;
}

/* Move the bytes of one side's write BIO to the other's read BIO. */
static int move(BIO *from, BIO *to)
{
    char buf[16384];
    int moved = 0, n;
    while ((n = BIO_read(from, buf, sizeof buf)) > 0) {
        if (BIO_write(to, buf, n) != n)
            die_ssl("BIO_write");
        moved = 1;
    }
    return moved;
}

static void new_ssl(struct run *r, int who, struct side *s)
{
    bc_begin(&r->side[who]);
    s->ssl = SSL_new(r->ctx[who]);
    s->in = BIO_new(BIO_s_mem());
    s->out = BIO_new(BIO_s_mem());
    s->done = 0;
    if (!s->ssl || !s->in || !s->out)
        die_ssl("SSL_new");
    BIO_up_ref(s->in);
    BIO_up_ref(s->out);
    SSL_set_bio(s->ssl, s->in, s->out);   /* the SSL holds one reference, we the other */
    if (SSL_set_mtu(s->ssl, 1200) != 1200)   /* it returns the MTU set */
        die_ssl("SSL_set_mtu");
    if (who == SRV) {
        SSL_set_accept_state(s->ssl);
    } else {
        SSL_set_connect_state(s->ssl);
        if (SSL_set1_host(s->ssl, "localhost") != 1 || SSL_set_tlsext_host_name(s->ssl, "localhost") != 1)
            die_ssl("SSL_set1_host");
    }
    bc_end(&r->side[who]);
}

static void free_ssl(struct run *r, int who, struct side *s)
{
    bc_begin(&r->side[who]);
    SSL_shutdown(s->ssl);
    SSL_free(s->ssl);
    BIO_free(s->in);
    BIO_free(s->out);
    bc_end(&r->side[who]);
}

/* n (at most BC_BATCH) handshakes side by side, as bench_dtls does. */
static void handshakes(struct run *r, long n)
{
    struct side s[BC_BATCH], c[BC_BATCH];
    unsigned long made = g_made, checked = g_checked;
    for (long i = 0; i < n; i++) {
        new_ssl(r, SRV, &s[i]);
        new_ssl(r, CLI, &c[i]);
        c[i].done = step(r, c[i].ssl, CLI);
    }
    for (int moved = 1; moved;) {
        moved = 0;
        for (long i = 0; i < n; i++)
            if (move(c[i].out, s[i].in)) {
                s[i].done = step(r, s[i].ssl, SRV);
                moved = 1;
            }
        for (long i = 0; i < n; i++)
            if (move(s[i].out, c[i].in)) {
                c[i].done = step(r, c[i].ssl, CLI);
                moved = 1;
            }
    }
    for (long i = 0; i < n; i++)
        if (!s[i].done || !c[i].done)
            die_ssl("handshake did not complete");
    if (g_made - made != (unsigned long)n || g_checked - checked != (unsigned long)n)
        die_ssl("one cookie exchange per handshake");
    for (long i = 0; i < n; i++)
        free_ssl(r, SRV, &s[i]);
    for (long i = 0; i < n; i++)
        free_ssl(r, CLI, &c[i]);
}

static void run_many(void *arg, long n)
{
    struct run *r = arg;
    for (long done = 0; done < n; done += BC_BATCH)
        handshakes(r, n - done < BC_BATCH ? n - done : BC_BATCH);
}

int main(int argc, char **argv)
{
    struct bc_opts o;
    struct bc_floor fl;
    bc_parse(argc, argv, &o);
    o.keys[BC_RSA2048] = 0;
    if (RAND_bytes(g_cookie_key, sizeof g_cookie_key) != 1)
        die_ssl("RAND_bytes");
    bc_floor_measure(&o, &fl);
    double clock_ns = bc_clock_cost_ns();
    struct run r = { .ctx = { make_ctx(&o, 0), make_ctx(&o, 1) } };
    handshakes(&r, 1);
    run_many(&r, o.warmup);
    double best[2];
    long n = bc_rounds(run_many, &r, r.side, o.count, clock_ns, best);
    bc_report_dtls("openssl", n, best[SRV], best[CLI], &fl, clock_ns);
    SSL_CTX_free(r.ctx[SRV]);
    SSL_CTX_free(r.ctx[CLI]);
    bc_cleanup(&o);
    return 0;
}
