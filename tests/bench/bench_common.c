/* bench_common.c — the handshake benchmarks' shared harness (bench_common.h
 * says what it holds and why it names no TLS library). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include "bench_common.h"

const char *const bc_key_names[BC_NKEYS] = { "p256", "rsa2048" };
const char *const bc_mode_names[BC_NMODES] = { "full", "resume" };
const char *const bc_tls_names[BC_NTLS] = { "1.3", "1.2" };
const uint16_t bc_suite12[BC_NKEYS] = { 0xc02b, 0xc02f };
const char *const bc_suite12_name[BC_NKEYS] = { "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256" };
const char *const bc_cert_file[BC_NKEYS] = { "server.pem", "server-rsa.pem" };
const char *const bc_key_file[BC_NKEYS] = { "server.key", "server-rsa.key" };

static void bc_usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--count N] [--warmup N] [--key p256|rsa2048|all] "
                    "[--mode full|resume|all] [--tls 1.3|1.2|all] [--dir CERTDIR]\n", prog);
    exit(2);
}

static void bc_pick(const char *arg, const char *const *names, int n, int *on, const char *prog)
{
    int all = strcmp(arg, "all") == 0, found = all;
    for (int i = 0; i < n; i++) {
        on[i] = all || strcmp(arg, names[i]) == 0;
        found |= on[i];
    }
    if (!found)
        bc_usage(prog);
}

/* The certificate directory: given, or made by scripts/gen-certs now. */
static void bc_make_dir(struct bc_opts *o)
{
    char cmd[1024];
    if (o->dir[0])
        return;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(o->dir, sizeof o->dir, "%s/nktls-bench-hs.XXXXXX", tmp);
    if (!mkdtemp(o->dir)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(cmd, sizeof cmd, "'%s/scripts/gen-certs' '%s' >/dev/null", NKTLS_SOURCE_DIR, o->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot make certificates with scripts/gen-certs\n");
        exit(1);
    }
    o->made_dir = 1;
}

void bc_cleanup(struct bc_opts *o)
{
    char cmd[1024];
    if (!o->made_dir)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", o->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", o->dir);
}

void bc_parse(int argc, char **argv, struct bc_opts *o)
{
    static const struct option lo[] = {
        { "count", required_argument, NULL, 'n' }, { "warmup", required_argument, NULL, 'w' },
        { "key", required_argument, NULL, 'k' }, { "mode", required_argument, NULL, 'm' },
        { "dir", required_argument, NULL, 'd' }, { "no-floor", no_argument, NULL, 'f' },
        { "tls", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    memset(o, 0, sizeof *o);
    o->count = 2000;
    o->warmup = -1;
    bc_pick("all", bc_key_names, BC_NKEYS, o->keys, argv[0]);
    bc_pick("all", bc_mode_names, BC_NMODES, o->modes, argv[0]);
    bc_pick("1.3", bc_tls_names, BC_NTLS, o->tls, argv[0]);
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'n': o->count = atol(optarg); break;
        case 'w': o->warmup = atol(optarg); break;
        case 'k': bc_pick(optarg, bc_key_names, BC_NKEYS, o->keys, argv[0]); break;
        case 'm': bc_pick(optarg, bc_mode_names, BC_NMODES, o->modes, argv[0]); break;
        case 't': bc_pick(optarg, bc_tls_names, BC_NTLS, o->tls, argv[0]); break;
        case 'd': snprintf(o->dir, sizeof o->dir, "%s", optarg); break;
        case 'f': o->no_floor = 1; break;
        default: bc_usage(argv[0]);
        }
    }
    if (o->count < 1 || optind != argc)
        bc_usage(argv[0]);
    if (o->warmup < 0)
        o->warmup = o->count / 10 + 1;
    bc_make_dir(o);
}

void bc_path(const struct bc_opts *o, const char *file, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", o->dir, file);
}

/* ---- clocks, rounds, batches ---- */

double bc_clock_cost_ns(void)
{
    enum { N = 20000 };
    uint64_t t0 = bc_cpu_ns();
    for (int i = 0; i < N; i++)
        (void)bc_cpu_ns();
    return (double)(bc_cpu_ns() - t0) / N;
}

