/* bench_common.h — what the handshake benchmarks share (bench_handshake.c and
 * bench_dtls.c over nktls, bench_handshake_ossl.c and bench_dtls_ossl.c over
 * libssl; bench_common.c): options, the certificate files, per-thread CPU
 * clocks, rounds and batches, and the crypto floor. libcrypto only: a
 * program cannot link both TLS libraries, because both export SSL_* symbols
 * of the same names (bench_nktls.h and bench_ossl.h hold each side's own).
 *
 * Options (both programs):
 *   --count N               handshakes per measurement (default 2000)
 *   --key p256|rsa2048|all  the server's certificate key (default all)
 *   --mode full|resume|all  full handshakes, or resumed with a ticket (default all)
 *   --tls 1.3|1.2|all       the protocol version (default 1.3). TLS 1.2 runs
 *                           ECDHE (X25519; the client also lists P-256, the
 *                           ECDSA certificate's curve) with the AES-128-GCM
 *                           suite for the key (ECDHE_ECDSA or ECDHE_RSA) and
 *                           extended master secret; resume mode offers the
 *                           last session (a ticket, as both servers send one)
 *   --dir DIR               certificates made by scripts/gen-certs (default: made
 *                           now in a temporary directory)
 *   --warmup N              untimed handshakes first (default count/10)
 *   --no-floor              skip the floor (for profiling the handshakes alone)
 *
 * Output, one line per key x mode, key=value:
 *   impl=nktls key=p256 mode=full tls=1.3 count=2000 server_us=... client_us=...
 *       floor_us=... ratio=... kex_us=... sign_us=... clock_us=...
 * server_us and client_us are each side's CPU time per handshake (thread CPU
 * clock around that side's calls only, the clock's own cost taken off), from
 * the best of BC_ROUNDS rounds of count/BC_ROUNDS handshakes: on a shared
 * machine other work only ever adds time;
 * floor_us is X25519 keygen + derive (priced as two derives), plus one
 * CertificateVerify signature in full mode, done with the cheapest EVP calls
 * we know (contexts prepared once); ratio = server_us / floor_us.
 * bench_dtls(_ossl) add floor_fresh_us: the same with the key exchange as a
 * server must make it, a fresh key pair and derive context per handshake
 * (kex_fresh_us, the cheaper of libcrypto's keygen and nktls's ladder). */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum { BC_P256, BC_RSA2048, BC_NKEYS };
enum { BC_FULL, BC_RESUME, BC_NMODES };
enum { BC_TLS13, BC_TLS12, BC_NTLS };
extern const char *const bc_key_names[BC_NKEYS];
extern const char *const bc_mode_names[BC_NMODES];
extern const char *const bc_tls_names[BC_NTLS];
/* TLS 1.2's suite for each key: TLS_ECDHE_ECDSA/RSA_WITH_AES_128_GCM_SHA256. */
extern const uint16_t bc_suite12[BC_NKEYS];
extern const char *const bc_suite12_name[BC_NKEYS];
extern const char *const bc_cert_file[BC_NKEYS];
extern const char *const bc_key_file[BC_NKEYS];

struct bc_opts {
    long count, warmup;
    int keys[BC_NKEYS];      /* which keys to run */
    int modes[BC_NMODES];
    int tls[BC_NTLS];
    char dir[512];
    int made_dir;
    int no_floor;
};

/* The options above; the certificate directory made when none is given. */
void bc_parse(int argc, char **argv, struct bc_opts *o);
/* Remove the directory bc_parse made, if it made one. */
void bc_cleanup(struct bc_opts *o);
/* DIR/file of the certificate directory. */
void bc_path(const struct bc_opts *o, const char *file, char *out, size_t cap);

/* ---- clocks: inline, so that what a bracket holds is the same in every
 * program ---- */

static inline uint64_t bc_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* What one bracketed call costs on top of the call itself: two clock reads. */
double bc_clock_cost_ns(void);

/* One side's accumulated CPU time and the number of clock pairs it took. */
struct bc_side {
    uint64_t ns, t0;
    uint64_t pairs;
};

static inline void bc_begin(struct bc_side *s) { s->t0 = bc_cpu_ns(); }
static inline void bc_end(struct bc_side *s)
{
    s->ns += bc_cpu_ns() - s->t0;
    s->pairs++;
}

#define BC_ROUNDS 5

/* Handshakes run in batches: every connection of a batch takes its step
 * before the next step starts, so the server's steps run back to back as they
 * do on a busy server, instead of each one between the client's (whose
 * certificate verification would otherwise evict the server's caches every
 * time: the client lives elsewhere in a deployment). */
#define BC_BATCH 16

/* n handshakes as batch(arg, k) calls of k <= BC_BATCH handshakes each. */
void bc_batches(void (*batch)(void *arg, long k), void *arg, long n);

/* BC_ROUNDS rounds of count/BC_ROUNDS handshakes, each round made in
 * batches by bc_batches(batch, arg, ..), with side[0] (client) and side[1]
 * (server) adding up their CPU time; each
 * side's best round in best[], microseconds per handshake. Returns how many
 * handshakes were timed. */
long bc_rounds(void (*batch)(void *arg, long k), void *arg, struct bc_side side[2], long count, double clock_ns,
               double best[2]);

/* ---- the crypto floor ---- */

void bc_die(const char *what) __attribute__((noreturn));

struct bc_floor {
    double kex_us, sign_us[BC_NKEYS];
    double kex_fresh_us;   /* the key exchange with a fresh key pair (bench_common.c) */
};

void bc_floor_measure(const struct bc_opts *o, struct bc_floor *fl);

/* measure(o, key, mode, tls, fl, clock_ns) for each run asked for: key x
 * mode x version. */
void bc_each_run(const struct bc_opts *o,
                 void (*measure)(const struct bc_opts *o, int key, int mode, int tls, const struct bc_floor *fl,
                                 double clock_ns),
                 const struct bc_floor *fl, double clock_ns);

/* One output line of bench_handshake(_ossl). */
void bc_report(const char *impl, int key, int mode, int tls, long count, double server_us, double client_us,
               const struct bc_floor *fl, double clock_ns);
/* bench_dtls and bench_dtls_ossl: one DTLS 1.2 row, a full ECDHE handshake
 * with the P-256 certificate (the floor: key exchange and one signature, the
 * ServerKeyExchange's, as for TLS 1.2). */
void bc_report_dtls(const char *impl, long count, double server_us, double client_us, const struct bc_floor *fl,
                    double clock_ns);

#endif
