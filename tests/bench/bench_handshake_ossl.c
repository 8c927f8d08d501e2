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
#include "bench_ossl.h"

static SSL_CTX *make_ctx(const struct bc_opts *o, int server, int key, int tls)
{
    char path[600];
    int v = tls == BC_TLS12 ? TLS1_2_VERSION : TLS1_3_VERSION;
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, v) != 1 || SSL_CTX_set_max_proto_version(ctx, v) != 1
        || SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") != 1
        || SSL_CTX_set_cipher_list(ctx, bc_suite12_name[key]) != 1
        || SSL_CTX_set1_groups_list(ctx, tls == BC_TLS12 ? "X25519:P-256" : "X25519") != 1)
        bo_die("SSL_CTX setup");
    if (server) {
        bc_path(o, bc_cert_file[key], path, sizeof path);
        if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1)
            bo_die(path);
        bc_path(o, bc_key_file[key], path, sizeof path);
        if (SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) != 1)
            bo_die(path);
        /* nktls sends one stateless ticket and keeps no session cache. */
        SSL_CTX_set_num_tickets(ctx, 1);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    } else {
        bc_path(o, "ca.pem", path, sizeof path);
        if (SSL_CTX_load_verify_locations(ctx, path, NULL) != 1)
            bo_die(path);
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

static void new_ssl(struct run *r, int who, struct bo_conn *c)
{
    bc_begin(&r->side[who]);
    bo_open(r->ctx[who], who, c);
    if (who == BO_CLI && r->resume && r->sess && SSL_set_session(c->ssl, r->sess) != 1)
        bo_die("SSL_set_session");
    bc_end(&r->side[who]);
}

/* n (at most BC_BATCH) handshakes side by side, each side's steps for all of
 * them in a row, as bench_handshake does. */
static void handshakes(void *arg, long n)
{
    struct run *r = arg;
    struct bo_conn s[BC_BATCH], c[BC_BATCH];
    int offered = r->resume && r->sess;
    for (long i = 0; i < n; i++) {
        new_ssl(r, BO_SRV, &s[i]);
        new_ssl(r, BO_CLI, &c[i]);
        c[i].done = bo_step(&r->side[BO_CLI], c[i].ssl, BO_CLI, 1);
    }
    bo_exchange(r->side, s, c, n, 1);
    for (long i = 0; i < n; i++)
        if (offered && !(SSL_session_reused(s[i].ssl) && SSL_session_reused(c[i].ssl)))
            bo_die("resumption");
    if (r->resume) {
        SSL_SESSION *k = SSL_get1_session(c[n - 1].ssl);
        if (!k || !SSL_SESSION_is_resumable(k))
            bo_die("no ticket");
        SSL_SESSION_free(r->sess);
        r->sess = k;
    }
    for (long i = 0; i < n; i++)
        bo_close(&r->side[BO_SRV], &s[i]);
    for (long i = 0; i < n; i++)
        bo_close(&r->side[BO_CLI], &c[i]);
}

static void measure(const struct bc_opts *o, int key, int mode, int tls, const struct bc_floor *fl,
                    double clock_ns)
{
    struct run r = { .resume = mode == BC_RESUME };
    r.ctx[BO_SRV] = make_ctx(o, 1, key, tls);
    r.ctx[BO_CLI] = make_ctx(o, 0, key, tls);
    handshakes(&r, 1);
    bc_batches(handshakes, &r, o->warmup);
    double best[2];
    long n = bc_rounds(handshakes, &r, r.side, o->count, clock_ns, best);
    bc_report("openssl", key, mode, tls, n, best[BO_SRV], best[BO_CLI], fl, clock_ns);
    SSL_SESSION_free(r.sess);
    SSL_CTX_free(r.ctx[BO_SRV]);
    SSL_CTX_free(r.ctx[BO_CLI]);
}

int main(int argc, char **argv)
{
    struct bc_opts o;
    struct bc_floor fl;
    bo_prog = argv[0];
    bc_parse(argc, argv, &o);
    bc_floor_measure(&o, &fl);
    double clock_ns = bc_clock_cost_ns();
    bc_each_run(&o, measure, &fl, clock_ns);
    bc_cleanup(&o);
    return 0;
}