void bc_batches(void (*batch)(void *arg, long k), void *arg, long n)
{
    for (long done = 0; done < n; done += BC_BATCH)
        batch(arg, n - done < BC_BATCH ? n - done : BC_BATCH);
}

/* Keep the better of a round's figure and the best so far. */
static void bc_best(double *best, double v)
{
    if (*best <= 0 || v < *best)
        *best = v;
}

/* Microseconds per handshake, the clock's own cost (one read per pair lands
 * inside the interval) taken off. */
static double bc_us(const struct bc_side *s, long n, double clock_ns)
{
    double ns = (double)s->ns - (double)s->pairs * clock_ns;
    return ns / 1000.0 / (double)n;
}

long bc_rounds(void (*batch)(void *arg, long k), void *arg, struct bc_side side[2], long count, double clock_ns,
               double best[2])
{
    long per = count / BC_ROUNDS > 0 ? count / BC_ROUNDS : 1;
    best[0] = best[1] = 0;
    for (int round = 0; round < BC_ROUNDS; round++) {
        memset(side, 0, 2 * sizeof *side);
        bc_batches(batch, arg, per);
        for (int i = 0; i < 2; i++)
            bc_best(&best[i], bc_us(&side[i], per, clock_ns));
    }
    return per * BC_ROUNDS;
}

/* ---- the crypto floor ---- */

void bc_die(const char *what)
{
    fprintf(stderr, "bench: %s failed\n", what);
    exit(1);
}

/* The best of three runs of op(arg, i) for i in 0..n-1, microseconds per
 * call (other work on the machine only ever adds time). */
static double best_of3(void (*op)(void *arg, long i), void *arg, long n)
{
    double best = 1e30;
    for (int round = 0; round < 3; round++) {
        uint64_t t0 = bc_cpu_ns();
        for (long i = 0; i < n; i++)
            op(arg, i);
        double us = (double)(bc_cpu_ns() - t0) / 1000.0 / (double)n;
        best = us < best ? us : best;
    }
    return best;
}

static void derive_again(void *arg, long i)
{
    uint8_t secret[32];
    size_t sl = sizeof secret;
    (void)i;
    if (EVP_PKEY_derive(arg, secret, &sl) != 1)
        bc_die("X25519 derive");
}

/* X25519 keygen + derive per handshake, priced as two derives: a public
 * value is the same scalar multiplication (X25519 of the private scalar and
 * the base point), and libcrypto's own keygen path is slower than its derive,
 * so a floor built on it would flatter whoever avoids it. One derive context,
 * prepared once, derives again and again: the scalar multiplication and the
 * least EVP dispatch there is. */
static double bc_floor_kex_us(long n)
{
    EVP_PKEY_CTX *kg = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
    EVP_PKEY *own = NULL, *peer = NULL;
    if (!kg || EVP_PKEY_keygen_init(kg) != 1 || EVP_PKEY_keygen(kg, &own) != 1
        || EVP_PKEY_keygen(kg, &peer) != 1)
        bc_die("X25519 keygen");
    EVP_PKEY_CTX *d = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL);
    if (!d || EVP_PKEY_derive_init(d) != 1 || EVP_PKEY_derive_set_peer_ex(d, peer, 0) != 1)
        bc_die("X25519 derive");
    double best = best_of3(derive_again, d, n);
    EVP_PKEY_CTX_free(d);
    EVP_PKEY_free(own);
    EVP_PKEY_free(peer);
    EVP_PKEY_CTX_free(kg);
    return 2 * best;
}

/* ---- a server's key exchange with a fresh key each time ----
 * What a server cannot prepare: each handshake's key pair, as a key object,
 * and a derive context for it and the peer's share (here the same share
 * each time). Two ways: libcrypto's own keygen (what libssl does), and the
 * ladder nktls uses (core/kex.c: import the clamped scalar, public value =
 * X25519(k, 9) by derive); the cheaper is the floor a server can reach
 * through libcrypto's public interface. */
struct fresh {
    EVP_PKEY_CTX *kg, *import;
    EVP_PKEY *base, *peer;
};

