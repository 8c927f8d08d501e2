/* bench_handshake_ossl.c — bench_handshake's measurement over OpenSSL's libssl,
 * for the ratio against a peer measured in the same run on the same machine.
 *
 *   bench_handshake_ossl [--count N] [--key p256|rsa2048|all] [--mode full|resume|all]
 *                        [--tls 1.3|1.2|all] [--dir CERTDIR] [--warmup N]
 *
 * The same handshake as bench_handshake: client and server in one thread,
 * BC_BATCH handshakes side by side,
 * memory BIOs instead of sockets, X25519, TLS_AES_128_GCM_SHA256 (TLS 1.2: the
 * ECDHE AES-128-GCM suite of the key, extended master secret),
 * the same certificate files, the client verifying the chain for "localhost",
 * one ticket per handshake (stateless, no server session cache). Each side's
 * calls (SSL_new .. SSL_free, BIOs included) are bracketed with the thread CPU
 * clock. This program links libssl and not nktls: both export SSL_* names. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "bench_common.h"

enum { CLI = 0, SRV = 1 };

static void die_ssl(const char *what)
{
    fprintf(stderr, "bench_handshake_ossl: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static SSL_CTX *make_ctx(const struct bc_opts *o, int server, int key, int tls)
{
    char path[600];
    int v = tls == BC_TLS12 ? TLS1_2_VERSION : TLS1_3_VERSION;
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, v) != 1 || SSL_CTX_set_max_proto_version(ctx, v) != 1
        || SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") != 1
        || SSL_CTX_set_cipher_list(ctx, bc_suite12_name[key]) != 1
        || SSL_CTX_set1_groups_list(ctx, tls == BC_TLS12 ? "X25519:P-256" : "X25519") != 1)
        die_ssl("SSL_CTX setup");
    if (server) {
        bc_path(o, bc_cert_file[key], path, sizeof path);
        if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1)
            die_ssl(path);
        bc_path(o, bc_key_file[key], path, sizeof path);
        if (SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) != 1)
            die_ssl(path);
        /* nktls sends one stateless ticket and keeps no session cache. */
        SSL_CTX_set_num_tickets(ctx, 1);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    } else {
        bc_path(o, "ca.pem", path, sizeof path);
        if (SSL_CTX_load_verify_locations(ctx, path, NULL) != 1)
            die_ssl(path);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    }
    return ctx;
}

struct run {
    SSL_CTX *ctx[2];
    int resume;
    SSL_SESSION *sess;          /* the client's last ticket */
    struct bc_side side[2];
};

/* Run one side's handshake step; 1 when that side is done. */
static int step(struct run *r, SSL *ssl, int who)
{
    bc_begin(&r->side[who]);
    int rc = SSL_do_handshake(ssl);
    int err = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, rc);
    if (rc == 1 && who == CLI) {
        /* The ticket comes after the handshake: read it. */
        char b[1];
        rc = SSL_read(ssl, b, 1);
        err = SSL_get_error(ssl, rc);
        if (err == SSL_ERROR_WANT_READ)
            err = SSL_ERROR_NONE;
        rc = 1;
    }
    bc_end(&r->side[who]);
    if (rc != 1 && err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
        die_ssl(who == SRV ? "server handshake" : "client handshake");
    return rc == 1;
}

/* Move bytes from one side's write BIO to the other's read BIO. */
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

static SSL *new_ssl(struct run *r, int who, BIO **in, BIO **out)
{
    bc_begin(&r->side[who]);
    SSL *ssl = SSL_new(r->ctx[who]);
    *in = BIO_new(BIO_s_mem());
    *out = BIO_new(BIO_s_mem());
    if (!ssl || !*in || !*out)
        die_ssl("SSL_new");
    BIO_up_ref(*in);
    BIO_up_ref(*out);
    SSL_set_bio(ssl, *in, *out);   /* the SSL holds one reference, we the other */
    if (who == SRV) {
        SSL_set_accept_state(ssl);
    } else {
        SSL_set_connect_state(ssl);
        if (SSL_set1_host(ssl, "localhost") != 1 || SSL_set_tlsext_host_name(ssl, "localhost") != 1)
            die_ssl("SSL_set1_host");
        if (r->resume && r->sess && SSL_set_session(ssl, r->sess) != 1)
            die_ssl("SSL_set_session");
    }
    bc_end(&r->side[who]);
    return ssl;
}

