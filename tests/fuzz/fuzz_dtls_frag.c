/* fuzz_dtls_frag.c — libFuzzer target for DTLS 1.2 handshake reassembly
 * (handshake/dtls12_frag.c).
 *
 * Byte 0: the window setting (low 5 bits) and the mode (bit 7):
 *   0  the rest is a stream of fragments from a peer (12-byte header and
 *      body each), read and added one after the other under small limits;
 *      the messages delivered come in message_seq order, in transcript form,
 *      within the length limits, and the reassembler never holds more than
 *      its budget; freeing it gives everything back;
 *   1  byte 1 gives up to 4 messages' sizes and byte 2 the payload size; the
 *      messages are made here, cut with nk_dtls_frag_put, and their
 *      fragments fed in the order the rest of the input names (repeats and
 *      gaps allowed), then all once more in order: exactly these messages
 *      come out, in order, each once.
 * With NKTLS_FUZZ_SEEDS=DIR set, the process writes seeds to DIR and exits
 * (tests/fuzz/make-seeds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/nk.h"
#include "core/wire.h"
#include "core/limits.h"
#include "handshake/dtls12_frag.h"

static struct nk_limits lim_for(uint8_t b)
{
    struct nk_limits l = {
        .hs_message = 4096, .cert_message = 6000, .dtls_reasm = 12 * 1024, .dtls_hs_window = b & 0x1f,
        .hs_memory = 64 * 1024 * 1024,
    };
    return l;
}

/* Take what is whole; each must be the next message_seq, in transcript form. */
static void drain(struct nk_dtls_reasm *ra, const struct nk_limits *lim, uint32_t *expect)
{
    const uint8_t *msg;
    size_t n;
    while (nk_dtls_reasm_next(ra, &msg, &n) == OK) {
        struct nk_rd r;
        struct nk_dtls_frag f;
        nk_rd_init(&r, msg, n);
        if (nk_dtls_frag_read(&r, &f) != OK || nk_rd_left(&r) || f.seq != *expect || f.off || f.flen != f.len
            || f.len > (f.type == 11 ? lim->cert_message : lim->hs_message))
            abort();
        (*expect)++;
    }
    if (ra->held > lim->dtls_reasm)
        abort();
}

static void stream(const uint8_t *in, size_t n, uint8_t b0)
{
    struct nk_limits lim = lim_for(b0);
    struct nk_dtls_reasm ra;
    struct nk_rd r;
    struct nk_dtls_frag f;
    uint32_t expect = 0;
    nk_dtls_reasm_init(&ra, &lim);
    nk_rd_init(&r, in, n);
    while (nk_rd_left(&r) && nk_dtls_frag_read(&r, &f) == OK) {
        /* Keep message_seq near the start, where the window is. */
        f.seq &= 0x1f;
        MSTATUS st = nk_dtls_reasm_add(&ra, &f);
        if (st == NK_DTLS_MSG_OLD && f.seq >= expect)
            abort();
        if (st != OK && st != NK_DTLS_MSG_READY && st != NK_DTLS_MSG_OLD && st != NK_DTLS_MSG_AHEAD
            && st != ERR_SSL_MESSAGE_TOO_LONG && st != ERR_SSL_ILLEGAL_PARAMETER && st != ERR_SSL_HANDSHAKE_MEMORY)
            abort();
        drain(&ra, &lim, &expect);
        if (ra.next_seq != expect)
            abort();
    }
    nk_dtls_reasm_free(&ra);
    if (ra.held)
        abort();
}

