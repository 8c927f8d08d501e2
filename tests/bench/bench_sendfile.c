/* bench_sendfile.c — what sending a file costs the server, per record layer.
 *
 *   bench_sendfile [--mode M[,M...]|all] [--size MiB] [--repeat N]
 *                  [--suite NAME] [--dir DIR] [--verify]
 *
 * Modes (the server's side; the client always takes whatever the kernel
 * offers for receiving):
 *   ktls-sendfile  kernel TX, NKTLS_sendFile (sendfile(2): no file data in userspace)
 *   ktls-readsend  kernel TX, read() 64 KiB chunks + SSL_send
 *   software       NKTLS_setKtlsMode(OFF), NKTLS_sendFile (pread + encrypt in userspace)
 *
 * One process, TCP over loopback, a server thread and a client thread. Each
 * repeat is a fresh connection; the handshake is not timed. Modes take turns
 * (repeat 1 of each, then repeat 2...), so drifting load on the machine moves
 * them alike. The server thread times from the first byte it sends until the
 * client's one-byte acknowledgement of the last one, and takes its own CPU
 * time (getrusage(RUSAGE_THREAD), user + system) over the same span.
 *
 * Output, one line per repeat, then one median line per mode, key=value:
 *   mode=ktls-sendfile suite=... bytes=... rep=1 seconds=... MBps=...
 *       cpu_s=... cpu_s_per_GiB=... utime=... stime=... tx=kernel rx=kernel client_rx=kernel
 *   mode=ktls-sendfile ... stat=median repeats=3 seconds=... MBps=... cpu_s=...
 *       cpu_s_per_GiB=... MBps_min=... MBps_max=... cpu_s_per_GiB_min=... ..._max=...
 * MB is 10^6 bytes, GiB 2^30. A mode that cannot run as asked (a kTLS mode
 * whose TX stayed in software, a failed transfer) prints mode=M error="why",
 * is dropped, and makes the exit status 1; the other modes still run.
 *
 * Loopback caveat: the kernel delivers loopback packets in the sender's
 * softirq context, so the server's system time includes the receiving side's
 * TCP processing (not its decryption). Compare modes with each other, not
 * with a wire. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

/* The shared test environment makes the PKI and cert stores; the benchmark
 * uses only part of it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "unit/api_env.h"
#pragma GCC diagnostic pop

#define CHUNK (64 * 1024)
#define RECV_TIMEOUT_MS 120000   /* a TCG VM can be slow; a stuck run still ends */
#define MAX_REPEAT 99

enum mode { M_KTLS_SENDFILE, M_KTLS_READSEND, M_SOFTWARE, N_MODES };
static const char *const mode_names[N_MODES] = { "ktls-sendfile", "ktls-readsend", "software" };

static struct {
    size_t size;
    int repeat;
    ubyte2 suite;
    const char *suite_name;
    int verify;
    int fd;                                  /* the file, unlinked */
    unsigned char digest[32];                /* SHA-256 of the file (--verify) */
} opt = { .size = 32u << 20, .repeat = 3, .suite = SSL_TLS_AES_128_GCM_SHA256,
          .suite_name = "TLS_AES_128_GCM_SHA256" };

/* One repeat: both threads fill in their part. */
struct run {
    enum mode mode;
    int fd[2];                   /* [0] client, [1] server */
    /* server */
    char err[256];               /* first failure, "" if none */
    double seconds, cpu_s, utime, stime;
    int tx_kernel, rx_kernel;
    char tx_reason[96];
    /* client */
    char cerr[256];
    int crx_kernel;
    unsigned long long received;
    int digest_ok;
};

static void failf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void failf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (buf[0])
        return;                  /* keep the first reason: later ones follow from it */
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}
#define SFAIL(r, ...) failf((r)->err, sizeof((r)->err), __VA_ARGS__)
#define CFAIL(r, ...) failf((r)->cerr, sizeof((r)->cerr), __VA_ARGS__)

