/* bench_ossl.h — what bench_handshake_ossl.c and bench_dtls_ossl.c share
 * over OpenSSL's libssl (bench_ossl.c): connections over memory BIOs, a
 * side's handshake step under its clock, and the exchange that moves the
 * bytes of a batch until neither side has more to say. */
#ifndef BENCH_OSSL_H
#define BENCH_OSSL_H

#include <openssl/ssl.h>
#include "bench_common.h"

enum { BO_CLI = 0, BO_SRV = 1 };

/* Name of the program in error messages (argv[0]). */
extern const char *bo_prog;

/* One connection of a batch: its SSL, its two memory BIOs (in, out). */
struct bo_conn {
    SSL *ssl;
    BIO *in, *out;
    int done;
};

void bo_die(const char *what) __attribute__((noreturn));
/* A new SSL of ctx over two memory BIOs, in the accept (BO_SRV) or the
 * connect state (BO_CLI: for "localhost", checked). The caller's clock. */
void bo_open(SSL_CTX *ctx, int who, struct bo_conn *c);
/* close_notify, then free it all, under side's clock. */
void bo_close(struct bc_side *side, struct bo_conn *c);
/* Run one side's handshake step under its clock; 1 when that side is done.
 * read_after: once done, the client reads what may follow (a ticket). */
int bo_step(struct bc_side *side, SSL *ssl, int who, int read_after);
/* The rest of n handshakes whose clients took their first step: each
 * side's steps for all of them in a row, until no bytes move; every one
 * must be done. */
void bo_exchange(struct bc_side side[2], struct bo_conn *s, struct bo_conn *c, long n, int read_after);

#endif