static void free_ssl(struct run *r, int who, SSL *ssl, BIO *in, BIO *out);

/* One connection of a batch: its SSL, its two memory BIOs (in, out). */
struct side {
    SSL *ssl;
    BIO *in, *out;
    int done;
};

/* n (at most BC_BATCH) handshakes side by side, each side's steps for all of
 * them in a row, as bench_handshake does. */
static void handshakes(struct run *r, long n)
{
    struct side s[BC_BATCH], c[BC_BATCH];
    int offered = r->resume && r->sess;
    for (long i = 0; i < n; i++) {
        s[i].ssl = new_ssl(r, SRV, &s[i].in, &s[i].out);
        c[i].ssl = new_ssl(r, CLI, &c[i].in, &c[i].out);
        s[i].done = 0;
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
    for (long i = 0; i < n; i++) {
        if (!s[i].done || !c[i].done)
            die_ssl("handshake did not complete");
        if (offered && !(SSL_session_reused(s[i].ssl) && SSL_session_reused(c[i].ssl)))
            die_ssl("resumption");
    }
    if (r->resume) {
        SSL_SESSION *k = SSL_get1_session(c[n - 1].ssl);
        if (!k || !SSL_SESSION_is_resumable(k))
            die_ssl("no ticket");
        SSL_SESSION_free(r->sess);
        r->sess = k;
    }
    for (long i = 0; i < n; i++)
        free_ssl(r, SRV, s[i].ssl, s[i].in, s[i].out);
    for (long i = 0; i < n; i++)
        free_ssl(r, CLI, c[i].ssl, c[i].in, c[i].out);
}

/* n handshakes in batches. */
static void run_many(void *arg, long n)
{
    struct run *r = arg;
    for (long done = 0; done < n; done += BC_BATCH)
        handshakes(r, n - done < BC_BATCH ? n - done : BC_BATCH);
}

static void free_ssl(struct run *r, int who, SSL *ssl, BIO *in, BIO *out)
{
    bc_begin(&r->side[who]);
    /* Freed without a shutdown, a client's session would be marked not resumable. */
    SSL_shutdown(ssl);
    SSL_free(ssl);
    BIO_free(in);
    BIO_free(out);
    bc_end(&r->side[who]);
}

static void measure(const struct bc_opts *o, int key, int mode, int tls, const struct bc_floor *fl,
                    double clock_ns)
{
    struct run r = { .resume = mode == BC_RESUME };
    r.ctx[SRV] = make_ctx(o, 1, key, tls);
    r.ctx[CLI] = make_ctx(o, 0, key, tls);
    handshakes(&r, 1);
    run_many(&r, o->warmup);
    double best[2];
    long n = bc_rounds(run_many, &r, r.side, o->count, clock_ns, best);
    bc_report("openssl", key, mode, tls, n, best[SRV], best[CLI], fl, clock_ns);
    SSL_SESSION_free(r.sess);
    SSL_CTX_free(r.ctx[SRV]);
    SSL_CTX_free(r.ctx[CLI]);
}

int main(int argc, char **argv)
{
    struct bc_opts o;
    struct bc_floor fl;
    bc_parse(argc, argv, &o);
    bc_floor_measure(&o, &fl);
    double clock_ns = bc_clock_cost_ns();
    for (int t = 0; t < BC_NTLS; t++)
        for (int k = 0; k < BC_NKEYS; k++)
            for (int m = 0; m < BC_NMODES; m++)
                if (bc_wanted(&o, k, m, t))
                    measure(&o, k, m, t, &fl, clock_ns);
    bc_cleanup(&o);
    return 0;
}
