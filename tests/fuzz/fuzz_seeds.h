/* tests/fuzz/fuzz_seeds.h — the seed writer of the per-message targets. With
 * NKTLS_FUZZ_SEEDS=DIR in the environment, fs_write_seeds writes one file per
 * case into DIR, named after the case: the case byte, then the body of the
 * message the recording had there, checked to pass (or a small valid body for the messages no
 * recording holds: tickets and key updates), and ends the process. That is how
 * tests/fuzz/corpus/fuzz_hs_{client,server} were made. */
#ifndef NK_FUZZ_SEEDS_H
#define NK_FUZZ_SEEDS_H

#include <stdio.h>
#include "fuzz/fuzz_hs.h"

static void fs_write(const char *dir, const char *name, uint8_t sel, const uint8_t *body, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fputc(sel, f) == EOF || (n && fwrite(body, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* lifetime 7200 s, age_add, nonce 0, a 32-byte ticket, no extensions. */
static const uint8_t fs_ticket[] = {
    0x00, 0x00, 0x1c, 0x20, 0x12, 0x34, 0x56, 0x78, 0x01, 0x00, 0x00, 0x20,
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
    0x00, 0x00,
};
static const uint8_t fs_key_update[] = { 0x01 };   /* update_requested */

static void fs_write_seeds(int client, const struct fh_case *cases, size_t n)
{
    const char *dir = getenv("NKTLS_FUZZ_SEEDS");
    if (!dir)
        return;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *body;
        size_t len;
        if (fh_seed_of(client, &cases[i], &body, &len)) {
            /* The recorded message must pass where the case puts it, or the
             * replay is not the handshake it claims to be. */
            MSTATUS st = fh_run(client, &cases[i], body, len);
            if (st < 0) {
                fprintf(stderr, "case %s: the recorded message fails: %d\n", cases[i].name, (int)st);
                exit(1);
            }
            /* The HelloRetryRequest case puts version and random in front itself. */
            if (len >= 34 && cases[i].prefix == 0 && cases[i].scenario == FH_HRR && client) {
                body += 34;
                len -= 34;
            }
        } else if (cases[i].type == NK_HS_NEW_SESSION_TICKET) {
            body = fs_ticket, len = sizeof fs_ticket;
        } else if (cases[i].type == NK_HS_KEY_UPDATE) {
            body = fs_key_update, len = sizeof fs_key_update;
        } else {
            fprintf(stderr, "no seed for case %s\n", cases[i].name);
            exit(1);
        }
        fs_write(dir, cases[i].name, (uint8_t)i, body, len);
    }
    exit(0);
}

#endif