static void derive_with(EVP_PKEY *own, EVP_PKEY *peer, uint8_t out[32])
{
    EVP_PKEY_CTX *d = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL);
    size_t n = 32;
    if (!d || EVP_PKEY_derive_init(d) != 1 || EVP_PKEY_derive_set_peer_ex(d, peer, 0) != 1
        || EVP_PKEY_derive(d, out, &n) != 1)
        bc_die("X25519 derive");
    EVP_PKEY_CTX_free(d);
}

static void kex_stock(void *arg, long i)
{
    struct fresh *f = arg;
    EVP_PKEY *own = NULL;
    uint8_t pub[32], secret[32];
    size_t n = sizeof pub;
    (void)i;
    if (EVP_PKEY_keygen(f->kg, &own) != 1 || EVP_PKEY_get_raw_public_key(own, pub, &n) != 1)
        bc_die("X25519 keygen");
    derive_with(own, f->peer, secret);
    EVP_PKEY_free(own);
}

static void kex_ladder(void *arg, long i)
{
    static const uint8_t none[32];
    struct fresh *f = arg;
    EVP_PKEY *own = NULL;
    uint8_t k[32], pub[32], secret[32];
    (void)i;
    if (RAND_priv_bytes(k, sizeof k) != 1)
        bc_die("RAND_priv_bytes");
    k[0] &= 248;
    k[31] = (uint8_t)((k[31] & 127) | 64);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, k, sizeof k),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)none, sizeof none),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_PKEY_fromdata(f->import, &own, EVP_PKEY_KEYPAIR, params) != 1)
        bc_die("X25519 import");
    derive_with(own, f->base, pub);
    derive_with(own, f->peer, secret);
    EVP_PKEY_free(own);
}

/* The cheaper of the two ways, microseconds per handshake. */
static double bc_floor_kex_fresh_us(long n)
{
    static const uint8_t nine[32] = { 9 };
    struct fresh f = { .kg = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL),
                       .import = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL),
                       .base = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, nine, sizeof nine) };
    if (!f.kg || !f.import || !f.base || EVP_PKEY_keygen_init(f.kg) != 1 || EVP_PKEY_fromdata_init(f.import) != 1
        || EVP_PKEY_keygen(f.kg, &f.peer) != 1)
        bc_die("X25519 contexts");
    double stock = best_of3(kex_stock, &f, n), ladder = best_of3(kex_ladder, &f, n);
    EVP_PKEY_free(f.peer);
    EVP_PKEY_free(f.base);
    EVP_PKEY_CTX_free(f.import);
    EVP_PKEY_CTX_free(f.kg);
    return stock < ladder ? stock : ladder;
}

/* One CertificateVerify signature: SHA-256 of the 130-byte content, then the
 * private-key operation on a signing context prepared once (ECDSA, or RSA-PSS
 * with a digest-length salt as TLS 1.3 requires). */
struct signer {
    EVP_MD *md;
    EVP_MD_CTX *mctx;
    EVP_PKEY_CTX *ctx;
};

static void sign_once(void *arg, long i)
{
    struct signer *g = arg;
    uint8_t content[130], digest[32], sig[512];
    size_t sl = sizeof sig;
    memset(content, 0x20, sizeof content);
    content[129] = (uint8_t)i;
    if (EVP_DigestInit_ex(g->mctx, g->md, NULL) != 1 || EVP_DigestUpdate(g->mctx, content, sizeof content) != 1
        || EVP_DigestFinal_ex(g->mctx, digest, NULL) != 1
        || EVP_PKEY_sign(g->ctx, sig, &sl, digest, sizeof digest) != 1)
        bc_die("signing");
}