static double tv_s(struct timeval t)
{
    return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

/* ---- the file ---------------------------------------------------------------- */

/* A temporary file of opt.size pseudo-random bytes in dir, unlinked at once;
 * with --verify its SHA-256 goes to opt.digest. The data stays in the page
 * cache, so the runs measure TLS and sockets, not the disk. */
static int make_file(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/nktls-bench.XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        fprintf(stderr, "bench_sendfile: cannot create a file in %s: %s\n", dir, strerror(errno));
        return -1;
    }
    unlink(path);
    uint64_t *buf = malloc(1 << 20), x = 0x9e3779b97f4a7c15ull;
    if (!buf) {
        fprintf(stderr, "bench_sendfile: out of memory\n");
        exit(2);
    }
    EVP_MD_CTX *sha = NULL;
    if (opt.verify && (!(sha = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(sha, EVP_sha256(), NULL))) {
        fprintf(stderr, "bench_sendfile: no SHA-256\n");
        exit(2);
    }
    for (size_t done = 0; done < opt.size;) {
        size_t n = opt.size - done < (1u << 20) ? opt.size - done : (1u << 20);
        for (size_t i = 0; i < (1u << 20) / 8; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = x;
        }
        if (sha)
            EVP_DigestUpdate(sha, buf, n);
        for (size_t off = 0; off < n;) {
            ssize_t w = write(fd, (char *)buf + off, n - off);
            if (w <= 0) {
                fprintf(stderr, "bench_sendfile: writing %s: %s\n", path,
                        w < 0 ? strerror(errno) : "no space");
                free(buf);
                EVP_MD_CTX_free(sha);
                close(fd);
                return -1;
            }
            off += (size_t)w;
        }
        done += n;
    }
    if (sha)
        EVP_DigestFinal_ex(sha, opt.digest, NULL);
    EVP_MD_CTX_free(sha);
    free(buf);
    return fd;
}

/* ---- server thread -------------------------------------------------------------- */

static MSTATUS send_read_loop(sbyte4 h, int fd, size_t size, char *why, size_t cap)
{
    static char buf[CHUNK];
    size_t done = 0;
    if (lseek(fd, 0, SEEK_SET) != 0) {
        snprintf(why, cap, "lseek: %s", strerror(errno));
        return ERR_FILE_READ_FAILED;
    }
    while (done < size) {
        size_t want = size - done < CHUNK ? size - done : CHUNK;
        ssize_t n = read(fd, buf, want);
        if (n <= 0) {
            snprintf(why, cap, "read: %s", n < 0 ? strerror(errno) : "early end of file");
            return ERR_FILE_READ_FAILED;
        }
        MSTATUS st = send_all(h, buf, (size_t)n);
        if (st != OK) {
            snprintf(why, cap, "SSL_send: %s", errname(st));
            return st;
        }
        done += (size_t)n;
    }
    return OK;
}

static void *server_main(void *arg)
{
    struct run *r = arg;
    sbyte4 h = SSL_acceptConnection(r->fd[1], env.srv);
    if (h <= 0) {
        SFAIL(r, "SSL_acceptConnection: %s", errname(h));
        shutdown(r->fd[1], SHUT_RDWR);
        return NULL;
    }
    MSTATUS st = SSL_enableCiphers(h, &opt.suite, 1);
    if (st == OK && r->mode == M_SOFTWARE)
        st = NKTLS_setKtlsMode(h, NKTLS_KTLS_OFF);
    if (st != OK) {
        SFAIL(r, "server setup: %s", errname(st));
        goto out;
    }
    st = SSL_negotiateConnection(h);
    if (st != OK) {
        SFAIL(r, "server handshake: %s", errname(st));
        goto out;
    }
    nktlsRecordLayerInfo info;
    if ((st = NKTLS_getRecordLayerInfo(h, &info)) != OK) {
        SFAIL(r, "NKTLS_getRecordLayerInfo: %s", errname(st));
        goto out;
    }
    r->tx_kernel = info.txLayer == NKTLS_LAYER_KERNEL;
    r->rx_kernel = info.rxLayer == NKTLS_LAYER_KERNEL;
    snprintf(r->tx_reason, sizeof(r->tx_reason), "%s", info.txReason ? info.txReason : "");
    /* The point of each mode is which layer carries TX: refuse to report a
     * number for a mode that silently became another. */
    if (r->mode != M_SOFTWARE && !r->tx_kernel) {
        SFAIL(r, "tx=software: %s", r->tx_reason[0] ? r->tx_reason : "no reason given");
        goto out;
    }
    if (r->mode == M_SOFTWARE && r->tx_kernel) {
        SFAIL(r, "tx=kernel although the server set NKTLS_KTLS_OFF");
        goto out;
    }

    struct rusage ru0, ru1;
    getrusage(RUSAGE_THREAD, &ru0);
    double t0 = ms_now();
    char why[160] = "";
    if (r->mode == M_KTLS_READSEND) {
        st = send_read_loop(h, opt.fd, opt.size, why, sizeof(why));
    } else {
        ubyte8 sent = 0;
        st = NKTLS_sendFile(h, opt.fd, 0, opt.size, &sent);
        if (st != OK)
            snprintf(why, sizeof(why), "NKTLS_sendFile: %s after %llu bytes", errname(st),
                     (unsigned long long)sent);
        else if (sent != opt.size)
            snprintf(why, sizeof(why), "NKTLS_sendFile sent %llu of %zu bytes",
                     (unsigned long long)sent, opt.size);
    }
    if (why[0]) {
        SFAIL(r, "%s", why);
        goto out;
    }
    /* Sending returns once the last bytes are in the socket buffer; the run
     * ends when the client has them all. */
    char ack;
    sbyte4 n = 0;
    st = SSL_recv(h, (sbyte *)&ack, 1, &n, RECV_TIMEOUT_MS);
    double t1 = ms_now();
    getrusage(RUSAGE_THREAD, &ru1);
    if (st != OK || n != 1) {
        SFAIL(r, "waiting for the client's acknowledgement: %s", errname(st));
        goto out;
    }
    r->seconds = (t1 - t0) / 1e3;
    r->utime = tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime);
    r->stime = tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime);
    r->cpu_s = r->utime + r->stime;
