/* fuzz_dtls_record.c — libFuzzer target for DTLS 1.2 records
 * (record/dtls12.c).
 *
 * Byte 0: the protection (low 3 bits: 0..5 a TLS 1.2 AEAD suite under a
 * fixed key of epoch 1, 6..7 keyless epoch 0) and the mode (next 2 bits):
 *   0  the rest is a datagram from a peer: walked, each record opened under
 *      the read key; a record that opens lies inside the datagram, is then a
 *      replay, and every drop is counted once;
 *   1  the rest is cut into up to 4 contents (byte 1: count and types),
 *      sealed into one datagram, walked and opened: each comes back exactly;
 *   2  as 1, with the bit named by bytes 2..3 flipped: under a key no
 *      changed record opens (a record that opens is one of those sealed,
 *      unchanged);
 *   3  the rest is a list of 48-bit sequence numbers, each checked and marked
 *      in a window beside a plain model of §4.1.2.6: both agree.
 * With NKTLS_FUZZ_SEEDS=DIR set, the process writes seeds to DIR and exits
 * (tests/fuzz/make-seeds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/nk.h"
#include "core/wire.h"
#include "core/crypto.h"
#include "record/record.h"
#include "record/dtls12.h"

static const uint16_t suite_ids[6] = { 0xc02f, 0xc02c, 0xcca8, 0xc0ac, 0xc0ad, 0xc0ae };

struct keys {
    struct nk_rec_key wr, rd;
};

static struct keys *keys_for(unsigned i)
{
    static struct keys k[8];
    static int ready;
    if (!ready) {
        uint8_t block[NK_REC12_KEYS];
        for (size_t j = 0; j < sizeof block; j++)
            block[j] = (uint8_t)(0x42 + 13 * j);
        for (unsigned s = 0; s < 8; s++) {
            nk_dtls_start(&k[s].wr);
            nk_dtls_start(&k[s].rd);
            if (s < 6) {
                const struct nk_suite *suite = nk_suite12_by_id(suite_ids[s]);
                if (!suite || nk_rec_dtls12.install(&k[s].wr, suite, block, 1) < 0
                    || nk_rec_dtls12.install(&k[s].rd, suite, block, 0) < 0)
                    abort();
            }
        }
        ready = 1;
    }
    k[i].wr.seq = 0;
    return &k[i];
}

static void open_datagram(struct keys *k, const uint8_t *in, size_t n)
{
    uint8_t *dg = malloc(n ? n : 1);   /* exact size: a read past it is caught */
    struct nk_dtls_in st = { 0 };
    struct nk_rec_walk w;
    struct nk_rec rec;
    uint32_t dropped = 0;
    MSTATUS r;
    if (!dg)
        return;
    memcpy(dg, in, n);
    nk_rec_walk_init(&w, &nk_rec_dtls12, dg, n);
    while ((r = nk_dtls_walk_next(&w, &st, &rec)) != NK_REC_END) {
        if (rec.p < dg || rec.p + rec.len > dg + n)
            abort();
        if (r == OK) {
            uint8_t type, *data;
            size_t len;
            r = nk_dtls_open(&k->rd, &st, &rec, &type, &data, &len);
            if (r == OK) {
                if (data < rec.body || data + len > rec.p + rec.len || len > NK_MAX_PLAIN)
                    abort();
                if (nk_dtls_window_check(&st.win, rec.seq) != NK_DTLS_DROPPED)
                    abort();
            } else if (r != NK_DTLS_DROPPED && r != NK_DTLS_NEXT_EPOCH) {
                abort();   /* no local failure with keys made at start */
            }
        }
        dropped += r == NK_DTLS_DROPPED;
    }
    uint32_t counted = 0;
    for (int i = 0; i < NK_DTLS_DROP_COUNT; i++)
        counted += st.drops[i];
    if (counted != dropped || st.drops[NK_DTLS_DROP_NONE])
        abort();
    free(dg);
}

