/* bench_ossl.c — the libssl side of the handshake benchmarks' harness
 * (bench_ossl.h). */
#include <stdio.h>
#include <stdlib.h>
#include <openssl/err.h>
#include "bench_ossl.h"

const char *bo_prog = "bench";

void bo_die(const char *what)
{
    fprintf(stderr, "%s: %s failed\n", bo_prog, what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

void bo_open(SSL_CTX *ctx, int who, struct bo_conn *c)
{
    c->ssl = SSL_new(ctx);
    c->in = BIO_new(BIO_s_mem());
    c->out = BIO_new(BIO_s_mem());
    c->done = 0;
    if (!c->ssl || !c->in || !c->out)
        bo_die("SSL_new");
    BIO_up_ref(c->in);
    BIO_up_ref(c->out);
    SSL_set_bio(c->ssl, c->in, c->out);   /* the SSL holds one reference, we the other */
    if (who == BO_SRV) {
        SSL_set_accept_state(c->ssl);
    } else {
        SSL_set_connect_state(c->ssl);
        if (SSL_set1_host(c->ssl, "localhost") != 1 || SSL_set_tlsext_host_name(c->ssl, "localhost") != 1)
            bo_die("SSL_set1_host");
    }
}

void bo_close(struct bc_side *side, struct bo_conn *c)
{
    bc_begin(side);
    /* Freed without a shutdown, a client's session would be marked not resumable. */
    SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
    BIO_free(c->in);
    BIO_free(c->out);
    bc_end(side);
}

int bo_step(struct bc_side *side, SSL *ssl, int who, int read_after)
{
    bc_begin(side);
    int rc = SSL_do_handshake(ssl);
    int err = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, rc);
    if (rc == 1 && who == BO_CLI && read_after) {
        /* The ticket comes after the handshake: read it. */
        char b[1];
        rc = SSL_read(ssl, b, 1);
        err = SSL_get_error(ssl, rc);
        if (err == SSL_ERROR_WANT_READ)
            err = SSL_ERROR_NONE;
        rc = 1;
    }
    bc_end(side);
    if (rc != 1 && err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
        bo_die(who == BO_SRV ? "server handshake" : "client handshake");
    return rc == 1;
}

/* Move the bytes of one side's write BIO to the other's read BIO. */
static int move(BIO *from, BIO *to)
{
    char buf[16384];
    int moved = 0, n;
    while ((n = BIO_read(from, buf, sizeof buf)) > 0) {
        if (BIO_write(to, buf, n) != n)
            bo_die("BIO_write");
        moved = 1;
    }
    return moved;
}

void bo_exchange(struct bc_side side[2], struct bo_conn *s, struct bo_conn *c, long n, int read_after)
{
    for (int moved = 1; moved;) {
        moved = 0;
        for (long i = 0; i < n; i++)
            if (move(c[i].out, s[i].in)) {
                s[i].done = bo_step(&side[BO_SRV], s[i].ssl, BO_SRV, read_after);
                moved = 1;
            }
        for (long i = 0; i < n; i++)
            if (move(s[i].out, c[i].in)) {
                c[i].done = bo_step(&side[BO_CLI], c[i].ssl, BO_CLI, read_after);
                moved = 1;
            }
    }
    for (long i = 0; i < n; i++)
        if (!s[i].done || !c[i].done)
            bo_die("handshake did not complete");
}