out:
    SSL_closeConnection(h);
    /* Whatever happened, the client must not wait for more. */
    shutdown(r->fd[1], SHUT_RDWR);
    return NULL;
}

/* ---- client thread -------------------------------------------------------------- */

static void *client_main(void *arg)
{
    struct run *r = arg;
    static char buf[CHUNK];
    EVP_MD_CTX *sha = NULL;
    sbyte4 h = SSL_connect(r->fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    if (h <= 0) {
        CFAIL(r, "SSL_connect: %s", errname(h));
        shutdown(r->fd[0], SHUT_RDWR);
        return NULL;
    }
    MSTATUS st = SSL_enableCiphers(h, &opt.suite, 1);
    if (st == OK)
        st = SSL_negotiateConnection(h);
    if (st != OK) {
        CFAIL(r, "client handshake: %s", errname(st));
        goto out;
    }
    nktlsRecordLayerInfo info;
    if (NKTLS_getRecordLayerInfo(h, &info) == OK)
        r->crx_kernel = info.rxLayer == NKTLS_LAYER_KERNEL;
    if (opt.verify && (!(sha = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(sha, EVP_sha256(), NULL))) {
        CFAIL(r, "no SHA-256");
        goto out;
    }
    while (r->received < opt.size) {
        sbyte4 n = 0;
        unsigned long long left = opt.size - r->received;
        st = SSL_recv(h, (sbyte *)buf, left < CHUNK ? (sbyte4)left : CHUNK, &n, RECV_TIMEOUT_MS);
        if (st != OK || n <= 0) {
            CFAIL(r, "client receive after %llu bytes: %s", r->received,
                  st != OK ? errname(st) : "no data");
            goto out;
        }
        if (opt.verify)
            EVP_DigestUpdate(sha, buf, (size_t)n);
        r->received += (unsigned long long)n;
    }
    if (opt.verify) {
        unsigned char d[32];
        EVP_DigestFinal_ex(sha, d, NULL);
        r->digest_ok = memcmp(d, opt.digest, sizeof(d)) == 0;
        if (!r->digest_ok)
            CFAIL(r, "checksum of the received data differs from the file's");
    }
    st = send_all(h, "k", 1);
    if (st != OK) {
        CFAIL(r, "client acknowledgement: %s", errname(st));
        goto out;
    }
    /* Let the server close first: its close_notify ends our read. */
    recv_until_end(h);
out:
    EVP_MD_CTX_free(sha);
    SSL_closeConnection(h);
    shutdown(r->fd[0], SHUT_RDWR);
    return NULL;
}

/* ---- driver --------------------------------------------------------------------- */

static int run_once(struct run *r)
{
    pthread_t st, ct;
    if (make_pair(1, r->fd) != 0) {
        SFAIL(r, "loopback connection: %s", strerror(errno));
        return -1;
    }
    if (pthread_create(&st, NULL, server_main, r) != 0 ||
        pthread_create(&ct, NULL, client_main, r) != 0) {
        fprintf(stderr, "bench_sendfile: pthread_create failed\n");
        exit(2);
    }
    pthread_join(st, NULL);
    pthread_join(ct, NULL);
    close(r->fd[0]);
    close(r->fd[1]);
    if (!r->err[0] && r->cerr[0])
        SFAIL(r, "%s", r->cerr);
    if (!r->err[0] && r->received != opt.size)
        SFAIL(r, "client received %llu of %zu bytes", r->received, opt.size);
    return r->err[0] ? -1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One mode's repeats. */
struct series {
    int want, failed, n;
    double secs[MAX_REPEAT], cpu[MAX_REPEAT], mbps[MAX_REPEAT], cpg[MAX_REPEAT];
    struct run last;
};

static void print_run(enum mode m, int rep, const struct run *r)
{
    double gib = (double)opt.size / (double)(1u << 30);
    printf("mode=%s suite=%s bytes=%zu rep=%d seconds=%.4f MBps=%.1f cpu_s=%.4f "
           "cpu_s_per_GiB=%.3f utime=%.4f stime=%.4f tx=%s rx=%s client_rx=%s%s\n",
           mode_names[m], opt.suite_name, opt.size, rep, r->seconds,
           (double)opt.size / r->seconds / 1e6, r->cpu_s, r->cpu_s / gib, r->utime, r->stime,
           r->tx_kernel ? "kernel" : "software", r->rx_kernel ? "kernel" : "software",
           r->crx_kernel ? "kernel" : "software", opt.verify ? " verify=ok" : "");
    fflush(stdout);
}

/* Each figure's own median (the fastest repeat need not be the cheapest), and
 * its range, which shows how steady the machine was. */
static void print_median(enum mode m, struct series *s)
{
    printf("mode=%s suite=%s bytes=%zu stat=median repeats=%d seconds=%.4f MBps=%.1f "
           "cpu_s=%.4f cpu_s_per_GiB=%.3f",
           mode_names[m], opt.suite_name, opt.size, s->n, median(s->secs, s->n),
           median(s->mbps, s->n), median(s->cpu, s->n), median(s->cpg, s->n));
    /* median() sorted the arrays: the ends are the range. */
    printf(" MBps_min=%.1f MBps_max=%.1f cpu_s_per_GiB_min=%.3f cpu_s_per_GiB_max=%.3f",
           s->mbps[0], s->mbps[s->n - 1], s->cpg[0], s->cpg[s->n - 1]);
    printf(" tx=%s client_rx=%s%s\n", s->last.tx_kernel ? "kernel" : "software",
           s->last.crx_kernel ? "kernel" : "software", opt.verify ? " verify=ok" : "");
    fflush(stdout);
}

/* Runs every wanted mode opt.repeat times, interleaved (repeat 1 of each
 * mode, then repeat 2...), so that a machine growing busier or quieter
 * shifts every mode alike instead of the last one. A mode that fails once
 * is dropped. 0 when every mode ran as asked. */
static int bench_modes(struct series series[N_MODES])
{
    double gib = (double)opt.size / (double)(1u << 30);
    int failed = 0;
    for (int i = 0; i < opt.repeat; i++) {
        for (int m = 0; m < N_MODES; m++) {
            struct series *s = &series[m];
            if (!s->want || s->failed)
                continue;
            struct run r = { .mode = (enum mode)m };
            if (run_once(&r) != 0) {
                printf("mode=%s suite=%s bytes=%zu rep=%d error=\"%s\"\n", mode_names[m],
                       opt.suite_name, opt.size, i + 1, r.err);
                fflush(stdout);
                fprintf(stderr, "bench_sendfile: mode %s could not run as asked: %s\n",
                        mode_names[m], r.err);
                s->failed = failed = 1;
                continue;
            }
            print_run((enum mode)m, i + 1, &r);
            s->secs[s->n] = r.seconds;
            s->cpu[s->n] = r.cpu_s;
            s->mbps[s->n] = (double)opt.size / r.seconds / 1e6;
            s->cpg[s->n] = r.cpu_s / gib;
            s->n++;
            s->last = r;
        }
    }
    for (int m = 0; m < N_MODES; m++)
        if (series[m].want && !series[m].failed)
            print_median((enum mode)m, &series[m]);
    return failed ? -1 : 0;
}

static void usage(FILE *f)
{
    fputs("usage: bench_sendfile [--mode M[,M...]|all] [--size MiB] [--repeat N]\n"
          "                      [--suite NAME] [--dir DIR] [--verify]\n"
          "  modes: ktls-sendfile ktls-readsend software (default all)\n"
          "  --size MiB    file size (default 32)\n"
          "  --repeat N    connections per mode; a median line follows (default 3)\n"
          "  --suite NAME  TLS 1.3 suite (default TLS_AES_128_GCM_SHA256)\n"
          "  --dir DIR     where the temporary file goes (default $TMPDIR or /tmp)\n"
          "  --verify      the client checks a SHA-256 of what it received\n", f);
}

static int parse_modes(const char *arg, int want[N_MODES])
{
    char *copy = strdup(arg), *save = NULL;
    int any = 0;
    for (char *m = strtok_r(copy, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int i = 0; i < N_MODES; i++)
            if (strcmp(m, "all") == 0 || strcmp(m, mode_names[i]) == 0)
                want[i] = found = any = 1;
        if (!found) {
            fprintf(stderr, "bench_sendfile: unknown mode '%s'\n", m);
            free(copy);
            return -1;
        }
    }
    free(copy);
    return any ? 0 : -1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "mode", required_argument, NULL, 'm' },   { "size", required_argument, NULL, 's' },
        { "repeat", required_argument, NULL, 'r' }, { "suite", required_argument, NULL, 'c' },
        { "dir", required_argument, NULL, 'd' },    { "verify", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
    };
    int want[N_MODES] = { 0 }, c;
    const char *dir = getenv("TMPDIR");
    char *end;
    long v;

    if (!dir || !*dir)
        dir = "/tmp";
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (parse_modes(optarg, want) != 0)
                return 2;
            break;
        case 's':
            v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > (1L << 20)) {
                fprintf(stderr, "bench_sendfile: bad --size '%s' (MiB)\n", optarg);
                return 2;
            }
            opt.size = (size_t)v << 20;
            break;
        case 'r':
            v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > MAX_REPEAT) {
                fprintf(stderr, "bench_sendfile: bad --repeat '%s' (1..%d)\n", optarg,
                        MAX_REPEAT);
                return 2;
            }
            opt.repeat = (int)v;
            break;
        case 'c': {
            sbyte4 id = NKTLS_cipherIdByName(optarg);
            if (id < 0x1301 || id > 0x1305) {
                fprintf(stderr, "bench_sendfile: '%s' is not a TLS 1.3 cipher suite\n", optarg);
                return 2;
            }
            opt.suite = (ubyte2)id;
            opt.suite_name = optarg;
            break;
        }
        case 'd': dir = optarg; break;
        case 'v': opt.verify = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    if (!want[0] && !want[1] && !want[2])
        want[0] = want[1] = want[2] = 1;

    signal(SIGPIPE, SIG_IGN);    /* a failed peer shows as an error status, not a signal */
    if ((opt.fd = make_file(dir)) < 0)
        return 2;
    make_pki();
    env_up(4);
    if (!env.srv || !env.cli) {
        fprintf(stderr, "bench_sendfile: could not set up the certificate stores\n");
        return 2;
    }
    /* Bulk transfers under emulation can outlast the short test defaults. */
    SSL_sslSettings()->sslTimeOutReceive = RECV_TIMEOUT_MS;

    static struct series series[N_MODES];
    for (int m = 0; m < N_MODES; m++)
        series[m].want = want[m];
    int failed = bench_modes(series) != 0;
    env_down();
    close(opt.fd);
    return failed;
}
