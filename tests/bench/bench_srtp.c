/* bench_srtp.c — what SRTP packet protection costs, in CPU: protect and then
 * unprotect one RTP packet (12-byte header, payload 160 or 1200 bytes), for
 * AES128_CM_HMAC_SHA1_80 and AEAD_AES_128_GCM, through nktls and, when built
 * with it, through the reference SRTP library (Debian libsrtp2) in the same
 * run.
 *
 *   bench_srtp [--count N]
 *
 * Both sides run in this one thread on one buffer: each packet is protected,
 * unprotected in place, and its sequence number moved on (so the rollover
 * counter wraps every 65536 packets). Each figure is the best of 5 rounds of
 * count/5 packets (default count 500000), timed with the thread CPU clock: on
 * a shared machine other work only ever adds time. One line per
 * implementation x profile x payload, key=value:
 *   impl=nktls profile=AES128_CM_HMAC_SHA1_80 payload=160 count=500000
 *       pairs_per_cpu_s=... ns_per_pair=... [vs_libsrtp2=...]
 * vs_libsrtp2 is nktls's pairs per CPU-second over the library's. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unit/srtp_util.h"
#ifdef BENCH_HAVE_LIBSRTP2
#include <srtp2/srtp.h>
#endif

#define ROUNDS 5

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int st)
{
    fprintf(stderr, "bench_srtp: %s failed (%d)\n", what, st);
    exit(1);
}

/* One implementation's sender and receiver; pair() runs n packets. */
struct impl {
    const char *name;
    int (*pair)(void *tx, void *rx, uint8_t *pkt, size_t n0, unsigned n, uint16_t *seq);
    void *tx, *rx;
    uint16_t seq;   /* carried from run to run: an index is never protected twice */
};

static void next_seq(uint8_t *pkt, uint16_t *seq)
{
    (*seq)++;
    pkt[2] = (uint8_t)(*seq >> 8), pkt[3] = (uint8_t)*seq;
}

static int nk_pair(void *tx, void *rx, uint8_t *pkt, size_t n0, unsigned n, uint16_t *seq)
{
    for (unsigned i = 0; i < n; i++) {
        ubyte4 len = (ubyte4)n0;
        MSTATUS st = NKTLS_srtpProtect(tx, pkt, &len, 2048);
        if (st == OK)
            st = NKTLS_srtpUnprotect(rx, pkt, &len);
        if (st != OK || len != n0)
            return st != OK ? st : -1;
        next_seq(pkt, seq);
    }
    return 0;
}

#ifdef BENCH_HAVE_LIBSRTP2
static int ref_pair(void *tx, void *rx, uint8_t *pkt, size_t n0, unsigned n, uint16_t *seq)
{
    for (unsigned i = 0; i < n; i++) {
        int len = (int)n0, st = (int)srtp_protect(tx, pkt, &len);
        if (!st)
            st = (int)srtp_unprotect(rx, pkt, &len);
        if (st || len != (int)n0)
            return st ? st : -1;
        next_seq(pkt, seq);
    }
    return 0;
}

static srtp_t ref_session(const struct su_profile *p, srtp_ssrc_type_t dir)
{
    uint8_t key[32], salt[14], keysalt[46];
    srtp_policy_t pol;
    srtp_t s;

    su_master(0x61, key, salt);
    memcpy(keysalt, key, p->key_len);
    memcpy(keysalt + p->key_len, salt, p->salt_len);
    memset(&pol, 0, sizeof pol);
    if (srtp_crypto_policy_set_from_profile_for_rtp(&pol.rtp, (srtp_profile_t)p->id)
        || srtp_crypto_policy_set_from_profile_for_rtcp(&pol.rtcp, (srtp_profile_t)p->id))
        die("the library's policy", -1);
    pol.ssrc.type = dir;
    pol.key = keysalt;
    int st = (int)srtp_create(&s, &pol);
    if (st)
        die("srtp_create", st);
    return s;
}
#endif

/* Best pairs per CPU-second over ROUNDS rounds. */
static double measure(struct impl *im, size_t payload, unsigned count)
{
    uint8_t pkt[2048];
    uint16_t *seq = &im->seq;
    size_t n0 = su_rtp(pkt, ++*seq, 0xbe4c0001, 0, -1, payload);
    unsigned per = count / ROUNDS ? count / ROUNDS : 1;
    double best = 0;
    int st;

    if ((st = im->pair(im->tx, im->rx, pkt, n0, per / 10 + 1, seq)) != 0)   /* warm up */
        die(im->name, st);
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = cpu_now();
        if ((st = im->pair(im->tx, im->rx, pkt, n0, per, seq)) != 0)
            die(im->name, st);
        double rate = per / (cpu_now() - t0);
        if (rate > best)
            best = rate;
    }
    return best;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = { { "count", required_argument, NULL, 'c' }, { 0 } };
    static const size_t payloads[2] = { 160, 1200 };
    static const int profiles[2] = { 0, 2 };   /* su_profiles: AES128_CM_HMAC_SHA1_80, AEAD_AES_128_GCM */
    unsigned count = 500000;
    int o;

    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o != 'c' || (count = (unsigned)strtoul(optarg, NULL, 10)) == 0) {
            fprintf(stderr, "usage: bench_srtp [--count N]\n");
            return 2;
        }
    }
#ifdef BENCH_HAVE_LIBSRTP2
    if (srtp_init())
        die("srtp_init", -1);
#endif
    for (int pi = 0; pi < 2; pi++) {
        const struct su_profile *p = &su_profiles[profiles[pi]];
        nktlsSrtpSession *tx, *rx;
        MSTATUS st = su_pair(p, 0x61, NULL, 0, &tx, &rx);
        if (st != OK)
            die("NKTLS_srtpCreate", st);
        struct impl nk = { "nktls", nk_pair, tx, rx, 0 };
#ifdef BENCH_HAVE_LIBSRTP2
        struct impl ref = { "libsrtp2", ref_pair, ref_session(p, ssrc_any_outbound), ref_session(p, ssrc_any_inbound),
                            0 };
#endif
        for (int k = 0; k < 2; k++) {
            double ref_rate = 0;
#ifdef BENCH_HAVE_LIBSRTP2
            ref_rate = measure(&ref, payloads[k], count);
            printf("impl=libsrtp2 profile=%s payload=%zu count=%u pairs_per_cpu_s=%.0f ns_per_pair=%.0f\n",
                   p->name, payloads[k], count, ref_rate, 1e9 / ref_rate);
#endif
            double rate = measure(&nk, payloads[k], count);
            printf("impl=nktls profile=%s payload=%zu count=%u pairs_per_cpu_s=%.0f ns_per_pair=%.0f",
                   p->name, payloads[k], count, rate, 1e9 / rate);
            if (ref_rate > 0)
                printf(" vs_libsrtp2=%.2f", rate / ref_rate);
            printf("\n");
            fflush(stdout);
        }
        (void)NKTLS_srtpFree(&tx);
        (void)NKTLS_srtpFree(&rx);
#ifdef BENCH_HAVE_LIBSRTP2
        srtp_dealloc(ref.tx);
        srtp_dealloc(ref.rx);
#endif
    }
#ifdef BENCH_HAVE_LIBSRTP2
    srtp_shutdown();
#endif
    return 0;
}
