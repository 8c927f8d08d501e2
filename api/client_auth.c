/* api/client_auth.c — what a client authenticates with, per connection:
 * SSL_setClientCertAuthorityCallback (the authorities a server named),
 * SSL_setClientCertCallback (the application chooses an identity when asked),
 * SSL_populateMutualAuthCertStore (an identity set beforehand). Either gives
 * the connection a store of its own holding that one identity, used instead
 * of the store given to SSL_connect; the handshake's side is
 * handshake/client_auth.c. An identity given without a private key is signed
 * for by sslSettings.funcPtrMutualAuthCertificateVerify (a key in an HSM).
 *
 * What nktls decides, as no public source fixes it: the callbacks' buffers
 * stay the application's (nktls copies what it keeps before returning); the
 * CA certificates that go with an identity are sent after its chain, as the
 * issuers the server may need to build the path; the client certificate
 * callback declines by answering OK with no certificate (an empty
 * Certificate goes out). */
#include <stdlib.h>
#include <string.h>
#include <openssl/x509.h>
#include "api/api.h"
#include "handshake/client_auth.h"
#include "handshake/store.h"

#define GET(h, c) struct nk_conn *c; NK_TRY(nk_conn_get((h), &c))

/* The most CA certificates that may go with one identity. */
#define MAX_CA 8

static void release(struct certStore **s)
{
    (void)CERT_STORE_releaseStore(s);
}

/* A store with one identity: the chain, then the CA certificates; a key blob,
 * or none (key_len 0) for the application's own signer. */
static MSTATUS own_store(const SizedBuffer *certs, ubyte4 n, const ubyte *key, ubyte4 key_len,
                         const SizedBuffer *ca, ubyte4 n_ca, struct certStore **out)
{
    NK_CHECK(certs != NULL, ERR_NULL_POINTER);
    NK_CHECK(n > 0 && n_ca <= MAX_CA, ERR_INVALID_ARG);
    SizedBuffer *all = calloc(n + n_ca, sizeof *all);
    NK_CHECK(all != NULL, ERR_MEM_ALLOC_FAIL);
    memcpy(all, certs, n * sizeof *all);
    if (n_ca)
        memcpy(all + n, ca, n_ca * sizeof *all);
    struct certStore *s = NULL;
    MSTATUS st = CERT_STORE_createStore(&s);
    if (st == OK)
        st = key != NULL && key_len > 0 ? CERT_STORE_addIdentityWithCertificateChain(s, all, n + n_ca, key, key_len)
                                        : nk_store_add_external_identity(s, all, n + n_ca);
    free(all);
    if (st != OK)
        release(&s);
    *out = s;
    return st;
}

/* The connection's identity becomes s's (the last one set wins). */
static MSTATUS set_own(struct nk_tls *c, struct certStore *s)
{
    struct nk_cauth *a;
    MSTATUS st = nk_cauth_get(c, &a);
    if (st != OK) {
        release(&s);
        return st;
    }
    if (a->own)
        release(&a->own);
    a->own = s;
    a->release = release;
    return OK;
}

/* The callback's CA certificates: n DER certificates back to back. */
static MSTATUS split_cas(const ubyte *p, ubyte4 n, SizedBuffer *out)
{
    NK_CHECK(n <= MAX_CA, ERR_INVALID_ARG);
    NK_CHECK(n == 0 || p != NULL, ERR_NULL_POINTER);
    for (ubyte4 i = 0; i < n; i++) {
        const unsigned char *q = p;
        X509 *x = d2i_X509(NULL, &q, 1L << 24);
        NK_CHECK(x != NULL, ERR_CERT_DECODE);
        X509_free(x);
        out[i] = (SizedBuffer){ (ubyte4)(q - p), NULL, (ubyte *)p };
        p = q;
    }
    return OK;
}

/* On a CertificateRequest (nk_cauth_request): the application's answer. A
 * call to SSL_populateMutualAuthCertStore from inside the callback counts
 * as its answer too. */
static MSTATUS choose(struct nk_tls *c, int *declined)
{
    struct nk_cauth *a = c->cauth;
    const struct certStore *before = a->own;
    SizedBuffer *certs = NULL, cas[MAX_CA];
    ubyte4 n = 0, key_len = 0, n_ca = 0;
    ubyte *key = NULL, *ca = NULL;
    MSTATUS st = a->cert_cb(c->handle, &certs, &n, &key, &key_len, &ca, &n_ca);
    if (st < 0)
        return st;
    if (n == 0 || certs == NULL) {
        *declined = a->own == before;
        return OK;
    }
    NK_TRY(split_cas(ca, n_ca, cas));
    struct certStore *s;
    NK_TRY(own_store(certs, n, key, key_len, cas, n_ca, &s));
    return set_own(c, s);
}

NK_API MSTATUS SSL_setClientCertAuthorityCallback(sbyte4 h, funcPtrClientCertAuthorityCallback_t cb)
{
    GET(h, c);
    struct nk_cauth *a;
    if (cb == NULL && c->cauth == NULL)
        return OK;
    NK_TRY(nk_cauth_get(&c->tls, &a));
    a->ca_cb = cb;
    return OK;
}

NK_API MSTATUS SSL_setClientCertCallback(sbyte4 h, funcPtrClientCertCallback_t cb)
{
    GET(h, c);
    struct nk_cauth *a;
    if (cb == NULL && c->cauth == NULL)
        return OK;
    NK_TRY(nk_cauth_get(&c->tls, &a));
    a->cert_cb = cb;
    a->choose = choose;
    a->release = release;
    return OK;
}

/* The client's identity for this connection: certs (leaf first), the key
 * blob (CA_MGMT_convertKey*; NULL or 0 bytes: funcPtrMutualAuthCertificateVerify
 * signs), and the CA certificate that issued them (optional), sent after them. */
NK_API MSTATUS SSL_populateMutualAuthCertStore(sbyte4 h, const SizedBuffer *certs, ubyte4 n, ubyte *key,
                                               ubyte4 key_len, const ubyte *ca, ubyte4 ca_len)
{
    GET(h, c);
    NK_CHECK(c->role == NK_CLIENT, ERR_SSL_BAD_STATE);
    SizedBuffer ca_buf = { ca_len, NULL, (ubyte *)ca };
    struct certStore *s;
    NK_TRY(own_store(certs, n, key, key_len, &ca_buf, ca != NULL && ca_len > 0, &s));
    return set_own(&c->tls, s);
}