static void seal_open(struct keys *k, const uint8_t *in, size_t n, int tamper)
{
    if (n < 4)
        return;
    size_t count = (in[0] & 3) + 1, bit = (size_t)in[1] << 8 | in[2];
    static const uint8_t types[4] = { NK_CT_HANDSHAKE, NK_CT_APPLICATION_DATA, NK_CT_ALERT,
                                      NK_CT_CHANGE_CIPHER_SPEC };
    uint8_t type[4];
    const uint8_t *part[4];
    size_t plen[4], off = 3;
    struct nk_buf dg = { 0 };
    for (size_t i = 0; i < count; i++) {
        size_t left = n - off, take = i + 1 == count ? left : left / (count - i);
        if (take > NK_MAX_PLAIN)
            take = NK_MAX_PLAIN;
        type[i] = types[(in[0] >> (2 + 2 * i)) & 3];
        part[i] = in + off;
        plen[i] = take;
        off += take;
        if (nk_rec_write(&k->wr, type[i], NK_REC_V12, part[i], take, &dg) != OK)
            abort();
    }
    int keyed = k->rd.suite != NULL;
    if (tamper && bit < 8 * dg.len)
        dg.p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    else
        tamper = 0;
    struct nk_dtls_in st = { 0 };
    struct nk_rec_walk w;
    struct nk_rec rec;
    size_t got = 0;
    MSTATUS r;
    nk_rec_walk_init(&w, &nk_rec_dtls12, dg.p, dg.len);
    while ((r = nk_dtls_walk_next(&w, &st, &rec)) != NK_REC_END) {
        uint8_t t, *data;
        size_t len;
        if (r == OK)
            r = nk_dtls_open(&k->rd, &st, &rec, &t, &data, &len);
        if (!tamper) {
            /* Untouched: every record opens, in order, exactly. */
            if (r != OK || got >= count || rec.seq != got || t != type[got] || len != plen[got]
                || memcmp(data, part[got], len))
                abort();
        } else if (r == OK && keyed) {
            /* Changed: a record that opens is one sealed, unchanged. */
            if (rec.seq >= count || t != type[rec.seq] || len != plen[rec.seq]
                || memcmp(data, part[rec.seq], len))
                abort();
        }
        got += r == OK;
    }
    if (!tamper && got != count)
        abort();
    nk_buf_free(&dg);
}

/* §4.1.2.6 as a plain model: the highest sequence number and the ones seen
 * within 64 of it, kept as a list. */
static void window_model(const uint8_t *in, size_t n)
{
    struct nk_dtls_window w = { 0 };
    uint64_t seen[512];
    size_t ns = 0;
    int any = 0;
    uint64_t top = 0;
    for (size_t i = 0; i + 6 <= n && ns < NK_ARRAY_LEN(seen); i += 6) {
        uint64_t s = 0;
        for (int j = 0; j < 6; j++)
            s = s << 8 | in[i + j];
        /* Mostly near the top, so the window's inside gets reached. */
        if (in[i] & 0x80 && any)
            s = top >= (s & 0x7f) ? top - (s & 0x7f) : 0;
        int fresh = !any || s > top;
        if (!fresh && top - s < 64) {
            fresh = 1;
            for (size_t j = 0; j < ns; j++)
                if (seen[j] == s)
                    fresh = 0;
        }
        if ((nk_dtls_window_check(&w, s) == OK) != fresh)
            abort();
        if (fresh) {
            nk_dtls_window_mark(&w, s);
            seen[ns++] = s;
            if (!any || s > top)
                top = s;
            any = 1;
        }
    }
    if (any && w.next != top + 1)
        abort();
}

static void write_seed(const char *dir, const char *name, uint8_t sel, const uint8_t *d, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fputc(sel, f) == EOF || (n && fwrite(d, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* Per protection: a datagram of three real records (mode 0), contents to
 * seal (modes 1 and 2); and sequence numbers for the window (mode 3). */
static void write_seeds(const char *dir)
{
    static const char *names[8] = { "gcm128", "gcm256", "chacha", "ccm128", "ccm256", "ccm8", "plain", "plain1" };
    static const uint8_t contents[] = { 0x1b, 0x00, 0x40, 'c', 'l', 'i', 'e', 'n', 't', ' ', 'h', 'e', 'l', 'l',
                                        'o', ' ', 'a', 'n', 'd', ' ', 'd', 'a', 't', 'a' };
    static const uint8_t seqs[] = { 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 5, 0x80, 0, 0, 0, 0, 2,
                                    0, 0, 0, 0, 0x01, 0x00, 0x80, 0, 0, 0, 0, 63, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    char name[64];
    for (unsigned i = 0; i < 7; i++) {
        struct keys *k = keys_for(i);
        struct nk_buf dg = { 0 };
        for (int r = 0; r < 3; r++)
            if (nk_rec_write(&k->wr, (uint8_t)(NK_CT_HANDSHAKE + (r & 1)), NK_REC_V12, contents, sizeof contents - r,
                             &dg) != OK)
                abort();
        snprintf(name, sizeof name, "datagram_%s", names[i]);
        write_seed(dir, name, (uint8_t)i, dg.p, dg.len);
        snprintf(name, sizeof name, "seal_%s", names[i]);
        write_seed(dir, name, (uint8_t)(i | 1 << 3), contents, sizeof contents);
        snprintf(name, sizeof name, "tamper_%s", names[i]);
        write_seed(dir, name, (uint8_t)(i | 2 << 3), contents, sizeof contents);
        nk_buf_free(&dg);
    }
    write_seed(dir, "window", 3 << 3, seqs, sizeof seqs);
    exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *dir = getenv("NKTLS_FUZZ_SEEDS");
    if (dir)
        write_seeds(dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct keys *k = keys_for(data[0] & 7);
    int mode = (data[0] >> 3) & 3;
    data++;
    size--;
    if (mode == 0)
        open_datagram(k, data, size);
    else if (mode == 3)
        window_model(data, size);
    else
        seal_open(k, data, size, mode == 2);
    return 0;
}
