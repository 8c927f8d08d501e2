/* fuzz_ticket.c — libFuzzer target for session tickets: the server opening
 * what a client offers as its ticket (nk_ticket_open), and the client reading
 * back a ticket the application kept (SSL_deserializePSK).
 *
 * At start the process runs a real handshake (fuzz_hs.h), so it has a ticket
 * of its own, sealed under this process's key. Byte 0 picks (modulo 4):
 *   0  the rest is a ticket as a client would offer it;
 *   1  the rest follows this process's key name, so the AEAD opens it;
 *   2  the real ticket, opened at its issue time plus the signed 32-bit number
 *      the rest starts with: it must open at its issue time;
 *   3  the rest is SSL_serializePSK's form for SSL_deserializePSK; what reads
 *      must serialize back to the same bytes.
 * With NKTLS_FUZZ_SEEDS=DIR set, the process writes seeds to DIR and exits. */
#include <stdio.h>
#include "fuzz/fuzz_hs.h"
#include "handshake/psk.h"

#define KEY_NAME 16   /* a ticket starts with the name of the key that sealed it */

static struct tls13PSK *real;   /* this process's ticket, as the client kept it */

static MSTATUS open_copy(const uint8_t *t, size_t n, time_t now)
{
    struct nk_ticket_state st;
    /* Exact-size copy, so a read past the ticket is caught. */
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        abort();
    memcpy(copy, t, n);
    MSTATUS r = nk_ticket_open(copy, n, now, &st);
    free(copy);
    return r;
}

static void with_key_name(const uint8_t *d, size_t n)
{
    uint8_t *t = malloc(KEY_NAME + n);
    if (!t)
        abort();
    memcpy(t, real->ticket, KEY_NAME);
    memcpy(t + KEY_NAME, d, n);
    (void)!open_copy(t, KEY_NAME + n, FZ_NOW);
    free(t);
}

static void at_time(const uint8_t *d, size_t n)
{
    if (n < 4)
        return;
    int32_t delta = (int32_t)((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]);
    MSTATUS st = open_copy(real->ticket, real->ticket_len, FZ_NOW + delta);
    if (delta == 0 && st != OK)
        abort();
}

static void psk_round_trip(const uint8_t *d, size_t n)
{
    tls13PSK *p = NULL;
    ubyte *copy = malloc(n ? n : 1), *again = NULL;
    ubyte4 again_len = 0;
    if (!copy)
        abort();
    memcpy(copy, d, n);
    if (SSL_deserializePSK(copy, (ubyte4)n, &p) == OK) {
        if (SSL_serializePSK(p, &again, &again_len) != OK || again_len != n || memcmp(again, d, n))
            abort();
        free(again);
        SSL_freePSK(&p);
    }
    free(copy);
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
    static const uint8_t lifetime[] = { 0, 0, 0x1c, 0x20 }, zero[4] = { 0 };
    write_seed(dir, "ticket", 0, real->ticket, real->ticket_len);
    write_seed(dir, "ticket_under_key", 1, real->ticket + KEY_NAME, real->ticket_len - KEY_NAME);
    write_seed(dir, "ticket_at_issue", 2, zero, sizeof zero);
    write_seed(dir, "ticket_at_lifetime", 2, lifetime, sizeof lifetime);
    write_seed(dir, "serialized_psk", 3, fh_psk, fh_psk_len);
    exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fh_setup();
    /* The recorded plain handshake left its client a ticket from the server. */
    if (fh_psk_len == 0 || SSL_deserializePSK(fh_psk, fh_psk_len, &real) != OK || real->ticket_len <= KEY_NAME
        || open_copy(real->ticket, real->ticket_len, FZ_NOW) != OK)
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
    unsigned mode = data[0] % 4;
    data++;
    size--;
    switch (mode) {
    case 0: (void)!open_copy(data, size, FZ_NOW); break;
    case 1: with_key_name(data, size); break;
    case 2: at_time(data, size); break;
    default: psk_round_trip(data, size); break;
    }
    return 0;
}