static double bc_floor_sign_us(const char *key_path, long n)
{
    FILE *f = fopen(key_path, "r");
    EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!key)
        bc_die("reading the server key");
    struct signer g = { .md = EVP_MD_fetch(NULL, "SHA256", NULL), .mctx = EVP_MD_CTX_new(),
                        .ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL) };
    int rsa = EVP_PKEY_is_a(key, "RSA");
    if (!g.md || !g.mctx || !g.ctx || EVP_PKEY_sign_init(g.ctx) != 1
        || EVP_PKEY_CTX_set_signature_md(g.ctx, g.md) != 1
        || (rsa && (EVP_PKEY_CTX_set_rsa_padding(g.ctx, RSA_PKCS1_PSS_PADDING) != 1
                    || EVP_PKEY_CTX_set_rsa_pss_saltlen(g.ctx, RSA_PSS_SALTLEN_DIGEST) != 1)))
        bc_die("preparing the signature");
    double best = best_of3(sign_once, &g, n);
    EVP_MD_CTX_free(g.mctx);
    EVP_PKEY_CTX_free(g.ctx);
    EVP_MD_free(g.md);
    EVP_PKEY_free(key);
    return best;
}

void bc_floor_measure(const struct bc_opts *o, struct bc_floor *fl)
{
    char path[600];
    long n = o->count < 200 ? 200 : o->count;
    memset(fl, 0, sizeof *fl);
    if (o->no_floor)
        return;
    fl->kex_us = bc_floor_kex_us(n);
    fl->kex_fresh_us = bc_floor_kex_fresh_us(n);
    for (int k = 0; k < BC_NKEYS; k++) {
        fl->sign_us[k] = 0;
        if (!o->keys[k])
            continue;
        bc_path(o, bc_key_file[k], path, sizeof path);
        fl->sign_us[k] = bc_floor_sign_us(path, k == BC_RSA2048 ? n / 10 + 20 : n);
    }
}

void bc_each_run(const struct bc_opts *o,
                 void (*measure)(const struct bc_opts *o, int key, int mode, int tls, const struct bc_floor *fl,
                                 double clock_ns),
                 const struct bc_floor *fl, double clock_ns)
{
    for (int t = 0; t < BC_NTLS; t++)
        for (int k = 0; k < BC_NKEYS; k++)
            for (int m = 0; m < BC_NMODES; m++)
                if (o->keys[k] && o->modes[m] && o->tls[t])
                    measure(o, k, m, t, fl, clock_ns);
}

void bc_report(const char *impl, int key, int mode, int tls, long count, double server_us, double client_us,
               const struct bc_floor *fl, double clock_ns)
{
    /* TLS 1.2 signs once too: its ServerKeyExchange (RFC 8422 §5.4). A
     * resumed TLS 1.2 handshake has no key exchange at all (RFC 5246 §7.3):
     * no floor, no ratio. */
    double sign = mode == BC_FULL ? fl->sign_us[key] : 0.0;
    double floor_us = tls == BC_TLS12 && mode == BC_RESUME ? 0.0 : fl->kex_us + sign;
    printf("impl=%s key=%s mode=%s tls=%s count=%ld server_us=%.1f client_us=%.1f floor_us=%.1f ratio=%.2f "
           "kex_us=%.1f sign_us=%.1f clock_us=%.2f\n",
           impl, bc_key_names[key], bc_mode_names[mode], bc_tls_names[tls], count, server_us, client_us, floor_us,
           floor_us > 0 ? server_us / floor_us : 0.0, fl->kex_us, sign, clock_ns / 1000.0);
    fflush(stdout);
}

void bc_report_dtls(const char *impl, long count, double server_us, double client_us, const struct bc_floor *fl,
                    double clock_ns)
{
    double floor_us = fl->kex_us + fl->sign_us[BC_P256];
    double fresh_us = fl->kex_fresh_us > 0 ? fl->kex_fresh_us + fl->sign_us[BC_P256] : 0.0;
    printf("impl=%s proto=dtls1.2 key=p256 mode=full count=%ld server_us=%.1f client_us=%.1f floor_us=%.1f "
           "ratio=%.2f kex_us=%.1f sign_us=%.1f floor_fresh_us=%.1f kex_fresh_us=%.1f clock_us=%.2f\n",
           impl, count, server_us, client_us, floor_us, floor_us > 0 ? server_us / floor_us : 0.0, fl->kex_us,
           fl->sign_us[BC_P256], fresh_us, fl->kex_fresh_us, clock_ns / 1000.0);
    fflush(stdout);
}
