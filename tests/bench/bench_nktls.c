/* bench_nktls.c — the nktls side of the handshake benchmarks' harness
 * (bench_nktls.h). */
#include <stdio.h>
#include <stdlib.h>
#include "bench_nktls.h"
#include "crypto/ca_mgmt.h"
#include "engine/conn.h"
#include "ssl/ssl.h"

const char *bn_prog = "bench";

void bn_fail(const char *what, MSTATUS st)
{
    fprintf(stderr, "%s: %s: %s (%d)\n", bn_prog, what, (const char *)MERROR_lookUpErrorCode(st), (int)st);
    exit(1);
}

static void read_file(const char *path, ubyte **buf, ubyte4 *len)
{
    MSTATUS st = MOCANA_readFile(path, buf, len);
    if (st != OK)
        bn_fail(path, st);
}

certStorePtr bn_server_store(const struct bc_opts *o, int key)
{
    char path[600];
    ubyte *file = NULL, *blob = NULL;
    ubyte4 flen = 0, blen = 0, n = 0;
    SizedBuffer *certs = NULL;
    certStorePtr s = NULL;
    MSTATUS st = CERT_STORE_createStore(&s);
    if (st != OK)
        bn_fail("CERT_STORE_createStore", st);
    bc_path(o, bc_cert_file[key], path, sizeof path);
    read_file(path, &file, &flen);
    if ((st = CA_MGMT_decodeCertificateChain(file, flen, &certs, &n)) != OK)
        bn_fail(path, st);
    MOCANA_freeReadFile(&file);
    bc_path(o, bc_key_file[key], path, sizeof path);
    read_file(path, &file, &flen);
    if ((st = CA_MGMT_convertKeyPEM(file, flen, &blob, &blen)) != OK)
        bn_fail(path, st);
    MOCANA_freeReadFile(&file);
    if ((st = CERT_STORE_addIdentityWithCertificateChain(s, certs, n, blob, blen)) != OK)
        bn_fail("CERT_STORE_addIdentityWithCertificateChain", st);
    CA_MGMT_freeKeyBlob(&blob);
    CA_MGMT_freeCertificateChain(certs, n);
    return s;
}

certStorePtr bn_client_store(const struct bc_opts *o)
{
    char path[600];
    ubyte *file = NULL;
    ubyte4 flen = 0, n = 0;
    SizedBuffer *certs = NULL;
    certStorePtr s = NULL;
    MSTATUS st = CERT_STORE_createStore(&s);
    if (st != OK)
        bn_fail("CERT_STORE_createStore", st);
    bc_path(o, "ca.pem", path, sizeof path);
    read_file(path, &file, &flen);
    if ((st = CA_MGMT_decodeCertificateChain(file, flen, &certs, &n)) != OK)
        bn_fail(path, st);
    MOCANA_freeReadFile(&file);
    for (ubyte4 i = 0; i < n; i++)
        if ((st = CERT_STORE_addTrustPoint(s, certs[i].data, certs[i].length)) != OK)
            bn_fail("CERT_STORE_addTrustPoint", st);
    CA_MGMT_freeCertificateChain(certs, n);
    return s;
}

void bn_exchange(int (*move)(void *arg, struct nk_conn *from, struct nk_conn *to), void *arg,
                 struct nk_conn *const *s, struct nk_conn *const *c, long n)
{
    for (int moved = 1; moved;) {
        moved = 0;
        for (long i = 0; i < n; i++)
            moved |= move(arg, c[i], s[i]);
        for (long i = 0; i < n; i++)
            moved |= move(arg, s[i], c[i]);
    }
    for (long i = 0; i < n; i++)
        if (s[i]->status != SSL_CONNECTION_OPEN || c[i]->status != SSL_CONNECTION_OPEN)
            bn_fail("handshake did not complete", s[i]->err < 0 ? s[i]->err : c[i]->err);
}

void bn_close(struct bc_side *side, sbyte4 h)
{
    bc_begin(side);
    (void)SSL_closeConnection(h);
    bc_end(side);
}