static void made(const uint8_t *in, size_t n, uint8_t b0)
{
    if (n < 3)
        return;
    struct nk_limits lim = lim_for(b0);
    lim.dtls_reasm = 64 * 1024;   /* all of them fit: none may be lost */
    if (lim.dtls_hs_window < 4)
        lim.dtls_hs_window = 4;
    size_t count = (in[0] & 3) + 1, max = 13 + (size_t)in[1] * 8;
    uint32_t len[4];
    struct nk_buf frags = { 0 };
    static size_t at[4 * 2048 + 4];
    size_t nf = 0;
    static uint8_t body[4][2048];
    for (size_t m = 0; m < count; m++) {
        len[m] = (uint32_t)((in[0] >> (2 + m)) & 1 ? (in[2] * (m + 1) * 7) % 2048 : (in[2] + m) % 64);
        for (uint32_t i = 0; i < len[m]; i++)
            body[m][i] = (uint8_t)(i * 13 + m * 101);
        uint32_t off = 0, taken;
        do {
            if (nf == NK_ARRAY_LEN(at))
                abort();
            at[nf++] = frags.len;
            if (nk_dtls_frag_put(&frags, (uint8_t)(m + 1), (uint16_t)m, body[m], len[m], off, max, &taken) != OK
                || taken > max - 12)
                abort();
            off += taken;
        } while (off < len[m]);
    }
    struct nk_dtls_reasm ra;
    uint32_t expect = 0;
    nk_dtls_reasm_init(&ra, &lim);
    /* The input's order, then all in order. */
    for (size_t step = 0; step < n - 3 + nf; step++) {
        size_t k = step < n - 3 ? in[3 + step] % nf : step - (n - 3);
        size_t end = k + 1 < nf ? at[k + 1] : frags.len;
        struct nk_rd r;
        struct nk_dtls_frag f;
        nk_rd_init(&r, frags.p + at[k], end - at[k]);
        if (nk_dtls_frag_read(&r, &f) != OK || nk_rd_left(&r))
            abort();
        MSTATUS st = nk_dtls_reasm_add(&ra, &f);
        if (st != OK && st != NK_DTLS_MSG_READY && st != NK_DTLS_MSG_OLD)
            abort();
        const uint8_t *msg;
        size_t mn;
        while (nk_dtls_reasm_next(&ra, &msg, &mn) == OK) {
            if (expect >= count || mn != 12 + len[expect] || msg[0] != expect + 1
                || memcmp(msg + 12, body[expect], len[expect]))
                abort();
            expect++;
        }
    }
    if (expect != count)
        abort();
    nk_dtls_reasm_free(&ra);
    nk_buf_free(&frags);
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

/* A flight of three messages cut at 100 bytes, fed in order and with the
 * last message first (mode 0); made messages in a mixed order (mode 1). */
static void write_seeds(const char *dir)
{
    static uint8_t body[700];
    static const uint32_t len[3] = { 90, 700, 0 };
    struct nk_buf in_order = { 0 }, last_first = { 0 };
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)(i * 5);
    for (int m = 0; m < 3; m++) {
        uint32_t off = 0, taken;
        do {
            if (nk_dtls_frag_put(&in_order, (uint8_t)(m == 1 ? 11 : m + 1), (uint16_t)m, body, len[m], off, 100,
                                 &taken) != OK)
                abort();
            off += taken;
        } while (off < len[m]);
    }
    size_t split = in_order.len - 12;   /* the last message is one empty fragment */
    if (nk_buf_append(&last_first, in_order.p + split, 12) != OK
        || nk_buf_append(&last_first, in_order.p, split) != OK)
        abort();
    write_seed(dir, "flight_in_order", NK_DTLS_HS_WINDOW_DEFAULT, in_order.p, in_order.len);
    write_seed(dir, "flight_last_first", NK_DTLS_HS_WINDOW_DEFAULT, last_first.p, last_first.len);
    static const uint8_t mixed[] = { 0x3f, 8, 40, 5, 1, 9, 0, 3, 3, 7, 2, 11, 4, 6 };
    write_seed(dir, "made_mixed", 0x80 | 4, mixed, sizeof mixed);
    nk_buf_free(&in_order);
    nk_buf_free(&last_first);
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
    if (data[0] & 0x80)
        made(data + 1, size - 1, data[0]);
    else
        stream(data + 1, size - 1, data[0]);
    return 0;
}
