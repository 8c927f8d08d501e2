/* tests/fuzz/fuzz_common.h — what fuzz_client and fuzz_server share: a
 * deterministic random source, the stack and a certificate store made once per
 * process, and the loop that feeds an input to a connection's engine.
 *
 * Randomness is replaced by a fixed stream, restarted for every input: libFuzzer
 * needs an input to take the same path each time it runs (or a crash would not
 * reproduce and minimising would wander), and with it a seed can hold a peer's
 * whole flight, valid to the last Finished, for the key shares this process will
 * make. The identity is made from the same kind of stream, with fixed dates, so
 * its certificate is the same bytes in every process. */
#ifndef NK_FUZZ_COMMON_H
#define NK_FUZZ_COMMON_H

/* RAND_set_rand_method is deprecated in libcrypto 3 but still honoured by
 * RAND_bytes and by the default provider's key generation and ECDSA nonces. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/nk.h"
#include "engine/conn.h"
#include "core/crypto.h"
#include "ssl/ssl.h"
#include "crypto/ca_mgmt.h"
#include "crypto/cert_store.h"

/* Fixed "now" for certificate checks: the engine reads no clock. */
#define FZ_NOW ((time_t)1767225600)   /* 2026-01-01 */

/* Stream starts: one for the identity, one per connection role. */
enum { FZ_STREAM_IDENTITY = 1, FZ_STREAM_CLIENT = 2, FZ_STREAM_SERVER = 3 };

static uint64_t fz_rng;

/* splitmix64: not a cryptographic generator, and that is the point. */
static uint64_t fz_next(void)
{
    uint64_t z = (fz_rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int fz_rand_bytes(unsigned char *buf, int num)
{
    for (int i = 0; i < num; i++)
        buf[i] = (unsigned char)(fz_next() >> 24);
    return 1;
}

static int fz_rand_status(void) { return 1; }

static const RAND_METHOD fz_rand_method = {
    .bytes = fz_rand_bytes, .pseudorand = fz_rand_bytes, .status = fz_rand_status,
};

/* nk_random and nk_random_priv hand out bytes drawn ahead into the thread's
 * pools: drop them, or the next draw would still come from the stream before
 * a restart. */
static void fz_rng_drop_cache(void)
{
    struct nk_thread_ctx *t = nk_thread_ctx();
    if (t)
        t->rnd.left = t->rnd_priv.left = 0;
}

static void fz_rng_reset(uint64_t stream)
{
    fz_rng = stream * 0x100000001b3ULL;
    fz_rng_drop_cache();
}

/* A self-signed P-256 certificate for "localhost" and its key blob. */
static MSTATUS fz_make_identity(certStorePtr store)
{
    MSTATUS st = ERR_CRYPTO;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    X509V3_CTX v3;
    unsigned char *cert = NULL, *kder = NULL;
    ubyte *blob = NULL;
    ubyte4 blob_len = 0;
    int clen, klen = 0;

    if (!key || !x)
        goto out;
    X509_NAME *name = X509_get_subject_name(x);
    if (!X509_set_version(x, X509_VERSION_3) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 1)
        || !ASN1_TIME_set_string(X509_getm_notBefore(x), "20200101000000Z")
        || !ASN1_TIME_set_string(X509_getm_notAfter(x), "20991231235959Z")
        || !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
                                       -1, -1, 0)
        || !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key))
        goto out;
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    static const char *exts[][2] = {
        { "subjectAltName", "DNS:localhost" },
        { "basicConstraints", "critical,CA:FALSE" },
        { "keyUsage", "critical,digitalSignature" },
        { "extendedKeyUsage", "serverAuth,clientAuth" },
    };
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
        int ok = e && X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        if (!ok)
            goto out;
    }
    if (!X509_sign(x, key, EVP_sha256()))
        goto out;
    clen = i2d_X509(x, &cert);
    klen = i2d_PrivateKey(key, &kder);
    if (clen <= 0 || klen <= 0)
        goto out;
    if ((st = CA_MGMT_convertKeyDER(kder, (ubyte4)klen, &blob, &blob_len)) < 0)
        goto out;
    if ((st = CERT_STORE_addIdentity(store, cert, (ubyte4)clen, blob, blob_len)) < 0)
        goto out;
    /* The client side trusts it, so a seed's server flight verifies. */
    st = CERT_STORE_addTrustPoint(store, cert, (ubyte4)clen);
out:
    CA_MGMT_freeKeyBlob(&blob);
    OPENSSL_clear_free(kder, klen > 0 ? (size_t)klen : 0);
    OPENSSL_free(cert);
    X509_free(x);
    EVP_PKEY_free(key);
    return st;
}

/* Stack, random source and store, once per process. */
static certStorePtr fz_setup(void)
{
    static certStorePtr store;
    static int done;

    if (done)
        return store;
    done = 1;
    if (!RAND_set_rand_method(&fz_rand_method))
        abort();
    if (SSL_init(4, 4) < 0 || CERT_STORE_createStore(&store) < 0)
        abort();
    fz_rng_reset(FZ_STREAM_IDENTITY);
    if (fz_make_identity(store) < 0)
        abort();
    return store;
}

/* Seeds for NKTLS_FUZZ_SEEDS=DIR: count inputs of n bytes each, written to
 * DIR/seed-0 ... */
static inline void fz_write_seeds(const char *dir, const uint8_t *seeds, size_t count, size_t n)
{
    for (size_t i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/seed-%zu", dir, i);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(seeds + i * n, 1, n, f) != n)
            abort();
        fclose(f);
    }
}

static void fz_drain_out(struct nk_conn *c)
{
    size_t n;
    (void)nk_out_buf(c, &n);
    nk_out_ack(c, n);
}

static void fz_drain_app(struct nk_conn *c)
{
    uint8_t sink[1024];
    while (nk_app_read(c, sink, sizeof sink) > 0)
        ;
}

/* Give the engine the input as its peer's bytes, never more at once than
 * nk_in_buf offers, until the input ends or the connection fails or closes. */
static void fz_feed(struct nk_conn *c, const uint8_t *data, size_t size)
{
    size_t off = 0;

    fz_drain_out(c);
    while (off < size) {
        size_t room = 0;
        uint8_t *buf = nk_in_buf(c, &room);
        if (!buf || room == 0) {
            if (!c->app_len)
                break;           /* failed or closed */
            fz_drain_app(c);     /* the application reads, and input may flow again */
            continue;
        }
        size_t n = size - off < room ? size - off : room;
        memcpy(buf, data + off, n);
        off += n;
        MSTATUS st = nk_in_ack(c, n);
        fz_drain_out(c);
        if (st < 0)
            break;
    }
    fz_drain_app(c);
    /* Once open, the sending side gets a turn too. */
    if (c->status == SSL_CONNECTION_OPEN && c->err >= 0 && !c->sent_close_notify) {
        if (nk_app_write(c, (const uint8_t *)"pong", 4) == OK)
            (void)!nk_key_update_send(&c->tls, 1);
        fz_drain_out(c);
    }
}

/* Run one input through a new connection (its handle h), then close it. */
static __attribute__((unused)) void fz_run(sbyte4 h, const uint8_t *data, size_t size)
{
    struct nk_conn *c;

    if (h < 0 || nk_conn_get(h, &c) < 0)
        abort();
    c->now = (int64_t)FZ_NOW * 1000;
    if (nk_engine_start(c) == OK)
        fz_feed(c, data, size);
    SSL_closeConnection(h);
}

#endif
