/* fuzz_srtp.c — libFuzzer target for SRTP/SRTCP (srtp/): what a peer's
 * packets reach in an inbound session, for every profile, with and without an
 * MKI. Byte 0 picks the session (bits 0-2: profile x MKI), RTP or RTCP (bit 3)
 * and the mode ((byte >> 4) % 3):
 *   0  the rest is a packet to unprotect (an exact-size copy, so a read past
 *      it is caught);
 *   1  the rest is a plain packet: protected, it must unprotect to the same
 *      bytes, and with one byte changed it must be refused;
 *   2  the rest is a run of (sequence number: 2 bytes, SSRC and kind: 1 byte)
 *      packets protected then unprotected one by one: whatever the sender
 *      protects, the receiver, following the same rollover counters, must
 *      unprotect to the same bytes.
 * Sessions are made once; their stream tables are emptied for every input, so
 * an input always takes the same path. With NKTLS_FUZZ_SEEDS=DIR set, the
 * process writes seeds to DIR and exits. */
#include <stdio.h>
#include <stdlib.h>
#include "srtp/srtp.h"
#include "unit/srtp_util.h"

#define NSESS 8   /* 4 profiles x {no MKI, MKI} */
static const uint8_t fz_mki[3] = { 0x10, 0x20, 0x30 };
static nktlsSrtpSession *tx[NSESS], *rx[NSESS];

static struct nk_srtp *S(nktlsSrtpSession *s)
{
    return (struct nk_srtp *)(void *)s;
}

static void reset(int i)
{
    S(tx[i])->nstreams = 0;
    S(rx[i])->nstreams = 0;
}

static MSTATUS protect(int i, int rtcp, uint8_t *p, ubyte4 *n, ubyte4 cap)
{
    return rtcp ? NKTLS_srtpProtectRtcp(tx[i], p, n, cap) : NKTLS_srtpProtect(tx[i], p, n, cap);
}

static MSTATUS unprotect(int i, int rtcp, uint8_t *p, ubyte4 *n)
{
    return rtcp ? NKTLS_srtpUnprotectRtcp(rx[i], p, n) : NKTLS_srtpUnprotect(rx[i], p, n);
}

static void unprotect_copy(int i, int rtcp, const uint8_t *d, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    ubyte4 len = (ubyte4)n;
    if (!p)
        abort();
    memcpy(p, d, n);
    MSTATUS st = unprotect(i, rtcp, p, &len);
    if (st == OK && len > n)
        abort();
    free(p);
}

static void round_trip(int i, int rtcp, const uint8_t *d, size_t n)
{
    const ubyte4 room = 16 + 4 + sizeof fz_mki;
    uint8_t *p = malloc(n + room);
    ubyte4 len = (ubyte4)n;
    if (!p || n > 65535)
        goto out;
    memcpy(p, d, n);
    if (protect(i, rtcp, p, &len, (ubyte4)n + room) != OK)
        goto out;
    ubyte4 plen = len;
    uint8_t *copy = malloc(plen);
    if (!copy)
        abort();
    memcpy(copy, p, plen);
    if (unprotect(i, rtcp, p, &len) != OK || len != n || memcmp(p, d, n) != 0)
        abort();
    /* Changed anywhere, it is refused (a replay by now, or a forgery). */
    copy[(n ? d[n - 1] : 0) % plen] ^= 0x01;
    len = plen;
    if (unprotect(i, rtcp, copy, &len) == OK)
        abort();
    free(copy);
out:
    free(p);
}

static void sequence(int i, const uint8_t *d, size_t n)
{
    uint8_t p[64 + 16 + 4 + sizeof fz_mki], plain[64];
    for (; n >= 3; d += 3, n -= 3) {
        uint16_t seq = (uint16_t)(d[0] << 8 | d[1]);
        uint32_t ssrc = 0x5000 + (d[2] & 0x3f);
        int rtcp = d[2] >> 7;
        size_t n0 = rtcp ? su_rtcp(plain, ssrc, 12 + 4 * (seq & 7), d[0]) : su_rtp(plain, seq, ssrc, 0, -1, 20);
        ubyte4 len = (ubyte4)n0;
        memcpy(p, plain, n0);
        if (protect(i, rtcp, p, &len, sizeof p) != OK)
            continue;
        if (unprotect(i, rtcp, p, &len) != OK || len != n0 || memcmp(p, plain, n0) != 0)
            abort();
    }
}

static void write_seed(const char *dir, const char *name, uint8_t mode, const void *d, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fputc(mode, f) == EOF || (n && fwrite(d, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void write_seeds(const char *dir)
{
    uint8_t p[256], run[3 * 8];
    char name[64];
    for (int i = 0; i < NSESS; i++) {
        for (int rtcp = 0; rtcp < 2; rtcp++) {
            const char *kind = rtcp ? "rtcp" : "rtp";
            size_t n0 = rtcp ? su_rtcp(p, 0x1234, 28, 5) : su_rtp(p, 65535, 0x1234, 2, 1, 40);
            ubyte4 n = (ubyte4)n0;
            snprintf(name, sizeof name, "plain_%s_%d", kind, i);
            write_seed(dir, name, (uint8_t)(0x10 | rtcp << 3 | i), p, n0);
            reset(i);
            if (protect(i, rtcp, p, &n, sizeof p) != OK)
                abort();
            snprintf(name, sizeof name, "protected_%s_%d", kind, i);
            write_seed(dir, name, (uint8_t)(rtcp << 3 | i), p, n);
        }
        /* Across the wrap, a late packet, a replay, SRTCP between. */
        static const uint16_t seqs[8] = { 65534, 65535, 1, 0, 2, 2, 40000, 3 };
        for (int k = 0; k < 8; k++) {
            run[3 * k] = (uint8_t)(seqs[k] >> 8), run[3 * k + 1] = (uint8_t)seqs[k];
            run[3 * k + 2] = (uint8_t)(k == 4 ? 0x81 : 1);
        }
        snprintf(name, sizeof name, "sequence_%d", i);
        write_seed(dir, name, (uint8_t)(0x20 | i), run, sizeof run);
    }
    exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    for (int i = 0; i < NSESS; i++)
        if (su_pair(&su_profiles[i % 4], 0x33, fz_mki, i < 4 ? 0 : sizeof fz_mki, &tx[i], &rx[i]) != OK)
            abort();
    const char *dir = getenv("NKTLS_FUZZ_SEEDS");
    if (dir)
        write_seeds(dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int i = data[0] & 7, rtcp = data[0] >> 3 & 1;
    unsigned mode = (unsigned)(data[0] >> 4) % 3;
    reset(i);
    switch (mode) {
    case 0: unprotect_copy(i, rtcp, data + 1, size - 1); break;
    case 1: round_trip(i, rtcp, data + 1, size - 1); break;
    default: sequence(i, data + 1, size - 1); break;
    }
    return 0;
}
