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
    uint8_t secret[32];
    double best = 1e30;
    for (int round = 0; round < 3; round++) {
        uint64_t t0 = bc_cpu_ns();
        for (long i = 0; i < n; i++) {
            size_t sl = sizeof secret;
            if (EVP_PKEY_derive(d, secret, &sl) != 1)
                bc_die("X25519 derive");
        }
        double us = (double)(bc_cpu_ns() - t0) / 1000.0 / (double)n;
        best = us < best ? us : best;
    }
    EVP_PKEY_CTX_free(d);
    EVP_PKEY_free(own);
    EVP_PKEY_free(peer);
    EVP_PKEY_CTX_free(kg);
    return 2 * best;
}

/* One CertificateVerify signature: SHA-256 of the 130-byte content, then the
 * private-key operation on a signing context prepared once (ECDSA, or RSA-PSS
 * with a digest-length salt as TLS 1.3 requires). */
static double bc_floor_sign_us(const char *key_path, long n)
{
    FILE *f = fopen(key_path, "r");
    EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!key)
        bc_die("reading the server key");
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int rsa = EVP_PKEY_is_a(key, "RSA");
    if (!md || !ctx || EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_CTX_set_signature_md(ctx, md) != 1
        || (rsa && (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1
                    || EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1)))
        bc_die("preparing the signature");
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    uint8_t content[130], digest[32], sig[512];
    memset(content, 0x20, sizeof content);
    double best = 1e30;
    for (int round = 0; round < 3; round++) {
        uint64_t t0 = bc_cpu_ns();
        for (long i = 0; i < n; i++) {
            size_t sl = sizeof sig;
            content[129] = (uint8_t)i;
            if (EVP_DigestInit_ex(mctx, md, NULL) != 1 || EVP_DigestUpdate(mctx, content, sizeof content) != 1
                || EVP_DigestFinal_ex(mctx, digest, NULL) != 1
                || EVP_PKEY_sign(ctx, sig, &sl, digest, sizeof digest) != 1)
                bc_die("signing");
        }
        double us = (double)(bc_cpu_ns() - t0) / 1000.0 / (double)n;
        best = us < best ? us : best;
    }
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_CTX_free(ctx);
    EVP_MD_free(md);
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
    printf("impl=%s proto=dtls1.2 key=p256 mode=full count=%ld server_us=%.1f client_us=%.1f floor_us=%.1f "
           "ratio=%.2f kex_us=%.1f sign_us=%.1f clock_us=%.2f\n",
           impl, count, server_us, client_us, floor_us, floor_us > 0 ? server_us / floor_us : 0.0, fl->kex_us,
           fl->sign_us[BC_P256], clock_ns / 1000.0);
    fflush(stdout);
}
