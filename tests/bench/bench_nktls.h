/* bench_nktls.h — what bench_handshake.c and bench_dtls.c share over nktls
 * (bench_nktls.c): failing with the error's name, the two certificate
 * stores (the server's identity, the client's trust in ca.pem), the
 * exchange of a batch's messages and the close. */
#ifndef BENCH_NKTLS_H
#define BENCH_NKTLS_H

#include "bench_common.h"
#include "common/mocana.h"
#include "crypto/cert_store.h"

/* Name of the program in error messages (argv[0]). */
extern const char *bn_prog;

void bn_fail(const char *what, MSTATUS st) __attribute__((noreturn));
/* A store holding the identity of key (BC_P256, BC_RSA2048): its chain
 * and private key. */
certStorePtr bn_server_store(const struct bc_opts *o, int key);
/* A store trusting the certificates of ca.pem. */
certStorePtr bn_client_store(const struct bc_opts *o);

struct nk_conn;
/* The steps of n handshakes, each side's for all of them in a row: move(arg,
 * from, to) hands to what from has ready (1 when it moved anything), until
 * nothing moves; every connection must then be open. */
void bn_exchange(int (*move)(void *arg, struct nk_conn *from, struct nk_conn *to), void *arg,
                 struct nk_conn *const *s, struct nk_conn *const *c, long n);
/* SSL_closeConnection under side's clock. */
void bn_close(struct bc_side *side, sbyte4 h);

#endif
